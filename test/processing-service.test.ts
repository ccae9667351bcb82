import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { ProcessingService, type ProcessingServiceProps } from '../constructs/processing-service';
import { testApp } from './support/synthesize';

const STORAGE = {
  uploadsObjects: 'arn:aws:s3:::test-uploads/*',
  resultsObjects: 'arn:aws:s3:::test-results/*',
  dataKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/data',
};

function setup(overrides: Partial<ProcessingServiceProps> = {}): { stack: Stack; processing: ProcessingService } {
  const stack = new Stack(testApp(), 'Processing', { env: { account: '111111111111', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const processing = new ProcessingService(stack, 'Processing', {
    cluster: new ecs.Cluster(stack, 'Cluster', { vpc, clusterName: 'test' }),
    serviceName: 'test-processing',
    family: 'test-processing',
    containerName: 'processing',
    image: ecs.ContainerImage.fromRegistry('example/processing:1.2.3'),
    release: '1.2.3',
    cpu: 1024,
    memoryMiB: 2048,
    containerPort: 8000,
    environment: { BODYSCRIPT_ENVIRONMENT: 'test' },
    taskSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    logGroupName: '/test/processing',
    logKey: new kms.Key(stack, 'LogKey'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    loadBalancerSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    deletionProtection: false,
    accessLogsBucket: s3.Bucket.fromBucketName(stack, 'AlbLogs', 'test-alb-logs'),
    accessLogsPrefix: 'processing',
    testPeers: [ec2.Peer.ipv4('10.0.0.0/16')],
    applicationName: 'Test-processing',
    deploymentGroupName: 'Test-processing',
    deploymentConfig: codedeploy.EcsDeploymentConfig.ALL_AT_ONCE,
    terminationWait: Duration.minutes(5),
    deploymentTimeout: Duration.minutes(30),
    queue: sqs.Queue.fromQueueArn(stack, 'Queue', 'arn:aws:sqs:us-east-1:111111111111:test-jobs'),
    minTasks: 1,
    maxTasks: 5,
    storage: STORAGE,
    database: { securityGroup: new ec2.SecurityGroup(stack, 'DatabaseSecurityGroup', { vpc }), port: 5433, credentialsKey: new kms.Key(stack, 'DatabaseKey') },
    metricsEnvironment: 'test',
    ...overrides,
  });
  return { stack, processing };
}

describe('ProcessingService', () => {
  let template: Template;
  beforeAll(() => {
    const { stack, processing } = setup();
    processing.watchReleases({ alarmNamePrefix: 'Test-processing-', canaryAlarm: cloudwatch.Alarm.fromAlarmName(stack, 'Canary', 'Test-processing-Canary'), alarmTopic: new sns.Topic(stack, 'Topic') });
    template = Template.fromStack(stack);
  });

  test('keeps the logical IDs of the blue/green service it wraps (its Default child)', () => {
    expect(Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((id) => id.startsWith('ProcessingLogs'))).toEqual([expect.stringMatching(/^ProcessingLogs[0-9A-F]{8}$/)]);
  });

  test('can be created with an internal load balancer that only its health-check security group reaches on the production port', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 80,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProcessingLoadBalancerSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProcessingHealthCheckSecurityGroup'), 'GroupId'] },
    });
  });

  test('tells the worker its queue and metrics namespace, and gives it 50 GiB of scratch space', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      EphemeralStorage: { SizeInGiB: 50 },
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: 'BODYSCRIPT_ENVIRONMENT', Value: 'test' },
            { Name: 'PROCESSING_QUEUE_URL', Value: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/111111111111/test-jobs$')])] }) },
            { Name: 'METRICS_NAMESPACE', Value: 'BodyScript/Processing' },
          ]),
        }),
      ],
    });
  });

  test('may read uploads, write results, consume its queue, use the data key and publish its own metrics; nothing more', () => {
    const [policy] = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    expect((policy.Properties.PolicyDocument.Statement as { Sid: string }[]).map((s) => s.Sid)).toEqual(['ReadUploads', 'WriteResults', 'ConsumeQueue', 'UseDataKey', 'PublishProcessingMetrics']);
  });

  test('scales between minTasks and maxTasks on the backlog per running task', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 5 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyName: 'test-processing-backlog-per-task',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 2 }),
    });
  });

  test('rolls back on its load balancer, its job failure rate and its canary', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Test-processing-JobFailureRate' });
    const [group] = Object.values(template.findResources('AWS::CodeDeploy::DeploymentGroup'));
    expect(group.Properties.AlarmConfiguration.Alarms).toContainEqual({ Name: 'Test-processing-Canary' });
    expect(group.Properties.AlarmConfiguration.Alarms).toHaveLength(5);
  });

  test('fails when the task bounds are not whole numbers with min ≤ max', () => {
    expect(() => setup({ maxTasks: 0 })).toThrow(/minTasks must be a whole number of at least 1 and maxTasks at least minTasks, got 1 and 0/);
  });
});
