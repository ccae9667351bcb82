import { RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeDBInstancesCommand, PromoteReadReplicaCommand } from '@aws-sdk/client-rds';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnvironmentConfig } from '../../lib/config';
import { runFailover } from '../../lib/ops/dr/failover';
import { ExitCode } from '../../lib/ops/exit-codes';
import type { FailoverReport } from '../../lib/ops/report';
import { healthyReplica, healthyStandbyServices, LAG_AT, LAG_SECONDS, promotedInstance, REPLICA } from './dr-fixtures';
import { awsError, harness, type Harness, START } from './helpers';

const DOMAIN: NonNullable<EnvironmentConfig['domain']> = {
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  hostedZoneName: 'bodyscript.example',
  appDomainName: 'app.staging.bodyscript.example',
  apiDomainName: 'api.staging.bodyscript.example',
};

function reportDir(): string {
  return mkdtempSync(join(tmpdir(), 'ops-dr-'));
}

function readReport(dir: string): { json: FailoverReport; markdown: string; files: string[] } {
  const files = readdirSync(dir).sort();
  const base = files.find((f) => f.endsWith('.json'))!.replace(/\.json$/, '');
  return { json: JSON.parse(readFileSync(join(dir, `${base}.json`), 'utf8')) as FailoverReport, markdown: readFileSync(join(dir, `${base}.md`), 'utf8'), files };
}

function ready(h: Harness): void {
  healthyReplica(h);
  healthyStandbyServices(h);
}

/** Every call that changes something, in every client. */
function mutatingCalls(h: Harness): number {
  return (
    h.mocks.standby.rds.commandCalls(PromoteReadReplicaCommand).length +
    h.mocks.standby.ecs.commandCalls(UpdateServiceCommand).length +
    h.mocks.standby.autoScaling.commandCalls(RegisterScalableTargetCommand).length
  );
}

const EXECUTE = { execute: true, confirm: 'staging', intervalSeconds: 15 } as const;

describe('ops dr failover', () => {
  test('dry run prints the full plan, previews the replica and changes nothing (no report)', async () => {
    const h = harness();
    ready(h);
    const dir = reportDir();
    const result = await runFailover(h.ctx, { execute: false, reportDir: dir });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(mutatingCalls(h)).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
    const text = h.out.text();
    expect(text).toContain('Failover plan for staging: us-east-1 → us-west-2');
    expect(text).toContain(`PromoteReadReplica ${REPLICA} (backup retention 7 days)`);
    expect(text).toContain('RegisterScalableTarget service/bodyscript-staging/bodyscript-staging-api min 1 max 4 (scaling resumed); UpdateService desiredCount 1');
    expect(text).toContain('6. dns: skipped (no domain configured)');
    expect(text).toContain(`lag ${LAG_SECONDS}s`);
    expect(text).toContain('To fail over: --execute --confirm staging');
    expect(text).toContain(`to ${join(dir, 'dr-staging-<timestamp>')}.md and .json`);
  });

  test('a mismatched --confirm is refused before any AWS call', async () => {
    const h = harness();
    ready(h);
    const dir = reportDir();
    await expect(runFailover(h.ctx, { execute: true, confirm: 'production', reportDir: dir })).rejects.toMatchObject({
      kind: 'usage',
      exitCode: ExitCode.USAGE,
      message: "--confirm 'production' does not match --env 'staging': type the environment name again to fail over; nothing was done",
    });
    await expect(runFailover(h.ctx, { execute: true, reportDir: dir })).rejects.toThrow('--confirm is required with --execute');
    expect(h.mocks.sts.calls()).toHaveLength(0);
    expect(h.mocks.standby.rds.calls()).toHaveLength(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('--execute --confirm: promotes, raises the services, waits for healthy targets and reports RTO and the data-loss window', async () => {
    const h = harness();
    ready(h);
    const dir = reportDir();
    const result = await runFailover(h.ctx, { ...EXECUTE, reportDir: dir });
    expect(result.exitCode).toBe(ExitCode.OK);

    expect(h.mocks.standby.rds.commandCalls(PromoteReadReplicaCommand)[0].args[0].input).toEqual({ DBInstanceIdentifier: REPLICA, BackupRetentionPeriod: 7 });
    expect(h.mocks.standby.autoScaling.commandCalls(RegisterScalableTargetCommand).map((c) => c.args[0].input)).toEqual([
      { ServiceNamespace: 'ecs', ResourceId: 'service/bodyscript-staging/bodyscript-staging-api', ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: 1, MaxCapacity: 4, SuspendedState: { DynamicScalingInSuspended: false, DynamicScalingOutSuspended: false, ScheduledScalingSuspended: false } },
      { ServiceNamespace: 'ecs', ResourceId: 'service/bodyscript-staging/bodyscript-staging-processing', ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: 1, MaxCapacity: 4, SuspendedState: { DynamicScalingInSuspended: false, DynamicScalingOutSuspended: false, ScheduledScalingSuspended: false } },
    ]);
    expect(h.mocks.standby.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: 'bodyscript-staging', service: 'bodyscript-staging-api', desiredCount: 1 },
      { cluster: 'bodyscript-staging', service: 'bodyscript-staging-processing', desiredCount: 1 },
    ]);
    // Nothing is changed in the primary region, which may be down.
    expect(h.mocks.primary.rds.calls()).toHaveLength(0);
    expect(h.mocks.primary.ecs.calls()).toHaveLength(0);

    const { json, markdown, files } = readReport(dir);
    expect(files).toEqual(['dr-staging-20250601T120000Z.json', 'dr-staging-20250601T120000Z.md']);
    expect(json).toMatchObject({ environment: 'staging', outcome: 'succeeded', exitCode: 0, standbyRegion: 'us-west-2', endpoints: ['bs-stg-standby-123.us-west-2.elb.amazonaws.com'] });
    // One 15 s poll while the replica was 'modifying'; everything else was ready at the first look.
    expect(json.rtoSeconds).toBe(15);
    expect(json.dataLoss).toMatchObject({
      replicaLagSecondsAtPromotion: LAG_SECONDS,
      lagMeasuredAt: LAG_AT.toISOString(),
      lastReplicatedAt: new Date(LAG_AT.getTime() - LAG_SECONDS * 1000).toISOString(),
    });
    expect(json.steps.map((s) => [s.name, s.status])).toEqual([
      ['preflight', 'succeeded'],
      ['check-replica', 'succeeded'],
      ['promote-replica', 'succeeded'],
      ['scale-services', 'succeeded'],
      ['target-health', 'succeeded'],
      ['dns', 'skipped'],
    ]);
    expect(json.steps[2].elapsedSeconds).toBe(15);
    expect(markdown).toContain('| outcome | **SUCCEEDED** |');
    expect(markdown).toContain('| RTO (start → healthy) | 15 s |');
    expect(markdown).toContain(`| replica lag at promotion | ${LAG_SECONDS} s |`);
    expect(h.out.lines.some((l) => /^\[\+00m15s\] step 4\/6 scale-services/.test(l))).toBe(true);
  });

  test('with a domain, the Route 53 failover records are checked (and not rewritten)', async () => {
    const h = harness('staging', { domain: DOMAIN });
    ready(h);
    h.mocks.route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        { Name: 'api.staging.bodyscript.example.', Type: 'A', Failover: 'PRIMARY', SetIdentifier: 'primary', HealthCheckId: 'hc-1' },
        { Name: 'api.staging.bodyscript.example.', Type: 'A', Failover: 'SECONDARY', SetIdentifier: 'standby' },
      ],
      IsTruncated: false,
      MaxItems: 10,
    });
    const dir = reportDir();
    const result = await runFailover(h.ctx, { ...EXECUTE, reportDir: dir });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(h.mocks.route53.commandCalls(ListResourceRecordSetsCommand)[0].args[0].input).toMatchObject({ HostedZoneId: DOMAIN.hostedZoneId, StartRecordName: 'api.staging.bodyscript.example.' });
    expect(readReport(dir).json.steps[5]).toMatchObject({ name: 'dns', status: 'succeeded', detail: [expect.stringContaining('health check hc-1')] });
  });

  type FailureCase = {
    step: string;
    exitCode: number;
    error: RegExp;
    arrange: (h: Harness) => void;
    /** Calls that must not have happened because they belong to later steps. */
    notCalled: (h: Harness) => number;
  };

  const failures: FailureCase[] = [
    {
      step: 'preflight',
      exitCode: ExitCode.AWS_ERROR,
      error: /^no AWS credentials found/,
      arrange: (h) => h.mocks.sts.on(GetCallerIdentityCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers')),
      notCalled: (h) => h.mocks.standby.rds.calls().length,
    },
    {
      step: 'check-replica',
      exitCode: ExitCode.AWS_ERROR,
      error: /^missing resource: rds:DescribeDBInstances found no DB instance bodyscript-staging-postgres-replica \(us-west-2\)/,
      arrange: (h) => h.mocks.standby.rds.on(DescribeDBInstancesCommand).rejects(awsError('DBInstanceNotFound', 'DBInstance not found')),
      notCalled: (h) => mutatingCalls(h),
    },
    {
      step: 'promote-replica',
      exitCode: ExitCode.AWS_ERROR,
      error: /^access denied: rds:PromoteReadReplica on DB instance bodyscript-staging-postgres-replica \(us-west-2\)/,
      arrange: (h) => h.mocks.standby.rds.on(PromoteReadReplicaCommand).rejects(awsError('AccessDenied', 'not authorized to perform rds:PromoteReadReplica')),
      notCalled: (h) => h.mocks.standby.ecs.calls().length + h.mocks.standby.autoScaling.calls().length,
    },
    {
      step: 'scale-services',
      exitCode: ExitCode.AWS_ERROR,
      error: /^missing resource: ecs:UpdateService found no ECS service bodyscript-staging-api in cluster bodyscript-staging \(us-west-2\)/,
      arrange: (h) => h.mocks.standby.ecs.on(UpdateServiceCommand).rejects(awsError('ServiceNotFoundException', 'Service not found.')),
      notCalled: (h) => h.mocks.standby.elbv2.commandCalls(DescribeTargetHealthCommand).length,
    },
    {
      step: 'target-health',
      exitCode: ExitCode.TIMEOUT,
      error: /^timed out after 10m00s waiting for standby target groups to report healthy targets \(last status: bs-stg-api 0\/1 healthy/,
      arrange: (h) => h.mocks.standby.elbv2.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: 'unhealthy', Reason: 'Target.FailedHealthChecks' } }] }),
      notCalled: (h) => h.mocks.route53.calls().length,
    },
    {
      step: 'dns',
      exitCode: ExitCode.UNHEALTHY,
      error: /^api\.staging\.bodyscript\.example has no Route 53 failover record pair/,
      arrange: (h) => h.mocks.route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [{ Name: 'api.staging.bodyscript.example.', Type: 'A' }], IsTruncated: false, MaxItems: 10 }),
      notCalled: () => 0,
    },
  ];

  test.each(failures)('failure at step $step: stops safely, later steps not run, report written with the failure', async (c) => {
    const h = harness('staging', { domain: DOMAIN });
    ready(h);
    c.arrange(h);
    const dir = reportDir();
    const result = await runFailover(h.ctx, { ...EXECUTE, reportDir: dir });
    expect(result.exitCode).toBe(c.exitCode);
    expect(c.notCalled(h)).toBe(0);

    const { json, markdown } = readReport(dir);
    expect(json).toMatchObject({ outcome: 'failed', failedStep: c.step, exitCode: c.exitCode, rtoSeconds: null });
    expect(json.error).toMatch(c.error);
    const index = json.steps.findIndex((s) => s.name === c.step);
    expect(json.steps[index].status).toBe('failed');
    expect(json.steps.slice(0, index).every((s) => s.status === 'succeeded' || s.status === 'skipped')).toBe(true);
    expect(json.steps.slice(index + 1).every((s) => s.status === 'not-run')).toBe(true);
    expect(markdown).toContain(`(failed at step \`${c.step}\`)`);
    expect(h.out.errors.join('\n')).toContain(`step ${c.step} FAILED`);
    expect(h.out.errors.join('\n')).toContain('stopped safely: no further step was attempted');
  });

  test('a promotion that never completes times out; the services are not raised', async () => {
    const h = harness();
    ready(h);
    h.mocks.standby.rds.on(DescribeDBInstancesCommand).resolvesOnce({ DBInstances: [{ ...promotedInstance, ReadReplicaSourceDBInstanceIdentifier: 'x' }] }).resolves({
      DBInstances: [{ ...promotedInstance, DBInstanceStatus: 'modifying', ReadReplicaSourceDBInstanceIdentifier: 'x' }],
    });
    const dir = reportDir();
    const result = await runFailover(h.ctx, { ...EXECUTE, reportDir: dir, promoteTimeoutMinutes: 5 });
    expect(result.exitCode).toBe(ExitCode.TIMEOUT);
    expect(h.mocks.standby.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    const { json } = readReport(dir);
    expect(json.failedStep).toBe('promote-replica');
    // The data-loss window was recorded before promotion was requested, so it survives the failure.
    expect(json.dataLoss.replicaLagSecondsAtPromotion).toBe(LAG_SECONDS);
  });

  test('a re-run after an already completed promotion skips PromoteReadReplica and carries on', async () => {
    const h = harness();
    ready(h);
    h.mocks.standby.rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [promotedInstance] });
    const dir = reportDir();
    const result = await runFailover(h.ctx, { ...EXECUTE, reportDir: dir });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(h.mocks.standby.rds.commandCalls(PromoteReadReplicaCommand)).toHaveLength(0);
    const { json } = readReport(dir);
    expect(json.steps[2]).toMatchObject({ name: 'promote-replica', status: 'skipped' });
    expect(json.dataLoss.replicaLagSecondsAtPromotion).toBeNull();
    expect(json.dataLoss.note).toContain('already been promoted before this run');
  });

  test('throttling during the failover is retried and the run still succeeds', async () => {
    const h = harness();
    ready(h);
    h.mocks.standby.rds.on(PromoteReadReplicaCommand).rejectsOnce(awsError('Throttling', 'Rate exceeded')).resolves({});
    h.mocks.standby.elbv2
      .on(DescribeTargetHealthCommand)
      .rejectsOnce(awsError('ThrottlingException'))
      .resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: 'healthy' } }] });
    const result = await runFailover(h.ctx, { ...EXECUTE, reportDir: reportDir() });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(h.mocks.standby.rds.commandCalls(PromoteReadReplicaCommand)).toHaveLength(2);
    expect(h.mocks.standby.elbv2.commandCalls(DescribeTargetHealthCommand)).toHaveLength(3);
    expect(h.out.text()).toContain('rds:PromoteReadReplica throttled (attempt 1/4); retrying in 1s');
    expect(h.out.text()).toContain('elasticloadbalancing:DescribeTargetHealth throttled (attempt 1/4)');
  });

  test('no ReplicaLag datapoint: the failover proceeds and the report says the window is unknown', async () => {
    const h = harness();
    ready(h);
    h.mocks.standby.cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm', Timestamps: [], Values: [] }] });
    const dir = reportDir();
    const result = await runFailover(h.ctx, { ...EXECUTE, reportDir: dir });
    expect(result.exitCode).toBe(ExitCode.OK);
    const { json, markdown } = readReport(dir);
    expect(json.dataLoss.replicaLagSecondsAtPromotion).toBeNull();
    expect(json.dataLoss.note).toContain('data-loss window is unknown');
    expect(markdown).toContain('| replica lag at promotion | unknown |');
  });

  test('the report timestamps come from the injected clock', async () => {
    const h = harness();
    ready(h);
    const dir = reportDir();
    await runFailover(h.ctx, { ...EXECUTE, reportDir: dir });
    expect(readReport(dir).json.startedAt).toBe(new Date(START).toISOString());
  });
});
