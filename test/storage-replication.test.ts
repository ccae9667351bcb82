import { Match } from 'aws-cdk-lib/assertions';
import { stacks, template, templateJson } from './support/assembly';

/** What the primary data stacks do so that data survives the loss of us-east-1. */
const CASES = [
  ['BodyScript-Staging-Data', 'staging', '111111111111', 7],
  ['BodyScript-Production-Data', 'production', '222222222222', 35],
] as const;

describe.each(CASES)('%s', (stackName, env, account, retentionDays) => {
  const standbyBucket = (purpose: string) => `arn:aws:s3:::bodyscript-${env}-${purpose}-${account}-us-west-2`;
  const standbyAlias = (purpose: string) => `arn:aws:kms:us-west-2:${account}:alias/bodyscript-${env}/standby-${purpose}`;

  test('is deployed after its StandbyData stack (an ordering, not a reference)', () => {
    const data = stacks().find((s) => s.displayName === stackName)!;
    expect(data.dependencies).toContain(`BodyScript-${env === 'staging' ? 'Staging' : 'Production'}-StandbyData`);
  });

  test.each(['uploads', 'results'])('the %s bucket replicates KMS-encrypted objects to its standby bucket with RTC, metrics and the standby data key', (purpose) => {
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-${purpose}-${account}-us-east-1`,
      ReplicationConfiguration: {
        Role: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReplicationRole'), 'Arn'] },
        Rules: [
          {
            Id: 'ReplicateToStandby',
            Status: 'Enabled',
            Filter: { Prefix: '' },
            DeleteMarkerReplication: { Status: 'Enabled' },
            SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: 'Enabled' } },
            Destination: {
              Bucket: standbyBucket(purpose),
              EncryptionConfiguration: { ReplicaKmsKeyID: standbyAlias('data') },
              ReplicationTime: { Status: 'Enabled', Time: { Minutes: 15 } },
              Metrics: { Status: 'Enabled', EventThreshold: { Minutes: 15 } },
            },
          },
        ],
      },
    });
  });

  test('the frontend bucket (SSE-S3) replicates with RTC and metrics, without a replica key', () => {
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-frontend-${account}-us-east-1`,
      ReplicationConfiguration: {
        Rules: [
          Match.objectLike({
            Id: 'ReplicateToStandby',
            DeleteMarkerReplication: { Status: 'Enabled' },
            Destination: {
              Bucket: standbyBucket('frontend'),
              ReplicationTime: { Status: 'Enabled', Time: { Minutes: 15 } },
              Metrics: { Status: 'Enabled', EventThreshold: { Minutes: 15 } },
            },
          }),
        ],
      },
    });
  });

  test('the access-log bucket stays regional', () => {
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-s3-access-logs-${account}-us-east-1`,
      ReplicationConfiguration: Match.absent(),
    });
  });

  test('the replication role can be assumed by S3 only', () => {
    template(stackName).hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 's3.amazonaws.com' } })] },
    });
    template(stackName).hasResourceProperties('AWS::IAM::ManagedPolicy', { Roles: [{ Ref: Match.stringLikeRegexp('^ReplicationRole') }] });
  });

  test('the replication policy writes only into the standby buckets and encrypts only with the standby data key, through S3', () => {
    const [, policy] = Object.entries(templateJson(stackName).Resources).find(([id]) => id.startsWith('ReplicationPolicy'))!;
    const statements = (policy.Properties?.PolicyDocument as { Statement: { Sid: string; Action: string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> }[] }).Statement;
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect([...bySid.WriteStandbyReplicas.Action].sort()).toEqual(['s3:ReplicateDelete', 's3:ReplicateObject', 's3:ReplicateTags']);
    expect([...(bySid.WriteStandbyReplicas.Resource as string[])].sort()).toEqual(['frontend', 'results', 'uploads'].map((p) => `${standbyBucket(p)}/*`));
    expect(bySid.EncryptStandbyReplicas.Resource).toBe(`arn:aws:kms:us-west-2:${account}:key/*`);
    expect(bySid.EncryptStandbyReplicas.Condition?.['ForAnyValue:StringEquals']).toEqual({ 'kms:ResourceAliases': `alias/bodyscript-${env}/standby-data` });
    expect(bySid.EncryptStandbyReplicas.Condition?.StringEquals).toEqual({ 'kms:ViaService': 's3.us-west-2.amazonaws.com' });
    expect(bySid.DecryptSourceObjects.Condition?.StringEquals).toEqual({ 'kms:ViaService': 's3.us-east-1.amazonaws.com' });
    expect(bySid.ReadSourceVersions.Action).toEqual(expect.arrayContaining(['s3:GetObjectVersionForReplication', 's3:GetObjectRetention', 's3:GetObjectLegalHold']));
  });

  test('the database replicates its automated backups to the standby region with the standby database key, by key ARN (RDS documents a key ARN, not an alias)', () => {
    template(stackName).hasResourceProperties('AWS::RDS::DBInstance', {
      DBInstanceIdentifier: `bodyscript-${env}-postgres`,
      AutomaticBackupReplicationRegion: 'us-west-2',
      AutomaticBackupReplicationKmsKeyId: { 'Fn::GetStackOutput': { StackName: stackName.replace(/-Data$/, '-StandbyData'), Region: 'us-west-2', OutputName: Match.stringLikeRegexp('^PublishOutputFnGetAttStandbyDatabaseKey') } },
      AutomaticBackupReplicationRetentionPeriod: retentionDays,
    });
  });

  test('the database master secret has a replica in the standby region, encrypted with the standby database key', () => {
    template(stackName).hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: `bodyscript/${env}/database-master`,
      ReplicaRegions: [{ Region: 'us-west-2', KmsKeyId: standbyAlias('database') }],
    });
  });

  test("the environment's container images replicate to the standby region (registry stack)", () => {
    template(stackName.replace(/-Data$/, '-Registry')).hasResourceProperties('AWS::ECR::ReplicationConfiguration', {
      ReplicationConfiguration: {
        Rules: [
          {
            Destinations: [{ Region: 'us-west-2', RegistryId: account }],
            RepositoryFilters: [{ Filter: `bodyscript/${env}/`, FilterType: 'PREFIX_MATCH' }],
          },
        ],
      },
    });
  });

  test('every daily recovery point is copied to the standby vault and kept as long as the original', () => {
    template(stackName).hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: {
        BackupPlanRule: [
          Match.objectLike({
            RuleName: 'Daily',
            // Production also copies to its backup account (test/data-stack.test.ts, test/backup-vault-stack.test.ts).
            CopyActions: Match.arrayWith([{ DestinationBackupVaultArn: `arn:aws:backup:us-west-2:${account}:backup-vault:bodyscript-${env}-vault`, Lifecycle: { DeleteAfterDays: retentionDays } }]),
          }),
        ],
      },
    });
  });
});
