import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DataBuckets, type DataBucketsProps } from '../constructs/data-buckets';
import { testApp } from './support/synthesize';

const NAMES = {
  accessLogs: 'test-access-logs',
  uploads: 'test-uploads',
  results: 'test-results',
  frontend: 'test-frontend',
  loadBalancerLogs: 'test-alb-logs',
  cloudFrontLogs: 'test-cloudfront-logs',
};

function setup(overrides: Partial<DataBucketsProps> = {}): Stack {
  const stack = new Stack(testApp(), 'Data', { env: { account: '111111111111', region: 'us-east-1' } });
  new DataBuckets(stack, 'Default', {
    bucketNames: NAMES,
    dataKey: new kms.Key(stack, 'DataKey'),
    standby: {
      account: '111111111111',
      region: 'us-west-2',
      bucketNames: { uploads: 'test-uploads-replica', results: 'test-results-replica', frontend: 'test-frontend-replica' },
      dataKey: kms.Key.fromKeyArn(stack, 'StandbyKey', 'arn:aws:kms:us-west-2:111111111111:alias/test/standby-data'),
      dataKeyAlias: 'alias/test/standby-data',
    },
    replicationRuleId: 'ReplicateToStandby',
    noncurrentVersionExpiration: Duration.days(30),
    abortIncompleteMultipartUploadAfter: Duration.days(1),
    logExpiration: Duration.days(90),
    resultsRetention: s3.ObjectLockRetention.governance(Duration.days(7)),
    appOrigins: ['https://app.bodyscript.example'],
    ...overrides,
  });
  return stack;
}

describe('DataBuckets', () => {
  const template = Template.fromStack(setup());

  test('the uploads bucket answers CORS for presigned PUTs from the app origin, the results bucket for GET and HEAD', () => {
    const cors = (name: string) => Object.values(template.findResources('AWS::S3::Bucket', { Properties: { BucketName: name } }))[0].Properties.CorsConfiguration;
    expect(cors('test-uploads')).toEqual({
      CorsRules: [expect.objectContaining({ AllowedOrigins: ['https://app.bodyscript.example'], AllowedMethods: ['PUT'], AllowedHeaders: expect.arrayContaining(['Content-Type']), MaxAge: 3000 })],
    });
    expect(cors('test-results')).toEqual({
      CorsRules: [expect.objectContaining({ AllowedOrigins: ['https://app.bodyscript.example'], AllowedMethods: ['GET', 'HEAD'], AllowedHeaders: ['Range'] })],
    });
    for (const other of ['test-frontend', 'test-access-logs', 'test-alb-logs', 'test-cloudfront-logs']) expect(cors(other)).toBeUndefined();
  });

  test('only the results bucket gets the Object Lock default retention; the others keep Object Lock without one, the access-log bucket has none', () => {
    const lock = (name: string) => Object.values(template.findResources('AWS::S3::Bucket', { Properties: { BucketName: name } }))[0].Properties;
    expect(lock('test-results')).toMatchObject({ ObjectLockEnabled: true, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 7 } } } });
    for (const name of ['test-uploads', 'test-frontend', 'test-alb-logs', 'test-cloudfront-logs']) {
      expect(lock(name).ObjectLockEnabled).toBe(true);
      expect(lock(name).ObjectLockConfiguration).toBeUndefined();
    }
    expect(lock('test-access-logs').ObjectLockEnabled).toBeUndefined();
    expect(lock('test-access-logs').ObjectLockConfiguration).toBeUndefined();
  });

  test('fails without an app origin: browsers could not use the presigned URLs', () => {
    expect(() => setup({ appOrigins: [] })).toThrow(/appOrigins must name the web app's origin/);
  });

  test('can be created with six named buckets, logical IDs as if created at the top of the stack (Default child)', () => {
    const ids = Object.keys(template.findResources('AWS::S3::Bucket')).map((id) => id.replace(/[0-9A-F]{8}$/, ''));
    expect(ids.sort()).toEqual(['AccessLogsBucket', 'CloudFrontLogsBucket', 'FrontendBucket', 'LoadBalancerLogsBucket', 'ResultsBucket', 'UploadsBucket']);
  });

  test.each([
    ['test-uploads', 'test-uploads-replica', true],
    ['test-results', 'test-results-replica', true],
    ['test-frontend', 'test-frontend-replica', false],
  ])('%s replicates to %s within 15 minutes, delete markers included (KMS: %s)', (source, destination, kmsEncrypted) => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: source,
      ReplicationConfiguration: {
        Role: Match.anyValue(),
        Rules: [
          Match.objectLike({
            Id: 'ReplicateToStandby',
            Destination: Match.objectLike({
              Bucket: `arn:aws:s3:::${destination}`,
              ReplicationTime: { Status: 'Enabled', Time: { Minutes: 15 } },
              ...(kmsEncrypted ? { EncryptionConfiguration: { ReplicaKmsKeyID: 'arn:aws:kms:us-west-2:111111111111:alias/test/standby-data' } } : {}),
            }),
            DeleteMarkerReplication: { Status: 'Enabled' },
          }),
        ],
      },
    });
  });

  test('the replication role encrypts replicas only with the standby key matched by its alias, through S3 in the standby region', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'EncryptStandbyReplicas',
            Resource: 'arn:aws:kms:us-west-2:111111111111:key/*',
            Condition: Match.objectLike({ 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/test/standby-data' }, StringEquals: { 'kms:ViaService': 's3.us-west-2.amazonaws.com' } }),
          }),
        ]),
      },
    });
  });

  test('the load balancer and CloudFront log buckets expire their logs, CloudFront logs with ACLs enabled', () => {
    for (const name of ['test-alb-logs', 'test-cloudfront-logs']) {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: name,
        LifecycleConfiguration: { Rules: Match.arrayWith([{ Id: 'ExpireLogs', ExpirationInDays: 90, Status: 'Enabled' }]) },
      });
    }
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'test-cloudfront-logs', OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] } });
  });

  test('writes no policy for the frontend bucket (FrontendBucketAccess binds it to its distribution in the Services stack), and none grants CloudFront', () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    expect(policies.filter((p) => JSON.stringify(p.Properties.Bucket).includes('FrontendBucket'))).toEqual([]);
    expect(JSON.stringify(policies)).not.toContain('cloudfront.amazonaws.com');
  });

  test('fails when the standby is in the same region as the buckets', () => {
    expect(() => setup({ standby: { account: '111111111111', region: 'us-east-1', bucketNames: { uploads: 'a', results: 'b', frontend: 'c' }, dataKey: kms.Key.fromKeyArn(new Stack(), 'K', 'arn:aws:kms:us-east-1:1:key/x'), dataKeyAlias: 'alias/x' } })).toThrow(
      /standby.region must be another region than the buckets' \(us-east-1\)/,
    );
  });
});
