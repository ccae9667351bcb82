import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BlueGreenService } from '../constructs/blue-green-service';
import type { LoadBalancedFargateServiceProps } from '../constructs/load-balanced-fargate-service';
import { PilotLightService } from '../constructs/pilot-light-service';
import { testApp } from './support/synthesize';

/**
 * LoadBalancedFargateService is abstract: it is tested through its two
 * deployments, which must build the very same task from the same settings.
 */
let blueGreen: Template;
let pilotLight: Template;
beforeAll(() => {
  // One app per deployment: the template of the first would otherwise freeze the app before the second is built.
  const build = (id: string, make: (stack: Stack, common: LoadBalancedFargateServiceProps) => void) => {
    const stack = new Stack(testApp(), id, { env: { account: '111111111111', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    make(stack, {
      cluster: new ecs.Cluster(stack, 'Cluster', { vpc }),
      serviceName: 'worker',
      family: 'worker',
      containerName: 'worker',
      image: ecs.ContainerImage.fromRegistry('example/worker:1.2.3'),
      cpu: 512,
      memoryMiB: 1024,
      containerPort: 8000,
      environment: { A: 'b' },
      scratchPaths: ['/tmp'],
      ephemeralStorageGiB: 30,
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
    });
    return Template.fromStack(stack);
  };
  blueGreen = build('BlueGreen', (stack, common) => {
    const service = new BlueGreenService(stack, 'Worker', {
      ...common,
      release: '1.2.3',
      desiredCount: 2,
      testPeers: [ec2.Peer.ipv4('10.0.0.0/16')],
      applicationName: 'worker',
      deploymentGroupName: 'worker',
      deploymentConfig: codedeploy.EcsDeploymentConfig.ALL_AT_ONCE,
      terminationWait: Duration.minutes(5),
      deploymentTimeout: Duration.minutes(30),
    });
    service.addRollbackAlarms([cloudwatch.Alarm.fromAlarmName(stack, 'Alarm', 'worker-5xx')]);
  });
  pilotLight = build('PilotLight', (stack, common) => new PilotLightService(stack, 'Worker', { ...common, maxTasks: 4 }));
});

const only = (template: Template, type: string) => {
  const found = Object.values(template.findResources(type));
  expect(found).toHaveLength(1);
  return found[0].Properties;
};

describe('LoadBalancedFargateService', () => {
  test('both deployments build the same task definition (one implementation of container, secrets, logging and health check)', () => {
    expect(only(pilotLight, 'AWS::ECS::TaskDefinition')).toEqual(only(blueGreen, 'AWS::ECS::TaskDefinition'));
    expect(only(pilotLight, 'AWS::ECS::TaskDefinition').ContainerDefinitions[0]).toMatchObject({ User: '1000:1000', ReadonlyRootFilesystem: true, Memory: 1024 });
  });

  test('both deployments build the same load balancer and log group', () => {
    expect(only(pilotLight, 'AWS::ElasticLoadBalancingV2::LoadBalancer')).toEqual(only(blueGreen, 'AWS::ElasticLoadBalancingV2::LoadBalancer'));
    const containerLogs = (t: Template) => t.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: '/test/worker' } });
    expect(containerLogs(pilotLight)).toEqual(containerLogs(blueGreen));
    expect(Object.keys(containerLogs(pilotLight))).toHaveLength(1);
  });

  test('they differ only in how releases reach the service', () => {
    const service = (t: Template) => only(t, 'AWS::ECS::Service');
    expect(service(blueGreen)).toMatchObject({ DeploymentController: { Type: 'CODE_DEPLOY' }, DesiredCount: 2 });
    expect(service(pilotLight)).toMatchObject({ DeploymentController: { Type: 'ECS' } });
    expect(service(pilotLight)).not.toHaveProperty('DesiredCount');
  });
});
