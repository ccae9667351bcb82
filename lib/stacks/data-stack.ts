import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { SUBNET_GROUPS } from '../../constructs/application-vpc';
import { acknowledge } from '../compliance';
import { EncryptionKey } from '../../constructs/encryption-key';
import { PostgresDatabase } from '../../constructs/postgres-database';
import { SecureBucket } from '../../constructs/secure-bucket';
import type { EnvironmentConfig } from '../config';
import {
  backupPlanName,
  backupVaultName,
  bucketName,
  databaseInstanceIdentifier,
  databaseSecretName,
  keyAlias,
  processingDeadLetterQueueName,
  processingQueueName,
} from '../naming';

/**
 * Until the disaster-recovery standby (BodyScript-<Env>-StandbyData) exists to
 * receive replicas, the daily AWS Backup recovery points are the copy of record.
 */
const NOT_YET_REPLICATED =
  'Cross-region replication needs the standby replica buckets, which the disaster-recovery standby stacks provide; until they exist the daily AWS Backup recovery points in the encrypted vault protect this data.';

export interface DataStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly vpc: ec2.IVpc;
}

/**
 * Everything of an environment that holds data: keys, the PostgreSQL database,
 * the buckets, the processing queue and the backups. Termination protection is
 * on, every resource is retained or snapshotted on delete, and the logical IDs
 * are pinned by `test/stateful-resources.test.ts`: never rename a construct here.
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
  public readonly accessLogsBucket: s3.Bucket;
  public readonly uploadsBucket: s3.Bucket;
  public readonly resultsBucket: s3.Bucket;
  public readonly frontendBucket: s3.Bucket;
  /** Upload events for the processing worker. */
  public readonly processingQueue: sqs.Queue;
  /** Jobs that failed `maxReceiveCount` times. */
  public readonly processingDeadLetterQueue: sqs.Queue;
  public readonly backupVault: backup.BackupVault;
  public readonly backupPlan: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const { config } = props;
    const env = config.name;
    const logRetention = config.logs.retentionDays as logs.RetentionDays;

    this.dataKey = new EncryptionKey(this, 'DataKey', {
      alias: keyAlias(env, 'data'),
      description: `BodyScript ${env}: uploads, results and processing queues`,
      // S3 (event delivery) and EventBridge (rule to queue) encrypt messages for the queue.
      servicePrincipals: ['events.amazonaws.com'],
    });
    this.databaseKey = new EncryptionKey(this, 'DatabaseKey', {
      alias: keyAlias(env, 'database'),
      description: `BodyScript ${env}: PostgreSQL storage, snapshots, Performance Insights and credentials`,
    });
    this.logsKey = new EncryptionKey(this, 'LogsKey', {
      alias: keyAlias(env, 'logs'),
      description: `BodyScript ${env}: CloudWatch log groups`,
      allowCloudWatchLogs: true,
    });
    this.backupKey = new EncryptionKey(this, 'BackupKey', {
      alias: keyAlias(env, 'backup'),
      description: `BodyScript ${env}: AWS Backup vault`,
    });

    this.database = new PostgresDatabase(this, 'Database', {
      vpc: props.vpc,
      vpcSubnets: { subnetGroupName: SUBNET_GROUPS.database },
      instanceIdentifier: databaseInstanceIdentifier(env),
      engineVersion: config.database.engineVersion,
      instanceClass: config.database.instanceClass,
      databaseName: config.database.databaseName,
      allocatedStorageGiB: config.database.allocatedStorageGiB,
      maxAllocatedStorageGiB: config.database.maxAllocatedStorageGiB,
      backupRetention: Duration.days(config.database.backupRetentionDays),
      multiAz: config.database.multiAz,
      performanceInsightsRetentionDays: config.database.performanceInsightsRetentionDays,
      monitoringInterval: Duration.seconds(config.database.monitoringIntervalSeconds),
      encryptionKey: this.databaseKey.key,
      logKey: this.logsKey.key,
      logRetention,
      credentialsSecretName: databaseSecretName(env),
      credentialRotation: Duration.days(config.database.credentialRotationDays),
    });

    const account = this.account;
    const region = this.region;
    const lifecycle = {
      noncurrentVersionExpiration: Duration.days(config.storage.noncurrentVersionExpirationDays),
      abortIncompleteMultipartUploadAfter: Duration.days(config.storage.abortIncompleteUploadDays),
    };
    this.accessLogsBucket = new SecureBucket(this, 'AccessLogsBucket', {
      bucketName: bucketName(env, 'access-logs', account, region),
      isAccessLogBucket: true,
      sseS3Reason:
        'S3 server access logging can only deliver to buckets encrypted with SSE-S3 (AES-256); the logs hold request metadata, not uploaded content.',
      withoutReplicationReason:
        'Access logs describe requests to this region\'s buckets and are kept as regional audit records; the standby region keeps its own.',
      currentVersionExpiration: Duration.days(config.storage.accessLogExpirationDays),
      ...lifecycle,
    }).bucket;
    this.uploadsBucket = new SecureBucket(this, 'UploadsBucket', {
      bucketName: bucketName(env, 'uploads', account, region),
      encryptionKey: this.dataKey.key,
      serverAccessLogsBucket: this.accessLogsBucket,
      withoutReplicationReason: NOT_YET_REPLICATED,
      ...lifecycle,
    }).bucket;
    this.resultsBucket = new SecureBucket(this, 'ResultsBucket', {
      bucketName: bucketName(env, 'results', account, region),
      encryptionKey: this.dataKey.key,
      serverAccessLogsBucket: this.accessLogsBucket,
      withoutReplicationReason: NOT_YET_REPLICATED,
      ...lifecycle,
    }).bucket;
    this.frontendBucket = new SecureBucket(this, 'FrontendBucket', {
      bucketName: bucketName(env, 'frontend', account, region),
      serverAccessLogsBucket: this.accessLogsBucket,
      sseS3Reason:
        'The frontend bucket holds the public React bundle that CloudFront serves to every visitor; SSE-S3 encrypts it at rest, and a customer-managed key would protect nothing secret while requiring a key policy that names the distribution.',
      withoutReplicationReason: NOT_YET_REPLICATED,
      ...lifecycle,
    }).bucket;

    this.processingDeadLetterQueue = new sqs.Queue(this, 'ProcessingDeadLetterQueue', {
      queueName: processingDeadLetterQueueName(env),
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.dataKey.key,
      enforceSSL: true,
      // The longest SQS allows: failed jobs wait here for a person.
      retentionPeriod: Duration.days(14),
      // Only the processing queue may send its failures here. The ARN is built
      // from the name because a reference would make the two queues a cycle.
      redriveAllowPolicy: {
        redrivePermission: sqs.RedrivePermission.BY_QUEUE,
        sourceQueues: [sqs.Queue.fromQueueArn(this, 'ProcessingQueueArn', this.formatArn({ service: 'sqs', resource: processingQueueName(env) }))],
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.processingQueue = new sqs.Queue(this, 'ProcessingQueue', {
      queueName: processingQueueName(env),
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.dataKey.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      // A video takes 15–30 minutes (2–4 an hour per worker); a message stays
      // invisible for longer than the slowest job, so it is not picked up twice.
      visibilityTimeout: Duration.minutes(45),
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.processingDeadLetterQueue, maxReceiveCount: 3 },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new events.Rule(this, 'UploadCreatedRule', {
      description: 'New objects in the uploads bucket become processing jobs',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [this.uploadsBucket.bucketName] } },
      },
      targets: [new targets.SqsQueue(this.processingQueue)],
    });

    this.backupVault = new backup.BackupVault(this, 'BackupVault', {
      backupVaultName: backupVaultName(env),
      encryptionKey: this.backupKey.key,
      removalPolicy: RemovalPolicy.RETAIN,
      // Governance-mode lock: recovery points cannot be deleted early by mistake.
      lockConfiguration: { minRetention: Duration.days(7) },
    });
    this.backupPlan = new backup.BackupPlan(this, 'BackupPlan', {
      backupPlanName: backupPlanName(env),
      backupVault: this.backupVault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'Daily',
          scheduleExpression: events.Schedule.cron({ hour: String(config.backup.dailyStartHourUtc), minute: '0' }),
          startWindow: Duration.hours(1),
          completionWindow: Duration.hours(8),
          deleteAfter: Duration.days(config.backup.retentionDays),
        }),
      ],
    });
    const backupRole = new iam.Role(this, 'BackupRole', {
      assumedBy: new iam.ServicePrincipal('backup.amazonaws.com'),
      description: `AWS Backup for BodyScript ${env}: back up and restore the database and buckets`,
      managedPolicies: [
        'service-role/AWSBackupServiceRolePolicyForBackup',
        'service-role/AWSBackupServiceRolePolicyForRestores',
        'AWSBackupServiceRolePolicyForS3Backup',
        'AWSBackupServiceRolePolicyForS3Restore',
      ].map((name) => iam.ManagedPolicy.fromAwsManagedPolicyName(name)),
    });
    this.backupPlan.addSelection('DataSelection', {
      backupSelectionName: 'database-and-buckets',
      role: backupRole,
      disableDefaultBackupPolicy: true,
      resources: [
        backup.BackupResource.fromRdsDatabaseInstance(this.database.instance),
        backup.BackupResource.fromArn(this.uploadsBucket.bucketArn),
        backup.BackupResource.fromArn(this.resultsBucket.bucketArn),
        backup.BackupResource.fromArn(this.frontendBucket.bucketArn),
      ],
    });
    for (const key of [this.dataKey, this.databaseKey]) {
      key.key.grantEncryptDecrypt(backupRole);
    }
    acknowledge(
      backupRole,
      [
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores]',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup]',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore]',
      ],
      'These are the service-role policies AWS Backup documents for RDS and S3 backup and restore; the role can only be assumed by backup.amazonaws.com and AWS maintains the policies as the services change.',
    );
    acknowledge(
      backupRole.node.findChild('DefaultPolicy'),
      [
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
        'NIST.800.53.R5-IAMNoInlinePolicy',
        'HIPAA.Security-IAMNoInlinePolicy',
      ],
      'Inline policy for the AWS Backup role only, granting encrypt/decrypt on exactly the data and database keys; the action wildcards are the GenerateDataKey*/ReEncrypt* families Backup needs to copy encrypted recovery points.',
    );
    if (!config.database.multiAz) {
      acknowledge(
        this.database.instance,
        ['AwsSolutions-RDS3', 'NIST.800.53.R5-RDSMultiAZSupport', 'HIPAA.Security-RDSMultiAZSupport', 'cdk-validator-cfnguard::rds_instance_multi_az_support_check'],
        `The ${env} database runs in one AZ by configuration (database.multiAz=false) to halve its cost; it holds no customer data, and point-in-time recovery plus daily backups bound what an AZ loss costs. Production is Multi-AZ.`,
      );
    }
  }
}
