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
  /**
   * PostgreSQL's `max_connections` on this instance (see `estimatedMaxConnections()`);
   * the connections alarm fires at 80 % of it.
   */
  readonly maxConnections: number;
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
  /** Connections above 80 % of max_connections for 10 minutes: new connections will soon be refused. */
  public readonly databaseConnections: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DataAlarmsProps) {
    super(scope, id);
    if (!Number.isInteger(props.maxConnections) || props.maxConnections < 1) {
      throw new Error(`DataAlarms ${this.node.path}: maxConnections must be a whole number ≥ 1, got ${props.maxConnections}`);
    }
    const freeStorageThresholdBytes = props.allocatedStorageGiB * 0.1 * 1024 ** 3;
    const connectionThreshold = Math.floor(props.maxConnections * 0.8);

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

    this.databaseConnections = new cloudwatch.Alarm(this, 'DatabaseConnections', {
      alarmName: `${props.alarmNamePrefix}Database-ConnectionsHigh`,
      alarmDescription: `The database has had more than ${connectionThreshold} connections (80% of its ${props.maxConnections}) for 10 minutes; at ${props.maxConnections} it refuses new ones and the api fails. Look for a connection leak or too many api tasks per pool. Runbook: ${props.runbook}`,
      metric: props.database.metricDatabaseConnections({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: connectionThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.databaseFreeStorage.addAlarmAction(new actions.SnsAction(props.critical));
    this.databaseFreeStorage.addOkAction(new actions.SnsAction(props.critical));
    for (const alarm of [this.databaseCpu, this.deadLetterQueueNotEmpty, this.databaseConnections]) {
      alarm.addAlarmAction(new actions.SnsAction(props.warning));
      alarm.addOkAction(new actions.SnsAction(props.warning));
    }
  }
}

/** GiB of memory per vCPU of the RDS instance families BodyScript uses (burstable classes are listed by size). */
const MEMORY_GIB_PER_VCPU: Readonly<Record<string, number>> = { m: 4, r: 8, x: 16 };
const BURSTABLE_MEMORY_GIB: Readonly<Record<string, number>> = { micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, '2xlarge': 32 };

/**
 * PostgreSQL's default `max_connections` on RDS for an instance class such as
 * `t4g.medium` or `r7g.large`: LEAST(DBInstanceClassMemory / 9531392, 5000).
 * DBInstanceClassMemory is a little below the nominal memory, so this errs high
 * by a few percent, which the 80 % alarm threshold absorbs.
 */
export function estimatedMaxConnections(instanceClass: string): number {
  const match = /^([a-z]+)(\d+)[a-z]*\.(micro|small|medium|large|(\d*)xlarge)$/.exec(instanceClass);
  if (!match) throw new Error(`estimatedMaxConnections: instance class must look like t4g.medium or r7g.large, got '${instanceClass}'`);
  const [, family, , size, multiplier] = match;
  let memoryGiB: number | undefined;
  if (family === 't') {
    memoryGiB = BURSTABLE_MEMORY_GIB[size];
  } else {
    const vcpus = size === 'large' ? 2 : size.endsWith('xlarge') ? 4 * Number(multiplier || 1) : undefined;
    const perVcpu = MEMORY_GIB_PER_VCPU[family.charAt(0)];
    memoryGiB = vcpus && perVcpu ? vcpus * perVcpu : undefined;
  }
  if (!memoryGiB) throw new Error(`estimatedMaxConnections: unknown memory size of instance class '${instanceClass}'; add its family to MEMORY_GIB_PER_VCPU in constructs/data-alarms.ts`);
  return Math.min(Math.floor((memoryGiB * 1024 ** 3) / 9531392), 5000);
}
