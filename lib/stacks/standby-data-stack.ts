import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { EncryptionKey } from '../../constructs/encryption-key';
import { SecureBucket } from '../../constructs/secure-bucket';
import type { EnvironmentConfig } from '../config';
import { backupVaultName, bucketName, type ReplicatedBucketPurpose, standbyKeyAlias } from '../naming';

export interface StandbyDataStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/** Why the standby's replica buckets do not replicate further. */
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

  constructor(scope: Construct, id: string, props: StandbyDataStackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const { config } = props;
    const env = config.name;
    if (props.env?.region !== config.standby.region || props.env?.account !== config.standby.account) {
      throw new Error(`StandbyDataStack ${id}: env must be the standby location ${config.standby.account}/${config.standby.region} (config standby)`);
    }

    this.dataKey = new EncryptionKey(this, 'StandbyDataKey', {
      alias: standbyKeyAlias(env, 'data'),
      description: `BodyScript ${env} standby: replicated uploads and results`,
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
      bucketName: bucketName(env, 'access-logs', account, region),
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
        ...lifecycle,
      }).bucket;
    this.replicaBuckets = {
      uploads: replica('UploadsReplicaBucket', 'uploads'),
      results: replica('ResultsReplicaBucket', 'results'),
      frontend: replica('FrontendReplicaBucket', 'frontend'),
    };

    this.backupVault = new backup.BackupVault(this, 'StandbyBackupVault', {
      backupVaultName: backupVaultName(env),
      encryptionKey: this.backupKey.key,
      removalPolicy: RemovalPolicy.RETAIN,
      // Same governance-mode lock as the primary vault.
      lockConfiguration: { minRetention: Duration.days(7) },
    });
  }
}
