import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { GetBucketReplicationCommand } from '@aws-sdk/client-s3';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import type { EnvironmentConfig } from '../../lib/config';
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

  describe('with a domain: the failover records carry the health checks the plan sets', () => {
    const DOMAIN: NonNullable<EnvironmentConfig['domain']> = {
      hostedZoneId: 'Z0123456789ABCDEFGHIJ',
      hostedZoneName: 'bodyscript.example',
      appDomainName: 'app.staging.bodyscript.example',
      apiDomainName: 'api.staging.bodyscript.example',
    };
    const PLAN_ARN = 'arn:aws:arc-region-switch::111111111111:plan/bodyscript-staging-failover:abc123';
    const arcCheck = (region: string, healthCheckId?: string) => ({ hostedZoneId: DOMAIN.hostedZoneId, recordName: DOMAIN.apiDomainName, region, healthCheckId, status: 'healthy' });
    const record = (failover: 'PRIMARY' | 'SECONDARY', healthCheckId?: string) => ({
      Name: 'api.staging.bodyscript.example.',
      Type: 'A' as const,
      SetIdentifier: `api.staging.bodyscript.example-${failover.toLowerCase()}`,
      Failover: failover,
      HealthCheckId: healthCheckId,
      AliasTarget: { HostedZoneId: 'Z35SXDOTRQ7X7K', DNSName: 'lb.example.', EvaluateTargetHealth: true },
    });
    function withDomain(records: ReturnType<typeof record>[], checks = [arcCheck('us-east-1', 'hc-east'), arcCheck('us-west-2', 'hc-west')]) {
      const h = harness('staging', { domain: DOMAIN });
      ready(h);
      h.regionSwitch.standby.route53HealthChecks.set(PLAN_ARN, checks);
      h.mocks.route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: records, IsTruncated: false, MaxItems: 10 });
      return h;
    }

    test("each record names ARC's check of its own region: ready, and ARC was asked in the standby region for this record only", async () => {
      const h = withDomain([record('PRIMARY', 'hc-east'), record('SECONDARY', 'hc-west')]);
      const result = await runDrStatus(h.ctx);
      expect(result.checks.filter((c) => c.name.includes('record of')).map((c) => [c.name, c.ok, c.detail])).toEqual([
        ['PRIMARY record of api.staging.bodyscript.example (us-east-1)', true, "health check hc-east, ARC's check for us-east-1"],
        ['SECONDARY record of api.staging.bodyscript.example (us-west-2)', true, "health check hc-west, ARC's check for us-west-2"],
      ]);
      expect(result.exitCode).toBe(ExitCode.OK);
      expect(h.regionSwitch.standby.calls.find((c) => c.operation === 'ListRoute53HealthChecksInRegion')?.input).toEqual({ arn: PLAN_ARN, hostedZoneId: DOMAIN.hostedZoneId, recordName: DOMAIN.apiDomainName });
      expect(h.mocks.route53.commandCalls(ListResourceRecordSetsCommand)[0].args[0].input).toEqual({ HostedZoneId: DOMAIN.hostedZoneId, StartRecordName: 'api.staging.bodyscript.example.', MaxItems: 10 });
    });

    test("records with the old (alarm-calculated) check, or with the regions' checks swapped, are findings: the traffic step would not move them", async () => {
      const stale = await runDrStatus(withDomain([record('PRIMARY', 'calculated-1'), record('SECONDARY')]).ctx);
      expect(stale.exitCode).toBe(ExitCode.UNHEALTHY);
      expect(stale.checks.filter((c) => !c.ok).map((c) => c.detail)).toEqual([
        "carries health check calculated-1, but ARC's check for us-east-1 is hc-east: the plan's traffic step would not move it (the records must name the plan's checks: constructs/region-switch-plan.ts healthCheckIds(); runbooks/disaster-recovery.md)",
        expect.stringMatching(/^carries no health check, but ARC's check for us-west-2 is hc-west/),
      ]);
      const swapped = await runDrStatus(withDomain([record('PRIMARY', 'hc-west'), record('SECONDARY', 'hc-east')]).ctx);
      expect(swapped.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['PRIMARY record of api.staging.bodyscript.example (us-east-1)', 'SECONDARY record of api.staging.bodyscript.example (us-west-2)']);
    });

    test('checks ARC has not allocated yet, or a missing record, are findings too', async () => {
      const result = await runDrStatus(withDomain([record('PRIMARY', 'hc-east')], [arcCheck('us-east-1', 'hc-east'), arcCheck('us-west-2')]).ctx);
      expect(result.checks.filter((c) => !c.ok).map((c) => c.detail)).toEqual([expect.stringMatching(/^the plan has no Route 53 health check for us-west-2/)]);
      const noRecord = await runDrStatus(withDomain([record('PRIMARY', 'hc-east')]).ctx);
      expect(noRecord.checks.filter((c) => !c.ok).map((c) => c.detail)).toEqual(['no SECONDARY failover record in zone Z0123456789ABCDEFGHIJ']);
    });

    test('without a domain nothing about records is checked, and Route 53 is not called', async () => {
      const h = harness();
      ready(h);
      const result = await runDrStatus(h.ctx);
      expect(result.checks.some((c) => c.name.includes('record of'))).toBe(false);
      expect(h.mocks.route53.calls()).toHaveLength(0);
    });
  });
});
