import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * Properties of DataAlarms.
 */
export interface DataAlarmsProps {
  /** Prefix of every alarm name (see `alarmNamePrefix()` in lib/naming.ts). */
  readonly alarmNamePrefix: string;
  readonly database: rds.IDatabaseInstance;
  /** Allocated storage, to turn free bytes into a share. */
  readonly allocatedStorageGiB: number;
  readonly deadLetterQueue: sqs.IQueue;
  readonly critical: sns.ITopic;
  readonly warning: sns.ITopic;
  /** Runbook a paged person opens, named in every description. */
  readonly runbook: string;
}

/**
 * The alarms that protect data: the database running out of storage or CPU,
 * and processing jobs piling up in the dead-letter queue.
 */
export class DataAlarms extends Construct {
  /** Free storage below 10 % of the allocation: writes will fail when it reaches zero. */
  public readonly databaseFreeStorage: cloudwatch.Alarm;
  /** CPU above 80 % for 15 minutes: queries slow down and the API misses its 500 ms budget. */
  public readonly databaseCpu: cloudwatch.Alarm;
  /** Any message in the dead-letter queue: a video failed three times and waits for a person. */
  public readonly deadLetterQueueNotEmpty: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DataAlarmsProps) {
    super(scope, id);
    const freeStorageThresholdBytes = props.allocatedStorageGiB * 0.1 * 1024 ** 3;

    this.databaseFreeStorage = new cloudwatch.Alarm(this, 'DatabaseFreeStorage', {
      alarmName: `${props.alarmNamePrefix}Database-FreeStorageLow`,
      alarmDescription: `The database has less than 10% of its ${props.allocatedStorageGiB} GiB left; writes fail at zero. Storage autoscaling should have grown it: check its ceiling. Runbook: ${props.runbook}`,
      metric: props.database.metricFreeStorageSpace({ period: Duration.minutes(5), statistic: 'Minimum' }),
      threshold: freeStorageThresholdBytes,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.databaseCpu = new cloudwatch.Alarm(this, 'DatabaseCpu', {
      alarmName: `${props.alarmNamePrefix}Database-CpuHigh`,
      alarmDescription: `Database CPU has been above 80% for 15 minutes; API latency will follow. Look at Performance Insights for the top statements. Runbook: ${props.runbook}`,
      metric: props.database.metricCPUUtilization({ period: Duration.minutes(5) }),
      threshold: 80,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterQueueNotEmpty = new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
      alarmName: `${props.alarmNamePrefix}Processing-DeadLetterQueueNotEmpty`,
      alarmDescription: `A processing job failed three times and is in the dead-letter queue; the user's video is not being analysed. Inspect the message and the worker logs, then redrive. Runbook: ${props.runbook}`,
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.databaseFreeStorage.addAlarmAction(new actions.SnsAction(props.critical));
    this.databaseFreeStorage.addOkAction(new actions.SnsAction(props.critical));
    for (const alarm of [this.databaseCpu, this.deadLetterQueueNotEmpty]) {
      alarm.addAlarmAction(new actions.SnsAction(props.warning));
      alarm.addOkAction(new actions.SnsAction(props.warning));
    }
  }
}
