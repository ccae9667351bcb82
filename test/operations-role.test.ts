import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { parse } from 'yaml';
import { ECS_SERVICE_DESIRED_COUNT, OperationsRole, type OperationsRoleProps } from '../constructs/operations-role';
import { ENVIRONMENT_FILES, loadConfig } from '../lib/config';
import { scalableDimension } from '../lib/ops/dr/standby';
import { serviceLevelObjectiveName, SLO_KINDS } from '../lib/service-level-objectives';
import { OperationsStack } from '../lib/stacks/operations-stack';
import { actionMatches, iamActionOfCommand, OpsSourceGraph } from './ops/aws-actions';
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

  test('may register scalable targets only for the desired count of ECS services, in the primary and the standby region (review L4)', () => {
    template(STACK).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'RegisterEcsServiceScalableTargets',
            Effect: 'Allow',
            Action: 'application-autoscaling:RegisterScalableTarget',
            Resource: ['arn:aws:application-autoscaling:us-east-1:222222222222:scalable-target/*', 'arn:aws:application-autoscaling:us-west-2:222222222222:scalable-target/*'],
            Condition: {
              StringEquals: {
                'application-autoscaling:service-namespace': 'ecs',
                'application-autoscaling:scalable-dimension': 'ecs:service:DesiredCount',
                'aws:RequestedRegion': ['us-east-1', 'us-west-2'],
              },
            },
          },
        ]),
      },
    });
    // The dimension ops dr failover registers is the one the role allows.
    expect(ECS_SERVICE_DESIRED_COUNT).toBe(scalableDimension);
  });

  test('grants nothing on * except read-only describes, delivery metrics and the bounded task definition clean-up', () => {
    const policies = Object.values(template(STACK).findResources('AWS::IAM::ManagedPolicy')) as {
      Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: string | string[]; Condition?: unknown }[] } };
    }[];
    for (const statement of policies.flatMap((p) => p.Properties.PolicyDocument.Statement)) {
      const resources = ([] as string[]).concat(statement.Resource);
      if (!resources.includes('*')) continue;
      for (const action of ([] as string[]).concat(statement.Action)) {
        if (action === 'cloudwatch:PutMetricData') {
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

interface PolicyStatementJson {
  Effect: string;
  Action: string | string[];
}

function allowedActions(stack: string): string[] {
  const policies = Object.values(template(stack).findResources('AWS::IAM::ManagedPolicy')) as { Properties: { PolicyDocument: { Statement: PolicyStatementJson[] } } }[];
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s) => s.Effect === 'Allow').flatMap((s) => ([] as string[]).concat(s.Action));
}

/**
 * The `ops` commands the workflows run while they hold the operations role:
 * each job's steps in order, the role being the last one a
 * configure-aws-credentials step assumed.
 */
function commandsRunAsTheOperationsRole(): Map<string, Set<string>> {
  const dir = path.join(__dirname, '..', '.github', 'workflows');
  const commands = new Map<string, Set<string>>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yml'))) {
    const workflow = parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { jobs?: Record<string, { steps?: { uses?: string; with?: Record<string, unknown>; run?: string }[] }> };
    for (const [jobName, job] of Object.entries(workflow.jobs ?? {})) {
      let role = '';
      for (const step of job.steps ?? []) {
        if (step.uses?.startsWith('aws-actions/configure-aws-credentials@')) role = String(step.with?.['role-to-assume'] ?? '');
        if (!role.includes('OPERATIONS_ROLE_ARN') || !step.run) continue;
        for (const match of step.run.matchAll(/npm run ops -- (dr [a-z-]+|[a-z-]+)/g)) {
          commands.set(match[1], (commands.get(match[1]) ?? new Set()).add(`${file} job ${jobName}`));
        }
      }
    }
  }
  return commands;
}

describe('what the operator CLI sends while it holds the operations role', () => {
  const graph = new OpsSourceGraph();
  const entries = graph.commandEntryPoints();
  const asOperationsRole = commandsRunAsTheOperationsRole();
  const actionsOf = (command: string) => {
    const entry = entries.get(command);
    if (!entry) throw new Error(`lib/ops/cli.ts runs no function for 'ops ${command}'`);
    return graph.reach(path.relative(path.join(__dirname, '..'), entry.file), entry.name);
  };

  test('the workflows run snapshot, rollback, delivery, the error-budget gate and the DR deploy check and failover as the operations role, each an ops command the CLI knows', () => {
    expect([...asOperationsRole.keys()].sort()).toEqual(['delivery', 'dr deploy-check', 'dr failover', 'rollback', 'slo', 'snapshot']);
    for (const command of asOperationsRole.keys()) expect(entries.has(command)).toBe(true);
  });

  test.each(['BodyScript-Staging-Operations', 'BodyScript-Production-Operations'])(
    '%s allows every AWS action those commands can reach, and each SDK command sent is labelled with the action it needs',
    (stack) => {
      const allowed = allowedActions(stack);
      const missing: string[] = [];
      for (const [command, where] of asOperationsRole) {
        const reach = actionsOf(command);
        expect(reach.problems).toEqual([]);
        for (const use of reach.actions) {
          // "No permissions are required to perform this operation" (STS API reference, GetCallerIdentity).
          if (use.action === 'sts:GetCallerIdentity') continue;
          if (!allowed.some((pattern) => actionMatches(pattern, use.action))) missing.push(`${use.action} (${use.at}; ops ${command}, run in ${[...where].join(', ')})`);
        }
      }
      expect(missing).toEqual([]);
    },
  );

  test("the reach is real: the drill report's budget read and the plan start are found from dr failover, the snapshot from snapshot, verify's reads from rollback", () => {
    const names = (command: string) => actionsOf(command).actions.map((a) => a.action);
    expect(names('dr failover')).toEqual(expect.arrayContaining(['application-signals:BatchGetServiceLevelObjectiveBudgetReport', 'arc-region-switch:StartPlanExecution', 'rds:ModifyDBInstance']));
    expect(names('snapshot')).toEqual(expect.arrayContaining(['rds:CreateDBSnapshot', 'rds:DeleteDBSnapshot']));
    expect(names('rollback')).toEqual(expect.arrayContaining(['codedeploy:CreateDeployment', 'cloudwatch:DescribeAlarms', 'application-signals:BatchGetServiceLevelObjectiveBudgetReport']));
    // The production deploy's error-budget gate runs ops slo as this role too (deploy-production.yml).
    expect(names('slo')).toEqual(expect.arrayContaining(['application-signals:BatchGetServiceLevelObjectiveBudgetReport']));
  });

  test('an SDK command maps to its IAM action; an unknown client is refused, naming it; wildcards match as IAM does', () => {
    expect(iamActionOfCommand('@aws-sdk/client-application-signals', 'BatchGetServiceLevelObjectiveBudgetReportCommand')).toBe('application-signals:BatchGetServiceLevelObjectiveBudgetReport');
    expect(iamActionOfCommand('@aws-sdk/client-s3', 'GetBucketReplicationCommand')).toBe('s3:GetReplicationConfiguration');
    expect(() => iamActionOfCommand('@aws-sdk/client-kafka', 'ListClustersCommand')).toThrow(/ListClustersCommand from @aws-sdk\/client-kafka: no IAM service prefix known/);
    expect(actionMatches('cloudwatch:Describe*', 'cloudwatch:DescribeAlarms')).toBe(true);
    expect(actionMatches('cloudwatch:describealarms', 'cloudwatch:DescribeAlarms')).toBe(true);
    expect(actionMatches('cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmsForMetric')).toBe(false);
  });

  test.each(['staging', 'production'] as const)('the %s role reads the budgets of its own four SLOs in the primary region and no other', (env) => {
    const stack = env === 'staging' ? 'BodyScript-Staging-Operations' : 'BodyScript-Production-Operations';
    const account = env === 'staging' ? '111111111111' : '222222222222';
    template(stack).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ReadTheErrorBudgets',
            Action: 'application-signals:BatchGetServiceLevelObjectiveBudgetReport',
            Resource: SLO_KINDS.map((kind) => `arn:aws:application-signals:us-east-1:${account}:slo/${serviceLevelObjectiveName(env, kind)}`),
          }),
        ]),
      },
    });
  });
});

/** Props that build a role; each refusal test breaks one of them. */
const MINIMAL_PROPS: OperationsRoleProps = {
  roleName: 'r',
  trustedRoleArns: ['arn:aws:iam::111111111111:role/deploy'],
  primaryDatabase: { identifier: 'db', where: { account: '111111111111', region: 'us-east-1' } },
  snapshotPrefix: 'p',
  replica: { identifier: 'db-replica', where: { account: '111111111111', region: 'us-west-2' } },
  failover: { planArnPattern: 'arn:aws:arc-region-switch::111111111111:plan/p:*', markerArn: 'arn:aws:ssm:us-west-2:111111111111:parameter/m' },
  deployments: [],
  cluster: 'c',
  services: [],
  serviceRegions: [],
  replicatedBucketNames: [],
  serviceLevelObjectiveNames: ['slo'],
};

describe('OperationsRole and OperationsStack', () => {
  test('fail when nobody could assume the role', () => {
    const stack = new Stack(testApp(), 'S', { env: { account: '111111111111', region: 'us-east-1' } });
    expect(
      () =>
        new OperationsRole(stack, 'R', { ...MINIMAL_PROPS, trustedRoleArns: [] }),
    ).toThrow(/trustedRoleArns must name at least one role/);
  });

  test('fail when no SLO is named: ops verify and the drill report read every budget, and a statement without a resource is refused', () => {
    const stack = new Stack(testApp(), 'S', { env: { account: '111111111111', region: 'us-east-1' } });
    expect(
      () =>
        new OperationsRole(stack, 'R', { ...MINIMAL_PROPS, serviceLevelObjectiveNames: [] }),
    ).toThrow(/serviceLevelObjectiveNames must name the environment's SLOs/);
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
