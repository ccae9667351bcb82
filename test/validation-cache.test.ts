import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, type IPolicyValidationContext, type PolicyViolation, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { acknowledge, CONTROL_TOWER_PLUGIN_NAME, enableComplianceChecks } from '../lib/compliance';
import { CfnGuardPlugin, CONTROL_TOWER_RULES_DIRECTORY, guardRuleFiles } from '../lib/validation/cfn-guard-plugin';
import { groupBySize, planGuardRuns, runCfnGuard } from '../lib/validation/cfn-guard-run';
import { StrictCloudFormationValidatePlugin } from '../lib/validation/strict-cloudformation-validate-plugin';
import { CACHE_FORMAT, fingerprint, VerdictCache } from '../lib/validation/verdict-cache';

/**
 * The validation cache may only ever save work: whatever changed since a
 * verdict was stored (template, rules, exemptions, acknowledgements), the
 * finding comes back. Each test starts from a warm cache that holds a pass (or
 * a finding) and shows that a change is not answered from it.
 */
let workDir: string;
beforeEach(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-validation-cache-'));
});
afterEach(() => fs.rmSync(workDir, { recursive: true, force: true }));

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
const logGroup = (retentionInDays?: number): Template => ({
  Resources: { Logs: { Type: 'AWS::Logs::LogGroup', Properties: { KmsKeyId: 'arn:aws:kms:us-east-1:111111111111:key/1', ...(retentionInDays ? { RetentionInDays: retentionInDays } : {}) } } },
});

function writeTemplate(name: string, body: Template): string {
  const file = path.join(workDir, `${name}.template.json`);
  fs.writeFileSync(file, JSON.stringify(body, undefined, 1));
  return file;
}

function context(...templatePaths: string[]): IPolicyValidationContext {
  return {
    templatePaths,
    stackTemplates: templatePaths.map((templatePath) => ({ templatePath, stackConstructPath: path.basename(templatePath, '.template.json'), accountId: '111111111111', region: 'us-east-1' })),
    appConstruct: new App(),
  };
}

const ruleNames = (violations: readonly PolicyViolation[]) => violations.map((v) => v.ruleName).sort();
const cache = () => new VerdictCache(path.join(workDir, 'cache'));
const controlTower = (verdicts: VerdictCache, exemptions: Record<string, string> = {}) =>
  new CfnGuardPlugin({ name: CONTROL_TOWER_PLUGIN_NAME, ruleFiles: guardRuleFiles(CONTROL_TOWER_RULES_DIRECTORY), exemptions, cache: verdicts });

describe('VerdictCache', () => {
  const key = fingerprint('a template');

  test('returns what was stored under the same validator and key', () => {
    const verdicts = cache();
    verdicts.write('cfn-guard', key, [{ ruleName: 'r' }]);
    expect(verdicts.read('cfn-guard', key)).toEqual([{ ruleName: 'r' }]);
    expect(verdicts.read('other-validator', key)).toBeUndefined();
    expect(verdicts.read('cfn-guard', fingerprint('another template'))).toBeUndefined();
  });

  test('treats an entry it cannot parse, or that names another key or format, as a miss', () => {
    const verdicts = cache();
    verdicts.write('cfn-guard', key, []);
    const [file] = fs.readdirSync(path.join(verdicts.directory, 'cfn-guard')).map((f) => path.join(verdicts.directory, 'cfn-guard', f));
    fs.writeFileSync(file, '{"format": 1, "validator": "cfn-guard", "key": "');
    expect(verdicts.read('cfn-guard', key)).toBeUndefined();
    fs.writeFileSync(file, JSON.stringify({ format: CACHE_FORMAT, validator: 'cfn-guard', key: fingerprint('x'), value: [] }));
    expect(verdicts.read('cfn-guard', key)).toBeUndefined();
    fs.writeFileSync(file, JSON.stringify({ format: CACHE_FORMAT + 1, validator: 'cfn-guard', key, value: [] }));
    expect(verdicts.read('cfn-guard', key)).toBeUndefined();
  });

  test('fingerprints distinguish where the parts are split', () => {
    expect(fingerprint('ab', 'c')).not.toBe(fingerprint('a', 'bc'));
  });

  test('refuses a relative directory and a key that is not a SHA-256', () => {
    expect(() => new VerdictCache('node_modules/.cache')).toThrow(/must be an absolute path/);
    expect(() => cache().read('cfn-guard', '../../etc/passwd')).toThrow(/must be a SHA-256 in hex/);
  });
});

describe('cfn-guard verdicts from the cache', () => {
  test('a warm cache gives the same findings without running cfn-guard, at the current template path', () => {
    const verdicts = cache();
    const first = controlTower(verdicts).validate(context(writeTemplate('A', logGroup(90))));
    const moved = writeTemplate('B', logGroup(90));
    const second = controlTower(verdicts).validate(context(moved));
    expect(first.metadata).toMatchObject({ validated: '1', fromCache: '0' });
    expect(second.metadata).toMatchObject({ validated: '0', fromCache: '1' });
    expect(ruleNames(second.violations)).toEqual(ruleNames(first.violations));
    expect(ruleNames(second.violations)).toContain('cloudwatch_log_group_retention_period_check');
    expect(second.violations.flatMap((v) => v.violatingResources.map((r) => r.templatePath))).toEqual([moved]);
    expect(second.success).toBe(false);
  });

  test('a changed template is validated again: a cached pass does not hide its finding', () => {
    const verdicts = cache();
    const template = writeTemplate('A', logGroup(365));
    expect(controlTower(verdicts).validate(context(template)).success).toBe(true);
    writeTemplate('A', logGroup(90));
    const report = controlTower(verdicts).validate(context(template));
    expect(report.metadata).toMatchObject({ validated: '1' });
    expect(ruleNames(report.violations)).toEqual(['cloudwatch_log_group_retention_period_check']);
  });

  test('a changed rule file invalidates every verdict made with the old one', () => {
    const verdicts = cache();
    const rules = path.join(workDir, 'rules');
    fs.mkdirSync(rules);
    const ruleFile = path.join(rules, 'retention.guard');
    const rule = (minimum: number) => `rule RETENTION_AT_LEAST when Resources.*[ Type == 'AWS::Logs::LogGroup' ] !empty {\n  Resources.*[ Type == 'AWS::Logs::LogGroup' ].Properties.RetentionInDays >= ${minimum}\n}\n`;
    const plugin = () => new CfnGuardPlugin({ name: 'rules-under-test', ruleFiles: guardRuleFiles(rules), cache: verdicts });
    const template = writeTemplate('A', logGroup(90));
    fs.writeFileSync(ruleFile, rule(30));
    expect(plugin().validate(context(template)).success).toBe(true);
    fs.writeFileSync(ruleFile, rule(365));
    expect(ruleNames(plugin().validate(context(template)).violations)).toEqual(['RETENTION_AT_LEAST']);
  });

  test('a rule file added to the set invalidates every verdict made without it', () => {
    const verdicts = cache();
    const rules = path.join(workDir, 'rules');
    fs.mkdirSync(rules);
    fs.writeFileSync(path.join(rules, 'anything.guard'), "rule ANY_RESOURCE { Resources exists }\n");
    const plugin = () => new CfnGuardPlugin({ name: 'rules-under-test', ruleFiles: guardRuleFiles(rules), cache: verdicts });
    const template = writeTemplate('A', logGroup());
    expect(plugin().validate(context(template)).success).toBe(true);
    fs.writeFileSync(path.join(rules, 'retention.guard'), "rule RETENTION_STATED { Resources.*.Properties.RetentionInDays exists }\n");
    expect(ruleNames(plugin().validate(context(template)).violations)).toEqual(['RETENTION_STATED']);
  });

  test('removing an exemption brings the exempted rule back', () => {
    const verdicts = cache();
    const template = writeTemplate('A', logGroup(90));
    const exempted = controlTower(verdicts, { 'ct-cloudwatch-pr-2': 'exempted in this test only, to prove the cache key covers it' }).validate(context(template));
    expect(exempted.success).toBe(true);
    expect(ruleNames(controlTower(verdicts).validate(context(template)).violations)).toEqual(['cloudwatch_log_group_retention_period_check']);
  });

  test('an exemption must name a rule that exists', () => {
    expect(() => controlTower(cache(), { 'ct-cloudwatch-pr-99': 'no such rule file in the Control Tower set' })).toThrow(/exemptions name rules that do not exist: ct-cloudwatch-pr-99/);
  });
});

describe('acknowledgements are applied after the cache, on every synth', () => {
  /** Synthesizes a one-log-group app through the real gates with a warm or cold cache; returns the Control Tower plugin's conclusion. */
  function synth(verdicts: string, acknowledged: boolean): string {
    const outdir = fs.mkdtempSync(path.join(workDir, 'out-'));
    const app = new App({ outdir });
    enableComplianceChecks(app, { validationCache: verdicts, gates: ['control-tower', 'project-rules'] });
    const stack = new Stack(app, 'Ack', { env: { account: '111111111111', region: 'us-east-1' } });
    const group = new logs.LogGroup(stack, 'Logs', { retention: logs.RetentionDays.THREE_MONTHS });
    if (acknowledged) {
      acknowledge(group, ['cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check', 'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check'], 'acknowledged in this test only, to prove the cache holds findings before acknowledgement');
    }
    try {
      app.synth();
    } catch {
      // The report says why; the conclusion is what this test reads.
    }
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { pluginName: string; conclusion: string }[] };
    return report.pluginReports.find((p) => p.pluginName === CONTROL_TOWER_PLUGIN_NAME)?.conclusion ?? 'success';
  }

  test('removing an acknowledgement with a warm cache brings the finding back', () => {
    const verdicts = path.join(workDir, 'cache');
    expect(synth(verdicts, true)).toBe('success');
    expect(new VerdictCache(verdicts).entryCount(CONTROL_TOWER_PLUGIN_NAME)).toBe(1);
    expect(synth(verdicts, false)).toBe('failure');
  });
});

describe('the CloudFormation validator', () => {
  const ssmParameter = (tier: string): Template => ({ Resources: { Parameter: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: 'x', Tier: tier } } } });

  test('reports a value CloudFormation refuses as an error, though the validator calls it a warning', () => {
    const report = new StrictCloudFormationValidatePlugin().validate(context(writeTemplate('A', ssmParameter('Unlimited'))));
    expect(report.success).toBe(false);
    expect(report.violations.map((v) => [v.ruleName, v.severity, v.ruleMetadata?.validatorSeverity])).toEqual([['W3030', 'error', 'warning']]);
  });

  test('a warm cache gives the same diagnostics, and a changed template is validated again', () => {
    const verdicts = cache();
    const template = writeTemplate('A', ssmParameter('Standard'));
    expect(new StrictCloudFormationValidatePlugin(verdicts).validate(context(template)).success).toBe(true);
    expect(new StrictCloudFormationValidatePlugin(verdicts).validate(context(template)).success).toBe(true);
    expect(verdicts.hits.get('CloudFormation Validate')).toBe(1);
    writeTemplate('A', ssmParameter('Unlimited'));
    expect(ruleNames(new StrictCloudFormationValidatePlugin(verdicts).validate(context(template)).violations)).toEqual(['W3030']);
  });
});

describe('runCfnGuard', () => {
  const rules = guardRuleFiles(CONTROL_TOWER_RULES_DIRECTORY);

  test('gives the same findings per template whether one cfn-guard runs or one per CPU', () => {
    const templates = [writeTemplate('A', logGroup(90)), writeTemplate('B', logGroup(365)), writeTemplate('C', logGroup()), writeTemplate('D', { Resources: { Queue: { Type: 'AWS::SQS::Queue' } } })];
    const one = runCfnGuard(templates, rules, 1);
    const three = runCfnGuard(templates, rules, 3);
    expect(groupBySize(templates, 3)).toHaveLength(3);
    for (const template of templates) expect(ruleNames(three.get(template)!)).toEqual(ruleNames(one.get(template)!));
    expect(ruleNames(one.get(templates[0])!)).toEqual(['cloudwatch_log_group_retention_period_check']);
    expect(one.get(templates[1])).toEqual([]);
    expect(ruleNames(one.get(templates[3])!)).toEqual(['sqs_dlq_check', 'sqs_queue_encrypted_check']);
  });

  test('splits one template\'s rules across processes and still gives the same findings', () => {
    const template = writeTemplate('A', { Resources: { ...logGroup(90).Resources, Queue: { Type: 'AWS::SQS::Queue' } } });
    const plan = planGuardRuns([template], rules, 3);
    expect(plan).toHaveLength(3);
    expect(plan.flat().flatMap((run) => run.ruleFiles).sort()).toEqual([...rules].sort());
    const split = runCfnGuard([template], rules, 3).get(template)!;
    expect(ruleNames(split)).toEqual(ruleNames(runCfnGuard([template], rules, 1).get(template)!));
    expect(ruleNames(split)).toEqual(['cloudwatch_log_group_retention_period_check', 'sqs_dlq_check', 'sqs_queue_encrypted_check']);
  });

  test.each([1, 2])('fails, rather than passing, on a template cfn-guard cannot read (%i process(es))', (concurrency) => {
    const broken = path.join(workDir, 'Broken.template.json');
    fs.writeFileSync(broken, '{"Resources": {');
    expect(() => runCfnGuard([writeTemplate('A', logGroup(365)), broken], rules, concurrency)).toThrow(/Broken\.template\.json|CfnGuardValidator plugin failed/);
  });
});
