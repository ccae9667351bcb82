import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ReplicationAlarms } from '../constructs/replication-alarms';
import { template as assemblyTemplate } from './support/assembly';
import { testApp } from './support/synthesize';

describe('ReplicationAlarms', () => {
  let template: Template;
  beforeAll(() => {
    const stack = new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
    new ReplicationAlarms(stack, 'Alarms', {
      alarmNamePrefix: 'Test-',
      rules: [{ label: 'uploads', sourceBucketName: 'src', destinationBucketName: 'dst', ruleId: 'Rule' }],
      maxLatency: Duration.minutes(15),
      critical: new sns.Topic(stack, 'Critical'),
      warning: new sns.Topic(stack, 'Warning'),
      runbook: 'runbooks/disaster-recovery.md',
    });
    template = Template.fromStack(stack);
  });

  const dimensions = [
    { Name: 'DestinationBucket', Value: 'dst' },
    { Name: 'RuleId', Value: 'Rule' },
    { Name: 'SourceBucket', Value: 'src' },
  ];

  test('pages on any failed replication of the rule', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Replication-Uploads-Failed',
      Namespace: 'AWS/S3',
      MetricName: 'OperationsFailedReplication',
      Dimensions: dimensions,
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Critical') }],
    });
  });

  test('warns when replication falls behind the 15-minute objective', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Replication-Uploads-Latency',
      MetricName: 'ReplicationLatency',
      Dimensions: dimensions,
      Statistic: 'Maximum',
      Threshold: 900,
      // AWS: set replication-metric alarms to ignore missing data (S3 metrics-dimensions).
      TreatMissingData: 'ignore',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Warning') }],
    });
  });

  test('fails without a rule to watch', () => {
    const stack = new Stack(testApp(), 'Empty');
    const topic = new sns.Topic(stack, 'T');
    expect(() => new ReplicationAlarms(stack, 'A', { alarmNamePrefix: 'X-', rules: [], critical: topic, warning: topic, runbook: 'r' })).toThrow(/rules must list at least one/);
  });
});

describe.each([
  ['BodyScript-Staging', 'staging', '111111111111'],
  ['BodyScript-Production', 'production', '222222222222'],
])('%s (primary region, where S3 publishes replication metrics)', (stackName, env, account) => {
  test.each(['uploads', 'results', 'frontend'])('watches the replication of the %s bucket', (purpose) => {
    assemblyTemplate(stackName).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'OperationsFailedReplication',
      Dimensions: [
        { Name: 'DestinationBucket', Value: `bodyscript-${env}-${purpose}-${account}-us-west-2` },
        { Name: 'RuleId', Value: 'ReplicateToStandby' },
        { Name: 'SourceBucket', Value: `bodyscript-${env}-${purpose}-${account}-us-east-1` },
      ],
    });
  });
});
