import { testApp } from './support/synthesize';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { SecureBucket, type SecureBucketProps } from '../constructs/secure-bucket';

const lifecycle = { noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(1) };

function newStack() {
  return new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
}

describe('SecureBucket', () => {
  let template: Template;
  beforeAll(() => {
    const stack = newStack();
    const logs = new SecureBucket(stack, 'Logs', {
      bucketName: 'logs-bucket',
      isAccessLogBucket: true,
      currentVersionExpiration: Duration.days(90),
      sseS3Reason: 'S3 server access logging can only deliver to SSE-S3 buckets.',
      withoutReplicationReason: 'Access logs are regional audit records of this region only.',
      ...lifecycle,
    });
    new SecureBucket(stack, 'Data', {
      bucketName: 'data-bucket',
      encryptionKey: new kms.Key(stack, 'Key'),
      serverAccessLogsBucket: logs.bucket,
      withoutReplicationReason: 'Test bucket whose data need not survive a region loss.',
      withoutDefaultRetentionReason: 'Test bucket whose objects may be deleted at once.',
      ...lifecycle,
    });
    new SecureBucket(stack, 'Locked', {
      bucketName: 'locked-bucket',
      encryptionKey: new kms.Key(stack, 'LockedKey'),
      serverAccessLogsBucket: logs.bucket,
      withoutReplicationReason: 'Test bucket whose data need not survive a region loss.',
      defaultRetention: s3.ObjectLockRetention.governance(Duration.days(30)),
      ...lifecycle,
    });
    template = Template.fromStack(stack);
  });

  test('can be created with a customer-managed key, retained on delete', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketName: 'data-bucket',
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': ['Key961B73FD', 'Arn'] } } }] },
        LoggingConfiguration: { DestinationBucketName: { Ref: 'LogsBucket5C52C3D2' }, LogFilePrefix: 'data-bucket/' },
      },
    });
  });

  test('an access-log bucket expires its logs and lets the S3 logging service write', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'logs-bucket',
      LifecycleConfiguration: { Rules: [{ Id: 'ExpireNoncurrentVersions', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }, { Id: 'AbortIncompleteMultipartUploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }, { Id: 'ExpireLogs', Status: 'Enabled', ExpirationInDays: 90 }] },
    });
    expect(JSON.stringify(template.findResources('AWS::S3::BucketPolicy'))).toContain('logging.s3.amazonaws.com');
  });

  test('a bucket without a default retention keeps Object Lock on (legal holds) with no ObjectLockConfiguration', () => {
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'data-bucket', ObjectLockEnabled: true, ObjectLockConfiguration: Match.absent() });
  });

  test('a default retention becomes the bucket ObjectLockConfiguration (GOVERNANCE, days), Object Lock enabled as before', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'locked-bucket',
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } } },
    });
  });

  test('the access-log bucket has no Object Lock at all: S3 server access logging does not deliver to such a bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'logs-bucket', ObjectLockEnabled: Match.absent(), ObjectLockConfiguration: Match.absent() });
  });

  /** The statements of the policy of the bucket whose logical ID starts with `prefix`. */
  function policyStatements(prefix: string): Record<string, any>[] { // eslint-disable-line @typescript-eslint/no-explicit-any
    const [policy] = Object.values(template.findResources('AWS::S3::BucketPolicy')).filter((p) => p.Properties.Bucket.Ref.startsWith(prefix));
    return policy.Properties.PolicyDocument.Statement;
  }

  test('with a default retention, only the break-glass role may bypass governance mode', () => {
    expect(policyStatements('LockedBucket')).toContainEqual({
      Sid: 'DenyGovernanceBypassExceptBreakGlass',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:BypassGovernanceRetention',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^LockedBucket/), 'Arn'] }, '/*']] },
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws:iam::111111111111:role/BodyScriptBreakGlass' } },
    });
  });

  test("with a default retention, only the break-glass role and CloudFormation's execution role may change the Object Lock configuration", () => {
    const statement = policyStatements('LockedBucket').find((s) => s.Sid === 'DenyObjectLockChangesExceptBreakGlassAndCloudFormation');
    expect(statement).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:PutBucketObjectLockConfiguration', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^LockedBucket/), 'Arn'] } });
    const exempt = JSON.stringify(statement?.Condition.ArnNotEquals['aws:PrincipalArn']);
    expect(exempt).toContain(':role/BodyScriptBreakGlass');
    expect(exempt).toContain('cfn-exec-role-111111111111-us-east-1');
  });

  test('without a default retention the bucket policy has no Object Lock statements', () => {
    const sids = policyStatements('DataBucket').map((s) => s.Sid);
    expect(sids).not.toContain('DenyGovernanceBypassExceptBreakGlass');
    expect(sids).not.toContain('DenyObjectLockChangesExceptBreakGlassAndCloudFormation');
  });

  const base: SecureBucketProps = {
    bucketName: 'b',
    withoutReplicationReason: 'a reason long enough to read',
    sseS3Reason: 'a reason long enough to read',
    withoutDefaultRetentionReason: 'a reason long enough to read',
    ...lifecycle,
  };
  const retention = s3.ObjectLockRetention.governance(Duration.days(7));

  test('fails without a default retention or a reason for none, naming both props', () => {
    const stack = newStack();
    const logs = s3.Bucket.fromBucketName(stack, 'L', 'logs');
    expect(() => new SecureBucket(stack, 'B', { ...base, withoutDefaultRetentionReason: undefined, serverAccessLogsBucket: logs })).toThrow(
      /give a defaultRetention \(Object Lock\), or a withoutDefaultRetentionReason of at least 20 characters/,
    );
  });

  test('fails with a reason too short to tell a reviewer anything', () => {
    const stack = newStack();
    const logs = s3.Bucket.fromBucketName(stack, 'L', 'logs');
    expect(() => new SecureBucket(stack, 'B', { ...base, withoutDefaultRetentionReason: 'not needed', serverAccessLogsBucket: logs })).toThrow(/withoutDefaultRetentionReason of at least 20/);
  });

  test('fails with both a default retention and a reason for none', () => {
    const stack = newStack();
    const logs = s3.Bucket.fromBucketName(stack, 'L', 'logs');
    expect(() => new SecureBucket(stack, 'B', { ...base, defaultRetention: retention, serverAccessLogsBucket: logs })).toThrow(/not both/);
  });

  test('fails when an access-log bucket is given a default retention or a reason for none', () => {
    const access = { ...base, withoutDefaultRetentionReason: undefined, isAccessLogBucket: true };
    expect(() => new SecureBucket(newStack(), 'B', { ...access, defaultRetention: retention })).toThrow(/an access-log bucket has no Object Lock.*can't be used as destination buckets for server access logs/);
    expect(() => new SecureBucket(newStack(), 'B', { ...access, withoutDefaultRetentionReason: 'a reason long enough to read' })).toThrow(/an access-log bucket has no Object Lock/);
  });

  test("fails when a default retention's bucket policy is written by another stack (the bypass guard lives in it)", () => {
    const stack = newStack();
    const logs = s3.Bucket.fromBucketName(stack, 'L', 'logs');
    expect(() =>
      new SecureBucket(stack, 'B', { ...base, withoutDefaultRetentionReason: undefined, defaultRetention: retention, serverAccessLogsBucket: logs, bucketPolicyOwner: 'The Services stack writes this policy for its distribution.' }),
    ).toThrow(/a defaultRetention needs the bucket policy written here/);
  });

  test('fails without an access-log bucket unless it is one', () => {
    expect(() => new SecureBucket(newStack(), 'B', base)).toThrow(/serverAccessLogsBucket is required unless isAccessLogBucket is true/);
  });

  test('fails when an access-log bucket is given a KMS key', () => {
    const stack = newStack();
    expect(() => new SecureBucket(stack, 'B', { ...base, isAccessLogBucket: true, encryptionKey: new kms.Key(stack, 'K') })).toThrow(/must use SSE-S3/);
  });

  test('fails when application data would expire by itself', () => {
    const stack = newStack();
    const logs = s3.Bucket.fromBucketName(stack, 'L', 'logs');
    expect(() => new SecureBucket(stack, 'B', { ...base, serverAccessLogsBucket: logs, currentVersionExpiration: Duration.days(1) })).toThrow(/only for access-log buckets/);
  });

  test('fails without a key or a reason for SSE-S3', () => {
    const stack = newStack();
    const logs = s3.Bucket.fromBucketName(stack, 'L', 'logs');
    expect(() => new SecureBucket(stack, 'B', { ...base, sseS3Reason: undefined, serverAccessLogsBucket: logs })).toThrow(/give an encryptionKey, or an sseS3Reason/);
  });

  test('fails without replication rules or a reason not to replicate', () => {
    const stack = newStack();
    const logs = s3.Bucket.fromBucketName(stack, 'L', 'logs');
    expect(() => new SecureBucket(stack, 'B', { ...base, withoutReplicationReason: undefined, serverAccessLogsBucket: logs })).toThrow(/give replicationRules, or a withoutReplicationReason/);
  });
});
