import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { AlarmTopics } from '../../constructs/alarm-topics';
import { ApplicationVpc, SUBNET_GROUPS } from '../../constructs/application-vpc';
import { EncryptionKey } from '../../constructs/encryption-key';
import { PostgresReadReplica } from '../../constructs/read-replica';
import type { EnvironmentConfig } from '../config';
import { alarmName, alarmTopicName, databaseInstanceArn, replicaInstanceIdentifier, standbyKeyAlias } from '../naming';
import type { StandbyDataStack } from './standby-data-stack';

export interface StandbyStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  /** Keys of the standby region (same region: referenced directly). */
  readonly standbyData: StandbyDataStack;
}

/** ReplicaLag above this for a minute pages: the database RPO is one minute. */
export const REPLICA_LAG_ALARM_SECONDS = 30;

/**
 * `BodyScript-<Env>-Standby`, in the standby region: the environment as it will
 * run after `ops dr failover`. A cross-region read replica of the primary
 * database, the standby network, a pilot-light copy of the services (zero tasks,
 * scaling ready), its own alarm topics and alarms, and when a domain is
 * configured the SECONDARY failover record of the api.
 *
 * Everything of the primary region is named through config and lib/naming.ts
 * (the source database ARN, repository names), never referenced: the test
 * test/cross-region.test.ts fails on any cross-region reference.
 */
export class StandbyStack extends Stack {
  public readonly alarmTopics: AlarmTopics;
  /** Encrypts the standby's log groups. */
  public readonly logsKey: EncryptionKey;
  public readonly vpc: ec2.Vpc;
  public readonly replica: PostgresReadReplica;
  /** ReplicaLag above REPLICA_LAG_ALARM_SECONDS for a minute, or no ReplicaLag at all (replication stopped). */
  public readonly replicaLagAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: StandbyStackProps) {
    // After a failover this stack holds the live database: deleting it must take two deliberate steps.
    super(scope, id, { ...props, terminationProtection: true });
    const { config, standbyData } = props;
    const env = config.name;
    if (props.env?.region !== config.standby.region || props.env?.account !== config.standby.account) {
      throw new Error(`StandbyStack ${id}: env must be the standby location ${config.standby.account}/${config.standby.region} (config standby)`);
    }
    const logRetention = config.logs.retentionDays as logs.RetentionDays;
    const runbook = 'runbooks/disaster-recovery.md';

    // In this stack, not StandbyData: the log groups' KmsKeyId must be readable by the
    // compliance checks, which do not resolve another stack's output.
    this.logsKey = new EncryptionKey(this, 'StandbyLogsKey', {
      alias: standbyKeyAlias(env, 'logs'),
      description: `BodyScript ${env} standby: CloudWatch log groups (replica, flow logs, tasks)`,
      allowCloudWatchLogs: true,
    });
    const topicsKey = new EncryptionKey(this, 'StandbyTopicsKey', {
      alias: standbyKeyAlias(env, 'alarm-topics'),
      description: `BodyScript ${env} standby: alarm notification topics`,
      servicePrincipals: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'],
    });
    // The standby's own topics: when the primary region is down, its topics are too.
    this.alarmTopics = new AlarmTopics(this, 'AlarmTopics', {
      topicNames: { critical: alarmTopicName(env, 'critical'), warning: alarmTopicName(env, 'warning') },
      encryptionKey: topicsKey.key,
      emails: config.alarms.emails,
    });

    const network = new ApplicationVpc(this, 'Network', {
      cidr: config.network.standbyCidr,
      maxAzs: config.network.maxAzs,
      // Sized like the primary: after a failover this is the production network.
      natGateways: config.network.natGateways,
      interfaceEndpoints: config.network.interfaceEndpoints,
      logKey: this.logsKey.key,
      logRetention,
    });
    this.vpc = network.vpc;

    this.replica = new PostgresReadReplica(this, 'Replica', {
      sourceInstanceArn: databaseInstanceArn(env, config.primary),
      engineVersion: config.database.engineVersion,
      vpc: this.vpc,
      vpcSubnets: { subnetGroupName: SUBNET_GROUPS.database },
      instanceIdentifier: replicaInstanceIdentifier(env),
      instanceClass: config.database.instanceClass,
      multiAz: config.database.multiAz,
      encryptionKey: standbyData.databaseKey.key,
      performanceInsightsRetentionDays: config.database.performanceInsightsRetentionDays,
      monitoringInterval: Duration.seconds(config.database.monitoringIntervalSeconds),
      logKey: this.logsKey.key,
      logRetention,
    });

    this.replicaLagAlarm = new cloudwatch.Alarm(this, 'ReplicaLagAlarm', {
      alarmName: alarmName(env, 'Standby', 'Database-ReplicaLag'),
      alarmDescription: `The ${config.standby.region} read replica is more than ${REPLICA_LAG_ALARM_SECONDS}s behind the primary, or reports no lag at all (replication stopped): a failover now would lose more than the one-minute RPO. Check the replica's replication state with 'npm run ops -- dr status --env ${env}'. Runbook: ${runbook}`,
      metric: new cloudwatch.Metric({
        namespace: 'AWS/RDS',
        metricName: 'ReplicaLag',
        dimensionsMap: { DBInstanceIdentifier: replicaInstanceIdentifier(env) },
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      threshold: REPLICA_LAG_ALARM_SECONDS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // RDS stops publishing ReplicaLag when replication breaks: silence is an outage of the standby.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.replicaLagAlarm.addAlarmAction(new actions.SnsAction(this.alarmTopics.critical));
    this.replicaLagAlarm.addOkAction(new actions.SnsAction(this.alarmTopics.critical));
  }
}
