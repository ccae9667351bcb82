import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { FaultExperiment, type FaultExperimentProps, selectedCount } from '../constructs/fault-experiment';
import { testApp } from './support/synthesize';

const ALARM = 'arn:aws:cloudwatch:us-east-1:111111111111:alarm:Health';
const DB = 'arn:aws:rds:us-east-1:111111111111:db:test';
const ACCOUNT = '111111111111';

function alarm(stack: Stack, id: string): cloudwatch.Alarm {
  return new cloudwatch.Alarm(stack, id, { metric: new cloudwatch.Metric({ namespace: 'Test', metricName: id }), threshold: 1, evaluationPeriods: 1 });
}

function build(overrides: Partial<FaultExperimentProps> | ((stack: Stack) => Partial<FaultExperimentProps>) = {}) {
  const stack = new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
  const more = typeof overrides === 'function' ? overrides(stack) : overrides;
  new FaultExperiment(stack, 'Reboot', {
    name: 'Test-Reboot',
    description: 'Reboot the test database with a forced failover.',
    actionId: 'aws:rds:reboot-db-instances',
    actionParameters: { forceFailover: 'true' },
    actionTargetKey: 'DBInstances',
    target: { resourceType: 'aws:rds:db', selectionMode: 'ALL', resourceArns: [DB] },
    stopConditions: [cloudwatch.Alarm.fromAlarmArn(stack, 'Health', ALARM)],
    logGroup: new logs.LogGroup(stack, 'Logs'),
    permissions: [new iam.PolicyStatement({ actions: ['rds:RebootDBInstance'], resources: [DB] })],
    ...more,
  });
  return Template.fromStack(stack);
}

describe('FaultExperiment', () => {
  let template: Template;
  beforeAll(() => {
    template = build();
  });

  test('can be created with one action on one target, a stop condition and a log', () => {
    template.hasResourceProperties('AWS::FIS::ExperimentTemplate', {
      StopConditions: [{ Source: 'aws:cloudwatch:alarm', Value: ALARM }],
      Targets: { Targets: { ResourceType: 'aws:rds:db', SelectionMode: 'ALL', ResourceArns: [DB] } },
      Actions: { Fault: { ActionId: 'aws:rds:reboot-db-instances', Parameters: { forceFailover: 'true' }, Targets: { DBInstances: 'Targets' }, Description: Match.anyValue() } },
      LogConfiguration: { LogSchemaVersion: 2, CloudWatchLogsConfiguration: { LogGroupArn: Match.anyValue() } },
      ExperimentOptions: { EmptyTargetResolutionMode: 'fail' },
      Tags: { Name: 'Test-Reboot' },
    });
  });

  test('runs with a role of its own that FIS assumes, holding only the given permissions and log delivery', () => {
    template.hasResourceProperties('AWS::IAM::Role', { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'fis.amazonaws.com' } })] } });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Action: 'rds:RebootDBInstance', Resource: DB }),
          Match.objectLike({ Sid: 'DeliverExperimentLog', Action: 'logs:CreateLogDelivery', Resource: '*' }),
          Match.objectLike({ Sid: 'AllowLogDeliveryToLogGroupsOfThisRegion' }),
        ],
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^RebootRole') }],
    });
    template.resourceCountIs('AWS::IAM::Policy', 0);
  });

  test('may write log resource policies only in its own account and region, in the form CloudWatch Logs documents for vended delivery (review L3)', () => {
    const [policy] = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    const statements = policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: string | string[] }[];
    const granting = (action: string) => statements.filter((s) => ([] as string[]).concat(s.Action).includes(action));
    for (const action of ['logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups']) {
      expect(granting(action).map((s) => s.Resource)).toEqual([`arn:aws:logs:us-east-1:${ACCOUNT}:log-group:*`]);
    }
    // CreateLogDelivery has no resource-level permission.
    expect(granting('logs:CreateLogDelivery').map((s) => s.Resource)).toEqual(['*']);
  });

  test("only this account's FIS experiments may assume its role (confused deputy)", () => {
    const roles = Object.values(template.findResources('AWS::IAM::Role')).filter((r) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('fis.amazonaws.com'));
    expect(roles).toHaveLength(1);
    expect(roles[0].Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'fis.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT }, ArnLike: { 'aws:SourceArn': `arn:aws:fis:*:${ACCOUNT}:experiment/*` } },
      },
    ]);
  });

  test('fails when the target names neither resources nor parameters (it would select every resource of the type)', () => {
    expect(() => build({ target: { resourceType: 'aws:rds:db', selectionMode: 'ALL' } })).toThrow(/target needs resourceArns or parameters/);
  });

  test('fails on a selection mode FIS does not know', () => {
    expect(() => build({ target: { resourceType: 'aws:rds:db', selectionMode: 'HALF', resourceArns: [DB] } })).toThrow(/selectionMode must be ALL, COUNT\(n\) or PERCENT/);
  });

  test('stops on every alarm it is given (up to the five FIS allows), and on none other', () => {
    const t = build((stack) => ({ stopConditions: [alarm(stack, 'Errors'), alarm(stack, 'Latency')] }));
    t.hasResourceProperties('AWS::FIS::ExperimentTemplate', {
      StopConditions: [
        { Source: 'aws:cloudwatch:alarm', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Errors'), 'Arn'] } },
        { Source: 'aws:cloudwatch:alarm', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Latency'), 'Arn'] } },
      ],
    });
    expect(() => build({ stopConditions: [] })).toThrow(/stopConditions must name 1–5 alarms \(FIS's limit\), got 0/);
    expect(() => build((stack) => ({ stopConditions: [1, 2, 3, 4, 5, 6].map((i) => alarm(stack, `A${i}`)) }))).toThrow(/got 6/);
  });

  test('fails at synth when a stop condition is an alarm the fault sets off by design', () => {
    const app = testApp();
    const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
    const unhealthy = alarm(stack, 'UnhealthyHosts');
    new FaultExperiment(stack, 'StopTasks', {
      name: 'Test-StopTasks',
      description: 'Stop one task.',
      actionId: 'aws:ecs:stop-task',
      actionTargetKey: 'Tasks',
      target: { resourceType: 'aws:ecs:task', selectionMode: 'COUNT(1)', parameters: { cluster: 'c', service: 's' }, fewestResources: 2, spareAtLeast: 1 },
      stopConditions: [unhealthy],
      designedSymptoms: [unhealthy],
      logGroup: new logs.LogGroup(stack, 'Logs'),
      permissions: [new iam.PolicyStatement({ actions: ['ecs:StopTask'], resources: ['*'] })],
    });
    expect(() => app.synth()).toThrow(/stop condition Test\/UnhealthyHosts is Test\/UnhealthyHosts, which this fault sets off by design/);
  });

  test("fails at synth when a stop condition is a composite alarm that includes the fault's symptom, however deep (main's service-health alarm)", () => {
    const app = testApp();
    const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
    const unhealthy = alarm(stack, 'UnhealthyHosts');
    const rollback = new cloudwatch.CompositeAlarm(stack, 'Rollback', { alarmRule: cloudwatch.AlarmRule.anyOf(alarm(stack, 'Errors'), unhealthy) });
    const serviceHealth = new cloudwatch.CompositeAlarm(stack, 'ServiceHealth', { alarmRule: cloudwatch.AlarmRule.anyOf(rollback, alarm(stack, 'Canary')) });
    new FaultExperiment(stack, 'Az', {
      name: 'Test-Az',
      description: 'Cut one AZ off.',
      actionId: 'aws:network:disrupt-connectivity',
      actionTargetKey: 'Subnets',
      target: { resourceType: 'aws:ec2:subnet', selectionMode: 'ALL', resourceArns: ['arn:aws:ec2:us-east-1:111111111111:subnet/subnet-1'] },
      stopConditions: [serviceHealth],
      designedSymptoms: [unhealthy],
      logGroup: new logs.LogGroup(stack, 'Logs'),
      permissions: [new iam.PolicyStatement({ actions: ['ec2:ReplaceNetworkAclAssociation'], resources: ['*'] })],
    });
    expect(() => app.synth()).toThrow(/stop condition Test\/ServiceHealth includes Test\/UnhealthyHosts/);
  });

  describe('target selection against the fewest resources the target can find', () => {
    const tasks = (selectionMode: string, fewestResources?: number, spareAtLeast?: number) => ({
      target: { resourceType: 'aws:ecs:task', selectionMode, parameters: { cluster: 'c', service: 'api' }, fewestResources, spareAtLeast },
    });

    test.each([
      ['ALL', 3, 3],
      ['COUNT(1)', 3, 1],
      ['COUNT(5)', 3, 3],
      ['PERCENT(50)', 5, 2],
      ['PERCENT(50)', 1, 0],
      ['PERCENT(5)', 4, 0],
    ])('%s of %i resources selects %i (FIS rounds a percentage down)', (mode, identified, selected) => {
      expect(selectedCount(mode, identified)).toBe(selected);
    });

    test("fails on main's staging api experiment: PERCENT(50) of a one-task api selects nothing", () => {
      expect(() => build(tasks('PERCENT(50)', 1))).toThrow(/selectionMode 'PERCENT\(50\)' selects no resource when the target finds 1 .*use COUNT\(n\)/);
    });

    test('fails when the selection leaves fewer resources than spareAtLeast (the game day would be an outage)', () => {
      expect(() => build(tasks('COUNT(2)', 3, 2))).toThrow(/acts on 2 of 3 resources, leaving 1; target.spareAtLeast requires 2 untouched/);
      expect(() => build(tasks('COUNT(1)', 1, 1))).toThrow(/leaving 0/);
    });

    test('fails when a target found by parameters does not say how few resources it can find', () => {
      expect(() => build(tasks('COUNT(1)'))).toThrow(/target.fewestResources is required when the target is found by parameters/);
    });

    test('accepts a selection that acts on some and spares enough', () => {
      expect(() => build(tasks('COUNT(1)', 3, 2))).not.toThrow();
    });
  });
});
