import { DescribeScalableTargetsCommand } from '@aws-sdk/client-application-auto-scaling';
import { DescribeServicesCommand, type Service } from '@aws-sdk/client-ecs';
import { DescribeLoadBalancersCommand, DescribeTargetGroupsCommand, DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeDBInstancesCommand, type DBInstance } from '@aws-sdk/client-rds';
import { clusterName, ecsServiceName, replicaInstanceIdentifier, SERVICE_NAMES, type ServiceName } from '../../naming';
import { awsCall, type OpsContext } from '../context';
import { latestMetric, type MetricPoint } from '../metrics';

/**
 * Read-only lookups of the pilot-light standby, shared by `dr status` and
 * `dr failover`. Target groups are found through the ECS services themselves
 * (their load balancer configuration), so the CLI needs no target group names.
 */

export const scalableDimension = 'ecs:service:DesiredCount' as const;

/** Application Auto Scaling resource id of a service: `service/<cluster>/<service>`. */
export function scalableResourceId(ctx: OpsContext, service: ServiceName): string {
  return `service/${clusterName(ctx.env)}/${ecsServiceName(ctx.env, service)}`;
}

export interface StandbyService {
  readonly service: ServiceName;
  readonly ecsName: string;
  /** Undefined when ECS reports the service as missing. */
  readonly details?: Service;
}

export async function describeStandbyServices(ctx: OpsContext): Promise<StandbyService[]> {
  const cluster = clusterName(ctx.env);
  const names = SERVICE_NAMES.map((s) => ecsServiceName(ctx.env, s));
  const response = await awsCall(ctx, 'standby', 'ecs:DescribeServices', `ECS services ${names.join(', ')} in cluster ${cluster}`, () =>
    ctx.clients.standby.ecs.send(new DescribeServicesCommand({ cluster, services: names })),
  );
  return SERVICE_NAMES.map((service) => {
    const ecsName = ecsServiceName(ctx.env, service);
    // A deleted service stays visible as INACTIVE for a while: treat it as missing.
    const details = (response.services ?? []).find((s) => s.serviceName === ecsName && s.status !== 'INACTIVE');
    return { service, ecsName, details };
  });
}

export function targetGroupArnsOf(service: StandbyService): string[] {
  return (service.details?.loadBalancers ?? []).map((lb) => lb.targetGroupArn).filter((arn): arn is string => Boolean(arn));
}

export interface ScalableTargetInfo {
  readonly min: number;
  readonly max: number;
}

export async function describeScalableTargets(ctx: OpsContext): Promise<Map<string, ScalableTargetInfo>> {
  const resourceIds = SERVICE_NAMES.map((s) => scalableResourceId(ctx, s));
  const response = await awsCall(ctx, 'standby', 'application-autoscaling:DescribeScalableTargets', `scalable targets ${resourceIds.join(', ')}`, () =>
    ctx.clients.standby.autoScaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: resourceIds, ScalableDimension: scalableDimension }),
    ),
  );
  const targets = new Map<string, ScalableTargetInfo>();
  for (const t of response.ScalableTargets ?? []) {
    if (t.ResourceId) targets.set(t.ResourceId, { min: t.MinCapacity ?? 0, max: t.MaxCapacity ?? 0 });
  }
  return targets;
}

export interface TargetGroupInfo {
  readonly arn: string;
  readonly name: string;
  readonly loadBalancerArns: string[];
}

export async function describeTargetGroups(ctx: OpsContext, arns: string[]): Promise<TargetGroupInfo[]> {
  if (arns.length === 0) return [];
  const response = await awsCall(ctx, 'standby', 'elasticloadbalancing:DescribeTargetGroups', `target groups ${arns.join(', ')}`, () =>
    ctx.clients.standby.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: arns })),
  );
  return (response.TargetGroups ?? []).map((tg) => ({
    arn: tg.TargetGroupArn ?? '',
    name: tg.TargetGroupName ?? '',
    loadBalancerArns: tg.LoadBalancerArns ?? [],
  }));
}

export async function loadBalancerDnsNames(ctx: OpsContext, arns: string[]): Promise<string[]> {
  const unique = [...new Set(arns)];
  if (unique.length === 0) return [];
  const response = await awsCall(ctx, 'standby', 'elasticloadbalancing:DescribeLoadBalancers', `load balancers ${unique.join(', ')}`, () =>
    ctx.clients.standby.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: unique })),
  );
  return (response.LoadBalancers ?? []).map((lb) => lb.DNSName ?? '').filter(Boolean);
}

export async function healthyTargetCount(ctx: OpsContext, targetGroupArn: string): Promise<{ healthy: number; total: number }> {
  const response = await awsCall(ctx, 'standby', 'elasticloadbalancing:DescribeTargetHealth', `target group ${targetGroupArn}`, () =>
    ctx.clients.standby.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })),
  );
  const targets = response.TargetHealthDescriptions ?? [];
  return { healthy: targets.filter((t) => t.TargetHealth?.State === 'healthy').length, total: targets.length };
}

export async function describeReplica(ctx: OpsContext): Promise<DBInstance> {
  const id = replicaInstanceIdentifier(ctx.env);
  const response = await awsCall(ctx, 'standby', 'rds:DescribeDBInstances', `DB instance ${id}`, () =>
    ctx.clients.standby.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id })),
  );
  return response.DBInstances?.[0] ?? { DBInstanceIdentifier: id };
}

/** Still a replica: RDS clears the source identifier when the instance is promoted. */
export function isReadReplica(instance: DBInstance): boolean {
  return Boolean(instance.ReadReplicaSourceDBInstanceIdentifier);
}

/** The replication status RDS reports for a replica (`replicating`, `error`, `stopped`, ...). */
export function replicationStatus(instance: DBInstance): string | undefined {
  return instance.StatusInfos?.find((s) => s.StatusType === 'read replication')?.Status;
}

/** Latest ReplicaLag (seconds) of the standby replica; published once a minute by RDS in the standby region. */
export async function latestReplicaLag(ctx: OpsContext): Promise<MetricPoint | undefined> {
  return latestMetric(ctx, 'standby', {
    namespace: 'AWS/RDS',
    metricName: 'ReplicaLag',
    dimensions: { DBInstanceIdentifier: replicaInstanceIdentifier(ctx.env) },
    stat: 'Maximum',
    lookbackMinutes: 15,
    periodSeconds: 60,
  });
}
