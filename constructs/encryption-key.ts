import { DefaultStackSynthesizer, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * The role people assume to delete, disable or re-permission a key: created by
 * the organization outside this app (runbooks/break-glass.md), so that no
 * template this app deploys can change who may assume it.
 */
export const BREAK_GLASS_ROLE_NAME = 'BodyScriptBreakGlass';

/** What only the break-glass role may do to a key: each one can make every recovery point unreadable. */
export const KEY_DESTRUCTION_ACTIONS = ['kms:ScheduleKeyDeletion', 'kms:DisableKey'] as const;

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
  /**
   * Name of the IAM role (in this account) that alone may schedule the key's
   * deletion, disable it or change its key policy (CloudFormation's execution
   * role may also change the policy: it applies this template).
   *
   * @default BREAK_GLASS_ROLE_NAME
   */
  readonly breakGlassRoleName?: string;
  /**
   * Other accounts whose AWS Backup copies recovery points encrypted with this
   * key (cross-account copy needs the source key shared with the destination
   * account). They may decrypt, describe and create grants for AWS resources.
   *
   * @default - none
   */
  readonly backupCopyAccounts?: string[];
}

/**
 * A customer-managed KMS key with yearly rotation, retained when its stack is
 * deleted (data encrypted with a deleted key is lost for good), and an alias.
 *
 * Its key policy keeps CDK's account statement (`kms:*` for the account root,
 * so IAM policies grant use of the key), but one credential cannot destroy it:
 * - `kms:ScheduleKeyDeletion` and `kms:DisableKey` are denied to every principal
 *   except the break-glass role (an explicit deny beats the account statement);
 * - `kms:PutKeyPolicy` is denied to every principal except the break-glass role
 *   and this account's CloudFormation execution role. KMS refuses a key policy
 *   that would stop its caller from calling PutKeyPolicy again (the key policy
 *   lockout safety check, PutKeyPolicy / CreateKey BypassPolicyLockoutSafetyCheck),
 *   and CloudFormation is that caller on every policy update; so a template can
 *   still rewrite the policy, and the organization's SCP (runbooks/break-glass.md)
 *   is what stops a template from then deleting the key.
 * The role is named in a condition (`aws:PrincipalArn`), not as a principal:
 * KMS refuses a policy whose principals do not exist, and the role is created
 * outside this app.
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

    const breakGlassRoleArn = breakGlassRoleArnIn(stack, props.breakGlassRoleName);
    this.key.addToResourcePolicy(
      denyAllPrincipalsExcept('DenyKeyDestructionExceptBreakGlass', [...KEY_DESTRUCTION_ACTIONS], ['*'], [breakGlassRoleArn]),
    );
    this.key.addToResourcePolicy(
      denyAllPrincipalsExcept('DenyKeyPolicyChangesExceptBreakGlassAndCloudFormation', ['kms:PutKeyPolicy'], ['*'], [breakGlassRoleArn, cloudFormationExecutionRoleArn(stack)]),
    );

    for (const account of props.backupCopyAccounts ?? []) {
      if (!/^\d{12}$/.test(account) || account === stack.account) {
        throw new Error(`EncryptionKey ${this.node.path}: backupCopyAccounts entries must be 12-digit account ids other than this key's account (${stack.account}), got '${account}'`);
      }
    }
    if (props.backupCopyAccounts?.length) {
      // AWS Backup's cross-account copy: the destination account reads the source
      // recovery point (an RDS snapshot stays encrypted with this key) and
      // re-encrypts it with its own vault key.
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowBackupCopyAccountsToDecrypt',
          principals: props.backupCopyAccounts.map((account) => new iam.AccountPrincipal(account)),
          actions: ['kms:Decrypt', 'kms:DescribeKey'],
          resources: ['*'],
        }),
      );
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowBackupCopyAccountsGrantsForAwsResources',
          principals: props.backupCopyAccounts.map((account) => new iam.AccountPrincipal(account)),
          actions: ['kms:CreateGrant'],
          resources: ['*'],
          conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
        }),
      );
    }

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

/** The break-glass role of the stack's account: created by the organization, not by this app (runbooks/break-glass.md). */
export function breakGlassRoleArnIn(stack: Stack, roleName: string = BREAK_GLASS_ROLE_NAME): string {
  return `arn:${stack.partition}:iam::${stack.account}:role/${roleName}`;
}

/**
 * A Deny of `actions` on `resources` for every principal but the roles named
 * (matched on aws:PrincipalArn, not named as principals: the break-glass role
 * is created outside this app, and a principal that does not exist would be
 * refused). One ARN is written as a string, several as a list.
 */
export function denyAllPrincipalsExcept(sid: string, actions: readonly string[], resources: string[], exceptRoleArns: readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: [...actions],
    resources,
    conditions: { ArnNotEquals: { 'aws:PrincipalArn': exceptRoleArns.length === 1 ? exceptRoleArns[0] : [...exceptRoleArns] } },
  });
}

/**
 * The CloudFormation execution role CDK's bootstrap creates in the stack's
 * account and region: the principal that calls PutKeyPolicy (or
 * PutObjectLockConfiguration on a bucket) when a stack update changes it.
 */
export function cloudFormationExecutionRoleArn(stack: Stack): string {
  const synthesizer = stack.synthesizer;
  if (!(synthesizer instanceof DefaultStackSynthesizer)) {
    throw new Error(`${stack.stackName}: a resource policy here names CDK's CloudFormation execution role, which only the DefaultStackSynthesizer defines`);
  }
  // The synthesizer leaves ${AWS::Partition} for CloudFormation to fill in.
  return Fn.sub(synthesizer.cloudFormationExecutionRoleArn);
}
