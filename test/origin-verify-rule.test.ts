import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ORIGIN_VERIFY_RULE_RESOURCE_TYPE, OriginVerifyRule, type OriginVerifyRuleProps } from '../constructs/origin-verify-rule';
import { testApp } from './support/synthesize';

const KEY_ARN = 'arn:aws:kms:us-west-2:111111111111:key/11111111-2222-3333-4444-555555555555';

function build(overrides: Partial<OriginVerifyRuleProps> = {}) {
  const stack = new Stack(testApp(), 'Rule', { env: { account: '111111111111', region: 'us-west-2' } });
  const vpc = new ec2.Vpc(stack, 'Vpc');
  const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'LoadBalancer', { vpc });
  const listener = loadBalancer.addListener('Listener', { port: 80, open: false, defaultAction: elbv2.ListenerAction.fixedResponse(403) });
  const targetGroup = new elbv2.ApplicationTargetGroup(stack, 'Blue', { vpc, port: 8000, protocol: elbv2.ApplicationProtocol.HTTP, targetType: elbv2.TargetType.IP });
  const rule = new OriginVerifyRule(stack, 'ForwardVerifiedRequests', {
    listener,
    targetGroup,
    priority: 10,
    headerName: 'X-Origin-Verify',
    secret: secretsmanager.Secret.fromSecretNameV2(stack, 'Secret', 'bodyscript/staging/cloudfront-origin-verify'),
    secretKey: kms.Key.fromKeyArn(stack, 'SecretKey', KEY_ARN),
    logKey: new kms.Key(stack, 'LogKey'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    ...overrides,
  });
  return { stack, rule };
}

describe('OriginVerifyRule', () => {
  const { stack } = build();
  const template = Template.fromStack(stack);

  test('is a custom resource that names the listener, target group, header and secret, never the value', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 0);
    template.hasResourceProperties(ORIGIN_VERIFY_RULE_RESOURCE_TYPE, {
      ListenerArn: { Ref: Match.stringLikeRegexp('^LoadBalancerListener') },
      TargetGroupArn: { Ref: Match.stringLikeRegexp('^Blue') },
      Priority: 10,
      HeaderName: 'X-Origin-Verify',
      SecretId: 'bodyscript/staging/cloudfront-origin-verify',
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('resolve:secretsmanager');
  });

  test('its handler may change the rules of this listener only, and read (decrypt through Secrets Manager) this secret only', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'CreateTheRuleOnThisListener', Action: 'elasticloadbalancing:CreateRule', Resource: { Ref: Match.stringLikeRegexp('^LoadBalancerListener') } }),
          Match.objectLike({
            Sid: 'RewriteRulesOfThisListener',
            Action: ['elasticloadbalancing:DeleteRule', 'elasticloadbalancing:ModifyRule', 'elasticloadbalancing:SetRulePriorities'],
            Resource: { 'Fn::Join': ['', Match.arrayWith([':listener-rule/', '/*'])] },
          }),
          Match.objectLike({
            Sid: 'ReadTheValue',
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Resource: Match.stringLikeRegexp('secret:bodyscript/staging/cloudfront-origin-verify-\\?\\?\\?\\?\\?\\?$'),
          }),
          Match.objectLike({ Action: 'kms:Decrypt', Resource: KEY_ARN, Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-west-2.amazonaws.com' } } }),
        ]),
      },
    });
  });

  test('the rule is created before anything that needs the target group attached (its policy first)', () => {
    const [[, resource]] = Object.entries(template.findResources(ORIGIN_VERIFY_RULE_RESOURCE_TYPE));
    expect(resource.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^ForwardVerifiedRequestsHandlerPolicy/)]));
  });

  test('every log group of the handler and its provider is encrypted and retained for the given time', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(1);
    for (const group of groups) expect(group.Properties).toMatchObject({ KmsKeyId: expect.anything(), RetentionInDays: 365 });
  });

  test.each([
    ['a priority outside 1–50000', { priority: 0 }, /priority must be a whole number 1–50000.*got 0/],
    ['a header name an ALB condition refuses', { headerName: 'X Origin' }, /headerName must be 1–40 letters, digits or hyphens.*got 'X Origin'/],
  ])('refuses %s', (_case, overrides, message) => {
    expect(() => build(overrides)).toThrow(message);
  });
});
