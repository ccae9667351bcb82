import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { describeAlarm, missingData } from '../lib/alarm-description';

const GIB = 1024 ** 3;

/**
 * RDS storage autoscaling grows a volume when its free space is at or below
 * this share of the current allocation for five minutes (USER_PIOPS.Autoscaling),
 * up to `maxAllocatedStorage`, at most once every six hours.
 */
export const RDS_AUTOSCALING_FREE_SHARE = 0.1;
/**
 * Pages below this share of the INITIAL allocation. The allocation only grows,
 * so autoscaling always starts above this (at 10 % of the current allocation):
 * free space this low means autoscaling did not rescue the volume (it is at its
 * maximum, or inside its six-hour cool-down), and writes fail at zero.
 */
export const FREE_STORAGE_PAGE_SHARE = 0.05;
/**
 * Warns when free space stays below RDS's trigger at the initial allocation
 * for FREE_STORAGE_STALLED_FOR: a routine autoscale takes it back above within
 * minutes, so this long means autoscaling is not happening.
 */
export const FREE_STORAGE_STALLED_FOR = Duration.minutes(30);

/** The two free-storage thresholds of a database volume, in bytes. */
export interface FreeStorageThresholds {
  /** Page (critical) below this. */
  readonly pageBelowBytes: number;
  /** Warn when below this for FREE_STORAGE_STALLED_FOR. */
  readonly stalledBelowBytes: number;
}

/** The free-storage thresholds of a volume created with `allocatedStorageGiB` that autoscales up to `maxAllocatedStorageGiB`. */
export function freeStorageThresholds(allocatedStorageGiB: number, maxAllocatedStorageGiB: number): FreeStorageThresholds {
  if (!(allocatedStorageGiB > 0) || !(maxAllocatedStorageGiB >= allocatedStorageGiB)) {
    throw new Error(`freeStorageThresholds: allocatedStorageGiB must be more than 0 and maxAllocatedStorageGiB at least as much, got ${allocatedStorageGiB} and ${maxAllocatedStorageGiB}`);
  }
  return { pageBelowBytes: allocatedStorageGiB * FREE_STORAGE_PAGE_SHARE * GIB, stalledBelowBytes: allocatedStorageGiB * RDS_AUTOSCALING_FREE_SHARE * GIB };
}

/** What the free-storage alarms of one database volume need. */
export interface FreeStorageAlarmOptions {
  /** `FreeStorageSpace` of the instance (e.g. `instance.metricFreeStorageSpace()`); period and statistic are set here. */
  readonly metric: cloudwatch.Metric;
  /** Names the database in the description, e.g. `The database` or `The standby replica`. */
  readonly databaseLabel: string;
  /** Alarm names. */
  readonly pageAlarmName: string;
  readonly stalledAlarmName: string;
  readonly allocatedStorageGiB: number;
  /** `maxAllocatedStorage`; the allocation when the volume does not autoscale. */
  readonly maxAllocatedStorageGiB: number;
  readonly runbook: string;
}

/**
 * The two free-storage alarms of a database volume (primary or replica):
 * `page` (critical) when free space falls below 5 % of the initial allocation,
 * which RDS's own autoscaling trigger (10 % of the current allocation) always
 * stays above, so a routine autoscale never pages; `stalled` (warning) when
 * free space stays below the trigger point of the initial allocation for 30
 * minutes, i.e. autoscaling did not happen (at its maximum, or cooling down).
 */
export function freeStorageAlarmProps(options: FreeStorageAlarmOptions): { readonly page: cloudwatch.AlarmProps; readonly stalled: cloudwatch.AlarmProps } {
  const thresholds = freeStorageThresholds(options.allocatedStorageGiB, options.maxAllocatedStorageGiB);
  const gib = (bytes: number) => `${+(bytes / GIB).toFixed(2)} GiB`;
  const growth =
    options.maxAllocatedStorageGiB > options.allocatedStorageGiB
      ? `RDS grows the volume by itself (from ${options.allocatedStorageGiB} GiB, up to ${options.maxAllocatedStorageGiB} GiB) whenever less than 10% of it is free`
      : `The volume has ${options.allocatedStorageGiB} GiB and does not grow by itself`;
  const minimum = (period: Duration) => options.metric.with({ statistic: cloudwatch.Stats.MINIMUM, period });
  return {
    page: {
      alarmName: options.pageAlarmName,
      alarmDescription: describeAlarm({
        what: `${options.databaseLabel} has less than ${gib(thresholds.pageBelowBytes)} of storage free (5% of its first allocation); writes fail at zero. ${growth}, so this means it could not.`,
        action: `Raise maxAllocatedStorageGiB in the config and deploy, or grow the volume by hand (aws rds modify-db-instance --allocated-storage); then look for runaway tables in Performance Insights.`,
        missingData: missingData(cloudwatch.TreatMissingData.BREACHING, 'RDS publishes free storage every minute for a running instance; ten minutes without it means the instance is not running.'),
        runbook: options.runbook,
      }),
      metric: minimum(Duration.minutes(5)),
      threshold: thresholds.pageBelowBytes,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    },
    stalled: {
      alarmName: options.stalledAlarmName,
      alarmDescription: describeAlarm({
        what: `${options.databaseLabel} has had less than ${gib(thresholds.stalledBelowBytes)} of storage free for ${FREE_STORAGE_STALLED_FOR.toMinutes()} minutes, and storage autoscaling has not grown it: it is at its maximum of ${options.maxAllocatedStorageGiB} GiB or within its six-hour cool-down.`,
        action: 'Check the allocation against maxAllocatedStorageGiB in the RDS console; raise the maximum in the config before the critical free-storage alarm pages.',
        missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'A stopped instance publishes nothing; the critical free-storage alarm treats that silence as breaching.'),
        runbook: options.runbook,
      }),
      metric: minimum(Duration.minutes(10)),
      threshold: thresholds.stalledBelowBytes,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: FREE_STORAGE_STALLED_FOR.toMinutes() / 10,
      datapointsToAlarm: FREE_STORAGE_STALLED_FOR.toMinutes() / 10,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    },
  };
}

/**
 * RDS for PostgreSQL computes ReplicaLag as now() minus the time of the last
 * transaction the replica replayed, so it grows while the primary writes
 * nothing; RDS writes a heartbeat so that it reaches "up to five minutes" on an
 * idle primary, then falls back (USER_PostgreSQL.Replication.ReadReplicas.Monitor).
 * Its per-minute Minimum is therefore below a minute at least once in every
 * REPLICA_LAG_MINUTES_TO_ALARM window when the primary is idle; only a replica
 * behind a primary that writes stays above REPLICA_LAG_ALARM_SECONDS for the
 * whole window.
 */
export const REPLICA_LAG_ALARM_SECONDS = 60;
export const REPLICA_LAG_MINUTES_TO_ALARM = 10;

/** What the replica-lag alarm needs. */
export interface ReplicaLagAlarmOptions {
  readonly alarmName: string;
  /** The replica's DB instance identifier. */
  readonly replicaInstanceIdentifier: string;
  /** Where the replica is, for the description. */
  readonly region: string;
  /** Command that shows the replica's replication state, for the description. */
  readonly statusCommand: string;
  readonly runbook: string;
}

/**
 * A read replica more than a minute behind a primary that writes, for ten
 * minutes, or one that stopped reporting its lag (replication stopped, or the
 * replica was promoted by a failover, after which ALARM is expected).
 */
export function replicaLagAlarmProps(options: ReplicaLagAlarmOptions): cloudwatch.AlarmProps {
  return {
    alarmName: options.alarmName,
    alarmDescription: describeAlarm({
      what:
        `The ${options.region} read replica has been more than ${REPLICA_LAG_ALARM_SECONDS} s behind the primary for ${REPLICA_LAG_MINUTES_TO_ALARM} minutes, or reports no lag at all: a failover now would lose more than the database RPO. ` +
        `An idle primary does not fire it (its lag falls back at least every five minutes); after a failover promoted the replica, it is in ALARM by design.`,
      action: `Check the replica's replication state with '${options.statusCommand}'.`,
      missingData: missingData(cloudwatch.TreatMissingData.BREACHING, 'RDS publishes ReplicaLag every minute while the replica replicates; ten minutes of silence means replication stopped.'),
      runbook: options.runbook,
    }),
    metric: new cloudwatch.Metric({
      namespace: 'AWS/RDS',
      metricName: 'ReplicaLag',
      dimensionsMap: { DBInstanceIdentifier: options.replicaInstanceIdentifier },
      // The lowest lag of each minute: the minute of a heartbeat reads low on an idle primary.
      statistic: cloudwatch.Stats.MINIMUM,
      period: Duration.minutes(1),
    }),
    threshold: REPLICA_LAG_ALARM_SECONDS,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: REPLICA_LAG_MINUTES_TO_ALARM,
    datapointsToAlarm: REPLICA_LAG_MINUTES_TO_ALARM,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  };
}

/**
 * Properties of DataAlarms.
 */
export interface DataAlarmsProps {
  /** Prefix of every alarm name (see `alarmNamePrefix()` in lib/naming.ts). */
  readonly alarmNamePrefix: string;
  readonly database: rds.IDatabaseInstance;
  /** Storage the database was created with. */
  readonly allocatedStorageGiB: number;
  /** The most storage autoscaling may grow the database to. */
  readonly maxAllocatedStorageGiB: number;
  /**
   * PostgreSQL's `max_connections` on this instance (see `estimatedMaxConnections()`);
   * the connections alarm fires at 80 % of it.
   */
  readonly maxConnections: number;
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * Backup and copy jobs that failed, aborted or expired, per 5 minutes (BackupJobFailures.metric).
   *
   * @default - no backup alarm
   */
  readonly backupJobFailures?: cloudwatch.IMetric;
  readonly critical: sns.ITopic;
  readonly warning: sns.ITopic;
  /** Runbook a paged person opens, named in every description. */
  readonly runbook: string;
}

/**
 * The alarms that protect data: the database running out of storage (past
 * what autoscaling absorbs), CPU or connections, and processing jobs waiting
 * in the dead-letter queue.
 */
export class DataAlarms extends Construct {
  /** Free storage below 5 % of the initial allocation: autoscaling did not rescue it, writes fail at zero. */
  public readonly databaseFreeStorage: cloudwatch.Alarm;
  /** Free storage below autoscaling's trigger for 30 minutes: autoscaling is not growing the volume. */
  public readonly databaseStorageNotGrowing: cloudwatch.Alarm;
  /** CPU above 80 % for 15 minutes: queries slow down and the API misses its 500 ms budget. */
  public readonly databaseCpu: cloudwatch.Alarm;
  /** Any message in the dead-letter queue: a video failed three times and waits for a person. */
  public readonly deadLetterQueueNotEmpty: cloudwatch.Alarm;
  /** Connections above 80 % of max_connections for 10 minutes: new connections will soon be refused. */
  public readonly databaseConnections: cloudwatch.Alarm;
  /** The connection count `databaseConnections` fires above. */
  public readonly databaseConnectionsThreshold: number;
  /** A daily backup or one of its copies did not happen (when `backupJobFailures` is given). */
  public readonly backupJobsFailed?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DataAlarmsProps) {
    super(scope, id);
    if (!Number.isInteger(props.maxConnections) || props.maxConnections < 1) {
      throw new Error(`DataAlarms ${this.node.path}: maxConnections must be a whole number ≥ 1, got ${props.maxConnections}`);
    }
    const connectionThreshold = Math.floor(props.maxConnections * 0.8);
    this.databaseConnectionsThreshold = connectionThreshold;
    const runbook = props.runbook;

    const storage = freeStorageAlarmProps({
      metric: props.database.metricFreeStorageSpace(),
      databaseLabel: 'The database',
      pageAlarmName: `${props.alarmNamePrefix}Database-FreeStorageLow`,
      stalledAlarmName: `${props.alarmNamePrefix}Database-StorageNotGrowing`,
      allocatedStorageGiB: props.allocatedStorageGiB,
      maxAllocatedStorageGiB: props.maxAllocatedStorageGiB,
      runbook,
    });
    this.databaseFreeStorage = new cloudwatch.Alarm(this, 'DatabaseFreeStorage', storage.page);
    this.databaseStorageNotGrowing = new cloudwatch.Alarm(this, 'DatabaseStorageNotGrowing', storage.stalled);
    this.databaseCpu = new cloudwatch.Alarm(this, 'DatabaseCpu', {
      alarmName: `${props.alarmNamePrefix}Database-CpuHigh`,
      alarmDescription: describeAlarm({
        what: 'Database CPU has been above 80% for 15 minutes; API latency will follow.',
        action: 'Look at Performance Insights for the top statements.',
        missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'A stopped instance publishes no CPU; the critical free-storage alarm treats that silence as breaching.'),
        runbook,
      }),
      metric: props.database.metricCPUUtilization({ period: Duration.minutes(5), statistic: cloudwatch.Stats.AVERAGE }),
      threshold: 80,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterQueueNotEmpty = new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
      alarmName: `${props.alarmNamePrefix}Processing-DeadLetterQueueNotEmpty`,
      alarmDescription: describeAlarm({
        what: "A processing job failed three times and is in the dead-letter queue; the user's video is not being analysed.",
        action: 'Inspect the message and the worker logs, then redrive it, or delete it; either wakes the queue and clears the alarm.',
        missingData: missingData(
          cloudwatch.TreatMissingData.IGNORE,
          'SQS stops publishing for a queue nobody touched for six hours while the message still waits, so silence keeps the last state; it is INSUFFICIENT_DATA only until the queue first reports.',
        ),
        runbook,
      }),
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });

    this.databaseConnections = new cloudwatch.Alarm(this, 'DatabaseConnections', {
      alarmName: `${props.alarmNamePrefix}Database-ConnectionsHigh`,
      alarmDescription: describeAlarm({
        what: `The database has had more than ${connectionThreshold} connections (80% of its ${props.maxConnections}) for 10 minutes; at ${props.maxConnections} it refuses new ones and the api fails.`,
        action: 'Look for a connection leak or too many api tasks per pool.',
        missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'A stopped instance publishes no connection count; the critical free-storage alarm treats that silence as breaching.'),
        runbook,
      }),
      // A gauge sampled every minute: its Maximum, never its Sum.
      metric: props.database.metricDatabaseConnections({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: connectionThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.backupJobFailures) {
      // Review R11: a day without its recovery point, or without its copy in the standby region or the backup account.
      this.backupJobsFailed = new cloudwatch.Alarm(this, 'BackupJobsFailed', {
        alarmName: `${props.alarmNamePrefix}Backup-JobsFailed`,
        alarmDescription: describeAlarm({
          what: "An AWS Backup job of the environment's daily plan, or its copy to the standby region or the backup account, failed, was aborted or expired: that day has no recovery point there.",
          action: "Read the job's event in the log group /aws/events/<env>-backup-job-failures (job id, resource, status message), fix the cause and start an on-demand backup or copy before the next daily run.",
          missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'EventBridge counts the rule only in periods with a failed job; no count is no failure.'),
          runbook,
        }),
        metric: props.backupJobFailures,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    this.databaseFreeStorage.addAlarmAction(new actions.SnsAction(props.critical));
    this.databaseFreeStorage.addOkAction(new actions.SnsAction(props.critical));
    for (const alarm of [this.databaseStorageNotGrowing, this.databaseCpu, this.deadLetterQueueNotEmpty, this.databaseConnections, ...(this.backupJobsFailed ? [this.backupJobsFailed] : [])]) {
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
