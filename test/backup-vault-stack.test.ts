import { Match } from 'aws-cdk-lib/assertions';
import { type EnvironmentConfigInput, ENVIRONMENT_FILES, loadConfig } from '../lib/config';
import { BackupVaultStack } from '../lib/stacks/backup-vault-stack';
import { stacks, template, templateJson } from './support/assembly';
import { testApp } from './support/synthesize';

const STACK = 'BodyScript-Production-BackupVault';

describe('BodyScript-Production-BackupVault', () => {
  test('lives in the backup account (config backup.copyAccount) in the primary region, with termination protection, and no environment stack depends on it', () => {
    const artifact = stacks().find((s) => s.displayName === STACK)!;
    expect(artifact.environment).toBe('aws://555555555555/us-east-1');
    expect(artifact.terminationProtection).toBe(true);
    // The pipeline deploys BodyScript-Production (and what it depends on): never the backup account.
    expect(stacks().filter((s) => s.dependencies.includes(artifact.id)).map((s) => s.displayName)).toEqual([]);
  });

  test('staging has no backup account, so no such stack', () => {
    expect(stacks().map((s) => s.displayName)).not.toContain('BodyScript-Staging-BackupVault');
  });

  test('the vault has the environment vault name (the copy rule names it by ARN), its own key and a compliance-mode lock', () => {
    template(STACK).hasResourceProperties('AWS::Backup::BackupVault', {
      BackupVaultName: 'bodyscript-production-vault',
      EncryptionKeyArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BackupCopiesKey'), 'Arn'] },
      LockConfiguration: { ChangeableForDays: 3, MinRetentionDays: 35, MaxRetentionDays: 365 },
    });
  });

  test('its access policy admits copies from the production account only and denies deleting or shortening a recovery point', () => {
    const vault = Object.values(templateJson(STACK).Resources).find((r) => r.Type === 'AWS::Backup::BackupVault')!;
    const statements = (vault.Properties as { AccessPolicy: { Statement: Array<Record<string, unknown>> } }).AccessPolicy.Statement;
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({ Action: 'backup:CopyIntoBackupVault' });
    expect(JSON.stringify(allows[0].Principal)).toContain(':iam::222222222222:root');
    expect(JSON.stringify(allows[0].Principal)).not.toMatch(/\*|111111111111/);
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Principal: { AWS: '*' }, Action: ['backup:DeleteRecoveryPoint', 'backup:UpdateRecoveryPointLifecycle'] }));
  });

  test('its key lets the production account encrypt copies into it, and only the break-glass role destroy it', () => {
    const key = Object.values(templateJson(STACK).Resources).find((r) => r.Type === 'AWS::KMS::Key')!;
    const policy = JSON.stringify(key.Properties);
    expect(policy).toContain('AllowEnvironmentAccountsToCopyIn');
    expect(policy).toContain(':iam::222222222222:root');
    expect(policy).toContain('DenyKeyDestructionExceptBreakGlass');
  });

  test('fails when built for an environment without a backup account', () => {
    const staging = loadConfig().environments.staging;
    expect(() => new BackupVaultStack(testApp(), 'Vault', { env: { account: '555555555555', region: 'us-east-1' }, config: staging })).toThrow(
      /config backup.copyAccount is not set for staging/,
    );
  });

  test('fails when not in the backup account and primary region', () => {
    const production = loadConfig().environments.production;
    expect(() => new BackupVaultStack(testApp(), 'Vault', { env: production.primary, config: production })).toThrow(
      /env must be the backup account in the primary region, 555555555555\/us-east-1/,
    );
  });
});

describe('config backup.copyAccount', () => {
  const withBackup = (env: 'staging' | 'production', backup: Record<string, unknown>) => {
    const environments: Record<string, EnvironmentConfigInput> = structuredClone({ ...ENVIRONMENT_FILES });
    environments[env] = { ...environments[env], backup: { ...environments[env].backup, ...backup } } as EnvironmentConfigInput;
    return () => loadConfig({}, { environments });
  };

  test('is required in production', () => {
    expect(withBackup('production', { copyAccount: undefined })).toThrow(/production\.backup\.copyAccount: is required in production/);
  });

  test.each(['222222222222'])('must not be the environment account itself (%s)', (account) => {
    expect(withBackup('production', { copyAccount: account })).toThrow(/backup\.copyAccount: must be a separate account, not primary.account or standby.account, got 222222222222/);
  });

  test('must be a 12-digit account id', () => {
    expect(withBackup('staging', { copyAccount: '12345' })).toThrow(/staging\.backup\.copyAccount/);
  });
});
