import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { SUBNET_GROUPS } from '../../constructs/application-vpc';
import { allowLoadBalancerLogDelivery, createProcessingQueues } from './processing-queues';
import { acknowledge } from '../compliance';
import { EncryptionKey } from '../../constructs/encryption-key';
import { PostgresDatabase } from '../../constructs/postgres-database';
import { SecureBucket } from '../../constructs/secure-bucket';
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
  partitionOf,
  REPLICATED_BUCKET_PURPOSES,
  REPLICATION_RULE_ID,
  type ReplicatedBucketPurpose,
  repositoryNamePrefix,
  standbyKeyAlias,
} from '../naming';


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
  /** Access logs of the services' load balancers (SSE-S3: ELB log delivery cannot write to SSE-KMS). */
  public readonly loadBalancerLogsBucket: s3.Bucket;
  /** Standard access logs of the CloudFront distribution (ACLs enabled: CloudFront delivers logs with an ACL). */
  public readonly cloudFrontLogsBucket: s3.Bucket;
  /** Upload events for the processing worker. */
  public readonly processingQueue: sqs.Queue;
  /** Jobs that failed `maxReceiveCount` times. */
  public readonly processingDeadLetterQueue: sqs.Queue;
  public readonly backupVault: backup.BackupVault;
  public readonly backupPlan: backup.BackupPlan;
  /** Role S3 assumes to replicate uploads, results and frontend objects to the standby region. */
  public readonly replicationRole: iam.Role;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const { config } = props;
    const env = config.name;
    const logRetention = config.logs.retentionDays as logs.RetentionDays;
    const standby = config.standby;
    // Keys of the standby region (BodyScript-<Env>-StandbyData), named by alias ARN:
    // a reference would be a cross-region export. Key.fromKeyArn takes the alias
    // ARN as it is, and S3 replication, Secrets Manager and RDS accept alias ARNs
    // where they expect a key; IAM does not, so grants name the key through the
    // kms:ResourceAliases condition instead (see the replication role).
    const standbyDataKeyAlias = standbyKeyAlias(env, 'data');
    const standbyDataKey = kms.Key.fromKeyArn(this, 'StandbyDataKeyAlias', keyAliasArn(standbyDataKeyAlias, standby));
    const standbyDatabaseKey = kms.Key.fromKeyArn(this, 'StandbyDatabaseKeyAlias', keyAliasArn(standbyKeyAlias(env, 'database'), standby));

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
      // The standby's services read the credentials in their own region after a
      // failover; the replica is encrypted with the standby database key.
      secretReplicaRegions: [{ region: standby.region, encryptionKey: standbyDatabaseKey }],
      automatedBackupReplication: { region: standby.region, kmsKeyArn: standbyDatabaseKey.keyArn },
    });

    const account = this.account;
    const region = this.region;
    this.replicationRole = new iam.Role(this, 'ReplicationRole', {
      assumedBy: new iam.ServicePrincipal('s3.amazonaws.com'),
      description: `S3 replication of BodyScript ${env} uploads, results and frontend to ${standby.region}`,
    });
    /**
     * The rule every replicated bucket carries: towards the bucket of the same
     * purpose in the standby region (named, not referenced), within 15 minutes
     * (Replication Time Control, with the metrics `ops dr status` and the alarms read).
     *
     * Delete markers are replicated on purpose: after a failover the standby must
     * not serve a video or result its owner deleted. An accidental delete is
     * recoverable on both sides, because both buckets are versioned and a delete
     * marker only hides the previous version (kept noncurrentVersionExpirationDays);
     * permanent deletions of versions are never replicated, so a mistake or an
     * attacker in the primary cannot destroy the standby copies.
     */
    const replicateToStandby = (purpose: ReplicatedBucketPurpose, kmsEncrypted: boolean): s3.ReplicationRule[] => [
      {
        id: REPLICATION_RULE_ID,
        destination: s3.Bucket.fromBucketName(this, `${purpose}StandbyBucket`, bucketName(env, purpose, standby.account, standby.region)),
        replicationTimeControl: s3.ReplicationTimeValue.FIFTEEN_MINUTES,
        metrics: s3.ReplicationTimeValue.FIFTEEN_MINUTES,
        deleteMarkerReplication: true,
        sseKmsEncryptedObjects: kmsEncrypted ? true : undefined,
        kmsKey: kmsEncrypted ? standbyDataKey : undefined,
      },
    ];
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
      replicationRules: replicateToStandby('uploads', true),
      replicationRole: this.replicationRole,
      ...lifecycle,
    }).bucket;
    this.resultsBucket = new SecureBucket(this, 'ResultsBucket', {
      bucketName: bucketName(env, 'results', account, region),
      encryptionKey: this.dataKey.key,
      serverAccessLogsBucket: this.accessLogsBucket,
      replicationRules: replicateToStandby('results', true),
      replicationRole: this.replicationRole,
      ...lifecycle,
    }).bucket;
    this.frontendBucket = new SecureBucket(this, 'FrontendBucket', {
      bucketName: bucketName(env, 'frontend', account, region),
      serverAccessLogsBucket: this.accessLogsBucket,
      sseS3Reason:
        'The frontend bucket holds the public React bundle that CloudFront serves to every visitor; SSE-S3 encrypts it at rest, and a customer-managed key would protect nothing secret while requiring a key policy that names the distribution.',
      replicationRules: replicateToStandby('frontend', false),
      replicationRole: this.replicationRole,
      ...lifecycle,
    }).bucket;
    this.grantReplication(config);

    // Logs of what serves traffic (BodyScript-<Env>-Services). They expire like
    // the server access logs and stay in this region, as regional audit records.
    const servingLogs = {
      serverAccessLogsBucket: this.accessLogsBucket,
      sseS3Reason: 'Load balancer and CloudFront log delivery can only write to buckets encrypted with SSE-S3 (AES-256); the logs hold request metadata, not uploaded content.',
      withoutReplicationReason: "Request logs describe this region's load balancers and distribution and are kept as regional audit records; the standby region keeps its own.",
      ...lifecycle,
    };
    this.loadBalancerLogsBucket = new SecureBucket(this, 'LoadBalancerLogsBucket', {
      bucketName: bucketName(env, 'alb-logs', account, region),
      ...servingLogs,
    }).bucket;
    this.cloudFrontLogsBucket = new SecureBucket(this, 'CloudFrontLogsBucket', {
      bucketName: bucketName(env, 'cloudfront-logs', account, region),
      ...servingLogs,
    }).bucket;
    // CloudFront standard logging writes each log file with an ACL granting the
    // bucket owner full control, which a bucket with ACLs disabled refuses.
    (this.cloudFrontLogsBucket.node.defaultChild as s3.CfnBucket).ownershipControls = { rules: [{ objectOwnership: 'BucketOwnerPreferred' }] };
    allowLoadBalancerLogDelivery(this.loadBalancerLogsBucket, region, account);
    for (const logBucket of [this.loadBalancerLogsBucket, this.cloudFrontLogsBucket]) {
      logBucket.addLifecycleRule({ id: 'ExpireLogs', expiration: Duration.days(config.storage.accessLogExpirationDays) });
    }
    // Origin access control: CloudFront reads the web app for this account's
    // distributions. The distribution (services stack) cannot be named here
    // without making the two stacks a cycle.
    this.frontendBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudFrontOriginAccessControl',
        principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:GetObject'],
        resources: [this.frontendBucket.arnForObjects('*')],
        conditions: { ArnLike: { 'AWS:SourceArn': `arn:${this.partition}:cloudfront::${account}:distribution/*` } },
      }),
    );

    // Registry-level (one per account and region): every image pushed to this
    // environment's repositories is copied to the standby region, where the
    // pilot-light task definitions pull it by the same repository name.
    new ecr.CfnReplicationConfiguration(this, 'ImageReplication', {
      replicationConfiguration: {
        rules: [
          {
            destinations: [{ region: standby.region, registryId: standby.account }],
            repositoryFilters: [{ filter: repositoryNamePrefix(env), filterType: 'PREFIX_MATCH' }],
          },
        ],
      },
    });

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
          // A copy of every recovery point in the standby region's vault
          // (BodyScript-<Env>-StandbyData), named by ARN, not referenced.
          copyActions: [
            {
              destinationBackupVault: backup.BackupVault.fromBackupVaultArn(this, 'StandbyBackupVault', backupVaultArn(env, standby)),
              deleteAfter: Duration.days(config.backup.retentionDays),
            },
          ],
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

  /**
   * What the replication role may do: read the replicated buckets' objects and
   * their Object Lock state, write replicas into the standby buckets of the same
   * purpose, decrypt with the data key and encrypt with the standby data key,
   * each only through S3 and for these buckets (encryption-context conditions).
   */
  private grantReplication(config: EnvironmentConfig): void {
    const env = config.name;
    const standby = config.standby;
    const partition = partitionOf(standby.region);
    const sources = [this.uploadsBucket, this.resultsBucket, this.frontendBucket];
    const destinations = REPLICATED_BUCKET_PURPOSES.map((purpose) => `arn:${partition}:s3:::${bucketName(env, purpose, standby.account, standby.region)}`);
    const kmsSources = [this.uploadsBucket, this.resultsBucket];
    const kmsDestinations = destinations.filter((arn) => !arn.includes('-frontend-'));
    const policy = new iam.ManagedPolicy(this, 'ReplicationPolicy', {
      description: `S3 replication of BodyScript ${env} buckets to ${standby.region}`,
      roles: [this.replicationRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadReplicationConfiguration',
          actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'],
          resources: sources.map((b) => b.bucketArn),
        }),
        new iam.PolicyStatement({
          sid: 'ReadSourceVersions',
          actions: ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging', 's3:GetObjectRetention', 's3:GetObjectLegalHold'],
          resources: sources.map((b) => b.arnForObjects('*')),
        }),
        new iam.PolicyStatement({
          sid: 'WriteStandbyReplicas',
          actions: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'],
          resources: destinations.map((arn) => `${arn}/*`),
        }),
        new iam.PolicyStatement({
          sid: 'DecryptSourceObjects',
          actions: ['kms:Decrypt'],
          resources: [this.dataKey.key.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` },
            // With S3 Bucket Keys the context is the bucket ARN, without them the object ARN.
            StringLike: { 'kms:EncryptionContext:aws:s3:arn': kmsSources.flatMap((b) => [b.bucketArn, b.arnForObjects('*')]) },
          },
        }),
        new iam.PolicyStatement({
          sid: 'EncryptStandbyReplicas',
          actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
          // The standby key's id is unknown here (another region's stack): it is
          // named by its alias, which IAM matches through kms:ResourceAliases.
          resources: [`arn:${partition}:kms:${standby.region}:${standby.account}:key/*`],
          conditions: {
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': standbyKeyAlias(env, 'data') },
            StringEquals: { 'kms:ViaService': `s3.${standby.region}.amazonaws.com` },
            StringLike: { 'kms:EncryptionContext:aws:s3:arn': kmsDestinations.flatMap((arn) => [arn, `${arn}/*`]) },
          },
        }),
      ],
    });
    acknowledge(
      policy,
      [
        'AwsSolutions-IAM5[Resource::<UploadsBucket6E76B673.Arn>/*]',
        'AwsSolutions-IAM5[Resource::<ResultsBucket260A22AD.Arn>/*]',
        'AwsSolutions-IAM5[Resource::<FrontendBucketA01D232A.Arn>/*]',
        ...destinations.map((arn) => `AwsSolutions-IAM5[Resource::${arn.replace(`arn:${partition}:`, 'arn:<AWS::Partition>:')}/*]`),
        ...destinations.map((arn) => `AwsSolutions-IAM5[Resource::${arn}/*]`),
        `AwsSolutions-IAM5[Resource::arn:${partition}:kms:${standby.region}:${standby.account}:key/*]`,
      ],
      'S3 replication reads every object version of the three replicated buckets and writes every replica into the matching standby bucket, so the object part of these ARNs is a wildcard; the standby key is matched by its alias (kms:ResourceAliases) and only through S3 for these buckets.',
    );
  }
}
