import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { OperationsRole } from '../constructs/operations-role';
import { ENVIRONMENT_FILES, loadConfig } from '../lib/config';
import { OperationsStack } from '../lib/stacks/operations-stack';
import { template } from './support/assembly';
import { testApp } from './support/synthesize';

const STACK = 'BodyScript-Production-Operations';

describe('the operations role of production', () => {
  test('can be assumed only by the production GitHub deploy role, with session tags (the chained step of configure-aws-credentials tags its session), for at most an hour', () => {
    template(STACK).hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'BodyScript-Production-Operations',
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::222222222222:role/BodyScript-GitHub-Deploy-Production' },
          },
        ],
      },
    });
  });

  test('may snapshot only the primary database, under release snapshot names', () => {
    template(STACK).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ReleaseSnapshotOfThePrimaryDatabase',
            Action: ['rds:AddTagsToResource', 'rds:CreateDBSnapshot'],
            Resource: [
              'arn:aws:rds:us-east-1:222222222222:db:bodyscript-production-postgres',
              'arn:aws:rds:us-east-1:222222222222:snapshot:bodyscript-production-pre-*',
            ],
          }),
        ]),
      },
    });
  });

  test('may run only the environment\'s Region switch plan, keep its failed-over marker and configure the promoted replica; it promotes nothing itself', () => {
    template(STACK).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'ConfigureThePromotedReplica', Action: 'rds:ModifyDBInstance', Resource: 'arn:aws:rds:us-west-2:222222222222:db:bodyscript-production-postgres-replica' }),
          Match.objectLike({
            Sid: 'RunTheRegionSwitchPlan',
            Action: Match.arrayWith(['arc-region-switch:GetPlanExecution', 'arc-region-switch:ListPlanExecutionEvents', 'arc-region-switch:StartPlanExecution']),
            Resource: 'arn:aws:arc-region-switch::222222222222:plan/bodyscript-production-failover:*',
          }),
          Match.objectLike({
            Sid: 'TheFailedOverMarker',
            Action: ['ssm:DeleteParameter', 'ssm:GetParameter', 'ssm:PutParameter'],
            Resource: 'arn:aws:ssm:us-west-2:222222222222:parameter/bodyscript/production/dr/failed-over',
          }),
        ]),
      },
    });
    expect(JSON.stringify(template(STACK).toJSON())).not.toContain('rds:PromoteReadReplica');
  });

  test('may delete only release snapshots (the retention rule of ops snapshot)', () => {
    template(STACK).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'DeleteOnlyReleaseSnapshots', Action: 'rds:DeleteDBSnapshot', Resource: 'arn:aws:rds:us-east-1:222222222222:snapshot:bodyscript-production-pre-*' }),
        ]),
      },
    });
  });

  test('may drive CodeDeploy only on the deployment group of the api (the worker is deployed by ECS rolling updates)', () => {
    template(STACK).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'RollBackThroughCodeDeploy',
            Resource: 'arn:aws:codedeploy:us-east-1:222222222222:deploymentgroup:BodyScript-Production-api/BodyScript-Production-api',
          }),
        ]),
      },
    });
  });

  test('may roll the worker back through its own ECS service deployments only, and publish only delivery metrics', () => {
    template(STACK).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'RollBackThroughEcsServiceDeployments', Action: 'ecs:ListServiceDeployments', Resource: 'arn:aws:ecs:us-east-1:222222222222:service/bodyscript-production/bodyscript-production-processing' }),
          Match.objectLike({
            Sid: 'StopAndReadServiceDeployments',
            Resource: 'arn:aws:ecs:us-east-1:222222222222:service-deployment/bodyscript-production/bodyscript-production-processing/*',
          }),
          Match.objectLike({
            Sid: 'PublishDeliveryMetrics',
            Action: 'cloudwatch:PutMetricData',
            Resource: '*',
            Condition: { StringEquals: { 'cloudwatch:namespace': 'BodyScript/Delivery' } },
          }),
        ]),
      },
    });
  });

  test('may scale only the two services, in the primary and the standby region', () => {
    template(STACK).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ScaleTheServices',
            Action: ['ecs:DescribeServices', 'ecs:UpdateService'],
            Resource: [
              'arn:aws:ecs:us-east-1:222222222222:service/bodyscript-production/bodyscript-production-api',
              'arn:aws:ecs:us-east-1:222222222222:service/bodyscript-production/bodyscript-production-processing',
              'arn:aws:ecs:us-west-2:222222222222:service/bodyscript-production/bodyscript-production-api',
              'arn:aws:ecs:us-west-2:222222222222:service/bodyscript-production/bodyscript-production-processing',
            ],
          }),
        ]),
      },
    });
  });

  test('grants nothing on * except read-only describes, ECS scalable targets, delivery metrics and the bounded task definition clean-up', () => {
    const policies = Object.values(template(STACK).findResources('AWS::IAM::ManagedPolicy')) as {
      Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: string | string[]; Condition?: unknown }[] } };
    }[];
    for (const statement of policies.flatMap((p) => p.Properties.PolicyDocument.Statement)) {
      const resources = ([] as string[]).concat(statement.Resource);
      if (!resources.includes('*')) continue;
      for (const action of ([] as string[]).concat(statement.Action)) {
        if (action === 'application-autoscaling:RegisterScalableTarget') {
          expect(statement.Condition).toEqual({ StringEquals: { 'application-autoscaling:service-namespace': 'ecs' } });
        } else if (action === 'cloudwatch:PutMetricData') {
          expect(statement.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'BodyScript/Delivery' } });
        } else if (action === 'ecs:DeregisterTaskDefinition') {
          // No resource-level permission exists; ops task-definitions never deregisters a revision a service runs.
          expect(resources).toEqual(['*']);
        } else {
          expect(action).toMatch(/:(Describe|Get|List)[A-Za-z]+$/);
        }
      }
    }
  });
});

describe('OperationsRole and OperationsStack', () => {
  test('fail when nobody could assume the role', () => {
    const stack = new Stack(testApp(), 'S', { env: { account: '111111111111', region: 'us-east-1' } });
    expect(
      () =>
        new OperationsRole(stack, 'R', {
          roleName: 'r',
          trustedRoleArns: [],
          primaryDatabase: { identifier: 'db', where: { account: '111111111111', region: 'us-east-1' } },
          snapshotPrefix: 'p',
          replica: { identifier: 'db-replica', where: { account: '111111111111', region: 'us-west-2' } },
          failover: { planArnPattern: 'arn:aws:arc-region-switch::111111111111:plan/p:*', markerArn: 'arn:aws:ssm:us-west-2:111111111111:parameter/m' },
          deployments: [],
          cluster: 'c',
          services: [],
          serviceRegions: [],
          replicatedBucketNames: [],
        }),
    ).toThrow(/trustedRoleArns must name at least one role/);
  });

  test('a standby in another account is refused by the config, naming the field; the stack refuses it too if handed one', () => {
    const environments = structuredClone({ ...ENVIRONMENT_FILES });
    environments.staging.standby.account = '333333333333';
    expect(() => loadConfig({}, { environments })).toThrow(
      "staging.standby.account: must be primary.account (111111111111): the operations role, image replication and DR failover work within one account, got '333333333333'",
    );
    const config = loadConfig();
    const staging = { ...config.environments.staging, standby: { ...config.environments.staging.standby, account: '333333333333' } };
    expect(
      () => new OperationsStack(testApp(), 'Ops', { env: { account: '111111111111', region: 'us-east-1' }, config: staging, project: config.project }),
    ).toThrow(/staging\.standby\.account: the operations role covers one account/);
  });
});
