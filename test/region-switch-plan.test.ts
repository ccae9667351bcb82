import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import { RegionSwitchPlan, type RegionSwitchPlanProps } from '../constructs/region-switch-plan';
import failoverWorkflowBeforeFailback from './fixtures/region-switch-plan-failover-workflow.json';
import { testApp } from './support/synthesize';

const PRIMARY_DB = 'arn:aws:rds:us-east-1:111111111111:db:app-postgres';
const REPLICA_DB = 'arn:aws:rds:us-west-2:111111111111:db:app-postgres-replica';
const ecs = (region: string, service: string) => ({
  clusterArn: `arn:aws:ecs:${region}:111111111111:cluster/app`,
  serviceArn: `arn:aws:ecs:${region}:111111111111:service/app/${service}`,
});

function build(overrides: Partial<RegionSwitchPlanProps> = {}, region = 'us-west-2') {
  const stack = new Stack(testApp(), 'Standby', { env: { account: '111111111111', region } });
  const topic = new sns.Topic(stack, 'Critical');
  const healthAlarm = new cloudwatch.Alarm(stack, 'Health', {
    metric: new cloudwatch.Metric({ namespace: 'Test', metricName: 'Errors' }),
    threshold: 1,
    evaluationPeriods: 1,
  });
  const plan = new RegionSwitchPlan(stack, 'Plan', {
    planName: 'app-failover',
    description: 'fail the app over',
    primaryRegion: 'us-east-1',
    recoveryRegion: 'us-west-2',
    recoveryTimeObjective: Duration.minutes(30),
    database: { primaryInstanceArn: PRIMARY_DB, replicaInstanceArn: REPLICA_DB },
    promoteTimeout: Duration.minutes(30),
    services: [
      { name: 'api', primary: ecs('us-east-1', 'api'), recovery: ecs('us-west-2', 'api') },
      { name: 'worker', primary: ecs('us-east-1', 'worker'), recovery: ecs('us-west-2', 'worker') },
    ],
    scaleTimeout: Duration.minutes(20),
    applicationHealthAlarms: [healthAlarm],
    evaluationWarningsTopic: topic,
    ...overrides,
  });
  return { stack, plan, template: Template.fromStack(stack) };
}

const DNS = { hostedZoneId: 'Z0123456789ABCDEFGHIJ', recordName: 'api.example.com', primarySetIdentifier: 'api-primary', recoverySetIdentifier: 'api-secondary' };

/** The plan's workflows as CloudFormation receives them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function workflows(template: Template): Array<Record<string, any>> {
  const [plan] = Object.values(template.findResources('AWS::ARCRegionSwitch::Plan'));
  return plan.Properties.Workflows;
}

/** The plan's steps as CloudFormation receives them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function steps(template: Template): Array<Record<string, any>> {
  const [plan] = Object.values(template.findResources('AWS::ARCRegionSwitch::Plan'));
  return plan.Properties.Workflows[0].Steps;
}

describe('RegionSwitchPlan', () => {
  let template: Template;
  beforeAll(() => {
    template = build().template;
  });

  test('can be created as an active/passive plan of both regions that activates the recovery region, with the RTO', () => {
    template.hasResourceProperties('AWS::ARCRegionSwitch::Plan', {
      Name: 'app-failover',
      RecoveryApproach: 'activePassive',
      PrimaryRegion: 'us-east-1',
      Regions: ['us-east-1', 'us-west-2'],
      RecoveryTimeObjectiveMinutes: 30,
      ExecutionRole: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PlanExecutionRole'), 'Arn'] },
      Workflows: [Match.objectLike({ WorkflowTargetAction: 'activate', WorkflowTargetRegion: 'us-west-2' })],
      AssociatedAlarms: { ApplicationHealth1: { AlarmType: 'applicationHealth', ResourceIdentifier: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Health'), 'Arn'] } } },
    });
  });

  test('promotes the replica first, named in each region, with its timeout', () => {
    expect(steps(template)[0]).toEqual({
      Name: 'promote-replica',
      Description: expect.any(String),
      ExecutionBlockType: 'RdsPromoteReadReplica',
      ExecutionBlockConfiguration: { RdsPromoteReadReplicaConfig: { DbInstanceArnMap: { 'us-east-1': PRIMARY_DB, 'us-west-2': REPLICA_DB }, TimeoutMinutes: 30 } },
    });
  });

  test('then raises every service in parallel to the task count the primary ran, each step naming the service in both regions', () => {
    const raise = steps(template)[1];
    expect(raise).toMatchObject({ Name: 'raise-services', ExecutionBlockType: 'Parallel' });
    const parallel = raise.ExecutionBlockConfiguration.ParallelConfig.Steps;
    expect(parallel.map((s: { Name: string }) => s.Name)).toEqual(['raise-api', 'raise-worker']);
    expect(parallel[0]).toMatchObject({
      ExecutionBlockType: 'ECSServiceScaling',
      ExecutionBlockConfiguration: {
        EcsCapacityIncreaseConfig: {
          Services: [
            { ClusterArn: 'arn:aws:ecs:us-east-1:111111111111:cluster/app', ServiceArn: 'arn:aws:ecs:us-east-1:111111111111:service/app/api' },
            { ClusterArn: 'arn:aws:ecs:us-west-2:111111111111:cluster/app', ServiceArn: 'arn:aws:ecs:us-west-2:111111111111:service/app/api' },
          ],
          TargetPercent: 100,
          CapacityMonitoringApproach: 'sampledMaxInLast24Hours',
          TimeoutMinutes: 20,
        },
      },
    });
  });

  test('has no traffic step without a DNS failover pair', () => {
    expect(steps(template).map((s) => s.Name)).toEqual(['promote-replica', 'raise-services']);
    expect(JSON.stringify(template.toJSON())).not.toContain('route53:');
  });

  test("gives each region's failover record the id of the health check ARC creates for it (the plan's Route53HealthChecks attribute, in the plan's region order)", () => {
    const { stack, plan } = build({
      dns: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', recordName: 'api.example.com', primarySetIdentifier: 'api-primary', recoverySetIdentifier: 'api-secondary' },
    });
    const ids = plan.healthCheckIds();
    const resolved = stack.resolve(ids);
    const attribute = { 'Fn::GetAtt': [stack.getLogicalId(plan.plan), 'Route53HealthChecks.HealthCheckIds'] };
    expect(resolved).toEqual({ primary: { 'Fn::Select': [0, attribute] }, recovery: { 'Fn::Select': [1, attribute] } });
    // The plan's Regions, which the attribute's lists parallel, are in that order.
    expect(Template.fromStack(stack).findResources('AWS::ARCRegionSwitch::Plan')).toEqual({
      [stack.getLogicalId(plan.plan)]: expect.objectContaining({ Properties: expect.objectContaining({ Regions: ['us-east-1', 'us-west-2'] }) }),
    });
  });

  test('has no health checks to give without a traffic step, and says what to pass', () => {
    expect(() => build().plan.healthCheckIds()).toThrow(/healthCheckIds\(\) needs the plan's traffic step: pass dns/);
  });

  test('switches traffic last through the Route 53 health checks of the failover pair, when there is one', () => {
    const withDns = build({ dns: DNS }).template;
    expect(steps(withDns)[2]).toEqual({
      Name: 'switch-traffic',
      Description: expect.any(String),
      ExecutionBlockType: 'Route53HealthCheck',
      ExecutionBlockConfiguration: {
        Route53HealthCheckConfig: {
          HostedZoneId: 'Z0123456789ABCDEFGHIJ',
          RecordName: 'api.example.com',
          RecordSets: [
            { RecordSetIdentifier: 'api-primary', Region: 'us-east-1' },
            { RecordSetIdentifier: 'api-secondary', Region: 'us-west-2' },
          ],
          TimeoutMinutes: 10,
        },
      },
    });
    withDns.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'ReadTheFailoverRecords', Action: 'route53:ListResourceRecordSets', Resource: 'arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ' }),
        ]),
      },
    });
  });

  test('keeps the failover workflow exactly as it was before the failback workflow existed', () => {
    // The fixture is this construct's workflow with these props, captured from main at 83e77b1.
    expect(workflows(build({ dns: DNS }).template)[0]).toEqual(failoverWorkflowBeforeFailback);
  });

  test('with a DNS failover pair, has a failback workflow that activates the primary region and only moves the traffic back, on the same records', () => {
    const all = workflows(build({ dns: DNS }).template);
    expect(all).toHaveLength(2);
    expect(all[1]).toEqual({
      WorkflowTargetAction: 'activate',
      WorkflowTargetRegion: 'us-east-1',
      WorkflowDescription: expect.stringMatching(/^Fail back to the primary region: return-traffic \(traffic only; the database goes back by hand first/),
      Steps: [
        {
          Name: 'return-traffic',
          Description: 'Move api.example.com back to us-east-1: ARC sets the health checks of its failover records',
          ExecutionBlockType: 'Route53HealthCheck',
          // The failover's traffic step's configuration: the same record, so the same two checks.
          ExecutionBlockConfiguration: all[0].Steps.find((s: { Name: string }) => s.Name === 'switch-traffic').ExecutionBlockConfiguration,
        },
      ],
    });
  });

  test('has no failback workflow without a DNS failover pair (nothing of it to move back)', () => {
    expect(workflows(template).map((w) => [w.WorkflowTargetAction, w.WorkflowTargetRegion])).toEqual([['activate', 'us-west-2']]);
  });

  test('needs no permission for the failback beyond the failover traffic step\'s', () => {
    const policyOf = (t: Template) => Object.values(t.findResources('AWS::IAM::ManagedPolicy'))[0].Properties.PolicyDocument;
    const withDns = build({ dns: DNS }).template;
    const sids = policyOf(withDns).Statement.map((s: { Sid: string }) => s.Sid);
    expect(sids).toEqual([...policyOf(template).Statement.map((s: { Sid: string }) => s.Sid), 'ReadTheFailoverRecords']);
  });

  test('runs as a role only ARC Region switch may assume', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'arc-region-switch.amazonaws.com' } }] },
    });
  });

  test('whose policy changes only the replica and the recovery-region services, and reads the primary without changing it', () => {
    const [policy] = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    const statements = policy.Properties.PolicyDocument.Statement as Array<{ Sid: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown }>;
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(bySid.PromoteTheReplica).toMatchObject({ Action: ['rds:ModifyDBInstance', 'rds:PromoteReadReplica'], Resource: REPLICA_DB });
    expect(bySid.ReadTheDatabases).toMatchObject({ Action: 'rds:DescribeDBInstances', Resource: [PRIMARY_DB, REPLICA_DB] });
    expect(bySid.RaiseTheRecoveryServices).toMatchObject({ Action: 'ecs:UpdateService', Resource: [ecs('us-west-2', 'api').serviceArn, ecs('us-west-2', 'worker').serviceArn] });
    expect(bySid.ListTheServicesOfTheClusters).toMatchObject({ Resource: '*', Condition: { ArnEquals: { 'ecs:cluster': [ecs('us-east-1', 'api').clusterArn, ecs('us-west-2', 'api').clusterArn] } } });
    expect(bySid.RegisterEcsScalableTargets).toMatchObject({ Resource: '*', Condition: { StringEquals: { 'application-autoscaling:service-namespace': 'ecs' } } });
    // Nothing may change in the primary region: every change names a us-west-2 resource.
    const changing = statements.filter((s) => !/^(Read|List)/.test(s.Sid) && s.Sid !== 'ReadsWithoutResourceLevelPermissions' && s.Sid !== 'RegisterEcsScalableTargets');
    for (const s of changing) for (const resource of [s.Resource].flat()) expect(resource).toContain(':us-west-2:');
    // Every action is one the plan's blocks need.
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual(
      [
        'application-autoscaling:DescribeScalableTargets',
        'application-autoscaling:RegisterScalableTarget',
        'cloudwatch:DescribeAlarms',
        'cloudwatch:GetMetricStatistics',
        'ecs:DescribeClusters',
        'ecs:DescribeServices',
        'ecs:ListServices',
        'ecs:UpdateService',
        'rds:DescribeDBInstances',
        'rds:ModifyDBInstance',
        'rds:PromoteReadReplica',
      ].sort(),
    );
  });

  test('is created after its policy is attached (ARC checks the role)', () => {
    const [plan] = Object.values(template.findResources('AWS::ARCRegionSwitch::Plan'));
    expect(plan.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^PlanExecutionPolicy/)]));
  });

  test('routes its evaluation warnings (by plan ARN, in both documented shapes) to the topic', () => {
    const target = [{ Arn: { Ref: Match.stringLikeRegexp('^Critical') }, Id: 'Target0' }];
    const planArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Plan'), 'Arn'] };
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.arc-region-switch'], 'detail-type': ['ARC Region Switch Plan Evaluation'], resources: [planArn] },
      Targets: target,
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.arc-region-switch'], 'detail-type': ['ARC Region Switch Plan Execution'], resources: [planArn], detail: { metadata: { warning: [{ exists: true }] } } },
      Targets: target,
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sns:Publish', Principal: { Service: 'events.amazonaws.com' } })]) },
    });
  });

  test.each([
    ['the plan name has characters ARC refuses', { planName: 'app_failover' }, /planName must be 1–32 letters, digits or hyphens/],
    ['the plan name is longer than 32 characters', { planName: 'a'.repeat(33) }, /planName must be 1–32/],
    ['both regions are the same', { primaryRegion: 'us-west-2' }, /recoveryRegion must differ from primaryRegion/],
    ['the replica is not in the recovery region', { database: { primaryInstanceArn: PRIMARY_DB, replicaInstanceArn: 'arn:aws:rds:us-east-1:111111111111:db:x' } }, /replicaInstanceArn must be in us-west-2/],
    ['the primary instance is not an instance ARN', { database: { primaryInstanceArn: 'app-postgres', replicaInstanceArn: REPLICA_DB } }, /primaryInstanceArn must be an RDS instance ARN/],
    ['no service is given', { services: [] }, /services must name at least one ECS service/],
    ['a service ARN names another cluster than its cluster ARN', { services: [{ name: 'api', primary: ecs('us-east-1', 'api'), recovery: { clusterArn: ecs('us-west-2', 'api').clusterArn, serviceArn: 'arn:aws:ecs:us-west-2:111111111111:service/other/api' } }] }, /names cluster 'other', not 'app'/],
    ['a recovery service is in the primary region', { services: [{ name: 'api', primary: ecs('us-east-1', 'api'), recovery: ecs('us-east-1', 'api') }] }, /'api' recovery must be in us-west-2/],
    ['two services share a name', { services: [1, 2].map(() => ({ name: 'api', primary: ecs('us-east-1', 'api'), recovery: ecs('us-west-2', 'api') })) }, /must be unique, got 'api' twice/],
    ['the RTO is not whole minutes', { recoveryTimeObjective: Duration.seconds(90) }, /recoveryTimeObjective must be a whole number of minutes/],
    ['both DNS records have one identifier', { dns: { hostedZoneId: 'Z123', recordName: 'a.example.com', primarySetIdentifier: 'x', recoverySetIdentifier: 'x' } }, /must differ \(one record per region\)/],
  ])('fails when %s', (_case, overrides, message) => {
    expect(() => build(overrides as Partial<RegionSwitchPlanProps>)).toThrow(message);
  });

  test('fails when its stack is not in the recovery region (the plan must survive the primary)', () => {
    expect(() => build({}, 'us-east-1')).toThrow(/must be deployed in its recovery region us-west-2 .* but the stack is in us-east-1/);
  });
});
