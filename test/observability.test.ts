import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../lib/config';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../lib/config/schema';
import { alarmNamePrefix, environmentTitle, replicaInstanceIdentifier, serviceHealthAlarmName, stackNames, standbyDashboardName } from '../lib/naming';
import { stacks, templateJson } from './support/assembly';

/**
 * Cross-stack checks of issue 4: every log group, alarm and task definition in
 * the synthesized app, whoever created it.
 */
type Resources = ReturnType<typeof templateJson>['Resources'];
const all = () => stacks().map((s) => ({ name: s.displayName, id: s.id, resources: templateJson(s.id).Resources as Resources }));
const environmentOf = (stackName: string): EnvironmentName | undefined => ENVIRONMENT_NAMES.find((env) => stackName === stackNames.application(env) || stackName.startsWith(`${stackNames.application(env)}-`));
const config = loadConfig({});

describe('log groups', () => {
  test('every log group in every stack keeps logs for the configured retention and is encrypted with KMS', () => {
    const problems: string[] = [];
    let count = 0;
    for (const stack of all()) {
      const env = environmentOf(stack.name);
      for (const [id, resource] of Object.entries(stack.resources)) {
        if (resource.Type !== 'AWS::Logs::LogGroup') continue;
        count++;
        const props = resource.Properties ?? {};
        const expected = env ? config.environments[env].logs.retentionDays : undefined;
        if (props.RetentionInDays === undefined) problems.push(`${stack.name}/${id}: no RetentionInDays`);
        else if (expected !== undefined && props.RetentionInDays !== expected) problems.push(`${stack.name}/${id}: RetentionInDays ${props.RetentionInDays}, config says ${expected}`);
        if (!props.KmsKeyId) problems.push(`${stack.name}/${id}: no KmsKeyId`);
      }
    }
    expect(count).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  test('no stack leaves a log group to be created by a Lambda log-retention custom resource', () => {
    for (const stack of all()) {
      expect(Object.values(stack.resources).filter((r) => r.Type === 'Custom::LogRetention').map(() => stack.name)).toEqual([]);
    }
  });
});

describe('alarms', () => {
  const alarms = () =>
    all().flatMap((stack) =>
      Object.entries(stack.resources)
        .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm' || r.Type === 'AWS::CloudWatch::CompositeAlarm')
        .map(([id, r]) => ({ stack: stack.name, id, type: r.Type, props: (r.Properties ?? {}) as Record<string, unknown> })),
    );

  test('every alarm of an environment is named with its prefix, so `ops verify` lists it', () => {
    const wrong = alarms()
      .filter((a) => environmentOf(a.stack))
      .filter((a) => typeof a.props.AlarmName !== 'string' || !(a.props.AlarmName as string).startsWith(alarmNamePrefix(environmentOf(a.stack)!)))
      .map((a) => `${a.stack}/${a.id}: ${JSON.stringify(a.props.AlarmName)}`);
    expect(wrong).toEqual([]);
  });

  test('every alarm reaches a person: it notifies a topic itself or is part of a composite alarm that does', () => {
    const all_ = alarms();
    const notifying = all_.filter((a) => Array.isArray(a.props.AlarmActions) && (a.props.AlarmActions as unknown[]).length > 0);
    // Composite rules name their children by ARN (a GetAtt of the logical id) or, across stacks, through an output.
    const coveredRules = notifying.filter((a) => a.type === 'AWS::CloudWatch::CompositeAlarm').map((a) => ({ stack: a.stack, rule: JSON.stringify(a.props.AlarmRule) }));
    const silent = all_
      .filter((a) => !notifying.includes(a))
      .filter((a) => !coveredRules.some((c) => (c.stack === a.stack ? c.rule.includes(`"${a.id}"`) : c.rule.includes(a.id))))
      .map((a) => `${a.stack}/${a.id}`);
    expect(silent).toEqual([]);
  });

  test('every alarm description says what happened and names a runbook that exists', () => {
    const problems: string[] = [];
    for (const alarm of alarms()) {
      const description = alarm.props.AlarmDescription;
      const runbook = typeof description === 'string' ? /Runbook: (runbooks\/[\w./-]+\.md)/.exec(description)?.[1] : undefined;
      if (!runbook) problems.push(`${alarm.stack}/${alarm.id}: no 'Runbook: runbooks/….md' in its description`);
      else if (!fs.existsSync(path.join(__dirname, '..', runbook))) problems.push(`${alarm.stack}/${alarm.id}: ${runbook} does not exist`);
    }
    expect(problems).toEqual([]);
  });

  test.each(ENVIRONMENT_NAMES)('%s has the composite service-health alarm, paging the critical topic', (env) => {
    const stackName = stackNames.application(env);
    const health = alarms().find((a) => a.props.AlarmName === serviceHealthAlarmName(env));
    expect(health).toMatchObject({ stack: stackName, type: 'AWS::CloudWatch::CompositeAlarm' });
    expect(JSON.stringify(health!.props.AlarmActions)).toMatch(/AlarmTopicsCritical/);
  });
});

describe('dashboards', () => {
  test.each(ENVIRONMENT_NAMES)('%s has two dashboards: the environment in its top stack, and the standby after a failover in the standby stack', (env) => {
    const dashboards = all().flatMap((s) => Object.values(s.resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard').map((r) => ({ stack: s.name, name: r.Properties?.DashboardName })));
    expect(dashboards.filter((d) => environmentOf(d.stack) === env).sort((a, b) => a.stack.localeCompare(b.stack))).toEqual([
      { stack: stackNames.application(env), name: `BodyScript-${environmentTitle(env)}` },
      { stack: `${stackNames.application(env)}-Standby`, name: standbyDashboardName(env) },
    ]);
  });

  test.each(ENVIRONMENT_NAMES)('%s shows the standby read replica lag beside the primary database', (env) => {
    const [dashboard] = Object.values(templateJson(stackNames.application(env)).Resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard.Properties!.DashboardBody);
    expect(body).toContain(`ReplicaLag\\\",\\\"DBInstanceIdentifier\\\",\\\"${replicaInstanceIdentifier(env)}`);
    expect(body).toContain(`\\\"region\\\":\\\"${config.environments[env].standby.region}`);
  });
});

describe('Sentry', () => {
  test('no template contains a DSN', () => {
    for (const stack of stacks()) {
      expect(JSON.stringify(templateJson(stack.id))).not.toMatch(/https?:\/\/[0-9a-f]+(:[0-9a-f]+)?@[\w.-]*ingest(\.[a-z]+)?\.sentry\.io/i);
    }
  });

  test.each(ENVIRONMENT_NAMES)('%s tasks get SENTRY_DSN from Secrets Manager and SENTRY_ENVIRONMENT and SENTRY_RELEASE', (env) => {
    const taskDefinitions = Object.values(templateJson(`${stackNames.application(env)}-Services`).Resources).filter((r) => r.Type === 'AWS::ECS::TaskDefinition');
    expect(taskDefinitions.length).toBeGreaterThanOrEqual(2);
    for (const taskDefinition of taskDefinitions) {
      const [container] = taskDefinition.Properties!.ContainerDefinitions as { Secrets?: { Name: string; ValueFrom: unknown }[]; Environment?: { Name: string; Value: unknown }[] }[];
      const dsn = container.Secrets?.find((s) => s.Name === 'SENTRY_DSN');
      expect(dsn).toBeDefined();
      expect(JSON.stringify(dsn!.ValueFrom)).toContain(config.environments[env].sentry.dsnSecretName.replace(/\//g, '/'));
      const variables = Object.fromEntries((container.Environment ?? []).map((e) => [e.Name, e.Value]));
      expect(variables.SENTRY_ENVIRONMENT).toBe(env);
      expect(variables.SENTRY_RELEASE).toEqual(expect.any(String));
      expect(container.Environment?.some((e) => e.Name === 'SENTRY_DSN')).toBe(false);
    }
  });
});
