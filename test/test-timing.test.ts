import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { childState, type ChildState, type CpuProbe, cpuMsWithChildren, FileCpuMeter, readTimingLog, recordTiming, TEST_TIMING_ENV, testTimingLog, timingSummary } from './support/test-timing';
import { TEST_ASSEMBLY_ENV } from './support/shared-synth-state';

/** Runs `body` with the two variables set as given (undefined: unset), then puts them back. */
function withEnv(values: Record<string, string | undefined>, body: () => void): void {
  const saved = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(v)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(values);
  try {
    body();
  } finally {
    apply(saved);
  }
}

describe('testTimingLog', () => {
  test('is off unless BODYSCRIPT_TEST_TIMING is set', () => {
    withEnv({ [TEST_TIMING_ENV]: undefined, [TEST_ASSEMBLY_ENV]: '/tmp/bodyscript-test-assembly-x' }, () => expect(testTimingLog()).toBeUndefined());
  });

  test('an absolute path is the log itself; any other value puts it beside the run’s assembly', () => {
    withEnv({ [TEST_TIMING_ENV]: '/tmp/timing.jsonl', [TEST_ASSEMBLY_ENV]: '/tmp/bodyscript-test-assembly-x' }, () => expect(testTimingLog()).toBe('/tmp/timing.jsonl'));
    withEnv({ [TEST_TIMING_ENV]: '1', [TEST_ASSEMBLY_ENV]: '/tmp/bodyscript-test-assembly-x' }, () => expect(testTimingLog()).toBe('/tmp/bodyscript-test-assembly-x.timing.jsonl'));
    withEnv({ [TEST_TIMING_ENV]: '1', [TEST_ASSEMBLY_ENV]: undefined }, () => expect(testTimingLog()).toBeUndefined());
  });
});

describe('recordTiming and readTimingLog', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-timing-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('records append one line each and read back in order', () => {
    const log = path.join(dir, 'timing.jsonl');
    withEnv({ [TEST_TIMING_ENV]: log }, () => {
      recordTiming({ file: 'test/a.test.ts', cpuMs: 1200, wallMs: 3000 });
      recordTiming({ file: '(shared synth)', cpuMs: 40000, wallMs: 30000 });
    });
    expect(readTimingLog(log)).toEqual([
      { file: 'test/a.test.ts', cpuMs: 1200, wallMs: 3000 },
      { file: '(shared synth)', cpuMs: 40000, wallMs: 30000 },
    ]);
  });

  test('records nothing when timing is off, and a missing log reads as no records', () => {
    withEnv({ [TEST_TIMING_ENV]: undefined, [TEST_ASSEMBLY_ENV]: path.join(dir, 'assembly') }, () => recordTiming({ file: 'test/a.test.ts', cpuMs: 1, wallMs: 1 }));
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(readTimingLog(path.join(dir, 'none.jsonl'))).toEqual([]);
  });
});

describe('timingSummary', () => {
  const records = [
    { file: 'test/cheap.test.ts', cpuMs: 900, wallMs: 1500 },
    { file: '(shared synth)', cpuMs: 41000, wallMs: 35000 },
    { file: 'test/dear.test.ts', cpuMs: 25300, wallMs: 60000 },
    { file: 'test/middle.test.ts', cpuMs: 4000, wallMs: 4100 },
  ];

  test('totals the test files apart from the shared synth and lists the dearest first', () => {
    const lines = timingSummary(records).split('\n');
    expect(lines[0]).toBe('test files: 3, 30.2 s of CPU in the jest workers');
    expect(lines[1]).toBe('shared synth: 41.0 s of CPU (with cfn-guard), 35.0 s wall');
    expect(lines.slice(3).map((line) => line.trim().split(/\s+/))).toEqual([
      ['25.3', '60.0', 'test/dear.test.ts'],
      ['4.0', '4.1', 'test/middle.test.ts'],
      ['0.9', '1.5', 'test/cheap.test.ts'],
    ]);
  });

  test('lists only as many files as asked, and says when the shared synth left no record', () => {
    const lines = timingSummary(records.filter((r) => r.file !== '(shared synth)'), 1).split('\n');
    expect(lines[1]).toBe('shared synth: not recorded');
    expect(lines.slice(3)).toHaveLength(1);
    expect(lines[3]).toContain('test/dear.test.ts');
  });
});

test('cpuMsWithChildren counts at least this process’s own CPU time', () => {
  const own = process.cpuUsage();
  expect(cpuMsWithChildren()).toBeGreaterThanOrEqual(Math.floor((own.user + own.system) / 1000));
});

describe('childState', () => {
  /** A /proc/<pid>/stat line of a process whose parent is `ppid` (its command name may hold spaces and parentheses). */
  const stat = (ppid: number) => () => `4242 (node (shared synth)) S ${ppid} 4242 4242 0 -1 4194304`;

  test('reads the parent from /proc/<pid>/stat: this process’s child, another’s, or gone', () => {
    expect(childState(4242, 100, stat(100))).toBe('unreaped-child');
    expect(childState(4242, 100, stat(101))).toBe('not-a-child');
    expect(
      childState(4242, 100, () => {
        throw new Error('ENOENT');
      }),
    ).toBe('gone');
    expect(childState(Number(undefined), 100, stat(100))).toBe('gone');
    expect(childState(0, 100, stat(100))).toBe('gone');
  });

  test('this process is no child of its own, and a process it started is its child until it is reaped', async () => {
    expect(childState(process.pid)).toBe('not-a-child');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    expect(childState(child.pid!)).toBe('unreaped-child');
    child.kill();
    await exited;
    expect(childState(child.pid!)).toBe('gone');
  });
});

describe('FileCpuMeter', () => {
  /** A probe whose readings are set by the test: CPU so far and the shared synth's state, in turn. */
  function probe(cpu: number[], states: ChildState[], synthRecord: { cpuMs?: number } = { cpuMs: 30000 }): CpuProbe {
    return { cpuMsWithChildren: () => cpu.shift()!, sharedSynthState: () => states.shift()!, sharedSynthCpuMs: () => synthRecord.cpuMs };
  }

  test('takes off the shared synth’s recorded CPU when this process reaped the synth during the file (a file run in band)', () => {
    expect(new FileCpuMeter(probe([1000, 33500], ['unreaped-child', 'gone'])).cpuMs()).toBe(2500);
  });

  test('counts everything else: the synth another process reaps (a jest worker’s file), one still unreaped, one reaped before the file', () => {
    expect(new FileCpuMeter(probe([1000, 3500], ['not-a-child', 'gone'])).cpuMs()).toBe(2500);
    expect(new FileCpuMeter(probe([1000, 3500], ['unreaped-child', 'unreaped-child'])).cpuMs()).toBe(2500);
    expect(new FileCpuMeter(probe([1000, 3500], ['gone', 'gone'])).cpuMs()).toBe(2500);
  });

  test('a synth that left no record (it died) takes nothing off', () => {
    expect(new FileCpuMeter(probe([1000, 3500], ['unreaped-child', 'gone'], {})).cpuMs()).toBe(2500);
  });

  test('on the real process: reaping a child adds its CPU to this process’s, and the meter takes the child’s record off', async () => {
    // The child stands in for the shared synth: it works until it has used 600 ms of CPU (not of wall time), then prints its own record.
    const burn = "const c=require('node:crypto');let h='x';while(process.cpuUsage().user+process.cpuUsage().system<600000)h=c.createHash('sha256').update(h).digest('hex');process.stdout.write(String((process.cpuUsage().user+process.cpuUsage().system)/1000))";
    const child = spawn(process.execPath, ['-e', burn], { stdio: ['ignore', 'pipe', 'inherit'] });
    let printed = '';
    child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const ownAtStart = process.cpuUsage();
    const before = cpuMsWithChildren();
    const meter = new FileCpuMeter({ cpuMsWithChildren, sharedSynthState: () => childState(child.pid!), sharedSynthCpuMs: () => Number(printed) });
    await exited;
    const metered = meter.cpuMs();
    const withChildren = cpuMsWithChildren() - before;
    const own = process.cpuUsage(ownAtStart);
    // This process's own CPU meanwhile (the jest worker may be busy with anything: compared with, never bounded).
    const ownMs = (own.user + own.system) / 1000;
    const childCpuMs = Number(printed);
    expect(childCpuMs).toBeGreaterThanOrEqual(600);
    // Without the correction the file would carry the child's CPU besides its own (kernel ticks of 10 ms, so within a few ticks of the child's count) ...
    expect(withChildren - ownMs).toBeGreaterThan(childCpuMs / 2);
    // ... with it, its own only: the child's record and the kernel's count of it differ by a few ticks.
    expect(Math.abs(metered - ownMs)).toBeLessThan(childCpuMs / 4);
  });
});
