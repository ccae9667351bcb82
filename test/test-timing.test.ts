import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpuMsWithChildren, readTimingLog, recordTiming, TEST_TIMING_ENV, testTimingLog, timingSummary } from './support/test-timing';
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
  test('records append one line each and read back in order', () => {
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-timing-')), 'timing.jsonl');
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
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-timing-'));
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
