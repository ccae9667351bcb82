import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { PILOT_LIGHT_CAPACITY, PilotLightService, type PilotLightServiceProps } from '../constructs/pilot-light-service';
import { testApp } from './support/synthesize';

function setup(overrides: Partial<PilotLightServiceProps> = {}, id = 'Standby'): Stack {
  const stack = new Stack(testApp(), id, { env: { account: '111111111111', region: 'us-west-2' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, clusterName: 'test' });
  new PilotLightService(stack, 'Api', {
    cluster,
    serviceName: 'api',
    family: 'api',
    containerName: 'api',
    image: ecs.ContainerImage.fromRegistry('example/api:1.2.3'),
    cpu: 256,
    memoryMiB: 512,
    maxTasks: 6,
    containerPort: 8000,
    taskSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    logGroupName: '/test/api',
    logKey: new kms.Key(stack, 'Key'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    internetFacing: true,
    loadBalancerSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    webAcl: new wafv2.CfnWebACL(stack, 'WebAcl', { scope: 'REGIONAL', defaultAction: { allow: {} }, visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'test', sampledRequestsEnabled: true } }),
    deletionProtection: false,
    accessLogsBucket: s3.Bucket.fromBucketName(stack, 'Logs', 'test-alb-logs'),
    accessLogsPrefix: 'api',
    productionPeers: [ec2.Peer.prefixList('pl-12345678')],
    requiredHeader: {
      name: 'X-Origin-Verify',
      secret: secretsmanager.Secret.fromSecretNameV2(stack, 'OriginVerify', 'test/origin-verify'),
      secretKey: kms.Key.fromKeyArn(stack, 'OriginVerifyKey', 'arn:aws:kms:us-west-2:111111111111:key/11111111-2222-3333-4444-555555555555'),
    },
    ...overrides,
  });
  return stack;
}

describe('PilotLightService', () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(setup());
  });

  test('can be created with the ECS deployment controller and a circuit breaker, stating no DesiredCount', () => {
    // CloudFormation re-sends a stated DesiredCount with every update of the service:
    // after a failover, a new image tag would scale the live standby back to zero.
    template.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: Match.absent(),
      DeploymentController: { Type: 'ECS' },
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
      LoadBalancers: [{ ContainerName: 'api', ContainerPort: 8000, TargetGroupArn: { Ref: Match.stringLikeRegexp('^ApiTargetGroup') } }],
    });
  });

  test('has no CodeDeploy, no green target group and no test listener', () => {
    template.resourceCountIs('AWS::CodeDeploy::Application', 0);
    template.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 0);
    template.resourceCountIs('Custom::EcsDeployment', 0);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', 1);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
  });

  test('holds the task count at 0..0 with a scalable target registered after the service (it brings the first task ECS starts to zero)', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: PILOT_LIGHT_CAPACITY.min,
      MaxCapacity: PILOT_LIGHT_CAPACITY.max,
      ScalableDimension: 'ecs:service:DesiredCount',
      SuspendedState: Match.absent(),
      RoleARN: 'arn:aws:iam::111111111111:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService',
    });
    expect(PILOT_LIGHT_CAPACITY).toEqual({ min: 0, max: 0 });
    const [target] = Object.values(template.findResources('AWS::ApplicationAutoScaling::ScalableTarget'));
    expect(target.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^ApiService/)]));
  });

  test('states the same scalable target and service capacity whatever maxTasks is, so a deploy never re-applies the bounds a failover set', () => {
    const small = Template.fromStack(setup({ maxTasks: 2 }, 'Small')).findResources('AWS::ApplicationAutoScaling::ScalableTarget');
    const large = Template.fromStack(setup({ maxTasks: 40 }, 'Large')).findResources('AWS::ApplicationAutoScaling::ScalableTarget');
    expect(Object.values(small).map((r) => r.Properties)).toEqual(Object.values(large).map((r) => r.Properties));
  });

  test('puts its internet-facing load balancer behind the regional web ACL it is given', () => {
    Template.fromStack(setup()).hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: { Ref: Match.stringLikeRegexp('^ApiLoadBalancer') },
      WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebAcl'), 'Arn'] },
    });
  });

  test('fails internet-facing without a web ACL: its listener would be reachable without a WAF', () => {
    expect(() => setup({ webAcl: undefined })).toThrow(/an internet-facing load balancer needs a webAcl/);
  });

  test('keeps the production listener behind the required header: 403 by default, forward with the header', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [Match.objectLike({ Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '403' }) })],
    });
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 0);
    template.hasResourceProperties('Custom::OriginVerifyRule', {
      HeaderName: 'X-Origin-Verify',
      SecretId: Match.stringLikeRegexp('test/origin-verify'),
      TargetGroupArn: { Ref: Match.stringLikeRegexp('TargetGroup') },
    });
  });

  test.each([
    ['maxTasks is zero', { maxTasks: 0 }, /maxTasks must be a whole number of at least 1, got 0/],
    ['the health path is relative', { healthCheckPath: 'health' }, /PilotLightService .*healthCheckPath must start with '\/', got 'health'/],
  ])('fails when %s', (_case, overrides, message) => {
    expect(() => setup(overrides)).toThrow(message);
  });
});
