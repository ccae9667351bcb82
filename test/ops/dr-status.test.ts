import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { GetBucketReplicationCommand } from '@aws-sdk/client-s3';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import type { EnvironmentConfig } from '../../lib/config';
import type { Plan } from '../../lib/ops/dr/region-switch-client';
import { runDrStatus } from '../../lib/ops/dr/status';
import { ExitCode } from '../../lib/ops/exit-codes';
import { deployedPlan, healthyBucketReplication, healthyReplica, healthyStandbyServices, LAG_AT, replicaInstance, standbyService } from './dr-fixtures';
import { awsError, harness, type Harness } from './helpers';

const DOMAIN: NonNullable<EnvironmentConfig['domain']> = {
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  hostedZoneName: 'bodyscript.example',
  appDomainName: 'app.staging.bodyscript.example',
  apiDomainName: 'api.staging.bodyscript.example',
};

function ready(h: Harness): void {
  healthyReplica(h);
  healthyBucketReplication(h);
  healthyStandbyServices(h);
  h.mocks.standby.ecs.on(DescribeServicesCommand).resolves({ services: [standbyService('api', 0, 0), standbyService('processing', 0, 0)] });
  h.mocks.standby.ssm.on(GetParameterCommand).rejects(awsError('ParameterNotFound', 'Parameter not found'));
  h.regionSwitch.standby.addPlan(deployedPlan('staging', '111111111111'));
}

/**
 * Staging given a domain: its standby stack would deploy the workflows
 * production's does (same regions, same steps: switch-traffic in the
 * failover, and the failback workflow), which the synthesized production plan
 * holds. Replaces the plan ready() put in us-west-2, keeping its ARN.
 */
function withDomainWorkflows(h: Harness, edit: (workflows: Plan['workflows']) => Plan['workflows'] = (w) => w): Plan {
  const plan = { ...deployedPlan('staging', '111111111111'), workflows: edit(deployedPlan('production', '222222222222').workflows) };
  h.regionSwitch.standby.plans.splice(0, h.regionSwitch.standby.plans.length, plan);
  return plan;
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
    expect(text).toContain(
      'OK    plan bodyscript-staging-failover failover workflow (activate us-west-2): promote-replica (RdsPromoteReadReplica) → raise-services (Parallel: raise-api (ECSServiceScaling), raise-processing (ECSServiceScaling))',
    );
    expect(text).toContain('OK    plan bodyscript-staging-failover failback workflow (activate us-east-1): none, as deployed without a domain');
    // The plan is read once, in the recovery region only, with ARC's data-plane operations.
    expect(h.regionSwitch.standby.calls.map((c) => c.operation)).toEqual(['ListPlansInRegion', 'GetPlanInRegion', 'GetPlanEvaluationStatus']);
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

  describe("the plan's workflows: each one a drill runs exists, with the steps the standby stack deploys", () => {
    const FAILOVER = 'plan bodyscript-staging-failover failover workflow (activate us-west-2)';
    const FAILBACK = 'plan bodyscript-staging-failover failback workflow (activate us-east-1)';
    const plan = () => deployedPlan('staging', '111111111111');
    const replacePlan = (h: Harness, p: Plan) => h.regionSwitch.standby.plans.splice(0, h.regionSwitch.standby.plans.length, p);

    test('a plan without the failover workflow is a FAIL line naming what cannot run, and everything else is still reported (exit 1)', async () => {
      const h = harness();
      ready(h);
      const p = plan();
      replacePlan(h, { ...p, workflows: p.workflows.filter((w) => w.workflowTargetRegion !== 'us-west-2') });
      const result = await runDrStatus(h.ctx);
      expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
      expect(result.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail])).toEqual([
        [FAILOVER, 'missing: no workflow activates us-west-2: ARC cannot start the failover (dr failover, the drills); deploy BodyScript-Staging-Standby (refused while failed over) to restore the plan'],
      ]);
      // The report went on: the database, storage and standby were all checked.
      expect(new Set(result.checks.map((c) => c.area))).toEqual(new Set(['plan', 'database', 'storage', 'standby']));
      expect(h.out.errors.join('\n')).toContain(`1 problem(s): ${FAILOVER}`);
      // What the verdict stands for: ARC refuses to start an execution towards a region the plan has no workflow for.
      await expect(h.regionSwitch.standby.startPlanExecution({ planArn: p.arn, targetRegion: 'us-west-2', action: 'activate', mode: 'graceful' })).rejects.toMatchObject({
        name: 'IllegalArgumentException',
      });
    });

    test('a failover workflow with other steps than the standby stack deploys is a FAIL line showing both', async () => {
      const h = harness();
      ready(h);
      const p = plan();
      // Deployed before the processing service was raised by the plan.
      const [promote, raise] = p.workflows[0].steps;
      replacePlan(h, { ...p, workflows: [{ ...p.workflows[0], steps: [promote, { ...raise, steps: raise.steps!.filter((x) => x.name === 'raise-api') }] }] });
      const result = await runDrStatus(h.ctx);
      expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
      expect(result.checks.find((c) => c.name === FAILOVER)).toEqual({
        area: 'plan',
        name: FAILOVER,
        ok: false,
        detail:
          'steps promote-replica (RdsPromoteReadReplica) → raise-services (Parallel: raise-api (ECSServiceScaling)), but the standby stack deploys promote-replica (RdsPromoteReadReplica) → raise-services (Parallel: raise-api (ECSServiceScaling), raise-processing (ECSServiceScaling)) (constructs/region-switch-plan.ts); deploy BodyScript-Staging-Standby (refused while failed over) to restore the plan',
      });
    });

    test('without a domain a failback workflow in the plan is a FAIL: the plan is not the one the standby stack deploys', async () => {
      const h = harness();
      ready(h);
      const p = plan();
      replacePlan(h, { ...p, workflows: [...p.workflows, { workflowTargetAction: 'activate', workflowTargetRegion: 'us-east-1', steps: [{ name: 'return-traffic', executionBlockType: 'Route53HealthCheck' }] }] });
      const result = await runDrStatus(h.ctx);
      expect(result.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail])).toEqual([
        [FAILBACK, expect.stringMatching(/^unexpected: staging has no domain, so its standby stack deploys no failback workflow, but the plan has one \(return-traffic \(Route53HealthCheck\)\)/)],
      ]);
    });

    test('ARC answering GetPlanInRegion with ResourceNotFoundException (a plan listed but gone) is one FAIL line; no workflow is guessed', async () => {
      const h = harness();
      ready(h);
      h.regionSwitch.standby.refusals.set('GetPlanInRegion', { name: 'ResourceNotFoundException', message: 'The specified resource was not found.', status: 404 });
      const result = await runDrStatus(h.ctx);
      expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
      expect(result.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail])).toEqual([
        [
          'Region switch plan in us-west-2',
          'missing resource: arc-region-switch:GetPlanInRegion found no Region switch plan arn:aws:arc-region-switch::111111111111:plan/bodyscript-staging-failover:abc123 (us-west-2) (ResourceNotFoundException: The specified resource was not found.). Is the stack deployed in account 111111111111, region us-west-2?',
        ],
      ]);
      expect(result.checks.some((c) => c.name.includes('workflow'))).toBe(false);
    });

    test('access denied on GetPlanInRegion aborts with the action named (then we know nothing about the plan)', async () => {
      const h = harness();
      ready(h);
      h.regionSwitch.standby.refusals.set('GetPlanInRegion', { name: 'AccessDeniedException', message: 'User is not authorized to perform arc-region-switch:GetPlanInRegion', status: 403 });
      await expect(runDrStatus(h.ctx)).rejects.toMatchObject({ kind: 'access-denied', message: expect.stringContaining('arc-region-switch:GetPlanInRegion on Region switch plan') });
    });
  });

  describe('with a domain: the failover records carry the health checks the plan sets', () => {
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
      withDomainWorkflows(h);
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

    test('with a domain the failover ends with switch-traffic and the failback workflow moves the api back only; the plan is read once', async () => {
      const h = withDomain([record('PRIMARY', 'hc-east'), record('SECONDARY', 'hc-west')]);
      const result = await runDrStatus(h.ctx);
      expect(result.exitCode).toBe(ExitCode.OK);
      expect(result.checks.filter((c) => c.name.includes('workflow')).map((c) => [c.name, c.ok, c.detail])).toEqual([
        [
          'plan bodyscript-staging-failover failover workflow (activate us-west-2)',
          true,
          'promote-replica (RdsPromoteReadReplica) → raise-services (Parallel: raise-api (ECSServiceScaling), raise-processing (ECSServiceScaling)) → switch-traffic (Route53HealthCheck)',
        ],
        ['plan bodyscript-staging-failover failback workflow (activate us-east-1)', true, 'return-traffic (Route53HealthCheck)'],
      ]);
      expect(h.regionSwitch.standby.calls.map((c) => c.operation)).toEqual(['ListPlansInRegion', 'GetPlanInRegion', 'GetPlanEvaluationStatus', 'ListRoute53HealthChecksInRegion']);
    });

    test('with a domain, a missing failback workflow, one that would promote on the way back, or a failover without switch-traffic are each FAIL', async () => {
      const failing = async (edit: (w: Plan['workflows']) => Plan['workflows']) => {
        const h = withDomain([record('PRIMARY', 'hc-east'), record('SECONDARY', 'hc-west')]);
        withDomainWorkflows(h, edit);
        const result = await runDrStatus(h.ctx);
        expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
        return result.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]);
      };
      // Deployed before the failback workflow existed.
      expect(await failing((w) => w.filter((x) => x.workflowTargetRegion !== 'us-east-1'))).toEqual([
        [
          'plan bodyscript-staging-failover failback workflow (activate us-east-1)',
          'missing: no workflow activates us-east-1: dr failback --move-traffic cannot move api.staging.bodyscript.example back after a failover; deploy BodyScript-Staging-Standby (refused while failed over) to restore the plan',
        ],
      ]);
      expect(
        await failing((w) => w.map((x) => (x.workflowTargetRegion === 'us-east-1' ? { ...x, steps: [...x.steps, { name: 'promote-replica', executionBlockType: 'RdsPromoteReadReplica' }] } : x))),
      ).toEqual([['plan bodyscript-staging-failover failback workflow (activate us-east-1)', expect.stringMatching(/^steps return-traffic \(Route53HealthCheck\) → promote-replica \(RdsPromoteReadReplica\), but the standby stack deploys return-traffic \(Route53HealthCheck\) /)]]);
      expect(await failing((w) => w.map((x) => (x.workflowTargetRegion === 'us-west-2' ? { ...x, steps: x.steps.filter((s) => s.name !== 'switch-traffic') } : x)))).toEqual([
        ['plan bodyscript-staging-failover failover workflow (activate us-west-2)', expect.stringMatching(/but the standby stack deploys .* → switch-traffic \(Route53HealthCheck\) \(constructs\/region-switch-plan.ts\)/)],
      ]);
    });

    test('during a us-east-1 outage the plan and both workflows are read in us-west-2 and reported; what lives in us-east-1 is a FAIL line, not an abort', async () => {
      const h = withDomain([record('PRIMARY', 'hc-east'), record('SECONDARY', 'hc-west')]);
      const down = Object.assign(new Error('getaddrinfo ENOTFOUND us-east-1.amazonaws.com'), { name: 'NetworkingError', code: 'ENOTFOUND' });
      // reset() first: a behaviour set for one command and input (the healthy bucket rules) would otherwise still answer.
      for (const mock of [...Object.values(h.mocks.primary), h.mocks.route53] as { reset(): unknown; onAnyCommand(): { rejects(e: Error): unknown } }[]) {
        mock.reset();
        mock.onAnyCommand().rejects(down);
      }
      h.regionSwitch.primary.unreachable = true;
      const result = await runDrStatus(h.ctx);
      expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
      expect(result.checks.filter((c) => c.name.includes('workflow')).map((c) => c.ok)).toEqual([true, true]);
      expect(result.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail.replace(/ \(.*/, '')])).toEqual([
        ['failover records of api.staging.bodyscript.example', 'could not reach AWS for route53:ListResourceRecordSets on records api.staging.bodyscript.example in hosted zone Z0123456789ABCDEFGHIJ'],
        ...['uploads', 'results', 'frontend'].map((p) => [
          `bucket bodyscript-staging-${p}-111111111111-us-east-1 replication`,
          `could not reach AWS for s3:GetReplicationConfiguration on bucket bodyscript-staging-${p}-111111111111-us-east-1`,
        ]),
      ]);
      // No Region switch call went to us-east-1, and those in us-west-2 are data-plane operations only (never GetPlan, which the SDKs send to the control plane in us-east-1).
      expect(h.regionSwitch.primary.calls).toHaveLength(0);
      expect(h.regionSwitch.standby.calls.map((c) => c.operation)).toEqual(['ListPlansInRegion', 'GetPlanInRegion', 'GetPlanEvaluationStatus', 'ListRoute53HealthChecksInRegion']);
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
