import { type CompositeAlarm, DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { CreateDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { StopServiceDeploymentCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { alarmNamePrefix, canaryName, clusterName, codeDeployApplicationName, databaseInstanceIdentifier, deploymentGroupName, ecsServiceName, releaseSnapshotIdentifier } from '../lib/naming';
import { runRollbacks } from '../lib/ops/commands/rollback';
import { runSnapshot } from '../lib/ops/commands/snapshot';
import { runVerify } from '../lib/ops/commands/verify';
import { ExitCode } from '../lib/ops/exit-codes';
import { CodeDeployEcsModel, type Stub } from './models/codedeploy-ecs-model';
import { EcsRollingModel } from './models/ecs-rolling-model';
import { RdsSnapshotModel } from './models/rds-snapshot-model';
import { DescribeCanariesLastRun, harness, type Harness } from './ops/helpers';

/**
 * The pipeline's release loop — snapshot, `cdk deploy`, `ops verify`, on failure
 * `ops rollback --service all --execute` (which verifies again) — against models
 * of CodeDeploy, ECS, RDS and CloudWatch that refuse what AWS refuses
 * (test/models): an INACTIVE task definition cannot run, ContinueDeployment and
 * StopDeployment only in the states CodeDeploy allows, the manual-snapshot
 * quota, an alarm with no data in INSUFFICIENT_DATA. The environment's health
 * (alarms, canaries) follows what actually runs, so verify can only say healthy
 * once the rollback has put the previous release back.
 *
 * What it guards against (issue 10): verify that never says healthy on a quiet
 * environment (INSUFFICIENT_DATA read as pending), a rollback that redeploys a
 * task definition CloudFormation has deregistered, and a release whose first
 * step fails at the snapshot quota.
 */

const ENV = 'production' as const;
const td = (family: string, revision: number) => `arn:aws:ecs:us-east-1:111111111111:task-definition/${family}:${revision}`;
const API = (n: number) => td(`bodyscript-${ENV}-api`, n);
const WORKER = (n: number) => td(`bodyscript-${ENV}-processing`, n);
const GOOD = { api: API(41), worker: WORKER(6) };
const BAD = { api: API(42), worker: WORKER(7) };

interface World {
  readonly h: Harness;
  readonly api: CodeDeployEcsModel;
  readonly worker: EcsRollingModel;
  readonly rds: RdsSnapshotModel;
}

/**
 * Production after earlier releases: the api runs GOOD.api, the worker GOOD.worker,
 * 100 release snapshots fill the account's quota of manual snapshots.
 */
function production(): World {
  const h = harness(ENV);
  const now = () => h.clock.now();
  const api = new CodeDeployEcsModel(
    { applicationName: codeDeployApplicationName(ENV, 'api'), deploymentGroupName: deploymentGroupName(ENV, 'api') },
    { cluster: clusterName(ENV), serviceName: ecsServiceName(ENV, 'api') },
    { now },
  ).runs(GOOD.api);
  const worker = new EcsRollingModel({ cluster: clusterName(ENV), serviceName: ecsServiceName(ENV, 'processing'), desiredCount: 2 }, api.taskDefinitions, GOOD.worker, now);
  api.install(h.mocks.primary.codeDeploy as unknown as Stub, h.mocks.primary.ecs as unknown as Stub);
  worker.install(h.mocks.primary.ecs as unknown as Stub);
  const rds = new RdsSnapshotModel(databaseInstanceIdentifier(ENV), { quota: 100, now });
  for (let i = 0; i < 100; i++) {
    const release = `v0.${i}.0`;
    rds.add(releaseSnapshotIdentifier(ENV, release), { createdDaysAgo: 100 - i, tags: [{ Key: 'bodyscript:release', Value: release }, { Key: 'bodyscript:created-by', Value: 'ops snapshot' }] });
  }
  rds.install(h.mocks.primary.rds as unknown as Stub);
  const world = { h, api, worker, rds };
  // Time passes only when a command sleeps between polls: then AWS takes its next step.
  const sleep = h.clock.sleep;
  Object.assign(h.clock, {
    sleep: async (ms: number) => {
      await sleep(ms);
      api.tick();
      worker.tick();
      rds.tick();
    },
  });
  observe(world);
  return world;
}

/** CloudWatch and Synthetics as they would see what runs: a bad release fails its users. */
function observe(w: World): void {
  const prefix = alarmNamePrefix(ENV);
  const apiBad = () => w.api.primary === BAD.api;
  const workerBad = () => w.worker.running === BAD.worker;
  w.h.mocks.primary.cloudWatch.on(DescribeAlarmsCommand).callsFake(() => {
    const metric: MetricAlarm[] = [
      { AlarmName: `${prefix}api-5xxRate`, StateValue: apiBad() ? 'ALARM' : 'OK', TreatMissingData: 'notBreaching' },
      { AlarmName: `${prefix}processing-UnhealthyHosts`, StateValue: workerBad() ? 'ALARM' : 'OK', TreatMissingData: 'breaching' },
      // A healthy api logs no errors and a healthy queue sends nothing to its dead-letter queue: no data at all.
      { AlarmName: `${prefix}api-ErrorLogLines`, StateValue: 'INSUFFICIENT_DATA', TreatMissingData: 'notBreaching', StateReason: 'Unchecked: Initial alarm creation' },
      { AlarmName: `${prefix}Processing-DeadLetterQueueNotEmpty`, StateValue: 'INSUFFICIENT_DATA', TreatMissingData: 'ignore', StateReason: 'Insufficient Data: 1 datapoint was unknown.' },
    ];
    const composite: CompositeAlarm[] = [
      {
        AlarmName: `${prefix}api-Rollback`,
        StateValue: apiBad() ? 'ALARM' : 'INSUFFICIENT_DATA',
        AlarmRule: `ALARM("${prefix}api-5xxRate") OR ALARM("${prefix}api-ErrorLogLines")`,
      },
    ];
    return { MetricAlarms: metric, CompositeAlarms: composite };
  });
  w.h.mocks.primary.synthetics.on(DescribeCanariesLastRun).callsFake(() => ({
    CanariesLastRun: (['frontend', 'api', 'processing'] as const).map((target) => ({
      CanaryName: canaryName(ENV, target),
      LastRun: {
        Status: { State: (target === 'api' && apiBad()) || (target === 'processing' && workerBad()) ? 'FAILED' : 'PASSED', StateReason: 'HTTP 502' },
        Timeline: { Completed: new Date(w.h.clock.now()) },
      },
    })),
  }));
}

/**
 * `cdk deploy` of the bad release as CloudFormation and our deployment trigger
 * leave it: the api's deployment has moved traffic and sits in its termination
 * wait (the trigger completed there), the worker's rolling update completed.
 * `retained`: the task definitions carry UpdateReplacePolicy Retain (as now);
 * false is the template before it, where CloudFormation deregisters the
 * revision it replaced.
 */
function deployBadRelease(w: World, options: { readonly retained: boolean }): void {
  w.api.seed(BAD.api, 'shifted', 'bodyscript-production-api release 1.1.0, started by cdk deploy');
  if (!options.retained) w.api.deregister(GOOD.api);
  w.worker.deployedByCloudFormation(BAD.worker, { deregisterReplaced: !options.retained });
}

describe('the release loop: snapshot, deploy, verify, roll back, verify', () => {
  test('a failing release in production is rolled back and verified healthy, within the run', async () => {
    const w = production();
    // 1. The release snapshot, started before the deploy, although the quota is full: room is made by the rule.
    const started = await runSnapshot(w.h.ctx, { release: '1.1.0', execute: true, timeoutMinutes: 30, wait: false });
    expect(started.exitCode).toBe(ExitCode.OK);
    expect(w.rds.changes.at(-1)).toBe(`CreateDBSnapshot ${releaseSnapshotIdentifier(ENV, '1.1.0')}`);
    // 2. cdk deploy.
    deployBadRelease(w, { retained: true });
    // 3. Verify fails: the api's 5xx alarm and canaries, the worker's unhealthy hosts.
    const verdict = await runVerify(w.h.ctx, { timeoutMinutes: 2, intervalSeconds: 30 });
    expect(verdict.exitCode).toBe(ExitCode.UNHEALTHY);
    expect(verdict.checks.find((c) => c.name === 'alarms')?.detail).toMatch(/in ALARM: .*api-5xxRate.*processing-UnhealthyHosts/);
    // 4. Roll back both services side by side; the command verifies again.
    const rollback = await runRollbacks(w.h.ctx, { services: ['api', 'processing'], execute: true, timeoutMinutes: 15, intervalSeconds: 15, verifyTimeoutMinutes: 10 });
    expect(rollback.results.map((r) => [r.service, r.action?.kind, r.error?.message])).toEqual([
      ['api', 'stop', undefined],
      ['processing', 'update-service', undefined],
    ]);
    expect(rollback.exitCode).toBe(ExitCode.OK);
    // The api went back to its original task set, still running in the termination wait: no new deployment.
    expect(w.api.changes.filter((c) => !c.startsWith('CreateDeployment'))).toEqual([expect.stringMatching(/^StopDeployment d-\d+ autoRollback$/)]);
    expect(w.api.primary).toBe(GOOD.api);
    expect(w.h.mocks.primary.codeDeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
    // The worker runs the previous revision, which CloudFormation kept (UpdateReplacePolicy Retain).
    expect(w.worker.changes).toEqual([`UpdateService ${ecsServiceName(ENV, 'processing')} ${GOOD.worker}`]);
    expect(w.worker.running).toBe(GOOD.worker);
    // 5. Verify again, and the pipeline waits for the snapshot and prunes by the rule.
    expect((await runVerify(w.h.ctx, { timeoutMinutes: 0 })).exitCode).toBe(ExitCode.OK);
    const waited = await runSnapshot(w.h.ctx, { release: '1.1.0', execute: true, timeoutMinutes: 30, intervalSeconds: 15 });
    expect(waited.exitCode).toBe(ExitCode.OK);
    // Production keeps the newest 10 and those younger than 14 days: the new one and releases 1–13 days old.
    expect(w.h.config.database.releaseSnapshots).toEqual({ keepLatest: 10, keepDays: 14 });
    expect(w.rds.snapshots.size).toBe(14);
    expect(w.rds.snapshots.get(releaseSnapshotIdentifier(ENV, '1.1.0'))?.Status).toBe('available');
  });

  test('a healthy, quiet release is verified at once: alarms without data where none is expected are never waited for', async () => {
    const w = production();
    w.api.seed(API(43), 'shifted');
    w.worker.deployedByCloudFormation(WORKER(8), { deregisterReplaced: false });
    const verdict = await runVerify(w.h.ctx, { timeoutMinutes: 10 });
    expect(verdict.exitCode).toBe(ExitCode.OK);
    expect(w.h.clock.sleeps).toEqual([]);
    expect(verdict.checks.find((c) => c.name === 'alarms')?.detail).toBe('2 OK; 3 without data, which their TreatMissingData says is healthy');
  });

  test('without retained task definitions (CloudFormation deregistered the previous revisions) the rollback stops before any change and says what to do', async () => {
    const w = production();
    deployBadRelease(w, { retained: false });
    const rollback = await runRollbacks(w.h.ctx, { services: ['processing'], execute: true, timeoutMinutes: 15, intervalSeconds: 15 });
    expect(rollback.exitCode).toBe(ExitCode.UNHEALTHY);
    expect(rollback.results[0].error?.message).toMatch(/^cannot roll processing back to .*processing:6: it is INACTIVE, and ECS runs no new task from an INACTIVE revision/);
    expect(w.h.mocks.primary.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(w.worker.running).toBe(BAD.worker);
  });

  test('the models refuse what ECS refuses: an INACTIVE revision cannot be deployed, a completed service deployment cannot be stopped', async () => {
    const w = production();
    deployBadRelease(w, { retained: false });
    await expect(w.h.ctx.clients.primary.ecs.send(new UpdateServiceCommand({ cluster: clusterName(ENV), service: ecsServiceName(ENV, 'processing'), taskDefinition: GOOD.worker }))).rejects.toMatchObject({
      name: 'ClientException',
    });
    const completed = w.worker.deployments[0];
    expect(completed.status).toBe('SUCCESSFUL');
    await expect(w.h.ctx.clients.primary.ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: completed.arn, stopType: 'ROLLBACK' }))).rejects.toMatchObject({ name: 'ConflictException' });
    expect(w.worker.changes).toEqual([]);
  });
});
