import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BlueGreenService, type BlueGreenServiceProps } from '../constructs/blue-green-service';
import { testApp } from './support/synthesize';
import { limitedServiceTrustStatement } from './support/service-role-trust';

function setup(overrides: Partial<BlueGreenServiceProps> = {}, withAlarm = true): { stack: Stack; service: BlueGreenService } {
  const stack = new Stack(testApp(), 'Service', { env: { account: '111111111111', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc });
  const service = new BlueGreenService(stack, 'Worker', {
    cluster,
    serviceName: 'worker',
    family: 'worker',
    containerName: 'worker',
    image: ecs.ContainerImage.fromRegistry('example/worker:1.2.3'),
    release: '1.2.3',
    cpu: 256,
    memoryMiB: 512,
    desiredCount: 1,
    containerPort: 8000,
    scratchPaths: ['/tmp', '/var/cache/models'],
    taskSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    logGroupName: '/test/worker',
    logKey: new kms.Key(stack, 'Key'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    internetFacing: false,
    loadBalancerSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    deletionProtection: true,
    accessLogsBucket: s3.Bucket.fromBucketName(stack, 'Logs', 'test-alb-logs'),
    accessLogsPrefix: 'worker',
    productionPeers: [ec2.Peer.ipv4('10.0.0.0/16')],
    testPeers: [ec2.Peer.ipv4('10.0.0.0/16')],
    applicationName: 'Test-worker',
    deploymentGroupName: 'Test-worker',
    deploymentConfig: codedeploy.EcsDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTES,
    terminationWait: Duration.minutes(15),
    deploymentTimeout: Duration.minutes(40),
    ...overrides,
  });
  if (withAlarm) service.addRollbackAlarms([cloudwatch.Alarm.fromAlarmName(stack, 'Alarm', 'Test-worker-5xx')]);
  return { stack, service };
}

describe('BlueGreenService', () => {
  let template: Template;
  beforeAll(() => {
    const { stack } = setup({ certificate: undefined });
    template = Template.fromStack(stack);
  });

  test('can be created with a CODE_DEPLOY service, a deployment group and a deployment trigger with the given timeout', () => {
    template.hasResourceProperties('AWS::ECS::Service', { DeploymentController: { Type: 'CODE_DEPLOY' }, TaskDefinition: 'worker' });
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      DeploymentConfigName: 'CodeDeployDefault.ECSLinear10PercentEvery1Minutes',
      BlueGreenDeploymentConfiguration: { TerminateBlueInstancesOnDeploymentSuccess: { Action: 'TERMINATE', TerminationWaitTimeInMinutes: 15 } },
    });
    template.hasResourceProperties('Custom::EcsDeploymentTrigger', {
      Description: 'worker release 1.2.3, started by cdk deploy',
      DeploymentConfigName: 'CodeDeployDefault.ECSLinear10PercentEvery1Minutes',
      AutoRollbackEvents: 'DEPLOYMENT_STOP_ON_ALARM,DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_REQUEST',
    });
    template.resourceCountIs('Custom::EcsDeployment', 0);
    const [waiter] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    // 40 minutes at one check every 15 seconds.
    expect(JSON.stringify(waiter.Properties.DefinitionString)).toContain('\\"MaxAttempts\\":160');
  });

  test('lets only CodeDeploy deploying its own deployment group assume the deployment group\'s service role (confused deputy, review L2)', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          limitedServiceTrustStatement('codedeploy.amazonaws.com', '111111111111', 'arn:aws:codedeploy:us-east-1:111111111111:deploymentgroup:Test-worker/Test-worker'),
        ],
      },
    });
  });

  test('keeps the task definition revision a release replaces ACTIVE (UpdateReplacePolicy Retain), so ops rollback can deploy it again', () => {
    const [definition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    expect(definition.UpdateReplacePolicy).toBe('Retain');
    expect(definition.DeletionPolicy).toBeUndefined();
  });

  test('mounts a writable volume at every scratch path over the read-only root filesystem', () => {
    const [definition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    expect(definition.Properties.ContainerDefinitions[0]).toMatchObject({
      ReadonlyRootFilesystem: true,
      User: '1000:1000',
      Memory: 512,
      MountPoints: [
        { ContainerPath: '/tmp', SourceVolume: 'scratch0', ReadOnly: false },
        { ContainerPath: '/var/cache/models', SourceVolume: 'scratch1', ReadOnly: false },
      ],
    });
  });

  test('without a required header the production listener forwards everything to blue', () => {
    const listeners = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::Listener')).map((l) => l.Properties);
    expect(listeners.find((l) => l.Port === 80)?.DefaultActions).toEqual([{ Type: 'forward', TargetGroupArn: { Ref: expect.stringMatching(/^WorkerBlueTargetGroup/) } }]);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 0);
  });

  test('with a certificate both listeners are HTTPS (443 and 8443)', () => {
    const { stack } = setup({ certificate: acm.Certificate.fromCertificateArn(new Stack(testApp(), 'Certs'), 'Cert', 'arn:aws:acm:us-east-1:111111111111:certificate/abc') });
    const https = Template.fromStack(stack);
    https.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS', SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' });
    https.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 8443, Protocol: 'HTTPS' });
  });

  test('lists the rollback alarms in the deployment group, and fails without any', () => {
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', { AlarmConfiguration: { Enabled: true, Alarms: [{ Name: 'Test-worker-5xx' }] } });
    const { service } = setup({}, false);
    expect(service.node.validate()).toEqual([expect.stringMatching(/call addRollbackAlarms\(\) with at least one alarm/)]);
  });

  test.each([
    ['the health path is relative', { healthCheckPath: 'health' }, /healthCheckPath must start with '\/', got 'health'/],
    ['nobody may reach the production listener', { productionPeers: [] }, /productionPeers must name at least one peer/],
    ['the deployment timeout is longer than CloudFormation waits', { deploymentTimeout: Duration.minutes(90) }, /deploymentTimeout must be at most 60 minutes .* got 90 minutes/],
  ])('fails when %s', (_case, overrides, message) => {
    expect(() => setup(overrides)).toThrow(message);
  });
});
