import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { backupVaultLock } from '../../constructs/daily-backups';
import { EncryptionKey } from '../../constructs/encryption-key';
import type { EnvironmentConfig } from '../config';
import { backupVaultName, keyAlias } from '../naming';
import { backupVaultLockMode } from './data-stack';

export interface BackupVaultStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/**
 * `BodyScript-<Env>-BackupVault`, in the separate backup account
 * (config `backup.copyAccount`) and the primary region: the vault that receives
 * a copy of every daily recovery point of the environment, so that no
 * credential of the environment's own account can destroy every copy
 * (security review H7). Stateful: termination protection, retained, pinned.
 *
 * - Its own key (AWS Backup re-encrypts a cross-account copy with the
 *   destination vault's key), usable by AWS Backup of the environment's account
 *   for the copy, guarded like every EncryptionKey.
 * - Its access policy admits `backup:CopyIntoBackupVault` from the
 *   environment's account only, and denies deleting or shortening recovery
 *   points to everyone.
 * - The same lock as the environment's vaults (compliance in production).
 *
 * A person with backup-account credentials deploys it (runbooks/backup-account.md);
 * no environment stack depends on it, so the pipeline's `cdk deploy` never
 * reaches the backup account.
 */
export class BackupVaultStack extends Stack {
  /** Encrypts the copies in this vault. */
  public readonly key: EncryptionKey;
  /** Receives the copies. */
  public readonly vault: backup.BackupVault;

  constructor(scope: Construct, id: string, props: BackupVaultStackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const { config } = props;
    const env = config.name;
    const copyAccount = config.backup.copyAccount;
    if (!copyAccount) {
      throw new Error(`BackupVaultStack ${id}: config backup.copyAccount is not set for ${env}; the backup vault stack exists only for an environment with a separate backup account`);
    }
    if (props.env?.account !== copyAccount || props.env?.region !== config.primary.region) {
      throw new Error(`BackupVaultStack ${id}: env must be the backup account in the primary region, ${copyAccount}/${config.primary.region}`);
    }
    const sourceAccounts = [...new Set([config.primary.account, config.standby.account])];

    this.key = new EncryptionKey(this, 'BackupCopiesKey', {
      alias: keyAlias(env, 'backup-copies'),
      description: `BodyScript ${env}: copies of the environment's recovery points (backup account)`,
    });
    // The copy job runs in the source account's AWS Backup and encrypts with this key.
    this.key.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEnvironmentAccountsToCopyIn',
        principals: sourceAccounts.map((account) => new iam.AccountPrincipal(account)),
        actions: ['kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        resources: ['*'],
      }),
    );
    this.key.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEnvironmentAccountsGrantsForAwsResources',
        principals: sourceAccounts.map((account) => new iam.AccountPrincipal(account)),
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );

    this.vault = new backup.BackupVault(this, 'BackupCopiesVault', {
      backupVaultName: backupVaultName(env),
      encryptionKey: this.key.key,
      removalPolicy: RemovalPolicy.RETAIN,
      lockConfiguration: backupVaultLock(backupVaultLockMode(config), Duration.days(config.backup.retentionDays)),
      blockRecoveryPointDeletion: true,
    });
    // Copies only from the environment's own accounts (not the whole organization).
    this.vault.addToAccessPolicy(
      new iam.PolicyStatement({
        sid: 'AllowCopiesFromTheEnvironmentAccounts',
        principals: sourceAccounts.map((account) => new iam.AccountPrincipal(account)),
        actions: ['backup:CopyIntoBackupVault'],
        resources: ['*'],
      }),
    );
  }
}
