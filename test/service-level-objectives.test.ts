import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as synthetics from 'aws-cdk-lib/aws-synthetics';
import { ServiceLevelObjectives, type ServiceLevelObjectivesProps } from '../constructs/service-level-objectives';
import { statedMissingData } from '../lib/alarm-description';
import type { ServiceLevelObjectivesConfig } from '../lib/config';
import { BURN_RATE_ALERTS, budgetConsumedAtFiring, SLO_KINDS } from '../lib/service-level-objectives';
import { testApp } from './support/synthesize';

const OBJECTIVES: ServiceLevelObjectivesConfig = {
  windowDays: 28,
  minimumBadEvents: 3,
  apiAvailability: { goal: 0.999 },
  apiLatency: { goal: 0.99, thresholdMilliseconds: 500 },
  processingFreshness: { goal: 0.99, readyWithinMinutes: 120 },
  webAppCanary: { goal: 0.999 },
};

// Template JSON, read loosely.
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Resource = { Type: string; Properties: Record<string, Json>; DependsOn?: string[] };

function setup(overrides: Partial<ServiceLevelObjectivesProps> = {}, objectives: Partial<ServiceLevelObjectivesConfig> = {}) {
  const stack = new Stack(testApp(), 'Slo', { env: { account: '111111111111', region: 'us-east-1' } });
  const loadBalancer = elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Alb', {
    loadBalancerArn: 'arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/bodyscript-production-api/0123456789abcdef',
    securityGroupId: 'sg-0123456789abcdef0',
  });
  const canary = new synthetics.Canary(stack, 'WebApp', {
    canaryName: 'bs-prod-frontend',
    runtime: synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_13_0,
    test: synthetics.Test.custom({ code: synthetics.Code.fromInline('exports.handler = async () => {};'), handler: 'index.handler' }),
  });
  const slo = new ServiceLevelObjectives(stack, 'Slo', {
    environment: 'production',
    objectives: { ...OBJECTIVES, ...objectives },
    apiLoadBalancer: loadBalancer,
    webAppCanary: canary,
    critical: new sns.Topic(stack, 'Critical'),
    warning: new sns.Topic(stack, 'Warning'),
    ...overrides,
  });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  return { stack, slo, template, resources, ofType };
}

const sloByName = (ofType: ReturnType<typeof setup>['ofType'], name: string) => ofType('AWS::ApplicationSignals::ServiceLevelObjective').find(([, r]) => r.Properties.Name === name)![1].Properties;
const queries = (list: Json[]) => ({
  returned: list.filter((q) => q.ReturnData),
  stats: Object.fromEntries(list.filter((q) => q.MetricStat).map((q) => [q.Id, `${q.MetricStat.Metric.Namespace} ${q.MetricStat.Metric.MetricName} ${q.MetricStat.Stat}`])),
});

describe('ServiceLevelObjectives', () => {
  test('creates one request-based SLO per objective, named after the environment, over a rolling window, with a burn rate for every alert window', () => {
    const { ofType } = setup();
    const slos = ofType('AWS::ApplicationSignals::ServiceLevelObjective').map(([, r]) => r.Properties);
    expect(slos.map((p) => [p.Name, p.Goal.AttainmentGoal])).toEqual([
      ['bodyscript-production-api-availability', 99.9],
      ['bodyscript-production-api-latency', 99],
      ['bodyscript-production-processing-freshness', 99],
      ['bodyscript-production-web-app-canary', 99.9],
    ]);
    for (const p of slos) {
      // Period-based (Sli) and request-based (RequestBasedSli) cannot be swapped by an update: one kind only.
      expect(p.Sli).toBeUndefined();
      expect(p.Goal.Interval).toEqual({ RollingInterval: { Duration: 28, DurationUnit: 'DAY' } });
      expect(p.BurnRateConfigurations).toEqual([5, 30, 60, 360, 4320].map((LookBackWindowMinutes) => ({ LookBackWindowMinutes })));
      const total = queries(p.RequestBasedSli.RequestBasedSliMetric.TotalRequestCountMetric);
      const bad = queries(p.RequestBasedSli.RequestBasedSliMetric.MonitoredRequestCountMetric.BadCountMetric);
      expect(total.returned).toHaveLength(1);
      expect(bad.returned).toHaveLength(1);
      expect(p.RequestBasedSli.RequestBasedSliMetric.MonitoredRequestCountMetric.GoodCountMetric).toBeUndefined();
    }
  });

  test('api availability counts the load balancer’s own 5xx as requests and as failures (RequestCount misses the requests that found no target)', () => {
    const { ofType } = setup();
    const sli = sloByName(ofType, 'bodyscript-production-api-availability').RequestBasedSli.RequestBasedSliMetric;
    const total = queries(sli.TotalRequestCountMetric);
    const bad = queries(sli.MonitoredRequestCountMetric.BadCountMetric);
    expect(total.returned[0].Expression).toBe('requests + elb5xx');
    expect(total.stats).toEqual({ requests: 'AWS/ApplicationELB RequestCount Sum', elb5xx: 'AWS/ApplicationELB HTTPCode_ELB_5XX_Count Sum' });
    expect(bad.returned[0].Expression).toBe('target5xx + elb5xx');
    expect(bad.stats).toEqual({ target5xx: 'AWS/ApplicationELB HTTPCode_Target_5XX_Count Sum', elb5xx: 'AWS/ApplicationELB HTTPCode_ELB_5XX_Count Sum' });
    expect(JSON.stringify(sli)).toContain('app/bodyscript-production-api/0123456789abcdef');
  });

  test('api latency counts the requests above the threshold with a trimmed count of TargetResponseTime, in seconds', () => {
    const { ofType } = setup({}, { apiLatency: { goal: 0.99, thresholdMilliseconds: 250 } });
    const sli = sloByName(ofType, 'bodyscript-production-api-latency').RequestBasedSli.RequestBasedSliMetric;
    expect(queries(sli.TotalRequestCountMetric).stats).toEqual({ m1: 'AWS/ApplicationELB TargetResponseTime SampleCount' });
    expect(queries(sli.MonitoredRequestCountMetric.BadCountMetric).stats).toEqual({ m1: 'AWS/ApplicationELB TargetResponseTime TC(0.25:)' });
  });

  test('processing freshness counts the videos ready later than stated, from the worker’s VideoReadySeconds', () => {
    const { ofType } = setup();
    const sli = sloByName(ofType, 'bodyscript-production-processing-freshness').RequestBasedSli.RequestBasedSliMetric;
    expect(queries(sli.TotalRequestCountMetric).stats).toEqual({ m1: 'BodyScript/Processing VideoReadySeconds SampleCount' });
    expect(queries(sli.MonitoredRequestCountMetric.BadCountMetric).stats).toEqual({ m1: 'BodyScript/Processing VideoReadySeconds TC(7200:)' });
    expect(sli.TotalRequestCountMetric[0].MetricStat.Metric.Dimensions).toEqual([{ Name: 'Environment', Value: 'production' }]);
  });

  test('the web app canary counts failed runs as runs − passed / 100 (each run is 0 or 100)', () => {
    const { ofType } = setup();
    const sli = sloByName(ofType, 'bodyscript-production-web-app-canary').RequestBasedSli.RequestBasedSliMetric;
    expect(queries(sli.TotalRequestCountMetric).stats).toEqual({ m1: 'CloudWatchSynthetics SuccessPercent SampleCount' });
    const bad = queries(sli.MonitoredRequestCountMetric.BadCountMetric);
    expect(bad.returned[0].Expression).toBe('runs - passed / 100');
    expect(bad.stats).toEqual({ runs: 'CloudWatchSynthetics SuccessPercent SampleCount', passed: 'CloudWatchSynthetics SuccessPercent Sum' });
  });

  describe('burn-rate alerts', () => {
    test('three composites per SLO, each requiring its long window, its short window and the minimum of failures; pages to critical, the ticket to warning', () => {
      const { ofType, resources } = setup();
      const composites = ofType('AWS::CloudWatch::CompositeAlarm');
      expect(composites).toHaveLength(SLO_KINDS.length * BURN_RATE_ALERTS.length);
      for (const [, c] of composites) {
        const name: string = c.Properties.AlarmName;
        const alert = BURN_RATE_ALERTS.find((a) => name.endsWith(`-${a.id}`))!;
        const members = [...JSON.stringify(c.Properties.AlarmRule).matchAll(/"Fn::GetAtt":\["(\w+)","Arn"\]/g)].map((m) => m[1]);
        expect(members).toHaveLength(3);
        expect(JSON.stringify(c.Properties.AlarmRule).match(/ AND /g)).toHaveLength(2);
        expect(JSON.stringify(c.Properties.AlarmRule)).not.toContain(' OR ');
        const memberProps = members.map((id) => resources[id].Properties);
        const windows = memberProps.filter((p) => p.MetricName === 'BurnRate').map((p) => Number(p.Dimensions.find((d: Json) => d.Name === 'BurnRateWindowMinutes').Value));
        expect(windows.sort((a, b) => a - b)).toEqual([alert.shortWindowMinutes, alert.longWindowMinutes]);
        for (const p of memberProps.filter((x) => x.MetricName === 'BurnRate')) expect([p.Threshold, p.ComparisonOperator, p.Statistic, p.Period]).toEqual([alert.factor, 'GreaterThanOrEqualToThreshold', 'Maximum', 60]);
        const failures = memberProps.find((p) => p.MetricName !== 'BurnRate')!;
        expect([failures.Threshold, failures.ComparisonOperator, failures.EvaluationPeriods]).toEqual([3, 'GreaterThanOrEqualToThreshold', 1]);
        const period = failures.Period ?? failures.Metrics.find((q: Json) => q.MetricStat).MetricStat.Period;
        expect(period).toBe(alert.shortWindowMinutes * 60);
        const topic = alert.severity === 'page' ? 'Critical' : 'Warning';
        expect(c.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(new RegExp(`^${topic}`)) }]);
        expect(c.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(new RegExp(`^${topic}`)) }]);
      }
    });

    test('the alarms as synthesized spend the workbook’s budget when they fire (2 %, 5 %, 10 % of 30 days; × 30/28 for 28)', () => {
      const { ofType } = setup();
      const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties).filter((p) => p.MetricName === 'BurnRate' && /Long/.test(p.AlarmName));
      const consumed = Object.fromEntries(
        alarms.map((p) => {
          const window = Number(p.Dimensions.find((d: Json) => d.Name === 'BurnRateWindowMinutes').Value);
          return [p.AlarmName.replace(/^BodyScript-Production-SLO-/, ''), Number(((p.Threshold * window) / (28 * 24 * 60)).toFixed(4))];
        }),
      );
      for (const kind of ['ApiAvailability', 'ApiLatency', 'ProcessingFreshness', 'WebAppCanary']) {
        expect([consumed[`${kind}-FastBurn-Long1h`], consumed[`${kind}-SlowBurn-Long6h`], consumed[`${kind}-SteadyBurn-Long3d`]]).toEqual([0.0214, 0.0536, 0.1071]);
      }
    });

    test('each description says what fired, how much budget it took, what to do and which runbook', () => {
      const { ofType } = setup();
      const byName = Object.fromEntries(ofType('AWS::CloudWatch::CompositeAlarm').map(([, r]) => [r.Properties.AlarmName, r.Properties.AlarmDescription as string]));
      const fast = byName['BodyScript-Production-SLO-ApiAvailability-FastBurn'];
      expect(fast).toMatch(/^PAGE: the production api availability SLO is burning its error budget at 14\.4× or faster over both 1h and 5m, with at least 3 requests answered with a 5xx/);
      expect(fast).toContain(`at least ${(budgetConsumedAtFiring(BURN_RATE_ALERTS[0], 28) * 100).toFixed(1)}% of the 28-day budget`);
      expect(fast).toMatch(/npm run ops -- slo --env production and the dashboard show what is left \(SLO bodyscript-production-api-availability\)/);
      expect(fast).toMatch(/Runbook: runbooks\/slo\.md$/);
      expect(byName['BodyScript-Production-SLO-ProcessingFreshness-SteadyBurn']).toMatch(/^TICKET: .*3d and 6h.*10\.7% of the 28-day budget \(1% of videos\)/);
    });

    test('every metric alarm states that missing data is no burn, and notifies nobody (the composite does)', () => {
      const { ofType } = setup();
      const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
      expect(alarms).toHaveLength(SLO_KINDS.length * BURN_RATE_ALERTS.length * 3);
      for (const p of alarms) {
        expect(p.TreatMissingData).toBe('notBreaching');
        expect(statedMissingData(p.AlarmDescription)?.treatment).toBe('notBreaching');
        expect(p.AlarmActions).toBeUndefined();
      }
    });

    test('the burn-rate alarms wait for their SLO (the SloName dimension)', () => {
      const { ofType, resources } = setup();
      for (const [, alarm] of ofType('AWS::CloudWatch::Alarm').filter(([, r]) => r.Properties.MetricName === 'BurnRate')) {
        const slo = alarm.Properties.Dimensions.find((d: Json) => d.Name === 'SloName').Value;
        expect((alarm.DependsOn ?? []).map((id) => resources[id].Properties.Name)).toContain(slo);
      }
    });

    test('the minimum of failures comes from the config', () => {
      const { template } = setup({}, { minimumBadEvents: 7 });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'BodyScript-Production-SLO-ApiLatency-FastBurn-Failures5m', ExtendedStatistic: 'TC(0.5:)', Period: 300, Threshold: 7 });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'BodyScript-Production-SLO-WebAppCanary-SteadyBurn-Failures6h',
        Metrics: Match.arrayWith([Match.objectLike({ Expression: 'runs - passed / 100' })]),
        Threshold: 7,
      });
    });
  });

  test('gives the dashboard a section per SLO: attainment against the goal, budget left, and every burn-rate window', () => {
    const { slo, stack } = setup();
    const graphs = slo.widgets.filter((w): w is cloudwatch.GraphWidget => w instanceof cloudwatch.GraphWidget);
    expect(graphs).toHaveLength(SLO_KINDS.length * 3);
    const json = JSON.stringify(stack.resolve(graphs.map((g) => g.toJson())));
    expect(json).toContain('100 * (attainment - 99.9) / (100 - 99.9)');
    expect(json).toContain('"AttainmentRate","SloName","bodyscript-production-web-app-canary"');
    for (const w of [5, 30, 60, 360, 4320]) expect(json).toContain(`"BurnRate","BurnRateWindowMinutes","${w}","SloName","bodyscript-production-api-latency"`);
  });

  test('fails on a goal outside (0, 1) and on a window no longer than the ticket’s 3 days', () => {
    expect(() => setup({}, { apiAvailability: { goal: 99.9 } })).toThrow(/objectives\.apiAvailability\.goal must be a fraction strictly between 0 and 1, got 99\.9/);
    expect(() => setup({}, { windowDays: 3 })).toThrow(/objectives\.windowDays must be longer than the longest burn-rate window \(3 days\), got 3/);
  });

  test('fails on fewer minimum failures than the low-traffic rule of every alarm on user traffic (3): one failed canary request at night would page', () => {
    expect(() => setup({}, { minimumBadEvents: 2 })).toThrow(/objectives\.minimumBadEvents must be at least 3 \(the low-traffic rule, lib\/low-traffic\.ts: .*\), got 2/);
    expect(() => setup({}, { minimumBadEvents: 3 })).not.toThrow();
  });
});
