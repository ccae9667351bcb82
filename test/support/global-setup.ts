import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SHARED_SYNTH_PID_ENV, synthLog } from './shared-synth-state';
import { TEST_ASSEMBLY_ENV, testValidationCacheDir } from './synthesize';
import { seedValidationCache, TEST_VALIDATION_CACHE_ENV, testValidationCacheSetting } from './validation-cache-seed';

/**
 * Runs once per `jest` run: starts the synth of the whole app (with every
 * gate) into a fresh directory, which every test file reads through
 * test/support/assembly.ts instead of synthesizing again. The synth runs in a
 * process of its own (test/support/shared-synth.ts) while the test files that
 * do not read the assembly (about two thirds) already run; a test file that
 * reads it waits for it (test/support/shared-synth-state.ts). Its validation
 * cache starts as a copy of the one `cdk synth` left in this checkout
 * (test/support/validation-cache-seed.ts says why that is sound).
 */
export default function globalSetup(): void {
  // A bad setting stops the run before anything is created.
  const cacheSetting = testValidationCacheSetting(process.env[TEST_VALIDATION_CACHE_ENV]);
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-test-assembly-'));
  process.env[TEST_ASSEMBLY_ENV] = outdir;
  seedValidationCache(testValidationCacheDir(), cacheSetting);
  const log = fs.openSync(synthLog(outdir), 'w');
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, 'shared-synth.ts'), outdir], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, [TEST_ASSEMBLY_ENV]: outdir },
    stdio: ['ignore', log, log],
    // Its own process group, so the teardown can stop it with everything it started (tsx's node, cfn-guard).
    detached: true,
  });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error('could not start the shared synth (test/support/shared-synth.ts)');
  process.env[SHARED_SYNTH_PID_ENV] = String(child.pid);
  // jest must not wait for it: the teardown stops it if no test needed it.
  child.unref();
}
