import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { HttpCodeTarget } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';

/** A bad release must be detected within this long (the product tolerates 2–5 minutes for the whole rollback). */
export const MAX_DETECTION_TIME = Duration.minutes(2);

/** CodeDeploy watches at most this many alarms per deployment group. */
export const CODEDEPLOY_MAX_ALARMS = 10;

/**
 * Every rollback alarm looks at one-minute periods and needs two breaching
 * minutes in a row: one minute alone would roll back on a single slow garbage
 * collection or a lost connection; two still detect within MAX_DETECTION_TIME.
 */
const PERIOD = Duration.minutes(1);
const EVALUATION_PERIODS = 2;

/**
 * Properties of RollbackAlarms.
 */
export interface RollbackAlarmsProps {
  /** Prefix of every alarm name, e.g. `BodyScript-Staging-api-` (it must start with `alarmNamePrefix(env)`). */
  readonly alarmNamePrefix: string;
  /** The service's load balancer (its listeners carry production and test traffic). */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The blue and green target groups; each must be attached to a listener of `loadBalancer`. */
  readonly targetGroups: elbv2.IApplicationTargetGroup[];
  /**
   * Alarms of the health-check canaries of this service (see HealthCheckCanary.failureAlarm).
   *
   * @default - none
   */
  readonly canaryAlarms?: cloudwatch.IAlarm[];
  /**
   * Ratio (percent, 0–100) of jobs that failed, for services that process jobs
   * (processing), e.g. a metric-math expression of ProcessingFailures / (VideosProcessed + ProcessingFailures).
   *
   * @default - no job failure alarm
   */
  readonly jobFailureMetric?: cloudwatch.IMetric;
  /**
   * Job failure rate (percent) above which the release is rolled back.
   *
   * @default 10
   */
  readonly maxJobFailureRatePercent?: number;
  /**
   * 99th percentile target response time above which the release is rolled back.
   *
   * @default Duration.millis(500) - the product's API latency objective
   */
  readonly maxP99Latency?: Duration;
  /**
   * Share of requests (percent) answered with a 5xx by the targets above which the release is rolled back.
   *
   * @default 5
   */
  readonly max5xxRatePercent?: number;
  /**
   * Requests per minute below which the 5xx rate counts as zero, so that one
   * failed request out of three does not roll back a release at night (the
   * canaries cover quiet periods).
   *
   * @default 10
   */
  readonly minRequestsPerMinute?: number;
  /**
   * Topic notified when the composite alarm changes state.
   *
   * @default - no notification (CodeDeploy still watches the alarms)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Runbook named in every alarm description.
   *
   * @default 'runbooks/rollback.md'
   */
  readonly runbook?: string;
}

/**
 * The alarms CodeDeploy watches during a blue/green deployment of one service,
 * each detecting a bad release within two minutes: the 5xx rate and the p99
 * latency of the targets, unhealthy hosts in either target group, the service's
 * health-check canaries and (for processing) the job failure rate, plus one
 * composite alarm that is in ALARM when any of them is.
 */
export class RollbackAlarms extends Construct {
  /** The alarms a CodeDeploy deployment group watches (at most CODEDEPLOY_MAX_ALARMS). */
  public readonly alarms: cloudwatch.IAlarm[];
  /** In ALARM when any of `alarms` is: one state for dashboards, the service-health alarm and people. */
  public readonly compositeAlarm: cloudwatch.CompositeAlarm;
  /** Longest time from a bad release to an alarm, over every alarm whose period is known: period × evaluation periods. */
  public readonly worstCaseDetectionTime: Duration;
  /** Targets answer more than `max5xxRatePercent` of requests with a 5xx. */
  public readonly serverErrorRate: cloudwatch.Alarm;
  /** p99 target response time above `maxP99Latency`. */
  public readonly latency: cloudwatch.Alarm;
  /** A target in either target group fails its health check. */
  public readonly unhealthyHosts: cloudwatch.Alarm;
  /** Job failure rate above `maxJobFailureRatePercent`, when `jobFailureMetric` is given. */
  public readonly jobFailureRate?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: RollbackAlarmsProps) {
    super(scope, id);
    const where = `RollbackAlarms ${this.node.path}`;
    const maxLatency = props.maxP99Latency ?? Duration.millis(500);
    const max5xx = props.max5xxRatePercent ?? 5;
    const maxJobFailures = props.maxJobFailureRatePercent ?? 10;
    const minRequests = props.minRequestsPerMinute ?? 10;
    const runbook = props.runbook ?? 'runbooks/rollback.md';
    const canaryAlarms = props.canaryAlarms ?? [];

    if (!props.alarmNamePrefix) throw new Error(`${where}: alarmNamePrefix must not be empty`);
    if (props.targetGroups.length < 1 || props.targetGroups.length > 2) {
      throw new Error(`${where}: targetGroups must list the blue and green target groups (1–2), got ${props.targetGroups.length}`);
    }
    if (maxLatency.toMilliseconds() <= 0) throw new Error(`${where}: maxP99Latency must be more than 0, got ${maxLatency.toMilliseconds()} ms`);
    for (const [field, value] of [['max5xxRatePercent', max5xx], ['maxJobFailureRatePercent', maxJobFailures]] as const) {
      if (!(value > 0 && value <= 100)) throw new Error(`${where}: ${field} must be more than 0 and at most 100 (percent), got ${value}`);
    }
    if (props.maxJobFailureRatePercent !== undefined && !props.jobFailureMetric) {
      throw new Error(`${where}: maxJobFailureRatePercent needs a jobFailureMetric`);
    }
    if (!Number.isInteger(minRequests) || minRequests < 0) throw new Error(`${where}: minRequestsPerMinute must be a whole number ≥ 0, got ${minRequests}`);

    const defaults = { period: PERIOD };
    const groups = props.targetGroups.map((tg, i) => ({ tg, i }));
    const name = (suffix: string) => `${props.alarmNamePrefix}${suffix}`;
    const common = {
      evaluationPeriods: EVALUATION_PERIODS,
      datapointsToAlarm: EVALUATION_PERIODS,
      // No traffic is no evidence of a bad release; the canaries cover silence.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };

    // 5xx rate of both target groups together: whichever colour serves, the users see the sum.
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    for (const { tg, i } of groups) {
      usingMetrics[`errors${i}`] = tg.metrics.httpCodeTarget(HttpCodeTarget.TARGET_5XX_COUNT, { ...defaults, statistic: cloudwatch.Stats.SUM });
      usingMetrics[`requests${i}`] = tg.metrics.requestCount({ ...defaults, statistic: cloudwatch.Stats.SUM });
    }
    const sum = (prefix: string) => groups.map(({ i }) => `FILL(${prefix}${i}, 0)`).join(' + ');
    this.serverErrorRate = new cloudwatch.Alarm(this, 'ServerErrorRate', {
      alarmName: name('5xxRate'),
      alarmDescription:
        `More than ${max5xx}% of requests to the service's targets ended in a 5xx for two minutes in a row. During a deployment CodeDeploy rolls the release back; ` +
        `otherwise look at the service's error logs and Sentry for the failing endpoint. Runbook: ${runbook}`,
      metric: new cloudwatch.MathExpression({
        expression: `IF((${sum('requests')}) >= ${minRequests}, 100 * (${sum('errors')}) / (${sum('requests')}), 0)`,
        usingMetrics,
        period: PERIOD,
        label: 'Target 5xx rate (%)',
      }),
      threshold: max5xx,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...common,
    });

    // The slower colour decides: a slow green must roll back even while blue is fast.
    const latencyMetrics: Record<string, cloudwatch.IMetric> = {};
    for (const { tg, i } of groups) latencyMetrics[`p99${i}`] = tg.metrics.targetResponseTime({ ...defaults, statistic: cloudwatch.Stats.p(99) });
    this.latency = new cloudwatch.Alarm(this, 'Latency', {
      alarmName: name('LatencyP99'),
      alarmDescription:
        `The 99th percentile response time of the service's targets was above ${maxLatency.toMilliseconds()} ms for two minutes in a row, the API's latency objective. ` +
        `During a deployment CodeDeploy rolls the release back; otherwise check database CPU and slow queries. Runbook: ${runbook}`,
      metric:
        groups.length === 1
          ? latencyMetrics.p990
          : new cloudwatch.MathExpression({
              expression: `MAX([${groups.map(({ i }) => `FILL(p99${i}, 0)`).join(', ')}])`,
              usingMetrics: latencyMetrics,
              period: PERIOD,
              label: 'Target response time p99 (s)',
            }),
      threshold: maxLatency.toMilliseconds() / 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...common,
    });

    const unhealthyMetrics: Record<string, cloudwatch.IMetric> = {};
    for (const { tg, i } of groups) unhealthyMetrics[`unhealthy${i}`] = tg.metrics.unhealthyHostCount({ ...defaults, statistic: cloudwatch.Stats.MAXIMUM });
    this.unhealthyHosts = new cloudwatch.Alarm(this, 'UnhealthyHosts', {
      alarmName: name('UnhealthyHosts'),
      alarmDescription:
        `A task of the service failed its load balancer health check (/health) for two minutes in a row. During a deployment CodeDeploy rolls the release back; ` +
        `otherwise ECS replaces the task: look at its stopped reason and logs. Runbook: ${runbook}`,
      metric:
        groups.length === 1
          ? unhealthyMetrics.unhealthy0
          : new cloudwatch.MathExpression({
              expression: `MAX([${groups.map(({ i }) => `FILL(unhealthy${i}, 0)`).join(', ')}])`,
              usingMetrics: unhealthyMetrics,
              period: PERIOD,
              label: 'Unhealthy targets',
            }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...common,
    });

    const metricAlarms: cloudwatch.Alarm[] = [this.serverErrorRate, this.latency, this.unhealthyHosts];
    if (props.jobFailureMetric) {
      this.jobFailureRate = new cloudwatch.Alarm(this, 'JobFailureRate', {
        alarmName: name('JobFailureRate'),
        alarmDescription:
          `More than ${maxJobFailures}% of processing jobs failed for two minutes in a row. During a deployment CodeDeploy rolls the release back; ` +
          `otherwise look at the worker's logs and Sentry for the failing step; failed jobs are retried and end in the dead-letter queue. Runbook: ${runbook}`,
        metric: props.jobFailureMetric,
        threshold: maxJobFailures,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        ...common,
      });
      metricAlarms.push(this.jobFailureRate);
    }

    this.alarms = [...metricAlarms, ...canaryAlarms];
    if (this.alarms.length > CODEDEPLOY_MAX_ALARMS) {
      throw new Error(`${where}: CodeDeploy watches at most ${CODEDEPLOY_MAX_ALARMS} alarms per deployment group, got ${this.alarms.length}; pass fewer canaryAlarms`);
    }

    const detectionSeconds = [...metricAlarms, ...canaryAlarms].map((alarm) => detectionTimeSeconds(alarm)).filter((s): s is number => s !== undefined);
    const worst = Math.max(...detectionSeconds);
    this.worstCaseDetectionTime = Duration.seconds(worst);
    if (worst > MAX_DETECTION_TIME.toSeconds()) {
      const slow = [...metricAlarms, ...canaryAlarms].filter((alarm) => (detectionTimeSeconds(alarm) ?? 0) > MAX_DETECTION_TIME.toSeconds()).map((a) => a.node.path);
      throw new Error(`${where}: every rollback alarm must detect a bad release within ${MAX_DETECTION_TIME.toSeconds()} s (period × evaluation periods), got ${worst} s for ${slow.join(', ')}`);
    }

    this.compositeAlarm = new cloudwatch.CompositeAlarm(this, 'Composite', {
      compositeAlarmName: name('Rollback'),
      alarmDescription:
        `At least one rollback alarm of this service is in ALARM (5xx rate, p99 latency, unhealthy hosts, canary${props.jobFailureMetric ? ' or job failure rate' : ''}): ` +
        `the current release is failing its users. CodeDeploy rolls a deployment back on it; outside a deployment, open the alarm that fired. Runbook: ${runbook}`,
      alarmRule: cloudwatch.AlarmRule.anyOf(...this.alarms.map((alarm) => cloudwatch.AlarmRule.fromAlarm(alarm, cloudwatch.AlarmState.ALARM))),
    });
    if (props.alarmTopic) {
      this.compositeAlarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
      this.compositeAlarm.addOkAction(new actions.SnsAction(props.alarmTopic));
    }
    for (const alarm of metricAlarms) {
      acknowledge(
        alarm,
        ['NIST.800.53.R5-CloudWatchAlarmAction', 'HIPAA.Security-CloudWatchAlarmAction', 'cdk-validator-cfnguard::cloudwatch_alarm_action_check'],
        "This rollback alarm acts through CodeDeploy, which watches it and rolls a release back; people are notified once through the service's composite rollback alarm instead of once per alarm.",
      );
    }
    if (!props.alarmTopic) {
      acknowledge(
        this.compositeAlarm,
        ['NIST.800.53.R5-CloudWatchAlarmAction', 'HIPAA.Security-CloudWatchAlarmAction', 'cdk-validator-cfnguard::cloudwatch_alarm_action_check'],
        'This composite rollback alarm has no topic of its own here: it feeds the environment service-health composite alarm, which notifies the on-call topics.',
      );
    }
  }
}

/**
 * Period × evaluation periods of an alarm created in this app (its CloudFormation
 * properties are readable), or undefined for an imported alarm.
 */
export function detectionTimeSeconds(alarm: cloudwatch.IAlarm): number | undefined {
  const resource = alarm.node.defaultChild;
  if (!(resource instanceof cloudwatch.CfnAlarm)) return undefined;
  const evaluationPeriods = resource.evaluationPeriods;
  let period: unknown = resource.period;
  if (period === undefined && Array.isArray(resource.metrics)) {
    // Metric math: the period of the expression (or of its metrics when the expression has none).
    const periods = (resource.metrics as cloudwatch.CfnAlarm.MetricDataQueryProperty[])
      .map((query) => query.period ?? (query.metricStat as cloudwatch.CfnAlarm.MetricStatProperty | undefined)?.period)
      .filter((p): p is number => typeof p === 'number');
    period = periods.length ? Math.max(...periods) : undefined;
  }
  if (typeof period !== 'number' || typeof evaluationPeriods !== 'number' || Token.isUnresolved(period)) return undefined;
  return period * evaluationPeriods;
}
