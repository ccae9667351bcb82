import { type AlarmRule, type AlarmState, type ComparisonOperator, evaluateAlarm, evaluateExpression, evaluationRange, type Series, statistic, type TreatMissingData } from './cloudwatch-model';

/**
 * Runs alarms read from synthesized templates against metrics simulated the
 * way AWS publishes them, minute by minute, so that a test can say whether an
 * alarm fires when a release breaks at the service's real traffic.
 *
 * What AWS publishes, from its documentation:
 * - Application Load Balancers report metrics only while requests flow and
 *   exclude health checks; the HTTPCode_* counts only when nonzero;
 *   RequestCount counts only requests for which a target was chosen, so the
 *   503s of a target group without targets are in HTTPCode_ELB_5XX_Count only;
 *   TargetResponseTime exists only for requests a target answered;
 *   HealthyHostCount and UnHealthyHostCount exist only while targets are
 *   registered (load-balancer-cloudwatch-metrics).
 * - EventBridge publishes Invocations of a rule only when nonzero.
 * - A Synthetics canary publishes one SuccessPercent datapoint per run.
 * - The worker publishes one datapoint per job when it ends (runbooks/metrics.md).
 */

/** One query of an alarm, as the template states it. */
export interface AlarmQuery {
  readonly id: string;
  readonly expression?: string;
  readonly metric?: { readonly namespace: string; readonly metricName: string; readonly dimensions: Record<string, string>; readonly stat: string; readonly period: number };
  readonly returnData: boolean;
}

/** An alarm of a template. */
export interface TemplateAlarm {
  readonly stack: string;
  readonly logicalId: string;
  readonly name: string;
  readonly rule: AlarmRule;
  /** Seconds per datapoint. */
  readonly period: number;
  readonly queries: AlarmQuery[];
}

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** Dimension values are kept as the JSON of their CloudFormation value (references stay readable: `ApiBlueTargetGroup…`). */
const dimensionValue = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/** Every metric alarm of a template, with its queries. */
export function readAlarms(stack: string, resources: Record<string, Resource>): TemplateAlarm[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
    .map(([logicalId, r]) => {
      const p = r.Properties ?? {};
      const dims = (list: unknown) => Object.fromEntries(((list as { Name: string; Value: unknown }[] | undefined) ?? []).map((d) => [d.Name, dimensionValue(d.Value)]));
      let queries: AlarmQuery[];
      let period: number;
      if (Array.isArray(p.Metrics)) {
        queries = (p.Metrics as Record<string, unknown>[]).map((q) => {
          const stat = q.MetricStat as { Metric: { Namespace: string; MetricName: string; Dimensions?: unknown }; Stat: string; Period: number } | undefined;
          return {
            id: q.Id as string,
            expression: q.Expression as string | undefined,
            metric: stat && { namespace: stat.Metric.Namespace, metricName: stat.Metric.MetricName, dimensions: dims(stat.Metric.Dimensions), stat: stat.Stat, period: stat.Period },
            returnData: q.ReturnData !== false,
          };
        });
        period = Math.max(...queries.map((q) => q.metric?.period ?? 0), ...((p.Metrics as { Period?: number }[]).map((q) => q.Period ?? 0)));
      } else {
        period = p.Period as number;
        queries = [
          {
            id: 'm',
            metric: { namespace: p.Namespace as string, metricName: p.MetricName as string, dimensions: dims(p.Dimensions), stat: (p.ExtendedStatistic ?? p.Statistic) as string, period },
            returnData: true,
          },
        ];
      }
      return {
        stack,
        logicalId,
        name: typeof p.AlarmName === 'string' ? p.AlarmName : logicalId,
        period,
        queries,
        rule: {
          threshold: p.Threshold as number,
          comparisonOperator: p.ComparisonOperator as ComparisonOperator,
          evaluationPeriods: p.EvaluationPeriods as number,
          datapointsToAlarm: (p.DatapointsToAlarm as number | undefined) ?? (p.EvaluationPeriods as number),
          treatMissingData: ((p.TreatMissingData as TreatMissingData | undefined) ?? 'missing') as TreatMissingData,
        },
      };
    });
}

/** What a release does at a given minute. */
export type Behaviour = 'healthy' | 'errors' | 'slow' | 'hang' | 'crash';

/** The simulated world of one service, minute by minute (minute 0 is when a broken release starts serving). */
export interface ServiceWorld {
  /** Requests reaching the load balancer per minute (users plus the canary). */
  readonly requestsPerMinute: number;
  /** What the serving tasks do. */
  readonly behaviour: (minute: number) => Behaviour;
  /** Registered targets per colour (blue serves; green is the replacement of a deployment). */
  readonly targets: (minute: number) => { readonly blue: TargetCount; readonly green: TargetCount };
  /** Tasks that failed (crashed, could not start, failed health checks) in that minute. */
  readonly failedTasks: (minute: number) => number;
  /** Canary runs in that minute and whether each passes. */
  readonly canaryRuns: (minute: number) => boolean[];
  /** Jobs that ended in that minute (worker only). */
  readonly jobs?: (minute: number) => { readonly processed: number; readonly failed: number };
  /** The queue and tasks (worker only). */
  readonly queue?: (minute: number) => { readonly visible: number; readonly deleted: number; readonly runningTasks: number };
  /** Further metrics by `namespace/metricName` (e.g. `AWS/RDS/FreeStorageSpace`), read before the models above. */
  readonly metrics?: Record<string, (minute: number) => number[] | undefined>;
}

export interface TargetCount {
  readonly healthy: number;
  readonly unhealthy: number;
}

const answers = (b: Behaviour) => b === 'healthy' || b === 'errors' || b === 'slow';

/**
 * The samples AWS publishes for one metric in one minute, or undefined when it
 * publishes nothing. `service` picks the world by the references in the
 * dimensions (Api… / Processing…).
 */
export function samplesOf(metric: NonNullable<AlarmQuery['metric']>, world: ServiceWorld, minute: number): number[] | undefined {
  const custom = world.metrics?.[`${metric.namespace}/${metric.metricName}`];
  if (custom) return custom(minute);
  const b = world.behaviour(minute);
  const targets = world.targets(minute);
  const registered = (c: TargetCount) => c.healthy + c.unhealthy;
  const anyRegistered = registered(targets.blue) + registered(targets.green) > 0;
  const requests = world.requestsPerMinute;
  const nonzero = (n: number) => (n > 0 ? [n] : undefined);
  const colour = /Green/.test(metric.dimensions.TargetGroup ?? '') ? targets.green : targets.blue;
  switch (`${metric.namespace}/${metric.metricName}`) {
    case 'AWS/ApplicationELB/RequestCount':
      // Only requests for which a target was chosen; none flow, nothing is published.
      return requests > 0 && anyRegistered ? [requests] : undefined;
    case 'AWS/ApplicationELB/HTTPCode_ELB_5XX_Count':
      // 503 without a registered target, 502/504 from a crashed or hung one.
      return nonzero(!anyRegistered || b === 'hang' || b === 'crash' ? requests : 0);
    case 'AWS/ApplicationELB/HTTPCode_Target_5XX_Count':
      return nonzero(anyRegistered && b === 'errors' ? requests : 0);
    case 'AWS/ApplicationELB/TargetResponseTime':
      return anyRegistered && answers(b) && requests > 0 ? Array.from({ length: requests }, () => (b === 'slow' ? 1.5 : 0.05)) : undefined;
    case 'AWS/ApplicationELB/HealthyHostCount':
      return registered(colour) > 0 ? [colour.healthy] : undefined;
    case 'AWS/ApplicationELB/UnHealthyHostCount':
      return registered(colour) > 0 ? [colour.unhealthy] : undefined;
    case 'AWS/Events/Invocations':
      return nonzero(world.failedTasks(minute));
    case 'CloudWatchSynthetics/SuccessPercent': {
      const runs = world.canaryRuns(minute);
      return runs.length ? runs.map((passed) => (passed ? 100 : 0)) : undefined;
    }
    case 'BodyScript/Processing/VideosProcessed': {
      const n = world.jobs?.(minute).processed ?? 0;
      return n > 0 ? Array.from({ length: n }, () => 1) : undefined;
    }
    case 'BodyScript/Processing/ProcessingFailures': {
      const n = world.jobs?.(minute).failed ?? 0;
      return n > 0 ? Array.from({ length: n }, () => 1) : undefined;
    }
    case 'AWS/SQS/ApproximateNumberOfMessagesVisible':
      return world.queue ? [world.queue(minute).visible] : undefined;
    case 'AWS/SQS/NumberOfMessagesDeleted':
      return world.queue ? [world.queue(minute).deleted] : undefined;
    case 'ECS/ContainerInsights/RunningTaskCount':
      return world.queue ? [world.queue(minute).runningTasks] : undefined;
  }
  throw new Error(`alarm-simulation: no model of ${metric.namespace} ${metric.metricName}`);
}

/** What reaches a service minute by minute in trafficWorld: requests, and how many of them fail. */
export interface Traffic {
  /** Requests that minute. */
  readonly requests: (minute: number) => number;
  /** Of those, requests a target answers with a 5xx and slower than any latency objective (1.5 s); the rest take 50 ms. */
  readonly bad: (minute: number) => number;
  /**
   * The share CloudFront publishes as 5xxErrorRate, in percent (how it rounds is not documented).
   *
   * @default bad / requests × 100
   */
  readonly share?: (bad: number, requests: number) => number;
}

/**
 * A load balancer (and a CloudFront distribution in front of it) with healthy
 * targets, whose requests fail as `traffic` says: what the rate and percentile
 * alarms on user traffic read. Nothing is published in a minute without requests.
 */
export function trafficWorld(traffic: Traffic): ServiceWorld {
  const share = traffic.share ?? ((bad: number, requests: number) => (bad / requests) * 100);
  const flowing = (m: number) => traffic.requests(m) > 0;
  return {
    requestsPerMinute: 0,
    behaviour: () => 'healthy',
    targets: () => ({ blue: { healthy: 2, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } }),
    failedTasks: () => 0,
    canaryRuns: () => [],
    metrics: {
      'AWS/ApplicationELB/RequestCount': (m) => (flowing(m) ? [traffic.requests(m)] : undefined),
      'AWS/ApplicationELB/HTTPCode_Target_5XX_Count': (m) => (traffic.bad(m) > 0 ? [traffic.bad(m)] : undefined),
      'AWS/ApplicationELB/HTTPCode_ELB_5XX_Count': () => undefined,
      'AWS/ApplicationELB/TargetResponseTime': (m) => (flowing(m) ? Array.from({ length: traffic.requests(m) }, (_, i) => (i < traffic.bad(m) ? 1.5 : 0.05)) : undefined),
      'AWS/CloudFront/Requests': (m) => (flowing(m) ? [traffic.requests(m)] : undefined),
      'AWS/CloudFront/5xxErrorRate': (m) => (flowing(m) ? [share(traffic.bad(m), traffic.requests(m))] : undefined),
    },
  };
}

/** How the simulation reads the metrics. */
export interface SimulationOptions {
  /** Minutes after which a minute's datapoint is available (ALB and most AWS metrics arrive about a minute late). */
  readonly publicationDelayMinutes: number;
  /** First and last minute to evaluate (inclusive). */
  readonly from: number;
  readonly to: number;
  /** Minutes of history before `from` (to reach a steady state). */
  readonly history?: number;
}

/**
 * Evaluates an alarm every minute from `from` to `to` and returns its state
 * after each evaluation. Metric values are aggregated into the alarm's periods
 * (aligned to minute 0) and a period counts once it is over; its datapoint is
 * what was published of it by then.
 */
export function simulate(alarm: TemplateAlarm, world: ServiceWorld, options: SimulationOptions): Map<number, AlarmState> {
  const periodMinutes = alarm.period / 60;
  const history = options.history ?? 180;
  const states = new Map<number, AlarmState>();
  let state: AlarmState = 'INSUFFICIENT_DATA';
  const cache = new Map<string, number[] | undefined>();
  const samples = (query: AlarmQuery, minute: number) => {
    const key = `${query.id}@${minute}`;
    if (!cache.has(key)) cache.set(key, samplesOf(query.metric!, world, minute));
    return cache.get(key);
  };
  for (let now = options.from - history; now <= options.to; now++) {
    // Periods entirely over at the end of minute `now`: [start, start + periodMinutes).
    const lastPeriod = Math.floor((now + 1) / periodMinutes) - 1;
    const range = evaluationRange(alarm.rule.evaluationPeriods);
    const periods = Array.from({ length: range }, (_, i) => lastPeriod - range + 1 + i);
    const series: Record<string, Series> = {};
    for (const query of alarm.queries.filter((q) => q.metric)) {
      const s: Series = new Map();
      for (const p of periods) {
        const minutes = Array.from({ length: periodMinutes }, (_, i) => p * periodMinutes + i).filter((m) => m + options.publicationDelayMinutes <= now);
        const values = minutes.flatMap((m) => samples(query, m) ?? []);
        const v = statistic(values, query.metric!.stat);
        if (v !== undefined) s.set(p, v);
      }
      series[query.id] = s;
    }
    const result = outputSeries(alarm, series, periods);
    state = evaluateAlarm(
      periods.map((p) => result.get(p)),
      alarm.rule,
      state,
    );
    if (now >= options.from) states.set(now, state);
  }
  return states;
}

/**
 * The series the alarm compares, from the series of its metric queries: its
 * expressions are evaluated once the ids they read exist (an expression may
 * read another listed after it, as CDK lists a nested expression's inputs).
 */
function outputSeries(alarm: TemplateAlarm, series: Record<string, Series>, periods: number[]): Series {
  const output = alarm.queries.find((q) => q.returnData)!;
  let pending = alarm.queries.filter((q) => q.expression);
  while (pending.length) {
    const ready = pending.filter((q) => (q.expression!.match(/\b[a-z][A-Za-z0-9_]*\b/g) ?? []).every((id) => id in series));
    if (!ready.length) throw new Error(`alarm-simulation: ${alarm.name}: expressions ${pending.map((q) => q.id).join(', ')} read ids no query defines`);
    for (const q of ready) {
      const value = evaluateExpression(q.expression!, { series, range: periods });
      series[q.id] = value instanceof Map ? value : new Map(periods.map((p) => [p, value]));
    }
    pending = pending.filter((q) => !ready.includes(q));
  }
  return series[output.id];
}

/**
 * The datapoint the alarm compares for one period (`period` counted in the
 * alarm's periods from minute 0), with everything of that period published:
 * what a minute counts as, or undefined when it has no datapoint.
 */
export function alarmDatapoint(alarm: TemplateAlarm, world: ServiceWorld, period: number): number | undefined {
  const periodMinutes = alarm.period / 60;
  const series: Record<string, Series> = {};
  for (const query of alarm.queries.filter((q) => q.metric)) {
    const values = Array.from({ length: periodMinutes }, (_, i) => period * periodMinutes + i).flatMap((m) => samplesOf(query.metric!, world, m) ?? []);
    const v = statistic(values, query.metric!.stat);
    series[query.id] = v === undefined ? new Map() : new Map([[period, v]]);
  }
  return outputSeries(alarm, series, [period]).get(period);
}

/** The first minute at which the alarm is in ALARM, or undefined. */
export function firstAlarm(states: Map<number, AlarmState>): number | undefined {
  for (const [minute, state] of states) if (state === 'ALARM') return minute;
  return undefined;
}
