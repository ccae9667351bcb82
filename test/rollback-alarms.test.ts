import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CODEDEPLOY_MAX_ALARMS, RollbackAlarms, type RollbackAlarmsProps, detectionTimeSeconds } from '../constructs/rollback-alarms';
import { testApp } from './support/synthesize';

function fixtures() {
  const stack = new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'Lb', { vpc });
  const blue = new elbv2.ApplicationTargetGroup(stack, 'Blue', { vpc, port: 8000, targetType: elbv2.TargetType.IP });
  const green = new elbv2.ApplicationTargetGroup(stack, 'Green', { vpc, port: 8000, targetType: elbv2.TargetType.IP });
  loadBalancer.addListener('Production', { port: 80, defaultTargetGroups: [blue] });
  loadBalancer.addListener('Test', { port: 8080, defaultTargetGroups: [green] });
  const topic = new sns.Topic(stack, 'Topic');
  const canaryAlarm = new cloudwatch.Alarm(stack, 'CanaryAlarm', {
    metric: new cloudwatch.Metric({ namespace: 'CloudWatchSynthetics', metricName: 'SuccessPercent', period: Duration.minutes(1) }),
    threshold: 100,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 2,
  });
  const jobFailureMetric = new cloudwatch.MathExpression({
    expression: 'IF(done + failed > 0, 100 * failed / (done + failed), 0)',
    usingMetrics: {
      done: new cloudwatch.Metric({ namespace: 'BodyScript/Processing', metricName: 'VideosProcessed', statistic: 'Sum' }),
      failed: new cloudwatch.Metric({ namespace: 'BodyScript/Processing', metricName: 'ProcessingFailures', statistic: 'Sum' }),
    },
    period: Duration.minutes(1),
  });
  return { stack, loadBalancer, blue, green, topic, canaryAlarm, jobFailureMetric };
}

type AlarmResource = { Properties: { AlarmName: string; Period?: number; EvaluationPeriods: number; Metrics?: { Period?: number; MetricStat?: { Period: number } }[]; AlarmDescription: string } };

describe('RollbackAlarms', () => {
  let template: Template;
  let processing: RollbackAlarms;
  let api: RollbackAlarms;

  beforeAll(() => {
    const f = fixtures();
    api = new RollbackAlarms(f.stack, 'Api', {
      alarmNamePrefix: 'BodyScript-Staging-api-',
      loadBalancer: f.loadBalancer,
      targetGroups: [f.blue, f.green],
      canaryAlarms: [f.canaryAlarm],
      alarmTopic: f.topic,
    });
    processing = new RollbackAlarms(f.stack, 'Processing', {
      alarmNamePrefix: 'BodyScript-Staging-processing-',
      loadBalancer: f.loadBalancer,
      targetGroups: [f.blue, f.green],
      jobFailureMetric: f.jobFailureMetric,
      maxJobFailureRatePercent: 20,
    });
    template = Template.fromStack(f.stack);
  });

  const alarms = () => Object.values(template.findResources('AWS::CloudWatch::Alarm')) as AlarmResource[];
  const periodOf = (alarm: AlarmResource) =>
    alarm.Properties.Period ?? Math.max(...(alarm.Properties.Metrics ?? []).map((m) => m.Period ?? m.MetricStat?.Period ?? 0));

  test('every rollback alarm detects a bad release within 120 s (period × evaluation periods)', () => {
    const rollback = alarms().filter((a) => /-(5xxRate|LatencyP99|UnhealthyHosts|JobFailureRate)$/.test(a.Properties.AlarmName));
    expect(rollback).toHaveLength(7);
    for (const alarm of rollback) {
      const seconds = periodOf(alarm) * alarm.Properties.EvaluationPeriods;
      expect(seconds).toBeGreaterThan(0);
      expect(seconds).toBeLessThanOrEqual(120);
    }
    expect(api.worstCaseDetectionTime.toSeconds()).toBe(120);
    expect(processing.worstCaseDetectionTime.toSeconds()).toBeLessThanOrEqual(120);
    for (const alarm of [...api.alarms, ...processing.alarms]) expect(detectionTimeSeconds(alarm)).toBeLessThanOrEqual(120);
  });

  test('the 5xx rate adds the target 5xx of blue and green and divides by their requests, ignoring quiet minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-api-5xxRate',
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF((FILL(requests0, 0) + FILL(requests1, 0)) >= 10, 100 * (FILL(errors0, 0) + FILL(errors1, 0)) / (FILL(requests0, 0) + FILL(requests1, 0)), 0)', ReturnData: true }),
        Match.objectLike({ Id: 'requests0', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'RequestCount' }), Period: 60, Stat: 'Sum' }) }),
        Match.objectLike({ Id: 'errors1', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'HTTPCode_Target_5XX_Count' }), Period: 60, Stat: 'Sum' }) }),
      ]),
    });
  });

  test('the p99 latency of the slower colour must stay under 500 ms', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-api-LatencyP99',
      Threshold: 0.5,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'MAX([FILL(p990, 0), FILL(p991, 0)])' }),
        Match.objectLike({ Id: 'p990', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'TargetResponseTime' }), Stat: 'p99', Period: 60 }) }),
      ]),
    });
  });

  test('any unhealthy target in either target group alarms', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-api-UnhealthyHosts',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: Match.arrayWith([Match.objectLike({ Id: 'unhealthy1', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'UnHealthyHostCount' }), Stat: 'Maximum' }) })]),
    });
  });

  test('processing also rolls back on its job failure rate', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'BodyScript-Staging-processing-JobFailureRate', Threshold: 20, EvaluationPeriods: 2 });
    expect(processing.jobFailureRate).toBeDefined();
    expect(api.jobFailureRate).toBeUndefined();
  });

  test('the deployment group alarms are the metric alarms plus the canary alarms, within CodeDeploy’s limit', () => {
    expect(api.alarms).toHaveLength(4);
    expect(api.alarms).toContain(api.serverErrorRate);
    expect(processing.alarms).toHaveLength(4);
    expect(api.alarms.length).toBeLessThanOrEqual(CODEDEPLOY_MAX_ALARMS);
  });

  test('one composite alarm per service is in ALARM when any rollback alarm is, and tells the topic', () => {
    template.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 2);
    const composite = template.findResources('AWS::CloudWatch::CompositeAlarm', { Properties: { AlarmName: 'BodyScript-Staging-api-Rollback' } });
    const [resource] = Object.values(composite);
    const rule = JSON.stringify(resource.Properties.AlarmRule);
    for (const id of ['ApiServerErrorRate', 'ApiLatency', 'ApiUnhealthyHosts', 'CanaryAlarm']) expect(rule).toMatch(new RegExp(`ALARM.*${id}`));
    expect(rule.match(/ OR /g)).toHaveLength(3);
    expect(resource.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Topic/) }]);
    expect(resource.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(/^Topic/) }]);
  });

  test('every description is a sentence that names the rollback runbook', () => {
    for (const alarm of alarms().filter((a) => a.Properties.AlarmName)) {
      expect(alarm.Properties.AlarmDescription).toMatch(/^[A-Z].*\. Runbook: runbooks\/rollback\.md$/);
    }
  });

  describe('fails when', () => {
    const props = (f: ReturnType<typeof fixtures>, overrides: Partial<RollbackAlarmsProps>): RollbackAlarmsProps => ({
      alarmNamePrefix: 'BodyScript-Staging-api-',
      loadBalancer: f.loadBalancer,
      targetGroups: [f.blue, f.green],
      ...overrides,
    });

    test('an alarm would take longer than two minutes to detect a bad release', () => {
      const f = fixtures();
      const slow = new cloudwatch.MathExpression({ expression: 'm', usingMetrics: { m: new cloudwatch.Metric({ namespace: 'X', metricName: 'Y' }) }, period: Duration.minutes(5) });
      expect(() => new RollbackAlarms(f.stack, 'Slow', props(f, { jobFailureMetric: slow }))).toThrow(/within 120 s \(period × evaluation periods\), got 600 s for Test\/Slow\/JobFailureRate/);
    });

    test('a canary alarm is too slow', () => {
      const f = fixtures();
      const slowCanary = new cloudwatch.Alarm(f.stack, 'SlowCanary', { metric: new cloudwatch.Metric({ namespace: 'X', metricName: 'Y', period: Duration.minutes(1) }), threshold: 1, evaluationPeriods: 5 });
      expect(() => new RollbackAlarms(f.stack, 'R', props(f, { canaryAlarms: [slowCanary] }))).toThrow(/got 300 s for Test\/SlowCanary/);
    });

    test('CodeDeploy would have to watch more than 10 alarms', () => {
      const f = fixtures();
      const many = Array.from({ length: 8 }, () => f.canaryAlarm);
      expect(() => new RollbackAlarms(f.stack, 'R', props(f, { canaryAlarms: many }))).toThrow(/at most 10 alarms per deployment group, got 11/);
    });

    test.each<[string, Partial<RollbackAlarmsProps>, RegExp]>([
      ['no target group is given', { targetGroups: [] }, /targetGroups must list the blue and green target groups \(1–2\), got 0/],
      ['the 5xx rate is not a percentage', { max5xxRatePercent: 150 }, /max5xxRatePercent must be more than 0 and at most 100 \(percent\), got 150/],
      ['the latency budget is zero', { maxP99Latency: Duration.millis(0) }, /maxP99Latency must be more than 0/],
      ['a job failure rate is given without its metric', { maxJobFailureRatePercent: 5 }, /maxJobFailureRatePercent needs a jobFailureMetric/],
    ])('%s', (_name, overrides, error) => {
      const f = fixtures();
      expect(() => new RollbackAlarms(f.stack, 'R', props(f, overrides))).toThrow(error);
    });
  });
});
