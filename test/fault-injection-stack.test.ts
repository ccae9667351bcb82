import { Match } from 'aws-cdk-lib/assertions';
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

describe.each(CASES)('%s', (stackName, title, env, account) => {
  const healthAlarm = `arn:aws:cloudwatch:us-east-1:${account}:alarm:BodyScript-${title}-ServiceHealth`;

  test('is deployed after the top stack, whose service-health alarm stops the experiments', () => {
    expect(stacks().find((s) => s.displayName === stackName)!.dependencies).toContain(`BodyScript-${title}`);
  });

  test('every experiment stops on the service-health composite alarm, has its own FIS role and logs to the encrypted log group', () => {
    const templates = resourcesOfType(stackName, 'AWS::FIS::ExperimentTemplate');
    expect(templates.length).toBe(env === 'production' ? 3 : 2);
    const roles = new Set<string>();
    for (const [, t] of templates) {
      expect(t.Properties?.StopConditions).toEqual([{ Source: 'aws:cloudwatch:alarm', Value: healthAlarm }]);
      expect(t.Properties?.LogConfiguration).toEqual({ LogSchemaVersion: 2, CloudWatchLogsConfiguration: { LogGroupArn: { 'Fn::GetAtt': [expect.stringMatching(/^ExperimentLogs/), 'Arn'] } } });
      roles.add(JSON.stringify(t.Properties?.RoleArn));
    }
    expect(roles.size).toBe(templates.length);
    template(stackName).hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/bodyscript/${env}/fault-injection`,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FaultInjectionLogsKey'), 'Arn'] },
    });
  });

  test('stops half of the api tasks of the api service only', () => {
    const e = experiment(stackName, 'ApiTasksStop')!;
    expect(e.properties.Actions).toEqual({ Fault: expect.objectContaining({ ActionId: 'aws:ecs:stop-task', Targets: { Tasks: 'Targets' } }) });
    expect(e.properties.Targets).toEqual({
      Targets: { ResourceType: 'aws:ecs:task', SelectionMode: 'PERCENT(50)', Parameters: { cluster: `bodyscript-${env}`, service: `bodyscript-${env}-api` } },
    });
    const stop = e.statements.find((s) => s.Sid === 'StopApiTasks')!;
    expect(stop.Resource).toBe(`arn:aws:ecs:us-east-1:${account}:task/bodyscript-${env}/*`);
    expect(stop.Condition).toEqual({ ArnEquals: { 'ecs:cluster': `arn:aws:ecs:us-east-1:${account}:cluster/bodyscript-${env}` } });
  });

  test('cuts the application subnets of one AZ only, changing only network ACLs FIS created', () => {
    const e = experiment(stackName, 'AzNetworkDisruption')!;
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
  });
});
