import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { resultsCorsRule, uploadsCorsRule } from '../lib/browser-access';
import { partitionOf } from '../lib/naming';
import { allowLoadBalancerLogDelivery } from '../lib/stacks/processing-queues';
import { SecureBucket } from './secure-bucket';

/** The buckets an environment keeps in its primary region. */
export interface DataBucketNames {
  readonly accessLogs: string;
  readonly uploads: string;
  readonly results: string;
  readonly frontend: string;
  /** Access logs of the services' load balancers. */
  readonly loadBalancerLogs: string;
  /** Standard logs of the CloudFront distribution. */
  readonly cloudFrontLogs: string;
}

/** The standby region's side of the replication: replica buckets (named, not referenced) and the key that encrypts replicas. */
export interface StandbyReplicaBuckets {
  readonly account: string;
  readonly region: string;
  /** Names of the replica buckets of uploads, results and frontend. */
  readonly bucketNames: { readonly uploads: string; readonly results: string; readonly frontend: string };
  /** The standby data key, as its alias ARN (S3 replication accepts one). */
  readonly dataKey: kms.IKey;
  /** Its alias, which IAM matches through kms:ResourceAliases (IAM does not take an alias ARN as a resource). */
  readonly dataKeyAlias: string;
}

/**
 * Properties of DataBuckets.
 */
export interface DataBucketsProps {
  readonly bucketNames: DataBucketNames;
  /** Encrypts uploads and results (and the replication reads with it). */
  readonly dataKey: kms.IKey;
  /** Where uploads, results and the frontend replicate to. */
  readonly standby: StandbyReplicaBuckets;
  /** Id of the replication rule on every replicated bucket (`ops dr status` and the replication metrics name it). */
  readonly replicationRuleId: string;
  /** How long a replaced or deleted object version is kept. */
  readonly noncurrentVersionExpiration: Duration;
  /** When an incomplete multipart upload is aborted. */
  readonly abortIncompleteMultipartUploadAfter: Duration;
  /** When access, load balancer and CloudFront logs expire. */
  readonly logExpiration: Duration;
  /**
   * Object Lock default retention of the results bucket (its standby replica
   * has the same, set by the standby data stack): a result version cannot be
   * deleted or overwritten for this long except by the break-glass role.
   */
  readonly resultsRetention: s3.ObjectLockRetention;
  /**
   * Origins of the web app (`https://app.example.com`): the uploads bucket
   * answers CORS for presigned PUTs from them, the results bucket for presigned
   * GETs (see lib/browser-access.ts).
   */
  readonly appOrigins: readonly string[];
}

/**
 * Why the frontend buckets (primary and replica) have no policy in the data
 * stacks: the policy names the one distribution that may read them, which the
 * data stacks are deployed before.
 */
export const FRONTEND_BUCKET_POLICY_OWNER =
  "The frontend bucket's policy (TLS only, TLS 1.2 minimum, and CloudFront origin access control for exactly one distribution) is written by FrontendBucketAccess in the Services stack, which owns the distribution; the data stacks are deployed before it and cannot name it without a dependency cycle.";

/**
 * Why the uploads buckets (primary and standby) have no Object Lock default
 * retention yet: the browser's presigned PUT would fail.
 */
export const UPLOADS_WITHOUT_RETENTION =
  "Uploads arrive as the browser's presigned PUT, and S3 refuses a PutObject into a bucket with a default retention unless it carries Content-MD5 or an x-amz-checksum-* header; the api does not yet sign a checksum into the URL (lib/browser-access.ts only allows the headers), so a default retention would fail every upload. Versioning and the standby replica keep an overwritten or deleted upload; runbooks/break-glass.md says what the app must change first.";

/** Why the frontend buckets (primary and standby) have no Object Lock default retention. */
export const FRONTEND_WITHOUT_RETENTION =
  'The frontend bucket holds the public React bundle, rebuilt from the repository by every deploy; BucketDeployment replaces and prunes its objects on each release, and nothing in it is data a user could lose.';

/** Why the load balancer and CloudFront log buckets have no Object Lock default retention. */
export const DELIVERED_LOGS_WITHOUT_RETENTION =
  "Request logs that lifecycle expires, written by Elastic Load Balancing's and CloudFront's own log delivery; neither service's documentation covers delivery into a bucket with a default retention (S3's own server access logging refuses Object Lock), so a retention could silently stop the logs. Versioning keeps an overwritten or deleted log file for the noncurrent-version period.";

/**
 * The buckets of an environment's primary region: uploads and results
 * (SSE-KMS with the data key) and the web app (SSE-S3, read by CloudFront
 * through origin access control), each replicated to its standby replica within
 * 15 minutes; and the regional log buckets (server access logs, load balancer
 * and CloudFront logs), which are not replicated.
 *
 * Delete markers are replicated on purpose: after a failover the standby must
 * not serve a video or result its owner deleted. An accidental delete is
 * recoverable on both sides, because both buckets are versioned and a delete
 * marker only hides the previous version; permanent deletions of versions are
 * never replicated, so a mistake or an attacker in the primary cannot destroy
 * the standby copies.
 *
 * The buckets are created with fixed construct IDs (`UploadsBucket`, …) under
 * this construct; a stack that adds it as its `Default` child keeps the
 * logical IDs pinned by test/stateful-resources.test.ts.
 */
export class DataBuckets extends Construct {
  public readonly accessLogsBucket: s3.Bucket;
  public readonly uploadsBucket: s3.Bucket;
  public readonly resultsBucket: s3.Bucket;
  public readonly frontendBucket: s3.Bucket;
  /** Access logs of the services' load balancers (SSE-S3: ELB log delivery cannot write to SSE-KMS). */
  public readonly loadBalancerLogsBucket: s3.Bucket;
  /** Standard access logs of the CloudFront distribution (ACLs enabled: CloudFront delivers logs with an ACL). */
  public readonly cloudFrontLogsBucket: s3.Bucket;
  /** Role S3 assumes to replicate uploads, results and frontend objects to the standby region. */
  public readonly replicationRole: iam.Role;

  constructor(scope: Construct, id: string, props: DataBucketsProps) {
    super(scope, id);
    const { bucketNames: names, standby } = props;
    const stack = Stack.of(this);
    if (standby.region === stack.region) {
      throw new Error(`DataBuckets ${this.node.path}: standby.region must be another region than the buckets' (${stack.region}), or replication protects nothing from a regional outage`);
    }
    const lifecycle = { noncurrentVersionExpiration: props.noncurrentVersionExpiration, abortIncompleteMultipartUploadAfter: props.abortIncompleteMultipartUploadAfter };
    this.replicationRole = new iam.Role(this, 'ReplicationRole', {
      // No aws:SourceAccount / aws:SourceArn (security review L2): the S3 User Guide's
      // trust policy for the replication role ("Setting up permissions for live
      // replication") has no condition and names no source ARN for replication; one S3
      // does not send would stop replication silently (lib/service-role-trust.ts). The
      // role's permissions name only these buckets and keys.
      assumedBy: new iam.ServicePrincipal('s3.amazonaws.com'),
      description: `S3 replication of ${names.uploads}, ${names.results} and ${names.frontend} to ${standby.region}`,
    });
    /** Towards the replica of the same purpose, within 15 minutes (Replication Time Control, with the metrics `ops dr status` and the alarms read). */
    const replicateTo = (destination: string, kmsEncrypted: boolean): Pick<s3.BucketProps, 'replicationRules' | 'replicationRole'> => ({
      replicationRole: this.replicationRole,
      replicationRules: [
        {
          id: props.replicationRuleId,
          destination: s3.Bucket.fromBucketName(this, `${destination}Replica`, destination),
          replicationTimeControl: s3.ReplicationTimeValue.FIFTEEN_MINUTES,
          metrics: s3.ReplicationTimeValue.FIFTEEN_MINUTES,
          deleteMarkerReplication: true,
          sseKmsEncryptedObjects: kmsEncrypted ? true : undefined,
          kmsKey: kmsEncrypted ? standby.dataKey : undefined,
        },
      ],
    });

    this.accessLogsBucket = new SecureBucket(this, 'AccessLogsBucket', {
      bucketName: names.accessLogs,
      isAccessLogBucket: true,
      sseS3Reason: 'S3 server access logging can only deliver to buckets encrypted with SSE-S3 (AES-256); the logs hold request metadata, not uploaded content.',
      withoutReplicationReason: "Access logs describe requests to this region's buckets and are kept as regional audit records; the standby region keeps its own.",
      currentVersionExpiration: props.logExpiration,
      ...lifecycle,
    }).bucket;
    const accessLogged = { serverAccessLogsBucket: this.accessLogsBucket, ...lifecycle };
    this.uploadsBucket = new SecureBucket(this, 'UploadsBucket', {
      bucketName: names.uploads,
      encryptionKey: props.dataKey,
      withoutDefaultRetentionReason: UPLOADS_WITHOUT_RETENTION,
      ...replicateTo(standby.bucketNames.uploads, true),
      ...accessLogged,
    }).bucket;
    this.resultsBucket = new SecureBucket(this, 'ResultsBucket', {
      bucketName: names.results,
      encryptionKey: props.dataKey,
      defaultRetention: props.resultsRetention,
      ...replicateTo(standby.bucketNames.results, true),
      ...accessLogged,
    }).bucket;
    this.frontendBucket = new SecureBucket(this, 'FrontendBucket', {
      bucketName: names.frontend,
      withoutDefaultRetentionReason: FRONTEND_WITHOUT_RETENTION,
      sseS3Reason:
        'The frontend bucket holds the public React bundle that CloudFront serves to every visitor; SSE-S3 encrypts it at rest, and a customer-managed key would protect nothing secret while requiring a key policy that names the distribution.',
      ...replicateTo(standby.bucketNames.frontend, false),
      ...accessLogged,
      bucketPolicyOwner: FRONTEND_BUCKET_POLICY_OWNER,
    }).bucket;
    if (props.appOrigins.length === 0) {
      throw new Error(`DataBuckets ${this.node.path}: appOrigins must name the web app's origin, or browsers cannot use the presigned URLs the api signs`);
    }
    this.uploadsBucket.addCorsRule(uploadsCorsRule(props.appOrigins));
    this.resultsBucket.addCorsRule(resultsCorsRule(props.appOrigins));
    this.grantReplication(props);

    // Logs of what serves traffic (BodyScript-<Env>-Services). They expire like
    // the server access logs and stay in this region, as regional audit records.
    const servingLogs = {
      sseS3Reason: 'Load balancer and CloudFront log delivery can only write to buckets encrypted with SSE-S3 (AES-256); the logs hold request metadata, not uploaded content.',
      withoutReplicationReason: "Request logs describe this region's load balancers and distribution and are kept as regional audit records; the standby region keeps its own.",
      withoutDefaultRetentionReason: DELIVERED_LOGS_WITHOUT_RETENTION,
      ...accessLogged,
    };
    this.loadBalancerLogsBucket = new SecureBucket(this, 'LoadBalancerLogsBucket', { bucketName: names.loadBalancerLogs, ...servingLogs }).bucket;
    this.cloudFrontLogsBucket = new SecureBucket(this, 'CloudFrontLogsBucket', { bucketName: names.cloudFrontLogs, ...servingLogs }).bucket;
    // CloudFront standard logging writes each log file with an ACL granting the
    // bucket owner full control, which a bucket with ACLs disabled refuses.
    (this.cloudFrontLogsBucket.node.defaultChild as s3.CfnBucket).ownershipControls = { rules: [{ objectOwnership: 'BucketOwnerPreferred' }] };
    allowLoadBalancerLogDelivery(this.loadBalancerLogsBucket, stack.region, stack.account);
    for (const logBucket of [this.loadBalancerLogsBucket, this.cloudFrontLogsBucket]) {
      logBucket.addLifecycleRule({ id: 'ExpireLogs', expiration: props.logExpiration });
    }
  }

  /**
   * What the replication role may do: read the replicated buckets' objects and
   * their Object Lock state, write replicas into the standby buckets of the same
   * purpose, decrypt with the data key and encrypt with the standby data key,
   * each only through S3 and for these buckets (encryption-context conditions).
   */
  private grantReplication(props: DataBucketsProps): void {
    const stack = Stack.of(this);
    const standby = props.standby;
    // A literal partition: the findings acknowledged below name these ARNs as strings.
    const partition = partitionOf(standby.region);
    const sources = [this.uploadsBucket, this.resultsBucket, this.frontendBucket];
    const replicaArn = (name: string) => `arn:${partition}:s3:::${name}`;
    const destinations = [standby.bucketNames.uploads, standby.bucketNames.results, standby.bucketNames.frontend].map(replicaArn);
    const kmsSources = [this.uploadsBucket, this.resultsBucket];
    const kmsDestinations = [standby.bucketNames.uploads, standby.bucketNames.results].map(replicaArn);
    const policy = new iam.ManagedPolicy(this, 'ReplicationPolicy', {
      description: `S3 replication of ${props.bucketNames.uploads}, ${props.bucketNames.results} and ${props.bucketNames.frontend} to ${standby.region}`,
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
          resources: [props.dataKey.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` },
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
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': standby.dataKeyAlias },
            StringEquals: { 'kms:ViaService': `s3.${standby.region}.amazonaws.com` },
            StringLike: { 'kms:EncryptionContext:aws:s3:arn': kmsDestinations.flatMap((arn) => [arn, `${arn}/*`]) },
          },
        }),
      ],
    });
    const logicalId = (bucket: s3.Bucket) => stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    acknowledge(
      policy,
      [
        ...sources.map((bucket) => `AwsSolutions-IAM5[Resource::<${logicalId(bucket)}.Arn>/*]`),
        ...destinations.map((arn) => `AwsSolutions-IAM5[Resource::${arn.replace(`arn:${partition}:`, 'arn:<AWS::Partition>:')}/*]`),
        ...destinations.map((arn) => `AwsSolutions-IAM5[Resource::${arn}/*]`),
        `AwsSolutions-IAM5[Resource::arn:${partition}:kms:${standby.region}:${standby.account}:key/*]`,
      ],
      'S3 replication reads every object version of the three replicated buckets and writes every replica into the matching standby bucket, so the object part of these ARNs is a wildcard; the standby key is matched by its alias (kms:ResourceAliases) and only through S3 for these buckets.',
    );
  }
}
