import { Match } from 'aws-cdk-lib/assertions';
import { template } from './support/assembly';

describe('DataAlarms in BodyScript-Production', () => {
  const t = () => template('BodyScript-Production');

  test('pages the critical topic when the database has less than 10% storage left', () => {
    t().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Production-Database-FreeStorageLow',
      MetricName: 'FreeStorageSpace',
      Threshold: 100 * 0.1 * 1024 ** 3,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ 'Fn::GetStackOutput': Match.objectLike({ StackName: 'BodyScript-Production-Alerting', OutputName: Match.stringLikeRegexp('AlarmTopicsCritical') }) }],
    });
  });

  test('warns when database CPU stays above 80% for 15 minutes', () => {
    t().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Production-Database-CpuHigh',
      MetricName: 'CPUUtilization',
      Threshold: 80,
      EvaluationPeriods: 3,
      Period: 300,
    });
  });

  test('warns as soon as a job lands in the dead-letter queue', () => {
    t().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Production-Processing-DeadLetterQueueNotEmpty',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  test('every alarm description tells the paged person which runbook to open', () => {
    const alarms = Object.values(t().findResources('AWS::CloudWatch::Alarm')) as { Properties: { AlarmDescription: string } }[];
    expect(alarms.length).toBeGreaterThanOrEqual(3);
    for (const alarm of alarms) expect(alarm.Properties.AlarmDescription).toMatch(/Runbook: runbooks\//);
  });
});
