import type { PlanStepRecord } from '../report';
import { awsCall, type OpsContext, type Side } from '../context';
import { formatDuration } from '../progress';
import { regionSwitchPlanName, stackNames } from '../../naming';
import { OpsError } from '../aws-errors';
import type { ExecutionEvent, Plan, PlanExecution, PlanStep, PlanSummary } from './region-switch-client';

/**
 * Following an execution of a Region switch plan, shared by `dr failover`
 * (the workflow that activates the recovery region, followed there) and
 * `dr failback --move-traffic` (the one that activates the primary region,
 * followed there): ARC executes a plan from the region being activated, so
 * each follows its execution in the region it started it in.
 */

/** Execution states: the plan is done and the application recovered. */
export const EXECUTION_SUCCEEDED = new Set(['completed', 'completedWithExceptions', 'completedMonitoringApplicationHealth']);
/** Execution states: the plan stopped and needs a person (ARC pauses on a failed step). */
export const EXECUTION_STOPPED = new Set(['failed', 'canceled', 'planExecutionTimedOut', 'pausedByFailedStep', 'pausedByOperator', 'pendingManualApproval']);

/** The plan's steps flattened in order (a Parallel block, then its steps). */
export function flattenSteps(steps: readonly PlanStep[]): PlanStep[] {
  return steps.flatMap((s) => [s, ...flattenSteps(s.steps ?? [])]);
}

/** What a run has seen of an execution: each step's last state, and the events already printed. */
export interface ExecutionProgress {
  readonly planSteps: Map<string, PlanStepRecord>;
  readonly seenEvents: Set<string>;
}

/**
 * The environment's plan as one region's data plane lists it (ListPlansInRegion,
 * whose summary names the active execution) and describes it (GetPlanInRegion).
 */
export async function planInRegion(ctx: OpsContext, side: Side): Promise<{ summary: PlanSummary; plan: Plan }> {
  const name = regionSwitchPlanName(ctx.env);
  const { region, account } = ctx.config[side];
  const plans = await awsCall(ctx, side, 'arc-region-switch:ListPlansInRegion', `Region switch plans in ${region}`, () => ctx.clients[side].regionSwitch.listPlansInRegion());
  const summary = plans.find((x) => x.name === name);
  if (!summary) {
    throw new OpsError('not-found', `missing resource: no Region switch plan named ${name} in ${region} (account ${account}): is ${stackNames.standby(ctx.env)} deployed?`);
  }
  const plan = await awsCall(ctx, side, 'arc-region-switch:GetPlanInRegion', `Region switch plan ${summary.arn}`, () => ctx.clients[side].regionSwitch.getPlanInRegion(summary.arn));
  return { summary, plan };
}

export async function getExecution(ctx: OpsContext, side: Side, planArn: string, executionId: string): Promise<PlanExecution> {
  return awsCall(ctx, side, 'arc-region-switch:GetPlanExecution', `execution ${executionId} of ${planArn}`, () =>
    ctx.clients[side].regionSwitch.getPlanExecution(planArn, executionId),
  );
}

export async function listExecutionEvents(ctx: OpsContext, side: Side, planArn: string, executionId: string): Promise<ExecutionEvent[]> {
  return awsCall(ctx, side, 'arc-region-switch:ListPlanExecutionEvents', `execution ${executionId}`, () => ctx.clients[side].regionSwitch.listPlanExecutionEvents(planArn, executionId));
}

/** Prints each step's changes and each new event once, with the time elapsed since the command started. */
export function recordProgress(ctx: OpsContext, progress: ExecutionProgress, execution: PlanExecution, events: ExecutionEvent[]): void {
  for (const s of execution.stepStates) {
    const record = progress.planSteps.get(s.name) ?? { name: s.name, executionBlockType: 'unknown', status: 'notStarted' };
    if (record.status !== s.status) {
      const elapsed = s.startTime && s.endTime ? Math.round((s.endTime.getTime() - s.startTime.getTime()) / 1000) : undefined;
      ctx.progress.log(`plan step ${s.name}: ${s.status}${elapsed !== undefined ? ` after ${formatDuration(elapsed * 1000)}` : ''}`);
      record.status = s.status;
    }
    record.startedAt = s.startTime?.toISOString();
    record.endedAt = s.endTime?.toISOString();
    record.elapsedSeconds = s.startTime && s.endTime ? Math.round((s.endTime.getTime() - s.startTime.getTime()) / 1000) : undefined;
    progress.planSteps.set(s.name, record);
  }
  for (const e of events) {
    if (progress.seenEvents.has(e.eventId)) continue;
    progress.seenEvents.add(e.eventId);
    if (e.error || /Failed|PausedByError|Canceled/i.test(e.type)) {
      ctx.progress.warn(`plan event ${e.type}${e.stepName ? ` (${e.stepName})` : ''}: ${e.error ?? e.description ?? ''}`);
    }
  }
}

/** Why a stopped execution stopped, and how a person goes on (in the region the execution runs in). */
export function stoppedDetail(progress: ExecutionProgress, execution: PlanExecution, events: ExecutionEvent[], region: string): string {
  const failedStep = [...progress.planSteps.values()].find((s) => s.status === 'failed');
  const lastError = events.filter((e) => e.error).pop()?.error;
  return (
    `the plan stopped in state '${execution.executionState}'${failedStep ? ` at step ${failedStep.name}` : ''}${lastError ? ` (${lastError})` : ''}. ` +
    `Fix the cause, then resume or skip the step in the ARC console of ${region} (or 'aws arc-region-switch update-plan-execution --region ${region} --action resume'), and run this command again`
  );
}

/** One line per step of the execution (Parallel blocks left out: their steps are listed). */
export function describeSteps(progress: ExecutionProgress): string {
  return [...progress.planSteps.values()]
    .filter((s) => s.executionBlockType !== 'Parallel')
    .map((s) => `${s.name} ${s.status}${s.elapsedSeconds !== undefined ? ` in ${formatDuration(s.elapsedSeconds * 1000)}` : ''}`)
    .join(', ');
}
