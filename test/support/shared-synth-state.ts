import * as fs from 'node:fs';

/**
 * How test files learn that the shared synth (test/support/shared-synth.ts,
 * started by the global setup in a process of its own) has finished: it
 * writes `<assembly>.done` last, whether the synth passed or failed (a failed
 * synth leaves synth-error.txt in the assembly, which test/support/assembly.ts
 * reports). The synth's process id is in the environment, so a synth that
 * died without finishing is reported instead of waited for.
 */
export const SHARED_SYNTH_PID_ENV = 'BODYSCRIPT_TEST_SYNTH_PID';

/**
 * Where the shared test assembly of this jest run lives. The global setup picks
 * a fresh temporary directory and passes it to the test workers through the
 * environment, so concurrent jest runs never read each other's templates.
 * (Here, in a module that loads nothing heavy, so the test environment can read it.)
 */
export const TEST_ASSEMBLY_ENV = 'BODYSCRIPT_TEST_ASSEMBLY';
export const doneMarker = (assemblyDir: string) => `${assemblyDir}.done`;
export const synthLog = (assemblyDir: string) => `${assemblyDir}.log`;

/** Longer than any shared synth has taken on this 2-core machine under load; then something is wrong. */
const MAX_WAIT_MS = 30 * 60 * 1000;
const POLL_MS = 100;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An exited child that jest's main process has not reaped yet still answers signal 0: a zombie (Linux).
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

const finished = new Set<string>();

/** Blocks until the shared synth of `assemblyDir` has finished; throws if it ended without finishing. */
export function waitForSharedSynth(assemblyDir: string): void {
  if (finished.has(assemblyDir)) return;
  const marker = doneMarker(assemblyDir);
  const pid = Number(process.env[SHARED_SYNTH_PID_ENV]);
  const sleeper = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const deadline = Date.now() + MAX_WAIT_MS;
  while (!fs.existsSync(marker)) {
    if (Number.isInteger(pid) && pid > 0 && !isRunning(pid) && !fs.existsSync(marker)) {
      const log = fs.existsSync(synthLog(assemblyDir)) ? fs.readFileSync(synthLog(assemblyDir), 'utf8').slice(-4000) : '(no output)';
      throw new Error(`the shared synth (process ${pid}) ended without finishing the assembly in ${assemblyDir}:\n${log}`);
    }
    if (Date.now() > deadline) throw new Error(`the shared synth did not finish within ${MAX_WAIT_MS / 60000} minutes (${assemblyDir})`);
    Atomics.wait(sleeper, 0, 0, POLL_MS);
  }
  finished.add(assemblyDir);
}
