import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, type IPolicyValidationPlugin, Stack } from 'aws-cdk-lib';
import {
  acknowledge,
  COMPLIANCE_GATES,
  compliancePlugins,
  CONTROL_TOWER_PLUGIN_NAME,
  enableComplianceChecks,
  GUARD_RULE_EXEMPTIONS,
  MINIMUM_REASON_LENGTH,
  PROJECT_RULES_DIRECTORY,
  PROJECT_RULES_PLUGIN_NAME,
} from '../lib/compliance';
import { guardRuleFiles } from '../lib/validation/cfn-guard-plugin';
import { GATE_DID_NOT_RUN_RULE } from '../lib/validation/fails-closed';
import type { StrictCloudFormationValidatePlugin } from '../lib/validation/strict-cloudformation-validate-plugin';
import { VerdictCache } from '../lib/validation/verdict-cache';
import { type Acknowledgement, acknowledgements as allAcknowledgements, stacks, templateJson, validationPlugins, violations } from './support/assembly';
import { testValidationCacheDir } from './support/synthesize';

const ROOT = path.join(__dirname, '..');

/** Our own acknowledgements: cdk-nag and cfn-guard findings (aws-cdk-lib records some of its own validator's). */
function acknowledgements(): Acknowledgement[] {
  return allAcknowledgements().filter((a) => !a.ruleId.startsWith('CloudFormation-Validate::'));
}

/** The plugins a new app gets from enableComplianceChecks, by report name. */
function registeredPlugins(app: App): string[] {
  return compliancePlugins(app).map((p) => p.name);
}

describe('compliance gates on the whole app', () => {
  test('cfn-guard (Control Tower) and the CloudFormation validator reported on the app', () => {
    expect(validationPlugins()).toEqual(expect.arrayContaining([CONTROL_TOWER_PLUGIN_NAME, 'CloudFormation Validate']));
  });

  test('cfn-guard checked every template with the Control Tower rules and with the project rules', () => {
    // Each checked template leaves one verdict in this run's (initially empty) validation cache.
    const cache = new VerdictCache(testValidationCacheDir());
    const distinctTemplates = new Set(stacks().map((s) => JSON.stringify(templateJson(s.displayName)))).size;
    expect(cache.entryCount(CONTROL_TOWER_PLUGIN_NAME)).toBeGreaterThanOrEqual(distinctTemplates);
    expect(cache.entryCount(PROJECT_RULES_PLUGIN_NAME)).toBeGreaterThanOrEqual(distinctTemplates);
    expect(cache.entryCount('CloudFormation Validate')).toBeGreaterThanOrEqual(distinctTemplates);
  });

  test('no finding is left unacknowledged in any stack', () => {
    const unacknowledged = violations().map((v) => `${v.plugin} ${v.rule}: ${v.paths.join(', ')}`);
    expect(unacknowledged).toEqual([]);
  });

  test('every stack of both environments was checked', () => {
    const names = stacks().map((s) => s.displayName);
    expect(names).toEqual(expect.arrayContaining(['BodyScript-Staging', 'BodyScript-Staging-Data', 'BodyScript-Production', 'BodyScript-Production-Data']));
  });

  test(`every acknowledgement gives a reason of at least ${MINIMUM_REASON_LENGTH} characters`, () => {
    const all = acknowledgements();
    expect(all.length).toBeGreaterThan(0);
    const short = all.filter((a) => a.reason.trim().length < MINIMUM_REASON_LENGTH).map((a) => `${a.constructPath} ${a.ruleId}: '${a.reason}'`);
    expect(short).toEqual([]);
  });

  test('every acknowledgement is scoped to a resource, never to a whole stack', () => {
    const stackPaths = new Set(stacks().map((s) => `/${s.displayName}`));
    const stackWide = acknowledgements().filter((a) => stackPaths.has(a.constructPath) || a.constructPath === '/');
    expect(stackWide).toEqual([]);
  });

  test('every acknowledgement names a specific rule', () => {
    // cdk-nag, Control Tower and project Guard rule ids, or a named aws-cdk-lib warning (Annotation::@aws-cdk/<module>:<id>).
    const specific =
      /^(Annotation::)?(AwsSolutions|NIST\.800\.53\.R5|HIPAA\.Security)-[A-Za-z0-9]+(\[.+\])?$|^cdk-validator-cfnguard::[a-z0-9_]+$|^bodyscript-guard::BODYSCRIPT_[A-Z0-9_]+$|^Annotation::@aws-cdk\/[a-z0-9-]+:[A-Za-z0-9]+$/;
    const vague = acknowledgements().filter((a) => !specific.test(a.ruleId));
    expect(vague).toEqual([]);
  });

  test('cfn-guard rules are disabled only in one table, each with a reason', () => {
    for (const [rule, reason] of Object.entries(GUARD_RULE_EXEMPTIONS)) {
      expect(rule).toMatch(/^ct-[a-z0-9]+-pr-\d+$/);
      expect(reason.trim().length).toBeGreaterThanOrEqual(MINIMUM_REASON_LENGTH);
    }
  });
});

describe('enableComplianceChecks', () => {
  test('registers every gate: three cdk-nag packs, cfn-guard twice (Control Tower, project rules) and the CloudFormation validator', () => {
    const app = new App();
    enableComplianceChecks(app, { validationCache: false });
    expect(registeredPlugins(app)).toEqual(['AwsSolutions', 'NIST.800.53.R5', 'HIPAA.Security', CONTROL_TOWER_PLUGIN_NAME, PROJECT_RULES_PLUGIN_NAME, 'CloudFormation Validate']);
  });

  test('runs every project rule file', () => {
    const app = new App();
    enableComplianceChecks(app, { validationCache: false });
    const projectRules = compliancePlugins(app).find((p) => p.name === PROJECT_RULES_PLUGIN_NAME)!;
    expect(projectRules.ruleIds).toEqual(guardRuleFiles(PROJECT_RULES_DIRECTORY).map((f) => path.basename(f, '.guard')));
    expect(projectRules.ruleIds).toContain('log_group_retention_stated');
  });

  test('a second call without options (buildBodyScriptApp makes one) keeps the first registration', () => {
    const app = new App();
    enableComplianceChecks(app, { validationCache: false });
    enableComplianceChecks(app);
    expect(registeredPlugins(app)).toHaveLength(6);
  });

  test('refuses a second call with other options', () => {
    const app = new App();
    enableComplianceChecks(app);
    expect(() => enableComplianceChecks(app, { gates: ['cdk-nag'] })).toThrow(/already enabled on this app with other options/);
  });

  test('with the CloudFormation validator on a thread: the same gates in the same order, and the first gate hands it the templates', () => {
    const app = new App();
    enableComplianceChecks(app, { validationCache: false, gates: ['project-rules', 'cloudformation'], cloudFormationValidatorThread: true });
    const [first, cloudformation] = compliancePlugins(app) as [IPolicyValidationPlugin, StrictCloudFormationValidatePlugin];
    expect(registeredPlugins(app)).toEqual([PROJECT_RULES_PLUGIN_NAME, 'CloudFormation Validate']);
    const start = jest.spyOn(cloudformation, 'start').mockImplementation(() => undefined);
    cloudformation.close();
    const templatePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-first-gate-')), 'S.template.json');
    fs.writeFileSync(templatePath, '{"Resources":{}}');
    const context = { templatePaths: [templatePath], stackTemplates: [{ templatePath, stackConstructPath: 'S', accountId: undefined, region: undefined }], appConstruct: app };
    expect(first.validate(context).success).toBe(true);
    expect(start).toHaveBeenCalledWith(context);
    fs.rmSync(path.dirname(templatePath), { recursive: true, force: true });
  });

  test('refuses an unknown gate', () => {
    expect(() => enableComplianceChecks(new App(), { gates: ['cdk-nag', 'checkov' as never] })).toThrow(`unknown compliance gate(s) checkov; known: ${COMPLIANCE_GATES.join(', ')}`);
  });
});

interface CliResult {
  readonly status: number | null;
  readonly output: string;
  /** Conclusion of every plugin in the cloud assembly's validation report. */
  readonly conclusions: Record<string, string>;
  readonly rules: string[];
  /** What the run left in its own temporary directory (TMPDIR) that the app wrote: names starting with `bodyscript-`. */
  readonly leftInTemp: string[];
  /** The synthesized GateTest template, as the CLI wrote it. */
  readonly template: string | undefined;
}

/**
 * Runs the real CDK CLI on test/fixtures/compliance-gate-app.ts with `-c violate=<gate>`, and with
 * `validationCache`, the validation cache that this file's CLI runs share (the fixture says why).
 */
function cdk(command: 'synth' | 'deploy', violate: string, validationCache: string): Promise<CliResult> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `bodyscript-gate-${violate}-`));
  // A relative --output, as the CLI's default `cdk.out` is: the templates then reach the gates by relative paths.
  // Its own TMPDIR, so that what the app leaves there is this run's and no one else's.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `bodyscript-gate-tmp-${violate}-`));
  const args = [command, ...(command === 'deploy' ? ['GateTest', '--require-approval', 'never'] : ['--quiet']), '--no-notices', '--app', 'node --import tsx test/fixtures/compliance-gate-app.ts', '-c', `violate=${violate}`, '-c', `validationCache=${validationCache}`, '--output', path.relative(ROOT, outdir)];
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'node_modules', '.bin', 'cdk'), args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, TMPDIR: tmp } }, (error, stdout, stderr) => {
      const reportFile = path.join(outdir, 'validation-report.json');
      const report = fs.existsSync(reportFile) ? (JSON.parse(fs.readFileSync(reportFile, 'utf8')) as { pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string }[] }[] }) : { pluginReports: [] };
      const leftInTemp = fs.readdirSync(tmp).filter((name) => name.startsWith('bodyscript-'));
      const templateFile = path.join(outdir, 'GateTest.template.json');
      const template = fs.existsSync(templateFile) ? fs.readFileSync(templateFile, 'utf8') : undefined;
      fs.rmSync(outdir, { recursive: true, force: true });
      fs.rmSync(tmp, { recursive: true, force: true });
      resolve({
        status: error ? (typeof error.code === 'number' ? error.code : -1) : 0,
        output: `${stdout}\n${stderr}`,
        conclusions: Object.fromEntries(report.pluginReports.map((p) => [p.pluginName, p.conclusion])),
        rules: report.pluginReports.flatMap((p) => p.violations.map((v) => v.ruleName)),
        leftInTemp,
        template,
      });
    });
  });
}

/** Failing plugins of a report: the one under test must be the only one. */
const failing = (result: CliResult) => Object.entries(result.conclusions).filter(([, c]) => c === 'failure').map(([name]) => name);

describe('each gate alone stops `cdk synth` (the real CLI on a one-stack app)', () => {
  // The app breaks one rule of each gate, and each run acknowledges every finding
  // but those of the gate under test, so a gate's test passes only on that
  // gate's own verdict. Every run synthesizes the same template: the first
  // validates it with every gate, the others take cfn-guard's and the
  // CloudFormation validator's findings from the validation cache they share
  // (test/fixtures/compliance-gate-app.ts), and each applies its own
  // acknowledgements. After the first, two CLI runs at a time (the CLI and the
  // app are one process each).
  const cases = {
    'cdk-nag': { violate: 'cdk-nag', plugin: 'AwsSolutions', rule: 'AwsSolutions-SQS3', constructPath: 'GateTest/Queue/Resource' },
    'cfn-guard, Control Tower rules': { violate: 'control-tower', plugin: CONTROL_TOWER_PLUGIN_NAME, rule: 'cloudwatch_log_group_retention_period_check', constructPath: 'GateTest/ShortLivedLogs/Resource' },
    'cfn-guard, project rules': { violate: 'project-rules', plugin: PROJECT_RULES_PLUGIN_NAME, rule: 'BODYSCRIPT_LOG_GROUP_RETENTION_STATED', constructPath: 'GateTest/EverlastingLogs/Resource' },
    "aws-cdk-lib's CloudFormation validator": { violate: 'cloudformation-error', plugin: 'CloudFormation Validate', rule: 'F3002', constructPath: 'GateTest/Parameter/Resource' },
    // A gate that throws: aws-cdk-lib reports a plugin failure without findings, which the CLI reads as success.
    'a cfn-guard gate that cannot read its rules': { violate: 'gate-did-not-run', plugin: 'fixture-guard-rules', rule: GATE_DID_NOT_RUN_RULE, constructPath: 'GateTest' },
  };
  const results = new Map<string, CliResult>();
  let deploy: CliResult;
  let validationCache: string;

  beforeAll(async () => {
    validationCache = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-gate-validation-cache-'));
    const runs: [string, () => Promise<CliResult>][] = [
      ...Object.entries(cases).map(([name, c]): [string, () => Promise<CliResult>] => [name, () => cdk('synth', c.violate, validationCache)]),
      ['deploy', () => cdk('deploy', 'control-tower', validationCache)],
    ];
    const [first, ...rest] = runs;
    results.set(first[0], await first[1]());
    await Promise.all(
      [0, 1].map(async () => {
        for (let next = rest.shift(); next; next = rest.shift()) results.set(next[0], await next[1]());
      }),
    );
    deploy = results.get('deploy')!;
  }, 600_000);

  afterAll(() => fs.rmSync(validationCache, { recursive: true, force: true }));

  test('every run synthesizes one and the same template: the cases differ only in what they acknowledge (and one rule file)', () => {
    const first = results.get('cdk-nag')!.template;
    expect(first).toContain('"AWS::SSM::Parameter"');
    expect(Object.fromEntries([...results].map(([name, r]) => [name, r.template === first]))).toEqual(Object.fromEntries([...results.keys()].map((name) => [name, true])));
  });

  test.each(Object.entries(cases))('%s: non-zero exit, naming the rule and the construct path', (name, c) => {
    const result = results.get(name)!;
    expect(result.status).not.toBe(0);
    expect(result.output).toContain(c.rule);
    expect(result.output).toContain(c.constructPath);
    expect(result.rules).toContain(c.rule);
  });

  test.each(Object.entries(cases))('%s: its plugin is the only one that concluded failure', (name, c) => {
    expect(failing(results.get(name)!)).toEqual([c.plugin]);
  });

  test.each(Object.entries(cases))('%s: the app leaves nothing behind in the temporary directory', (name) => {
    expect(results.get(name)!.leftInTemp).toEqual([]);
  });

  test('`cdk deploy` stops at the failed validation, before it looks for AWS credentials', () => {
    expect(deploy.status).not.toBe(0);
    expect(deploy.output).toContain('cloudwatch_log_group_retention_period_check');
    expect(deploy.output).toMatch(/Synthesis finished with errors/);
    expect(deploy.output).not.toMatch(/credentials|Need to perform AWS calls|Deploying|deploying/);
  });
});

describe('the acknowledgement helper', () => {
  test('refuses a reason shorter than the minimum', () => {
    const stack = new Stack(new App(), 'S');
    expect(() => acknowledge(stack, ['AwsSolutions-S1'], 'not needed')).toThrow(/reason must be at least 20 characters, got 'not needed'/);
  });
});
