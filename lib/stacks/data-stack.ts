import { Duration, ReferenceStrength, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { SUBNET_GROUPS } from '../../constructs/application-vpc';
import { BackupJobFailures } from '../../constructs/backup-job-failures';
import { backupVaultLock, DailyBackups, type VaultLockMode } from '../../constructs/daily-backups';
import { DataBuckets } from '../../constructs/data-buckets';
import { DatabaseRoles } from '../../constructs/database-roles';
import { EncryptionKey, type EncryptionKeyProps } from '../../constructs/encryption-key';
import { POSTGRES_PORT, PostgresDatabase } from '../../constructs/postgres-database';
import { appOrigins } from '../browser-access';
import type { EnvironmentConfig } from '../config';
import {
  backupPlanName,
  backupVaultArn,
  backupVaultName,
  bucketName,
  databaseInstanceIdentifier,
  databaseSecretName,
  keyAlias,
  keyAliasArn,
  REPLICATION_RULE_ID,
  resourcePrefix,
  standbyKeyAlias,
} from '../naming';
import { createProcessingQueues } from './processing-queues';

/**
 * Why the environment's database (and its standby replica, which runs like its
 * source) may run in one AZ: the acknowledgement of the Multi-AZ findings when
 * `database.multiAz` is false. It is the config's `database.singleAzReason`,
 * which the schema requires exactly then (in production too, where it is the
 * reviewed override), so the acknowledgement says what the operator decided
 * and never claims what is not so. One place for both stacks.
 */
export function singleAzReason(config: EnvironmentConfig): string | undefined {
  return config.database.multiAz ? undefined : config.database.singleAzReason;
}

export interface DataStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly vpc: ec2.IVpc;
  /**
   * The standby region's database key (BodyScript-<Env>-StandbyData), which
   * encrypts the replicated automated backups. RDS takes a key ARN there, which
   * only that stack knows: read with a cross-region weak reference.
   */
  readonly standbyDatabaseKey: kms.IKey;
}

/**
 * Object Lock default retention of an environment's results buckets (primary
 * and standby replica), from config `storage.resultsRetention`, whose schema
 * admits GOVERNANCE mode only (OBJECT_LOCK_DEFAULT_RETENTION_MODE).
 */
export function resultsRetention(config: EnvironmentConfig): s3.ObjectLockRetention {
  return s3.ObjectLockRetention.governance(Duration.days(config.storage.resultsRetention.days));
}

/**
 * The lock of an environment's backup vaults (all regions and accounts):
 * compliance in production, whose recovery points must survive any single
 * credential (issue 16.7); governance in staging, whose backups people may
 * clean up (a compliance lock cannot be undone after its grace days).
 */
export function backupVaultLockMode(config: EnvironmentConfig): VaultLockMode {
  return config.name === 'production' ? 'compliance' : 'governance';
}

/**
 * Everything of an environment that holds data: keys, the PostgreSQL database,
 * the buckets, the processing queue and the backups. Termination protection is
 * on, every resource is retained or snapshotted on delete, and the logical IDs
 * are pinned by `test/stateful-resources.test.ts`: never rename a construct here.
 *
 * The standby region's keys, replica buckets and vault (BodyScript-<Env>-StandbyData)
 * are named through lib/naming.ts (alias ARNs, bucket names, vault ARN), not
 * referenced; that stack is deployed first (a stack dependency in lib/app.ts).
 */
export class DataStack extends Stack {
  /** Encrypts uploads, results and the processing queues. */
  public readonly dataKey: EncryptionKey;
  /** Encrypts the database, its snapshots, Performance Insights and its secret. */
  public readonly databaseKey: EncryptionKey;
  /** Encrypts the environment's log groups (database, services). */
  public readonly logsKey: EncryptionKey;
  /** Encrypts the backup vault. */
  public readonly backupKey: EncryptionKey;
  public readonly database: PostgresDatabase;
  /** The roles the services and the migrations log in as (IAM authentication), created with the master secret. */
  public readonly databaseRoles: DatabaseRoles;
  /** Uploads, results and the web app (replicated to the standby region), and the regional log buckets. */
  public readonly buckets: DataBuckets;
  public readonly accessLogsBucket: s3.Bucket;
  public readonly uploadsBucket: s3.Bucket;
  public readonly resultsBucket: s3.Bucket;
  public readonly frontendBucket: s3.Bucket;
  /** Upload events for the processing worker. */
  public readonly processingQueue: sqs.Queue;
  /** Jobs that failed `maxReceiveCount` times. */
  public readonly processingDeadLetterQueue: sqs.Queue;
  public readonly backupVault: backup.BackupVault;
  public readonly backups: DailyBackups;
  /** Failed backup and copy jobs of this account and region (the alarm is in BodyScript-<Env>'s DataAlarms). */
  public readonly backupJobFailures: BackupJobFailures;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const { config } = props;
    const env = config.name;
    const standby = config.standby;
    const key = (keyId: string, purpose: string, description: string, options: Partial<EncryptionKeyProps> = {}) =>
      new EncryptionKey(this, keyId, { alias: keyAlias(env, purpose), description: `BodyScript ${env}: ${description}`, ...options });
    // S3 (event delivery) and EventBridge (rule to queue) encrypt messages for the queue.
    this.dataKey = key('DataKey', 'data', 'uploads, results and processing queues', { servicePrincipals: ['events.amazonaws.com'] });
    // The backup account copies the database's recovery points, which RDS keeps encrypted with this key.
    const backupCopyAccounts = config.backup.copyAccount ? [config.backup.copyAccount] : [];
    this.databaseKey = key('DatabaseKey', 'database', 'PostgreSQL storage, snapshots, Performance Insights and credentials', { backupCopyAccounts });
    this.logsKey = key('LogsKey', 'logs', 'CloudWatch log groups', { allowCloudWatchLogs: true });
    this.backupKey = key('BackupKey', 'backup', 'AWS Backup vault', { backupCopyAccounts });

    this.database = this.primaryDatabase(config, props.vpc, props.standbyDatabaseKey);
    this.databaseRoles = new DatabaseRoles(this, 'DatabaseRoles', {
      vpc: props.vpc,
      // Where the rotation function runs too: these subnets reach Secrets Manager (endpoint or NAT); the database subnets have no route out.
      vpcSubnets: { subnetGroupName: SUBNET_GROUPS.application },
      databaseSecurityGroup: this.database.instance.connections.securityGroups[0],
      port: POSTGRES_PORT,
      masterSecret: this.database.secret,
      masterSecretKey: this.databaseKey.key,
      databaseName: config.database.databaseName,
      logKey: this.logsKey.key,
      logRetention: config.logs.retentionDays as logs.RetentionDays,
    });
    this.databaseRoles.resource.node.addDependency(this.database.instance);
    this.buckets = this.dataBuckets(config);
    ({ accessLogsBucket: this.accessLogsBucket, uploadsBucket: this.uploadsBucket, resultsBucket: this.resultsBucket, frontendBucket: this.frontendBucket } = this.buckets);

    const queues = createProcessingQueues(this, {
      idPrefix: '',
      env,
      key: this.dataKey.key,
      retention: Duration.days(4),
      uploadsBucket: this.uploadsBucket,
      ruleDescription: 'New objects in the uploads bucket become processing jobs',
    });
    this.processingQueue = queues.queue;
    this.processingDeadLetterQueue = queues.deadLetterQueue;

    this.backupVault = new backup.BackupVault(this, 'BackupVault', {
      backupVaultName: backupVaultName(env),
      encryptionKey: this.backupKey.key,
      removalPolicy: RemovalPolicy.RETAIN,
      // Compliance mode in production (no credential can delete a recovery point early), governance in staging.
      lockConfiguration: backupVaultLock(backupVaultLockMode(config), Duration.days(config.backup.retentionDays)),
      // Vault access policy: nobody deletes a recovery point or shortens its retention through the Backup API.
      blockRecoveryPointDeletion: true,
    });
    this.backups = new DailyBackups(this, 'Backups', {
      backupPlanName: backupPlanName(env),
      vault: this.backupVault,
      // The standby region's vault (BodyScript-<Env>-StandbyData), named by ARN.
      copyToVaultArn: backupVaultArn(env, standby),
      // The separate backup account's vault (BodyScript-<Env>-BackupVault), same region, named by ARN.
      backupAccountVaultArn: config.backup.copyAccount ? backupVaultArn(env, { account: config.backup.copyAccount, region: config.primary.region }) : undefined,
      startHourUtc: config.backup.dailyStartHourUtc,
      retention: Duration.days(config.backup.retentionDays),
      resources: [
        backup.BackupResource.fromRdsDatabaseInstance(this.database.instance),
        ...[this.uploadsBucket, this.resultsBucket, this.frontendBucket].map((bucket) => backup.BackupResource.fromArn(bucket.bucketArn)),
      ],
      keys: [this.dataKey.key, this.databaseKey.key],
    });
    this.backupJobFailures = new BackupJobFailures(this, 'BackupJobFailures', {
      ruleName: `${resourcePrefix(env)}-backup-job-failures`,
      logKey: this.logsKey.key,
      logRetention: config.logs.retentionDays as logs.RetentionDays,
    });
  }

  /**
   * The environment's PostgreSQL instance from config, its credentials
   * replicated to the standby region and its automated backups too.
   */
  private primaryDatabase(config: EnvironmentConfig, vpc: ec2.IVpc, standbyDatabaseKey: kms.IKey): PostgresDatabase {
    const env = config.name;
    const standby = config.standby;
    // The standby database key by alias ARN, which Secrets Manager accepts for a replica.
    const standbyDatabaseKeyAlias = kms.Key.fromKeyArn(this, 'StandbyDatabaseKeyAlias', keyAliasArn(standbyKeyAlias(env, 'database'), standby));
    // RDS documents a key ARN for the replicated backups. Weak (Fn::GetStackOutput) on
    // purpose: CloudFormation has no cross-region import, a strong cross-region
    // reference (CDK's export writer) would couple the two regions' deployments,
    // and the key is retained and pinned, so even a replacement leaves this ARN
    // pointing at an existing key (README, "Cross-stack references").
    const standbyDatabaseKeyArn = Stack.consumeReference(standbyDatabaseKey.keyArn, ReferenceStrength.WEAK);
      return new PostgresDatabase(this, 'Database', {
        ...config.database,
        vpc,
        vpcSubnets: { subnetGroupName: SUBNET_GROUPS.database },
        instanceIdentifier: databaseInstanceIdentifier(env),
        backupRetention: Duration.days(config.database.backupRetentionDays),
        singleAzReason: singleAzReason(config),
        monitoringInterval: Duration.seconds(config.database.monitoringIntervalSeconds),
        encryptionKey: this.databaseKey.key,
        logKey: this.logsKey.key,
        logRetention: config.logs.retentionDays as logs.RetentionDays,
        credentialsSecretName: databaseSecretName(env),
        credentialRotation: Duration.days(config.database.credentialRotationDays),
        // The standby's services read the credentials in their own region after a failover.
        secretReplicaRegions: [{ region: standby.region, encryptionKey: standbyDatabaseKeyAlias }],
        automatedBackupReplication: { region: standby.region, kmsKeyArn: standbyDatabaseKeyArn },
      });
  }

  /** The buckets, named from lib/naming.ts, replicating to the standby region's replicas of the same purpose. */
  private dataBuckets(config: EnvironmentConfig): DataBuckets {
    const env = config.name;
    const { standby, storage } = config;
      // `Default`: the buckets keep the logical IDs they had at the stack's top level (pinned).
      const named = (purpose: string) => bucketName(env, purpose, this.account, this.region);
      const replica = (purpose: string) => bucketName(env, purpose, standby.account, standby.region);
      return new DataBuckets(this, 'Default', {
        bucketNames: {
          accessLogs: named('s3-access-logs'),
          uploads: named('uploads'),
          results: named('results'),
          frontend: named('frontend'),
          loadBalancerLogs: named('alb-logs'),
          cloudFrontLogs: named('cloudfront-logs'),
        },
        dataKey: this.dataKey.key,
        standby: {
          ...standby,
          bucketNames: { uploads: replica('uploads'), results: replica('results'), frontend: replica('frontend') },
          dataKey: kms.Key.fromKeyArn(this, 'StandbyDataKeyAlias', keyAliasArn(standbyKeyAlias(env, 'data'), standby)),
          dataKeyAlias: standbyKeyAlias(env, 'data'),
        },
        replicationRuleId: REPLICATION_RULE_ID,
        noncurrentVersionExpiration: Duration.days(storage.noncurrentVersionExpirationDays),
        abortIncompleteMultipartUploadAfter: Duration.days(storage.abortIncompleteUploadDays),
        logExpiration: Duration.days(storage.accessLogExpirationDays),
        resultsRetention: resultsRetention(config),
        appOrigins: appOrigins(config),
      });
  }
}
