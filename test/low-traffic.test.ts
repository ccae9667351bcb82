import { loadConfig } from '../lib/config';
import { ENVIRONMENT_NAMES } from '../lib/config/schema';
import { BAD_REQUEST_FLOOR_RULE, badRequestsAtLeast, LOW_TRAFFIC_RULE, lowTrafficCondition, lowTrafficConditionOnCount, MIN_BAD_REQUESTS_PER_MINUTE } from '../lib/low-traffic';
import { firstAlarm, readAlarms, type ServiceWorld, simulate, type TemplateAlarm, trafficWorld } from './support/alarm-simulation';
import { stacks, templateJson } from './support/assembly';
import { evaluateExpression, type Series } from './support/cloudwatch-model';

/**
 * The low-traffic rule (lib/low-traffic.ts): its conditions on CloudWatch's
 * documented metric math (test/support/cloudwatch-model.ts), and every rate
 * or percentile alarm on user traffic of every synthesized template held to
 * it, so that the next one added is checked too.
 */

/** A one-minute condition evaluated as CloudWatch would: 1 counts, 0 does not. */
const holds = (expression: string, values: Record<string, number>) => {
  const series: Record<string, Series> = Object.fromEntries(Object.entries(values).map(([id, v]) => [id, new Map([[0, v]])]));
  return (evaluateExpression(expression, { series, range: [0] }) as Series).get(0);
};
/** How a service may compute the share it publishes (none documents it): every order of the arithmetic, and a rounded share. */
const SHARES: [string, (bad: number, requests: number) => number][] = [
  ['bad / requests × 100', (bad, requests) => (bad / requests) * 100],
  ['100 × bad / requests', (bad, requests) => (100 * bad) / requests],
  ['100 − 100 × good / requests', (bad, requests) => 100 - (100 * (requests - bad)) / requests],
  ['rounded to two decimals', (bad, requests) => Math.round((bad / requests) * 10000) / 100],
];
const REQUESTS = Array.from({ length: 998 }, (_, i) => i + 3);

describe('the conditions of the rule', () => {
  test.each(SHARES)('from a share published as %s: 3 bad requests of any number count, 2 never, nothing but bad ones always', (_form, share) => {
    const condition = lowTrafficCondition('requests', 'rate');
    const floor = badRequestsAtLeast('requests', 'rate');
    const at = (bad: number, requests: number) => ({ requests, rate: share(bad, requests) });
    expect(REQUESTS.filter((n) => holds(condition, at(3, n)) !== 1 || holds(floor, at(3, n)) !== 1)).toEqual([]);
    expect(REQUESTS.filter((n) => holds(condition, at(2, n)) !== 0 || holds(floor, at(2, n)) !== 0)).toEqual([]);
    expect([holds(condition, at(1, 1)), holds(condition, at(2, 2)), holds(condition, at(1, 2))]).toEqual([1, 1, 0]);
  });

  test('the share rebuilt into a count is not exact in floating point (3 of 9 is 2.999…), which the half request of slack absorbs', () => {
    expect((9 * ((3 / 9) * 100)) / 100).toBeLessThan(3);
    expect(lowTrafficCondition('requests', 'rate')).toBe(`(rate >= 100 || requests * rate / 100 >= ${MIN_BAD_REQUESTS_PER_MINUTE - 0.5})`);
  });

  test('from the count itself: at least 3 bad requests, or a share of 100 %', () => {
    const condition = lowTrafficConditionOnCount('bad', 'rate');
    const at = (bad: number, requests: number) => ({ bad, rate: (100 * bad) / requests });
    expect(REQUESTS.filter((n) => holds(condition, at(3, n)) !== 1 || holds(condition, at(2, n)) !== 0)).toEqual([]);
    expect([holds(condition, at(1, 1)), holds(condition, at(2, 2)), holds(condition, at(1, 2))]).toEqual([1, 1, 0]);
  });
});

/** Metrics of user requests: an alarm reading one of them is a rate or percentile alarm on user traffic, unless exempt below. */
const USER_TRAFFIC: Record<string, readonly string[]> = {
  'AWS/ApplicationELB': ['RequestCount', 'HTTPCode_Target_5XX_Count', 'HTTPCode_ELB_5XX_Count', 'TargetResponseTime'],
  'AWS/CloudFront': ['Requests', '5xxErrorRate', '4xxErrorRate'],
};
/** Alarms on user traffic that are no rate or percentile, and why the rule does not apply to them. */
const NOT_A_SHARE: [RegExp, string][] = [
  [/-NoHealthyTargetForRequests$/, 'fires only while no target is healthy: every request of those minutes failed'],
  // SLO alarms are the inputs of the burn-rate composites, checked below.
  [/-SLO-/, 'an input of an SLO burn-rate composite, which applies the rule to its short window'],
];

const ALARM_PERIOD_MINUTES = 1;

describe.each(ENVIRONMENT_NAMES)('every rate and percentile alarm on user traffic of %s follows the rule', (env) => {
  const title = env.charAt(0).toUpperCase() + env.slice(1);
  const templates = () =>
    stacks()
      .filter((s) => s.displayName === `BodyScript-${title}` || s.displayName.startsWith(`BodyScript-${title}-`))
      .map((s) => ({ name: s.displayName, resources: templateJson(s.id).Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }> }));
  const onUserTraffic = (alarm: TemplateAlarm) => alarm.queries.some((q) => q.metric && USER_TRAFFIC[q.metric.namespace]?.includes(q.metric.metricName));
  const ruled = () =>
    templates()
      .flatMap((t) => readAlarms(t.name, t.resources).map((alarm) => ({ alarm, description: String(t.resources[alarm.logicalId].Properties?.AlarmDescription ?? '') })))
      .filter(({ alarm }) => onUserTraffic(alarm) && !NOT_A_SHARE.some(([name]) => name.test(alarm.name)));
  const fires = (alarm: TemplateAlarm, requests: number, bad: (minute: number) => number) =>
    firstAlarm(simulate(alarm, trafficWorld({ requests: () => requests, bad }), { publicationDelayMinutes: 1, from: 0, to: 360 }));
  /** Evaluation periods plus the minute of publication delay. */
  const bound = (alarm: TemplateAlarm) => (alarm.period / 60) * alarm.rule.evaluationPeriods + 1;

  test('they are the api, edge and standby 5xx rates, the api latency and the game day alarm on the api 5xx rate', () => {
    const names = ruled().map(({ alarm }) => alarm.name.replace(`BodyScript-${title}-`, ''));
    expect(names).toEqual(expect.arrayContaining(['api-5xxRate', 'api-LatencyP99', 'Edge-5xxRate', 'Standby-api-5xxRate']));
    if (env === 'production') expect(names).toContain('GameDay-DatabaseFailover-ErrorsBeyondFailover');
    for (const { alarm } of ruled()) expect({ alarm: alarm.name, period: alarm.period }).toEqual({ alarm: alarm.name, period: ALARM_PERIOD_MINUTES * 60 });
  });

  test('each states the rule in its description: a minute with nothing but bad requests counts, or (where the canary sends enough requests) only the floor', () => {
    const problems = ruled()
      .filter(({ description }) => !description.includes(LOW_TRAFFIC_RULE) && !description.includes(BAD_REQUEST_FLOOR_RULE))
      .map(({ alarm }) => `${alarm.stack}/${alarm.name}: its description states neither LOW_TRAFFIC_RULE nor BAD_REQUEST_FLOOR_RULE`);
    expect(problems).toEqual([]);
  });

  test('none fires on one or two bad requests a minute among a few, however long it lasts', () => {
    const problems: string[] = [];
    for (const { alarm } of ruled()) {
      for (const requests of [2, 3, 4, 6, 10, 30]) {
        for (const bad of [1, 2].filter((b) => b < requests)) {
          const minute = fires(alarm, requests, () => bad);
          if (minute !== undefined) problems.push(`${alarm.stack}/${alarm.name}: ${bad} bad of ${requests} requests a minute fired at minute ${minute}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('each fires when every request fails: at one request a minute, or at the floor of 3 where its description says the canary sends that many', () => {
    const problems: string[] = [];
    for (const { alarm, description } of ruled()) {
      const quietest = description.includes(BAD_REQUEST_FLOOR_RULE) ? MIN_BAD_REQUESTS_PER_MINUTE : 1;
      const minute = fires(alarm, quietest, (m) => (m >= 0 ? quietest : 0));
      if (minute === undefined || minute > bound(alarm)) problems.push(`${alarm.stack}/${alarm.name}: every one of ${quietest} requests a minute failing fired at ${minute}, not within ${bound(alarm)} minutes`);
    }
    expect(problems).toEqual([]);
  });

  test('each 5xx rate of a load balancer fires through a total outage at one request a minute: no registered target, every request a 503 of the load balancer and no RequestCount (review W2)', () => {
    const loadBalancer5xx = ruled().filter(({ alarm }) => alarm.queries.some((q) => q.metric?.metricName === 'HTTPCode_ELB_5XX_Count'));
    expect(loadBalancer5xx.map(({ alarm }) => alarm.name.replace(`BodyScript-${title}-`, ''))).toEqual(expect.arrayContaining(['api-5xxRate', 'Standby-api-5xxRate']));
    const registered = { blue: { healthy: 2, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } };
    const none = { blue: { healthy: 0, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } };
    const outage: ServiceWorld = { requestsPerMinute: 1, behaviour: () => 'healthy', targets: (m) => (m >= 0 ? none : registered), failedTasks: () => 0, canaryRuns: () => [] };
    const problems: string[] = [];
    for (const { alarm } of loadBalancer5xx) {
      const minute = firstAlarm(simulate(alarm, outage, { publicationDelayMinutes: 1, from: 0, to: 360 }));
      if (minute === undefined || minute > bound(alarm)) problems.push(`${alarm.stack}/${alarm.name}: a total outage at one request a minute fired at ${minute}, not within ${bound(alarm)} minutes`);
    }
    expect(problems).toEqual([]);
  });

  test('at the floor, 3 bad requests count as soon as their share is above the threshold; at volume the rule changes nothing', () => {
    const problems: string[] = [];
    for (const { alarm } of ruled()) {
      // The most requests among which 3 bad ones are still more than the threshold's share.
      const atFloor = Math.ceil((100 * MIN_BAD_REQUESTS_PER_MINUTE) / alarm.rule.threshold) - 1;
      const volume = 1000;
      const cases: [number, number][] = [
        [atFloor, MIN_BAD_REQUESTS_PER_MINUTE],
        [volume, Math.ceil((2 * alarm.rule.threshold * volume) / 100)],
      ];
      for (const [requests, bad] of cases) {
        const minute = fires(alarm, requests, (m) => (m >= 0 ? bad : 0));
        if (minute === undefined || minute > bound(alarm)) problems.push(`${alarm.stack}/${alarm.name}: ${bad} bad of ${requests} requests a minute fired at ${minute}, not within ${bound(alarm)} minutes`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('every SLO burn-rate alert also needs at least 3 failed events in its short window, and the config asks for at least 3', () => {
    expect(loadConfig({}).environments[env].serviceLevelObjectives.minimumBadEvents).toBeGreaterThanOrEqual(MIN_BAD_REQUESTS_PER_MINUTE);
    const problems: string[] = [];
    let alerts = 0;
    for (const t of templates()) {
      const alarms = readAlarms(t.name, t.resources);
      const burnRate = (a: TemplateAlarm) => a.queries.some((q) => q.metric?.namespace === 'AWS/ApplicationSignals' && q.metric.metricName === 'BurnRate');
      for (const [id, composite] of Object.entries(t.resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::CompositeAlarm')) {
        const rule = JSON.stringify(composite.Properties?.AlarmRule);
        const inputs = alarms.filter((a) => new RegExp(`"${a.logicalId}"`).test(rule));
        if (!inputs.some(burnRate)) continue;
        alerts++;
        const floors = inputs.filter((a) => !burnRate(a) && a.rule.comparisonOperator === 'GreaterThanOrEqualToThreshold' && a.rule.threshold >= MIN_BAD_REQUESTS_PER_MINUTE);
        if (/ OR /.test(rule) || floors.length !== 1) problems.push(`${t.name}/${id}: its burn rates are not ANDed with one alarm on at least ${MIN_BAD_REQUESTS_PER_MINUTE} failed events`);
      }
    }
    expect(alerts).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });
});
