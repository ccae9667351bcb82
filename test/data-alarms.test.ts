import { Match } from 'aws-cdk-lib/assertions';
import { estimatedMaxConnections } from '../constructs/data-alarms';
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
      AlarmActions: [{ 'Fn::ImportValue': Match.stringLikeRegexp('^BodyScript-Production-Alerting:.*AlarmTopicsCritical') }],
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

  test('warns when connections stay above 80% of max_connections (r7g.large: 1802) for 10 minutes', () => {
    t().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Production-Database-ConnectionsHigh',
      MetricName: 'DatabaseConnections',
      Threshold: Math.floor(1802 * 0.8),
      Period: 300,
      EvaluationPeriods: 2,
      AlarmActions: [{ 'Fn::ImportValue': Match.stringLikeRegexp('AlarmTopicsWarning') }],
    });
  });

  test('every alarm description tells the paged person which runbook to open', () => {
    const alarms = Object.values(t().findResources('AWS::CloudWatch::Alarm')) as { Properties: { AlarmDescription: string } }[];
    expect(alarms.length).toBeGreaterThanOrEqual(3);
    for (const alarm of alarms) expect(alarm.Properties.AlarmDescription).toMatch(/Runbook: runbooks\//);
  });
});

describe('estimatedMaxConnections', () => {
  test.each([
    ['t4g.medium', 450],
    ['t4g.micro', 112],
    ['r7g.large', 1802],
    ['m6i.xlarge', 1802],
    ['r6g.4xlarge', 5000],
  ])('%s allows %i connections', (instanceClass, expected) => {
    expect(estimatedMaxConnections(instanceClass)).toBe(expected);
  });

  test('fails for an instance class it cannot size', () => {
    expect(() => estimatedMaxConnections('z1d.large')).toThrow(/unknown memory size of instance class 'z1d.large'/);
    expect(() => estimatedMaxConnections('large')).toThrow(/must look like t4g.medium/);
  });
});
