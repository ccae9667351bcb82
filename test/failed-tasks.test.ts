import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { FailedTasks } from '../constructs/failed-tasks';
import { testApp } from './support/synthesize';

function setup() {
  const stack = new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 }) });
  const logKey = new kms.Key(stack, 'Key');
  return { stack, cluster, logKey };
}

describe('FailedTasks', () => {
  let template: Template;
  let failed: FailedTasks;
  beforeAll(() => {
    const { stack, cluster, logKey } = setup();
    failed = new FailedTasks(stack, 'ApiFailedTasks', { cluster, serviceName: 'bodyscript-staging-api', ruleName: 'bodyscript-staging-api-failed-tasks', logKey, logRetention: logs.RetentionDays.ONE_YEAR });
    template = Template.fromStack(stack);
  });

  test('matches the service’s tasks that stopped because a container exited, could not start, or failed a health check, and nothing ECS stopped on purpose', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'bodyscript-staging-api-failed-tasks',
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: {
          clusterArn: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Cluster'), 'Arn'] }],
          group: ['service:bodyscript-staging-api'],
          lastStatus: ['STOPPED'],
          $or: [{ stopCode: ['EssentialContainerExited', 'TaskFailedToStart'] }, { stoppedReason: [{ prefix: 'Task failed' }] }],
        },
      },
    });
  });

  test('keeps each failed task’s event in an encrypted log group under /aws/events/, which EventBridge may write to, retained like every log group', () => {
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: '/aws/events/bodyscript-staging-api-failed-tasks', RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } },
      DeletionPolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      // The log group's ARN without the ':*' of its GetAtt, as EventBridge takes a log group target.
      Targets: [{ Arn: { 'Fn::Join': ['', ['arn:aws:logs:us-east-1:111111111111:log-group:', { Ref: Match.stringLikeRegexp('^ApiFailedTasksEvents') }]] }, Id: 'Target0' }],
    });
    const [policy] = Object.values(template.findResources('AWS::Logs::ResourcePolicy'));
    // The document is a JSON string joined around the log group's ARN.
    const document = JSON.stringify(policy.Properties.PolicyDocument);
    expect(policy.Properties.PolicyName).toBe('bodyscript-staging-api-failed-tasks-events');
    expect(document).toContain('\\"Action\\":[\\"logs:CreateLogStream\\",\\"logs:PutLogEvents\\"]');
    expect(document).toContain('\\"Principal\\":{\\"Service\\":[\\"events.amazonaws.com\\",\\"delivery.logs.amazonaws.com\\"]}');
    expect(document).toMatch(/ApiFailedTasksEvents[0-9A-F]{8}/);
    template.resourceCountIs('Custom::CloudwatchLogResourcePolicy', 0);
  });

  test('its metric is the rule’s Invocations per minute, every matched event counted whether or not it reached the log group', () => {
    expect(failed.metric.namespace).toBe('AWS/Events');
    expect(failed.metric.metricName).toBe('Invocations');
    expect(failed.metric.dimensions).toEqual({ RuleName: 'bodyscript-staging-api-failed-tasks' });
    expect(failed.metric.statistic).toBe('Sum');
    expect(failed.metric.period.toSeconds()).toBe(60);
  });

  test.each([
    [{ ruleName: 'has spaces' }, /ruleName must be 1–64 characters/],
    [{ serviceName: '${Token[x]}' }, /serviceName must be a literal ECS service name/],
  ])('fails on %j', (overrides, error) => {
    const { stack, cluster, logKey } = setup();
    expect(() => new FailedTasks(stack, 'F', { cluster, serviceName: 'svc', ruleName: 'rule', logKey, logRetention: logs.RetentionDays.ONE_YEAR, ...overrides })).toThrow(error);
  });
});
