import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';

/** A frontend bucket whose policy this construct writes, by name. */
export interface FrontendBucketRef {
  /** Bucket name (see `bucketName()` in lib/naming.ts). */
  readonly bucketName: string;
  /** Region of the bucket. */
  readonly region: string;
}

/**
 * Properties of a FrontendBucketAccess.
 */
export interface FrontendBucketAccessProps {
  /** The distribution that reads the buckets with origin access control. */
  readonly distribution: cloudfront.IDistribution;
  /** The frontend bucket in this stack's region. */
  readonly primary: FrontendBucketRef;
  /**
   * The frontend replica in another region, the distribution's failover origin.
   *
   * @default - none
   */
  readonly replica?: FrontendBucketRef;
  /** Key of the custom resource's log group (replica only). */
  readonly logKey: kms.IKey;
  /** Retention of that log group. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * The statements every BodyScript bucket policy starts with, as SecureBucket's
 * `enforceSSL` and `minimumTLSVersion: 1.2` write them: no request without TLS,
 * none below TLS 1.2.
 */
export function tlsOnlyStatements(bucketArn: string): iam.PolicyStatement[] {
  const resources = [bucketArn, `${bucketArn}/*`];
  return [
    new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:*'],
      resources,
      conditions: { Bool: { 'aws:SecureTransport': 'false' } },
    }),
    new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:*'],
      resources,
      conditions: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
    }),
  ];
}

/**
 * The frontend buckets' policies, bound to the one distribution that reads
 * them: CloudFront may read the web app only for `AWS:SourceArn` equal to this
 * distribution's ARN, not for any distribution of the account
 * (`distribution/*`, security review 2026-11-30).
 *
 * Why here and not in the buckets' stacks: the data stacks are deployed before
 * the distribution (the Services stack reads their buckets), so they cannot
 * name it without a dependency cycle. Their SecureBuckets therefore have no
 * policy (`bucketPolicyOwner`), and this construct, in the distribution's
 * stack, writes each bucket's whole policy: the TLS-only statements of every
 * BodyScript bucket plus origin access control for this distribution.
 *
 * - The primary bucket (same region): an `AWS::S3::BucketPolicy`, retained
 *   when the stack is deleted (the TLS statements must outlive it).
 * - The replica (us-west-2): CloudFormation manages a bucket policy only in
 *   its own region, so a custom resource calls PutBucketPolicy there; its
 *   delete leaves the TLS-only statements.
 */
export class FrontendBucketAccess extends Construct {
  /** Policy of the primary frontend bucket. */
  public readonly primaryPolicy: s3.CfnBucketPolicy;
  /** The custom resource that writes the replica's policy, when there is a replica. */
  public readonly replicaPolicy?: cr.AwsCustomResource;

  constructor(scope: Construct, id: string, props: FrontendBucketAccessProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (props.primary.region !== stack.region) {
      throw new Error(`FrontendBucketAccess ${this.node.path}: primary must be in this stack's region (${stack.region}), got ${props.primary.region}; give a bucket of another region as replica`);
    }
    if (props.replica && props.replica.region === stack.region) {
      throw new Error(`FrontendBucketAccess ${this.node.path}: replica must be in another region than ${stack.region}; give a bucket of this region as primary`);
    }
    const distributionArn = `arn:${stack.partition}:cloudfront::${stack.account}:distribution/${props.distribution.distributionId}`;
    const documentFor = (bucket: FrontendBucketRef, withCloudFront: boolean) => {
      const bucketArn = `arn:${stack.partition}:s3:::${bucket.bucketName}`;
      const statements = tlsOnlyStatements(bucketArn);
      if (withCloudFront) {
        statements.push(
          new iam.PolicyStatement({
            sid: 'AllowCloudFrontOriginAccessControl',
            principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
            actions: ['s3:GetObject'],
            resources: [`${bucketArn}/*`],
            conditions: { StringEquals: { 'AWS:SourceArn': distributionArn } },
          }),
        );
      }
      return new iam.PolicyDocument({ statements });
    };

    this.primaryPolicy = new s3.CfnBucketPolicy(this, 'PrimaryPolicy', { bucket: props.primary.bucketName, policyDocument: documentFor(props.primary, true) });
    this.primaryPolicy.applyRemovalPolicy(RemovalPolicy.RETAIN);

    if (props.replica) {
      const replica = props.replica;
      const put = (withCloudFront: boolean): cr.AwsSdkCall => ({
        service: 'S3',
        action: 'putBucketPolicy',
        region: replica.region,
        parameters: { Bucket: replica.bucketName, Policy: stack.toJsonString(documentFor(replica, withCloudFront)) },
        physicalResourceId: cr.PhysicalResourceId.of(`${replica.bucketName}-policy`),
      });
      const logGroup = new logs.LogGroup(this, 'ReplicaPolicyLogs', { encryptionKey: props.logKey, retention: props.logRetention });
      this.replicaPolicy = new cr.AwsCustomResource(this, 'ReplicaPolicy', {
        resourceType: 'Custom::FrontendReplicaBucketPolicy',
        onCreate: put(true),
        onUpdate: put(true),
        // The stack is going away: keep the bucket TLS-only, without CloudFront.
        onDelete: put(false),
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({ actions: ['s3:PutBucketPolicy'], resources: [`arn:${stack.partition}:s3:::${replica.bucketName}`] }),
        ]),
        installLatestAwsSdk: false,
        logGroup,
      });
      acknowledge(
        this.replicaPolicy,
        ['NIST.800.53.R5-IAMNoInlinePolicy', 'HIPAA.Security-IAMNoInlinePolicy'],
        'Deployment-time custom resource of CDK (AwsCustomResource): its inline policy allows only s3:PutBucketPolicy on the one replica frontend bucket.',
      );
      if (Stack.of(props.logKey) !== stack) {
        acknowledge(
          logGroup,
          ['cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check'],
          'KmsKeyId is the environment logs key of the data stack; the Control Tower rule only recognizes a literal ARN or a key in the same template, not a cross-stack reference.',
        );
      }
      const provider = stack.node.tryFindChild('AWS679f53fac002430cb0da5b7982bd2287');
      if (provider) {
        acknowledge(
          provider,
          [
            'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
            'NIST.800.53.R5-LambdaConcurrency',
            'HIPAA.Security-LambdaConcurrency',
            'NIST.800.53.R5-LambdaDLQ',
            'HIPAA.Security-LambdaDLQ',
            'NIST.800.53.R5-LambdaInsideVPC',
            'HIPAA.Security-LambdaInsideVPC',
            'cdk-validator-cfnguard::lambda_inside_vpc_check',
          ],
          "CDK's AwsCustomResource function (its role has the basic execution policy for its logs) runs only when CloudFormation creates, changes or deletes the replica frontend bucket's policy; it calls one S3 API (no VPC needed), and its failure is the failed stack update (no DLQ or reserved concurrency would protect anything).",
        );
      }
    }
  }
}
