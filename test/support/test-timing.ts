import * as fs from 'node:fs';
import { SHARED_SYNTH_PID_ENV, TEST_ASSEMBLY_ENV } from './shared-synth-state';

/**
 * Where the CPU of a test run goes, per test file and for the shared synth,
 * recorded when BODYSCRIPT_TEST_TIMING is set (README, Test time):
 * `BODYSCRIPT_TEST_TIMING=1 npm test` prints the table at the end;
 * `BODYSCRIPT_TEST_TIMING=/abs/file.jsonl` also keeps the records there.
 * Measured, never asserted: no test depends on these numbers.
 */
export const TEST_TIMING_ENV = 'BODYSCRIPT_TEST_TIMING';

/** The `file` of the shared synth's record. */
export const SHARED_SYNTH_RECORD = '(shared synth)';

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

/** How a process stands to this one: its child not yet reaped (running or a zombie), another process's, or gone (reaped, or none). */
export type ChildState = 'unreaped-child' | 'not-a-child' | 'gone';

/** `pid`'s state towards `parent`, from /proc/<pid>/stat (field 4 is the parent's id); without /proc, 'gone'. */
export function childState(pid: number, parent: number = process.pid, readStat: (pid: number) => string = (p) => fs.readFileSync(`/proc/${p}/stat`, 'utf8')): ChildState {
  if (!Number.isInteger(pid) || pid <= 0) return 'gone';
  let stat: string;
  try {
    stat = readStat(pid);
  } catch {
    return 'gone';
  }
  const parentId = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return parentId === parent ? 'unreaped-child' : 'not-a-child';
}

/** What a FileCpuMeter reads: this process's CPU with its reaped children's, the shared synth's state and its recorded CPU. */
export interface CpuProbe {
  cpuMsWithChildren(): number;
  sharedSynthState(): ChildState;
  /** The shared synth's own record (with its cfn-guard runs), once it has written it. */
  sharedSynthCpuMs(): number | undefined;
}

/** The probe of this process: /proc, the shared synth's process id from the global setup, and this run's timing log. */
export const PROCESS_CPU_PROBE: CpuProbe = {
  cpuMsWithChildren,
  sharedSynthState: () => childState(Number(process.env[SHARED_SYNTH_PID_ENV])),
  sharedSynthCpuMs: () => {
    const log = testTimingLog();
    return log ? readTimingLog(log).find((r) => r.file === SHARED_SYNTH_RECORD)?.cpuMs : undefined;
  },
};

/**
 * One test file's CPU: this process's user + system time and that of the
 * children it reaped, from construction to cpuMs(), less the shared synth's.
 *
 * Why less: Linux adds a child's CPU (with that of the children it reaped, its
 * cfn-guard runs) to its parent's cutime/cstime when the parent reaps it. In
 * jest workers the shared synth is a child of jest's main process, not of the
 * worker; but `npx jest test/one.test.ts` runs the file in band, in the main
 * process that started the synth (global-setup.ts), and the synth's CPU,
 * recorded on its own line, landed in the file's record as well. So when the
 * synth was this process's unreaped child at the start and is gone at the end,
 * this process reaped it in between, and its record is taken off.
 */
export class FileCpuMeter {
  private readonly cpuMsAtStart: number;
  private readonly sharedSynthToReap: boolean;

  constructor(private readonly probe: CpuProbe = PROCESS_CPU_PROBE) {
    this.sharedSynthToReap = probe.sharedSynthState() === 'unreaped-child';
    this.cpuMsAtStart = probe.cpuMsWithChildren();
  }

  /** The CPU milliseconds since construction, without the shared synth's if this process reaped it meanwhile. */
  public cpuMs(): number {
    const total = this.probe.cpuMsWithChildren() - this.cpuMsAtStart;
    const reapedSharedSynth = this.sharedSynthToReap && this.probe.sharedSynthState() === 'gone';
    return reapedSharedSynth ? Math.max(0, total - (this.probe.sharedSynthCpuMs() ?? 0)) : total;
  }
}

/** The table the global teardown prints: total CPU, the shared synth, and the files that cost most. */
export function timingSummary(records: readonly TimingRecord[], top = 20): string {
  const files = records.filter((r) => r.file !== SHARED_SYNTH_RECORD).sort((a, b) => b.cpuMs - a.cpuMs);
  const synth = records.find((r) => r.file === SHARED_SYNTH_RECORD);
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
