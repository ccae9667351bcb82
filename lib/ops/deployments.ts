import {
  BatchGetDeploymentsCommand,
  BatchGetDeploymentTargetsCommand,
  type DeploymentInfo,
  type DeploymentStatus,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentsCommand,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import {
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListServiceDeploymentsCommand,
  type Service,
  type ServiceDeploymentBrief,
  type ServiceDeploymentStatus,
} from '@aws-sdk/client-ecs';
import { clusterName, codeDeployApplicationName, deploymentGroupName, ecsServiceName, type ServiceName } from '../naming';
import { OpsError } from './aws-errors';
import { awsCall, type OpsContext } from './context';

/** CodeDeploy statuses of a deployment that has not finished yet. */
export const ACTIVE_DEPLOYMENT_STATUSES: DeploymentStatus[] = ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'];

export function deploymentGroupOf(ctx: OpsContext, service: ServiceName): { applicationName: string; deploymentGroupName: string; label: string } {
  const applicationName = codeDeployApplicationName(ctx.env, service);
  const groupName = deploymentGroupName(ctx.env, service);
  return { applicationName, deploymentGroupName: groupName, label: `deployment group ${applicationName}/${groupName}` };
}

/** Lists deployment ids of the group with the given statuses, following every page (bounded). */
export async function listDeploymentIds(
  ctx: OpsContext,
  service: ServiceName,
  statuses: DeploymentStatus[],
  options: { sinceDays?: number; maxPages?: number } = {},
): Promise<string[]> {
  const group = deploymentGroupOf(ctx, service);
  const ids: string[] = [];
  let nextToken: string | undefined;
  const maxPages = options.maxPages ?? 20;
  const createTimeRange = options.sinceDays ? { start: new Date(ctx.clock.now() - options.sinceDays * 86_400_000) } : undefined;
  for (let page = 0; page < maxPages; page++) {
    const response = await awsCall(ctx, 'primary', 'codedeploy:ListDeployments', group.label, () =>
      ctx.clients.primary.codeDeploy.send(
        new ListDeploymentsCommand({
          applicationName: group.applicationName,
          deploymentGroupName: group.deploymentGroupName,
          includeOnlyStatuses: statuses,
          createTimeRange,
          nextToken,
        }),
      ),
    );
    ids.push(...(response.deployments ?? []));
    nextToken = response.nextToken;
    if (!nextToken) break;
  }
  return ids;
}

/** The group's record of its last attempted and last successful deployments. */
export async function getDeploymentGroupInfo(ctx: OpsContext, service: ServiceName) {
  const group = deploymentGroupOf(ctx, service);
  const response = await awsCall(ctx, 'primary', 'codedeploy:GetDeploymentGroup', group.label, () =>
    ctx.clients.primary.codeDeploy.send(
      new GetDeploymentGroupCommand({ applicationName: group.applicationName, deploymentGroupName: group.deploymentGroupName }),
    ),
  );
  return response.deploymentGroupInfo ?? {};
}

export async function getDeployment(ctx: OpsContext, deploymentId: string): Promise<DeploymentInfo> {
  const response = await awsCall(ctx, 'primary', 'codedeploy:GetDeployment', `deployment ${deploymentId}`, () =>
    ctx.clients.primary.codeDeploy.send(new GetDeploymentCommand({ deploymentId })),
  );
  return response.deploymentInfo ?? { deploymentId };
}

/** Full details of many deployments (BatchGetDeployments takes 25 at a time), newest first. */
export async function getDeploymentsNewestFirst(ctx: OpsContext, ids: string[]): Promise<DeploymentInfo[]> {
  const infos: DeploymentInfo[] = [];
  for (let i = 0; i < ids.length; i += 25) {
    const chunk = ids.slice(i, i + 25);
    const response = await awsCall(ctx, 'primary', 'codedeploy:BatchGetDeployments', `deployments ${chunk.join(', ')}`, () =>
      ctx.clients.primary.codeDeploy.send(new BatchGetDeploymentsCommand({ deploymentIds: chunk })),
    );
    infos.push(...(response.deploymentsInfo ?? []));
  }
  // ListDeployments does not document its order, so sort explicitly.
  return infos.sort((a, b) => (b.createTime?.getTime() ?? 0) - (a.createTime?.getTime() ?? 0));
}

/**
 * True once an ECS blue/green deployment has moved production traffic to the
 * new task set. CodeDeploy keeps the deployment "InProgress" for the whole
 * termination wait afterwards (30 minutes in production); a rollback is
 * effective at AllowTraffic, not at the end of that wait.
 */
export async function trafficShifted(ctx: OpsContext, deploymentId: string): Promise<boolean> {
  const targets = await awsCall(ctx, 'primary', 'codedeploy:ListDeploymentTargets', `targets of deployment ${deploymentId}`, () =>
    ctx.clients.primary.codeDeploy.send(new ListDeploymentTargetsCommand({ deploymentId })),
  );
  const targetIds = targets.targetIds ?? [];
  if (targetIds.length === 0) return false;
  const details = await awsCall(ctx, 'primary', 'codedeploy:BatchGetDeploymentTargets', `targets of deployment ${deploymentId}`, () =>
    ctx.clients.primary.codeDeploy.send(new BatchGetDeploymentTargetsCommand({ deploymentId, targetIds })),
  );
  const ecsTargets = (details.deploymentTargets ?? []).map((t) => t.ecsTarget).filter((t) => t !== undefined);
  // The target is Succeeded once traffic has moved; the deployment stays InProgress for the termination wait (aws/containers-roadmap#269).
  return (
    ecsTargets.length > 0 &&
    ecsTargets.every((t) => t.status === 'Succeeded' || (t.lifecycleEvents ?? []).some((e) => e.lifecycleEventName === 'AfterAllowTraffic' && e.status === 'Succeeded'))
  );
}

/** The ECS task definition an AppSpec names, for plans and reports. */
export function taskDefinitionOf(info: DeploymentInfo): string {
  const content = info.revision?.appSpecContent?.content ?? info.revision?.string?.content;
  if (!content) {
    const s3 = info.revision?.s3Location;
    return s3 ? `s3://${s3.bucket}/${s3.key}` : 'unknown revision';
  }
  const match = /"?TaskDefinition"?\s*:\s*"?([^"\s,}]+)"?/.exec(content);
  return match ? match[1] : 'AppSpec without a TaskDefinition';
}

/** The ECS service of `service` in the primary region (task sets, deployments, task definition). */
export async function describeService(ctx: OpsContext, service: ServiceName): Promise<Service> {
  const cluster = clusterName(ctx.env);
  const name = ecsServiceName(ctx.env, service);
  const response = await awsCall(ctx, 'primary', 'ecs:DescribeServices', `ECS service ${cluster}/${name}`, () =>
    ctx.clients.primary.ecs.send(new DescribeServicesCommand({ cluster, services: [name] })),
  );
  const found = response.services?.find((s) => s.serviceName === name && s.status !== 'INACTIVE');
  if (!found) {
    throw new OpsError('not-found', `missing resource: ECS service ${cluster}/${name} not found in ${ctx.config.primary.region} of account ${ctx.config.primary.account}: is ${ctx.env} deployed?`);
  }
  return found;
}

/** The service's ECS service deployments (rolling updates), newest first, at most `max` (or those with the given statuses). */
export async function listServiceDeployments(ctx: OpsContext, service: ServiceName, max: number, statuses?: ServiceDeploymentStatus[]): Promise<ServiceDeploymentBrief[]> {
  const cluster = clusterName(ctx.env);
  const name = ecsServiceName(ctx.env, service);
  const found: ServiceDeploymentBrief[] = [];
  let nextToken: string | undefined;
  // Bounded: a service keeps a handful of deployments a day.
  for (let page = 0; page < 10; page++) {
    const response = await awsCall(ctx, 'primary', 'ecs:ListServiceDeployments', `ECS service ${cluster}/${name}`, () =>
      ctx.clients.primary.ecs.send(new ListServiceDeploymentsCommand({ cluster, service: name, status: statuses, maxResults: 100, nextToken })),
    );
    found.push(...(response.serviceDeployments ?? []));
    nextToken = response.nextToken;
    if (!nextToken) break;
  }
  // The API does not promise an order: newest first by creation time.
  return found.sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0)).slice(0, max);
}

/** The task definition each service revision ran (DescribeServiceRevisions takes 20 at a time). */
export async function taskDefinitionsOfRevisions(ctx: OpsContext, revisionArns: string[]): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (let i = 0; i < revisionArns.length; i += 20) {
    const chunk = revisionArns.slice(i, i + 20);
    const response = await awsCall(ctx, 'primary', 'ecs:DescribeServiceRevisions', `service revisions ${chunk.join(', ')}`, () =>
      ctx.clients.primary.ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: chunk })),
    );
    for (const revision of response.serviceRevisions ?? []) {
      if (revision.serviceRevisionArn && revision.taskDefinition) result.set(revision.serviceRevisionArn, revision.taskDefinition);
    }
  }
  return result;
}

/** ACTIVE or INACTIVE: ECS runs new tasks only from an ACTIVE revision. */
export async function taskDefinitionStatus(ctx: OpsContext, taskDefinition: string): Promise<string> {
  const response = await awsCall(ctx, 'primary', 'ecs:DescribeTaskDefinition', `task definition ${taskDefinition}`, () =>
    ctx.clients.primary.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition })),
  );
  return response.taskDefinition?.status ?? 'unknown';
}
