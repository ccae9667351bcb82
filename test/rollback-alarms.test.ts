import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { CODEDEPLOY_MAX_ALARMS, detectionTimeSeconds, RollbackAlarms, type RollbackAlarmsProps, type WorkerSignals } from '../constructs/rollback-alarms';
import { statedMissingData } from '../lib/alarm-description';
import { LOW_TRAFFIC_RULE } from '../lib/low-traffic';
import { firstAlarm, readAlarms, type ServiceWorld, simulate, trafficWorld } from './support/alarm-simulation';
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
  const failedTasks = new cloudwatch.Metric({ namespace: 'AWS/Events', metricName: 'Invocations', dimensionsMap: { RuleName: 'failed-tasks' }, statistic: 'Sum', period: Duration.minutes(1) });
  const worker: WorkerSignals = {
    metricsNamespace: 'BodyScript/Processing',
    metricsEnvironment: 'staging',
    queue: new sqs.Queue(stack, 'Queue'),
    visibilityTimeout: Duration.minutes(45),
    clusterName: 'cluster',
    serviceName: 'worker',
    minimumJobsPerHour: 4,
  };
  return { stack, loadBalancer, blue, green, topic, canaryAlarm, failedTasks, worker };
}

type AlarmResource = { Properties: Record<string, unknown> & { AlarmName: string; AlarmDescription: string; TreatMissingData?: string; Metrics?: { Expression?: string }[] } };

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
      quietestRequestsPerMinute: 3,
      failedTasks: f.failedTasks,
      alarmTopic: f.topic,
    });
    processing = new RollbackAlarms(f.stack, 'Processing', {
      alarmNamePrefix: 'BodyScript-Staging-processing-',
      loadBalancer: f.loadBalancer,
      targetGroups: [f.blue, f.green],
      traffic: 'health-checks',
      canaryAlarms: [f.canaryAlarm],
      failedTasks: f.failedTasks,
      worker: f.worker,
      deploymentWatch: Duration.minutes(35),
    });
    template = Template.fromStack(f.stack);
  });

  const alarms = () => Object.values(template.findResources('AWS::CloudWatch::Alarm')) as AlarmResource[];
  const alarm = (name: string) => alarms().find((a) => a.Properties.AlarmName === name)!;

  test('the 5xx rate counts the load balancer’s own 5xx and the requests that found no target, per load balancer, a minute by the low-traffic rule, with no FILL', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-api-5xxRate',
      AlarmDescription: Match.stringLikeRegexp(LOW_TRAFFIC_RULE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF((rate >= 100 || bad >= 3), rate, 0)', ReturnData: true }),
        Match.objectLike({ Id: 'bad', Expression: 'target5xx + elb5xx', ReturnData: false }),
        Match.objectLike({ Id: 'elb5xx', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'HTTPCode_ELB_5XX_Count', Dimensions: [Match.objectLike({ Name: 'LoadBalancer' })] }), Period: 60, Stat: 'Sum' }) }),
        Match.objectLike({ Id: 'rate', Expression: '100 * bad / (requests + elb5xx)', ReturnData: false }),
        Match.objectLike({ Id: 'requests', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'RequestCount', Dimensions: [Match.objectLike({ Name: 'LoadBalancer' })] }) }) }),
      ]),
    });
  });

  describe('the 5xx rate at low and high traffic (the CloudWatch evaluation model, test/support)', () => {
    const serverErrors = () => readAlarms('Test', template.toJSON().Resources).find((a) => a.name === 'BodyScript-Staging-api-5xxRate')!;
    const fires = (w: ServiceWorld) => firstAlarm(simulate(serverErrors(), w, { publicationDelayMinutes: 1, from: 0, to: 240 }));
    /** `requests` a minute, of which `bad(minute)` get a 5xx from a target. */
    const traffic = (requests: number, bad: (minute: number) => number) => trafficWorld({ requests: () => requests, bad });

    test.each([2, 3, 4, 10, 30])('one 5xx (or two) in every minute at %i requests a minute never fires: the canary’s few requests at night are no trend', (requests) => {
      expect(fires(traffic(requests, () => 1))).toBeUndefined();
      if (requests > 2) expect(fires(traffic(requests, () => 2))).toBeUndefined();
    });

    test('every request failing fires within two minutes and the publication delay at one request a minute: from the targets, or from the load balancer with no target', () => {
      expect(fires(traffic(1, (m) => (m >= 0 ? 1 : 0)))).toBeLessThanOrEqual(3);
      const noTarget: ServiceWorld = {
        requestsPerMinute: 1,
        behaviour: () => 'healthy',
        targets: (m) => (m >= 0 ? { blue: { healthy: 0, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } } : { blue: { healthy: 2, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } }),
        failedTasks: () => 0,
        canaryRuns: () => [],
      };
      expect(fires(noTarget)).toBeLessThanOrEqual(3);
    });

    test('at the floor of 3 a share above the threshold fires (3 of 59 is 5.08 %); 3 of 60 is exactly 5 %, not more than it', () => {
      expect(fires(traffic(59, (m) => (m >= 0 ? 3 : 0)))).toBeLessThanOrEqual(3);
      expect(fires(traffic(60, (m) => (m >= 0 ? 3 : 0)))).toBeUndefined();
    });

    test('at volume it is the rate: 10 % of 1000 requests a minute fires, 4 % does not', () => {
      expect(fires(traffic(1000, (m) => (m >= 0 ? 100 : 0)))).toBeLessThanOrEqual(3);
      expect(fires(traffic(1000, () => 40))).toBeUndefined();
    });
  });

  test('no alarm uses FILL: a late newest datapoint stays missing and CloudWatch evaluates the newest that exist', () => {
    for (const a of alarms()) for (const q of a.Properties.Metrics ?? []) expect(q.Expression ?? '').not.toMatch(/FILL\(/);
  });

  test('p99 latency is the share of responses of the whole load balancer slower than the objective, counted only from 3 slow responses a minute (review R14)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-api-LatencyP99',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(answered * (100 - fast) / 100 >= 2.5, 100 - fast, 0)', ReturnData: true }),
        Match.objectLike({ Id: 'answered', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'TargetResponseTime', Dimensions: [Match.objectLike({ Name: 'LoadBalancer' })] }), Period: 60, Stat: 'SampleCount' }) }),
        Match.objectLike({ Id: 'fast', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'TargetResponseTime' }), Period: 60, Stat: 'PR(:0.5)' }) }),
      ]),
    });
  });

  describe('the latency alarm at low and high traffic (the CloudWatch evaluation model, test/support)', () => {
    const latency = () => readAlarms('Test', template.toJSON().Resources).find((a) => a.name === 'BodyScript-Staging-api-LatencyP99')!;
    /** `requests` responses a minute, of which `slow(minute)` take 1.5 s and the rest 50 ms. */
    const world = (requests: number, slow: (minute: number) => number): ServiceWorld => ({
      requestsPerMinute: requests,
      behaviour: () => 'healthy',
      targets: () => ({ blue: { healthy: 3, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } }),
      failedTasks: () => 0,
      canaryRuns: () => [true],
      metrics: { 'AWS/ApplicationELB/TargetResponseTime': (m) => Array.from({ length: requests }, (_, i) => (i < slow(m) ? 1.5 : 0.05)) },
    });
    const fires = (w: ServiceWorld) => firstAlarm(simulate(latency(), w, { publicationDelayMinutes: 1, from: 0, to: 120 }));

    test.each([1, 2, 3, 10, 50, 99])('one slow (cold) request in every minute at %i requests a minute never fires: p99 would have been that request', (requests) => {
      expect(fires(world(requests, () => 1))).toBeUndefined();
      if (requests >= 2) expect(fires(world(requests, () => 2))).toBeUndefined();
    });

    test('a release that slows every request down fires within two minutes and the publication delay at the quietest traffic it accepts (3 canary requests a minute)', () => {
      expect(fires(world(3, (m) => (m >= 0 ? 3 : 0)))).toBeLessThanOrEqual(3);
      expect(fires(world(60, (m) => (m >= 0 ? 60 : 0)))).toBeLessThanOrEqual(3);
    });

    test('3 slow of 9 requests counts: the share times the count is 2.999… in floating point, and counts are whole', () => {
      expect((9 * (100 - (100 * 6) / 9)) / 100).toBeLessThan(3);
      expect(fires(world(9, (m) => (m >= 0 ? 3 : 0)))).toBeLessThanOrEqual(3);
    });

    test('at volume it is the p99: 2 % slow at 1000 requests a minute fires, 0.5 % does not', () => {
      expect(fires(world(1000, (m) => (m >= 0 ? 20 : 0)))).toBeLessThanOrEqual(3);
      expect(fires(world(1000, () => 5))).toBeUndefined();
    });
  });

  test('unhealthy targets of both colours are added up on their Minimum (what every load balancer node sees)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-api-UnhealthyHosts',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'unhealthy0 + unhealthy1' }),
        Match.objectLike({ Id: 'unhealthy1', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'UnHealthyHostCount' }), Stat: 'Minimum' }) }),
      ]),
    });
  });

  test('requests arriving while no target is healthy alarm, with the healthy count read as 0 when the target groups publish none', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-api-NoHealthyTargetForRequests',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF((requests + elb5xx) > 0 AND (healthy0 + healthy1 + 0 * (requests + elb5xx)) < 1, 1, 0)' })]),
    });
  });

  test('failed tasks in two of three minutes are a crash loop', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-api-TasksFailing',
      Namespace: 'AWS/Events',
      MetricName: 'Invocations',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Threshold: 1,
    });
  });

  test('the worker has no request-based alarm: only the canary calls its load balancer', () => {
    const names = alarms().map((a) => a.Properties.AlarmName).filter((n) => n?.startsWith('BodyScript-Staging-processing-'));
    expect(names.sort()).toEqual(
      ['JobFailureRate', 'NoHealthyTargetForRequests', 'QueueStalled', 'TasksFailing', 'UnhealthyHosts'].map((s) => `BodyScript-Staging-processing-${s}`).sort(),
    );
    expect(processing.serverErrorRate).toBeUndefined();
    expect(processing.latency).toBeUndefined();
  });

  test('job failures count in 10-minute periods, two of three, at least half of the ended jobs failed', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-processing-JobFailureRate',
      Threshold: 50,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: '100 * failures / (failures + processed)' }),
        Match.objectLike({ Id: 'failures', MetricStat: Match.objectLike({ Period: 600, Stat: 'Sum', Metric: Match.objectLike({ MetricName: 'ProcessingFailures' }) }) }),
      ]),
    });
  });

  test('a stalled queue (uploads wait, workers run, no job finishes for 45 minutes) pages but is too slow for a deployment', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-processing-QueueStalled',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(waiting >= 1 AND deleted < 1 AND tasks >= 1, 1, 0)' })]),
    });
    expect(processing.alarms).not.toContain(processing.queueStalled);
    expect(processing.pageOnlyAlarms.map((a) => a.alarm)).toContain(processing.queueStalled);
  });

  test('the deployment watches what detects within its window; the composite includes everything', () => {
    expect(api.alarms).toEqual([api.serverErrorRate, api.latency, api.unhealthyHosts, api.noHealthyTargets, api.tasksFailing, expect.anything()]);
    expect(processing.alarms).toEqual([processing.unhealthyHosts, processing.noHealthyTargets, processing.tasksFailing, processing.jobFailureRate, expect.anything()]);
    expect(api.worstCaseDetectionTime.toSeconds()).toBe(180);
    expect(processing.worstCaseDetectionTime.toMinutes()).toBe(30);
    const rule = JSON.stringify(template.findResources('AWS::CloudWatch::CompositeAlarm', { Properties: { AlarmName: 'BodyScript-Staging-processing-Rollback' } }));
    for (const id of ['ProcessingQueueStalled', 'ProcessingJobFailureRate', 'ProcessingTasksFailing', 'CanaryAlarm']) expect(rule).toMatch(new RegExp(`ALARM.*${id}`));
  });

  test('a worker whose least traffic cannot show two failed jobs within the window keeps the job alarm out of the deployment', () => {
    const f = fixtures();
    const slow = new RollbackAlarms(f.stack, 'Quiet', {
      alarmNamePrefix: 'BodyScript-Staging-processing-',
      loadBalancer: f.loadBalancer,
      targetGroups: [f.blue],
      traffic: 'health-checks',
      worker: { ...f.worker, minimumJobsPerHour: 2 },
    });
    expect(slow.alarms).not.toContain(slow.jobFailureRate);
    const shortWatch = new RollbackAlarms(f.stack, 'Short', {
      alarmNamePrefix: 'BodyScript-Staging-processing-',
      loadBalancer: f.loadBalancer,
      targetGroups: [f.blue],
      traffic: 'health-checks',
      worker: f.worker,
      deploymentWatch: Duration.minutes(5),
    });
    expect(shortWatch.alarms).not.toContain(shortWatch.jobFailureRate);
    expect(shortWatch.pageOnlyAlarms.map((a) => a.alarm)).toContain(shortWatch.jobFailureRate);
  });

  test('every alarm states what missing data means for it, matching its TreatMissingData', () => {
    for (const a of alarms().filter((x) => x.Properties.AlarmName?.startsWith('BodyScript-'))) {
      expect(statedMissingData(a.Properties.AlarmDescription)?.treatment).toBe(a.Properties.TreatMissingData);
      expect(a.Properties.AlarmDescription).toMatch(/^[A-Z].*\. Runbook: runbooks\/rollback\.md$/s);
    }
  });

  test('one composite alarm per service tells the topic', () => {
    const [resource] = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm', { Properties: { AlarmName: 'BodyScript-Staging-api-Rollback' } }));
    expect(resource.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Topic/) }]);
    expect(resource.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(/^Topic/) }]);
    expect(alarm('BodyScript-Staging-api-5xxRate')).toBeDefined();
  });

  describe('fails when', () => {
    const props = (f: ReturnType<typeof fixtures>, overrides: Partial<RollbackAlarmsProps>): RollbackAlarmsProps => ({
      alarmNamePrefix: 'BodyScript-Staging-api-',
      loadBalancer: f.loadBalancer,
      targetGroups: [f.blue, f.green],
      quietestRequestsPerMinute: 3,
      ...overrides,
    });

    test('a canary alarm is too slow for a user-facing failure', () => {
      const f = fixtures();
      const slowCanary = new cloudwatch.Alarm(f.stack, 'SlowCanary', { metric: new cloudwatch.Metric({ namespace: 'X', metricName: 'Y', period: Duration.minutes(1) }), threshold: 1, evaluationPeriods: 5 });
      expect(() => new RollbackAlarms(f.stack, 'R', props(f, { canaryAlarms: [slowCanary] }))).toThrow(/within 120 s .*got 300 s for Test\/SlowCanary/);
    });

    test('CodeDeploy would have to watch more than 10 alarms', () => {
      const f = fixtures();
      const many = Array.from({ length: 7 }, () => f.canaryAlarm);
      expect(() => new RollbackAlarms(f.stack, 'R', props(f, { canaryAlarms: many, failedTasks: f.failedTasks }))).toThrow(/at most 10 alarms per deployment group, got 12/);
    });

    test('the job-failure window is not shorter than the visibility timeout', () => {
      const f = fixtures();
      expect(() => new RollbackAlarms(f.stack, 'R', props(f, { traffic: 'health-checks', worker: { ...f.worker, visibilityTimeout: Duration.minutes(30) } }))).toThrow(
        /worker.visibilityTimeout \(30 min\) must be longer than the job-failure window \(30 min\)/,
      );
    });

    test.each<[string, Partial<RollbackAlarmsProps>, RegExp]>([
      ['no target group is given', { targetGroups: [] }, /targetGroups must list the blue and green target groups \(1–2\), got 0/],
      ['the 5xx rate is not a percentage', { max5xxRatePercent: 150 }, /max5xxRatePercent must be more than 0 and at most 100 \(percent\), got 150/],
      ['the latency budget is zero', { maxP99Latency: Duration.millis(0) }, /maxP99Latency must be more than 0/],
      ['a 5xx rate is asked of a load balancer that only serves health checks', { traffic: 'health-checks', max5xxRatePercent: 5 }, /apply to 'users' traffic only/],
      ['users traffic states no quietest request rate', { quietestRequestsPerMinute: undefined }, /quietestRequestsPerMinute must be at least 3 .*got undefined/],
      [
        'the canary sends fewer requests a minute than a slow minute needs (one a minute: a slow release would never roll back)',
        { quietestRequestsPerMinute: 1 },
        /quietestRequestsPerMinute must be at least 3 \(the health-check canary's requests a minute, HealthCheckCanary.requestsPerRun\), got 1/,
      ],
    ])('%s', (_name, overrides, error) => {
      const f = fixtures();
      expect(() => new RollbackAlarms(f.stack, 'R', props(f, overrides))).toThrow(error);
    });
  });

  test('detectionTimeSeconds reads period × evaluation periods, and nothing of an imported alarm', () => {
    expect(detectionTimeSeconds(api.serverErrorRate!)).toBe(120);
    expect(detectionTimeSeconds(processing.jobFailureRate!)).toBe(1800);
    const f = fixtures();
    expect(detectionTimeSeconds(cloudwatch.Alarm.fromAlarmName(f.stack, 'Imported', 'x'))).toBeUndefined();
    expect(CODEDEPLOY_MAX_ALARMS).toBe(10);
  });
});
