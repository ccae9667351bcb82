import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { FrontendBucketAccess, type FrontendBucketAccessProps } from '../constructs/frontend-bucket-access';
import { testApp } from './support/synthesize';

const PRIMARY = { bucketName: 'bodyscript-staging-frontend-111111111111-us-east-1', region: 'us-east-1' };
const REPLICA = { bucketName: 'bodyscript-staging-frontend-111111111111-us-west-2', region: 'us-west-2' };

function build(overrides: Partial<FrontendBucketAccessProps> = {}) {
  const stack = new Stack(testApp(), 'Services', { env: { account: '111111111111', region: 'us-east-1' } });
  const access = new FrontendBucketAccess(stack, 'FrontendBucketAccess', {
    distribution: cloudfront.Distribution.fromDistributionAttributes(stack, 'Distribution', { distributionId: 'E1EXAMPLE', domainName: 'd111111abcdef8.cloudfront.net' }),
    primary: PRIMARY,
    replica: REPLICA,
    logKey: new kms.Key(stack, 'LogKey'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    ...overrides,
  });
  return { stack, access };
}

const TLS_ONLY = (bucket: string) => [
  { Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
  { Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`], Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } },
];
const ORIGIN_ACCESS = (bucket: string) => ({
  Sid: 'AllowCloudFrontOriginAccessControl',
  Effect: 'Allow',
  Principal: { Service: 'cloudfront.amazonaws.com' },
  Action: 's3:GetObject',
  Resource: `arn:aws:s3:::${bucket}/*`,
  Condition: { StringEquals: { 'AWS:SourceArn': 'arn:aws:cloudfront::111111111111:distribution/E1EXAMPLE' } },
});

describe('FrontendBucketAccess', () => {
  const { stack } = build();
  const template = Template.fromStack(stack);

  test('writes the whole primary policy: TLS only, TLS 1.2 minimum, and CloudFront for this one distribution (not distribution/*), retained with the stack', () => {
    template.hasResource('AWS::S3::BucketPolicy', {
      DeletionPolicy: 'Retain',
      Properties: { Bucket: PRIMARY.bucketName, PolicyDocument: { Version: '2012-10-17', Statement: [...TLS_ONLY(PRIMARY.bucketName), ORIGIN_ACCESS(PRIMARY.bucketName)] } },
    });
  });

  test('puts the same policy on the replica in its own region, and leaves it TLS-only when the stack is deleted', () => {
    const [[, resource]] = Object.entries(template.findResources('Custom::FrontendReplicaBucketPolicy'));
    const call = (field: string) => {
      const resolved = stack.resolve(resource.Properties[field]);
      const text = typeof resolved === 'string' ? resolved : (resolved['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : '"E1EXAMPLE"')).join('');
      return JSON.parse(text) as { region: string; action: string; parameters: { Bucket: string; Policy: string } };
    };
    for (const [field, withCloudFront] of [['Create', true], ['Update', true], ['Delete', false]] as const) {
      const sdkCall = call(field);
      expect(sdkCall).toMatchObject({ service: 'S3', action: 'putBucketPolicy', region: 'us-west-2', parameters: { Bucket: REPLICA.bucketName } });
      const policy = JSON.parse(sdkCall.parameters.Policy);
      expect(policy.Statement).toEqual(withCloudFront ? [...TLS_ONLY(REPLICA.bucketName), ORIGIN_ACCESS(REPLICA.bucketName)] : TLS_ONLY(REPLICA.bucketName));
    }
  });

  test('its function may put the policy of the replica bucket only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 's3:PutBucketPolicy', Effect: 'Allow', Resource: `arn:aws:s3:::${REPLICA.bucketName}` })] },
    });
  });

  test('without a replica it writes the primary policy only', () => {
    const alone = Template.fromStack(build({ replica: undefined }).stack);
    alone.resourceCountIs('AWS::S3::BucketPolicy', 1);
    alone.resourceCountIs('Custom::FrontendReplicaBucketPolicy', 0);
  });

  test.each([
    ['a primary in another region', { primary: REPLICA }, /primary must be in this stack's region \(us-east-1\), got us-west-2/],
    ['a replica in this region', { replica: PRIMARY }, /replica must be in another region than us-east-1/],
  ])('refuses %s', (_case, overrides, message) => {
    expect(() => build(overrides)).toThrow(message);
  });
});
