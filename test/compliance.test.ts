import { GUARD_RULE_EXEMPTIONS, MINIMUM_REASON_LENGTH } from '../lib/compliance';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { acknowledge, enableComplianceChecks } from '../lib/compliance';
import { type Acknowledgement, acknowledgements as allAcknowledgements, stacks, validationPlugins, violations } from './support/assembly';

/** Our own acknowledgements: cdk-nag and cfn-guard findings (aws-cdk-lib records some of its own validator's). */
function acknowledgements(): Acknowledgement[] {
  return allAcknowledgements().filter((a) => !a.ruleId.startsWith('CloudFormation-Validate::'));
}

describe('compliance gates on the whole app', () => {
  test('cfn-guard (Control Tower) and the CloudFormation validator ran on the app', () => {
    expect(validationPlugins()).toEqual(expect.arrayContaining(['cdk-validator-cfnguard', 'CloudFormation Validate']));
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
    // cdk-nag and cfn-guard rule ids, or a named aws-cdk-lib warning (Annotation::@aws-cdk/<module>:<id>).
    const specific = /^(Annotation::)?(AwsSolutions|NIST\.800\.53\.R5|HIPAA\.Security)-[A-Za-z0-9]+(\[.+\])?$|^cdk-validator-cfnguard::[a-z0-9_]+$|^Annotation::@aws-cdk\/[a-z0-9-]+:[A-Za-z0-9]+$/;
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

describe('the compliance gates themselves', () => {
  // One deliberately non-compliant bucket proves that every pack is registered
  // and that a finding stops synthesis: without the gates this test fails.
  let report: string;
  let synthFailed = false;
  beforeAll(() => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-gates-'));
    const app = new App({ outdir });
    enableComplianceChecks(app);
    const stack = new Stack(app, 'NonCompliant', { env: { account: '111111111111', region: 'us-east-1' } });
    new s3.Bucket(stack, 'PlainBucket');
    const acknowledged = new s3.Bucket(stack, 'AcknowledgedBucket', { enforceSSL: true });
    acknowledge(acknowledged, ['AwsSolutions-S1'], 'Acknowledged here to prove that an acknowledgement silences exactly one finding.');
    try {
      app.synth();
    } catch {
      synthFailed = true;
    }
    report = fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8');
  });

  test.each(['AwsSolutions', 'NIST.800.53.R5', 'HIPAA.Security', 'cdk-validator-cfnguard'])('%s reports a non-compliant bucket', (plugin) => {
    const parsed = JSON.parse(report) as { pluginReports: { pluginName: string; violations: unknown[] }[] };
    const pluginReport = parsed.pluginReports.find((p) => p.pluginName === plugin);
    expect(pluginReport?.violations.length).toBeGreaterThan(0);
  });

  test('an acknowledgement removes exactly its finding on its resource', () => {
    const parsed = JSON.parse(report) as { pluginReports: { violations: { ruleName: string; violatingConstructs?: { constructPath: string }[] }[] }[] };
    const s1 = parsed.pluginReports.flatMap((p) => p.violations).filter((v) => v.ruleName === 'AwsSolutions-S1');
    const paths = s1.flatMap((v) => (v.violatingConstructs ?? []).map((c) => c.constructPath));
    expect(paths).toContain('NonCompliant/PlainBucket/Resource');
    expect(paths).not.toContain('NonCompliant/AcknowledgedBucket/Resource');
  });

  test('findings make synthesis fail', () => {
    expect(synthFailed || report.includes('"conclusion": "failure"')).toBe(true);
  });
});

describe('the acknowledgement helper', () => {
  test('refuses a reason shorter than the minimum', () => {
    const stack = new Stack(new App(), 'S');
    expect(() => acknowledge(stack, ['AwsSolutions-S1'], 'not needed')).toThrow(/reason must be at least 20 characters, got 'not needed'/);
  });
});
