import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { backupVaultLock } from '../../constructs/daily-backups';
import { EncryptionKey } from '../../constructs/encryption-key';
import {
  DELIVERED_LOGS_WITHOUT_RETENTION,
  FRONTEND_BUCKET_POLICY_OWNER,
  FRONTEND_WITHOUT_RETENTION,
  UPLOADS_WITHOUT_RETENTION,
} from '../../constructs/data-buckets';
import { ReplicaRepositoryTemplate } from '../../constructs/replica-repository-template';
import { SecureBucket } from '../../constructs/secure-bucket';
import { allowLoadBalancerLogDelivery, createProcessingQueues } from './processing-queues';
import { appOrigins, resultsCorsRule, uploadsCorsRule } from '../browser-access';
import type { EnvironmentConfig } from '../config';
import { backupVaultLockMode, resultsRetention } from './data-stack';
import {
  backupVaultName,
  bucketName,
  type ReplicatedBucketPurpose,
  repositoryNamePrefix,
  standbyKeyAlias,
} from '../naming';

export interface StandbyDataStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/** Why the standby's replica buckets do not replicate further. */
/**
 * How long the standby processing queue keeps an upload event. While the
 * standby is a pilot light nothing consumes the queue, and the primary region
 * processes every upload; after a failover the standby workers process what
 * the queue still holds. The window covers an upload the primary had not
 * finished when it failed: up to an hour of backlog (two queued videos per
 * worker), a 30-minute job and 15 minutes of replication. Older events expire
 * unprocessed: their results were written in the primary and replicated.
 */
export const STANDBY_QUEUE_RETENTION = Duration.hours(2);

const REPLICA_NOT_REPLICATED =
  'This bucket is itself the cross-region replica of the primary bucket (rule ReplicateToStandby with Replication Time Control); after a failover the failback runbook copies new objects back with S3 Batch Replication.';

/**
 * `BodyScript-<Env>-StandbyData`, in the standby region: what must exist before
 * the primary can replicate into it. The keys of the standby region, the replica
 * buckets of uploads, results and the frontend, and the backup vault that
 * receives copies of the daily recovery points. Stateful: termination
 * protection, everything retained, logical IDs pinned.
 *
 * The primary stacks name these resources by physical name and alias ARN
 * (lib/naming.ts), never by reference: a cross-region reference would be an
 * export that blocks updates of both regions.
 */
export class StandbyDataStack extends Stack {
  /** Encrypts the replicated uploads and results. */
  public readonly dataKey: EncryptionKey;
  /** Encrypts the read replica, the replicated automated backups and the secret replicas. */
  public readonly databaseKey: EncryptionKey;
  /** Encrypts the standby backup vault. */
  public readonly backupKey: EncryptionKey;
  public readonly accessLogsBucket: s3.Bucket;
  /** Replica buckets, by purpose. */
  public readonly replicaBuckets: Record<ReplicatedBucketPurpose, s3.Bucket>;
  /** Receives cross-region copies of the primary's daily recovery points. */
  public readonly backupVault: backup.BackupVault;
  /** Access logs of the standby services' load balancers (SSE-S3: ELB log delivery cannot write to SSE-KMS). */
  public readonly loadBalancerLogsBucket: s3.Bucket;
  /** Upload events of the replica uploads bucket, for the standby processing worker after a failover. */
  public readonly processingQueue: sqs.Queue;
  /** Jobs of the standby worker that failed `maxReceiveCount` times. */
  public readonly processingDeadLetterQueue: sqs.Queue;
  /**
   * How ECR creates the image replicas in this region (immutable tags, scan on
   * push): before BodyScript-<Env>-Registry replicates, hence in this stack.
   */
  public readonly replicaRepositories: ReplicaRepositoryTemplate;

  constructor(scope: Construct, id: string, props: StandbyDataStackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const { config } = props;
    const env = config.name;
    if (props.env?.region !== config.standby.region || props.env?.account !== config.standby.account) {
      throw new Error(`StandbyDataStack ${id}: env must be the standby location ${config.standby.account}/${config.standby.region} (config standby)`);
    }

    this.dataKey = new EncryptionKey(this, 'StandbyDataKey', {
      alias: standbyKeyAlias(env, 'data'),
      description: `BodyScript ${env} standby: replicated uploads and results, standby processing queues`,
      // EventBridge (rule to queue) encrypts messages for the standby processing queue.
      servicePrincipals: ['events.amazonaws.com'],
    });
    this.databaseKey = new EncryptionKey(this, 'StandbyDatabaseKey', {
      alias: standbyKeyAlias(env, 'database'),
      description: `BodyScript ${env} standby: read replica, replicated automated backups, secret replicas`,
    });
    this.backupKey = new EncryptionKey(this, 'StandbyBackupKey', {
      alias: standbyKeyAlias(env, 'backup'),
      description: `BodyScript ${env} standby: AWS Backup vault of cross-region copies`,
    });

    const account = this.account;
    const region = this.region;
    const lifecycle = {
      noncurrentVersionExpiration: Duration.days(config.storage.noncurrentVersionExpirationDays),
      abortIncompleteMultipartUploadAfter: Duration.days(config.storage.abortIncompleteUploadDays),
    };
    this.accessLogsBucket = new SecureBucket(this, 'StandbyAccessLogsBucket', {
      bucketName: bucketName(env, 's3-access-logs', account, region),
      isAccessLogBucket: true,
      sseS3Reason:
        'S3 server access logging can only deliver to buckets encrypted with SSE-S3 (AES-256); the logs hold request metadata, not uploaded content.',
      withoutReplicationReason: "Access logs describe requests to this region's buckets and are kept as regional audit records; the primary region keeps its own.",
      currentVersionExpiration: Duration.days(config.storage.accessLogExpirationDays),
      ...lifecycle,
    }).bucket;

    // Same encryption as the primary bucket of each purpose: the data buckets
    // with the standby data key (replication re-encrypts with it), the frontend
    // bundle with SSE-S3 because CloudFront serves it to everyone.
    const replica = (constructId: string, purpose: ReplicatedBucketPurpose) =>
      new SecureBucket(this, constructId, {
        bucketName: bucketName(env, purpose, account, region),
        encryptionKey: purpose === 'frontend' ? undefined : this.dataKey.key,
        sseS3Reason:
          purpose === 'frontend'
            ? 'Replica of the public React bundle that CloudFront serves to every visitor; SSE-S3 encrypts it at rest like the primary frontend bucket, and a customer-managed key would protect nothing secret.'
            : undefined,
        serverAccessLogsBucket: this.accessLogsBucket,
        withoutReplicationReason: REPLICA_NOT_REPLICATED,
        bucketPolicyOwner: purpose === 'frontend' ? FRONTEND_BUCKET_POLICY_OWNER : undefined,
        // The same default retention as the primary: replicas keep the retention
        // their source version had, and after a failover the standby services
        // write new results here directly.
        defaultRetention: purpose === 'results' ? resultsRetention(config) : undefined,
        withoutDefaultRetentionReason: { uploads: UPLOADS_WITHOUT_RETENTION, results: undefined, frontend: FRONTEND_WITHOUT_RETENTION }[purpose],
        ...lifecycle,
      }).bucket;
    this.replicaBuckets = {
      uploads: replica('UploadsReplicaBucket', 'uploads'),
      results: replica('ResultsReplicaBucket', 'results'),
      frontend: replica('FrontendReplicaBucket', 'frontend'),
    };
    // After a failover the standby api signs URLs of these replicas, which the
    // browser then calls from the app's origin exactly as it called the primary's.
    this.replicaBuckets.uploads.addCorsRule(uploadsCorsRule(appOrigins(config)));
    this.replicaBuckets.results.addCorsRule(resultsCorsRule(appOrigins(config)));
    // The web app's second origin: the distribution (services stack, us-east-1)
    // fails over to this replica through origin access control. Its policy names
    // that one distribution, so the Services stack writes it (FrontendBucketAccess).

    // Request logs of the standby load balancers, regional audit records like the primary's.
    this.loadBalancerLogsBucket = new SecureBucket(this, 'StandbyLoadBalancerLogsBucket', {
      bucketName: bucketName(env, 'alb-logs', account, region),
      serverAccessLogsBucket: this.accessLogsBucket,
      sseS3Reason: 'Load balancer log delivery can only write to buckets encrypted with SSE-S3 (AES-256); the logs hold request metadata, not uploaded content.',
      withoutReplicationReason: "Request logs describe this region's load balancers and are kept as regional audit records; the primary region keeps its own.",
      withoutDefaultRetentionReason: DELIVERED_LOGS_WITHOUT_RETENTION,
      ...lifecycle,
    }).bucket;
    this.loadBalancerLogsBucket.addLifecycleRule({ id: 'ExpireLogs', expiration: Duration.days(config.storage.accessLogExpirationDays) });
    allowLoadBalancerLogDelivery(this.loadBalancerLogsBucket, region, account);

    // The standby processing queue: same names as the primary's, in this region.
    // Replicated uploads (and, after a failover, uploads signed by the standby
    // api) raise Object Created events: the replica bucket publishes to EventBridge.
    const queues = createProcessingQueues(this, {
      idPrefix: 'Standby',
      env,
      key: this.dataKey.key,
      retention: STANDBY_QUEUE_RETENTION,
      uploadsBucket: this.replicaBuckets.uploads,
      ruleDescription: 'New objects in the replica uploads bucket become standby processing jobs',
    });
    this.processingQueue = queues.queue;
    this.processingDeadLetterQueue = queues.deadLetterQueue;

    // The registry settings of this region for the replicas of the environment's images.
    this.replicaRepositories = new ReplicaRepositoryTemplate(this, 'ReplicaRepositories', {
      repositoryPrefix: repositoryNamePrefix(env).replace(/\/$/, ''),
    });

    this.backupVault = new backup.BackupVault(this, 'StandbyBackupVault', {
      backupVaultName: backupVaultName(env),
      encryptionKey: this.backupKey.key,
      removalPolicy: RemovalPolicy.RETAIN,
      // Same lock as the primary vault: compliance in production, governance in staging.
      lockConfiguration: backupVaultLock(backupVaultLockMode(config), Duration.days(config.backup.retentionDays)),
      blockRecoveryPointDeletion: true,
    });
  }
}
