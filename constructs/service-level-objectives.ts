import { Duration, Stack } from 'aws-cdk-lib';
import * as applicationsignals from 'aws-cdk-lib/aws-applicationsignals';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { HttpCodeElb, HttpCodeTarget } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as synthetics from 'aws-cdk-lib/aws-synthetics';
import { Construct } from 'constructs';
import { describeAlarm, MAX_ALARM_DESCRIPTION_LENGTH, missingData } from '../lib/alarm-description';
import { acknowledge } from '../lib/compliance';
import type { EnvironmentName, ServiceLevelObjectivesConfig } from '../lib/config';
import { MIN_BAD_REQUESTS_PER_MINUTE } from '../lib/low-traffic';
import { alarmName } from '../lib/naming';
import {
  BURN_RATE_ALERTS,
  BURN_RATE_WINDOWS_MINUTES,
  budgetConsumedAtFiring,
  type BurnRateAlert,
  serviceLevelObjectiveName,
  SLO_KINDS,
  SLO_TITLES,
  type SloKind,
} from '../lib/service-level-objectives';
import { PROCESSING_NAMESPACE } from './environment-monitoring';

/** Where Application Signals publishes each SLO's attainment and burn rates (dimension SloName, plus BurnRateWindowMinutes). */
export const APPLICATION_SIGNALS_NAMESPACE = 'AWS/ApplicationSignals';
/** The worker's per-video freshness metric (runbooks/metrics.md): seconds from the upload to its results written. */
export const VIDEO_READY_METRIC = 'VideoReadySeconds';

const MINUTE = Duration.minutes(1);

/**
 * Properties of ServiceLevelObjectives.
 */
export interface ServiceLevelObjectivesProps {
  readonly environment: EnvironmentName;
  /** Goals, window, thresholds and the minimum-failures rule (config `serviceLevelObjectives`, validated in lib/config). */
  readonly objectives: ServiceLevelObjectivesConfig;
  /** The api's load balancer: requests, 5xx of its targets and its own, and response times of both colours. */
  readonly apiLoadBalancer: elbv2.IApplicationLoadBalancer;
  /** The web app's health-check canary. */
  readonly webAppCanary: synthetics.Canary;
  /** Pages: the fast and slow burns. */
  readonly critical: sns.ITopic;
  /** Tickets: the steady burn. */
  readonly warning: sns.ITopic;
  /**
   * Runbook named in every alarm description.
   *
   * @default 'runbooks/slo.md'
   */
  readonly runbook?: string;
}

/** What one objective counts, as CloudWatch metrics at any period. */
interface Indicator {
  /** Plural noun of what is counted: requests, videos, canary runs. */
  readonly events: string;
  /** Which events are bad, in a sentence fragment. */
  readonly bad: string;
  readonly totalCount: (period: Duration) => cloudwatch.IMetric;
  readonly badCount: (period: Duration) => cloudwatch.IMetric;
}

/** One objective: the Application Signals SLO and its burn-rate alerts. */
export interface ServiceLevelObjective {
  readonly kind: SloKind;
  /** Its name in Application Signals (`SloName` of its metrics). */
  readonly name: string;
  /** The goal as a fraction, e.g. 0.999. */
  readonly goal: number;
  readonly resource: applicationsignals.CfnServiceLevelObjective;
  /** One composite per row of BURN_RATE_ALERTS, by the row's id. */
  readonly alerts: Readonly<Record<string, cloudwatch.CompositeAlarm>>;
}

/**
 * The environment's service level objectives with error budgets (issue 14):
 * api availability, api latency, processing freshness and the web app canary,
 * each a request-based `AWS::ApplicationSignals::ServiceLevelObjective` on
 * CloudWatch metrics (good = total − bad events over a rolling window of
 * `windowDays`), with Application Signals computing its attainment and a burn
 * rate for every look-back window of the SRE workbook's multiwindow,
 * multi-burn-rate alerts. Each alert is a composite of three metric alarms: the
 * long window's burn rate, the short window's burn rate, and at least
 * `minimumBadEvents` failed events in the short window (the low-traffic rule of
 * lib/low-traffic.ts, so never fewer than MIN_BAD_REQUESTS_PER_MINUTE).
 * Pages go to the critical topic, tickets to the warning topic. `widgets` is a
 * dashboard section per SLO: attainment, budget remaining, burn rates.
 *
 * Application Signals creates its service-linked role
 * (AWSServiceRoleForCloudWatchApplicationSignals) at the first SLO of an
 * account, so the deploying role needs iam:CreateServiceLinkedRole once
 * (CDK's bootstrap execution role has it); nothing needs instrumenting.
 */
export class ServiceLevelObjectives extends Construct {
  public readonly objectives: Readonly<Record<SloKind, ServiceLevelObjective>>;
  /** Every metric alarm (inputs of the composites; they notify nobody themselves). */
  public readonly alarms: cloudwatch.Alarm[] = [];
  /** Every composite: the alerts people receive. */
  public readonly alerts: cloudwatch.CompositeAlarm[] = [];
  /** The dashboard section: a header and, per SLO, attainment, budget remaining and burn rates. */
  public readonly widgets: cloudwatch.IWidget[] = [];

  constructor(scope: Construct, id: string, props: ServiceLevelObjectivesProps) {
    super(scope, id);
    const where = `ServiceLevelObjectives ${this.node.path}`;
    const o = props.objectives;
    for (const kind of SLO_KINDS) {
      const goal = o[kind].goal;
      if (!(goal > 0 && goal < 1)) throw new Error(`${where}: objectives.${kind}.goal must be a fraction strictly between 0 and 1, got ${goal}`);
    }
    if (!(o.windowDays * 24 * 60 > Math.max(...BURN_RATE_WINDOWS_MINUTES))) {
      throw new Error(`${where}: objectives.windowDays must be longer than the longest burn-rate window (${Math.max(...BURN_RATE_WINDOWS_MINUTES) / 1440} days), got ${o.windowDays}`);
    }
    // The low-traffic rule of every alarm on user traffic, over the short window: one failed request among the canaries' few at night pages nobody.
    if (!(o.minimumBadEvents >= MIN_BAD_REQUESTS_PER_MINUTE)) {
      throw new Error(`${where}: objectives.minimumBadEvents must be at least ${MIN_BAD_REQUESTS_PER_MINUTE} (the low-traffic rule, lib/low-traffic.ts: one or two failures among a few requests at night are no trend), got ${o.minimumBadEvents}`);
    }
    const runbook = props.runbook ?? 'runbooks/slo.md';
    const env = props.environment;
    const region = Stack.of(this).region;
    const lb = props.apiLoadBalancer.metrics;
    const sum = (period: Duration) => ({ period, statistic: cloudwatch.Stats.SUM });
    const latencyThresholdSeconds = o.apiLatency.thresholdMilliseconds / 1000;
    const readyWithinSeconds = o.processingFreshness.readyWithinMinutes * 60;
    const videoReady = (statistic: string, period: Duration) =>
      new cloudwatch.Metric({ namespace: PROCESSING_NAMESPACE, metricName: VIDEO_READY_METRIC, dimensionsMap: { Environment: env }, statistic, period });

    const indicators: Record<SloKind, Indicator> = {
      // RequestCount counts only requests that found a target: the load balancer's own
      // 5xx (no healthy target, a crashed or hung one) are added to the total as well (issue 18).
      apiAvailability: {
        events: 'requests',
        bad: 'answered with a 5xx by a target or by the load balancer itself',
        totalCount: (period) =>
          new cloudwatch.MathExpression({ expression: 'requests + elb5xx', usingMetrics: { requests: lb.requestCount(sum(period)), elb5xx: lb.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, sum(period)) }, period }),
        badCount: (period) =>
          new cloudwatch.MathExpression({
            expression: 'target5xx + elb5xx',
            usingMetrics: { target5xx: lb.httpCodeTarget(HttpCodeTarget.TARGET_5XX_COUNT, sum(period)), elb5xx: lb.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, sum(period)) },
            period,
          }),
      },
      // TargetResponseTime has one value per request that reached a target: SampleCount counts
      // them, and the trimmed count TC(t:) those above t seconds (lower bound exclusive).
      apiLatency: {
        events: 'requests',
        bad: `answered in more than ${o.apiLatency.thresholdMilliseconds} ms`,
        totalCount: (period) => lb.targetResponseTime({ period, statistic: cloudwatch.Stats.SAMPLE_COUNT }),
        badCount: (period) => lb.targetResponseTime({ period, statistic: `TC(${latencyThresholdSeconds}:)` }),
      },
      processingFreshness: {
        events: 'videos',
        bad: `ready more than ${o.processingFreshness.readyWithinMinutes} minutes after the upload`,
        totalCount: (period) => videoReady(cloudwatch.Stats.SAMPLE_COUNT, period),
        badCount: (period) => videoReady(`TC(${readyWithinSeconds}:)`, period),
      },
      // One SuccessPercent datapoint per run, 0 or 100: Sum / 100 is the runs that passed.
      webAppCanary: {
        events: 'canary runs',
        bad: 'failed',
        totalCount: (period) => props.webAppCanary.metricSuccessPercent({ period, statistic: cloudwatch.Stats.SAMPLE_COUNT }),
        badCount: (period) =>
          new cloudwatch.MathExpression({
            expression: 'runs - passed / 100',
            usingMetrics: {
              runs: props.webAppCanary.metricSuccessPercent({ period, statistic: cloudwatch.Stats.SAMPLE_COUNT }),
              passed: props.webAppCanary.metricSuccessPercent({ period, statistic: cloudwatch.Stats.SUM }),
            },
            period,
          }),
      },
    };

    this.widgets.push(
      new cloudwatch.TextWidget({
        width: 24,
        height: 2,
        markdown: [
          `## Service level objectives (${o.windowDays}-day rolling window)`,
          `Attainment, budget left and burn rates from Application Signals. Pages at ${BURN_RATE_ALERTS.filter((a) => a.severity === 'page').map((a) => `${a.factor}×`).join(' or ')}, ticket at ${BURN_RATE_ALERTS.filter((a) => a.severity === 'ticket').map((a) => `${a.factor}×`).join(', ')}; \`npm run ops -- slo --env ${env}\` prints the budgets. See ${runbook}.`,
        ].join('\n'),
      }),
    );

    const objectives = {} as Record<SloKind, ServiceLevelObjective>;
    for (const kind of SLO_KINDS) {
      const indicator = indicators[kind];
      const goal = o[kind].goal;
      const name = serviceLevelObjectiveName(env, kind);
      const title = SLO_TITLES[kind];
      const pascal = kind.charAt(0).toUpperCase() + kind.slice(1);
      const goalPercent = round(goal * 100, 6);
      const resource = new applicationsignals.CfnServiceLevelObjective(this, pascal, {
        name,
        description: `BodyScript ${env} ${title}: ${goalPercent}% of ${indicator.events} over ${o.windowDays} days must not be ${indicator.bad}. Runbook: ${runbook}`,
        requestBasedSli: {
          requestBasedSliMetric: {
            totalRequestCountMetric: metricDataQueries(indicator.totalCount(MINUTE)),
            monitoredRequestCountMetric: { badCountMetric: metricDataQueries(indicator.badCount(MINUTE)) },
          },
        },
        goal: {
          attainmentGoal: goalPercent,
          interval: { rollingInterval: { duration: o.windowDays, durationUnit: 'DAY' } },
          // The budget report says WARNING once half the budget is spent (the default, stated).
          warningThreshold: 50,
        },
        burnRateConfigurations: BURN_RATE_WINDOWS_MINUTES.map((lookBackWindowMinutes) => ({ lookBackWindowMinutes })),
      });

      const burnRate = (windowMinutes: number, label?: string) =>
        new cloudwatch.Metric({
          namespace: APPLICATION_SIGNALS_NAMESPACE,
          metricName: 'BurnRate',
          dimensionsMap: { SloName: name, BurnRateWindowMinutes: String(windowMinutes) },
          statistic: cloudwatch.Stats.MAXIMUM,
          period: MINUTE,
          label,
        });
      const alerts: Record<string, cloudwatch.CompositeAlarm> = {};
      for (const alert of BURN_RATE_ALERTS) {
        const consumed = budgetConsumedAtFiring(alert, o.windowDays);
        const topic = alert.severity === 'page' ? props.critical : props.warning;
        const alarmFor = (windowMinutes: number, which: 'long' | 'short') => {
          const alarm = new cloudwatch.Alarm(this, `${pascal}${alert.id}${which === 'long' ? 'Long' : 'Short'}Window`, {
            alarmName: alarmName(env, 'SLO', pascal, alert.id, `${which === 'long' ? 'Long' : 'Short'}${windowLabel(windowMinutes)}`),
            alarmDescription: describeAlarm({
              what: `The ${title} SLO (${goalPercent}%) burned its error budget at ${alert.factor}× or faster over the last ${windowLabel(windowMinutes)} (the ${which} window of the ${alert.id} ${alert.severity}). On its own it notifies nobody: the composite ${alarmName(env, 'SLO', pascal, alert.id)} does.`,
              action: 'Open the composite and the SLO section of the dashboard.',
              missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, `Application Signals publishes no burn rate while the window holds no ${indicator.events}; none burns no budget.`),
              runbook,
            }),
            metric: burnRate(windowMinutes),
            threshold: alert.factor,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluationPeriods: 1,
            datapointsToAlarm: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          });
          // The SloName dimension exists once the SLO does.
          alarm.node.addDependency(resource);
          this.alarms.push(alarm);
          return alarm;
        };
        const long = alarmFor(alert.longWindowMinutes, 'long');
        const short = alarmFor(alert.shortWindowMinutes, 'short');
        const enoughFailures = new cloudwatch.Alarm(this, `${pascal}${alert.id}Failures`, {
          alarmName: alarmName(env, 'SLO', pascal, alert.id, `Failures${windowLabel(alert.shortWindowMinutes)}`),
          alarmDescription: describeAlarm({
            what: `At least ${o.minimumBadEvents} ${indicator.events} were ${indicator.bad} in the last ${windowLabel(alert.shortWindowMinutes)}: enough for the ${alert.id} burn rate of the ${title} SLO to mean something at low traffic. On its own it notifies nobody.`,
            action: `Open the composite ${alarmName(env, 'SLO', pascal, alert.id)}.`,
            missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, `No datapoint means no ${indicator.events} and so none failed.`),
            runbook,
          }),
          metric: indicator.badCount(Duration.minutes(alert.shortWindowMinutes)),
          threshold: o.minimumBadEvents,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
        this.alarms.push(enoughFailures);

        const composite = new cloudwatch.CompositeAlarm(this, `${pascal}${alert.id}`, {
          compositeAlarmName: alarmName(env, 'SLO', pascal, alert.id),
          alarmDescription: compositeDescription({ env, title, goalPercent, alert, consumed, indicator, minimumBadEvents: o.minimumBadEvents, windowDays: o.windowDays, runbook, sloName: name }),
          alarmRule: cloudwatch.AlarmRule.allOf(
            cloudwatch.AlarmRule.fromAlarm(long, cloudwatch.AlarmState.ALARM),
            cloudwatch.AlarmRule.fromAlarm(short, cloudwatch.AlarmState.ALARM),
            cloudwatch.AlarmRule.fromAlarm(enoughFailures, cloudwatch.AlarmState.ALARM),
          ),
        });
        composite.addAlarmAction(new actions.SnsAction(topic));
        composite.addOkAction(new actions.SnsAction(topic));
        alerts[alert.id] = composite;
        this.alerts.push(composite);
      }
      objectives[kind] = { kind, name, goal, resource, alerts };

      // --- dashboard: attainment, budget left, burn rates ------------------------------
      const attainment = new cloudwatch.Metric({
        namespace: APPLICATION_SIGNALS_NAMESPACE,
        metricName: 'AttainmentRate',
        dimensionsMap: { SloName: name },
        statistic: cloudwatch.Stats.MINIMUM,
        period: Duration.minutes(5),
        label: 'attainment',
      });
      const budgetLeft = new cloudwatch.MathExpression({
        expression: `100 * (attainment - ${goalPercent}) / (100 - ${goalPercent})`,
        usingMetrics: { attainment },
        period: Duration.minutes(5),
        label: 'budget left',
      });
      this.widgets.push(
        new cloudwatch.GraphWidget({
          title: `${title}: attainment over ${o.windowDays} days (%)`,
          region,
          left: [attainment],
          leftYAxis: { label: '%', showUnits: false },
          leftAnnotations: [{ value: goalPercent, label: `goal ${goalPercent}%`, color: cloudwatch.Color.RED }],
          width: 8,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${title}: error budget left (%)`,
          region,
          left: [budgetLeft],
          leftYAxis: { max: 100, label: '%', showUnits: false },
          leftAnnotations: [
            { value: 50, label: 'half spent (budget report WARNING)', color: cloudwatch.Color.ORANGE },
            { value: 0, label: 'exhausted: production deploys stop', color: cloudwatch.Color.RED },
          ],
          width: 8,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${title}: burn rate (× budget)`,
          region,
          left: BURN_RATE_WINDOWS_MINUTES.map((w) => burnRate(w, windowLabel(w))),
          leftYAxis: { min: 0, label: 'burn rate', showUnits: false },
          leftAnnotations: BURN_RATE_ALERTS.map((a) => ({ value: a.factor, label: `${a.id} ${a.factor}×`, color: a.severity === 'page' ? cloudwatch.Color.RED : cloudwatch.Color.ORANGE })),
          width: 8,
          height: 6,
        }),
      );
    }
    this.objectives = objectives;
    for (const alarm of this.alarms) {
      acknowledge(
        alarm,
        ['NIST.800.53.R5-CloudWatchAlarmAction', 'HIPAA.Security-CloudWatchAlarmAction', 'cdk-validator-cfnguard::cloudwatch_alarm_action_check'],
        'One window of a multiwindow burn-rate alert (or its minimum-failures condition): alone it is noise by design, and people are notified once by the composite that requires both windows and the failures, which has the topic actions.',
      );
    }
  }
}

/** 5m, 30m, 1h, 6h, 3d. */
export function windowLabel(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

/** The composite's description: what fired, what budget it took to fire, what to do, where to read. */
function compositeDescription(p: {
  env: EnvironmentName;
  title: string;
  goalPercent: number;
  alert: BurnRateAlert;
  consumed: number;
  indicator: Indicator;
  minimumBadEvents: number;
  windowDays: number;
  runbook: string;
  sloName: string;
}): string {
  const left = 100 - p.goalPercent;
  const what =
    p.alert.severity === 'page'
      ? `PAGE: the ${p.env} ${p.title} SLO is burning its error budget at ${p.alert.factor}× or faster over both ${windowLabel(p.alert.longWindowMinutes)} and ${windowLabel(p.alert.shortWindowMinutes)}, with at least ${p.minimumBadEvents} ${p.indicator.events} ${p.indicator.bad} in the last ${windowLabel(p.alert.shortWindowMinutes)}.`
      : `TICKET: the ${p.env} ${p.title} SLO has been burning its error budget at ${p.alert.factor}× or faster over both ${windowLabel(p.alert.longWindowMinutes)} and ${windowLabel(p.alert.shortWindowMinutes)}: at this pace the budget is gone before the ${p.windowDays}-day window ends.`;
  const description =
    `${what} When it fires at least ${round(p.consumed * 100, 1)}% of the ${p.windowDays}-day budget (${round(left, 4)}% of ${p.indicator.events}) has been spent in ${windowLabel(p.alert.longWindowMinutes)}; ` +
    `npm run ops -- slo --env ${p.env} and the dashboard show what is left (SLO ${p.sloName}). ` +
    (p.alert.severity === 'page'
      ? 'Stop the bleeding first: roll back a recent release (npm run ops -- rollback), then find the cause. '
      : 'Find the cause in working hours before the budget runs out; a spent budget stops production deploys. ') +
    `Runbook: ${p.runbook}`;
  if (description.length > MAX_ALARM_DESCRIPTION_LENGTH) throw new Error(`ServiceLevelObjectives: the ${p.title} ${p.alert.id} description is ${description.length} characters, CloudWatch accepts ${MAX_ALARM_DESCRIPTION_LENGTH}`);
  return description;
}

/**
 * A metric or a metric-math expression as Application Signals' MetricDataQuery
 * list: exactly one query returns data (the metric itself, or the expression
 * with its metrics as hidden inputs).
 */
function metricDataQueries(metric: cloudwatch.IMetric): applicationsignals.CfnServiceLevelObjective.MetricDataQueryProperty[] {
  const config = metric.toMetricConfig();
  const stat = (m: cloudwatch.IMetric, id: string, returnData: boolean): applicationsignals.CfnServiceLevelObjective.MetricDataQueryProperty => {
    const c = m.toMetricConfig().metricStat;
    if (!c) throw new Error(`ServiceLevelObjectives: '${id}' must be a metric, not an expression (Application Signals takes one level of math)`);
    return {
      id,
      returnData,
      metricStat: {
        metric: { namespace: c.namespace, metricName: c.metricName, dimensions: (c.dimensions ?? []).map((d) => ({ name: d.name, value: String(d.value) })) },
        period: c.period.toSeconds(),
        stat: c.statistic,
      },
    };
  };
  if (config.metricStat) return [stat(metric, 'm1', true)];
  const math = config.mathExpression;
  if (!math) throw new Error('ServiceLevelObjectives: a metric must be a metric or a math expression');
  return [
    { id: 'e1', expression: math.expression, returnData: true },
    ...Object.entries(math.usingMetrics).map(([id, m]) => stat(m, id, false)),
  ];
}
