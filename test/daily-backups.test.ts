import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as kms from 'aws-cdk-lib/aws-kms';
import { DailyBackups, type DailyBackupsProps } from '../constructs/daily-backups';
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
