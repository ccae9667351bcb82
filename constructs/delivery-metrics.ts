import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DELIVERY_METRIC, DELIVERY_METRICS_NAMESPACE, DELIVERY_STEPS } from '../lib/delivery-metrics';

/**
 * Properties of DeliveryMetrics.
 */
export interface DeliveryMetricsProps {
  /** The environment whose releases are measured (the `Environment` dimension). */
  readonly environment: string;
  /** Name of the over-budget alarm, e.g. `BodyScript-Staging-Delivery-ReleaseOverBudget`. */
  readonly alarmName: string;
  /** A release's budget (minutes, lib/release-budget.ts) and the product's figure it is held to. */
  readonly budgetMinutes: number;
  readonly productTargetMinutes: number;
  /** Told when a release took longer than its budget. */
  readonly warningTopic: sns.ITopic;
  /**
   * Runbook named in the alarm description.
   *
   * @default 'runbooks/deployment-guide.md'
   */
  readonly runbook?: string;
}

/**
 * What the pipeline measures of its own releases, shown and watched: the
 * `BodyScript/Delivery` metrics that `npm run ops -- delivery` publishes at the
 * end of every deploy job (lib/ops/commands/delivery.ts) as a dashboard section
 * — DORA's four keys (deployment frequency, lead time, change failure rate,
 * time to restore), the release's duration against its budget, and each step's
 * duration — and a warning alarm when a release took longer than its budget.
 */
export class DeliveryMetrics extends Construct {
  /** The dashboard section (a title and its graphs). */
  public readonly widgets: cloudwatch.IWidget[];
  /** In ALARM for the period in which a release took longer than its budget. */
  public readonly overBudget: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeliveryMetricsProps) {
    super(scope, id);
    const where = `DeliveryMetrics ${this.node.path}`;
    if (!(props.budgetMinutes > 0) || props.budgetMinutes > props.productTargetMinutes) {
      throw new Error(`${where}: budgetMinutes must be more than 0 and at most the product's figure ${props.productTargetMinutes}, got ${props.budgetMinutes} (see npm run ops -- plan)`);
    }
    const runbook = props.runbook ?? 'runbooks/deployment-guide.md';
    const dimensionsMap = { Environment: props.environment };
    const metric = (metricName: string, statistic: string, period: Duration, label: string, extra: Record<string, string> = {}) =>
      new cloudwatch.Metric({ namespace: DELIVERY_METRICS_NAMESPACE, metricName, dimensionsMap: { ...dimensionsMap, ...extra }, statistic, period, label });
    const day = Duration.days(1);
    const week = Duration.days(7);

    const releaseDuration = metric(DELIVERY_METRIC.releaseDuration, cloudwatch.Stats.MAXIMUM, Duration.minutes(15), 'Release duration (s)');
    // Without a label the alarm reads the metric itself, not a metric-data query.
    const releaseDurationForAlarm = new cloudwatch.Metric({ namespace: DELIVERY_METRICS_NAMESPACE, metricName: DELIVERY_METRIC.releaseDuration, dimensionsMap, statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(15) });
    const budgetSeconds = Math.round(props.budgetMinutes * 60);
    this.overBudget = new cloudwatch.Alarm(this, 'OverBudget', {
      alarmName: props.alarmName,
      alarmDescription:
        `A ${props.environment} release took longer than its budget of ${props.budgetMinutes} minutes (the product's figure is ${props.productTargetMinutes}) from the deploy job's start to a verified release. ` +
        `Compare the StepDuration graphs of the Delivery section with npm run ops -- plan and fix the slow step, or raise the estimate in lib/release-budget.ts if it was wrong. ` +
        `Missing data (notBreaching): no release in the period publishes nothing, and no release is never over budget. Runbook: ${runbook}`,
      metric: releaseDurationForAlarm,
      threshold: budgetSeconds,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.overBudget.addAlarmAction(new actions.SnsAction(props.warningTopic));

    const steps = [...Object.keys(DELIVERY_STEPS), 'approvalWait'].map((step) => metric(DELIVERY_METRIC.stepDuration, cloudwatch.Stats.AVERAGE, day, step, { Step: step }));
    this.widgets = [
      new cloudwatch.TextWidget({
        markdown: `## Delivery (${props.environment})\nPublished by every deploy run (\`npm run ops -- delivery\`). Budget ${props.budgetMinutes} min (product: ${props.productTargetMinutes} min); see \`npm run ops -- plan\`.`,
        width: 24,
        height: 2,
      }),
      new cloudwatch.GraphWidget({
        title: 'Release duration against its budget (s)',
        left: [releaseDuration],
        leftAnnotations: [{ value: budgetSeconds, label: `budget ${props.budgetMinutes} min`, color: cloudwatch.Color.ORANGE }],
        leftYAxis: { label: 's', showUnits: false, min: 0 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Deployment frequency (releases a day) and attempts',
        left: [metric(DELIVERY_METRIC.deployments, cloudwatch.Stats.SUM, day, 'verified releases'), metric(DELIVERY_METRIC.deploymentAttempts, cloudwatch.Stats.SUM, day, 'attempts')],
        leftYAxis: { label: 'count', showUnits: false, min: 0 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Change failure rate (%, weekly)',
        left: [
          new cloudwatch.MathExpression({
            expression: 'IF(attempts > 0, 100 * failed / attempts, 0)',
            usingMetrics: {
              failed: metric(DELIVERY_METRIC.failedDeployments, cloudwatch.Stats.SUM, week, 'failed'),
              attempts: metric(DELIVERY_METRIC.deploymentAttempts, cloudwatch.Stats.SUM, week, 'attempts'),
            },
            period: week,
            label: 'failed / attempted (%)',
          }),
        ],
        leftYAxis: { label: '%', showUnits: false, min: 0, max: 100 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lead time from merge to a verified release (s)',
        left: [metric(DELIVERY_METRIC.leadTime, cloudwatch.Stats.AVERAGE, day, 'average'), metric(DELIVERY_METRIC.leadTime, cloudwatch.Stats.p(90), day, 'p90')],
        leftYAxis: { label: 's', showUnits: false, min: 0 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Time to restore after a failed release (s)',
        left: [metric(DELIVERY_METRIC.timeToRestore, cloudwatch.Stats.MAXIMUM, day, 'longest')],
        leftYAxis: { label: 's', showUnits: false, min: 0 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'Step durations (s, daily average)', left: steps, leftYAxis: { label: 's', showUnits: false, min: 0 }, width: 8, stacked: false }),
    ];
  }
}
