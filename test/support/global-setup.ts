import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { synthesizeBodyScript, TEST_ASSEMBLY_ENV } from './synthesize';

/**
 * Runs once per `jest` run: synthesizes the whole app (with cdk-nag and
 * cfn-guard) into a fresh directory, which every test file reads through
 * test/support/assembly.ts instead of synthesizing again.
 */
export default function globalSetup(): void {
  const started = Date.now();
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-test-assembly-'));
  process.env[TEST_ASSEMBLY_ENV] = outdir;
  synthesizeBodyScript(outdir);
  if (process.env.BODYSCRIPT_TEST_TIMING) console.log(`\nshared assembly synthesized in ${Date.now() - started} ms into ${outdir}`);
}
