import { CreateDeploymentCommand, type DeploymentInfo, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import type { ServiceName } from '../../naming';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import {
  ACTIVE_DEPLOYMENT_STATUSES,
  deploymentGroupOf,
  getDeployment,
  getDeploymentGroupInfo,
  getDeploymentsNewestFirst,
  listDeploymentIds,
  taskDefinitionOf,
  trafficShifted,
} from '../deployments';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';
import { waitUntil } from '../wait';
import { DEFAULT_VERIFY_TIMEOUT_MINUTES, runVerify } from './verify';

/**
 * `ops rollback`: put the previous release of one service back in front of users.
 *
 * - A deployment in progress is stopped with autoRollbackEnabled, which makes
 *   CodeDeploy route traffic back to the original (blue) task set: the fastest
 *   way back, because the old tasks are still running.
 * - Otherwise the revision (AppSpec, i.e. task definition) of the newest
 *   successful deployment whose task definition differs from the live one is
 *   deployed again through CodeDeploy, so alarms and hooks still guard it.
 *
 * Dry run by default: the read-only lookups run and the exact action is printed.
 */

export interface RollbackOptions {
  readonly service: ServiceName;
  readonly execute: boolean;
  /** Bound of the wait for the stop/redeploy to take effect. */
  readonly timeoutMinutes: number;
  readonly verifyTimeoutMinutes?: number;
  readonly intervalSeconds?: number;
}

export type RollbackAction =
  | { readonly kind: 'stop'; readonly deployment: DeploymentInfo }
  | { readonly kind: 'redeploy'; readonly live: DeploymentInfo; readonly target: DeploymentInfo };

export interface RollbackResult {
  readonly exitCode: ExitCode;
  readonly action: RollbackAction;
  /** The deployment created (redeploy) or stopped (stop). */
  readonly deploymentId?: string;
}

export const DEFAULT_ROLLBACK_TIMEOUT_MINUTES = 15;
/** Successful deployments older than this are not considered as rollback targets (keeps the lookup bounded). */
const ROLLBACK_LOOKBACK_DAYS = 90;
/**
 * A rollback shifts all traffic at once, as CodeDeploy's own automatic rollback
 * does: canary shifting would add its bake time to an outage.
 */
export const ROLLBACK_DEPLOYMENT_CONFIG = 'CodeDeployDefault.ECSAllAtOnce';

function describeDeployment(info: DeploymentInfo): string {
  const when = info.createTime ? ` created ${info.createTime.toISOString()}` : '';
  return `${info.deploymentId} (${info.status ?? 'unknown status'}, task definition ${taskDefinitionOf(info)}${when})`;
}

/** Decides what a rollback would do, with read-only calls only. */
export async function planRollback(ctx: OpsContext, service: ServiceName): Promise<RollbackAction> {
  const active = await listDeploymentIds(ctx, service, ACTIVE_DEPLOYMENT_STATUSES, { maxPages: 1 });
  if (active.length > 0) return { kind: 'stop', deployment: await getDeployment(ctx, active[0]) };

  const group = await getDeploymentGroupInfo(ctx, service);
  const lastAttempt = group.lastAttemptedDeployment;
  if (lastAttempt?.status === 'Failed' || lastAttempt?.status === 'Stopped') {
    ctx.progress.warn(
      `the last deployment ${lastAttempt.deploymentId} ${lastAttempt.status}: CodeDeploy has already put the last good revision back; ` +
        `this rollback goes one release further back`,
    );
  }
  const ids = await listDeploymentIds(ctx, service, ['Succeeded'], { sinceDays: ROLLBACK_LOOKBACK_DAYS });
  const succeeded = await getDeploymentsNewestFirst(ctx, ids);
  const live = succeeded[0];
  const label = deploymentGroupOf(ctx, service).label;
  if (!live) {
    throw new OpsError('unhealthy', `nothing to roll back to: ${label} has no successful deployment in the last ${ROLLBACK_LOOKBACK_DAYS} days`);
  }
  const liveTaskDefinition = taskDefinitionOf(live);
  const target = succeeded.find((d) => taskDefinitionOf(d) !== liveTaskDefinition);
  if (!target) {
    throw new OpsError(
      'unhealthy',
      `nothing to roll back to: every successful deployment of ${label} in the last ${ROLLBACK_LOOKBACK_DAYS} days used the live task definition ${liveTaskDefinition}`,
    );
  }
  if (!target.revision) throw new OpsError('aws', `deployment ${target.deploymentId} has no revision recorded; cannot redeploy it`);
  return { kind: 'redeploy', live, target };
}

function printPlan(ctx: OpsContext, service: ServiceName, action: RollbackAction): void {
  const group = deploymentGroupOf(ctx, service);
  ctx.progress.plain(`Rollback plan for ${ctx.env} ${service} (${group.label}, ${ctx.config.primary.region}):`);
  if (action.kind === 'stop') {
    ctx.progress.plain(`  1. StopDeployment ${describeDeployment(action.deployment)} with autoRollbackEnabled=true`);
    ctx.progress.plain(`     (CodeDeploy routes traffic back to the original task set, which is still running)`);
    ctx.progress.plain(`  2. wait until it is stopped and its rollback deployment has moved traffic back`);
  } else {
    ctx.progress.plain(`  live:   ${describeDeployment(action.live)}`);
    ctx.progress.plain(`  target: ${describeDeployment(action.target)}`);
    ctx.progress.plain(
      `  1. CreateDeployment in ${group.applicationName}/${group.deploymentGroupName} with the revision of ${action.target.deploymentId} ` +
        `(task definition ${taskDefinitionOf(action.target)}), deployment config ${ROLLBACK_DEPLOYMENT_CONFIG}`,
    );
    ctx.progress.plain(`  2. wait until traffic has moved to it`);
  }
  ctx.progress.plain(`  3. ops verify --env ${ctx.env}`);
}

export async function runRollback(ctx: OpsContext, options: RollbackOptions): Promise<RollbackResult> {
  await checkIdentity(ctx, 'primary');
  const action = await planRollback(ctx, options.service);
  printPlan(ctx, options.service, action);
  if (!options.execute) {
    ctx.progress.plain(`Dry run: nothing was changed. Run again with --execute to roll back.`);
    return { exitCode: ExitCode.OK, action };
  }
  const timeoutMs = options.timeoutMinutes * 60_000;
  const intervalMs = (options.intervalSeconds ?? 15) * 1000;
  let deploymentId: string;
  if (action.kind === 'stop') {
    deploymentId = action.deployment.deploymentId ?? '';
    await stopAndWait(ctx, deploymentId, timeoutMs, intervalMs);
  } else {
    deploymentId = await redeployAndWait(ctx, options.service, action.target, timeoutMs, intervalMs);
  }
  ctx.progress.log(`rollback of ${options.service} done; verifying ${ctx.env}`);
  const verify = await runVerify(ctx, {
    timeoutMinutes: options.verifyTimeoutMinutes ?? DEFAULT_VERIFY_TIMEOUT_MINUTES,
    intervalSeconds: options.intervalSeconds,
    skipIdentityCheck: true,
  });
  return { exitCode: verify.exitCode, action, deploymentId };
}

async function stopAndWait(ctx: OpsContext, deploymentId: string, timeoutMs: number, intervalMs: number): Promise<void> {
  const stop = await awsCall(ctx, 'primary', 'codedeploy:StopDeployment', `deployment ${deploymentId}`, () =>
    ctx.clients.primary.codeDeploy.send(new StopDeploymentCommand({ deploymentId, autoRollbackEnabled: true })),
  );
  ctx.progress.log(`StopDeployment ${deploymentId}: ${stop.status ?? 'requested'}${stop.statusMessage ? ` (${stop.statusMessage})` : ''}`);
  const stopped = await waitUntil(ctx, {
    what: `deployment ${deploymentId} to stop`,
    timeoutMs,
    intervalMs,
    check: async () => {
      const info = await getDeployment(ctx, deploymentId);
      if (info.status === 'Succeeded') {
        return { done: false, status: 'Succeeded', failed: 'it finished before the stop took effect; run rollback again to redeploy the previous revision' };
      }
      return { done: info.status === 'Stopped' || info.status === 'Failed', status: info.status ?? 'unknown', value: info };
    },
  });
  const rollbackId = stopped?.rollbackInfo?.rollbackDeploymentId;
  if (rollbackId) await waitForTraffic(ctx, rollbackId, timeoutMs, intervalMs);
}

async function redeployAndWait(ctx: OpsContext, service: ServiceName, target: DeploymentInfo, timeoutMs: number, intervalMs: number): Promise<string> {
  const group = deploymentGroupOf(ctx, service);
  const created = await awsCall(ctx, 'primary', 'codedeploy:CreateDeployment', group.label, () =>
    ctx.clients.primary.codeDeploy.send(
      new CreateDeploymentCommand({
        applicationName: group.applicationName,
        deploymentGroupName: group.deploymentGroupName,
        revision: target.revision,
        deploymentConfigName: ROLLBACK_DEPLOYMENT_CONFIG,
        description: `ops rollback of ${ctx.env} ${service} to the revision of ${target.deploymentId}`,
      }),
    ),
  );
  const deploymentId = created.deploymentId;
  if (!deploymentId) throw new OpsError('aws', `codedeploy:CreateDeployment on ${group.label} returned no deployment id`);
  ctx.progress.log(`created deployment ${deploymentId}`);
  await waitForTraffic(ctx, deploymentId, timeoutMs, intervalMs);
  return deploymentId;
}

/** Waits until a deployment has succeeded or at least moved production traffic (see trafficShifted). */
async function waitForTraffic(ctx: OpsContext, deploymentId: string, timeoutMs: number, intervalMs: number): Promise<void> {
  await waitUntil(ctx, {
    what: `deployment ${deploymentId}`,
    timeoutMs,
    intervalMs,
    check: async () => {
      const info = await getDeployment(ctx, deploymentId);
      const status = info.status ?? 'unknown';
      if (status === 'Succeeded') return { done: true, status };
      if (status === 'Failed' || status === 'Stopped') {
        return { done: false, status, failed: `${status}: ${info.errorInformation?.message ?? 'no error message'}` };
      }
      if (status === 'InProgress' && (await trafficShifted(ctx, deploymentId))) {
        return { done: true, status: 'traffic shifted (the old task set is terminated after the termination wait)' };
      }
      return { done: false, status };
    },
  });
}
