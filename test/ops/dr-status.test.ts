import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { GetBucketReplicationCommand } from '@aws-sdk/client-s3';
import { runDrStatus } from '../../lib/ops/dr/status';
import { ExitCode } from '../../lib/ops/exit-codes';
import { healthyBucketReplication, healthyReplica, healthyStandbyServices, LAG_AT, replicaInstance, standbyService } from './dr-fixtures';
import { awsError, harness, type Harness } from './helpers';

function ready(h: Harness): void {
  healthyReplica(h);
  healthyBucketReplication(h);
  healthyStandbyServices(h);
  h.mocks.standby.ecs.on(DescribeServicesCommand).resolves({ services: [standbyService('api', 0, 0), standbyService('processing', 0, 0)] });
}

describe('ops dr status', () => {
  test('a ready standby: exit 0, replica read in the standby region, bucket metrics with the replication rule dimensions', async () => {
    const h = harness();
    ready(h);
    const result = await runDrStatus(h.ctx);
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(h.mocks.standby.rds.commandCalls(DescribeDBInstancesCommand)[0].args[0].input).toEqual({ DBInstanceIdentifier: 'bodyscript-staging-postgres-replica' });
    expect(h.mocks.primary.rds.calls()).toHaveLength(0);
    const lagQuery = h.mocks.standby.cloudWatch.commandCalls(GetMetricDataCommand)[0].args[0].input.MetricDataQueries?.[0].MetricStat?.Metric;
    expect(lagQuery).toMatchObject({ Namespace: 'AWS/RDS', MetricName: 'ReplicaLag', Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'bodyscript-staging-postgres-replica' }] });
    const s3Metric = h.mocks.primary.cloudWatch.commandCalls(GetMetricDataCommand)[0].args[0].input.MetricDataQueries?.[0].MetricStat?.Metric;
    expect(s3Metric).toMatchObject({
      Namespace: 'AWS/S3',
      MetricName: 'OperationsFailedReplication',
      Dimensions: [
        { Name: 'SourceBucket', Value: 'bodyscript-staging-uploads-111111111111-us-east-1' },
        { Name: 'DestinationBucket', Value: 'bodyscript-staging-uploads-111111111111-us-west-2' },
        { Name: 'RuleId', Value: 'ReplicateToStandby' },
      ],
    });
    expect(h.mocks.primary.s3.commandCalls(GetBucketReplicationCommand)).toHaveLength(3);
    const text = h.out.text();
    expect(text).toContain(`OK    replica bodyscript-staging-postgres-replica lag: 4s at ${LAG_AT.toISOString()}`);
    expect(text).toContain('OK    service bodyscript-staging-api scalable: registered, min 0, max 4');
    expect(text).toContain('ready to fail over');
    // Read-only.
    expect(h.mocks.standby.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  test('replica lag above the limit and broken replication are problems (exit 1)', async () => {
    const h = harness();
    ready(h);
    h.mocks.standby.rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ ...replicaInstance, StatusInfos: [{ StatusType: 'read replication', Status: 'error' }] }] });
    h.mocks.standby.cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [LAG_AT], Values: [900] }] });
    const result = await runDrStatus(h.ctx);
    expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
    expect(result.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      'replica bodyscript-staging-postgres-replica replication',
      'replica bodyscript-staging-postgres-replica lag',
    ]);
  });

  test('a bucket without replication, failed replications and a missing standby service are each reported', async () => {
    const h = harness();
    ready(h);
    h.mocks.primary.s3
      .on(GetBucketReplicationCommand, { Bucket: 'bodyscript-staging-results-111111111111-us-east-1' })
      .rejects(awsError('ReplicationConfigurationNotFoundError', 'The replication configuration was not found'));
    h.mocks.primary.cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [LAG_AT], Values: [3] }] });
    h.mocks.standby.ecs.on(DescribeServicesCommand).resolves({ services: [standbyService('api', 0, 0)], failures: [{ arn: 'bodyscript-staging-processing', reason: 'MISSING' }] });
    const result = await runDrStatus(h.ctx);
    expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
    const failing = result.checks.filter((c) => !c.ok);
    expect(failing.find((c) => c.name === 'bucket bodyscript-staging-results-111111111111-us-east-1 replication')?.detail).toMatch(/^missing resource: s3:GetReplicationConfiguration/);
    expect(failing.find((c) => c.name === 'bucket bodyscript-staging-uploads-111111111111-us-east-1 failed replications')?.detail).toBe('3 in the last hour');
    expect(failing.find((c) => c.name === 'service bodyscript-staging-processing')?.detail).toContain('missing in the standby cluster');
  });

  test('a missing replica is a finding; access denied aborts with the action named', async () => {
    const h = harness();
    ready(h);
    h.mocks.standby.rds.on(DescribeDBInstancesCommand).rejects(awsError('DBInstanceNotFound'));
    const result = await runDrStatus(h.ctx);
    expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
    expect(result.checks[0]).toMatchObject({ ok: false, detail: expect.stringContaining('missing resource: rds:DescribeDBInstances found no DB instance bodyscript-staging-postgres-replica (us-west-2)') });

    const h2 = harness();
    ready(h2);
    h2.mocks.standby.ecs.on(DescribeServicesCommand).rejects(awsError('AccessDeniedException'));
    await expect(runDrStatus(h2.ctx)).rejects.toMatchObject({ kind: 'access-denied', message: expect.stringContaining('ecs:DescribeServices') });
  });
});
