import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SHARED_SYNTH_PID_ENV, synthLog } from './shared-synth-state';
import { TEST_ASSEMBLY_ENV } from './synthesize';
import { enterTestRunDirectory } from './test-run-directory';

/**
 * Runs once per `jest` run: starts the synth of the whole app (with every
 * gate) into a fresh directory, which every test file reads through
 * test/support/assembly.ts instead of synthesizing again. The synth runs in a
 * process of its own (test/support/shared-synth.ts) while the test files that
 * do not read the assembly (about two thirds) already run; a test file that
 * reads it waits for it (test/support/shared-synth-state.ts).
 */
export default function globalSetup(): void {
  // First, so that the assembly, the shared synth and every worker's temporary files live in it (test-run-directory.ts).
  enterTestRunDirectory();
  // The suite runs on this machine's Node 20 by choice (README, Node.js); the workflows run the LTS. The SDK's warning
  // about Node 22 would otherwise print once in every test file that loads a client and bury real warnings.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-test-assembly-'));
  process.env[TEST_ASSEMBLY_ENV] = outdir;
  const log = fs.openSync(synthLog(outdir), 'w');
  // node loads tsx itself (not tsx's CLI, which runs the script in a second node): the process jest reaps is the one that
  // records its CPU, so a file run in band can take exactly that record off its own (test-timing.ts, FileCpuMeter).
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'shared-synth.ts'), outdir], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, [TEST_ASSEMBLY_ENV]: outdir },
    stdio: ['ignore', log, log],
    // Its own process group, so the teardown can stop it with everything it started (cfn-guard).
    detached: true,
  });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error('could not start the shared synth (test/support/shared-synth.ts)');
  process.env[SHARED_SYNTH_PID_ENV] = String(child.pid);
  // jest must not wait for it: the teardown stops it if no test needed it.
  child.unref();
}
