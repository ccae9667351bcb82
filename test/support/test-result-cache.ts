import * as path from 'node:path';
import { DEFAULT_CACHE_DIRECTORY, fingerprint, VerdictCache } from '../../lib/validation/verdict-cache';

/**
 * Where tests keep results of deterministic external runs (cfn-guard on a
 * template) between runs of the suite in this checkout: beside cdk synth's
 * verdicts, under node_modules, so `npm ci` (CI, a fresh clone) starts cold.
 */
export const TEST_RESULT_CACHE_DIRECTORY = path.join(path.dirname(DEFAULT_CACHE_DIRECTORY), 'bodyscript-test-results');

/** `BODYSCRIPT_TEST_RESULT_CACHE=off npm test` computes everything, reading and storing nothing. */
export const TEST_RESULT_CACHE_ENV = 'BODYSCRIPT_TEST_RESULT_CACHE';

/** The setting of BODYSCRIPT_TEST_RESULT_CACHE: unset or `on`, or `off`; anything else is refused, naming the values. */
export function testResultCacheEnabled(value: string | undefined): boolean {
  if (value === undefined || value.trim() === '' || value === 'on') return true;
  if (value === 'off') return false;
  throw new Error(`${TEST_RESULT_CACHE_ENV}: must be on or off (or unset, which is on), got '${value}'`);
}

/**
 * The result of `compute()` for these inputs, taken from an earlier run of
 * the suite when one stored it under the same key. The key is the
 * fingerprint of `inputs`, which must be everything the result depends on
 * (file bytes, binary bytes, arguments): the same inputs give the same
 * result, so the assertions made on it are the same. Only results that
 * `keep` accepts are stored (a failure is computed again next time, so a
 * fluke is never remembered). With BODYSCRIPT_TEST_RESULT_CACHE=off
 * nothing is read or stored.
 */
export async function rememberedResult<T>(
  name: string,
  inputs: readonly (string | Buffer)[],
  compute: () => Promise<T>,
  keep: (result: T) => boolean,
  directory = TEST_RESULT_CACHE_DIRECTORY,
): Promise<T> {
  if (!testResultCacheEnabled(process.env[TEST_RESULT_CACHE_ENV])) return compute();
  const cache = new VerdictCache(directory);
  const key = fingerprint(name, ...inputs);
  const stored = cache.read<T>(name, key);
  if (stored !== undefined) return stored;
  const result = await compute();
  if (keep(result)) cache.write(name, key, result);
  return result;
}
