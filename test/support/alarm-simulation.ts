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
    const output = alarm.queries.find((q) => q.returnData)!;
    let result: Series;
    if (output.expression) {
      // Expressions may reference other expressions: evaluate them in order.
      for (const q of alarm.queries.filter((x) => x.expression)) {
        const value = evaluateExpression(q.expression!, { series, range: periods });
        series[q.id] = value instanceof Map ? value : new Map(periods.map((p) => [p, value]));
      }
      result = series[output.id];
    } else {
      result = series[output.id];
    }
    state = evaluateAlarm(
      periods.map((p) => result.get(p)),
      alarm.rule,
      state,
    );
    if (now >= options.from) states.set(now, state);
  }
  return states;
}

/** The first minute at which the alarm is in ALARM, or undefined. */
export function firstAlarm(states: Map<number, AlarmState>): number | undefined {
  for (const [minute, state] of states) if (state === 'ALARM') return minute;
  return undefined;
}
