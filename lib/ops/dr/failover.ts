import { RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ModifyDBInstanceCommand } from '@aws-sdk/client-rds';
import { access, constants, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PLAN_STEP_NAMES, PLAN_STEP_TIMEOUT_MINUTES } from '../../disaster-recovery';
import { clusterName, regionSwitchPlanName, replicaInstanceIdentifier, SERVICE_NAMES, stackNames } from '../../naming';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';
import { formatDuration } from '../progress';
import { type FailoverReport, type PlanStepRecord, reportBaseName, type StepRecord, writeReport } from '../report';
import { readBudgets } from '../commands/slo';
import { type WaitOptions, waitUntil } from '../wait';
import { describeMarker, type FailedOverMarker, readMarker, writeMarker } from './marker';
import { describeSteps, EXECUTION_STOPPED, EXECUTION_SUCCEEDED, flattenSteps, getExecution, listExecutionEvents, planInRegion, recordProgress, stoppedDetail } from './plan-execution';
import { failoverWorkflow } from './plan-workflows';
import type { Plan, PlanExecution } from './region-switch-client';
import {
  describeReplica,
  describeScalableTargets,
  describeStandbyServices,
  describeTargetGroups,
  healthyTargetCount,
  isReadReplica,
  latestReplicaLag,
  loadBalancerDnsNames,
  replicationStatus,
  scalableDimension,
  scalableResourceId,
  type StandbyService,
  targetGroupArnsOf,
} from './standby';

/**
 * `ops dr failover`: the driver of the environment's ARC Region switch plan.
 *
 * AWS runs the ordered failover (the plan deployed with the standby: promote
 * the replica, raise the services, switch the api's DNS with a domain). This
 * command does what the plan cannot, around it, and measures the result:
 *
 * 1. checks who it is (STS of the recovery region), finds the plan in the
 *    recovery region and reads the replica's lag (the data-loss window);
 * 2. opens the standby services' scaling bounds, which their pilot light keeps
 *    at 0..0 (the template never re-applies them), up to `maxTasks`, with
 *    scaling suspended so no policy acts before the database is writable;
 * 3. writes the failed-over marker, which stops the pipeline from deploying;
 * 4. starts the plan's execution (`ungraceful` for a real outage, `graceful`
 *    for a drill) and follows it step by step with the elapsed time;
 * 5. makes the promoted database what config says (Multi-AZ, backup retention:
 *    the plan copies them from a primary it may not be able to read);
 * 6. sets the services' floor to `minTasks`, resumes scaling, waits for running
 *    tasks and healthy targets;
 * 7. reports what moved the api's traffic, or that nothing could (no domain).
 *
 * Every AWS call goes to the recovery region; nothing here calls the primary
 * region or a global API that lives there (Route 53's, IAM's).
 *
 * Steps stop at the first failure; every step is safe to run again. A re-run
 * follows the execution the marker names instead of starting another.
 */

export interface FailoverOptions {
  readonly execute: boolean;
  /** Must equal the environment name when executing: a second, deliberate act of typing. */
  readonly confirm?: string;
  readonly reportDir: string;
  /** A drill: the plan runs in graceful mode and the report says so. */
  readonly drill?: boolean;
  readonly intervalSeconds?: number;
  readonly scaleTimeoutMinutes?: number;
  readonly targetHealthTimeoutMinutes?: number;
  /**
   * Bound on the whole run: every wait stops when it is used up (exit 3), and a
   * re-run follows the same execution from where this one stopped. For a caller
   * whose credentials end first: a chained IAM session lasts at most an hour,
   * while the plan may take longer (the DR drill workflow passes 50).
   *
   * @default - no bound beyond each step's own timeout
   */
  readonly timeoutMinutes?: number;
}

export interface FailoverResult {
  readonly exitCode: ExitCode;
  readonly report?: FailoverReport;
  readonly reportPaths?: { json: string; markdown: string };
}

export const DEFAULT_SCALE_TIMEOUT_MINUTES = 15;
export const DEFAULT_TARGET_HEALTH_TIMEOUT_MINUTES = 10;
/** The plan's execution is followed for as long as its steps may take, plus ARC's own start-up. */
export const PLAN_FOLLOW_MARGIN_MINUTES = 10;

/** Scaling state of a raised standby service: every kind of scaling active. */
export const RESUMED_SCALING = { DynamicScalingInSuspended: false, DynamicScalingOutSuspended: false, ScheduledScalingSuspended: false } as const;
/** While the plan runs: room to scale, but no policy acts before the database is writable. */
export const SUSPENDED_SCALING = { DynamicScalingInSuspended: true, DynamicScalingOutSuspended: true, ScheduledScalingSuspended: true } as const;


export const FAILOVER_STEPS = [
  { name: 'preflight', title: 'Check credentials, the report directory and the Region switch plan' },
  { name: 'check-replica', title: 'Check the read replica and measure the data-loss window' },
  { name: 'open-scaling', title: 'Open the standby scaling bounds (pilot light 0..0)' },
  { name: 'mark-failed-over', title: 'Write the failed-over marker (the pipeline stops deploying)' },
  { name: 'run-plan', title: 'Run the Region switch plan' },
  { name: 'database', title: 'Promoted database: Multi-AZ and backups as configured' },
  { name: 'scale-services', title: 'Standby services: floor at minTasks, scaling resumed' },
  { name: 'target-health', title: 'Wait for healthy targets' },
  { name: 'traffic', title: 'Traffic to the standby' },
] as const;
export type FailoverStepName = (typeof FAILOVER_STEPS)[number]['name'];

/** What earlier steps learned and later steps need. */
interface RunState {
  callerArn: string;
  plan?: Plan;
  executionId?: string;
  marker?: FailedOverMarker;
  services: StandbyService[];
  planSteps: Map<string, PlanStepRecord>;
  seenEvents: Set<string>;
  /** When the run's --timeout-minutes is used up (clock ms), if it has one. */
  deadline?: number;
}

export function checkConfirmation(ctx: OpsContext, options: Pick<FailoverOptions, 'execute' | 'confirm'>): void {
  if (!options.execute) return;
  if (options.confirm === undefined) {
    throw new OpsError('usage', `--confirm is required with --execute: type the environment name again (--confirm ${ctx.env}); nothing was done`);
  }
  if (options.confirm !== ctx.env) {
    throw new OpsError('usage', `--confirm '${options.confirm}' does not match --env '${ctx.env}': type the environment name again to fail over; nothing was done`);
  }
}

function planTimeoutMinutes(ctx: OpsContext): number {
  const t = PLAN_STEP_TIMEOUT_MINUTES;
  return t.promote + t.raise + (ctx.config.domain ? t.traffic : 0) + PLAN_FOLLOW_MARGIN_MINUTES;
}

/**
 * A wait whose timeout is cut to what is left of the run's --timeout-minutes;
 * when that is what ran out, the error says how to go on.
 */
async function boundedWait<T>(ctx: OpsContext, state: RunState, options: FailoverOptions, wait: WaitOptions<T>): Promise<T | undefined> {
  if (state.deadline === undefined) return waitUntil<T>(ctx, wait);
  const left = state.deadline - ctx.clock.now();
  const goOn = `the run's --timeout-minutes ${options.timeoutMinutes} is used up: run the same command again; it follows ${state.executionId ? `Region switch execution ${state.executionId}` : 'the Region switch execution'} from where this run stopped`;
  if (left <= 0) throw new OpsError('timeout', `${wait.what}: ${goOn}`);
  try {
    return await waitUntil<T>(ctx, { ...wait, timeoutMs: Math.min(wait.timeoutMs, left) });
  } catch (error) {
    if (error instanceof OpsError && error.kind === 'timeout' && left < wait.timeoutMs) throw new OpsError('timeout', `${error.message}; ${goOn}`);
    throw error;
  }
}

/** Finds the environment's plan in the recovery region (data plane: ListPlansInRegion, GetPlanInRegion). */
export async function findPlan(ctx: OpsContext): Promise<Plan> {
  const region = ctx.config.standby.region;
  const { plan } = await planInRegion(ctx, 'standby');
  if (!failoverWorkflow(ctx, plan)) {
    throw new OpsError('unhealthy', `Region switch plan ${plan.arn} has no workflow that activates ${region}: deploy ${stackNames.standby(ctx.env)} again`);
  }
  return plan;
}

function printPlan(ctx: OpsContext, options: FailoverOptions, plan?: Plan): void {
  const { config, env } = ctx;
  const mode = options.drill ? 'graceful (drill)' : 'ungraceful (recovery)';
  ctx.progress.plain(`Failover of ${env}: ${config.primary.region} → ${config.standby.region} (account ${config.standby.account}), every call to ${config.standby.region}`);
  ctx.progress.plain(`  1. preflight: sts:GetCallerIdentity in ${config.standby.region} must be account ${config.standby.account}; the Region switch plan ${regionSwitchPlanName(env)} must exist in ${config.standby.region}`);
  ctx.progress.plain(`  2. check-replica: ${replicaInstanceIdentifier(env)} available; its ReplicaLag is the data-loss window`);
  for (const service of SERVICE_NAMES) {
    ctx.progress.plain(`  3. open-scaling: RegisterScalableTarget ${scalableResourceId(ctx, service)} max ${config.services[service].maxTasks}, scaling suspended`);
  }
  ctx.progress.plain(`  4. mark-failed-over: SSM parameter /bodyscript/${env}/dr/failed-over in ${config.standby.region}`);
  const workflow = plan && failoverWorkflow(ctx, plan);
  const steps = workflow ? flattenSteps(workflow.steps).filter((s) => s.executionBlockType !== 'Parallel') : [];
  ctx.progress.plain(
    `  5. run-plan: StartPlanExecution ${plan?.arn ?? regionSwitchPlanName(env)} activate ${config.standby.region}, mode ${mode}${steps.length ? `: ${steps.map((s) => `${s.name} (${s.executionBlockType})`).join(' → ')}` : ''} (≤ ${planTimeoutMinutes(ctx)} min)`,
  );
  ctx.progress.plain(`  6. database: Multi-AZ ${config.database.multiAz}, backup retention ${config.database.backupRetentionDays} days on the promoted instance`);
  for (const service of SERVICE_NAMES) {
    const s = config.services[service];
    ctx.progress.plain(`  7. scale-services: ${scalableResourceId(ctx, service)} min ${s.minTasks} max ${s.maxTasks}, scaling resumed; desired at least ${s.minTasks}`);
  }
  ctx.progress.plain(`  8. target-health: every target group has at least minTasks healthy targets (≤ ${options.targetHealthTimeoutMinutes ?? DEFAULT_TARGET_HEALTH_TIMEOUT_MINUTES} min)`);
  ctx.progress.plain(
    config.domain
      ? `  9. traffic: the plan's ${PLAN_STEP_NAMES.traffic} step sets the health checks of ${config.domain.apiDomainName}'s failover records (Route 53 data plane)`
      : `  9. traffic: NOT moved. No domain is configured: CloudFront sends /api/* to the ${config.primary.region} load balancer and no data-plane action can change that (runbooks/disaster-recovery.md)`,
  );
  ctx.progress.plain(`  then: the report (RTO against the ${config.disasterRecovery.recoveryTimeObjectiveMinutes}-minute objective, data-loss window) in ${join(options.reportDir, `dr-${env}-<timestamp>`)}.md and .json`);
}

export async function runFailover(ctx: OpsContext, options: FailoverOptions): Promise<FailoverResult> {
  checkConfirmation(ctx, options);
  if (!options.execute) return dryRun(ctx, options);
  printPlan(ctx, options);
  return executeFailover(ctx, options);
}

/** Read-only: who we are, the plan and its evaluation, the replica, the marker. A dry run that would fail should say so now. */
async function dryRun(ctx: OpsContext, options: FailoverOptions): Promise<FailoverResult> {
  await checkIdentity(ctx, 'standby');
  const plan = await findPlan(ctx);
  printPlan(ctx, options, plan);
  const evaluation = await awsCall(ctx, 'standby', 'arc-region-switch:GetPlanEvaluationStatus', `Region switch plan ${plan.arn}`, () =>
    ctx.clients.standby.regionSwitch.getPlanEvaluationStatus(plan.arn),
  );
  ctx.progress.log(`plan evaluation: ${evaluation.evaluationState ?? 'unknown'}${evaluation.lastEvaluationTime ? ` at ${evaluation.lastEvaluationTime.toISOString()}` : ''}`);
  for (const w of evaluation.warnings.filter((x) => x.warningStatus !== 'resolved')) ctx.progress.warn(`plan warning${w.stepName ? ` (${w.stepName})` : ''}: ${w.warningMessage ?? 'no message'}`);
  const replica = await describeReplica(ctx);
  const lag = await latestReplicaLag(ctx);
  ctx.progress.log(
    `replica ${replica.DBInstanceIdentifier}: ${replica.DBInstanceStatus ?? 'unknown'}, ${isReadReplica(replica) ? `replicating from ${replica.ReadReplicaSourceDBInstanceIdentifier}` : 'not a read replica (already promoted?)'}, lag ${lag ? `${lag.value}s` : 'unknown'}`,
  );
  ctx.progress.log(`marker: ${describeMarker(await readMarker(ctx))}`);
  ctx.progress.plain(`Dry run: nothing was changed. To fail over: --execute --confirm ${ctx.env}${options.drill ? ' --drill' : ''}`);
  return { exitCode: ExitCode.OK };
}

async function executeFailover(ctx: OpsContext, options: FailoverOptions): Promise<FailoverResult> {
  const started = ctx.clock.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const report: FailoverReport = {
    environment: ctx.env,
    primaryRegion: ctx.config.primary.region,
    standbyRegion: ctx.config.standby.region,
    mode: options.drill ? 'drill' : 'recovery',
    startedAt: iso(started),
    outcome: 'failed',
    exitCode: ExitCode.UNHEALTHY,
    rtoSeconds: null,
    recoveryTimeObjectiveSeconds: ctx.config.disasterRecovery.recoveryTimeObjectiveMinutes * 60,
    rtoMet: null,
    dataLoss: { replicaLagSecondsAtPromotion: null, lagMeasuredAt: null, lastReplicatedAt: null, note: 'the replica was not promoted by this run' },
    endpoints: [],
    traffic: { switched: false, detail: 'not reached' },
    plan: { steps: [] },
    steps: FAILOVER_STEPS.map((s): StepRecord => ({ name: s.name, title: s.title, status: 'not-run', detail: [] })),
  };
  const state: RunState = {
    callerArn: '',
    services: [],
    planSteps: new Map(),
    seenEvents: new Set(),
    deadline: options.timeoutMinutes === undefined ? undefined : ctx.clock.now() + options.timeoutMinutes * 60_000,
  };
  const runners: Record<FailoverStepName, (step: StepRecord) => Promise<void>> = {
    preflight: (step) => preflight(ctx, options, state, report, step),
    'check-replica': (step) => checkReplicaStep(ctx, report, step),
    'open-scaling': (step) => openScalingStep(ctx, step),
    'mark-failed-over': (step) => markStep(ctx, options, state, step),
    'run-plan': (step) => runPlanStep(ctx, options, state, report, step),
    database: (step) => databaseStep(ctx, step),
    'scale-services': (step) => scaleStep(ctx, options, state, step),
    'target-health': (step) => targetHealthStep(ctx, options, state, report, step),
    traffic: (step) => trafficStep(ctx, state, report, step),
  };

  ctx.progress.log(`FAILOVER of ${ctx.env} started (${report.mode})`);
  let exitCode: ExitCode = ExitCode.OK;
  let healthyAt: number | undefined;
  for (const [index, step] of report.steps.entries()) {
    const stepStart = ctx.clock.now();
    step.startedAt = iso(stepStart);
    ctx.progress.log(`step ${index + 1}/${report.steps.length} ${step.name}: ${step.title}`);
    try {
      await runners[step.name as FailoverStepName](step);
      if (step.status === 'not-run') step.status = 'succeeded';
      ctx.progress.log(`step ${step.name} ${step.status} in ${formatDuration(ctx.clock.now() - stepStart)}`);
      if (step.name === 'target-health') healthyAt = ctx.clock.now();
    } catch (error) {
      step.status = 'failed';
      step.error = error instanceof Error ? error.message : String(error);
      exitCode = error instanceof OpsError ? error.exitCode : ExitCode.UNHEALTHY;
      report.failedStep = step.name;
      report.error = step.error;
      ctx.out.error(`step ${step.name} FAILED: ${step.error}`);
      ctx.out.error(`stopped safely: no further step was attempted. Fix the cause and run the same command again (it follows the same Region switch execution).`);
    } finally {
      step.endedAt = iso(ctx.clock.now());
      step.elapsedSeconds = Math.round((ctx.clock.now() - stepStart) / 1000);
    }
    if (step.status === 'failed') break;
  }

  const finished = ctx.clock.now();
  report.finishedAt = iso(finished);
  report.exitCode = exitCode;
  report.plan.steps = [...state.planSteps.values()];
  if (exitCode === ExitCode.OK && healthyAt !== undefined) {
    report.outcome = 'succeeded';
    report.rtoSeconds = Math.round((healthyAt - started) / 1000);
    report.rtoMet = report.rtoSeconds <= report.recoveryTimeObjectiveSeconds;
    ctx.progress.log(
      `FAILOVER of ${ctx.env} succeeded: RTO ${formatDuration(healthyAt - started)} (objective ${ctx.config.disasterRecovery.recoveryTimeObjectiveMinutes} min: ${report.rtoMet ? 'met' : 'MISSED'})`,
    );
    if (!report.traffic.switched) ctx.progress.warn(`api traffic was NOT moved: ${report.traffic.detail}`);
  }
  report.slo = await errorBudgetsForReport(ctx, report.mode);
  try {
    const paths = await writeReport(options.reportDir, reportBaseName(ctx.env, started), report);
    ctx.progress.log(`report written: ${paths.markdown} and ${paths.json}`);
    return { exitCode, report, reportPaths: paths };
  } catch (error) {
    // The report is the drill's evidence: if it cannot be written, print it rather than lose it.
    ctx.out.error(`could not write the report to ${options.reportDir}: ${error instanceof Error ? error.message : String(error)}`);
    ctx.out.line(JSON.stringify(report, null, 2));
    return { exitCode: exitCode === ExitCode.OK ? ExitCode.UNHEALTHY : exitCode, report };
  }
}

async function preflight(ctx: OpsContext, options: FailoverOptions, state: RunState, report: FailoverReport, step: StepRecord): Promise<void> {
  await mkdir(options.reportDir, { recursive: true });
  await access(options.reportDir, constants.W_OK);
  step.detail.push(`report directory ${options.reportDir} is writable`);
  state.callerArn = await checkIdentity(ctx, 'standby');
  step.detail.push(`acting as ${state.callerArn}`);
  state.plan = await findPlan(ctx);
  report.plan.arn = state.plan.arn;
  step.detail.push(`Region switch plan ${state.plan.arn} (version ${state.plan.version ?? 'unknown'}) found in ${ctx.config.standby.region}`);
  const plan = state.plan;
  const evaluation = await awsCall(ctx, 'standby', 'arc-region-switch:GetPlanEvaluationStatus', `Region switch plan ${plan.arn}`, () =>
    ctx.clients.standby.regionSwitch.getPlanEvaluationStatus(plan.arn),
  );
  const warnings = evaluation.warnings.filter((w) => w.warningStatus !== 'resolved');
  step.detail.push(`plan evaluation: ${evaluation.evaluationState ?? 'unknown'}${warnings.length ? `, ${warnings.length} warning(s)` : ''}`);
  // A warning does not stop a failover in an outage (it may be about the failed region); it is recorded.
  for (const w of warnings) {
    const line = `plan warning${w.stepName ? ` (${w.stepName})` : ''}: ${w.warningMessage ?? 'no message'}`;
    step.detail.push(line);
    ctx.progress.warn(line);
  }
}

async function checkReplicaStep(ctx: OpsContext, report: FailoverReport, step: StepRecord): Promise<void> {
  const replica = await describeReplica(ctx);
  const status = replica.DBInstanceStatus ?? 'unknown';
  if (!isReadReplica(replica)) {
    if (status !== 'available') throw new OpsError('unhealthy', `DB instance ${replica.DBInstanceIdentifier} is not a read replica and is '${status}', not available`);
    step.detail.push(`${replica.DBInstanceIdentifier} is already promoted (a previous run?) and available`);
    report.dataLoss.note = 'the replica had already been promoted before this run: see the report of that run for the data-loss window';
    ctx.progress.warn(`${replica.DBInstanceIdentifier} is already a standalone instance`);
    return;
  }
  if (status !== 'available') {
    throw new OpsError('unhealthy', `replica ${replica.DBInstanceIdentifier} is '${status}': RDS promotes only an available replica; wait until it is available`);
  }
  // In a real regional outage replication is broken ('error'): that must not block the failover, only be recorded.
  const replication = replicationStatus(replica) ?? 'unknown';
  // The last lag reading before the plan promotes bounds the writes that never reached the standby.
  const lag = await latestReplicaLag(ctx);
  if (lag) {
    const last = new Date(lag.timestamp.getTime() - lag.value * 1000).toISOString();
    report.dataLoss = {
      replicaLagSecondsAtPromotion: lag.value,
      lagMeasuredAt: lag.timestamp.toISOString(),
      lastReplicatedAt: last,
      note: `writes to the primary after ${last} may be missing from the promoted database (replica lag ${lag.value}s at ${lag.timestamp.toISOString()}, read just before the plan started)`,
    };
  } else {
    report.dataLoss.note = 'no ReplicaLag datapoint in the 15 minutes before promotion: the data-loss window is unknown (compare the newest rows with the primary when it is reachable)';
  }
  step.detail.push(
    `${replica.DBInstanceIdentifier} available, replication ${replication} from ${replica.ReadReplicaSourceDBInstanceIdentifier}, lag ${lag ? `${lag.value}s at ${lag.timestamp.toISOString()}` : 'unknown'}`,
  );
  ctx.progress.log(step.detail[step.detail.length - 1]);
  if (replication !== 'replicating') ctx.progress.warn(`replication is '${replication}' (expected during a regional outage): recent writes may be missing`);
}

/** The pilot light holds 0..0: the plan's ECS steps need room up to the primary's maximum. */
async function openScalingStep(ctx: OpsContext, step: StepRecord): Promise<void> {
  const targets = await describeScalableTargets(ctx);
  for (const service of SERVICE_NAMES) {
    const resourceId = scalableResourceId(ctx, service);
    const { maxTasks } = ctx.config.services[service];
    const current = targets.get(resourceId);
    if (!current) throw new OpsError('not-found', `missing resource: no scalable target ${resourceId} in ${ctx.config.standby.region}: is ${stackNames.standby(ctx.env)} deployed?`);
    if (current.max >= maxTasks) {
      step.detail.push(`${resourceId}: already min ${current.min} max ${current.max}`);
      continue;
    }
    await awsCall(ctx, 'standby', 'application-autoscaling:RegisterScalableTarget', `scalable target ${resourceId}`, () =>
      ctx.clients.standby.autoScaling.send(
        new RegisterScalableTargetCommand({
          ServiceNamespace: 'ecs',
          ResourceId: resourceId,
          ScalableDimension: scalableDimension,
          MinCapacity: current.min,
          MaxCapacity: maxTasks,
          SuspendedState: SUSPENDED_SCALING,
        }),
      ),
    );
    step.detail.push(`${resourceId}: max ${current.max} → ${maxTasks}, scaling suspended until the database is promoted`);
    ctx.progress.log(step.detail[step.detail.length - 1]);
  }
}

async function markStep(ctx: OpsContext, options: FailoverOptions, state: RunState, step: StepRecord): Promise<void> {
  const existing = await readMarker(ctx);
  if (existing.present && existing.marker?.executionId && existing.marker.planArn === state.plan?.arn) {
    state.marker = existing.marker;
    state.executionId = existing.marker.executionId;
    step.status = 'skipped';
    step.detail.push(`already ${describeMarker(existing)}: following that execution`);
    ctx.progress.log(step.detail[step.detail.length - 1]);
    return;
  }
  const marker: FailedOverMarker = {
    environment: ctx.env,
    failedOverAt: new Date(ctx.clock.now()).toISOString(),
    by: state.callerArn,
    planArn: state.plan?.arn,
    mode: options.drill ? 'drill' : 'recovery',
  };
  // A marker without an execution is left by a run that stopped before starting the plan: replace it.
  await writeMarker(ctx, marker, existing.present);
  state.marker = marker;
  step.detail.push(`${ctx.config.standby.region} SSM /bodyscript/${ctx.env}/dr/failed-over written: deploys of ${ctx.env} are refused until ops dr failback --execute`);
}

async function runPlanStep(ctx: OpsContext, options: FailoverOptions, state: RunState, report: FailoverReport, step: StepRecord): Promise<void> {
  const plan = state.plan!;
  const api = ctx.clients.standby.regionSwitch;
  const workflow = failoverWorkflow(ctx, plan)!;
  for (const s of flattenSteps(workflow.steps)) state.planSteps.set(s.name, { name: s.name, executionBlockType: s.executionBlockType, status: 'notStarted' });

  let executionId = state.executionId;
  if (executionId) {
    const previous = await getExecution(ctx, 'standby', plan.arn, executionId);
    if (previous.executionState === 'failed' || previous.executionState === 'canceled' || previous.executionState === 'planExecutionTimedOut') {
      step.detail.push(`the execution ${executionId} of a previous run ended '${previous.executionState}': starting a new one`);
      executionId = undefined;
    } else {
      step.detail.push(`following execution ${executionId} of a previous run (${previous.executionState})`);
    }
    ctx.progress.log(step.detail[step.detail.length - 1]);
  }
  if (!executionId) {
    const mode = options.drill ? 'graceful' : 'ungraceful';
    const started = await awsCall(ctx, 'standby', 'arc-region-switch:StartPlanExecution', `Region switch plan ${plan.arn}`, () =>
      api.startPlanExecution({
        planArn: plan.arn,
        targetRegion: ctx.config.standby.region,
        action: 'activate',
        mode,
        comment: `npm run ops -- dr failover --env ${ctx.env}${options.drill ? ' --drill' : ''} by ${state.callerArn}`,
      }),
    );
    executionId = started.executionId;
    step.detail.push(`started execution ${executionId} (activate ${ctx.config.standby.region}, ${mode})`);
    ctx.progress.log(step.detail[step.detail.length - 1]);
    // The marker names the execution, so that a re-run follows it.
    await writeMarker(ctx, { ...state.marker!, executionId }, true);
  }
  state.executionId = executionId;
  report.plan.executionId = executionId;
  const id = executionId;

  const execution = await boundedWait<PlanExecution>(ctx, state, options, {
    what: `Region switch execution ${id}`,
    timeoutMs: planTimeoutMinutes(ctx) * 60_000,
    intervalMs: (options.intervalSeconds ?? 15) * 1000,
    check: async () => {
      const current = await getExecution(ctx, 'standby', plan.arn, id);
      const events = await listExecutionEvents(ctx, 'standby', plan.arn, id);
      recordProgress(ctx, state, current, events);
      const running = [...state.planSteps.values()].filter((s) => s.status === 'running');
      const status = `${current.executionState}${running.length ? `: ${running.map((s) => s.name).join(', ')} running` : ''}`;
      if (EXECUTION_STOPPED.has(current.executionState)) {
        return { done: false, status, value: current, failed: stoppedDetail(state, current, events, ctx.config.standby.region) };
      }
      return { done: EXECUTION_SUCCEEDED.has(current.executionState), status, value: current };
    },
  });
  report.plan.executionState = execution?.executionState;
  report.plan.actualRecoveryTime = execution?.actualRecoveryTime;
  step.detail.push(`execution ${id} ${execution?.executionState ?? 'done'}${execution?.actualRecoveryTime ? ` (ARC recovery time ${execution.actualRecoveryTime})` : ''}: ${describeSteps(state)}`);
  if (execution?.executionState === 'completedWithExceptions') ctx.progress.warn(`the plan completed with exceptions: read its events in the ARC console`);
}

/** What the plan cannot guarantee: the primary's Multi-AZ and backup settings may be unreadable in an outage. */
async function databaseStep(ctx: OpsContext, step: StepRecord): Promise<void> {
  const replica = await describeReplica(ctx);
  const id = replica.DBInstanceIdentifier ?? replicaInstanceIdentifier(ctx.env);
  if (isReadReplica(replica)) throw new OpsError('unhealthy', `the plan finished but ${id} is still a read replica of ${replica.ReadReplicaSourceDBInstanceIdentifier}: the standby services would write to a read-only database`);
  const status = replica.DBInstanceStatus ?? 'unknown';
  if (status !== 'available' && status !== 'modifying' && status !== 'backing-up') throw new OpsError('unhealthy', `the promoted ${id} is '${status}'`);
  const { multiAz, backupRetentionDays } = ctx.config.database;
  const changes: { MultiAZ?: boolean; BackupRetentionPeriod?: number } = {};
  if ((replica.MultiAZ ?? false) !== multiAz) changes.MultiAZ = multiAz;
  if ((replica.BackupRetentionPeriod ?? 0) !== backupRetentionDays) changes.BackupRetentionPeriod = backupRetentionDays;
  if (Object.keys(changes).length === 0) {
    step.detail.push(`${id}: writable, Multi-AZ ${multiAz}, backups kept ${backupRetentionDays} days, as configured`);
    return;
  }
  await awsCall(ctx, 'standby', 'rds:ModifyDBInstance', `DB instance ${id}`, () =>
    ctx.clients.standby.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: id, ...changes, ApplyImmediately: true })),
  );
  step.detail.push(
    `${id}: ${Object.entries(changes)
      .map(([k, v]) => `${k} → ${v}`)
      .join(', ')} requested (applied immediately; the instance stays available while it converts)`,
  );
  ctx.progress.log(step.detail[step.detail.length - 1]);
}

async function scaleStep(ctx: OpsContext, options: FailoverOptions, state: RunState, step: StepRecord): Promise<void> {
  const cluster = clusterName(ctx.env);
  state.services = await describeStandbyServices(ctx);
  const missing = state.services.filter((s) => !s.details);
  if (missing.length > 0) {
    throw new OpsError('not-found', `missing resource: ECS service(s) ${missing.map((s) => s.ecsName).join(', ')} not found in cluster ${cluster} (${ctx.config.standby.region}): is ${stackNames.standby(ctx.env)} deployed?`);
  }
  for (const s of state.services) {
    const { minTasks, maxTasks } = ctx.config.services[s.service];
    const resourceId = scalableResourceId(ctx, s.service);
    // The floor first, with scaling resumed: the plan raised the count, this keeps it from scaling in below the primary's minimum.
    await awsCall(ctx, 'standby', 'application-autoscaling:RegisterScalableTarget', `scalable target ${resourceId}`, () =>
      ctx.clients.standby.autoScaling.send(
        new RegisterScalableTargetCommand({
          ServiceNamespace: 'ecs',
          ResourceId: resourceId,
          ScalableDimension: scalableDimension,
          MinCapacity: minTasks,
          MaxCapacity: maxTasks,
          SuspendedState: RESUMED_SCALING,
        }),
      ),
    );
    const desired = s.details?.desiredCount ?? 0;
    if (desired < minTasks) {
      await awsCall(ctx, 'standby', 'ecs:UpdateService', `ECS service ${s.ecsName} in cluster ${cluster}`, () =>
        ctx.clients.standby.ecs.send(new UpdateServiceCommand({ cluster, service: s.ecsName, desiredCount: minTasks })),
      );
    }
    step.detail.push(`${s.ecsName}: min ${minTasks} max ${maxTasks}, scaling resumed, desired ${Math.max(desired, minTasks)}${desired >= minTasks ? ` (the plan set ${desired})` : ''}`);
    ctx.progress.log(step.detail[step.detail.length - 1]);
  }
  const services = await boundedWait(ctx, state, options, {
    what: 'standby services to run their minimum tasks',
    timeoutMs: (options.scaleTimeoutMinutes ?? DEFAULT_SCALE_TIMEOUT_MINUTES) * 60_000,
    intervalMs: (options.intervalSeconds ?? 15) * 1000,
    check: async () => {
      const current = await describeStandbyServices(ctx);
      const counts = current.map((s) => ({ s, running: s.details?.runningCount ?? 0, want: ctx.config.services[s.service].minTasks }));
      return {
        done: counts.every((c) => c.running >= c.want),
        status: counts.map((c) => `${c.s.service} ${c.running}/${c.want} running`).join(', '),
        value: current,
      };
    },
  });
  state.services = services ?? state.services;
  step.detail.push('every service runs its minimum tasks');
}

async function targetHealthStep(ctx: OpsContext, options: FailoverOptions, state: RunState, report: FailoverReport, step: StepRecord): Promise<void> {
  const groups: { service: string; arn: string; want: number }[] = [];
  for (const s of state.services) {
    const arns = targetGroupArnsOf(s);
    if (arns.length === 0) throw new OpsError('not-found', `missing resource: ECS service ${s.ecsName} has no target group in ${ctx.config.standby.region}, so its health cannot be checked`);
    for (const arn of arns) groups.push({ service: s.service, arn, want: ctx.config.services[s.service].minTasks });
  }
  const described = await describeTargetGroups(ctx, groups.map((g) => g.arn));
  const names = new Map(described.map((g) => [g.arn, g.name]));
  await boundedWait(ctx, state, options, {
    what: 'standby target groups to report healthy targets',
    timeoutMs: (options.targetHealthTimeoutMinutes ?? DEFAULT_TARGET_HEALTH_TIMEOUT_MINUTES) * 60_000,
    intervalMs: (options.intervalSeconds ?? 15) * 1000,
    check: async () => {
      const health = [];
      for (const g of groups) health.push({ ...g, ...(await healthyTargetCount(ctx, g.arn)) });
      return {
        done: health.every((h) => h.healthy >= h.want),
        status: health.map((h) => `${names.get(h.arn) ?? h.service} ${h.healthy}/${h.want} healthy`).join(', '),
      };
    },
  });
  report.endpoints = await loadBalancerDnsNames(ctx, described.flatMap((g) => g.loadBalancerArns));
  step.detail.push(`every target group has its minimum healthy targets`, ...report.endpoints.map((e) => `endpoint ${e}`));
}

/** With a domain the plan moved the api's DNS; without one nothing can, and the report says so. */
async function trafficStep(ctx: OpsContext, state: RunState, report: FailoverReport, step: StepRecord): Promise<void> {
  const domain = ctx.config.domain;
  if (!domain) {
    step.status = 'skipped';
    report.traffic = {
      switched: false,
      detail:
        `no domain is configured: the web app fails over by itself (CloudFront origin group), but CloudFront sends /api/* to the ${ctx.config.primary.region} load balancer, ` +
        `and changing that is a CloudFront control-plane edit in ${ctx.config.primary.region}. The standby api answers at ${report.endpoints.join(', ') || 'its load balancer'} (CloudFront requests only)`,
    };
    step.detail.push(report.traffic.detail);
    return;
  }
  const traffic = state.planSteps.get(PLAN_STEP_NAMES.traffic);
  if (!traffic) {
    throw new OpsError('unhealthy', `a domain is configured but the Region switch plan has no ${PLAN_STEP_NAMES.traffic} step: deploy ${stackNames.standby(ctx.env)} again, then run this command again`);
  }
  if (traffic.status !== 'completed') throw new OpsError('unhealthy', `the plan's ${PLAN_STEP_NAMES.traffic} step is '${traffic.status}', not completed: ${domain.apiDomainName} may still point at ${ctx.config.primary.region}`);
  report.traffic = {
    switched: true,
    detail: `the plan's ${PLAN_STEP_NAMES.traffic} step set the Route 53 health checks of ${domain.apiDomainName}: Route 53 answers with the ${ctx.config.standby.region} record`,
  };
  step.detail.push(report.traffic.detail);
}

/**
 * What the drill cost the SLOs (issue 14 item 5): a drill reads the budget report in the
 * primary region, where the SLOs live and which is healthy in a drill; a recovery reads
 * nothing there (every call of a recovery stays in the recovery region), so its report
 * says where to read them after failback. A budget that cannot be read is noted, never
 * a failure of the run.
 */
async function errorBudgetsForReport(ctx: OpsContext, mode: FailoverReport['mode']): Promise<NonNullable<FailoverReport['slo']>> {
  if (mode === 'recovery') {
    return { read: false, note: `Not read: a recovery calls nothing in ${ctx.config.primary.region}, where the SLOs live. After failback: npm run ops -- slo --env ${ctx.env}.`, budgets: [] };
  }
  try {
    const budgets = await readBudgets(ctx);
    return {
      read: true,
      note: `Read from Application Signals in ${ctx.config.primary.region} when the drill ended (${ctx.config.serviceLevelObjectives.windowDays}-day window).`,
      budgets: budgets.map((b) => ({
        slo: b.name,
        state: b.state,
        attainmentPercent: b.attainment === undefined ? null : Number(b.attainment.toFixed(3)),
        budgetLeftPercent: b.budgetLeft === undefined ? null : Number((b.budgetLeft * 100).toFixed(1)),
      })),
    };
  } catch (error) {
    return { read: false, note: `Could not read the budgets: ${error instanceof Error ? error.message : String(error)}`, budgets: [] };
  }
}
