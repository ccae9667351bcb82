import { Match } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../lib/config';
import { gameDayPlan } from '../lib/stacks/fault-injection-stack';
import { resourcesOfType, stacks, template, templateJson } from './support/assembly';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };

const CASES = [
  ['BodyScript-Staging-FaultInjection', 'Staging', 'staging', '111111111111'],
  ['BodyScript-Production-FaultInjection', 'Production', 'production', '222222222222'],
] as const;

/** The experiment template whose Name tag ends with `name`, and the statements of its role's policy. */
function experiment(stackName: string, name: string) {
  const templates = resourcesOfType(stackName, 'AWS::FIS::ExperimentTemplate');
  const found = templates.find(([, t]) => (t.Properties?.Tags as Record<string, string>).Name.endsWith(name));
  if (!found) return undefined;
  const [logicalId, resource] = found;
  const prefix = logicalId.replace(/Template[0-9A-F]{8}$/, '');
  const [, policy] = Object.entries(templateJson(stackName).Resources).find(([id, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && id.startsWith(`${prefix}Policy`))!;
  const statements = (policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement;
  return { properties: resource.Properties!, statements, prefix };
}

/** A stop condition as the template holds it: the alarm's ARN, imported from the stack that owns it. */
function stopConditionTargets(t: { Properties?: Record<string, unknown> }): string[] {
  return (t.Properties?.StopConditions as { Value: unknown }[]).map((c) => JSON.stringify(c.Value));
}

describe('gameDayPlan', () => {
  const config = loadConfig().environments;

  test('staging runs no experiment: every service runs one task and the database is single-AZ (each reason named)', () => {
    const plan = gameDayPlan(config.staging);
    expect(plan).toMatchObject({ apiTasksToStop: undefined, availabilityZone: false, databaseFailover: false });
    expect(plan.skipped).toEqual([
      expect.stringMatching(/^ApiTasksStop: services.api.minTasks is 1; stopping a task of a one-task api is an outage/),
      expect.stringMatching(/^AzNetworkDisruption: services.api.minTasks is 1, services.processing.minTasks is 1/),
      expect.stringMatching(/^DatabaseFailover: database.multiAz is false/),
    ]);
  });

  test('production stops one of its three api tasks, cuts an AZ off and fails the database over', () => {
    expect(gameDayPlan(config.production)).toEqual({ apiTasksToStop: 1, availabilityZone: true, databaseFailover: true, skipped: [] });
  });

  test('stops half the minimum, rounded down, and always spares at least half', () => {
    const withApi = (minTasks: number) => ({ ...config.production, services: { ...config.production.services, api: { ...config.production.services.api, minTasks } } });
    expect([2, 3, 4, 5, 8].map((n) => gameDayPlan(withApi(n)).apiTasksToStop)).toEqual([1, 1, 2, 2, 4]);
  });
});

describe.each(CASES)('%s', (stackName, title, env, account) => {
  test('is deployed after the top stack', () => {
    expect(stacks().find((s) => s.displayName === stackName)!.dependencies).toContain(`BodyScript-${title}`);
  });

  test('no experiment stops on the service-health composite (it includes the unhealthy-hosts alarms the faults set off by design)', () => {
    for (const [, t] of resourcesOfType(stackName, 'AWS::FIS::ExperimentTemplate')) {
      for (const target of stopConditionTargets(t)) expect(target).not.toMatch(/ServiceHealth|UnhealthyHosts|Composite/);
    }
  });

  test('every experiment has its own FIS role and logs to the encrypted log group', () => {
    const templates = resourcesOfType(stackName, 'AWS::FIS::ExperimentTemplate');
    expect(templates.length).toBe(env === 'production' ? 3 : 0);
    const roles = new Set<string>();
    for (const [, t] of templates) {
      expect(t.Properties?.LogConfiguration).toEqual({ LogSchemaVersion: 2, CloudWatchLogsConfiguration: { LogGroupArn: { 'Fn::GetAtt': [expect.stringMatching(/^ExperimentLogs/), 'Arn'] } } });
      roles.add(JSON.stringify(t.Properties?.RoleArn));
    }
    expect(roles.size).toBe(templates.length);
    template(stackName).hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/bodyscript/${env}/fault-injection`,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FaultInjectionLogsKey'), 'Arn'] },
    });
  });

  test(env === 'production' ? 'stops one of the three api tasks (COUNT, not a rounded percentage) and stops on api errors, latency or a failing canary' : 'has no api task experiment (a one-task api)', () => {
    const e = experiment(stackName, 'ApiTasksStop');
    if (env !== 'production') {
      expect(e).toBeUndefined();
      return;
    }
    expect(e!.properties.Actions).toEqual({ Fault: expect.objectContaining({ ActionId: 'aws:ecs:stop-task', Targets: { Tasks: 'Targets' } }) });
    expect(e!.properties.Targets).toEqual({
      Targets: { ResourceType: 'aws:ecs:task', SelectionMode: 'COUNT(1)', Parameters: { cluster: `bodyscript-${env}`, service: `bodyscript-${env}-api` } },
    });
    const targets = stopConditionTargets({ Properties: e!.properties });
    expect(targets).toHaveLength(4);
    expect(targets.filter((t) => /ApiRollbackAlarmsServerErrorRate|ApiRollbackAlarmsLatency/.test(t))).toHaveLength(2);
    expect(targets.filter((t) => /Canary/.test(t))).toHaveLength(2);
    const stop = e!.statements.find((s) => s.Sid === 'StopApiTasks')!;
    expect(stop.Resource).toBe(`arn:aws:ecs:us-east-1:${account}:task/bodyscript-${env}/*`);
    expect(stop.Condition).toEqual({ ArnEquals: { 'ecs:cluster': `arn:aws:ecs:us-east-1:${account}:cluster/bodyscript-${env}` } });
  });

  test(env === 'production' ? 'cuts the application subnets of one AZ only, changing only network ACLs FIS created' : 'has no AZ experiment (one-task services)', () => {
    const found = experiment(stackName, 'AzNetworkDisruption');
    if (env !== 'production') {
      expect(found).toBeUndefined();
      return;
    }
    const e = found!;
    expect(e.properties.Actions).toEqual({ Fault: expect.objectContaining({ ActionId: 'aws:network:disrupt-connectivity', Parameters: { duration: 'PT5M', scope: 'all' } }) });
    const arns = JSON.stringify((e.properties.Targets as { Targets: { ResourceArns: unknown[] } }).Targets.ResourceArns);
    expect((e.properties.Targets as { Targets: { ResourceArns: unknown[] } }).Targets.ResourceArns).toHaveLength(1);
    expect(arns).toMatch(/ApplicationSubnet1/);
    expect(arns).not.toMatch(/DatabaseSubnet|PublicSubnet|ApplicationSubnet2/);
    const change = e.statements.find((s) => s.Sid === 'ChangeOnlyFisNetworkAcls')!;
    expect(change.Condition).toEqual({ StringEquals: { 'ec2:ResourceTag/managedByFIS': 'true' } });
  });

  test(env === 'production' ? 'reboots the Multi-AZ database with a forced failover, and nothing else' : 'has no database failover experiment (the staging database is single-AZ)', () => {
    const e = experiment(stackName, 'DatabaseFailover');
    if (env !== 'production') {
      expect(e).toBeUndefined();
      return;
    }
    expect(e!.properties.Actions).toEqual({ Fault: expect.objectContaining({ ActionId: 'aws:rds:reboot-db-instances', Parameters: { forceFailover: 'true' }, Targets: { DBInstances: 'Targets' } }) });
    const database = `arn:aws:rds:us-east-1:${account}:db:bodyscript-${env}-postgres`;
    expect(e!.properties.Targets).toEqual({ Targets: { ResourceType: 'aws:rds:db', SelectionMode: 'ALL', ResourceArns: [database] } });
    expect(e!.statements.find((s) => s.Sid === 'RebootTheDatabase')).toEqual(expect.objectContaining({ Resource: database }));
    // The minute of dropped connections sets off the api's 1-minute alarms by design: it stops only on errors beyond that, or the web app failing.
    const targets = stopConditionTargets({ Properties: e!.properties });
    expect(targets).toEqual([expect.stringMatching(/DatabaseFailoverErrorsAlarm/), expect.stringMatching(/Canary/)]);
    template(stackName).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `BodyScript-${title}-GameDay-DatabaseFailover-ErrorsBeyondFailover`,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
    });
  });
});
