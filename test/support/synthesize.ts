import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildBodyScriptApp } from '../../lib/app';
import { type ComplianceGate, enableComplianceChecks } from '../../lib/compliance';
import { loadConfig, type SynthOverrides } from '../../lib/config';
import { TEST_ASSEMBLY_ENV, waitForSharedSynth } from './shared-synth-state';

/** Where the shared test assembly of this jest run lives (test/support/shared-synth-state.ts). */
export { TEST_ASSEMBLY_ENV };

/** Where this run's shared assembly is (or will be): no waiting. */
export function testAssemblyPath(): string {
  const dir = process.env[TEST_ASSEMBLY_ENV];
  if (!dir) throw new Error(`${TEST_ASSEMBLY_ENV} is not set: run the tests with jest, whose global setup synthesizes the app`);
  return dir;
}

/**
 * The shared assembly's directory, once the shared synth has finished. The
 * global setup starts that synth in a process of its own and returns, so test
 * files that never read the assembly run meanwhile (and a run of such files
 * alone does not wait for it at all); the first read in a test file waits
 * here (test/support/shared-synth.ts).
 */
export function testAssemblyDir(): string {
  const dir = testAssemblyPath();
  waitForSharedSynth(dir);
  return dir;
}

/**
 * The validation cache of this jest run, beside the shared assembly: it starts
 * empty with every run (so the suite checks every template from scratch, as CI
 * does), and later synths of the same run that keep the gates on validate only
 * the templates that differ from the shared assembly's.
 */
export function testValidationCacheDir(): string {
  return path.join(path.dirname(testAssemblyPath()), `${path.basename(testAssemblyPath())}-validation-cache`);
}

/** The feature flags and context of cdk.json, so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'));
  const committedContext = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.context.json'), 'utf8'));
  return { ...committedContext, ...cdkJson.context };
}

/** How a test synthesizes the app beyond the shared assembly. */
export interface SynthesizeOptions {
  /**
   * The compliance gates to run. A test that only compares templates (another
   * image tag, say) passes `[]`: the gates never change a template, and a warm
   * validation of the changed stacks still costs ten times the synth itself
   * (cdk-nag reads the whole construct tree, cfn-guard re-checks the largest
   * templates). Without the 'cloudformation' gate, aws-cdk-lib's built-in
   * CloudFormation validator is off too (it would otherwise stand in for the
   * gate and check every template again). Every gate runs on the shared
   * assembly and in every CLI synth.
   * @default every gate (COMPLIANCE_GATES)
   */
  readonly gates?: readonly ComplianceGate[];
  /**
   * The CloudFormation validator on a worker thread of its own (ComplianceOptions):
   * for the shared synth, a process of its own that synthesizes once; a test
   * file's synths share its jest worker's engine instead.
   * @default false
   */
  readonly cloudFormationValidatorThread?: boolean;
}

/**
 * Synthesizes the whole BodyScript app into `outdir` exactly as bin/bodyscript.ts
 * does (same config, compliance plugins and context), with this run's validation cache.
 * Validation failures do not throw here: they are left in the assembly's
 * validation report for the compliance test to show.
 */
export function synthesizeBodyScript(outdir: string, overrides: SynthOverrides = {}, options: SynthesizeOptions = {}): void {
  fs.rmSync(outdir, { recursive: true, force: true });
  const app = new App({ outdir, context: { ...cdkJsonContext(), ...overrides }, builtinCloudFormationValidation: options.gates?.includes('cloudformation') ?? true });
  enableComplianceChecks(app, {
    validationCache: testValidationCacheDir(),
    ...(options.gates ? { gates: options.gates } : {}),
    ...(options.cloudFormationValidatorThread ? { cloudFormationValidatorThread: true } : {}),
  });
  buildBodyScriptApp(app, loadConfig(overrides));
  try {
    app.synth();
  } catch (error) {
    fs.writeFileSync(path.join(outdir, 'synth-error.txt'), String(error instanceof Error ? error.stack : error));
  }
}

/** A fresh App with the project's feature flags, for construct unit tests. */
export function testApp(): App {
  return new App({ context: cdkJsonContext() });
}
