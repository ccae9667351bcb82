#!/usr/bin/env node
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { buildBodyScriptApp } from '../lib/app';
import { enableComplianceChecks, VALIDATION_CACHE_VARIABLE, validationCacheSetting } from '../lib/compliance';
import { ConfigError } from '../lib/config';
import { loadConfigFromContext, projectContextKeys, readCliContext } from '../lib/config/context';
import { buildWithoutResidue } from '../lib/output-directory';

const projectRoot = path.join(__dirname, '..');

/**
 * The BodyScript CDK app. The context keys and the configuration are checked
 * before `new App()`, which is what creates the output directory: on a problem
 * this prints one line per problem, exits 1 and writes nothing.
 */
function main(): void {
  let config;
  let validationCache;
  try {
    validationCache = validationCacheSetting(process.env[VALIDATION_CACHE_VARIABLE]);
    const context = readCliContext(process.env);
    config = loadConfigFromContext(context, projectContextKeys(path.join(projectRoot, 'cdk.json'), path.join(projectRoot, 'cdk.context.json')));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }

  // `new App()` creates the output directory, so it is inside the guard too.
  const app = buildWithoutResidue(process.env[cxapi.OUTDIR_ENV], () => {
    const built = new App();
    // Before buildBodyScriptApp, which would otherwise register the gates with the default cache. One synth per
    // process: the CloudFormation validator builds its engine on a second thread while the app is built.
    enableComplianceChecks(built, { validationCache, cloudFormationValidatorThread: true });
    buildBodyScriptApp(built, config);
    return built;
  });
  // A failed synth (a compliance finding) keeps its assembly: scripts/findings.ts reads the report from it.
  app.synth();
}

main();
