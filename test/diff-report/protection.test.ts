import type { Template } from '../../lib/diff-report/assembly';
import { type DangerousChange, diffStack } from '../../lib/diff-report/diff';
import { PROTECTION_RULE_TYPES } from '../../lib/diff-report/protection';
import { renderMarkdown } from '../../lib/diff-report/render';

/**
 * In-place changes that remove or shorten the protection of data are
 * dangerous changes (issue 16, item 8): each transition below is a plain
 * "modify" to CloudFormation, and each one is tested on its own, with the
 * opposite (or harmless) change beside it.
 */

type Properties = Record<string, unknown>;
const STACK = 'Fixture-Data';

function dangerous(type: string, before: Properties | undefined, after: Properties | undefined, extra: { beforeResource?: Properties; afterResource?: Properties; beforeTemplate?: Properties; afterTemplate?: Properties } = {}): readonly DangerousChange[] {
  const template = (properties: Properties | undefined, resource: Properties | undefined, rest: Properties | undefined): Template => ({
    ...rest,
    Resources: { Subject: { Type: type, ...(properties === undefined ? {} : { Properties: properties }), DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', ...resource }, Other: { Type: 'AWS::SNS::Topic' } },
  });
  const current = template(after, extra.afterResource, extra.afterTemplate);
  const baseline = template(before, extra.beforeResource, extra.beforeTemplate);
  return diffStack({ artifactId: STACK, stackName: STACK, displayName: STACK, template: current }, { template: baseline }).dangerous;
}

const reasonsOf = (changes: readonly DangerousChange[]) => changes.map((c) => `${c.kind}: ${c.reason}`);

/** The Deny statements issue 16.7 put in every key policy and vault access policy (constructs/encryption-key.ts, constructs/daily-backups.ts). */
const ALLOW_ACCOUNT = { Sid: 'AllowAccount', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::222222222222:root' }, Action: 'kms:*', Resource: '*' };
const DENY_KEY_DESTRUCTION = {
  Sid: 'DenyKeyDestructionExceptBreakGlass',
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: ['kms:DisableKey', 'kms:ScheduleKeyDeletion'],
  Resource: '*',
  Condition: { ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws:iam::222222222222:role/BodyScriptBreakGlass' } },
};
const DENY_RECOVERY_POINT_DELETION = { Effect: 'Deny', Principal: { AWS: '*' }, Action: ['backup:DeleteRecoveryPoint', 'backup:UpdateRecoveryPointLifecycle'], Resource: '*' };
const keyPolicy = (...statements: unknown[]) => ({ KeyPolicy: { Version: '2012-10-17', Statement: statements } });
/** The guard lib/secret-policy-guard.ts puts in the database and origin-verify secrets' policies (security review L8). */
const DENY_SECRET_DELETION = {
  Sid: 'DenySecretDeletionExceptBreakGlass',
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: 'secretsmanager:DeleteSecret',
  Resource: '*',
  Condition: { ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws:iam::222222222222:role/BodyScriptBreakGlass' } },
};
const DENY_PLAIN_HTTP = { Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
const DENY_BYPASS_GOVERNANCE = {
  Sid: 'DenyBypassGovernanceExceptBreakGlass',
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: 's3:BypassGovernanceRetention',
  Resource: 'arn:aws:s3:::b/*',
  Condition: { ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws:iam::222222222222:role/BodyScriptBreakGlass' } },
};

describe.each<[string, string, Properties | undefined, Properties | undefined, RegExp]>([
  // RDS
  ['RDS deletion protection switched off', 'AWS::RDS::DBInstance', { DeletionProtection: true }, { DeletionProtection: false }, /`DeletionProtection` changes from `true` to `false`: the database can then be deleted/],
  ['RDS deletion protection dropped (default false)', 'AWS::RDS::DBInstance', { DeletionProtection: true }, {}, /`DeletionProtection` changes from `true` to `false`/],
  ['RDS deletion protection decided at deploy time', 'AWS::RDS::DBInstance', { DeletionProtection: true }, { DeletionProtection: { 'Fn::If': ['Prod', true, false] } }, /`DeletionProtection` changes from `true` to a value decided at deploy time/],
  ['RDS backups switched off (BackupRetentionPeriod 0)', 'AWS::RDS::DBInstance', { BackupRetentionPeriod: 35 }, { BackupRetentionPeriod: 0 }, /`BackupRetentionPeriod` shortens from `35` days to `0` days: older automated backups and point-in-time recovery are lost/],
  ['RDS backup retention back to the default of 1 day', 'AWS::RDS::DBInstance', { BackupRetentionPeriod: '7' }, {}, /`BackupRetentionPeriod` shortens from `7` days to `1` days/],
  ['RDS automated backups deleted with the instance', 'AWS::RDS::DBInstance', { DeleteAutomatedBackups: false }, { DeleteAutomatedBackups: true }, /`DeleteAutomatedBackups` changes from `false` to `true`/],
  ['RDS made public', 'AWS::RDS::DBInstance', { PubliclyAccessible: false }, { PubliclyAccessible: 'true' }, /`PubliclyAccessible` changes from `false` to `true`: the database gets a public address/],
  ['Aurora cluster deletion protection switched off', 'AWS::RDS::DBCluster', { DeletionProtection: true }, { DeletionProtection: false }, /`DeletionProtection` changes from `true` to `false`/],
  // S3
  ['an expiration rule added to a bucket that kept objects for ever', 'AWS::S3::Bucket', {}, { LifecycleConfiguration: { Rules: [{ Status: 'Enabled', ExpirationInDays: 1 }] } }, /`LifecycleConfiguration \(expiration\)` shortens from never to `1` days: objects are deleted sooner/],
  ['an expiration shortened', 'AWS::S3::Bucket', { LifecycleConfiguration: { Rules: [{ Status: 'Enabled', ExpirationInDays: 365 }] } }, { LifecycleConfiguration: { Rules: [{ Status: 'Enabled', ExpirationInDays: 30 }] } }, /shortens from `365` days to `30` days/],
  ['a disabled expiration rule enabled', 'AWS::S3::Bucket', { LifecycleConfiguration: { Rules: [{ Status: 'Disabled', ExpirationInDays: 7 }] } }, { LifecycleConfiguration: { Rules: [{ Status: 'Enabled', ExpirationInDays: 7 }] } }, /shortens from never to `7` days/],
  ['an expiration date', 'AWS::S3::Bucket', {}, { LifecycleConfiguration: { Rules: [{ Status: 'Enabled', ExpirationDate: '2027-01-01T00:00:00Z' }] } }, /`LifecycleConfiguration \(expiration\)` shortens from never to `0` days/],
  ['noncurrent versions expiring after a day', 'AWS::S3::Bucket', { LifecycleConfiguration: { Rules: [{ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 90 } }] } }, { LifecycleConfiguration: { Rules: [{ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 1 } }] } }, /`LifecycleConfiguration \(noncurrent version expiration\)` shortens from `90` days to `1` days/],
  ['versioning suspended', 'AWS::S3::Bucket', { VersioningConfiguration: { Status: 'Enabled' } }, { VersioningConfiguration: { Status: 'Suspended' } }, /`VersioningConfiguration.Status` changes from `Enabled` to `Suspended`/],
  ['Object Lock default retention removed', 'AWS::S3::Bucket', { ObjectLockEnabled: true, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } } } }, { ObjectLockEnabled: true, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }, /`ObjectLockConfiguration \(default retention\)` shortens from `30` days to `0` days/],
  ['Object Lock configuration removed altogether (the property gone, Object Lock still enabled)', 'AWS::S3::Bucket', { ObjectLockEnabled: true, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 7 } } } }, { ObjectLockEnabled: true }, /`ObjectLockConfiguration \(default retention\)` shortens from `7` days to `0` days: new objects are protected from deletion for less time/],
  ['Object Lock retention shortened from a year', 'AWS::S3::Bucket', { ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Years: 1 } } } }, { ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } } } }, /shortens from `365` days to `30` days/],
  ['Object Lock compliance mode relaxed to governance', 'AWS::S3::Bucket', { ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 30 } } } }, { ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } } } }, /mode changes from `COMPLIANCE` to `GOVERNANCE`/],
  ['public access block lifted', 'AWS::S3::Bucket', { PublicAccessBlockConfiguration: { BlockPublicPolicy: true } }, { PublicAccessBlockConfiguration: { BlockPublicPolicy: false } }, /`PublicAccessBlockConfiguration.BlockPublicPolicy` changes from `true` to `false`/],
  ['replication to the standby region removed', 'AWS::S3::Bucket', { ReplicationConfiguration: { Role: 'r', Rules: [{ Status: 'Enabled', Destination: { Bucket: 'b' } }] } }, {}, /`ReplicationConfiguration` loses rules/],
  // KMS
  ['a key disabled', 'AWS::KMS::Key', {}, { Enabled: false }, /`Enabled` changes from `true` to `false`: nothing encrypted with the key can be decrypted/],
  ['the deletion window of a key shortened', 'AWS::KMS::Key', { PendingWindowInDays: 30 }, { PendingWindowInDays: 7 }, /`PendingWindowInDays` shortens from `30` days to `7` days/],
  ['the deletion guard removed from a key policy', 'AWS::KMS::Key', keyPolicy(ALLOW_ACCOUNT, DENY_KEY_DESTRUCTION), keyPolicy(ALLOW_ACCOUNT), /`KeyPolicy` loses or changes its Deny statement `DenyKeyDestructionExceptBreakGlass`: an action it denied \(scheduling the key for deletion, disabling it/],
  // Backup
  ['a vault lock removed', 'AWS::Backup::BackupVault', { LockConfiguration: { MinRetentionDays: 7 } }, {}, /`LockConfiguration` is removed/],
  ['a vault lock shortened', 'AWS::Backup::BackupVault', { LockConfiguration: { MinRetentionDays: 35 } }, { LockConfiguration: { MinRetentionDays: 1 } }, /`LockConfiguration.MinRetentionDays` shortens from `35` days to `1` days/],
  ['the deny of recovery-point deletion removed from a vault access policy', 'AWS::Backup::BackupVault', { AccessPolicy: { Statement: [DENY_RECOVERY_POINT_DELETION] } }, {}, /`AccessPolicy` loses or changes its Deny statement `Deny #1`: recovery points may then be deleted or their retention shortened/],
  ['a compliance-mode vault lock turned into governance mode', 'AWS::Backup::BackupVault', { LockConfiguration: { MinRetentionDays: 7, ChangeableForDays: 3 } }, { LockConfiguration: { MinRetentionDays: 7 } }, /`LockConfiguration.ChangeableForDays` is removed/],
  ['recovery points kept for a day', 'AWS::Backup::BackupPlan', { BackupPlan: { BackupPlanRule: [{ RuleName: 'daily', Lifecycle: { DeleteAfterDays: 35 } }] } }, { BackupPlan: { BackupPlanRule: [{ RuleName: 'daily', Lifecycle: { DeleteAfterDays: 1 } }] } }, /`Lifecycle.DeleteAfterDays` shortens from `35` days to `1` days/],
  ['a backup rule removed', 'AWS::Backup::BackupPlan', { BackupPlan: { BackupPlanRule: [{ RuleName: 'daily' }, { RuleName: 'weekly' }] } }, { BackupPlan: { BackupPlanRule: [{ RuleName: 'daily' }] } }, /`BackupPlanRule` loses a rule/],
  ['the cross-region copy of recovery points removed', 'AWS::Backup::BackupPlan', { BackupPlan: { BackupPlanRule: [{ RuleName: 'daily', CopyActions: [{ DestinationBackupVaultArn: 'arn' }] }] } }, { BackupPlan: { BackupPlanRule: [{ RuleName: 'daily' }] } }, /`CopyActions` loses a copy/],
  ['the Object Lock bypass guard removed from a bucket policy', 'AWS::S3::BucketPolicy', { PolicyDocument: { Statement: [DENY_PLAIN_HTTP, DENY_BYPASS_GOVERNANCE] } }, { PolicyDocument: { Statement: [DENY_PLAIN_HTTP] } }, /`PolicyDocument` loses or changes its Deny statement `DenyBypassGovernanceExceptBreakGlass`: what it denied \(plain-HTTP access, bypassing or changing the Object Lock retention\) may then be allowed/],
  ['the deletion guard removed from a secret policy', 'AWS::SecretsManager::ResourcePolicy', { SecretId: 's', BlockPublicPolicy: true, ResourcePolicy: { Statement: [DENY_SECRET_DELETION] } }, { SecretId: 's', BlockPublicPolicy: true, ResourcePolicy: { Statement: [] } }, /`ResourcePolicy` loses or changes its Deny statement `DenySecretDeletionExceptBreakGlass`: what it denied \(deleting the secret, rewriting or removing its policy\) may then be allowed/],
  ['public secret policies no longer refused', 'AWS::SecretsManager::ResourcePolicy', { SecretId: 's', BlockPublicPolicy: true, ResourcePolicy: { Statement: [DENY_SECRET_DELETION] } }, { SecretId: 's', BlockPublicPolicy: false, ResourcePolicy: { Statement: [DENY_SECRET_DELETION] } }, /`BlockPublicPolicy` changes from `true` to `false`: a policy that grants the secret to other accounts or to everyone is no longer refused/],
  ['a database taken out of the backup selection', 'AWS::Backup::BackupSelection', { BackupSelection: { Resources: ['arn:db', 'arn:bucket'] } }, { BackupSelection: { Resources: ['arn:bucket'] } }, /`BackupSelection.Resources` no longer includes `"arn:db"`/],
  // Others
  ['log retention shortened from never', 'AWS::Logs::LogGroup', {}, { RetentionInDays: 7 }, /`RetentionInDays` shortens from never to `7` days/],
  ['queue retention shortened', 'AWS::SQS::Queue', { MessageRetentionPeriod: 1209600 }, { MessageRetentionPeriod: 60 }, /`MessageRetentionPeriod` shortens from `1209600` s to `60` s/],
  ['DynamoDB deletion protection switched off', 'AWS::DynamoDB::Table', { DeletionProtectionEnabled: true }, {}, /`DeletionProtectionEnabled` changes from `true` to `false`/],
  ['DynamoDB point-in-time recovery switched off', 'AWS::DynamoDB::Table', { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }, {}, /`PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled` changes from `true` to `false`/],
  ['DynamoDB items start expiring', 'AWS::DynamoDB::Table', {}, { TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }, /`TimeToLiveSpecification.Enabled` changes from `false` to `true`: items start expiring/],
  ['a secret replica region dropped', 'AWS::SecretsManager::Secret', { ReplicaRegions: [{ Region: 'us-west-2' }] }, {}, /`ReplicaRegions` no longer includes `us-west-2`/],
  ['image tags made mutable', 'AWS::ECR::Repository', { ImageTagMutability: 'IMMUTABLE' }, { ImageTagMutability: 'MUTABLE' }, /`ImageTagMutability` changes from `IMMUTABLE` to `MUTABLE`/],
  ['a repository emptied on delete', 'AWS::ECR::Repository', {}, { EmptyOnDelete: true }, /`EmptyOnDelete` changes from `false` to `true`/],
  [
    'images expiring sooner',
    'AWS::ECR::Repository',
    { LifecyclePolicy: { LifecyclePolicyText: JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, action: { type: 'expire' } }] }) } },
    { LifecyclePolicy: { LifecyclePolicyText: JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: { type: 'expire' } }] }) } },
    /`LifecyclePolicy` expires images sooner \(`sinceImagePushed` `30` → `1`\)/,
  ],
  ['an image expiry rule added', 'AWS::ECR::Repository', {}, { LifecyclePolicy: { LifecyclePolicyText: JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 }, action: { type: 'expire' } }] }) } }, /`LifecyclePolicy` gains a rule that expires images \(`imageCountMoreThan` `5`\)/],
  ['EFS backups switched off', 'AWS::EFS::FileSystem', { BackupPolicy: { Status: 'ENABLED' } }, { BackupPolicy: { Status: 'DISABLED' } }, /`BackupPolicy.Status` changes from `ENABLED` to `DISABLED`/],
])('%s', (_label, type, before, after, reason) => {
  test('is a dangerous change that says what it costs', () => {
    const changes = dangerous(type, before, after).filter((c) => c.kind === 'protection-weakened');
    expect(reasonsOf(changes)).toEqual([expect.stringMatching(new RegExp(`^protection-weakened: .*${reason.source}`))]);
    expect(changes[0]).toMatchObject({ stack: STACK, logicalId: 'Subject', type });
  });

  test('the opposite change does not weaken anything', () => {
    expect(dangerous(type, after, before).filter((c) => c.kind === 'protection-weakened')).toEqual([]);
  });
});

test('every resource type with a protection rule is covered above', () => {
  const covered = ['AWS::RDS::DBInstance', 'AWS::RDS::DBCluster', 'AWS::S3::Bucket', 'AWS::S3::BucketPolicy', 'AWS::SecretsManager::ResourcePolicy', 'AWS::KMS::Key', 'AWS::Backup::BackupVault', 'AWS::Backup::BackupPlan', 'AWS::Backup::BackupSelection', 'AWS::Logs::LogGroup', 'AWS::SQS::Queue', 'AWS::DynamoDB::Table', 'AWS::SecretsManager::Secret', 'AWS::ECR::Repository', 'AWS::EFS::FileSystem'];
  expect([...PROTECTION_RULE_TYPES].sort()).toEqual([...covered].sort());
});

describe('Deny statements of key and vault policies (the guards of issue 16.7)', () => {
  const weakened = (type: string, before: Properties, after: Properties) => reasonsOf(dangerous(type, before, after).filter((c) => c.kind === 'protection-weakened'));

  test('a Deny that gains an exception is a change to the guard: dangerous', () => {
    const widened = { ...DENY_KEY_DESTRUCTION, Condition: { ArnNotEquals: { 'aws:PrincipalArn': ['arn:aws:iam::222222222222:role/BodyScriptBreakGlass', 'arn:aws:iam::222222222222:role/Anyone'] } } };
    expect(weakened('AWS::KMS::Key', keyPolicy(ALLOW_ACCOUNT, DENY_KEY_DESTRUCTION), keyPolicy(ALLOW_ACCOUNT, widened))).toEqual([expect.stringMatching(/^protection-weakened: `KeyPolicy` loses or changes its Deny statement `DenyKeyDestructionExceptBreakGlass`/)]);
  });

  test('the same statements in another key order, or another order of statements, change nothing', () => {
    const reordered = Object.fromEntries(Object.entries(DENY_KEY_DESTRUCTION).reverse());
    expect(weakened('AWS::KMS::Key', keyPolicy(ALLOW_ACCOUNT, DENY_KEY_DESTRUCTION), keyPolicy(reordered, ALLOW_ACCOUNT))).toEqual([]);
  });

  test('a policy given as JSON text is read like the object', () => {
    expect(weakened('AWS::Backup::BackupVault', { AccessPolicy: { Statement: [DENY_RECOVERY_POINT_DELETION] } }, { AccessPolicy: JSON.stringify({ Statement: [DENY_RECOVERY_POINT_DELETION] }) })).toEqual([]);
    expect(weakened('AWS::Backup::BackupVault', { AccessPolicy: JSON.stringify({ Statement: [DENY_RECOVERY_POINT_DELETION] }) }, { AccessPolicy: { Statement: [] } })).toHaveLength(1);
  });

  test('a policy decided at deploy time cannot be judged: dangerous (fail closed)', () => {
    const conditional = { KeyPolicy: { 'Fn::If': ['Prod', keyPolicy(ALLOW_ACCOUNT, DENY_KEY_DESTRUCTION).KeyPolicy, keyPolicy(ALLOW_ACCOUNT).KeyPolicy] } };
    expect(weakened('AWS::KMS::Key', keyPolicy(ALLOW_ACCOUNT, DENY_KEY_DESTRUCTION), conditional)).toEqual([expect.stringMatching(/^protection-weakened: `KeyPolicy` becomes a value decided at deploy time/)]);
  });

  test('a changed Allow statement is not this rule’s business', () => {
    const narrower = { ...ALLOW_ACCOUNT, Action: ['kms:Decrypt'] };
    expect(weakened('AWS::KMS::Key', keyPolicy(ALLOW_ACCOUNT, DENY_KEY_DESTRUCTION), keyPolicy(narrower, DENY_KEY_DESTRUCTION))).toEqual([]);
  });

  test('a vault that loses both its lock and its Deny says both', () => {
    expect(weakened('AWS::Backup::BackupVault', { LockConfiguration: { MinRetentionDays: 7 }, AccessPolicy: { Statement: [DENY_RECOVERY_POINT_DELETION] } }, {}).map((r) => r.split(' ')[1])).toEqual(['`LockConfiguration`', '`AccessPolicy`']);
  });
});

test('switching Object Lock off replaces the bucket: dangerous as a replacement', () => {
  expect(reasonsOf(dangerous('AWS::S3::Bucket', { ObjectLockEnabled: true }, {}))).toEqual([expect.stringMatching(/^replace: replaced because changing `ObjectLockEnabled` requires a new resource/)]);
});

test('RDS backups switched off: CloudFormation calls it a possible replacement, and the gate says what it costs', () => {
  expect(reasonsOf(dangerous('AWS::RDS::DBInstance', { BackupRetentionPeriod: 7 }, { BackupRetentionPeriod: 0 })).map((r) => r.split(':')[0])).toEqual(['may-replace', 'protection-weakened']);
});

describe('conditions', () => {
  test('a Condition added to a stateful resource is dangerous: CloudFormation deletes the resource when it is false', () => {
    const changes = dangerous('AWS::S3::Bucket', {}, {}, { afterResource: { Condition: 'Never' }, afterTemplate: { Conditions: { Never: { 'Fn::Equals': ['a', 'b'] } } } });
    expect(reasonsOf(changes)).toEqual(['conditional-deletion: gains the condition `Never`: when it is false, CloudFormation removes the resource from the stack and it is kept but no longer managed by the stack (Retain).']);
  });

  test('a change to the condition a stateful resource already has is dangerous', () => {
    const changes = dangerous('AWS::RDS::DBInstance', {}, {}, {
      beforeResource: { Condition: 'IsProd' },
      afterResource: { Condition: 'IsProd' },
      beforeTemplate: { Conditions: { IsProd: { 'Fn::Equals': ['prod', 'prod'] } } },
      afterTemplate: { Conditions: { IsProd: { 'Fn::Equals': ['prod', 'staging'] } } },
    });
    expect(reasonsOf(changes)).toEqual(['conditional-deletion: its condition `IsProd` is redefined: if it becomes false, CloudFormation removes the resource from the stack and it is kept but no longer managed by the stack (Retain).']);
  });

  test('a condition removed (the resource always exists) is not', () => {
    expect(dangerous('AWS::S3::Bucket', {}, {}, { beforeResource: { Condition: 'IsProd' }, beforeTemplate: { Conditions: { IsProd: { 'Fn::Equals': ['a', 'a'] } } } })).toEqual([]);
  });
});

describe('resources that protect data without holding it', () => {
  /** The dangerous changes when `removed` leaves a stack that keeps one unrelated topic. */
  const removing = (removed: Record<string, unknown>) =>
    diffStack(
      { artifactId: STACK, stackName: STACK, displayName: STACK, template: { Resources: { Other: { Type: 'AWS::SNS::Topic' } } } },
      { template: { Resources: { ...removed, Other: { Type: 'AWS::SNS::Topic' } } } },
    ).dangerous;
  const plan = { Type: 'AWS::Backup::BackupPlan', Properties: { BackupPlan: { BackupPlanName: 'daily', BackupPlanRule: [{ RuleName: 'daily' }] } } };

  test('removing the backup plan is dangerous: the backups stop', () => {
    const changes = removing({ Plan: plan });
    expect(reasonsOf(changes)).toEqual(['remove: removed from the template: the backups it takes or the copies it makes stop (recovery points already taken stay in their vault).']);
  });

  test('removing a bucket policy is dangerous: its Deny statements go with it', () => {
    const policy = { Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: 'b', PolicyDocument: { Statement: [DENY_PLAIN_HTTP] } } };
    const changes = removing({ Policy: policy });
    expect(reasonsOf(changes)).toEqual(['remove: removed from the template: the bucket loses every statement of its policy, its Deny statements (TLS only, the Object Lock guards) with them.']);
  });

  test('a bucket policy removed with its bucket: only the bucket is reported', () => {
    const bucket = { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Retain', Properties: {} };
    const policy = { Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: { Ref: 'Bucket' }, PolicyDocument: { Statement: [DENY_PLAIN_HTTP] } } };
    const changes = removing({ Bucket: bucket, Policy: policy });
    expect(changes.map((c) => `${c.kind} ${c.logicalId}`)).toEqual(['remove Bucket']);
  });

  test('removing a secret policy is dangerous: CloudFormation deletes the policy, its Deny statements with it', () => {
    const policy = { Type: 'AWS::SecretsManager::ResourcePolicy', Properties: { SecretId: 'arn:aws:secretsmanager:us-east-1:222222222222:secret:db', ResourcePolicy: { Statement: [DENY_SECRET_DELETION] } } };
    const changes = removing({ Policy: policy });
    expect(reasonsOf(changes)).toEqual([
      "remove: removed from the template: CloudFormation deletes the secret's policy (DeleteResourcePolicy), its Deny statements (deleting the secret, changing the policy, all but break glass) with it.",
    ]);
  });

  test('a secret policy removed with its secret: only the secret is reported', () => {
    const secret = { Type: 'AWS::SecretsManager::Secret', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: {} };
    const policy = { Type: 'AWS::SecretsManager::ResourcePolicy', Properties: { SecretId: { Ref: 'Secret' }, ResourcePolicy: { Statement: [DENY_SECRET_DELETION] } } };
    const changes = removing({ Secret: secret, Policy: policy });
    expect(changes.map((c) => `${c.kind} ${c.logicalId}`)).toEqual(['remove Secret']);
  });

  test('a secret policy moved to a new logical ID with the same statements is not', () => {
    const policy = { Type: 'AWS::SecretsManager::ResourcePolicy', Properties: { SecretId: 's', BlockPublicPolicy: true, ResourcePolicy: { Statement: [DENY_SECRET_DELETION] } } };
    const changes = diffStack({ artifactId: STACK, stackName: STACK, displayName: STACK, template: { Resources: { PolicyV2: policy } } }, { template: { Resources: { Policy: policy } } }).dangerous;
    expect(changes).toEqual([]);
  });

  test('a bucket policy that only gains an Allow is not', () => {
    const before = { Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: 'b', PolicyDocument: { Statement: [DENY_PLAIN_HTTP] } } };
    const after = { Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: 'b', PolicyDocument: { Statement: [DENY_PLAIN_HTTP, { Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject', Resource: 'arn:aws:s3:::b/*' }] } } };
    expect(diffStack({ artifactId: STACK, stackName: STACK, displayName: STACK, template: { Resources: { Policy: after } } }, { template: { Resources: { Policy: before } } }).dangerous).toEqual([]);
  });

  test('replacing a backup plan (a new name) is not, as long as it protects as much', () => {
    const renamed = { ...plan, Properties: { BackupPlan: { ...plan.Properties.BackupPlan, BackupPlanName: 'daily-v2' } } };
    const changes = diffStack({ artifactId: STACK, stackName: STACK, displayName: STACK, template: { Resources: { Plan: renamed } } }, { template: { Resources: { Plan: plan } } }).dangerous;
    expect(changes).toEqual([]);
  });
});

describe('stack termination protection', () => {
  const stack = (terminationProtection: boolean) => ({ artifactId: STACK, stackName: STACK, displayName: STACK, terminationProtection, template: { Resources: { Other: { Type: 'AWS::SNS::Topic' } } } });

  test('switched off on a stack that had it is dangerous', () => {
    const changes = diffStack(stack(false), { template: stack(true).template, terminationProtection: true }).dangerous;
    expect(reasonsOf(changes)).toEqual(['protection-weakened: the stack loses termination protection: `cdk destroy` or a stack deletion would then delete it with everything it does not retain.']);
    expect(changes[0]).toMatchObject({ logicalId: '(stack)', type: 'AWS::CloudFormation::Stack' });
  });

  test('unknown for a baseline of saved templates (no manifest): not judged', () => {
    expect(diffStack(stack(false), { template: stack(true).template }).dangerous).toEqual([]);
  });
});

describe('names from a template are escaped in the Markdown', () => {
  const hostile = {
    Resources: {
      'Evil<!--': {
        Type: 'Custom::X|<!--',
        Properties: { 'Foo<!--': 1, 'a|b': 2, 'x`y': 3, '[click](https://evil.example)': 4 },
        Metadata: { 'aws:cdk:path': 'Stack/<img src=x onerror=alert(1)>/[link](https://evil.example)|`' },
      },
    },
  };
  const baseline = { Resources: { 'Evil<!--': { Type: 'Custom::X|<!--', Properties: { 'Foo<!--': 0, 'a|b': 0, 'x`y': 0, '[click](https://evil.example)': 0 } } } };
  const markdown = renderMarkdown({
    baseline: 'test',
    stacks: [diffStack({ artifactId: 'S', stackName: 'S|<!--', displayName: 'S|<!--`', template: hostile }, { template: baseline })],
    stacksOnlyInBaseline: ['Old<!--|'],
  });

  /** The Markdown outside code spans: what GitHub interprets. */
  const outsideCode = markdown.replace(/`[^`\n]*`/g, 'CODE');

  test('no HTML comment, tag, link or stray backtick escapes a code span', () => {
    expect(outsideCode).not.toContain('<!--');
    expect(outsideCode).not.toMatch(/<img|\]\(https:\/\/evil/);
    expect(outsideCode).not.toContain('`');
  });

  test('every table row keeps its columns', () => {
    for (const table of markdown.split('\n\n').filter((block) => block.startsWith('|'))) {
      const rows = table.split('\n').filter((row) => row.startsWith('|'));
      const columns = (row: string) => row.replace(/\\\|/g, '').split('|').length;
      for (const row of rows) expect(`${columns(row)} ${row}`).toBe(`${columns(rows[0])} ${row}`);
    }
  });

  test('the names are still there, readable, in code spans', () => {
    expect(markdown).toContain('`Evil<!--`');
    expect(markdown).toContain("`x'y`");
    expect(markdown).toContain('`Custom::X\\|<!--`');
    expect(markdown).toContain('## `S\\|<!--\'`');
  });
});
