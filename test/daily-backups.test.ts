import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as kms from 'aws-cdk-lib/aws-kms';
import { backupVaultLock, COMPLIANCE_LOCK_GRACE_DAYS, DailyBackups, type DailyBackupsProps } from '../constructs/daily-backups';
import { testApp } from './support/synthesize';

function setup(overrides: Partial<DailyBackupsProps> = {}): Stack {
  const stack = new Stack(testApp(), 'Data', { env: { account: '111111111111', region: 'us-east-1' } });
  new DailyBackups(stack, 'Backups', {
    backupPlanName: 'test-daily',
    vault: new backup.BackupVault(stack, 'Vault', { backupVaultName: 'test-vault' }),
    copyToVaultArn: 'arn:aws:backup:us-west-2:111111111111:backup-vault:test-vault',
    startHourUtc: 5,
    retention: Duration.days(35),
    resources: [backup.BackupResource.fromArn('arn:aws:s3:::test-uploads')],
    keys: [new kms.Key(stack, 'DataKey')],
    ...overrides,
  });
  return stack;
}

describe('DailyBackups', () => {
  const template = Template.fromStack(setup());

  test('can be created with a daily rule at the given hour, kept for the retention, copied to the standby vault for as long', () => {
    template.hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: {
        BackupPlanName: 'test-daily',
        BackupPlanRule: [
          Match.objectLike({
            RuleName: 'Daily',
            ScheduleExpression: 'cron(0 5 * * ? *)',
            Lifecycle: { DeleteAfterDays: 35 },
            CopyActions: [{ DestinationBackupVaultArn: 'arn:aws:backup:us-west-2:111111111111:backup-vault:test-vault', Lifecycle: { DeleteAfterDays: 35 } }],
          }),
        ],
      },
    });
  });

  test('selects exactly the given resources with a role only AWS Backup assumes, which may use the given keys', () => {
    template.hasResourceProperties('AWS::Backup::BackupSelection', {
      BackupSelection: Match.objectLike({ SelectionName: 'database-and-buckets', Resources: ['arn:aws:s3:::test-uploads'] }),
    });
    template.hasResourceProperties('AWS::IAM::Role', { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'backup.amazonaws.com' } })] } });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: Match.arrayWith(['kms:Decrypt', 'kms:Encrypt']), Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] } })] },
    });
  });

  test.each([
    [{ startHourUtc: 24 }, /startHourUtc must be a whole hour 0–23, got 24/],
    [{ resources: [] }, /resources must name at least one resource to back up/],
  ])('fails when given %j', (overrides, message) => {
    expect(() => setup(overrides)).toThrow(message);
  });
});

describe('DailyBackups with a backup account', () => {
  test('copies every recovery point to the backup account vault too, kept for the retention', () => {
    const template = Template.fromStack(setup({ backupAccountVaultArn: 'arn:aws:backup:us-east-1:333333333333:backup-vault:test-vault' }));
    template.hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: {
        BackupPlanRule: [
          Match.objectLike({
            CopyActions: [
              { DestinationBackupVaultArn: 'arn:aws:backup:us-west-2:111111111111:backup-vault:test-vault', Lifecycle: { DeleteAfterDays: 35 } },
              { DestinationBackupVaultArn: 'arn:aws:backup:us-east-1:333333333333:backup-vault:test-vault', Lifecycle: { DeleteAfterDays: 35 } },
            ],
          }),
        ],
      },
    });
  });
});

describe('backupVaultLock', () => {
  /** What a Vault Lock does with a job of `days` retention (AWS Backup fails jobs outside [min, max]). */
  const accepts = (lock: backup.LockConfiguration, days: number) => days >= lock.minRetention.toDays() && (!lock.maxRetention || days <= lock.maxRetention.toDays());

  test('compliance: changeable for the 72-hour minimum AWS Backup enforces, then no recovery point leaves before the retention', () => {
    const lock = backupVaultLock('compliance', Duration.days(35));
    expect(COMPLIANCE_LOCK_GRACE_DAYS).toBe(3);
    expect(lock.changeableFor?.toDays()).toBe(3);
    expect(lock.minRetention.toDays()).toBe(35);
    // The daily plan and its copies (35 days) are accepted; a shortened rule fails instead of deleting early.
    expect(accepts(lock, 35)).toBe(true);
    expect(accepts(lock, 34)).toBe(false);
    // A years-long (mistaken or malicious) retention is refused: it could never be deleted.
    expect(accepts(lock, 3650)).toBe(false);
  });

  test('governance: no ChangeableForDays (removable), 7 days minimum as before, same maximum', () => {
    const lock = backupVaultLock('governance', Duration.days(35));
    expect(lock.changeableFor).toBeUndefined();
    expect(lock.minRetention.toDays()).toBe(7);
    expect(lock.maxRetention?.toDays()).toBe(365);
  });

  test('a retention longer than a year raises the maximum to it', () => {
    expect(backupVaultLock('compliance', Duration.days(400)).maxRetention?.toDays()).toBe(400);
  });

  test('fails on a retention that is not whole days', () => {
    expect(() => backupVaultLock('compliance', Duration.hours(36))).toThrow(/retention must be a whole number of days/);
  });
});
