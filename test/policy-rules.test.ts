import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_RULES_DIRECTORY } from '../lib/compliance';
import { cfnGuardBinary, guardRuleFiles } from '../lib/validation/cfn-guard-plugin';

/**
 * The project's own Guard rules (policy/rules, run on every stack of every
 * synth by the `bodyscript-guard` plugin) follow policy/README.md: one rule a
 * file, a header that gives the reason and the fix, and a tests file with at
 * least one template the rule passes and one it fails, which `cfn-guard test`
 * confirms.
 */
const TESTS_DIRECTORY = path.join(PROJECT_RULES_DIRECTORY, '..', 'tests');
const ruleFiles = guardRuleFiles(PROJECT_RULES_DIRECTORY);
const testsFileOf = (ruleFile: string) => path.join(TESTS_DIRECTORY, `${path.basename(ruleFile, '.guard')}_tests.yml`);
const ruleNameOf = (ruleFile: string) => `BODYSCRIPT_${path.basename(ruleFile, '.guard').toUpperCase()}`;

interface GuardTestCase {
  readonly name?: string;
  readonly expectations?: { readonly rules?: Record<string, string> };
}

test('policy/rules holds rules, and only .guard files', () => {
  expect(ruleFiles.length).toBeGreaterThan(0);
  expect(fs.readdirSync(PROJECT_RULES_DIRECTORY).filter((name) => !name.endsWith('.guard'))).toEqual([]);
});

test('every tests file in policy/tests belongs to a rule', () => {
  const expected = new Set(ruleFiles.map(testsFileOf));
  const orphans = fs.readdirSync(TESTS_DIRECTORY).map((name) => path.join(TESTS_DIRECTORY, name)).filter((file) => !expected.has(file));
  expect(orphans).toEqual([]);
});

describe.each(ruleFiles.map((file) => [path.basename(file), file]))('policy/rules/%s', (_name, ruleFile) => {
  const source = fs.readFileSync(ruleFile, 'utf8');
  const ruleName = ruleNameOf(ruleFile);

  test('is named in lower snake case and defines one rule, BODYSCRIPT_<FILE NAME>', () => {
    expect(path.basename(ruleFile)).toMatch(/^[a-z0-9]+(_[a-z0-9]+)*\.guard$/);
    // Parameterized rules (`rule check(x) {`) are helpers; the others are what the plugin reports.
    const reported = [...source.matchAll(/^\s*rule\s+([A-Za-z0-9_]+)\s*(\()?/gm)].filter((m) => !m[2]).map((m) => m[1]);
    expect([...new Set(reported)]).toEqual([ruleName]);
  });

  test('starts with a header that names the rule and gives the reason, the fix and how to suppress it', () => {
    const header = source.slice(0, source.search(/^\s*(let|rule)\s/m));
    expect(header).toMatch(new RegExp(`^#\\s*Rule:\\s+${ruleName}\\b`, 'm'));
    for (const section of ['Reason:', 'Fix:', 'Suppress:']) expect(header).toMatch(new RegExp(`^#\\s*${section}`, 'm'));
  });

  test(`has a tests file with at least one PASS and one FAIL case for ${ruleName}`, () => {
    const testsFile = testsFileOf(ruleFile);
    expect(fs.existsSync(testsFile) ? testsFile : `missing: ${path.relative(process.cwd(), testsFile)}`).toBe(testsFile);
    const cases = parse(fs.readFileSync(testsFile, 'utf8')) as GuardTestCase[];
    const expected = new Set(cases.map((c) => c.expectations?.rules?.[ruleName]));
    expect(expected).toContain('PASS');
    expect(expected).toContain('FAIL');
  });

  test('passes its tests (cfn-guard test)', () => {
    const testsFile = testsFileOf(ruleFile);
    if (!fs.existsSync(testsFile)) throw new Error(`no tests file ${testsFile}`);
    const result = spawnSync(cfnGuardBinary(), ['test', '--rules-file', ruleFile, '--test-data', testsFile, '--output-format', 'json'], { encoding: 'utf8' });
    const report = JSON.parse(result.stdout) as { test_cases: { name: string; failed_rules: { name: string; evaluated: string }[] }[] };
    const failed = report.test_cases.filter((c) => c.failed_rules.length > 0).map((c) => `${c.name}: ${c.failed_rules.map((r) => `${r.name} evaluated ${r.evaluated}`).join(', ')}`);
    expect(failed).toEqual([]);
    expect(result.status).toBe(0);
  });
});
