import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { IPolicyValidationContext } from 'aws-cdk-lib';
import { CfnGuardPlugin, CONTROL_TOWER_RULES_DIRECTORY } from '../lib/validation/cfn-guard-plugin';
import { runCfnGuard } from '../lib/validation/cfn-guard-run';
import { EveryFindingFails } from '../lib/validation/every-finding-fails';
import { failsClosed, GATE_DID_NOT_RUN_RULE } from '../lib/validation/fails-closed';

/** A template with one log group kept 90 days: Control Tower's CT.CLOUDWATCH.PR.2 requires a year. */
const SHORT_RETENTION_TEMPLATE = {
  Resources: { ShortLivedLogs: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 90, KmsKeyId: 'arn:aws:kms:us-east-1:111111111111:key/abc' } } },
};
const RETENTION_RULE = path.join(CONTROL_TOWER_RULES_DIRECTORY, 'cloudwatch', 'ct-cloudwatch-pr-2.guard');

let directory: string;
beforeEach(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-fails-closed-'));
});
afterEach(() => fs.rmSync(directory, { recursive: true, force: true }));

function writeTemplate(name: string, template: object): string {
  const file = path.join(directory, `${name}.template.json`);
  fs.writeFileSync(file, JSON.stringify(template));
  return file;
}

function contextOf(...templatePaths: string[]): IPolicyValidationContext {
  return { templatePaths, stackTemplates: templatePaths.map((templatePath) => ({ templatePath, stackConstructPath: path.basename(templatePath, '.template.json') })) } as unknown as IPolicyValidationContext;
}

describe('failsClosed', () => {
  test("returns the gate's own report when it runs", () => {
    const report = { success: true, violations: [] };
    expect(failsClosed('gate', contextOf('/t/A.template.json'), () => report)).toBe(report);
  });

  test('turns an exception into a finding on every stack, with the stack path the CLI keeps', () => {
    const report = failsClosed('cfn-guard (x)', contextOf('/t/A.template.json', '/t/B.template.json'), () => {
      throw new Error('cfn-guard exited 19');
    });
    expect(report.success).toBe(false);
    expect(report.violations).toHaveLength(1);
    const [violation] = report.violations;
    expect(violation).toMatchObject({ ruleName: GATE_DID_NOT_RUN_RULE, severity: 'error' });
    expect(violation.description).toBe('cfn-guard (x) could not check this stack, so it cannot pass: cfn-guard exited 19');
    expect(violation.violatingResources).toEqual([
      { constructPath: 'A', templatePath: '/t/A.template.json', locations: [] },
      { constructPath: 'B', templatePath: '/t/B.template.json', locations: [] },
    ]);
  });

  test('a cdk-nag pack that throws fails closed too', () => {
    const throwing = { name: 'AwsSolutions', validate: () => { throw new Error('pack crashed'); } };
    const report = new EveryFindingFails(throwing).validate(contextOf('/t/A.template.json'));
    expect(report.success).toBe(false);
    expect(report.violations.map((v) => v.ruleName)).toEqual([GATE_DID_NOT_RUN_RULE]);
  });
});

describe('cfn-guard with the template paths the CDK CLI gives', () => {
  test('findings on a template given by a relative path are kept under that path (cfn-guard reports it absolute)', () => {
    const absolute = writeTemplate('Short', SHORT_RETENTION_TEMPLATE);
    const relative = path.relative(process.cwd(), absolute);
    expect(path.isAbsolute(relative)).toBe(false);
    const found = runCfnGuard([relative], [RETENTION_RULE], 1);
    expect([...found.keys()]).toEqual([relative]);
    const violations = found.get(relative)!;
    expect(violations.map((v) => v.ruleName)).toEqual(['cloudwatch_log_group_retention_period_check']);
    expect(violations[0].violatingResources.map((r) => [r.templatePath, r.resourceLogicalId])).toEqual([[relative, 'ShortLivedLogs']]);
  });

  test('the same across worker threads (two templates, two runs)', () => {
    const a = path.relative(process.cwd(), writeTemplate('A', SHORT_RETENTION_TEMPLATE));
    const b = path.relative(process.cwd(), writeTemplate('B', { Resources: { Topic: { Type: 'AWS::SNS::Topic' } } }));
    const found = runCfnGuard([a, b], [RETENTION_RULE], 2);
    expect(found.get(a)!.map((v) => v.ruleName)).toEqual(['cloudwatch_log_group_retention_period_check']);
    expect(found.get(b)).toEqual([]);
  });

  test('a rule file cfn-guard cannot parse is a finding on every stack, not a plugin failure that the CLI reads as success', () => {
    const broken = path.join(directory, 'broken.guard');
    fs.writeFileSync(broken, 'rule BROKEN { Resources.*[ Type == ');
    const template = writeTemplate('Short', SHORT_RETENTION_TEMPLATE);
    const report = new CfnGuardPlugin({ name: 'broken-rules', ruleFiles: [broken] }).validate(contextOf(template));
    expect(report.success).toBe(false);
    expect(report.violations.map((v) => v.ruleName)).toEqual([GATE_DID_NOT_RUN_RULE]);
    expect(report.violations[0].description).toMatch(/^cfn-guard \(broken-rules\) could not check this stack, so it cannot pass: /);
    expect(report.violations[0].violatingResources).toEqual([{ constructPath: 'Short', templatePath: template, locations: [] }]);
  });
});
