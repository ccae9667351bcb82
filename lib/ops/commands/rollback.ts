import { CreateDeploymentCommand, type DeploymentInfo, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { StopServiceDeploymentCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { SERVICE_DEPLOYMENT_MODELS } from '../../deployment-model';
import { clusterName, ecsServiceName, type ServiceName } from '../../naming';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import {
  ACTIVE_DEPLOYMENT_STATUSES,
  deploymentGroupOf,
  describeService,
  getDeployment,
  getDeploymentGroupInfo,
  getDeploymentsNewestFirst,
  listDeploymentIds,
  listServiceDeployments,
  taskDefinitionOf,
  taskDefinitionStatus,
  taskDefinitionsOfRevisions,
  trafficShifted,
} from '../deployments';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';
import { waitUntil } from '../wait';
import { DEFAULT_VERIFY_TIMEOUT_MINUTES, runVerify } from './verify';

/**
 * `ops rollback`: put the previous release of one service back in front of users.
 *
 * The api (CodeDeploy blue/green):
 * - A deployment in progress, including one in its termination wait (the
 *   deployment trigger reports a release done once traffic has moved, so
 *   right after `cdk deploy` the previous release's tasks still run), is
 *   stopped with autoRollbackEnabled: CodeDeploy routes traffic back to the
 *   original (blue) task set, which is still running. The fastest way back.
 * - Otherwise the revision (AppSpec, i.e. task definition) of the newest
 *   successful deployment whose task definition differs from the live one is
 *   deployed again through CodeDeploy, so alarms still guard it. The task
 *   definitions carry UpdateReplacePolicy Retain, so CloudFormation leaves
 *   that revision ACTIVE; ECS refuses an INACTIVE one, which is checked first.
 *
 * The worker (ECS rolling updates):
 * - A service deployment in progress is stopped with a rollback
 *   (StopServiceDeployment, ROLLBACK): ECS goes back to the last completed one.
 * - Otherwise the task definition of the newest successful service deployment
 *   that differs from the running one is deployed again (UpdateService); the
 *   running workers get SIGTERM and hand their jobs back (runbooks/worker-contract.md).
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
  | { readonly kind: 'stop'; readonly deployment: DeploymentInfo; readonly inTerminationWait: boolean }
  | { readonly kind: 'redeploy'; readonly live: DeploymentInfo; readonly target: DeploymentInfo }
  | { readonly kind: 'stop-service-deployment'; readonly serviceDeploymentArn: string; readonly status: string }
  | { readonly kind: 'update-service'; readonly current: string; readonly target: string };

export interface RollbackResult {
  readonly exitCode: ExitCode;
  readonly action: RollbackAction;
  /** The deployment created (redeploy), stopped (stop), or the service deployment stopped. */
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

/** Refuses a target ECS would refuse: an INACTIVE (deregistered) task definition revision. */
async function requireActive(ctx: OpsContext, service: ServiceName, taskDefinition: string): Promise<void> {
  const status = await taskDefinitionStatus(ctx, taskDefinition);
  if (status !== 'ACTIVE') {
    throw new OpsError(
      'unhealthy',
      `cannot roll ${service} back to ${taskDefinition}: it is ${status}, and ECS runs no new task from an INACTIVE revision. ` +
        `Roll back by deploying the previous release's cloud assembly with cdk deploy (runbooks/rollback.md, "When the previous revision is gone"); nothing was changed`,
    );
  }
}

async function planBlueGreen(ctx: OpsContext, service: ServiceName): Promise<RollbackAction> {
  const active = await listDeploymentIds(ctx, service, ACTIVE_DEPLOYMENT_STATUSES, { maxPages: 1 });
  if (active.length > 0) return { kind: 'stop', deployment: await getDeployment(ctx, active[0]), inTerminationWait: await trafficShifted(ctx, active[0]) };

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
  await requireActive(ctx, service, taskDefinitionOf(target));
  return { kind: 'redeploy', live, target };
}

async function planRolling(ctx: OpsContext, service: ServiceName): Promise<RollbackAction> {
  const [newest] = await listServiceDeployments(ctx, service, 1);
  if (newest?.serviceDeploymentArn && (newest.status === 'PENDING' || newest.status === 'IN_PROGRESS')) {
    return { kind: 'stop-service-deployment', serviceDeploymentArn: newest.serviceDeploymentArn, status: newest.status };
  }
  const running = await describeService(ctx, service);
  const current = running.taskDefinition ?? running.deployments?.find((d) => d.status === 'PRIMARY')?.taskDefinition;
  if (!current) throw new OpsError('aws', `ECS service ${ecsServiceName(ctx.env, service)} reports no task definition; cannot tell what to roll back from`);
  const successful = await listServiceDeployments(ctx, service, 50, ['SUCCESSFUL']);
  const revisions = successful.map((d) => d.targetServiceRevisionArn).filter((arn): arn is string => typeof arn === 'string');
  const taskDefinitions = await taskDefinitionsOfRevisions(ctx, revisions);
  const target = revisions.map((arn) => taskDefinitions.get(arn)).find((taskDefinition) => taskDefinition !== undefined && taskDefinition !== current);
  if (!target) {
    throw new OpsError('unhealthy', `nothing to roll back to: every successful service deployment of ${ecsServiceName(ctx.env, service)} ran the current task definition ${current}`);
  }
  await requireActive(ctx, service, target);
  return { kind: 'update-service', current, target };
}

/** Decides what a rollback would do, with read-only calls only. */
export async function planRollback(ctx: OpsContext, service: ServiceName): Promise<RollbackAction> {
  return SERVICE_DEPLOYMENT_MODELS[service] === 'codedeploy-blue-green' ? planBlueGreen(ctx, service) : planRolling(ctx, service);
}

function printPlan(ctx: OpsContext, service: ServiceName, action: RollbackAction): void {
  const where = SERVICE_DEPLOYMENT_MODELS[service] === 'codedeploy-blue-green' ? deploymentGroupOf(ctx, service).label : `ECS service ${clusterName(ctx.env)}/${ecsServiceName(ctx.env, service)}`;
  ctx.progress.plain(`Rollback plan for ${ctx.env} ${service} (${where}, ${ctx.config.primary.region}):`);
  switch (action.kind) {
    case 'stop':
      ctx.progress.plain(`  1. StopDeployment ${describeDeployment(action.deployment)} with autoRollbackEnabled=true`);
      ctx.progress.plain(
        action.inTerminationWait
          ? `     (traffic has moved; the previous release's task set still runs for the termination wait, and CodeDeploy routes traffic back to it)`
          : `     (CodeDeploy routes traffic back to the original task set, which is still running)`,
      );
      ctx.progress.plain(`  2. wait until it is stopped and its rollback deployment has moved traffic back`);
      break;
    case 'redeploy': {
      const group = deploymentGroupOf(ctx, service);
      ctx.progress.plain(`  live:   ${describeDeployment(action.live)}`);
      ctx.progress.plain(`  target: ${describeDeployment(action.target)} (task definition ACTIVE)`);
      ctx.progress.plain(
        `  1. CreateDeployment in ${group.applicationName}/${group.deploymentGroupName} with the revision of ${action.target.deploymentId} ` +
          `(task definition ${taskDefinitionOf(action.target)}), deployment config ${ROLLBACK_DEPLOYMENT_CONFIG}`,
      );
      ctx.progress.plain(`  2. wait until traffic has moved to it`);
      break;
    }
    case 'stop-service-deployment':
      ctx.progress.plain(`  1. StopServiceDeployment ${action.serviceDeploymentArn} (${action.status}) with stopType ROLLBACK`);
      ctx.progress.plain(`     (ECS goes back to the last completed service deployment)`);
      ctx.progress.plain(`  2. wait until the rollback has finished`);
      break;
    case 'update-service':
      ctx.progress.plain(`  running: ${action.current}`);
      ctx.progress.plain(`  target:  ${action.target} (ACTIVE)`);
      ctx.progress.plain(`  1. UpdateService ${ecsServiceName(ctx.env, service)} to ${action.target}`);
      ctx.progress.plain(`  2. wait until its tasks run and the replaced workers have handed their jobs back and stopped`);
      break;
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
  const deploymentId = await executeRollback(ctx, options.service, action, options);
  ctx.progress.log(`rollback of ${options.service} done; verifying ${ctx.env}`);
  const verify = await runVerify(ctx, {
    timeoutMinutes: options.verifyTimeoutMinutes ?? DEFAULT_VERIFY_TIMEOUT_MINUTES,
    intervalSeconds: options.intervalSeconds,
    skipIdentityCheck: true,
  });
  return { exitCode: verify.exitCode, action, deploymentId };
}

/** Takes a planned rollback step and waits for it; returns the deployment it created or stopped. */
async function executeRollback(ctx: OpsContext, service: ServiceName, action: RollbackAction, options: Pick<RollbackOptions, 'timeoutMinutes' | 'intervalSeconds'>): Promise<string> {
  const timeoutMs = options.timeoutMinutes * 60_000;
  const intervalMs = (options.intervalSeconds ?? 15) * 1000;
  switch (action.kind) {
    case 'stop':
      await stopAndWait(ctx, action.deployment.deploymentId ?? '', timeoutMs, intervalMs);
      return action.deployment.deploymentId ?? '';
    case 'redeploy':
      return redeployAndWait(ctx, service, action.target, timeoutMs, intervalMs);
    case 'stop-service-deployment':
      await stopServiceDeploymentAndWait(ctx, service, action.serviceDeploymentArn, timeoutMs, intervalMs);
      return action.serviceDeploymentArn;
    case 'update-service':
      return updateServiceAndWait(ctx, service, action.target, timeoutMs, intervalMs);
  }
}

export interface RollbacksOptions extends Omit<RollbackOptions, 'service'> {
  readonly services: readonly ServiceName[];
}

export interface RollbacksResult {
  readonly exitCode: ExitCode;
  readonly results: readonly { readonly service: ServiceName; readonly action?: RollbackAction; readonly deploymentId?: string; readonly error?: OpsError }[];
}

function asOpsError(error: unknown): OpsError {
  return error instanceof OpsError ? error : new OpsError('aws', error instanceof Error ? error.message : String(error), { cause: error });
}

/**
 * Several services rolled back side by side (the pipeline's `--service all`),
 * then one verify: the rollback takes as long as the slower service, not the
 * sum. Each service is planned and rolled back on its own, so one that cannot
 * be rolled back does not keep the other in its bad release; the exit code is
 * then the first failure's, otherwise verify's.
 */
export async function runRollbacks(ctx: OpsContext, options: RollbacksOptions): Promise<RollbacksResult> {
  await checkIdentity(ctx, 'primary');
  const planned = await Promise.allSettled(options.services.map((service) => planRollback(ctx, service)));
  const results: { service: ServiceName; action?: RollbackAction; deploymentId?: string; error?: OpsError }[] = options.services.map((service, i) => {
    const plan = planned[i];
    if (plan.status === 'rejected') return { service, error: asOpsError(plan.reason) };
    printPlan(ctx, service, plan.value);
    return { service, action: plan.value };
  });
  if (options.execute) {
    const executed = await Promise.allSettled(results.map((r) => (r.action ? executeRollback(ctx, r.service, r.action, options) : Promise.resolve(undefined))));
    executed.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') results[i].deploymentId = outcome.value;
      else results[i].error = asOpsError(outcome.reason);
    });
  }
  const failed = results.filter((r) => r.error);
  for (const r of failed) ctx.out.error(`rollback of ${r.service} failed: ${r.error?.message}`);
  if (!options.execute) {
    ctx.progress.plain(`Dry run: nothing was changed. Run again with --execute to roll back.`);
    return { exitCode: failed[0]?.error?.exitCode ?? ExitCode.OK, results };
  }
  if (failed.length > 0) return { exitCode: failed[0].error!.exitCode, results };
  ctx.progress.log(`rollback of ${options.services.join(' and ')} done; verifying ${ctx.env}`);
  const verify = await runVerify(ctx, {
    timeoutMinutes: options.verifyTimeoutMinutes ?? DEFAULT_VERIFY_TIMEOUT_MINUTES,
    intervalSeconds: options.intervalSeconds,
    skipIdentityCheck: true,
  });
  return { exitCode: verify.exitCode, results };
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

async function stopServiceDeploymentAndWait(ctx: OpsContext, service: ServiceName, serviceDeploymentArn: string, timeoutMs: number, intervalMs: number): Promise<void> {
  await awsCall(ctx, 'primary', 'ecs:StopServiceDeployment', `service deployment ${serviceDeploymentArn}`, () =>
    ctx.clients.primary.ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn, stopType: 'ROLLBACK' })),
  );
  ctx.progress.log(`StopServiceDeployment ${serviceDeploymentArn} (ROLLBACK) requested`);
  await waitUntil(ctx, {
    what: `service deployment ${serviceDeploymentArn.split('/').pop()} to roll back`,
    timeoutMs,
    intervalMs,
    check: async () => {
      const found = (await listServiceDeployments(ctx, service, 20)).find((d) => d.serviceDeploymentArn === serviceDeploymentArn);
      const status = found?.status ?? 'unknown';
      if (status === 'ROLLBACK_SUCCESSFUL' || status === 'STOPPED') return { done: true, status };
      if (status === 'ROLLBACK_FAILED' || status === 'SUCCESSFUL') {
        return { done: false, status, failed: status === 'SUCCESSFUL' ? 'it completed before the stop took effect; run rollback again to redeploy the previous task definition' : `${status}: ${found?.statusReason ?? 'no reason given'}` };
      }
      return { done: false, status };
    },
  });
}

async function updateServiceAndWait(ctx: OpsContext, service: ServiceName, target: string, timeoutMs: number, intervalMs: number): Promise<string> {
  const cluster = clusterName(ctx.env);
  const name = ecsServiceName(ctx.env, service);
  const updated = await awsCall(ctx, 'primary', 'ecs:UpdateService', `ECS service ${cluster}/${name}`, () =>
    ctx.clients.primary.ecs.send(new UpdateServiceCommand({ cluster, service: name, taskDefinition: target })),
  );
  const primary = updated.service?.deployments?.find((d) => d.status === 'PRIMARY');
  ctx.progress.log(`UpdateService ${name} → ${target}: deployment ${primary?.id ?? 'started'}`);
  // Done when the target's tasks run and no task of the replaced release is left (ECS's bake time after that is monitoring only).
  await waitUntil(ctx, {
    what: `${name} to run ${target.split('/').pop()}`,
    timeoutMs,
    intervalMs,
    check: async () => {
      const now = await describeService(ctx, service);
      const deployments = now.deployments ?? [];
      const current = deployments.find((d) => d.status === 'PRIMARY');
      if (current?.rolloutState === 'FAILED') return { done: false, status: 'FAILED', failed: `the rollback deployment failed: ${current.rolloutStateReason ?? 'no reason given'}` };
      const others = deployments.filter((d) => d !== current).reduce((sum, d) => sum + (d.runningCount ?? 0), 0);
      const running = current?.runningCount ?? 0;
      const desired = current?.desiredCount ?? 0;
      const status = `${running}/${desired} tasks of ${current?.taskDefinition?.split('/').pop() ?? '?'} running, ${others} of the replaced release`;
      return { done: current?.taskDefinition === target && running >= desired && others === 0, status };
    },
  });
  return primary?.id ?? target;
}
