import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { describeAlarm, missingData } from '../lib/alarm-description';

/** One S3 replication rule to watch, as its metrics name it. */
export interface ReplicationRuleToWatch {
  /** Short name used in alarm names, e.g. `uploads`. */
  readonly label: string;
  readonly sourceBucketName: string;
  readonly destinationBucketName: string;
  readonly ruleId: string;
}

/**
 * Properties of ReplicationAlarms.
 */
export interface ReplicationAlarmsProps {
  /** Prefix of every alarm name (see `alarmNamePrefix()` in lib/naming.ts). */
  readonly alarmNamePrefix: string;
  readonly rules: readonly ReplicationRuleToWatch[];
  /**
   * Replication latency above this breaks the objects' RPO.
   *
   * @default Duration.minutes(15) - what Replication Time Control promises
   */
  readonly maxLatency?: Duration;
  readonly critical: sns.ITopic;
  readonly warning: sns.ITopic;
  /** Runbook a paged person opens, named in every description. */
  readonly runbook: string;
}

/**
 * Alarms on S3 cross-region replication, from the replication metrics that
 * Replication Time Control publishes in the SOURCE bucket's region (so these
 * alarms live in the primary region): objects that failed to replicate, and
 * replication falling behind the 15-minute objective.
 */
export class ReplicationAlarms extends Construct {
  /** Per rule label: any failed replication in 5 minutes. */
  public readonly failedReplication: Record<string, cloudwatch.Alarm> = {};
  /** Per rule label: the oldest pending object older than maxLatency. */
  public readonly latency: Record<string, cloudwatch.Alarm> = {};

  constructor(scope: Construct, id: string, props: ReplicationAlarmsProps) {
    super(scope, id);
    if (props.rules.length === 0) throw new Error(`ReplicationAlarms ${this.node.path}: rules must list at least one replication rule`);
    const maxLatency = props.maxLatency ?? Duration.minutes(15);

    for (const rule of props.rules) {
      const dimensionsMap = { SourceBucket: rule.sourceBucketName, DestinationBucket: rule.destinationBucketName, RuleId: rule.ruleId };
      const title = rule.label.charAt(0).toUpperCase() + rule.label.slice(1);
      const failed = new cloudwatch.Alarm(this, `${title}FailedReplication`, {
        alarmName: `${props.alarmNamePrefix}Replication-${title}-Failed`,
        alarmDescription: describeAlarm({
          what: `Objects of ${rule.sourceBucketName} failed to replicate to ${rule.destinationBucketName} (rule ${rule.ruleId}): the standby would miss them after a failover.`,
          action: 'Usual causes: the replication role or the standby key policy changed, or the standby bucket is missing.',
          missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'S3 publishes failures only when an object failed to replicate; no datapoint is no failure.'),
          runbook: props.runbook,
        }),
        metric: new cloudwatch.Metric({ namespace: 'AWS/S3', metricName: 'OperationsFailedReplication', dimensionsMap, statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      const latency = new cloudwatch.Alarm(this, `${title}ReplicationLatency`, {
        alarmName: `${props.alarmNamePrefix}Replication-${title}-Latency`,
        alarmDescription: describeAlarm({
          what: `Replication of ${rule.sourceBucketName} to ${rule.destinationBucketName} is more than ${maxLatency.toMinutes()} minutes behind (Replication Time Control objective): objects written since then would be lost in a failover.`,
          action: 'Compare the replication metrics of the rule in the S3 console; check the replication role and the standby bucket.',
          missingData: missingData(
            cloudwatch.TreatMissingData.IGNORE,
            'S3 publishes latency only while objects replicate; AWS asks replication alarms to ignore missing data so a backlog that stops reporting keeps the alarm where it was.',
          ),
          runbook: props.runbook,
        }),
        metric: new cloudwatch.Metric({ namespace: 'AWS/S3', metricName: 'ReplicationLatency', dimensionsMap, statistic: 'Maximum', period: Duration.minutes(5) }),
        threshold: maxLatency.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      });
      // A failed object is a gap in the standby's data now: page. Latency may recover by itself: warn.
      failed.addAlarmAction(new actions.SnsAction(props.critical));
      failed.addOkAction(new actions.SnsAction(props.critical));
      latency.addAlarmAction(new actions.SnsAction(props.warning));
      latency.addOkAction(new actions.SnsAction(props.warning));
      this.failedReplication[rule.label] = failed;
      this.latency[rule.label] = latency;
    }
  }
}
