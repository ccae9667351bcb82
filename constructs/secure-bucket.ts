import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';

/**
 * Properties of a SecureBucket.
 */
export interface SecureBucketProps {
  /** Physical bucket name (see `bucketName()` in lib/naming.ts). */
  readonly bucketName: string;

  /**
   * Customer-managed key that encrypts objects.
   *
   * @default - SSE-S3 (AES-256). Only the access-log bucket and buckets served
   *   through CloudFront use it; S3 server access logging cannot write to a
   *   KMS-encrypted target.
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Why this bucket uses SSE-S3 instead of a customer-managed key. Required when
   * `encryptionKey` is not given; it becomes the compliance acknowledgement.
   *
   * @default - none; the bucket must then have an `encryptionKey`
   */
  readonly sseS3Reason?: string;

  /**
   * Bucket that receives this bucket's server access logs.
   *
   * @default - none; only allowed for the access-log bucket itself (`isAccessLogBucket`).
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  /**
   * This bucket is the target of other buckets' server access logs: objects
   * expire after `currentVersionExpiration` and it logs to nowhere (a log bucket
   * logging to itself would loop).
   *
   * @default false
   */
  readonly isAccessLogBucket?: boolean;

  /** Old versions are deleted this long after they stop being current. */
  readonly noncurrentVersionExpiration: Duration;

  /** Unfinished multipart uploads are aborted after this long. */
  readonly abortIncompleteMultipartUploadAfter: Duration;

  /**
   * Current objects expire after this long (access logs only).
   *
   * @default - current objects never expire
   */
  readonly currentVersionExpiration?: Duration;

  /**
   * Cross-region replication rules (the disaster-recovery standby adds them).
   *
   * @default - no replication
   */
  readonly replicationRules?: s3.ReplicationRule[];

  /**
   * Why this bucket is not replicated to another region. Required when
   * `replicationRules` is not given; it becomes the compliance acknowledgement.
   *
   * @default - none; the bucket must then have `replicationRules`
   */
  readonly withoutReplicationReason?: string;

  /**
   * Role S3 assumes to replicate.
   *
   * @default - a role is created when `replicationRules` is set
   */
  readonly replicationRole?: iam.IRole;

  /**
   * Why the bucket's policy is written by another stack (e.g. the stack of the
   * distribution that reads it, which this stack cannot name without a cycle).
   * The bucket then gets no policy here, and that stack must write the whole
   * policy, TLS-only statements included (`tlsOnlyStatements()` of
   * constructs/frontend-bucket-access.ts). It becomes the compliance acknowledgement.
   *
   * @default - the policy is written here: TLS only, TLS 1.2 minimum
   */
  readonly bucketPolicyOwner?: string;

  /**
   * How the bucket is removed with its stack.
   *
   * @default RemovalPolicy.RETAIN - the bucket and its data outlive the stack
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An S3 bucket that meets BodyScript's baseline for every bucket: versioned,
 * encrypted, all public access blocked, TLS-only (1.2+) bucket policy, object
 * ownership enforced (no ACLs), server access logging, lifecycle rules for
 * noncurrent versions and incomplete uploads, Object Lock available, events
 * published to EventBridge, retained when its stack is deleted.
 */
export class SecureBucket extends Construct {
  /** The bucket. */
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);

    if (!props.isAccessLogBucket && !props.serverAccessLogsBucket) {
      throw new Error(`SecureBucket ${this.node.path}: serverAccessLogsBucket is required unless isAccessLogBucket is true`);
    }
    if (props.isAccessLogBucket && props.encryptionKey) {
      throw new Error(`SecureBucket ${this.node.path}: an access-log bucket must use SSE-S3; S3 server access logging cannot write to SSE-KMS buckets`);
    }
    if (props.currentVersionExpiration && !props.isAccessLogBucket) {
      throw new Error(`SecureBucket ${this.node.path}: currentVersionExpiration is only for access-log buckets; application data never expires by itself`);
    }

    if (!props.encryptionKey && !props.sseS3Reason) {
      throw new Error(`SecureBucket ${this.node.path}: give an encryptionKey, or an sseS3Reason saying why SSE-S3 is enough`);
    }
    if (!props.replicationRules?.length && !props.withoutReplicationReason) {
      throw new Error(`SecureBucket ${this.node.path}: give replicationRules, or a withoutReplicationReason saying why the data need not survive a region loss`);
    }

    const lifecycleRules: s3.LifecycleRule[] = [
      {
        id: 'ExpireNoncurrentVersions',
        noncurrentVersionExpiration: props.noncurrentVersionExpiration,
        // Delete markers left with no versions behind them only slow listings.
        expiredObjectDeleteMarker: props.currentVersionExpiration ? undefined : true,
      },
      {
        id: 'AbortIncompleteMultipartUploads',
        abortIncompleteMultipartUploadAfter: props.abortIncompleteMultipartUploadAfter,
      },
    ];
    if (props.currentVersionExpiration) {
      lifecycleRules.push({ id: 'ExpireLogs', expiration: props.currentVersionExpiration });
    }

    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      versioned: true,
      encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: props.encryptionKey,
      // S3 Bucket Keys cut KMS request costs by orders of magnitude for busy buckets.
      bucketKeyEnabled: props.encryptionKey ? true : undefined,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: props.bucketPolicyOwner ? undefined : true,
      minimumTLSVersion: props.bucketPolicyOwner ? undefined : 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: props.serverAccessLogsBucket ? `${props.bucketName}/` : undefined,
      targetObjectKeyFormat: props.serverAccessLogsBucket ? s3.TargetObjectKeyFormat.partitionedPrefix(s3.PartitionDateSource.EVENT_TIME) : undefined,
      lifecycleRules,
      // Object Lock (with no default retention) lets an incident responder put
      // a legal hold on evidence; it can only be turned on when a bucket is created.
      objectLockEnabled: true,
      replicationRules: props.replicationRules,
      replicationRole: props.replicationRole,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    // Every object event goes to EventBridge: the processing queue subscribes to
    // uploads there, and other buckets' events are available to audit rules.
    // Set on the L1 because the L2 option adds a notification custom resource
    // (a Lambda) for what is a plain bucket property.
    (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };

    if (props.bucketPolicyOwner) {
      acknowledge(
        this.bucket,
        ['AwsSolutions-S10', 'NIST.800.53.R5-S3BucketSSLRequestsOnly', 'HIPAA.Security-S3BucketSSLRequestsOnly', 'cdk-validator-cfnguard::s3_bucket_ssl_requests_only_check'],
        props.bucketPolicyOwner,
      );
    }
    if (props.sseS3Reason) {
      acknowledge(
        this.bucket,
        ['NIST.800.53.R5-S3DefaultEncryptionKMS', 'HIPAA.Security-S3DefaultEncryptionKMS', 'cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check'],
        props.sseS3Reason,
      );
    }
    if (props.withoutReplicationReason) {
      acknowledge(this.bucket, ['NIST.800.53.R5-S3BucketReplicationEnabled', 'HIPAA.Security-S3BucketReplicationEnabled'], props.withoutReplicationReason);
    }
    if (props.isAccessLogBucket) {
      acknowledge(
        this.bucket,
        ['AwsSolutions-S1', 'NIST.800.53.R5-S3BucketLoggingEnabled', 'HIPAA.Security-S3BucketLoggingEnabled', 'cdk-validator-cfnguard::s3_bucket_logging_enabled_check'],
        'This is the server access log bucket itself; logging it into itself would create an endless loop of log records, and CloudTrail data events cover access to it.',
      );
    }
  }
}
