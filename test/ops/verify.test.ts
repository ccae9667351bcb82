import { BatchGetServiceLevelObjectiveBudgetReportCommand } from '@aws-sdk/client-application-signals';
import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { BatchGetDeploymentTargetsCommand, GetDeploymentGroupCommand, ListDeploymentsCommand, ListDeploymentTargetsCommand } from '@aws-sdk/client-codedeploy';
import { ListServiceDeploymentsCommand } from '@aws-sdk/client-ecs';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { CANARY_SILENCE_CATCH_UP_MINUTES, CANARY_SILENCE_MINUTES } from '../../lib/canary-silence';
import { alarmRuleMembers, insufficientDataMeaning, judgeAlarms, runVerify } from '../../lib/ops/commands/verify';
import { ExitCode } from '../../lib/ops/exit-codes';
import { awsError, DescribeCanariesLastRun, harness, START, type Harness } from './helpers';

const CANARIES = ['bs-stg-frontend', 'bs-stg-api', 'bs-stg-processing'];

function canaryRuns(state: 'PASSED' | 'FAILED' | 'RUNNING', completedAgoMs = 60_000) {
  return {
    CanariesLastRun: CANARIES.map((name) => ({
      CanaryName: name,
      LastRun: { Status: { State: state, StateReason: state === 'FAILED' ? 'HTTP 502' : undefined }, Timeline: { Completed: new Date(START - completedAgoMs) } },
    })),
  };
}

const WORKER_DEPLOYMENT = 'arn:aws:ecs:us-east-1:111111111111:service-deployment/bodyscript-staging/bodyscript-staging-processing/dep-1';

/** A healthy staging: alarms on two pages, the api's and the worker's last deployments succeeded, canaries passed a minute ago. */
function healthy(h: Harness): void {
  h.mocks.primary.cloudWatch
    .on(DescribeAlarmsCommand)
    .resolves({ MetricAlarms: [{ AlarmName: 'BodyScript-Staging-Api-5xx', StateValue: 'OK' }], NextToken: 'page-2' })
    .on(DescribeAlarmsCommand, { NextToken: 'page-2' })
    .resolves({ CompositeAlarms: [{ AlarmName: 'BodyScript-Staging-ServiceHealth', StateValue: 'OK' }] });
  h.mocks.primary.codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
  h.mocks.primary.codeDeploy.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: { lastAttemptedDeployment: { deploymentId: 'd-1', status: 'Succeeded' } } });
  h.mocks.primary.ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [{ serviceDeploymentArn: WORKER_DEPLOYMENT, status: 'SUCCESSFUL', createdAt: new Date(START - 3_600_000) }] });
  h.mocks.primary.synthetics.on(DescribeCanariesLastRun).resolves(canaryRuns('PASSED'));
}

describe('ops verify', () => {
  test('healthy environment: exit 0 after reading every alarm page, both deployment groups and all canaries', async () => {
    const h = harness();
    healthy(h);
    const result = await runVerify(h.ctx, { timeoutMinutes: 10 });
    expect(result.exitCode).toBe(ExitCode.OK);
    const alarmCalls = h.mocks.primary.cloudWatch.commandCalls(DescribeAlarmsCommand);
    expect(alarmCalls).toHaveLength(2);
    expect(alarmCalls[0].args[0].input).toMatchObject({ AlarmNamePrefix: 'BodyScript-Staging-', AlarmTypes: ['CompositeAlarm', 'MetricAlarm'] });
    expect(alarmCalls[1].args[0].input.NextToken).toBe('page-2');
    // The api is deployed by CodeDeploy, the worker by ECS rolling updates (lib/deployment-model.ts).
    const groups = h.mocks.primary.codeDeploy.commandCalls(GetDeploymentGroupCommand).map((c) => c.args[0].input.deploymentGroupName);
    expect(groups).toEqual(['BodyScript-Staging-api']);
    expect(h.mocks.primary.ecs.commandCalls(ListServiceDeploymentsCommand)[0].args[0].input).toMatchObject({ cluster: 'bodyscript-staging', service: 'bodyscript-staging-processing' });
    expect(h.mocks.primary.synthetics.commandCalls(DescribeCanariesLastRun)[0].args[0].input.Names).toEqual(CANARIES);
    expect(result.checks.every((c) => c.state === 'ok')).toBe(true);
    expect(h.out.text()).toContain('staging is healthy');
    expect(h.clock.sleeps).toEqual([]);
  });

  test('prints the SLOs’ attainment and budget left for the record, and does not judge them: a spent or unreadable budget leaves a healthy release healthy', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.applicationSignals.on(BatchGetServiceLevelObjectiveBudgetReportCommand).callsFake((input: { SloIds: string[] }) => ({
      Reports: input.SloIds.map((Name, i) => ({ Name, EvaluationType: 'RequestBased', BudgetStatus: i === 0 ? 'BREACHED' : 'OK', Attainment: i === 0 ? 99.8 : 99.99, TotalBudgetRequests: 100, BudgetRequestsRemaining: i === 0 ? -100 : 90 })),
      Errors: [],
    }));
    const result = await runVerify(h.ctx, { timeoutMinutes: 10 });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(h.out.text()).toContain('SLOs (information, not judged here): api availability 99.800% (goal 99.9%, budget left -100.0%); api latency 99.990% (goal 99%, budget left 90.0%)');

    const unreadable = harness();
    healthy(unreadable);
    unreadable.mocks.primary.applicationSignals.on(BatchGetServiceLevelObjectiveBudgetReportCommand).rejects(awsError('AccessDeniedException'));
    expect((await runVerify(unreadable.ctx, { timeoutMinutes: 10 })).exitCode).toBe(ExitCode.OK);
    expect(unreadable.out.text()).toMatch(/SLOs \(information, not judged here\): could not read the budgets: access denied/);
  });

  test('INSUFFICIENT_DATA where data is expected (TreatMissingData missing) is pending: verify keeps polling and succeeds when the alarm turns OK', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.cloudWatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'BodyScript-Staging-Queue-Age', StateValue: 'INSUFFICIENT_DATA', TreatMissingData: 'missing' }] })
      .resolves({ MetricAlarms: [{ AlarmName: 'BodyScript-Staging-Queue-Age', StateValue: 'OK', TreatMissingData: 'missing' }] });
    const result = await runVerify(h.ctx, { timeoutMinutes: 10 });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(h.clock.sleeps).toEqual([30_000]);
    expect(h.out.lines.some((l) => l.startsWith('[+00m00s]') && l.includes('INSUFFICIENT_DATA where data is expected: BodyScript-Staging-Queue-Age'))).toBe(true);
    expect(h.out.lines.some((l) => l.startsWith('[+00m30s]') && l.includes('checks OK'))).toBe(true);
  });

  test('INSUFFICIENT_DATA where data is expected until the timeout: exit TIMEOUT (3) naming the alarm, its TreatMissingData and its state reason', async () => {
    const h = harness();
    healthy(h);
    // DescribeAlarms leaves TreatMissingData out for alarms at CloudWatch's default (missing).
    h.mocks.primary.cloudWatch
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: 'BodyScript-Staging-Queue-Age', StateValue: 'INSUFFICIENT_DATA', StateReason: 'Insufficient Data: 2 datapoints were unknown.' }] });
    const result = await runVerify(h.ctx, { timeoutMinutes: 2 });
    expect(result.exitCode).toBe(ExitCode.TIMEOUT);
    // Bounded: at most timeout / interval sleeps.
    expect(h.clock.sleeps.length).toBeLessThanOrEqual(4);
    expect(h.out.errors.join('\n')).toMatch(/timed out after .*BodyScript-Staging-Queue-Age \(TreatMissingData missing: Insufficient Data: 2 datapoints were unknown.\)/);
  });

  test('a healthy, quiet environment is healthy at once: no data where none is expected (ignore) is never waited for', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.cloudWatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        // A quiet api: its error-line filter emits 0 (DefaultValue), the alarm is OK.
        { AlarmName: 'BodyScript-Staging-api-ErrorLines', StateValue: 'OK', TreatMissingData: 'notBreaching' },
        { AlarmName: 'BodyScript-Staging-Processing-DeadLetterQueueNotEmpty', StateValue: 'INSUFFICIENT_DATA', TreatMissingData: 'ignore' },
        { AlarmName: 'BodyScript-Staging-Replication-Latency', StateValue: 'INSUFFICIENT_DATA', TreatMissingData: 'ignore' },
      ],
      CompositeAlarms: [
        {
          AlarmName: 'BodyScript-Staging-ServiceHealth',
          StateValue: 'INSUFFICIENT_DATA',
          AlarmRule: 'ALARM("arn:aws:cloudwatch:us-east-1:111111111111:alarm:BodyScript-Staging-Processing-DeadLetterQueueNotEmpty") OR ALARM("BodyScript-Staging-api-ErrorLines")',
        },
      ],
    });
    const result = await runVerify(h.ctx, { timeoutMinutes: 10 });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(h.clock.sleeps).toEqual([]);
    expect(result.checks[0].detail).toBe('1 OK; 3 without data, which their TreatMissingData says is healthy');
  });

  test('an alarm not evaluated yet (breaching, just created) is waited for briefly, never timed out on when it turns OK', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.cloudWatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'BodyScript-Staging-api-5xxRate', StateValue: 'INSUFFICIENT_DATA', TreatMissingData: 'breaching', StateReason: 'Unchecked: Initial alarm creation' }] })
      .resolves({ MetricAlarms: [{ AlarmName: 'BodyScript-Staging-api-5xxRate', StateValue: 'OK', TreatMissingData: 'breaching' }] });
    const result = await runVerify(h.ctx, { timeoutMinutes: 10 });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(h.clock.sleeps).toEqual([30_000]);
    expect(h.out.lines.some((l) => l.includes('1/1 not evaluated yet: BodyScript-Staging-api-5xxRate'))).toBe(true);
  });

  test('a composite alarm not evaluated yet is pending while a member alarm expects data, and when it names an alarm verify cannot see', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.cloudWatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [{ AlarmName: 'BodyScript-Staging-api-LatencyP99', StateValue: 'INSUFFICIENT_DATA', TreatMissingData: 'missing' }],
      CompositeAlarms: [
        { AlarmName: 'BodyScript-Staging-api-Rollback', StateValue: 'INSUFFICIENT_DATA', AlarmRule: 'ALARM("BodyScript-Staging-api-LatencyP99")' },
        { AlarmName: 'BodyScript-Staging-Other', StateValue: 'INSUFFICIENT_DATA', AlarmRule: 'ALARM("Elsewhere-Alarm")' },
      ],
    });
    const result = await runVerify(h.ctx, { timeoutMinutes: 0 });
    expect(result.exitCode).toBe(ExitCode.TIMEOUT);
    expect(result.checks[0].detail).toMatch(/^3\/3 INSUFFICIENT_DATA where data is expected: BodyScript-Staging-api-LatencyP99 .*BodyScript-Staging-api-Rollback \(composite, not evaluated yet\).*BodyScript-Staging-Other/);
  });

  test('reads the member alarms of a composite alarm rule (names and ARNs, any state function)', () => {
    expect(alarmRuleMembers('(ALARM("a") OR OK("arn:aws:cloudwatch:us-east-1:1:alarm:b")) AND NOT INSUFFICIENT_DATA(c)')).toEqual(['a', 'b', 'c']);
    // The alarms' own table (lib/alarm-description.ts); a treatment verify cannot read is never quiet.
    expect(['ignore', 'notBreaching', 'breaching', 'missing', undefined, 'sometimes'].map(insufficientDataMeaning)).toEqual(['quiet', 'quiet', 'not-evaluated-yet', 'data-expected', 'data-expected', 'data-expected']);
    expect(alarmRuleMembers(undefined)).toEqual([]);
    const verdicts = judgeAlarms([
      { name: 'x', kind: 'metric', state: 'ALARM' },
      { name: 'c', kind: 'composite', state: 'INSUFFICIENT_DATA', members: ['x'] },
    ]);
    expect(verdicts.get('c')).toBe('alarm');
  });

  test('judges every alarm of the environment by its state, whatever its name (none is in ALARM by design)', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.cloudWatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: 'BodyScript-Staging-api-5xxRate', StateValue: 'OK', TreatMissingData: 'notBreaching' },
        // The name of a per-colour input of the old alarm-calculated Route 53 check, which verify used to skip.
        { AlarmName: 'BodyScript-Staging-api-NoHealthyTargets-Green', StateValue: 'ALARM', TreatMissingData: 'breaching' },
      ],
    });
    const result = await runVerify(h.ctx, { timeoutMinutes: 0 });
    expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
    expect(result.checks[0]).toEqual({ name: 'alarms', state: 'failing', detail: '1/2 in ALARM: BodyScript-Staging-api-NoHealthyTargets-Green' });
  });

  test('an alarm still in ALARM at the timeout: exit UNHEALTHY (1)', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'BodyScript-Staging-Api-5xx', StateValue: 'ALARM' }] });
    const result = await runVerify(h.ctx, { timeoutMinutes: 1 });
    expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
    expect(h.out.errors.join('\n')).toContain('staging is UNHEALTHY: alarms: 1/1 in ALARM: BodyScript-Staging-Api-5xx');
  });

  test('--timeout-minutes 0 checks once without sleeping', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.synthetics.on(DescribeCanariesLastRun).resolves(canaryRuns('RUNNING'));
    const result = await runVerify(h.ctx, { timeoutMinutes: 0 });
    expect(result.exitCode).toBe(ExitCode.TIMEOUT);
    expect(h.clock.sleeps).toEqual([]);
  });

  test('a failed last deployment and a failed canary are failing checks', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.codeDeploy
      .on(GetDeploymentGroupCommand, { deploymentGroupName: 'BodyScript-Staging-api' })
      .resolves({ deploymentGroupInfo: { lastAttemptedDeployment: { deploymentId: 'd-BAD', status: 'Failed' } } });
    h.mocks.primary.synthetics.on(DescribeCanariesLastRun).resolves(canaryRuns('FAILED'));
    const result = await runVerify(h.ctx, { timeoutMinutes: 0 });
    expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
    expect(result.checks.find((c) => c.name === 'deployment BodyScript-Staging-api')).toMatchObject({ state: 'failing', detail: 'last deployment d-BAD Failed' });
    expect(result.checks.find((c) => c.name === 'canary bs-stg-api')).toMatchObject({ state: 'failing', detail: 'last run FAILED: HTTP 502' });
  });

  test('a deployment still shifting traffic, a worker deployment in progress and a stale canary result are pending, not OK', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-NEW'] });
    h.mocks.primary.codeDeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['bodyscript-staging:bodyscript-staging-api'] });
    h.mocks.primary.codeDeploy.on(BatchGetDeploymentTargetsCommand).resolves({ deploymentTargets: [{ ecsTarget: { status: 'InProgress', lifecycleEvents: [{ lifecycleEventName: 'AllowTraffic', status: 'InProgress' }] } }] });
    h.mocks.primary.ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [{ serviceDeploymentArn: WORKER_DEPLOYMENT, status: 'IN_PROGRESS', createdAt: new Date(START) }] });
    h.mocks.primary.synthetics.on(DescribeCanariesLastRun).resolves(canaryRuns('PASSED', 60 * 60_000));
    const result = await runVerify(h.ctx, { timeoutMinutes: 0 });
    expect(result.exitCode).toBe(ExitCode.TIMEOUT);
    expect(result.checks.find((c) => c.name === 'deployment BodyScript-Staging-api')).toMatchObject({ state: 'pending', detail: 'deployment d-NEW in progress' });
    expect(result.checks.find((c) => c.name === 'deployment bodyscript-staging-processing')).toMatchObject({ state: 'pending', detail: 'service deployment dep-1 IN_PROGRESS' });
    expect(result.checks.find((c) => c.name === 'canary bs-stg-frontend')?.detail).toBe('last run PASSED but 1h00m00s ago: is the canary stopped?');
  });

  test('a release in its termination wait is live: traffic has moved, the original task set is only kept for an instant rollback', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-NEW'] });
    h.mocks.primary.codeDeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['bodyscript-staging:bodyscript-staging-api'] });
    h.mocks.primary.codeDeploy.on(BatchGetDeploymentTargetsCommand).resolves({ deploymentTargets: [{ ecsTarget: { status: 'Succeeded', lifecycleEvents: [{ lifecycleEventName: 'AfterAllowTraffic', status: 'Succeeded' }] } }] });
    const result = await runVerify(h.ctx, { timeoutMinutes: 0 });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(result.checks.find((c) => c.name === 'deployment BodyScript-Staging-api')?.detail).toMatch(/^deployment d-NEW has moved production traffic; the original task set stays for the termination wait/);
  });

  test.each([
    ['ROLLBACK_SUCCESSFUL', 'ok'],
    ['ROLLBACK_IN_PROGRESS', 'pending'],
    ['ROLLBACK_FAILED', 'failing'],
    ['STOPPED', 'failing'],
  ] as const)('a worker service deployment %s is %s', async (status, state) => {
    const h = harness();
    healthy(h);
    h.mocks.primary.ecs.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [
        { serviceDeploymentArn: `${WORKER_DEPLOYMENT}-old`, status: 'SUCCESSFUL', createdAt: new Date(START - 86_400_000) },
        { serviceDeploymentArn: WORKER_DEPLOYMENT, status, createdAt: new Date(START), statusReason: 'ECS deployment circuit breaker: tasks failed to start.' },
      ],
    });
    const result = await runVerify(h.ctx, { timeoutMinutes: 0 });
    expect(result.checks.find((c) => c.name === 'deployment bodyscript-staging-processing')?.state).toBe(state);
  });

  test('throttling is retried with exponential backoff, then succeeds', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.synthetics
      .on(DescribeCanariesLastRun)
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded'))
      .rejectsOnce(awsError('TooManyRequestsException'))
      .resolves(canaryRuns('PASSED'));
    const result = await runVerify(h.ctx, { timeoutMinutes: 0 });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(h.mocks.primary.synthetics.commandCalls(DescribeCanariesLastRun)).toHaveLength(3);
    expect(h.clock.sleeps).toEqual([1000, 2000]);
    expect(h.out.text()).toContain('synthetics:DescribeCanariesLastRun throttled (attempt 1/4)');
  });

  test('throttling that outlasts the retries stops with a throttled AWS error', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.cloudWatch.on(DescribeAlarmsCommand).rejects(awsError('Throttling'));
    await expect(runVerify(h.ctx, { timeoutMinutes: 0 })).rejects.toMatchObject({ kind: 'throttled', exitCode: ExitCode.AWS_ERROR });
    expect(h.mocks.primary.cloudWatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(4);
  });

  test('access denied names the action and the account, and is never healthy', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.codeDeploy.on(GetDeploymentGroupCommand).rejects(awsError('AccessDeniedException', 'User is not authorized'));
    const error = await runVerify(h.ctx, { timeoutMinutes: 0 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'access-denied', exitCode: ExitCode.AWS_ERROR });
    expect((error as Error).message).toContain('access denied: codedeploy:GetDeploymentGroup on deployment group BodyScript-Staging-api/BodyScript-Staging-api');
    expect((error as Error).message).toContain('role of account 111111111111');
    // Only one attempt: access denied is not retried.
    expect(h.mocks.primary.codeDeploy.commandCalls(GetDeploymentGroupCommand)).toHaveLength(1);
  });

  test('missing credentials stop before any check', async () => {
    const h = harness();
    healthy(h);
    h.mocks.sts.on(GetCallerIdentityCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers'));
    const error = await runVerify(h.ctx, { timeoutMinutes: 10 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'credentials', exitCode: ExitCode.AWS_ERROR });
    expect((error as Error).message).toMatch(/^no AWS credentials found/);
    expect(h.mocks.primary.cloudWatch.calls()).toHaveLength(0);
  });

  test('credentials of another account are refused (they would find nothing and look healthy)', async () => {
    const h = harness();
    healthy(h);
    h.mocks.sts.on(GetCallerIdentityCommand).resolves({ Account: '999999999999', Arn: 'arn:aws:sts::999999999999:assumed-role/Dev/bob' });
    await expect(runVerify(h.ctx, { timeoutMinutes: 0 })).rejects.toThrow(/account 999999999999, but staging primary lives in account 111111111111/);
    expect(h.mocks.primary.cloudWatch.calls()).toHaveLength(0);
  });

  test('no alarms at all is a missing resource, not a healthy environment', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
    await expect(runVerify(h.ctx, { timeoutMinutes: 0 })).rejects.toMatchObject({ kind: 'not-found', message: expect.stringContaining('no CloudWatch alarms named BodyScript-Staging-*') });
  });

  test('a missing deployment group or canary is reported as a missing resource', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.codeDeploy.on(ListDeploymentsCommand).rejects(awsError('DeploymentGroupDoesNotExistException', 'No Deployment Group found'));
    await expect(runVerify(h.ctx, { timeoutMinutes: 0 })).rejects.toMatchObject({
      kind: 'not-found',
      message: expect.stringMatching(/^missing resource: codedeploy:ListDeployments found no deployment group BodyScript-Staging-api/),
    });

    const h2 = harness();
    healthy(h2);
    h2.mocks.primary.synthetics.on(DescribeCanariesLastRun).resolves({ CanariesLastRun: canaryRuns('PASSED').CanariesLastRun.slice(1) });
    await expect(runVerify(h2.ctx, { timeoutMinutes: 0 })).rejects.toThrow('Synthetics canary bs-stg-frontend not found');
  });
});

/**
 * A canary's silence alarm (lib/canary-silence.ts) is in ALARM from its first
 * evaluation until it counts the canary's first run: a release that creates a
 * canary (or starts one again) finds it in ALARM for a few minutes though the
 * canary runs. Verify reads the runs the alarm counts (SampleCount of
 * SuccessPercent, GetMetricData) and lets the alarm catch up only while those
 * runs began less than CANARY_SILENCE_CATCH_UP_MINUTES ago.
 */
describe('ops verify and a canary’s silence alarm', () => {
  const SILENT = 'BodyScript-Staging-api-Canary-Silent';
  /** Runs of bs-stg-api per minute, as GetMetricData answers (newest first when asked so); minutes before START. */
  const runs = (h: Harness, minutesAgo: number[]) =>
    h.mocks.primary.cloudWatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: 'm', Timestamps: minutesAgo.map((m) => new Date(START - m * 60_000)), Values: minutesAgo.map(() => 1), StatusCode: 'Complete' }],
    });
  const silentAlarm = (h: Harness) =>
    h.mocks.primary.cloudWatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: 'BodyScript-Staging-api-Canary', StateValue: 'INSUFFICIENT_DATA', TreatMissingData: 'ignore' },
        { AlarmName: SILENT, StateValue: 'ALARM', TreatMissingData: 'breaching', StateReason: 'Threshold Crossed: no datapoints were received for 10 periods and 10 missing datapoints were treated as [Breaching].' },
      ],
    });

  test('a canary created a moment ago: its silence alarm has not counted the first runs yet, and the release is healthy at once', async () => {
    const h = harness();
    healthy(h);
    silentAlarm(h);
    runs(h, [0, 1, 2]);
    const result = await runVerify(h.ctx, { timeoutMinutes: 0 });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(result.checks[0]).toMatchObject({ state: 'ok', detail: expect.stringContaining(`${SILENT} in ALARM only until it counts the first runs of bs-stg-api`) });
    // It read the runs the alarm counts: SampleCount of the canary's SuccessPercent per minute, over the alarm's window and the catch-up.
    const query = h.mocks.primary.cloudWatch.commandCalls(GetMetricDataCommand)[0].args[0].input;
    expect(query.MetricDataQueries![0].MetricStat).toEqual({
      Metric: { Namespace: 'CloudWatchSynthetics', MetricName: 'SuccessPercent', Dimensions: [{ Name: 'CanaryName', Value: 'bs-stg-api' }] },
      Period: 60,
      Stat: 'SampleCount',
    });
    expect(START - query.StartTime!.getTime()).toBe((CANARY_SILENCE_MINUTES + CANARY_SILENCE_CATCH_UP_MINUTES) * 60_000);
  });

  test.each([
    ['the canary has run for longer than the alarm needs to count a run', [0, 1, 2, 3, 4, 5, 6, 7]],
    ['the canary published no run at all', []],
  ])('a silence alarm in ALARM is failing when %s: exit UNHEALTHY (1) at the timeout', async (_, minutesAgo) => {
    const h = harness();
    healthy(h);
    silentAlarm(h);
    runs(h, minutesAgo);
    const result = await runVerify(h.ctx, { timeoutMinutes: 0 });
    expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
    expect(result.checks[0]).toMatchObject({ state: 'failing', detail: expect.stringContaining(SILENT) });
  });

  test('the first run counted is the one that decides: just inside the catch-up is healthy, just outside is not', async () => {
    for (const [minutesAgo, code] of [
      [CANARY_SILENCE_CATCH_UP_MINUTES, ExitCode.OK],
      [CANARY_SILENCE_CATCH_UP_MINUTES + 1, ExitCode.UNHEALTHY],
    ] as const) {
      const h = harness();
      healthy(h);
      silentAlarm(h);
      runs(h, Array.from({ length: minutesAgo + 1 }, (_, i) => i));
      expect({ minutesAgo, code: (await runVerify(h.ctx, { timeoutMinutes: 0 })).exitCode }).toEqual({ minutesAgo, code });
    }
  });

  test('no other alarm in ALARM is explained away, and none costs a metric read', async () => {
    const h = harness();
    healthy(h);
    h.mocks.primary.cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'BodyScript-Staging-api-5xxRate', StateValue: 'ALARM', TreatMissingData: 'notBreaching' }] });
    runs(h, [0]);
    expect((await runVerify(h.ctx, { timeoutMinutes: 0 })).exitCode).toBe(ExitCode.UNHEALTHY);
    expect(h.mocks.primary.cloudWatch.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });
});
