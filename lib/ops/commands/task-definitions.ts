import { DeregisterTaskDefinitionCommand, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { SERVICE_NAMES, type ServiceName, taskFamilyName } from '../../naming';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import { describeService } from '../deployments';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';

/**
 * `ops task-definitions`: the bounded clean-up of the task definition revisions
 * that the services' `UpdateReplacePolicy: Retain` keeps ACTIVE.
 *
 * CloudFormation deregisters the revision a release replaces (aws/aws-cdk#24372)
 * and ECS cannot run an INACTIVE revision, so the api and the worker keep
 * theirs: `ops rollback` deploys the previous release's revision again. Kept
 * for ever they only pile up, so after a verified release the pipeline keeps,
 * per service, every revision the service runs (task sets and deployments)
 * and the newest `keep` others, and deregisters the rest, oldest first.
 * Deregistering does not stop running tasks ("existing tasks and services that
 * reference an INACTIVE task definition continue to run"). Dry run by default.
 */

export interface TaskDefinitionsOptions {
  /** ACTIVE revisions kept per service besides those the service runs. */
  readonly keep: number;
  readonly execute: boolean;
}

export interface FamilyPlan {
  readonly service: ServiceName;
  readonly family: string;
  readonly inUse: string[];
  readonly kept: string[];
  readonly deregister: string[];
}

export interface TaskDefinitionsResult {
  readonly exitCode: ExitCode;
  readonly plans: FamilyPlan[];
}

/** Revisions kept by default: releases the pipeline can still roll back to (the registry keeps the newest 20 release images). */
export const DEFAULT_KEEP_TASK_DEFINITIONS = 10;
export const MAX_KEEP_TASK_DEFINITIONS = 20;

function revisionOf(arn: string): number {
  return Number(arn.slice(arn.lastIndexOf(':') + 1));
}

async function activeRevisionsNewestFirst(ctx: OpsContext, family: string): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  // Bounded: 100 a page; a family keeps a few dozen ACTIVE revisions at most.
  for (let page = 0; page < 20; page++) {
    const response = await awsCall(ctx, 'primary', 'ecs:ListTaskDefinitions', `task definition family ${family}`, () =>
      ctx.clients.primary.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', sort: 'DESC', maxResults: 100, nextToken })),
    );
    arns.push(...(response.taskDefinitionArns ?? []));
    nextToken = response.nextToken;
    if (!nextToken) break;
  }
  // familyPrefix matches other families that start with the same text; the order is ours, not the API's.
  return arns.filter((arn) => arn.slice(arn.lastIndexOf('/') + 1, arn.lastIndexOf(':')) === family).sort((a, b) => revisionOf(b) - revisionOf(a));
}

export async function planTaskDefinitions(ctx: OpsContext, service: ServiceName, keep: number): Promise<FamilyPlan> {
  const family = taskFamilyName(ctx.env, service);
  const running = await describeService(ctx, service);
  const inUse = [
    ...new Set(
      [running.taskDefinition, ...(running.taskSets ?? []).map((s) => s.taskDefinition), ...(running.deployments ?? []).map((d) => d.taskDefinition)].filter(
        (arn): arn is string => typeof arn === 'string',
      ),
    ),
  ];
  if (inUse.length === 0) throw new OpsError('aws', `ECS service of ${service} reports no task definition: refusing to deregister anything of ${family}`);
  const active = await activeRevisionsNewestFirst(ctx, family);
  const others = active.filter((arn) => !inUse.includes(arn));
  return { service, family, inUse, kept: others.slice(0, keep), deregister: others.slice(keep).reverse() };
}

export async function runTaskDefinitions(ctx: OpsContext, options: TaskDefinitionsOptions): Promise<TaskDefinitionsResult> {
  await checkIdentity(ctx, 'primary');
  const plans: FamilyPlan[] = [];
  for (const service of SERVICE_NAMES) plans.push(await planTaskDefinitions(ctx, service, options.keep));
  ctx.progress.plain(`Task definition clean-up for ${ctx.env} (${ctx.config.primary.region}), keeping ${options.keep} besides the running ones:`);
  for (const plan of plans) {
    ctx.progress.plain(`  ${plan.family}: running ${plan.inUse.map((arn) => revisionOf(arn)).join(', ')}; kept ${plan.kept.map(revisionOf).join(', ') || 'none'}`);
    ctx.progress.plain(`    deregister: ${plan.deregister.map(revisionOf).join(', ') || 'nothing'}`);
  }
  if (!options.execute) {
    ctx.progress.plain(`Dry run: nothing was changed. Run again with --execute to deregister.`);
    return { exitCode: ExitCode.OK, plans };
  }
  for (const plan of plans) {
    for (const arn of plan.deregister) {
      await awsCall(ctx, 'primary', 'ecs:DeregisterTaskDefinition', `task definition ${arn}`, () =>
        ctx.clients.primary.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })),
      );
      ctx.progress.log(`deregistered ${arn}`);
    }
  }
  return { exitCode: ExitCode.OK, plans };
}
