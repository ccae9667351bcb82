import * as fs from 'node:fs';
import { doneMarker, SHARED_SYNTH_PID_ENV, synthLog } from './shared-synth-state';
import { TEST_ASSEMBLY_ENV, testValidationCacheDir } from './synthesize';
import { removeTestRunDirectory } from './test-run-directory';
import { readTimingLog, testTimingLog, TEST_TIMING_ENV, timingSummary } from './test-timing';

/** Stops the shared synth if no test needed it, and removes this run's shared assembly, validation cache and temporary directory. */
export default function globalTeardown(): void {
  const dir = process.env[TEST_ASSEMBLY_ENV];
  const pid = Number(process.env[SHARED_SYNTH_PID_ENV]);
  if (dir && !fs.existsSync(doneMarker(dir)) && Number.isInteger(pid) && pid > 0) {
    try {
      // The synth's process group (global-setup.ts starts it detached): its node and any cfn-guard.
      process.kill(-pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  const timingLog = testTimingLog();
  if (dir && timingLog) {
    const marker = doneMarker(dir);
    console.log(fs.existsSync(marker) ? `\nshared assembly synthesized in ${fs.readFileSync(marker, 'utf8').trim()} ms into ${dir}` : '\nshared synth stopped: no test read the assembly');
    console.log(timingSummary(readTimingLog(timingLog)));
    // A log beside the assembly goes with it; one the caller named stays (it may gather several runs).
    if (!process.env[TEST_TIMING_ENV]!.startsWith('/') && !process.env.BODYSCRIPT_KEEP_TEST_ASSEMBLY) fs.rmSync(timingLog, { force: true });
  }
  if (dir && !process.env.BODYSCRIPT_KEEP_TEST_ASSEMBLY) {
    fs.rmSync(testValidationCacheDir(), { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(doneMarker(dir), { force: true });
    fs.rmSync(synthLog(dir), { force: true });
    // Whatever the test files and the processes they started left in their temporary directory.
    removeTestRunDirectory();
  }
}
