import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { GetBucketReplicationCommand } from '@aws-sdk/client-s3';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { runDrStatus } from '../../lib/ops/dr/status';
import { ExitCode } from '../../lib/ops/exit-codes';
import { deployedPlan, healthyBucketReplication, healthyReplica, healthyStandbyServices, LAG_AT, replicaInstance, standbyService } from './dr-fixtures';
import { awsError, harness, type Harness } from './helpers';

function ready(h: Harness): void {
  healthyReplica(h);
  healthyBucketReplication(h);
  healthyStandbyServices(h);
  h.mocks.standby.ecs.on(DescribeServicesCommand).resolves({ services: [standbyService('api', 0, 0), standbyService('processing', 0, 0)] });
  h.mocks.standby.ssm.on(GetParameterCommand).rejects(awsError('ParameterNotFound', 'Parameter not found'));
  h.regionSwitch.standby.addPlan(deployedPlan('staging', '111111111111'));
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
    expect(text).toContain('OK    service bodyscript-staging-api scalable: registered, min 0, max 0 (pilot light: dr failover opens it)');
    expect(text).toContain('OK    failed-over marker: not failed over');
    expect(text).toContain('OK    plan bodyscript-staging-failover evaluation: passed');
    // The plan is read in the recovery region only.
    expect(h.regionSwitch.primary.calls).toHaveLength(0);
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
    expect(result.checks.find((c) => c.area === 'database')).toMatchObject({ ok: false, detail: expect.stringContaining('missing resource: rds:DescribeDBInstances found no DB instance bodyscript-staging-postgres-replica (us-west-2)') });

    const h2 = harness();
    ready(h2);
    h2.mocks.standby.ecs.on(DescribeServicesCommand).rejects(awsError('AccessDeniedException'));
    await expect(runDrStatus(h2.ctx)).rejects.toMatchObject({ kind: 'access-denied', message: expect.stringContaining('ecs:DescribeServices') });
  });

  test('a failed-over environment, a missing plan and ARC evaluation warnings are each findings', async () => {
    const h = harness();
    ready(h);
    h.mocks.standby.ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify({ environment: 'staging', failedOverAt: '2025-06-01T10:00:00.000Z', by: 'alice', mode: 'drill' }) } });
    h.regionSwitch.standby.evaluation = {
      evaluationState: 'actionRequired',
      warnings: [
        { stepName: 'raise-api', warningStatus: 'active', warningMessage: 'service not found' },
        { warningStatus: 'resolved', warningMessage: 'old' },
      ],
    };
    const result = await runDrStatus(h.ctx);
    expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
    const failing = result.checks.filter((c) => !c.ok);
    expect(failing.map((c) => [c.name, c.detail])).toEqual([
      ['failed-over marker', 'failed over to the standby since 2025-06-01T10:00:00.000Z (drill, by alice)'],
      ['plan bodyscript-staging-failover evaluation', 'actionRequired; raise-api: service not found'],
    ]);

    const h2 = harness();
    ready(h2);
    h2.regionSwitch.standby.plans.splice(0);
    const missing = await runDrStatus(h2.ctx);
    expect(missing.checks.find((c) => c.area === 'plan' && !c.ok)?.detail).toMatch(/no Region switch plan named bodyscript-staging-failover in us-west-2/);
  });

  test('an unreadable marker is not "not failed over": access denied aborts', async () => {
    const h = harness();
    ready(h);
    h.mocks.standby.ssm.on(GetParameterCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform ssm:GetParameter'));
    await expect(runDrStatus(h.ctx)).rejects.toMatchObject({ kind: 'access-denied', message: expect.stringContaining('ssm:GetParameter on parameter /bodyscript/staging/dr/failed-over (us-west-2)') });
  });
});
