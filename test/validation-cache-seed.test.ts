import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VerdictCache } from '../lib/validation/verdict-cache';
import { seedValidationCache, TEST_VALIDATION_CACHE_ENV, testValidationCacheSetting } from './support/validation-cache-seed';

/** A checkout's cache (what `cdk synth` leaves) with one verdict, and where a test run's cache goes. */
function fixture() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-cache-seed-'));
  const source = path.join(root, 'checkout-cache');
  new VerdictCache(source).write('cdk-validator-cfnguard', 'a'.repeat(64), [{ ruleName: 'sqs_queue_encrypted_check' }]);
  return { source, target: path.join(root, 'run-cache') };
}

describe('seedValidationCache', () => {
  test('unset or seed: the run starts with the checkout’s verdicts, which read back as they were written', () => {
    for (const setting of [undefined, '', 'seed']) {
      const { source, target } = fixture();
      expect(seedValidationCache(target, setting, source)).toBe(1);
      expect(new VerdictCache(target).read('cdk-validator-cfnguard', 'a'.repeat(64))).toEqual([{ ruleName: 'sqs_queue_encrypted_check' }]);
    }
  });

  test('the run writes into its copy, never into the checkout’s cache', () => {
    const { source, target } = fixture();
    seedValidationCache(target, 'seed', source);
    new VerdictCache(target).write('cdk-validator-cfnguard', 'b'.repeat(64), []);
    expect(new VerdictCache(source).entryCount('cdk-validator-cfnguard')).toBe(1);
    expect(new VerdictCache(target).entryCount('cdk-validator-cfnguard')).toBe(2);
  });

  test('cold: the run starts empty, whatever the checkout holds, and whatever an earlier run left there', () => {
    const { source, target } = fixture();
    seedValidationCache(target, 'seed', source);
    expect(seedValidationCache(target, 'cold', source)).toBe(0);
    expect(fs.readdirSync(target)).toEqual([]);
  });

  test('a checkout without a cache (a fresh clone, before any synth) starts the run empty', () => {
    const { source, target } = fixture();
    fs.rmSync(source, { recursive: true });
    expect(seedValidationCache(target, undefined, source)).toBe(0);
    expect(fs.readdirSync(target)).toEqual([]);
  });

  test('any other setting is refused, naming the variable and the values it takes, and nothing is created', () => {
    const { source, target } = fixture();
    const expected = `${TEST_VALIDATION_CACHE_ENV}: must be one of seed, cold (or unset, which is seed), got 'warm'`;
    expect(() => testValidationCacheSetting('warm')).toThrow(expected);
    expect(() => seedValidationCache(target, 'warm', source)).toThrow(expected);
    expect(fs.existsSync(target)).toBe(false);
  });
});
