import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { ApiService, type ApiServiceProps } from '../constructs/api-service';
import { testApp } from './support/synthesize';

const STORAGE = {
  uploadsObjects: 'arn:aws:s3:::test-uploads/*',
  resultsObjects: 'arn:aws:s3:::test-results/*',
  dataKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/data',
  region: 'us-east-1',
};

function setup(overrides: Partial<ApiServiceProps> = {}): { stack: Stack; api: ApiService } {
  const stack = new Stack(testApp(), 'Api', { env: { account: '111111111111', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const databaseSecurityGroup = new ec2.SecurityGroup(stack, 'DatabaseSecurityGroup', { vpc });
  const api = new ApiService(stack, 'Api', {
    cluster: new ecs.Cluster(stack, 'Cluster', { vpc }),
    serviceName: 'test-api',
    family: 'test-api',
    containerName: 'api',
    image: ecs.ContainerImage.fromRegistry('example/api:1.2.3'),
    release: '1.2.3',
    cpu: 256,
    memoryMiB: 512,
    containerPort: 8000,
    taskSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    logGroupName: '/test/api',
    logKey: new kms.Key(stack, 'LogKey'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    internetFacing: true,
    loadBalancerSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    webAcl: new wafv2.CfnWebACL(stack, 'WebAcl', { scope: 'REGIONAL', defaultAction: { allow: {} }, visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'test', sampledRequestsEnabled: true } }),
    deletionProtection: false,
    accessLogsBucket: s3.Bucket.fromBucketName(stack, 'AlbLogs', 'test-alb-logs'),
    accessLogsPrefix: 'api',
    applicationName: 'Test-api',
    deploymentGroupName: 'Test-api',
    deploymentConfig: codedeploy.EcsDeploymentConfig.ALL_AT_ONCE,
    terminationWait: Duration.minutes(5),
    deploymentTimeout: Duration.minutes(30),
    originVerify: {
      name: 'X-Origin-Verify',
      secret: secretsmanager.Secret.fromSecretNameV2(stack, 'OriginVerify', 'test/origin-verify'),
      secretKey: kms.Key.fromKeyArn(stack, 'OriginVerifyKey', 'arn:aws:kms:us-east-1:111111111111:key/11111111-2222-3333-4444-555555555555'),
    },
    minTasks: 2,
    maxTasks: 6,
    storage: STORAGE,
    database: { securityGroup: databaseSecurityGroup, port: 5433, resourceId: 'db-ABCDEFGHIJKLMNOPQRSTUVWXY0', user: 'bodyscript_api' },
    ...overrides,
  });
  return { stack, api };
}

describe('ApiService', () => {
  let template: Template;
  beforeAll(() => {
    const { stack, api } = setup();
    api.watchReleases({ alarmNamePrefix: 'Test-api-', canaryAlarm: cloudwatch.Alarm.fromAlarmName(stack, 'Canary', 'Test-api-Canary'), canaryRequestsPerMinute: 3, alarmTopic: new sns.Topic(stack, 'Topic') });
    template = Template.fromStack(stack);
  });

  test('keeps the logical IDs of the blue/green service it wraps (its Default child)', () => {
    expect(Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((id) => id.startsWith('ApiLogs'))).toEqual([expect.stringMatching(/^ApiLogs[0-9A-F]{8}$/)]);
    expect(Object.keys(template.findResources('AWS::ECS::Service'))).toEqual([expect.stringMatching(/^ApiService[0-9A-F]{8}$/)]);
  });

  /** [port, source] of every ingress rule of the load balancer's security group. */
  function loadBalancerIngress(t: Template): [number, unknown][] {
    const [[groupId, group]] = Object.entries(t.findResources('AWS::EC2::SecurityGroup')).filter(([id]) => id.startsWith('ApiLoadBalancerSecurityGroup'));
    const separate = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress')).filter((r) => JSON.stringify(r.Properties.GroupId).includes(groupId));
    const rules = [...(group.Properties.SecurityGroupIngress ?? []), ...separate.map((r) => r.Properties)] as { FromPort: number; SourcePrefixListId?: string; CidrIp?: string; SourceSecurityGroupId?: unknown }[];
    return rules.map((r) => [r.FromPort, r.SourcePrefixListId ?? r.CidrIp ?? r.SourceSecurityGroupId]);
  }

  test('can be created internet-facing behind its regional web ACL, admitting only CloudFront (the origin-facing prefix list) and forwarding only requests with the origin header', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: { Ref: Match.stringLikeRegexp('^ApiLoadBalancer') },
      WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebAcl'), 'Arn'] },
    });
    // The CloudFront origin-facing prefix list of us-east-1 (cdk.context.json) on the production port; the deployment path's security group on the test port.
    expect(loadBalancerIngress(template).sort()).toEqual([
      [80, 'pl-3b927c52'],
      [8080, { 'Fn::GetAtt': [expect.stringMatching(/^ApiTestTrafficSecurityGroup/), 'GroupId'] }],
    ]);
    // The header rule is the rotation's (Custom::OriginVerifyRule), never a template value.
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 0);
    template.hasResourceProperties('Custom::OriginVerifyRule', {
      HeaderName: 'X-Origin-Verify',
      SecretId: Match.stringLikeRegexp('test/origin-verify'),
      Priority: 10,
      TargetGroupArn: { Ref: Match.stringLikeRegexp('^ApiBlueTargetGroup') },
    });
  });

  test('admits test traffic only from its own security group, which may reach nothing but the test listener', () => {
    const [[, group]] = Object.entries(template.findResources('AWS::EC2::SecurityGroup')).filter(([id]) => id.startsWith('ApiTestTrafficSecurityGroup'));
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    // Its only egress: the test listener of this api's load balancer.
    expect(group.Properties.SecurityGroupEgress).toEqual([
      {
        Description: 'test-api test listener',
        DestinationSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^ApiLoadBalancerSecurityGroup/), 'GroupId'] },
        FromPort: 8080,
        ToPort: 8080,
        IpProtocol: 'tcp',
      },
    ]);
  });

  test('its tasks send HTTPS and the database port to the database group only; its load balancer only the tasks\' port (security review M10)', () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    const [[, tasks]] = Object.entries(groups).filter(([id]) => id.startsWith('ApiSecurityGroup'));
    expect(tasks.Properties.SecurityGroupEgress).toEqual([{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: 'HTTPS to AWS APIs and Sentry' }]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiSecurityGroup'), 'GroupId'] },
      DestinationSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 5433,
      ToPort: 5433,
    });
    // A group created without egress rules would get EC2's default allow-all: the load balancer keeps the no-traffic rule, its target rules are separate.
    const [[, loadBalancer]] = Object.entries(groups).filter(([id]) => id.startsWith('ApiLoadBalancerSecurityGroup'));
    expect(loadBalancer.Properties.SecurityGroupEgress).toEqual([{ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', IpProtocol: 'icmp', FromPort: 252, ToPort: 86 }]);
    const loadBalancerEgress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')).filter((r) => JSON.stringify(r.Properties.GroupId).includes('ApiLoadBalancerSecurityGroup'));
    expect(loadBalancerEgress.map((r) => [r.Properties.FromPort, JSON.stringify(r.Properties.DestinationSecurityGroupId)])).toEqual([[8000, expect.stringContaining('ApiSecurityGroup')]]);
  });

  test('can be created internal, without a web ACL: CloudFront reaches it through a VPC origin', () => {
    const { stack, api } = setup({ internetFacing: false, webAcl: undefined, loadBalancerSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } });
    api.watchReleases({ alarmNamePrefix: 'Test-api-', canaryAlarm: cloudwatch.Alarm.fromAlarmName(stack, 'Canary', 'Test-api-Canary'), canaryRequestsPerMinute: 3, alarmTopic: new sns.Topic(stack, 'Topic') });
    const internal = Template.fromStack(stack);
    internal.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
    internal.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
    expect(loadBalancerIngress(internal).map(([port, source]) => [port, typeof source === 'string' ? source : 'security group'])).toEqual(
      expect.arrayContaining([[80, 'pl-3b927c52'], [8080, 'security group']]),
    );
  });

  test('fails internet-facing without a web ACL, or with a web ACL of CloudFront scope', () => {
    expect(() => setup({ webAcl: undefined })).toThrow(/an internet-facing load balancer needs a webAcl/);
    expect(() =>
      setup({
        webAcl: new wafv2.CfnWebACL(new Stack(), 'Edge', { scope: 'CLOUDFRONT', defaultAction: { allow: {} }, visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'edge', sampledRequestsEnabled: true } }),
      }),
    ).toThrow(/webAcl must have scope REGIONAL/);
  });

  test('starts minTasks tasks and scales between minTasks and maxTasks on CPU', () => {
    template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 2 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 6 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, TargetValue: 60 }),
    });
  });

  test('may sign uploads and downloads and use the data key for them, nothing more', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          { Sid: 'PutUploads', Action: 's3:PutObject', Effect: 'Allow', Resource: STORAGE.uploadsObjects },
          { Sid: 'GetResults', Action: 's3:GetObject', Effect: 'Allow', Resource: STORAGE.resultsObjects },
          {
            Sid: 'UseDataKey',
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Effect: 'Allow',
            Resource: STORAGE.dataKeyArn,
            // Only as S3 uses it for those objects (security review L7), never directly.
            Condition: { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } },
          },
        ],
      },
    });
  });

  test('reaches the database on its port and logs in as its own role with IAM authentication, with no credentials to decrypt', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 5433,
      ToPort: 5433,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiSecurityGroup'), 'GroupId'] },
    });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'LogInToTheDatabaseAsItsOwnRole',
            Action: 'rds-db:connect',
            Effect: 'Allow',
            Resource: 'arn:aws:rds-db:us-east-1:111111111111:dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXY0/bodyscript_api',
          },
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^ApiTaskDefinitionTaskRole') }],
    });
    // The execution role starts tasks; it reads no database secret and decrypts nothing of the database.
    for (const policy of [...Object.values(template.findResources('AWS::IAM::Policy')), ...Object.values(template.findResources('AWS::IAM::ManagedPolicy'))]) {
      const text = JSON.stringify(policy);
      if (text.includes('ExecutionRole')) expect(text).not.toMatch(/rds-db|DatabaseKey|secretsmanager\.us-east-1/);
    }
  });

  test('rolls back on its load balancer alarms and its canary, and exposes them as rollbackAlarms', () => {
    const [group] = Object.values(template.findResources('AWS::CodeDeploy::DeploymentGroup'));
    expect(group.Properties.AlarmConfiguration.Alarms).toContainEqual({ Name: 'Test-api-Canary' });
    // 5xx rate, p99 latency, unhealthy hosts, requests without a healthy target, canary.
    expect(group.Properties.AlarmConfiguration.Alarms).toHaveLength(5);
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmName: 'Test-api-Rollback' });
  });

  test('fails when its rollback alarms are read before watchReleases(), or it is watched twice', () => {
    const { stack, api } = setup();
    expect(() => api.rollbackAlarms).toThrow(/call watchReleases\(\) first/);
    const watch = { alarmNamePrefix: 'Test-api-', canaryAlarm: cloudwatch.Alarm.fromAlarmName(stack, 'Canary', 'Test-api-Canary'), canaryRequestsPerMinute: 3, alarmTopic: new sns.Topic(stack, 'Topic') };
    api.watchReleases(watch);
    expect(() => api.watchReleases(watch)).toThrow(/watchReleases\(\) may be called once/);
  });

  test.each([
    [{ minTasks: 0 }, /minTasks must be a whole number of at least 1 and maxTasks at least minTasks, got 0 and 6/],
    [{ minTasks: 4, maxTasks: 3 }, /got 4 and 3/],
  ])('fails when the task bounds are %j', (overrides, message) => {
    expect(() => setup(overrides)).toThrow(message);
  });
});
