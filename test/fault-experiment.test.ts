import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { FaultExperiment, type FaultExperimentProps } from '../constructs/fault-experiment';
import { testApp } from './support/synthesize';

const ALARM = 'arn:aws:cloudwatch:us-east-1:111111111111:alarm:Health';
const DB = 'arn:aws:rds:us-east-1:111111111111:db:test';

function build(overrides: Partial<FaultExperimentProps> = {}) {
  const stack = new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
  new FaultExperiment(stack, 'Reboot', {
    name: 'Test-Reboot',
    description: 'Reboot the test database with a forced failover.',
    actionId: 'aws:rds:reboot-db-instances',
    actionParameters: { forceFailover: 'true' },
    actionTargetKey: 'DBInstances',
    target: { resourceType: 'aws:rds:db', selectionMode: 'ALL', resourceArns: [DB] },
    stopConditionAlarmArn: ALARM,
    logGroup: new logs.LogGroup(stack, 'Logs'),
    permissions: [new iam.PolicyStatement({ actions: ['rds:RebootDBInstance'], resources: [DB] })],
    ...overrides,
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
          Match.objectLike({ Sid: 'DeliverExperimentLog', Action: Match.arrayWith(['logs:CreateLogDelivery']) }),
        ],
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^RebootRole') }],
    });
    template.resourceCountIs('AWS::IAM::Policy', 0);
  });

  test('fails when the target names neither resources nor parameters (it would select every resource of the type)', () => {
    expect(() => build({ target: { resourceType: 'aws:rds:db', selectionMode: 'ALL' } })).toThrow(/target needs resourceArns or parameters/);
  });

  test('fails on a selection mode FIS does not know', () => {
    expect(() => build({ target: { resourceType: 'aws:rds:db', selectionMode: 'HALF', resourceArns: [DB] } })).toThrow(/selectionMode must be ALL, COUNT\(n\) or PERCENT/);
  });
});
