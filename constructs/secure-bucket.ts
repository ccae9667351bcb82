import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, MINIMUM_REASON_LENGTH } from '../lib/compliance';
import { breakGlassRoleArnIn, cloudFormationExecutionRoleArn, denyAllPrincipalsExcept } from './encryption-key';

/**
 * Why an access-log bucket has no Object Lock at all, not even without a
 * default retention (Guard rule BODYSCRIPT_S3_ACCESS_LOG_DESTINATION_WITHOUT_OBJECT_LOCK).
 */
export const ACCESS_LOG_DESTINATION_WITHOUT_OBJECT_LOCK =
  'S3 server access logging does not deliver to a bucket with Object Lock: "S3 buckets that have S3 Object Lock enabled can\'t be used as destination buckets for server access logs. Your destination bucket must not have a default retention period configuration." (S3 User Guide, "Enabling Amazon S3 server access logging"; "Object Lock considerations")';

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
   * Object Lock default retention: every new object version cannot be deleted
   * or overwritten for this long (a DELETE without a version id still only adds
   * a delete marker). Adding or changing it on an existing bucket is an
   * in-place update (CloudFormation `ObjectLockConfiguration`: "Update
   * requires: No interruption"; `ObjectLockEnabled` stays as it was).
   *
   * Two consequences the writers of the bucket must live with: S3 refuses a
   * PutObject without a `Content-MD5` or `x-amz-checksum-*` header ("The
   * Content-MD5 or x-amz-sdk-checksum-algorithm header is required for any
   * request to upload an object with a retention period configured using
   * Amazon S3 Object Lock", PutObject API reference), and in GOVERNANCE mode
   * only a principal with `s3:BypassGovernanceRetention` can delete a locked
   * version early: the bucket policy denies it (and changing the bucket's
   * Object Lock configuration) to everyone but the break-glass role.
   *
   * @default - none; the bucket must then have a `withoutDefaultRetentionReason`
   */
  readonly defaultRetention?: s3.ObjectLockRetention;

  /**
   * Why new objects in this bucket get no Object Lock default retention.
   * Required when `defaultRetention` is not given, so that no bucket is left
   * without one by omission. Object Lock stays available for legal holds.
   *
   * @default - none; the bucket must then have a `defaultRetention`
   */
  readonly withoutDefaultRetentionReason?: string;

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
 * noncurrent versions and incomplete uploads, events published to EventBridge,
 * retained when its stack is deleted; Object Lock on (except on the access-log
 * bucket, where S3 refuses it) with a default retention or a stated reason for
 * none.
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

    if (props.isAccessLogBucket && (props.defaultRetention || props.withoutDefaultRetentionReason !== undefined)) {
      throw new Error(
        `SecureBucket ${this.node.path}: an access-log bucket has no Object Lock, so neither defaultRetention nor withoutDefaultRetentionReason applies (${ACCESS_LOG_DESTINATION_WITHOUT_OBJECT_LOCK})`,
      );
    }
    if (props.defaultRetention && props.withoutDefaultRetentionReason !== undefined) {
      throw new Error(`SecureBucket ${this.node.path}: give a defaultRetention or a withoutDefaultRetentionReason, not both`);
    }
    if (!props.isAccessLogBucket && !props.defaultRetention && (props.withoutDefaultRetentionReason ?? '').trim().length < MINIMUM_REASON_LENGTH) {
      throw new Error(
        `SecureBucket ${this.node.path}: give a defaultRetention (Object Lock), or a withoutDefaultRetentionReason of at least ${MINIMUM_REASON_LENGTH} characters saying why new objects may be deleted at once`,
      );
    }
    if (props.defaultRetention && props.bucketPolicyOwner) {
      throw new Error(`SecureBucket ${this.node.path}: a defaultRetention needs the bucket policy written here (it denies bypassing the retention), but bucketPolicyOwner says another stack writes it`);
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
      // Object Lock lets an incident responder put a legal hold on evidence even
      // without a default retention. Turning it off later replaces the bucket
      // (CloudFormation ObjectLockEnabled is create-only; S3 cannot disable it).
      objectLockEnabled: props.isAccessLogBucket ? undefined : true,
      objectLockDefaultRetention: props.defaultRetention,
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

    if (props.defaultRetention) this.guardRetention();

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
      acknowledge(this.bucket, ['cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check'], ACCESS_LOG_DESTINATION_WITHOUT_OBJECT_LOCK);
    }
  }

  /**
   * Only the break-glass role may undo the default retention: bypass GOVERNANCE
   * mode (delete a locked version, shorten or remove its retention) or change
   * the bucket's Object Lock configuration. CloudFormation's execution role may
   * still change the configuration, because it applies this template (a
   * shortened or removed retention is a dangerous change in the diff report).
   * The break-glass role is named in a condition, not as a principal: it is
   * created by the organization, not by this app (runbooks/break-glass.md).
   */
  private guardRetention(): void {
    const stack = Stack.of(this);
    const breakGlassRoleArn = breakGlassRoleArnIn(stack);
    this.bucket.addToResourcePolicy(
      denyAllPrincipalsExcept('DenyGovernanceBypassExceptBreakGlass', ['s3:BypassGovernanceRetention'], [this.bucket.arnForObjects('*')], [breakGlassRoleArn]),
    );
    this.bucket.addToResourcePolicy(
      denyAllPrincipalsExcept('DenyObjectLockChangesExceptBreakGlassAndCloudFormation', ['s3:PutBucketObjectLockConfiguration'], [this.bucket.bucketArn], [breakGlassRoleArn, cloudFormationExecutionRoleArn(stack)]),
    );
  }
}
