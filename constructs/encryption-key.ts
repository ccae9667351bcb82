import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * Properties of an EncryptionKey.
 */
export interface EncryptionKeyProps {
  /** Alias, e.g. `alias/bodyscript-staging/data` (see `keyAlias()` in lib/naming.ts). */
  readonly alias: string;
  /** What the key protects, shown in the KMS console. */
  readonly description: string;
  /**
   * Let CloudWatch Logs in this account and region encrypt log groups with the key.
   *
   * @default false
   */
  readonly allowCloudWatchLogs?: boolean;
  /**
   * AWS service principals (e.g. `cloudwatch.amazonaws.com` so alarms can publish
   * to an encrypted SNS topic) that may use the key for data keys and decryption,
   * limited to calls made on behalf of this account.
   *
   * @default - none
   */
  readonly servicePrincipals?: string[];
  /**
   * Waiting period before a scheduled deletion completes.
   *
   * @default Duration.days(30) - the longest KMS allows, to leave time to cancel
   */
  readonly pendingWindow?: Duration;
}

/**
 * A customer-managed KMS key with yearly rotation, retained when its stack is
 * deleted (data encrypted with a deleted key is lost for good), and an alias.
 */
export class EncryptionKey extends Construct {
  /** The key. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps) {
    super(scope, id);
    if (!props.alias.startsWith('alias/') || props.alias.startsWith('alias/aws/')) {
      throw new Error(`EncryptionKey ${this.node.path}: alias must start with 'alias/' and not 'alias/aws/', got '${props.alias}'`);
    }
    const stack = Stack.of(this);

    this.key = new kms.Key(this, 'Key', {
      description: props.description,
      enableKeyRotation: true,
      alias: props.alias,
      pendingWindow: props.pendingWindow ?? Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Only AWS services acting for AWS resources (RDS, EBS, Backup…) may create
    // grants: a person or workload could otherwise hand the key to anyone.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyGrantsExceptForAwsResources',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
        },
      }),
    );

    if (props.allowCloudWatchLogs) {
      // CloudWatch Logs calls KMS itself; the encryption-context condition keeps
      // the grant to log groups of this account and region.
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowCloudWatchLogs',
          principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
          actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          resources: ['*'],
          conditions: {
            ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:*` },
          },
        }),
      );
    }
    for (const service of props.servicePrincipals ?? []) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Allow${service.split('.')[0].replace(/[^A-Za-z0-9]/g, '')}`,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
    }
  }
}
