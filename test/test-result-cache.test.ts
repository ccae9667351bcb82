import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rememberedResult, TEST_RESULT_CACHE_ENV, testResultCacheEnabled } from './support/test-result-cache';

/** A computation that counts its runs and answers `answer`. */
function counted<T>(answer: T) {
  const calls = { count: 0 };
  return { calls, compute: async () => (calls.count++, answer) };
}

const directory = () => fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-test-results-'));
const always = () => true;

describe('rememberedResult', () => {
  test('the same inputs are answered from the earlier run; the result reads back as it was', async () => {
    const dir = directory();
    const { calls, compute } = counted({ status: 0, records: [{ compliant: [] }] });
    expect(await rememberedResult('proof', ['binary', Buffer.from('template')], compute, always, dir)).toEqual({ status: 0, records: [{ compliant: [] }] });
    expect(await rememberedResult('proof', ['binary', Buffer.from('template')], compute, always, dir)).toEqual({ status: 0, records: [{ compliant: [] }] });
    expect(calls.count).toBe(1);
  });

  test('any changed input, or another name, is computed again', async () => {
    const dir = directory();
    const { calls, compute } = counted('pass');
    await rememberedResult('proof', ['binary', 'template', 'rule'], compute, always, dir);
    await rememberedResult('proof', ['binary', 'template', 'rule 2'], compute, always, dir);
    await rememberedResult('proof', ['binary 2', 'template', 'rule'], compute, always, dir);
    await rememberedResult('proof', ['binary', 'templat', 'erule'], compute, always, dir);
    await rememberedResult('other proof', ['binary', 'template', 'rule'], compute, always, dir);
    expect(calls.count).toBe(5);
  });

  test('a result that keep refuses (a failure) is not stored: it is computed again', async () => {
    const dir = directory();
    const { calls, compute } = counted({ status: 5 });
    const keepPasses = (r: { status: number }) => r.status === 0;
    await rememberedResult('proof', ['x'], compute, keepPasses, dir);
    await rememberedResult('proof', ['x'], compute, keepPasses, dir);
    expect(calls.count).toBe(2);
  });

  test(`${TEST_RESULT_CACHE_ENV}=off neither reads nor stores`, async () => {
    const dir = directory();
    const { calls, compute } = counted('pass');
    await rememberedResult('proof', ['x'], compute, always, dir);
    const saved = process.env[TEST_RESULT_CACHE_ENV];
    process.env[TEST_RESULT_CACHE_ENV] = 'off';
    try {
      await rememberedResult('proof', ['x'], compute, always, dir);
      await rememberedResult('proof', ['y'], compute, always, dir);
    } finally {
      if (saved === undefined) delete process.env[TEST_RESULT_CACHE_ENV];
      else process.env[TEST_RESULT_CACHE_ENV] = saved;
    }
    expect(calls.count).toBe(3);
    await rememberedResult('proof', ['y'], compute, always, dir);
    expect(calls.count).toBe(4);
  });

  test('a setting other than on or off is refused, naming the variable and its values', async () => {
    expect(testResultCacheEnabled(undefined)).toBe(true);
    expect(testResultCacheEnabled('on')).toBe(true);
    expect(testResultCacheEnabled('off')).toBe(false);
    expect(() => testResultCacheEnabled('cold')).toThrow(`${TEST_RESULT_CACHE_ENV}: must be on or off (or unset, which is on), got 'cold'`);
  });
});
