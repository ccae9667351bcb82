import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { ProcessingService, type ProcessingServiceProps, WORKER_CONTRACT } from '../constructs/processing-service';
import { FARGATE_MAX_STOP_TIMEOUT } from '../constructs/load-balanced-fargate-service';
import { testApp } from './support/synthesize';

const STORAGE = {
  uploadsObjects: 'arn:aws:s3:::test-uploads/*',
  resultsObjects: 'arn:aws:s3:::test-results/*',
  dataKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/data',
  region: 'us-east-1',
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
    queue: sqs.Queue.fromQueueArn(stack, 'Queue', 'arn:aws:sqs:us-east-1:111111111111:test-jobs'),
    minTasks: 1,
    maxTasks: 5,
    storage: STORAGE,
    database: { securityGroup: new ec2.SecurityGroup(stack, 'DatabaseSecurityGroup', { vpc }), port: 5433, resourceId: 'db-ABCDEFGHIJKLMNOPQRSTUVWXY0', user: 'bodyscript_worker' },
    metricsEnvironment: 'test',
    ...overrides,
  });
  return { stack, processing };
}

describe('ProcessingService', () => {
  let template: Template;
  beforeAll(() => {
    const { stack, processing } = setup();
    processing.watchReleases({ alarmNamePrefix: 'Test-processing-', canaryAlarm: cloudwatch.Alarm.fromAlarmName(stack, 'Canary', 'Test-processing-Canary'), canaryRequestsPerMinute: 1, alarmTopic: new sns.Topic(stack, 'Topic') });
    template = Template.fromStack(stack);
  });

  test('keeps the logical IDs of the service it wraps (its Default child)', () => {
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

  test('may read uploads, write results, consume its queue, use the data key, publish its own metrics, and what its deployment contract needs; nothing more', () => {
    const [policy] = Object.entries(template.findResources('AWS::IAM::ManagedPolicy')).filter(([id]) => id.startsWith('ProcessingTaskPolicy')).map(([, p]) => p);
    const statements = policy.Properties.PolicyDocument.Statement as { Sid: string; Action: string | string[]; Resource: unknown; Condition?: unknown }[];
    expect(statements.map((s) => s.Sid)).toEqual(['ReadUploads', 'WriteResults', 'ConsumeQueue', 'UseDataKey', 'PublishProcessingMetrics', 'HandJobsBack', 'FollowOwnDeployment', 'ProtectOwnTaskWhileBusy']);
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    // A job handed back is a fresh message: its receive count starts again, so a release never counts towards the dead-letter limit.
    // The data key only as S3 and SQS use it for the objects and messages (security review L7), never directly.
    expect(bySid.UseDataKey).toEqual({
      Sid: 'UseDataKey',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: STORAGE.dataKeyArn,
      Condition: { StringEquals: { 'kms:ViaService': ['s3.us-east-1.amazonaws.com', 'sqs.us-east-1.amazonaws.com'] } },
    });
    expect(bySid.HandJobsBack).toMatchObject({ Action: 'sqs:SendMessage', Resource: 'arn:aws:sqs:us-east-1:111111111111:test-jobs' });
    expect(bySid.FollowOwnDeployment).toMatchObject({ Action: 'ecs:DescribeServices', Resource: { Ref: expect.stringMatching(/^ProcessingService/) } });
    expect(bySid.ProtectOwnTaskWhileBusy).toMatchObject({
      Action: ['ecs:GetTaskProtection', 'ecs:UpdateTaskProtection'],
      Resource: 'arn:aws:ecs:us-east-1:111111111111:task/*',
      Condition: { ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [expect.stringMatching(/^Cluster/), 'Arn'] } } },
    });
  });

  test('logs in to the database as the worker role only (IAM authentication), from its own security group', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Sid: 'LogInToTheDatabaseAsItsOwnRole', Action: 'rds-db:connect', Effect: 'Allow', Resource: 'arn:aws:rds-db:us-east-1:111111111111:dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXY0/bodyscript_worker' },
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^ProcessingTaskDefinitionTaskRole') }],
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 5433, ToPort: 5433, SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProcessingSecurityGroup'), 'GroupId'] } });
  });

  test('its health canary sends HTTPS (S3, CloudWatch) and the production port to its load balancer only', () => {
    const [[, canary]] = Object.entries(template.findResources('AWS::EC2::SecurityGroup')).filter(([id]) => id.startsWith('ProcessingHealthCheckSecurityGroup'));
    expect(canary.Properties.SecurityGroupEgress).toEqual([{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: 'HTTPS to S3 and CloudWatch' }]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProcessingHealthCheckSecurityGroup'), 'GroupId'] },
      DestinationSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProcessingLoadBalancerSecurityGroup'), 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 80,
      ToPort: 80,
    });
  });

  test('is deployed as a worker: ECS rolling updates, circuit breaker with rollback, the longest stop timeout Fargate allows, no CodeDeploy', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      DeploymentController: { Type: 'ECS' },
      DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 100, MaximumPercent: 200, DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
    });
    template.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 0);
    template.resourceCountIs('Custom::EcsDeploymentTrigger', 0);
    const [definition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    expect(definition.Properties.ContainerDefinitions[0].StopTimeout).toBe(FARGATE_MAX_STOP_TIMEOUT.toSeconds());
    // The revision a release replaces stays ACTIVE for ops rollback.
    expect(definition.UpdateReplacePolicy).toBe('Retain');
  });

  test('tells the worker which service it belongs to, so it can tell when a newer release has become PRIMARY', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: 'ECS_CLUSTER_NAME', Value: { Ref: Match.stringLikeRegexp('^Cluster') } },
            { Name: 'ECS_SERVICE_NAME', Value: 'test-processing' },
          ]),
        }),
      ],
    });
  });

  test('the worker contract fits the deployment: the hand-back ends before SIGKILL, protection outlasts the longest job, and the old release stops taking jobs within two minutes', () => {
    expect(WORKER_CONTRACT.shutdownSeconds).toBeLessThan(FARGATE_MAX_STOP_TIMEOUT.toSeconds());
    expect(WORKER_CONTRACT.protectionMinutes).toBeGreaterThan(WORKER_CONTRACT.longestJobMinutes);
    expect(WORKER_CONTRACT.protectionRenewMinutes).toBeLessThan(WORKER_CONTRACT.protectionMinutes);
    // ECS's task protection lasts 1–2,880 minutes.
    expect(WORKER_CONTRACT.protectionMinutes).toBeLessThanOrEqual(2880);
    // Two releases take new jobs at most this long (s): the superseded check, plus a long poll already waiting.
    expect(WORKER_CONTRACT.supersededCheckSeconds + WORKER_CONTRACT.receiveWaitSeconds).toBeLessThanOrEqual(30);
  });

  test('scales between minTasks and maxTasks on the backlog per running task', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 5 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyName: 'test-processing-backlog-per-task',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 2 }),
    });
  });

  test('rolls back (ECS deployment alarms, by literal name) on what exists at its traffic: its targets and its canary; job failures, too rare with one worker to judge a release, and a stalled queue page only', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Test-processing-JobFailureRate' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Test-processing-QueueStalled' });
    const [service] = Object.values(template.findResources('AWS::ECS::Service'));
    expect(service.Properties.DeploymentConfiguration.Alarms).toEqual({
      AlarmNames: ['Test-processing-UnhealthyHosts', 'Test-processing-NoHealthyTargetForRequests', 'Test-processing-Canary'],
      Enable: true,
      Rollback: true,
    });
  });

  test('fails when the task bounds are not whole numbers with min ≤ max', () => {
    expect(() => setup({ maxTasks: 0 })).toThrow(/minTasks must be a whole number of at least 1 and maxTasks at least minTasks, got 1 and 0/);
  });
});
