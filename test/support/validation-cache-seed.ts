import * as fs from 'node:fs';
import { DEFAULT_CACHE_DIRECTORY } from '../../lib/validation/verdict-cache';

/**
 * How a test run's validation cache starts (the global setup decides, before
 * the shared synth): `BODYSCRIPT_TEST_VALIDATION_CACHE` unset or `seed` copies
 * the verdicts that `cdk synth` keeps in this checkout
 * (node_modules/.cache/bodyscript-validation) into the run's own cache;
 * `cold` starts it empty.
 *
 * Why: the landing gate and `.ci/run` synthesize every stack with every gate
 * (`npx cdk synth --quiet`) just before `npm test`, and cfn-guard and the
 * CloudFormation validator are about 85 % of the shared synth's CPU. A
 * verdict is keyed by the template's bytes, the rule set and the validator's
 * version, and holds the findings before acknowledgement, so a verdict the
 * CLI synth left for the very same template is the one the shared synth would
 * compute: the shared assembly's validation report is the same, findings
 * included. A template that differs (or a changed rule file, binary, cdk-lib)
 * is a miss and is validated. The copy keeps the run from writing into the
 * checkout's cache; a fresh clone without a synth starts cold either way.
 */
export const TEST_VALIDATION_CACHE_ENV = 'BODYSCRIPT_TEST_VALIDATION_CACHE';

const SETTINGS = ['seed', 'cold'] as const;

/** The setting of BODYSCRIPT_TEST_VALIDATION_CACHE; anything but the two values is refused, naming them. */
export function testValidationCacheSetting(value: string | undefined): (typeof SETTINGS)[number] {
  if (value === undefined || value.trim() === '') return 'seed';
  if ((SETTINGS as readonly string[]).includes(value)) return value as (typeof SETTINGS)[number];
  throw new Error(`${TEST_VALIDATION_CACHE_ENV}: must be one of ${SETTINGS.join(', ')} (or unset, which is seed), got '${value}'`);
}

/**
 * Creates the run's validation cache at `target`: a copy of `source` when the
 * setting is `seed` and `source` exists, otherwise empty. Returns how many
 * verdict files it copied.
 */
export function seedValidationCache(target: string, setting: string | undefined, source = DEFAULT_CACHE_DIRECTORY): number {
  const mode = testValidationCacheSetting(setting);
  fs.rmSync(target, { recursive: true, force: true });
  if (mode === 'cold' || !fs.existsSync(source)) {
    fs.mkdirSync(target, { recursive: true });
    return 0;
  }
  fs.cpSync(source, target, { recursive: true });
  return fs.readdirSync(target, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
}
