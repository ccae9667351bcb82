import { Duration } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { DAILY_BACKUP_START_WINDOW_HOURS } from '../lib/config/aws';

/**
 * How a backup vault's lock protects its recovery points (AWS Backup Vault Lock):
 * - `governance`: no ChangeableForDays; principals with
 *   backup:DeleteBackupVaultLockConfiguration can remove the lock at any time,
 *   then delete recovery points. For environments whose backups may be cleaned up.
 * - `compliance`: ChangeableForDays set; once the grace time has passed the lock
 *   "becomes immutable and cannot be changed or deleted" (CloudFormation,
 *   AWS::Backup::BackupVault LockConfigurationType): no principal, the root
 *   user and AWS Support included, can delete a recovery point before its
 *   retention ends, shorten it, remove the lock, or delete the vault while it
 *   holds recovery points. Jobs whose retention is outside [min, max] fail.
 */
export type VaultLockMode = 'compliance' | 'governance';

/**
 * Days a compliance-mode lock stays changeable after it is first applied: the
 * 72-hour minimum AWS Backup enforces ("you must set ChangeableForDays to 3 or
 * greater"). Long enough to undo a mistaken first deploy, short enough that a
 * stolen credential cannot wait for a window.
 */
export const COMPLIANCE_LOCK_GRACE_DAYS = 3;

/**
 * The longest retention a locked vault accepts: in compliance mode a recovery
 * point cannot be deleted before it expires, so a job with a years-long
 * retention (a mistake, or a cost attack) would bill for years. At least the
 * configured retention.
 */
export const LOCKED_VAULT_MAX_RETENTION_DAYS = 365;

/**
 * The lock of a vault that keeps recovery points `retention` long.
 * Compliance: the minimum is the retention itself, so no recovery point can be
 * removed early by anyone. Governance: 7 days, the lock of every vault before.
 */
export function backupVaultLock(mode: VaultLockMode, retention: Duration): backup.LockConfiguration {
  const days = retention.toDays({ integral: false });
  if (!Number.isInteger(days) || days < 1) {
    throw new Error(`backupVaultLock: retention must be a whole number of days, got ${retention.toHumanString()}`);
  }
  const maxRetention = Duration.days(Math.max(days, LOCKED_VAULT_MAX_RETENTION_DAYS));
  return mode === 'compliance'
    ? { minRetention: Duration.days(days), maxRetention, changeableFor: Duration.days(COMPLIANCE_LOCK_GRACE_DAYS) }
    : { minRetention: Duration.days(Math.min(7, days)), maxRetention };
}

/**
 * Properties of DailyBackups.
 */
export interface DailyBackupsProps {
  /** Backup plan name (see `backupPlanName()` in lib/naming.ts). */
  readonly backupPlanName: string;
  /** The vault of this region, which keeps the recovery points (created by the caller: it is stateful and pinned). */
  readonly vault: backup.IBackupVault;
  /** The vault in the standby region that receives a copy of every recovery point (imported by ARN). */
  readonly copyToVaultArn: string;
  /**
   * The vault in the separate backup account (BodyScript-<Env>-BackupVault)
   * that receives a second copy of every recovery point, kept as long.
   *
   * @default - no copy outside this account
   */
  readonly backupAccountVaultArn?: string;
  /** Hour (UTC, 0–23) at which the daily backup starts. */
  readonly startHourUtc: number;
  /** How long recovery points and their copies are kept. */
  readonly retention: Duration;
  /** What is backed up: AWS Backup resources (the database instance, buckets by ARN). */
  readonly resources: backup.BackupResource[];
  /** Keys of the backed-up data, which the backup role may use to read and restore it. */
  readonly keys: kms.IKey[];
}

/**
 * A daily AWS Backup plan of an environment's data: one recovery point a day
 * in this region's vault, copied to the standby region's vault and (when given)
 * to the separate backup account's vault, all kept for `retention`; a role for AWS Backup with the service-role policies AWS
 * documents for RDS and S3 backup and restore, and encrypt/decrypt on the keys
 * of the data it backs up.
 */
export class DailyBackups extends Construct {
  public readonly plan: backup.BackupPlan;
  /** The role AWS Backup assumes to back up and restore. */
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: DailyBackupsProps) {
    super(scope, id);
    if (!Number.isInteger(props.startHourUtc) || props.startHourUtc < 0 || props.startHourUtc > 23) {
      throw new Error(`DailyBackups ${this.node.path}: startHourUtc must be a whole hour 0–23, got ${props.startHourUtc}`);
    }
    if (props.resources.length === 0) {
      throw new Error(`DailyBackups ${this.node.path}: resources must name at least one resource to back up`);
    }
    this.plan = new backup.BackupPlan(this, 'Plan', {
      backupPlanName: props.backupPlanName,
      backupVault: props.vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'Daily',
          scheduleExpression: events.Schedule.cron({ hour: String(props.startHourUtc), minute: '0' }),
          startWindow: Duration.hours(DAILY_BACKUP_START_WINDOW_HOURS),
          completionWindow: Duration.hours(8),
          deleteAfter: props.retention,
          copyActions: [
            { destinationBackupVault: backup.BackupVault.fromBackupVaultArn(this, 'CopyVault', props.copyToVaultArn), deleteAfter: props.retention },
            ...(props.backupAccountVaultArn
              ? [{ destinationBackupVault: backup.BackupVault.fromBackupVaultArn(this, 'BackupAccountVault', props.backupAccountVaultArn), deleteAfter: props.retention }]
              : []),
          ],
        }),
      ],
    });
    this.role = new iam.Role(this, 'Role', {
      // No aws:SourceAccount / aws:SourceArn here, unlike the CodeDeploy, flow-log and
      // monitoring roles (security review L2): AWS Backup documents those conditions for
      // resource policies (an SNS topic's, a KMS key's) and shows its service role's trust
      // without them ("IAM service roles"); a condition Backup does not send would stop
      // every backup job (lib/service-role-trust.ts).
      assumedBy: new iam.ServicePrincipal('backup.amazonaws.com'),
      description: `AWS Backup (${props.backupPlanName}): back up and restore the database and buckets`,
      managedPolicies: [
        'service-role/AWSBackupServiceRolePolicyForBackup',
        'service-role/AWSBackupServiceRolePolicyForRestores',
        'AWSBackupServiceRolePolicyForS3Backup',
        'AWSBackupServiceRolePolicyForS3Restore',
      ].map((name) => iam.ManagedPolicy.fromAwsManagedPolicyName(name)),
    });
    this.plan.addSelection('DataSelection', {
      backupSelectionName: 'database-and-buckets',
      role: this.role,
      disableDefaultBackupPolicy: true,
      resources: props.resources,
    });
    for (const key of props.keys) key.grantEncryptDecrypt(this.role);
    acknowledge(
      this.role,
      [
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores]',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup]',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore]',
      ],
      'These are the service-role policies AWS Backup documents for RDS and S3 backup and restore; the role can only be assumed by backup.amazonaws.com and AWS maintains the policies as the services change.',
    );
    if (props.keys.length > 0) {
      acknowledge(
        this.role.node.findChild('DefaultPolicy'),
        ['AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', 'NIST.800.53.R5-IAMNoInlinePolicy', 'HIPAA.Security-IAMNoInlinePolicy'],
        'Inline policy for the AWS Backup role only, granting encrypt/decrypt on exactly the keys of the backed-up data; the action wildcards are the GenerateDataKey*/ReEncrypt* families Backup needs to copy encrypted recovery points.',
      );
    }
  }
}
