#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { buildBodyScriptApp } from '../lib/app';
import { enableComplianceChecks, VALIDATION_CACHE_VARIABLE, validationCacheSetting } from '../lib/compliance';
import { ConfigError, loadConfig } from '../lib/config';

/**
 * The BodyScript CDK app. Configuration is validated before any stack is built:
 * on a problem this prints one line per problem and exits non-zero, so no
 * template is written.
 */
function main(): void {
  const app = new App();
  let config;
  try {
    // Before buildBodyScriptApp, which would otherwise register the gates with the default cache.
    enableComplianceChecks(app, { validationCache: validationCacheSetting(process.env[VALIDATION_CACHE_VARIABLE]) });
    config = loadConfig({
      apiImageTag: app.node.tryGetContext('apiImageTag'),
      processingImageTag: app.node.tryGetContext('processingImageTag'),
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  buildBodyScriptApp(app, config);
  app.synth();
}

main();
