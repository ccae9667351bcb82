import { DescribeScalableTargetsCommand, RegisterScalableTargetCommand, type RegisterScalableTargetCommandInput } from '@aws-sdk/client-application-auto-scaling';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, type Service, UpdateServiceCommand, type UpdateServiceCommandInput } from '@aws-sdk/client-ecs';
import { DescribeLoadBalancersCommand, DescribeTargetGroupsCommand, DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { type DBInstance, DescribeDBInstancesCommand, ModifyDBInstanceCommand, type ModifyDBInstanceCommandInput } from '@aws-sdk/client-rds';
import { GetBucketReplicationCommand } from '@aws-sdk/client-s3';
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand, type PutParameterCommandInput } from '@aws-sdk/client-ssm';
import type { EnvironmentName } from '../../lib/config';
import type { Plan, PlanStep } from '../../lib/ops/dr/region-switch-client';
import { templateJson } from '../support/assembly';
import { awsError, type Harness, START } from './helpers';

export const REPLICA = 'bodyscript-staging-postgres-replica';
export const TG = (service: string) => `arn:aws:elasticloadbalancing:us-west-2:111111111111:targetgroup/bs-stg-${service}/0123456789abcdef`;
export const ALB = 'arn:aws:elasticloadbalancing:us-west-2:111111111111:loadbalancer/app/bs-stg-standby/0123456789abcdef';
export const LAG_SECONDS = 4;
export const LAG_AT = new Date(START - 60_000);

export const replicaInstance: DBInstance = {
  DBInstanceIdentifier: REPLICA,
  DBInstanceStatus: 'available',
  ReadReplicaSourceDBInstanceIdentifier: 'arn:aws:rds:us-east-1:111111111111:db:bodyscript-staging-postgres',
  StatusInfos: [{ StatusType: 'read replication', Status: 'replicating', Normal: true }],
  MultiAZ: false,
  BackupRetentionPeriod: 0,
};
export const promotedInstance: DBInstance = { DBInstanceIdentifier: REPLICA, DBInstanceStatus: 'available', MultiAZ: false, BackupRetentionPeriod: 7 };

export function standbyService(service: 'api' | 'processing', desired: number, running: number, env: EnvironmentName = 'staging'): Service {
  return {
    serviceName: `bodyscript-${env}-${service}`,
    status: 'ACTIVE',
    desiredCount: desired,
    runningCount: running,
    loadBalancers: [{ targetGroupArn: TG(service), containerName: service, containerPort: 8000 }],
  };
}

/** A replica that reads as healthy; lag 4 s. */
export function healthyReplica(h: Harness): void {
  h.mocks.standby.rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [replicaInstance] });
  h.mocks.standby.cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [LAG_AT, new Date(START - 120_000)], Values: [LAG_SECONDS, 2] }] });
}

/** Pilot-light services at 0 tasks with their 0..0 scalable targets and target groups. */
export function healthyStandbyServices(h: Harness): void {
  const { ecs, autoScaling, elbv2 } = h.mocks.standby;
  ecs.on(DescribeServicesCommand).resolves({ services: [standbyService('api', 0, 0), standbyService('processing', 0, 0)] });
  autoScaling.on(DescribeScalableTargetsCommand).resolves({
    ScalableTargets: ['api', 'processing'].map((s) => ({
      ServiceNamespace: 'ecs',
      ResourceId: `service/bodyscript-staging/bodyscript-staging-${s}`,
      ScalableDimension: 'ecs:service:DesiredCount',
      MinCapacity: 0,
      MaxCapacity: 0,
      RoleARN: 'arn:aws:iam::111111111111:role/aws-service-role',
      CreationTime: new Date(START),
    })),
  });
  // Like the real API: only the requested target groups come back.
  elbv2.on(DescribeTargetGroupsCommand).callsFake((input: { TargetGroupArns?: string[] }) => ({
    TargetGroups: (input.TargetGroupArns ?? []).map((arn) => ({ TargetGroupArn: arn, TargetGroupName: arn.split('/')[1], LoadBalancerArns: [ALB] })),
  }));
  elbv2.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [] });
  elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ DNSName: 'bs-stg-standby-123.us-west-2.elb.amazonaws.com' }] });
}

/** Replication rules of the three primary buckets, with no failed operations. */
export function healthyBucketReplication(h: Harness): void {
  for (const purpose of ['uploads', 'results', 'frontend']) {
    h.mocks.primary.s3.on(GetBucketReplicationCommand, { Bucket: `bodyscript-staging-${purpose}-111111111111-us-east-1` }).resolves({
      ReplicationConfiguration: {
        Role: 'arn:aws:iam::111111111111:role/replication',
        Rules: [{ ID: 'ReplicateToStandby', Status: 'Enabled', Destination: { Bucket: `arn:aws:s3:::bodyscript-staging-${purpose}-111111111111-us-west-2` } }],
      },
    });
  }
  h.mocks.primary.cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [], Values: [] }] });
}

// --- A consistent world for the failover ---------------------------------

type ServiceName = 'api' | 'processing';

/** What AWS holds in the standby region during a failover; the mocks and the Region switch model read and change it. */
export interface World {
  readonly env: EnvironmentName;
  readonly replica: { promoted: boolean; status: string; multiAz: boolean; backupRetention: number; replication: string };
  readonly services: Record<ServiceName, { desired: number; running: number; min: number; max: number; suspended: boolean }>;
  /** The most tasks each primary service ran in the last 24 hours, as ARC sampled them. */
  readonly primarySampledMax: Record<ServiceName, number>;
  /** The failed-over marker's value, when it exists. */
  marker?: string;
  /** The plan's traffic step ran. */
  dnsOnStandby: boolean;
}

export function newWorld(env: EnvironmentName = 'staging'): World {
  return {
    env,
    replica: { promoted: false, status: 'available', multiAz: env === 'production', backupRetention: 0, replication: 'replicating' },
    services: {
      api: { desired: 0, running: 0, min: 0, max: 0, suspended: false },
      processing: { desired: 0, running: 0, min: 0, max: 0, suspended: false },
    },
    primarySampledMax: env === 'production' ? { api: 5, processing: 3 } : { api: 2, processing: 1 },
    dnsOnStandby: false,
  };
}

const clamp = (n: number, min: number, max: number) => Math.min(Math.max(n, min), max);

/**
 * Wires the standby mocks to `world`, with the refusals and side effects AWS has:
 * RegisterScalableTarget refuses a minimum above the maximum and moves the
 * current count into the new range; a service runs what it was asked one poll
 * later; SSM refuses to overwrite a parameter without Overwrite and answers
 * ParameterNotFound for a missing one.
 */
export function wireWorld(h: Harness, world: World): void {
  const env = world.env;
  const { rds, autoScaling, ecs, elbv2, ssm, cloudWatch } = h.mocks.standby;
  const replicaId = `bodyscript-${env}-postgres-replica`;
  rds.on(DescribeDBInstancesCommand).callsFake(() => ({
    DBInstances: [
      {
        DBInstanceIdentifier: replicaId,
        DBInstanceStatus: world.replica.status,
        MultiAZ: world.replica.multiAz,
        BackupRetentionPeriod: world.replica.backupRetention,
        ...(world.replica.promoted
          ? {}
          : {
              ReadReplicaSourceDBInstanceIdentifier: `arn:aws:rds:us-east-1:${h.config.primary.account}:db:bodyscript-${env}-postgres`,
              StatusInfos: [{ StatusType: 'read replication', Status: world.replica.replication, Normal: true }],
            }),
      },
    ],
  }));
  rds.on(ModifyDBInstanceCommand).callsFake((input: ModifyDBInstanceCommandInput) => {
    if (input.BackupRetentionPeriod !== undefined && !world.replica.promoted) throw awsError('InvalidParameterCombination', 'a read replica has no automated backups of its own');
    if (input.MultiAZ !== undefined) world.replica.multiAz = input.MultiAZ;
    if (input.BackupRetentionPeriod !== undefined) world.replica.backupRetention = input.BackupRetentionPeriod;
    return { DBInstance: { DBInstanceIdentifier: replicaId } };
  });
  cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [LAG_AT], Values: [LAG_SECONDS] }] });

  const serviceOf = (resourceId?: string): ServiceName => (resourceId?.endsWith('-api') ? 'api' : 'processing');
  autoScaling.on(DescribeScalableTargetsCommand).callsFake(() => ({
    ScalableTargets: (['api', 'processing'] as const).map((s) => ({
      ServiceNamespace: 'ecs',
      ResourceId: `service/bodyscript-${env}/bodyscript-${env}-${s}`,
      ScalableDimension: 'ecs:service:DesiredCount',
      MinCapacity: world.services[s].min,
      MaxCapacity: world.services[s].max,
      RoleARN: 'arn:aws:iam::111111111111:role/aws-service-role',
      CreationTime: new Date(START),
    })),
  }));
  autoScaling.on(RegisterScalableTargetCommand).callsFake((input: RegisterScalableTargetCommandInput) => {
    const s = world.services[serviceOf(input.ResourceId)];
    const min = input.MinCapacity ?? s.min;
    const max = input.MaxCapacity ?? s.max;
    if (min > max) throw awsError('ValidationException', `Minimum capacity cannot be greater than maximum capacity`);
    Object.assign(s, { min, max, suspended: input.SuspendedState?.DynamicScalingInSuspended ?? s.suspended, desired: clamp(s.desired, min, max) });
    return {};
  });
  ecs.on(DescribeServicesCommand).callsFake(() => {
    const services = (['api', 'processing'] as const).map((s) => standbyService(s, world.services[s].desired, world.services[s].running, env));
    // Tasks start between two looks.
    for (const s of ['api', 'processing'] as const) world.services[s].running = world.services[s].desired;
    return { services };
  });
  ecs.on(UpdateServiceCommand).callsFake((input: UpdateServiceCommandInput) => {
    world.services[serviceOf(input.service)].desired = input.desiredCount ?? world.services[serviceOf(input.service)].desired;
    return { service: {} };
  });
  elbv2.on(DescribeTargetGroupsCommand).callsFake((input: { TargetGroupArns?: string[] }) => ({
    TargetGroups: (input.TargetGroupArns ?? []).map((arn) => ({ TargetGroupArn: arn, TargetGroupName: arn.split('/')[1], LoadBalancerArns: [ALB] })),
  }));
  elbv2.on(DescribeTargetHealthCommand).callsFake((input: { TargetGroupArn?: string }) => ({
    TargetHealthDescriptions: Array.from({ length: world.services[input.TargetGroupArn?.includes('-api/') ? 'api' : 'processing'].running }, () => ({ TargetHealth: { State: 'healthy' as const } })),
  }));
  elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ DNSName: 'bs-standby-123.us-west-2.elb.amazonaws.com' }] });

  ssm.on(GetParameterCommand).callsFake(() => {
    if (world.marker === undefined) throw awsError('ParameterNotFound', 'Parameter not found');
    return { Parameter: { Name: `/bodyscript/${env}/dr/failed-over`, Value: world.marker, Type: 'String' } };
  });
  ssm.on(PutParameterCommand).callsFake((input: PutParameterCommandInput) => {
    if (world.marker !== undefined && !input.Overwrite) throw awsError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
    world.marker = input.Value;
    return { Version: 1 };
  });
  ssm.on(DeleteParameterCommand).callsFake(() => {
    if (world.marker === undefined) throw awsError('ParameterNotFound', 'Parameter not found');
    world.marker = undefined;
    return {};
  });
}

/** The CloudFormation property names of the synthesized plan, in the API's camelCase. */
function camel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camel);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [/^[A-Z][a-z]/.test(k) ? k.charAt(0).toLowerCase() + k.slice(1) : k, camel(v)]));
  }
  return value;
}

/** The plan exactly as the Standby stack of `env` deploys it (read from the synthesized template), as ARC's API returns it. */
export function deployedPlan(env: EnvironmentName, account: string): Plan {
  const stack = `BodyScript-${env === 'staging' ? 'Staging' : 'Production'}-Standby`;
  const [resource] = Object.values(templateJson(stack).Resources).filter((r) => r.Type === 'AWS::ARCRegionSwitch::Plan');
  const p = camel(resource.Properties) as Record<string, unknown>;
  const toStep = (s: Record<string, unknown>): PlanStep => ({
    name: s.name as string,
    executionBlockType: s.executionBlockType as string,
    description: s.description as string | undefined,
    steps: (s.executionBlockConfiguration as { parallelConfig?: { steps: Record<string, unknown>[] } }).parallelConfig?.steps.map(toStep),
  });
  return {
    arn: `arn:aws:arc-region-switch::${account}:plan/${p.name as string}:abc123`,
    name: p.name as string,
    version: '1',
    primaryRegion: p.primaryRegion as string,
    regions: p.regions as string[],
    recoveryApproach: p.recoveryApproach as string,
    recoveryTimeObjectiveMinutes: p.recoveryTimeObjectiveMinutes as number,
    workflows: (p.workflows as Record<string, unknown>[]).map((w) => ({
      workflowTargetAction: w.workflowTargetAction as string,
      workflowTargetRegion: w.workflowTargetRegion as string | undefined,
      steps: (w.steps as Record<string, unknown>[]).map(toStep),
    })),
  };
}

/**
 * Puts the deployed plan into the standby region's Region switch model, with
 * step effects on `world` as AWS would have them: the promotion fails on an
 * instance that is no longer a replica (PromoteReadReplica refuses it) and
 * leaves RDS's default backup retention (1 day); each ECS step asks for the
 * primary's sampled maximum, which a scalable target held below it refuses.
 */
export function deployPlan(h: Harness, world: World, plan = deployedPlan(world.env, h.config.standby.account)): Plan {
  const arc = h.regionSwitch.standby;
  arc.addPlan(plan);
  arc.behaviour.set('promote-replica', {
    seconds: 300,
    run: () => {
      if (world.replica.promoted) return { ok: false, error: `InvalidDBInstanceState: bodyscript-${world.env}-postgres-replica is not a read replica` };
      world.replica.promoted = true;
      world.replica.backupRetention = 1;
      return { ok: true };
    },
  });
  for (const s of ['api', 'processing'] as const) {
    arc.behaviour.set(`raise-${s}`, {
      seconds: 120,
      run: () => {
        const want = world.primarySampledMax[s];
        const service = world.services[s];
        if (want > service.max) return { ok: false, error: `RegisterScalableTarget: Minimum capacity ${want} cannot be greater than maximum capacity ${service.max}` };
        service.min = Math.max(service.min, want);
        service.desired = want;
        return { ok: true };
      },
    });
  }
  arc.behaviour.set('switch-traffic', {
    seconds: 60,
    run: () => {
      world.dnsOnStandby = true;
      return { ok: true };
    },
  });
  return plan;
}
