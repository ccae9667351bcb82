import * as path from 'node:path';
import { DEFAULT_CACHE_DIRECTORY, fingerprint, VerdictCache } from '../../lib/validation/verdict-cache';
import { TEST_VALIDATION_CACHE_ENV, testValidationCacheSetting } from './validation-cache-seed';

/**
 * Where tests keep results of deterministic external runs (cfn-guard on a
 * template) between runs of the suite in this checkout: beside cdk synth's
 * verdicts, under node_modules, so `npm ci` (CI, a fresh clone) starts cold.
 */
export const TEST_RESULT_CACHE_DIRECTORY = path.join(path.dirname(DEFAULT_CACHE_DIRECTORY), 'bodyscript-test-results');

/**
 * The result of `compute()` for these inputs, taken from an earlier run of
 * the suite when one stored it under the same key. The key is the
 * fingerprint of `inputs`, which must be everything the result depends on
 * (file bytes, binary bytes, arguments): the same inputs give the same
 * result, so the assertions made on it are the same. Only results that
 * `keep` accepts are stored (a failure is computed again next time, so a
 * fluke is never remembered). With BODYSCRIPT_TEST_VALIDATION_CACHE=cold
 * nothing is read or stored.
 */
export async function rememberedResult<T>(
  name: string,
  inputs: readonly (string | Buffer)[],
  compute: () => Promise<T>,
  keep: (result: T) => boolean,
  directory = TEST_RESULT_CACHE_DIRECTORY,
): Promise<T> {
  if (testValidationCacheSetting(process.env[TEST_VALIDATION_CACHE_ENV]) === 'cold') return compute();
  const cache = new VerdictCache(directory);
  const key = fingerprint(name, ...inputs);
  const stored = cache.read<T>(name, key);
  if (stored !== undefined) return stored;
  const result = await compute();
  if (keep(result)) cache.write(name, key, result);
  return result;
}
