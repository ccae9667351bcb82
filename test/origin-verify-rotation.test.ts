import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { OriginVerifyRotation, type OriginVerifyRotationProps } from '../constructs/origin-verify-rotation';
import { testApp } from './support/synthesize';

function build(overrides: Partial<OriginVerifyRotationProps> = {}) {
  const stack = new Stack(testApp(), 'Rotation', { env: { account: '111111111111', region: 'us-east-1' } });
  const key = new kms.Key(stack, 'Key');
  const secret = new secretsmanager.Secret(stack, 'Secret', { secretName: 'bodyscript/staging/cloudfront-origin-verify', encryptionKey: key });
  new OriginVerifyRotation(stack, 'OriginVerifyRotation', {
    secret,
    headerName: 'X-Origin-Verify',
    distribution: cloudfront.Distribution.fromDistributionAttributes(stack, 'Distribution', { distributionId: 'E1EXAMPLE', domainName: 'd111111abcdef8.cloudfront.net' }),
    loadBalancers: [
      { region: 'us-east-1', loadBalancerName: 'bodyscript-staging-api', port: 80 },
      { region: 'us-west-2', loadBalancerName: 'bodyscript-staging-api', port: 80 },
    ],
    logKey: key,
    logRetention: logs.RetentionDays.ONE_YEAR,
    ...overrides,
  });
  return stack;
}

describe('OriginVerifyRotation', () => {
  const template = Template.fromStack(build());

  test('rotates the secret every 30 days with its function, first one schedule after creation (the standby does not exist at the first deploy)', () => {
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: Match.stringLikeRegexp('^Secret') },
      RotationLambdaARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OriginVerifyRotationFunction'), 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      RotateImmediatelyOnUpdate: false,
    });
  });

  test('tells its function the header, the distribution and every load balancer (by region and name)', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.rotationHandler',
      Timeout: 900,
      Environment: {
        Variables: {
          HEADER_NAME: 'X-Origin-Verify',
          DISTRIBUTION_ID: 'E1EXAMPLE',
          LOAD_BALANCERS: JSON.stringify([
            { region: 'us-east-1', name: 'bodyscript-staging-api', port: 80 },
            { region: 'us-west-2', name: 'bodyscript-staging-api', port: 80 },
          ]),
        },
      },
    });
  });

  test('may change this distribution and the rules of the named load balancers only', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'SendTheNewValue',
            Action: ['cloudfront:GetDistribution', 'cloudfront:GetDistributionConfig', 'cloudfront:UpdateDistribution'],
            Resource: 'arn:aws:cloudfront::111111111111:distribution/E1EXAMPLE',
          }),
          Match.objectLike({
            Sid: 'RewriteTheRules',
            Action: 'elasticloadbalancing:ModifyRule',
            Resource: [
              'arn:aws:elasticloadbalancing:us-east-1:111111111111:listener-rule/app/bodyscript-staging-api/*',
              'arn:aws:elasticloadbalancing:us-west-2:111111111111:listener-rule/app/bodyscript-staging-api/*',
            ],
          }),
        ]),
      },
    });
  });

  test('only Secrets Manager of this account may invoke the function', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'secretsmanager.amazonaws.com', SourceAccount: '111111111111', Action: 'lambda:InvokeFunction' });
  });

  test.each([
    ['a schedule under a day', { schedule: Duration.hours(12) }, /schedule must be 1–365 days/],
    ['no load balancer', { loadBalancers: [] }, /loadBalancers must name every api load balancer/],
  ])('refuses %s', (_case, overrides, message) => {
    expect(() => build(overrides)).toThrow(message);
  });
});
