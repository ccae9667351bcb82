import { testApp } from './support/synthesize';
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
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

  const base: SecureBucketProps = { bucketName: 'b', withoutReplicationReason: 'a reason long enough to read', sseS3Reason: 'a reason long enough to read', ...lifecycle };

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
