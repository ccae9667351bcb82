import { DescribeScalableTargetsCommand, RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, type Service, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeLoadBalancersCommand, DescribeTargetGroupsCommand, DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { type DBInstance, DescribeDBInstancesCommand, PromoteReadReplicaCommand } from '@aws-sdk/client-rds';
import { GetBucketReplicationCommand } from '@aws-sdk/client-s3';
import { type Harness, START } from './helpers';

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
};
export const promotedInstance: DBInstance = { DBInstanceIdentifier: REPLICA, DBInstanceStatus: 'available' };

export function standbyService(service: 'api' | 'processing', desired: number, running: number): Service {
  return {
    serviceName: `bodyscript-staging-${service}`,
    status: 'ACTIVE',
    desiredCount: desired,
    runningCount: running,
    loadBalancers: [{ targetGroupArn: TG(service), containerName: service, containerPort: 8000 }],
  };
}

/** A replica that reads as healthy and promotes after one 'modifying' poll; lag 4 s. */
export function healthyReplica(h: Harness): void {
  h.mocks.standby.rds
    .on(DescribeDBInstancesCommand)
    .resolvesOnce({ DBInstances: [replicaInstance] })
    .resolvesOnce({ DBInstances: [{ ...replicaInstance, DBInstanceStatus: 'modifying' }] })
    .resolves({ DBInstances: [promotedInstance] });
  h.mocks.standby.rds.on(PromoteReadReplicaCommand).resolves({});
  h.mocks.standby.cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [LAG_AT, new Date(START - 120_000)], Values: [LAG_SECONDS, 2] }] });
}

/** Pilot-light services that come up on the second look, with healthy targets. */
export function healthyStandbyServices(h: Harness): void {
  const { ecs, autoScaling, elbv2 } = h.mocks.standby;
  ecs
    .on(DescribeServicesCommand)
    .resolvesOnce({ services: [standbyService('api', 0, 0), standbyService('processing', 0, 0)] })
    .resolves({ services: [standbyService('api', 1, 1), standbyService('processing', 1, 1)] });
  ecs.on(UpdateServiceCommand).resolves({});
  autoScaling.on(RegisterScalableTargetCommand).resolves({});
  autoScaling.on(DescribeScalableTargetsCommand).resolves({
    ScalableTargets: ['api', 'processing'].map((s) => ({
      ServiceNamespace: 'ecs',
      ResourceId: `service/bodyscript-staging/bodyscript-staging-${s}`,
      ScalableDimension: 'ecs:service:DesiredCount',
      MinCapacity: 0,
      MaxCapacity: 4,
      RoleARN: 'arn:aws:iam::111111111111:role/aws-service-role',
      CreationTime: new Date(START),
    })),
  });
  // Like the real API: only the requested target groups come back.
  elbv2.on(DescribeTargetGroupsCommand).callsFake((input: { TargetGroupArns?: string[] }) => ({
    TargetGroups: (input.TargetGroupArns ?? []).map((arn) => ({ TargetGroupArn: arn, TargetGroupName: arn.split('/')[1], LoadBalancerArns: [ALB] })),
  }));
  elbv2.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: 'healthy' } }] });
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
  h.mocks.primary.cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [LAG_AT], Values: [0] }] });
}
