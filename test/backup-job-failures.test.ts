import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { BackupJobFailures } from '../constructs/backup-job-failures';
import { testApp } from './support/synthesize';

function setup() {
  const stack = new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
  return { stack, logKey: new kms.Key(stack, 'Key') };
}

describe('BackupJobFailures', () => {
  let template: Template;
  let failures: BackupJobFailures;
  beforeAll(() => {
    const { stack, logKey } = setup();
    failures = new BackupJobFailures(stack, 'BackupJobFailures', { ruleName: 'bodyscript-staging-backup-job-failures', logKey, logRetention: logs.RetentionDays.ONE_YEAR });
    template = Template.fromStack(stack);
  });

  test('matches backup jobs that failed, were aborted or expired, and copy jobs that failed, whatever their vault', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'bodyscript-staging-backup-job-failures',
      EventPattern: {
        source: ['aws.backup'],
        'detail-type': ['Backup Job State Change', 'Copy Job State Change'],
        detail: { state: ['FAILED', 'ABORTED', 'EXPIRED'] },
      },
    });
  });

  test('keeps each failed job’s event in an encrypted log group under /aws/events/, which EventBridge may write to, retained like every log group', () => {
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: '/aws/events/bodyscript-staging-backup-job-failures', RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } },
      DeletionPolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [{ Arn: { 'Fn::Join': ['', ['arn:aws:logs:us-east-1:111111111111:log-group:', { Ref: Match.stringLikeRegexp('^BackupJobFailuresEvents') }]] }, Id: 'Target0' }],
    });
    template.hasResourceProperties('AWS::Logs::ResourcePolicy', { PolicyName: 'bodyscript-staging-backup-job-failures-events' });
  });

  test('counts them as the rule’s Invocations per 5 minutes (AWS Backup sends its events about every 5 minutes)', () => {
    expect(failures.metric).toMatchObject({ namespace: 'AWS/Events', metricName: 'Invocations', dimensions: { RuleName: 'bodyscript-staging-backup-job-failures' }, statistic: 'Sum' });
    expect(failures.metric.period.toSeconds()).toBe(300);
  });

  test('fails on a rule name EventBridge would refuse', () => {
    const { stack, logKey } = setup();
    expect(() => new BackupJobFailures(stack, 'Bad', { ruleName: 'backup job failures', logKey, logRetention: logs.RetentionDays.ONE_YEAR })).toThrow(
      /ruleName must be 1–64 characters of letters, digits, '\.', '-' or '_', got 'backup job failures'/,
    );
  });
});
