import * as fs from 'node:fs';
import { TEST_ASSEMBLY_ENV } from './shared-synth-state';

/**
 * Where the CPU of a test run goes, per test file and for the shared synth,
 * recorded when BODYSCRIPT_TEST_TIMING is set (README, Test time):
 * `BODYSCRIPT_TEST_TIMING=1 npm test` prints the table at the end;
 * `BODYSCRIPT_TEST_TIMING=/abs/file.jsonl` also keeps the records there.
 * Measured, never asserted: no test depends on these numbers.
 */
export const TEST_TIMING_ENV = 'BODYSCRIPT_TEST_TIMING';

export interface TimingRecord {
  /** The test file (relative to the project), or '(shared synth)'. */
  readonly file: string;
  /** User + system CPU, in milliseconds. */
  readonly cpuMs: number;
  readonly wallMs: number;
}

/** The file this run's timing records go to, or undefined when timing is off. */
export function testTimingLog(): string | undefined {
  const setting = process.env[TEST_TIMING_ENV];
  if (!setting) return undefined;
  if (setting.startsWith('/')) return setting;
  const assembly = process.env[TEST_ASSEMBLY_ENV];
  return assembly ? `${assembly}.timing.jsonl` : undefined;
}

/** Appends one record to this run's timing log (nothing when timing is off). */
export function recordTiming(record: TimingRecord): void {
  const log = testTimingLog();
  if (log) fs.appendFileSync(log, `${JSON.stringify(record)}\n`);
}

/**
 * This process's CPU time and that of the children it waited for (the
 * shared synth's cfn-guard runs), from /proc on Linux; elsewhere its own only.
 */
export function cpuMsWithChildren(): number {
  const own = process.cpuUsage();
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17 (proc(5)), in clock ticks of 10 ms.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const childTicks = Number(fields[16 - 3]) + Number(fields[17 - 3]);
    return Math.round((own.user + own.system) / 1000 + childTicks * 10);
  } catch {
    return Math.round((own.user + own.system) / 1000);
  }
}

/** The table the global teardown prints: total CPU, the shared synth, and the files that cost most. */
export function timingSummary(records: readonly TimingRecord[], top = 20): string {
  const files = records.filter((r) => r.file !== '(shared synth)').sort((a, b) => b.cpuMs - a.cpuMs);
  const synth = records.find((r) => r.file === '(shared synth)');
  const seconds = (ms: number) => (ms / 1000).toFixed(1).padStart(6);
  const total = files.reduce((sum, r) => sum + r.cpuMs, 0);
  return [
    `test files: ${files.length}, ${seconds(total).trim()} s of CPU in the jest workers`,
    synth ? `shared synth: ${seconds(synth.cpuMs).trim()} s of CPU (with cfn-guard), ${seconds(synth.wallMs).trim()} s wall` : 'shared synth: not recorded',
    `   CPU s   wall s  file (the ${Math.min(top, files.length)} that cost most CPU)`,
    ...files.slice(0, top).map((r) => `  ${seconds(r.cpuMs)}  ${seconds(r.wallMs)}   ${r.file}`),
  ].join('\n');
}

/** The records of this run so far. */
export function readTimingLog(log: string): TimingRecord[] {
  if (!fs.existsSync(log)) return [];
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as TimingRecord);
}
