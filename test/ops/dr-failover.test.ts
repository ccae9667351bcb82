import { BatchGetServiceLevelObjectiveBudgetReportCommand } from '@aws-sdk/client-application-signals';
import { RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ModifyDBInstanceCommand, PromoteReadReplicaCommand } from '@aws-sdk/client-rds';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnvironmentConfig } from '../../lib/config';
import { runFailover } from '../../lib/ops/dr/failover';
import { ExitCode } from '../../lib/ops/exit-codes';
import type { FailoverReport } from '../../lib/ops/report';
import { deployedPlan, deployPlan, LAG_AT, LAG_SECONDS, newWorld, type World, wireWorld } from './dr-fixtures';
import { awsError, harness, type Harness, START } from './helpers';

const DOMAIN: NonNullable<EnvironmentConfig['domain']> = {
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  hostedZoneName: 'bodyscript.example',
  appDomainName: 'app.staging.bodyscript.example',
  apiDomainName: 'api.staging.bodyscript.example',
};

function reportDir(): string {
  return mkdtempSync(join(tmpdir(), 'ops-dr-'));
}

function readReport(dir: string): { json: FailoverReport; markdown: string; files: string[] } {
  const files = readdirSync(dir).sort();
  const base = files.find((f) => f.endsWith('.json'))!.replace(/\.json$/, '');
  return { json: JSON.parse(readFileSync(join(dir, `${base}.json`), 'utf8')) as FailoverReport, markdown: readFileSync(join(dir, `${base}.md`), 'utf8'), files };
}

/** A standby as deployed: replica replicating, pilot light at 0..0, the plan in us-west-2. */
function ready(env: 'staging' | 'production' = 'staging', configOverride: Partial<EnvironmentConfig> = {}): { h: Harness; world: World } {
  const h = harness(env, configOverride);
  const world = newWorld(env);
  wireWorld(h, world);
  deployPlan(h, world);
  return { h, world };
}

/** Every us-east-1 client fails as in a regional outage: DNS resolution of its endpoints fails. */
function primaryRegionDown(h: Harness): void {
  const down = Object.assign(new Error('getaddrinfo ENOTFOUND us-east-1.amazonaws.com'), { name: 'NetworkingError', code: 'ENOTFOUND' });
  for (const mock of [...Object.values(h.mocks.primary), h.mocks.route53] as { onAnyCommand(): { rejects(e: Error): unknown } }[]) mock.onAnyCommand().rejects(down);
  h.regionSwitch.primary.unreachable = true;
}

function primaryCalls(h: Harness): number {
  return [...Object.values(h.mocks.primary), h.mocks.route53].reduce((n, mock) => n + mock.calls().length, 0) + h.regionSwitch.primary.calls.length;
}

const EXECUTE = { execute: true, confirm: 'staging', intervalSeconds: 15 } as const;

describe('ops dr failover', () => {
  test('dry run: reads the plan, its evaluation, the replica and the marker in us-west-2, prints the plan, changes nothing', async () => {
    const { h, world } = ready();
    h.regionSwitch.standby.evaluation = { evaluationState: 'actionRequired', warnings: [{ stepName: 'raise-api', warningStatus: 'active', warningMessage: 'the execution role cannot read the service' }] };
    const dir = reportDir();
    const result = await runFailover(h.ctx, { execute: false, reportDir: dir });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(h.regionSwitch.standby.calls.map((c) => c.operation)).toEqual(['ListPlansInRegion', 'GetPlanInRegion', 'GetPlanEvaluationStatus']);
    expect(h.mocks.standby.autoScaling.commandCalls(RegisterScalableTargetCommand)).toHaveLength(0);
    expect(h.mocks.standby.ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(world.marker).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
    const text = h.out.text();
    expect(text).toContain('Failover of staging: us-east-1 → us-west-2 (account 111111111111), every call to us-west-2');
    expect(text).toContain('promote-replica (RdsPromoteReadReplica) → raise-api (ECSServiceScaling) → raise-processing (ECSServiceScaling)');
    expect(text).toContain('plan warning (raise-api): the execution role cannot read the service');
    expect(text).toContain('9. traffic: NOT moved. No domain is configured');
    expect(text).toContain(`lag ${LAG_SECONDS}s`);
    expect(text).toContain('marker: not failed over');
    expect(text).toContain('To fail over: --execute --confirm staging');
    expect(primaryCalls(h)).toBe(0);
  });

  test('a mismatched or missing --confirm is refused before any AWS call', async () => {
    const { h } = ready();
    const dir = reportDir();
    await expect(runFailover(h.ctx, { execute: true, confirm: 'production', reportDir: dir })).rejects.toMatchObject({
      kind: 'usage',
      exitCode: ExitCode.USAGE,
      message: "--confirm 'production' does not match --env 'staging': type the environment name again to fail over; nothing was done",
    });
    await expect(runFailover(h.ctx, { execute: true, reportDir: dir })).rejects.toThrow('--confirm is required with --execute');
    expect(h.mocks.standby.sts.calls()).toHaveLength(0);
    expect(h.regionSwitch.standby.calls).toHaveLength(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('--execute: opens the scaling bounds, marks the environment failed over, runs the plan in us-west-2, finishes what the plan cannot, reports RTO and data loss', async () => {
    const { h, world } = ready();
    const dir = reportDir();
    const result = await runFailover(h.ctx, { ...EXECUTE, reportDir: dir });
    expect(result.exitCode).toBe(ExitCode.OK);

    // The plan is started once, ungraceful (a real outage), to activate us-west-2.
    const starts = h.regionSwitch.standby.calls.filter((c) => c.operation === 'StartPlanExecution');
    expect(starts.map((c) => c.input)).toEqual([
      expect.objectContaining({ planArn: 'arn:aws:arc-region-switch::111111111111:plan/bodyscript-staging-failover:abc123', targetRegion: 'us-west-2', action: 'activate', mode: 'ungraceful' }),
    ]);
    // The CLI never promotes itself: the plan does.
    expect(h.mocks.standby.rds.commandCalls(PromoteReadReplicaCommand)).toHaveLength(0);
    expect(world.replica.promoted).toBe(true);
    // Bounds: opened to maxTasks with scaling suspended before the plan, then the floor with scaling resumed.
    const registrations = h.mocks.standby.autoScaling.commandCalls(RegisterScalableTargetCommand).map((c) => c.args[0].input);
    expect(registrations.map((r) => [r.ResourceId, r.MinCapacity, r.MaxCapacity, r.SuspendedState?.DynamicScalingOutSuspended])).toEqual([
      ['service/bodyscript-staging/bodyscript-staging-api', 0, 4, true],
      ['service/bodyscript-staging/bodyscript-staging-processing', 0, 4, true],
      ['service/bodyscript-staging/bodyscript-staging-api', 1, 4, false],
      ['service/bodyscript-staging/bodyscript-staging-processing', 1, 4, false],
    ]);
    // The plan raised both services to the primary's sampled maximum; the CLI did not lower them.
    expect(world.services.api).toMatchObject({ desired: 2, running: 2, min: 1, max: 4 });
    expect(world.services.processing).toMatchObject({ desired: 1, min: 1 });
    expect(h.mocks.standby.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    // The promoted database is what config says (staging: single-AZ, 7 days of backups), not RDS's 1-day default.
    expect(h.mocks.standby.rds.commandCalls(ModifyDBInstanceCommand).map((c) => c.args[0].input)).toEqual([
      { DBInstanceIdentifier: 'bodyscript-staging-postgres-replica', BackupRetentionPeriod: 7, ApplyImmediately: true },
    ]);
    // The marker names the execution: the pipeline refuses deploys, a re-run follows the same execution.
    expect(JSON.parse(world.marker!)).toMatchObject({ environment: 'staging', mode: 'recovery', executionId: 'exec1', by: 'arn:aws:sts::111111111111:assumed-role/Operator/alice' });
    expect(primaryCalls(h)).toBe(0);

    const { json, markdown, files } = readReport(dir);
    expect(files).toEqual(['dr-staging-20250601T120000Z.json', 'dr-staging-20250601T120000Z.md']);
    expect(json).toMatchObject({ environment: 'staging', mode: 'recovery', outcome: 'succeeded', exitCode: 0, standbyRegion: 'us-west-2', recoveryTimeObjectiveSeconds: 1800, rtoMet: true });
    expect(json.steps.map((s) => [s.name, s.status])).toEqual([
      ['preflight', 'succeeded'],
      ['check-replica', 'succeeded'],
      ['open-scaling', 'succeeded'],
      ['mark-failed-over', 'succeeded'],
      ['run-plan', 'succeeded'],
      ['database', 'succeeded'],
      ['scale-services', 'succeeded'],
      ['target-health', 'succeeded'],
      ['traffic', 'skipped'],
    ]);
    // Promotion 300 s then both services 120 s in parallel, followed every 15 s; the services run and are healthy at the first look after.
    expect(json.plan).toMatchObject({ executionId: 'exec1', executionState: 'completed', actualRecoveryTime: '420s' });
    expect(json.plan.steps.map((s) => [s.name, s.executionBlockType, s.status, s.elapsedSeconds])).toEqual([
      ['promote-replica', 'RdsPromoteReadReplica', 'completed', 300],
      ['raise-services', 'Parallel', 'completed', 120],
      ['raise-api', 'ECSServiceScaling', 'completed', 120],
      ['raise-processing', 'ECSServiceScaling', 'completed', 120],
    ]);
    expect(json.rtoSeconds).toBe(420);
    expect(json.dataLoss).toMatchObject({ replicaLagSecondsAtPromotion: LAG_SECONDS, lagMeasuredAt: LAG_AT.toISOString(), lastReplicatedAt: new Date(LAG_AT.getTime() - LAG_SECONDS * 1000).toISOString() });
    expect(json.traffic).toEqual({ switched: false, detail: expect.stringContaining('no domain is configured') });
    expect(markdown).toContain('| outcome | **SUCCEEDED** |');
    expect(markdown).toContain('| RTO (start → healthy) | 420 s (objective 1800 s: met) |');
    expect(markdown).toContain('| api traffic moved | **no** |');
    expect(markdown).toContain('| promote-replica | RdsPromoteReadReplica | completed | 300 s |');
    // Each plan step's change is printed with the elapsed time.
    expect(h.out.lines).toContain('[+05m00s] plan step promote-replica: completed after 05m00s');
    expect(h.out.lines.some((l) => /^\[\+07m00s\] plan step raise-api: completed after 02m00s$/.test(l))).toBe(true);
    expect(h.out.text()).toContain('WARNING: api traffic was NOT moved');
  });

  test('completes with every us-east-1 client failing: STS, RDS, ECS, CloudWatch, Route 53 and Region switch of us-east-1 are never needed', async () => {
    const { h, world } = ready('production');
    primaryRegionDown(h);
    world.replica.replication = 'error';
    const dir = reportDir();
    const result = await runFailover(h.ctx, { ...EXECUTE, confirm: 'production', reportDir: dir });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(primaryCalls(h)).toBe(0);
    expect(h.mocks.standby.sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);
    const { json } = readReport(dir);
    expect(json.outcome).toBe('succeeded');
    // Production: the replica was already Multi-AZ, backups raised to 35 days; floors at the production minimums.
    expect(world.replica).toMatchObject({ promoted: true, multiAz: true, backupRetention: 35 });
    expect(world.services.api).toMatchObject({ min: 3, max: 12, desired: 5 });
    expect(world.services.processing).toMatchObject({ min: 2, max: 10, desired: 3 });
    expect(h.out.text()).toContain("replication is 'error' (expected during a regional outage)");
  });

  test('main\'s failover could not: its STS client was pinned to us-east-1, so the same outage stopped it at step 1', async () => {
    const { h } = ready();
    primaryRegionDown(h);
    // What the old code did first: ask us-east-1's STS who it is.
    await expect(h.ctx.clients.primary.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  test('--drill runs the plan in graceful mode and the report and marker say it was a drill', async () => {
    const { h, world } = ready();
    const dir = reportDir();
    expect((await runFailover(h.ctx, { ...EXECUTE, drill: true, reportDir: dir })).exitCode).toBe(ExitCode.OK);
    expect(h.regionSwitch.standby.calls.find((c) => c.operation === 'StartPlanExecution')?.input).toMatchObject({ mode: 'graceful' });
    expect(JSON.parse(world.marker!).mode).toBe('drill');
    expect(readReport(dir).markdown).toContain('# DR failover report: staging (drill)');
  });

  test('a drill’s report has the SLOs’ attainment and budget left, read in the primary region where they live; a recovery reads nothing there', async () => {
    const { h } = ready();
    h.mocks.primary.applicationSignals.on(BatchGetServiceLevelObjectiveBudgetReportCommand).callsFake((input: { SloIds: string[] }) => ({
      Reports: input.SloIds.map((Name) => ({ Name, EvaluationType: 'RequestBased', BudgetStatus: 'WARNING', Attainment: 99.93, TotalBudgetRequests: 100, BudgetRequestsRemaining: 30 })),
      Errors: [],
    }));
    const dir = reportDir();
    expect((await runFailover(h.ctx, { ...EXECUTE, drill: true, reportDir: dir })).exitCode).toBe(ExitCode.OK);
    const { json, markdown } = readReport(dir);
    expect(json.slo).toMatchObject({ read: true, budgets: expect.arrayContaining([{ slo: 'bodyscript-staging-api-availability', state: 'warning', attainmentPercent: 99.93, budgetLeftPercent: 30 }]) });
    expect(json.slo!.budgets).toHaveLength(4);
    expect(markdown).toContain('## Error budgets when the run ended');
    expect(markdown).toContain('| bodyscript-staging-web-app-canary | warning | 99.93% | 30% |');

    const recovery = ready();
    const other = reportDir();
    expect((await runFailover(recovery.h.ctx, { ...EXECUTE, reportDir: other })).exitCode).toBe(ExitCode.OK);
    expect(recovery.h.mocks.primary.applicationSignals.calls()).toHaveLength(0);
    expect(readReport(other).json.slo).toEqual({ read: false, note: 'Not read: a recovery calls nothing in us-east-1, where the SLOs live. After failback: npm run ops -- slo --env staging.', budgets: [] });
  });

  test('with a domain, the plan switches the api DNS and the report says traffic moved', async () => {
    const h = harness('staging', { domain: DOMAIN });
    const world = newWorld('staging');
    wireWorld(h, world);
    const plan = deployedPlan('staging', '111111111111');
    plan.workflows[0].steps.push({ name: 'switch-traffic', executionBlockType: 'Route53HealthCheck' });
    deployPlan(h, world, plan);
    const dir = reportDir();
    expect((await runFailover(h.ctx, { ...EXECUTE, reportDir: dir })).exitCode).toBe(ExitCode.OK);
    expect(world.dnsOnStandby).toBe(true);
    const { json } = readReport(dir);
    expect(json.traffic).toEqual({ switched: true, detail: expect.stringContaining('set the Route 53 health checks of api.staging.bodyscript.example') });
    expect(json.steps.at(-1)).toMatchObject({ name: 'traffic', status: 'succeeded' });
    // No Route 53 API call (its control plane is in us-east-1): the plan flips health checks through ARC.
    expect(h.mocks.route53.calls()).toHaveLength(0);
  });

  test('with a domain but a plan deployed without the traffic step, the failover says so and fails', async () => {
    const { h } = ready('staging', { domain: DOMAIN });
    const dir = reportDir();
    const result = await runFailover(h.ctx, { ...EXECUTE, reportDir: dir });
    expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
    expect(readReport(dir).json).toMatchObject({ failedStep: 'traffic', error: expect.stringContaining('has no switch-traffic step: deploy BodyScript-Staging-Standby again') });
  });

  test('without opening the bounds first, the plan could not raise the pilot light (0..0): its ECS step is refused', async () => {
    const { h, world } = ready();
    // What the pilot light looks like to a plan started from the console, without the CLI.
    const arc = h.regionSwitch.standby;
    const plan = arc.plans[0];
    const { executionId } = await arc.startPlanExecution({ planArn: plan.arn, targetRegion: 'us-west-2', action: 'activate', mode: 'ungraceful' });
    h.clock.advance(10 * 60_000);
    const execution = await arc.getPlanExecution(plan.arn, executionId);
    expect(execution.executionState).toBe('pausedByFailedStep');
    expect(execution.stepStates.find((s) => s.name === 'raise-api')?.status).toBe('failed');
    expect(world.services.api.desired).toBe(0);
  });

  type FailureCase = { step: string; exitCode: number; error: RegExp; arrange: (h: Harness, world: World) => void; notDone: (h: Harness, world: World) => boolean };

  const failures: FailureCase[] = [
    {
      step: 'preflight',
      exitCode: ExitCode.AWS_ERROR,
      error: /^no AWS credentials found/,
      arrange: (h) => h.mocks.standby.sts.on(GetCallerIdentityCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers')),
      notDone: (h) => h.regionSwitch.standby.calls.length === 0,
    },
    {
      step: 'preflight',
      exitCode: ExitCode.AWS_ERROR,
      error: /^missing resource: no Region switch plan named bodyscript-staging-failover in us-west-2 .* is BodyScript-Staging-Standby deployed\?/,
      arrange: (h) => h.regionSwitch.standby.plans.splice(0),
      notDone: (_h, world) => world.services.api.max === 0 && world.marker === undefined,
    },
    {
      step: 'check-replica',
      exitCode: ExitCode.UNHEALTHY,
      error: /^replica bodyscript-staging-postgres-replica is 'modifying': RDS promotes only an available replica/,
      arrange: (_h, world) => {
        world.replica.status = 'modifying';
      },
      notDone: (_h, world) => world.services.api.max === 0,
    },
    {
      step: 'run-plan',
      exitCode: ExitCode.UNHEALTHY,
      error: /^Region switch execution exec1: the plan stopped in state 'pausedByFailedStep' at step promote-replica \(InvalidDBInstanceState: .* is not a read replica\)/,
      arrange: (h) => h.regionSwitch.standby.behaviour.set('promote-replica', { seconds: 60, run: () => ({ ok: false, error: 'InvalidDBInstanceState: bodyscript-staging-postgres-replica is not a read replica' }) }),
      notDone: (h) => h.mocks.standby.rds.commandCalls(ModifyDBInstanceCommand).length === 0,
    },
    {
      step: 'target-health',
      exitCode: ExitCode.TIMEOUT,
      error: /^timed out after 10m00s waiting for standby target groups to report healthy targets/,
      arrange: (h) => h.mocks.standby.elbv2.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: 'unhealthy', Reason: 'Target.FailedHealthChecks' } }] }),
      notDone: (_h, world) => !world.dnsOnStandby,
    },
  ];

  test.each(failures)('failure at step $step ($error): stops safely, later steps not run, report written with the failure', async (c) => {
    const { h, world } = ready();
    c.arrange(h, world);
    const dir = reportDir();
    const result = await runFailover(h.ctx, { ...EXECUTE, reportDir: dir });
    expect(result.exitCode).toBe(c.exitCode);
    expect(c.notDone(h, world)).toBe(true);
    const { json, markdown } = readReport(dir);
    expect(json).toMatchObject({ outcome: 'failed', failedStep: c.step, exitCode: c.exitCode, rtoSeconds: null });
    expect(json.error).toMatch(c.error);
    const index = json.steps.findIndex((s) => s.name === c.step);
    expect(json.steps.slice(0, index).every((s) => s.status === 'succeeded' || s.status === 'skipped')).toBe(true);
    expect(json.steps.slice(index + 1).every((s) => s.status === 'not-run')).toBe(true);
    expect(markdown).toContain(`(failed at step \`${c.step}\`)`);
    expect(h.out.errors.join('\n')).toContain('stopped safely: no further step was attempted');
  });

  test('a re-run after the plan paused follows the same execution (from the marker) instead of starting another, which ARC would refuse', async () => {
    const { h, world } = ready();
    // The first run dies while the plan is still running (a laptop closed, a pipeline cancelled).
    const dir = reportDir();
    h.regionSwitch.standby.behaviour.set('promote-replica', {
      seconds: 3600,
      run: () => {
        world.replica.promoted = true;
        world.replica.backupRetention = 1;
        return { ok: true };
      },
    });
    const first = await runFailover(h.ctx, { ...EXECUTE, reportDir: dir });
    expect(first.exitCode).toBe(ExitCode.TIMEOUT);
    expect(JSON.parse(world.marker!).executionId).toBe('exec1');
    // ARC refuses a second execution while one is active.
    await expect(
      h.regionSwitch.standby.startPlanExecution({ planArn: h.regionSwitch.standby.plans[0].arn, targetRegion: 'us-west-2', action: 'activate', mode: 'ungraceful' }),
    ).rejects.toMatchObject({ name: 'IllegalStateException' });
    h.clock.advance(60 * 60_000);
    const startsBefore = h.regionSwitch.standby.calls.filter((c) => c.operation === 'StartPlanExecution').length;
    const second = await runFailover(h.ctx, { ...EXECUTE, reportDir: reportDir() });
    expect(second.exitCode).toBe(ExitCode.OK);
    expect(h.regionSwitch.standby.calls.filter((c) => c.operation === 'StartPlanExecution')).toHaveLength(startsBefore);
    expect(h.out.text()).toContain('following execution exec1 of a previous run');
  });

  test('--timeout-minutes bounds the whole run (a chained session lasts an hour): exit 3 saying how to go on, and the re-run finishes the same execution', async () => {
    const { h, world } = ready();
    h.regionSwitch.standby.behaviour.set('promote-replica', {
      seconds: 50 * 60,
      run: () => {
        world.replica.promoted = true;
        world.replica.backupRetention = 1;
        return { ok: true };
      },
    });
    const started = h.clock.now();
    const first = await runFailover(h.ctx, { ...EXECUTE, reportDir: reportDir(), timeoutMinutes: 30 });
    expect(first.exitCode).toBe(ExitCode.TIMEOUT);
    expect(h.clock.now() - started).toBeLessThanOrEqual(30 * 60_000);
    expect(first.report?.error).toMatch(/the run's --timeout-minutes 30 is used up: run the same command again; it follows Region switch execution exec1 from where this run stopped$/);
    const second = await runFailover(h.ctx, { ...EXECUTE, reportDir: reportDir(), timeoutMinutes: 30 });
    expect(second.exitCode).toBe(ExitCode.OK);
    expect(h.regionSwitch.standby.calls.filter((c) => c.operation === 'StartPlanExecution')).toHaveLength(1);
  });

  test('throttling of the plan and of ECS is retried, and the run still succeeds', async () => {
    const { h } = ready();
    const arc = h.regionSwitch.standby;
    const getExecution = arc.getPlanExecution.bind(arc);
    let throttled = 0;
    arc.getPlanExecution = async (planArn, executionId) => {
      if (throttled++ === 0) throw awsError('ThrottlingException', 'Rate exceeded');
      return getExecution(planArn, executionId);
    };
    const result = await runFailover(h.ctx, { ...EXECUTE, reportDir: reportDir() });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(h.out.text()).toContain('arc-region-switch:GetPlanExecution throttled (attempt 1/4)');
  });

  test('the report timestamps come from the injected clock', async () => {
    const { h } = ready();
    const dir = reportDir();
    await runFailover(h.ctx, { ...EXECUTE, reportDir: dir });
    expect(readReport(dir).json.startedAt).toBe(new Date(START).toISOString());
  });
});
