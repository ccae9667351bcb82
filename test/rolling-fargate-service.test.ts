import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { RollingFargateService, type RollingFargateServiceProps, WORKER_DEREGISTRATION_DELAY } from '../constructs/rolling-fargate-service';
import { testApp } from './support/synthesize';

function setup(overrides: Partial<RollingFargateServiceProps> = {}, alarms = true): { stack: Stack; worker: RollingFargateService } {
  const stack = new Stack(testApp(), 'Worker', { env: { account: '111111111111', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const worker = new RollingFargateService(stack, 'Worker', {
    cluster: new ecs.Cluster(stack, 'Cluster', { vpc, clusterName: 'test' }),
    serviceName: 'worker',
    family: 'worker',
    containerName: 'worker',
    image: ecs.ContainerImage.fromRegistry('example/worker:1.2.3'),
    cpu: 256,
    memoryMiB: 512,
    desiredCount: 2,
    containerPort: 8000,
    taskSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    logGroupName: '/test/worker',
    logKey: new kms.Key(stack, 'Key'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    internetFacing: false,
    loadBalancerSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    deletionProtection: false,
    accessLogsBucket: s3.Bucket.fromBucketName(stack, 'Logs', 'test-alb-logs'),
    accessLogsPrefix: 'worker',
    productionPeers: [ec2.Peer.ipv4('10.0.0.0/16')],
    ...overrides,
  });
  if (alarms) {
    const jobFailures = new cloudwatch.Alarm(stack, 'JobFailures', {
      alarmName: 'Test-worker-JobFailureRate',
      metric: new cloudwatch.Metric({ namespace: 'Test', metricName: 'Failures', dimensionsMap: { ServiceName: worker.service.serviceName } }),
      threshold: 1,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    worker.addRollbackAlarms([jobFailures, cloudwatch.Alarm.fromAlarmName(stack, 'Canary', 'Test-worker-Canary')]);
  }
  return { stack, worker };
}

describe('RollingFargateService', () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(setup().stack);
  });

  test('can be created as an ECS rolling update with the circuit breaker rolling back, new tasks next to the old ones', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 2,
      DeploymentController: { Type: 'ECS' },
      DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 100, MaximumPercent: 200, DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
    });
    template.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 0);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', 1);
  });

  test('rolls a release back on its deployment alarms, listed once each by their literal names (a Ref from the service to an alarm on the service would be a cycle)', () => {
    const [service] = Object.values(template.findResources('AWS::ECS::Service'));
    expect(service.Properties.DeploymentConfiguration.Alarms).toEqual({ AlarmNames: ['Test-worker-JobFailureRate', 'Test-worker-Canary'], Enable: true, Rollback: true });
  });

  test('gives the worker Fargate’s longest stop timeout, drops its health target at once, and keeps replaced task definitions ACTIVE', () => {
    const [definition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    expect(definition.Properties.ContainerDefinitions[0].StopTimeout).toBe(120);
    expect(definition.UpdateReplacePolicy).toBe('Retain');
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: String(WORKER_DEREGISTRATION_DELAY.toSeconds()) }]),
    });
  });

  test('fails without a rollback alarm, when alarms are added twice, and with a stop timeout Fargate does not allow', () => {
    expect(setup({}, false).worker.node.validate()).toEqual([expect.stringMatching(/call addRollbackAlarms\(\) with at least one alarm/)]);
    const { worker } = setup();
    expect(() => worker.addRollbackAlarms([cloudwatch.Alarm.fromAlarmName(Stack.of(worker), 'Late', 'Late')])).toThrow(/addRollbackAlarms\(\) may be called once/);
    expect(() => setup({ stopTimeout: Duration.seconds(300) })).toThrow(/stopTimeout must be 1–120 seconds \(Fargate's maximum\), got 300 seconds/);
    expect(() => setup({ desiredCount: 0 })).toThrow(/desiredCount must be a whole number of at least 1, got 0/);
  });
});
