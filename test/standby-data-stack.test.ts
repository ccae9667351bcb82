import { Match } from 'aws-cdk-lib/assertions';
import { resourcesOfType, stacks, template } from './support/assembly';

const CASES = [
  ['BodyScript-Staging-StandbyData', 'staging', '111111111111'],
  ['BodyScript-Production-StandbyData', 'production', '222222222222'],
] as const;

describe.each(CASES)('%s', (stackName, env, account) => {
  test('lives in the standby region with termination protection', () => {
    const stack = stacks().find((s) => s.displayName === stackName)!;
    expect(stack.environment).toBe(`aws://${account}/us-west-2`);
    expect(stack.terminationProtection).toBe(true);
  });

  test.each(['standby-data', 'standby-database', 'standby-backup'])('has a rotating customer-managed key with alias %s', (purpose) => {
    template(stackName).hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/bodyscript-${env}/${purpose}` });
    expect(resourcesOfType(stackName, 'AWS::KMS::Key').every(([, key]) => key.Properties?.EnableKeyRotation === true)).toBe(true);
  });

  test.each(['uploads', 'results'])('the %s replica bucket is named for the standby region, versioned, Object Lock enabled and encrypted with the standby data key', (purpose) => {
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-${purpose}-${account}-us-west-2`,
      VersioningConfiguration: { Status: 'Enabled' },
      ObjectLockEnabled: true,
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StandbyDataKey'), 'Arn'] } } }),
        ],
      },
    });
  });

  test('the frontend replica bucket uses SSE-S3 like the primary frontend bucket', () => {
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-frontend-${account}-us-west-2`,
      VersioningConfiguration: { Status: 'Enabled' },
      ObjectLockEnabled: true,
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } })] },
    });
  });

  test('replica buckets log to the standby access-log bucket and do not replicate further', () => {
    const buckets = resourcesOfType(stackName, 'AWS::S3::Bucket');
    expect(buckets).toHaveLength(4);
    for (const [, bucket] of buckets) expect(bucket.Properties?.ReplicationConfiguration).toBeUndefined();
    const replicas = buckets.filter(([id]) => id.includes('Replica'));
    expect(replicas).toHaveLength(3);
    for (const [, bucket] of replicas) {
      expect(bucket.Properties?.LoggingConfiguration).toEqual(expect.objectContaining({ DestinationBucketName: { Ref: expect.stringMatching(/^StandbyAccessLogsBucket/) } }));
    }
  });

  test('the backup vault that receives copies of the daily recovery points has the environment vault name, its own key and a lock', () => {
    template(stackName).hasResourceProperties('AWS::Backup::BackupVault', {
      BackupVaultName: `bodyscript-${env}-vault`,
      EncryptionKeyArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StandbyBackupKey'), 'Arn'] },
      LockConfiguration: { MinRetentionDays: 7 },
    });
  });
});
