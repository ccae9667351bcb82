import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, type CfnResource, type IPolicyValidationContext, type PolicyViolation, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { acknowledge, CONTROL_TOWER_PLUGIN_NAME, enableComplianceChecks } from '../lib/compliance';
import { CfnGuardPlugin, CONTROL_TOWER_RULES_DIRECTORY, guardRuleFiles } from '../lib/validation/cfn-guard-plugin';
import { groupBySize, planGuardRuns, runCfnGuard } from '../lib/validation/cfn-guard-run';
import { CloudFormationValidateThread } from '../lib/validation/cloudformation-validate-thread';
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

type Template = { Resources: Record<string, { Type: string; DependsOn?: string; Properties?: Record<string, unknown> }>; Outputs?: Record<string, { Value: unknown }> };
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

  test('another engine version is not answered from the cache', () => {
    const verdicts = cache();
    const template = writeTemplate('A', ssmParameter('Standard'));
    new StrictCloudFormationValidatePlugin(verdicts).validate(context(template));
    class NextEngine extends StrictCloudFormationValidatePlugin {
      public override get version(): string {
        return 'a later engine';
      }
    }
    new NextEngine(verdicts).validate(context(template));
    expect(verdicts.hits.get('CloudFormation Validate')).toBeUndefined();
    expect(verdicts.misses.get('CloudFormation Validate')).toBe(2);
  });

  // Why verdicts are kept per template, not per resource: many of the validator's rules read more than one resource
  // (F1020 Ref/GetAtt target must exist, E3005 DependsOn, E9004 GetAtt attribute of the target's type, F3004 circular
  // dependency) or other sections (E6001/F6101 outputs, E8002 conditions, W2001 unused parameters).
  test('a resource whose own JSON is unchanged is validated again when the template changes around it', () => {
    const verdicts = cache();
    const queue = { Type: 'AWS::SQS::Queue', DependsOn: 'Other' };
    const template = writeTemplate('A', { Resources: { Queue: queue, Other: { Type: 'AWS::SQS::Queue' } } });
    expect(new StrictCloudFormationValidatePlugin(verdicts).validate(context(template)).success).toBe(true);
    writeTemplate('A', { Resources: { Queue: queue } });
    const report = new StrictCloudFormationValidatePlugin(verdicts).validate(context(template));
    expect(report.violations.map((v) => [v.ruleName, v.violatingResources.map((r) => r.resourceLogicalId)])).toEqual([['E3005', ['Queue']]]);
  });

  test('an output added to an unchanged set of resources is validated again', () => {
    const verdicts = cache();
    const resources = { Queue: { Type: 'AWS::SQS::Queue' } };
    const template = writeTemplate('A', { Resources: resources });
    expect(new StrictCloudFormationValidatePlugin(verdicts).validate(context(template)).success).toBe(true);
    writeTemplate('A', { Resources: resources, Outputs: { QueueUrl: { Value: { Ref: 'Queue' } }, Broken: { Value: ['not', 'a', 'string'] } } });
    expect(ruleNames(new StrictCloudFormationValidatePlugin(verdicts).validate(context(template)).violations)).toEqual(['F6101']);
  });
});

describe('the CloudFormation validator on a thread of its own', () => {
  const ssmParameter = (tier: string): Template => ({ Resources: { Parameter: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: 'x', Tier: tier } } } });
  const broken: Template = {
    Resources: { Queue: { Type: 'AWS::SQS::Queue', DependsOn: 'Missing', Properties: { DelaySeconds: 'soon' } } },
    Outputs: { Broken: { Value: ['not', 'a', 'string'] } },
  };

  test('reports exactly what aws-cdk-lib\'s validator reports in the main thread, and validates in the main thread once closed', () => {
    const templates = context(writeTemplate('A', ssmParameter('Unlimited')), writeTemplate('B', broken), writeTemplate('C', ssmParameter('Standard')));
    const inMainThread = new StrictCloudFormationValidatePlugin().validate(templates);
    const threaded = new StrictCloudFormationValidatePlugin(undefined, { thread: true });
    const report = threaded.validate(templates);
    expect(report).toEqual(inMainThread);
    expect(ruleNames(report.violations)).toEqual(['E3005', 'F3012', 'F6101', 'W3030']);
    expect(report.violations.every((v) => v.severity === 'error')).toBe(true);
    expect(threaded.version).toBe(new StrictCloudFormationValidatePlugin().version);
    // One synth, one thread: it is closed after validating, and a second validation runs here with the same result.
    expect(threaded.validate(templates)).toEqual(inMainThread);
  });

  test('start() sends only what the cache cannot answer, and validate() collects it: a changed template gets its finding', () => {
    const verdicts = cache();
    const [a, b] = [writeTemplate('A', ssmParameter('Standard')), writeTemplate('B', ssmParameter('Standard'))];
    expect(new StrictCloudFormationValidatePlugin(verdicts).validate(context(a, b)).success).toBe(true);
    writeTemplate('B', ssmParameter('Unlimited'));
    const threaded = new StrictCloudFormationValidatePlugin(verdicts, { thread: true });
    threaded.start(context(a, b));
    const report = threaded.validate(context(a, b));
    expect(report.violations.map((v) => [v.ruleName, v.violatingResources.map((r) => r.templatePath)])).toEqual([['W3030', [b]]]);
    expect(verdicts.hits.get('CloudFormation Validate')).toBe(1);
  });

  test('a job the thread cannot complete is an error, never a report', () => {
    const thread = new CloudFormationValidateThread();
    try {
      const missing = path.join(workDir, 'Missing.template.json');
      const job = thread.submit([{ templatePath: missing, stackConstructPath: 'Missing', accountId: '111111111111', region: 'us-east-1' }]);
      expect(() => thread.collect(job)).toThrow(/CloudFormation validator thread: .*Missing\.template\.json/);
    } finally {
      thread.close();
    }
  });

  test('in a synth: its findings stop the synth and acknowledgements still apply to them', () => {
    function synth(acknowledged: boolean): Record<string, string> {
      const outdir = fs.mkdtempSync(path.join(workDir, 'out-'));
      // cdk.json's flag: without it, aws-cdk-lib turns the validator's errors into warnings.
      const app = new App({ outdir, context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });
      enableComplianceChecks(app, { validationCache: false, gates: ['project-rules', 'cloudformation'], cloudFormationValidatorThread: true });
      const stack = new Stack(app, 'Threaded', { env: { account: '111111111111', region: 'us-east-1' } });
      const parameter = new ssm.StringParameter(stack, 'Parameter', { stringValue: 'x' });
      // A property AWS::SSM::Parameter does not have: F3002, an error of the validator.
      (parameter.node.defaultChild as CfnResource).addPropertyOverride('Tiers', 'Standard');
      if (acknowledged) acknowledge(parameter, ['CloudFormation-Validate::F3002'], 'acknowledged in this test only, to show acknowledgements apply to the thread\'s findings');
      try {
        app.synth();
      } catch {
        // The report says why.
      }
      const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string }[] }[] };
      return Object.fromEntries(report.pluginReports.map((p) => [p.pluginName, `${p.conclusion} ${p.violations.map((v) => v.ruleName).join(',')}`.trim()]));
    }
    // The report lists the plugins that found something: the project rules found nothing on this stack.
    expect(synth(false)).toEqual({ 'CloudFormation Validate': 'failure F3002' });
    expect(synth(true)['CloudFormation Validate'] ?? 'success').toMatch(/^success/);
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
