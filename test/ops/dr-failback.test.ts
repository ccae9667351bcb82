import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { DeleteParameterCommand, GetParameterCommand } from '@aws-sdk/client-ssm';
import { FAILBACK_FOLLOW_MINUTES, runFailback } from '../../lib/ops/dr/failback';
import { OPS_CALLS_MINUTES, opsCommandWorstCase } from '../../lib/ops/durations';
import type { Plan } from '../../lib/ops/dr/region-switch-client';
import { ExitCode } from '../../lib/ops/exit-codes';
import { deployedPlan, newWorld, wireWorld, type World } from './dr-fixtures';
import { awsError, type Harness, harness } from './helpers';

const MARKER = JSON.stringify({ environment: 'production', failedOverAt: '2025-06-01T10:00:00.000Z', by: 'arn:aws:sts::222222222222:assumed-role/Operator/alice', mode: 'recovery', executionId: 'exec1' });

describe('ops dr failback', () => {
  test('prints ordered guidance with the real names and makes no AWS call', async () => {
    const h = harness('production');
    const result = await runFailback(h.ctx);
    expect(result.exitCode).toBe(ExitCode.OK);
    const text = h.out.text();
    expect(text).toContain('Failback of production: us-west-2 → us-east-1. Guidance: this command changes nothing');
    expect(text).toContain('--source-db-instance-identifier arn:aws:rds:us-west-2:222222222222:db:bodyscript-production-postgres-replica');
    expect(text).toContain('npm run ops -- dr failback --env production --execute --confirm production');
    expect(text).toContain('--min-capacity 0 --max-capacity 0');
    // The replica back in us-east-1 goes into the environment's VPC: without a subnet group RDS uses the default VPC.
    expect(text).toMatch(/--db-instance-identifier bodyscript-production-postgres --source-db-instance-identifier [^;]* --db-subnet-group-name <the BodyScript-Production-Data stack's database subnet group> --vpc-security-group-ids /);
    expect(text).toContain('bodyscript-production-uploads-222222222222-us-west-2');
    // Ordered: replication back, promotion back, the marker cleared, the primary deployed, the standby rebuilt.
    const order = ['Re-establish replication', 'Promote the replica in us-east-1', 'Clear the failed-over marker', 'Bring the primary back', 'Recreate the standby replica'].map((s) =>
      text.indexOf(s),
    );
    expect(order.every((pos, i) => pos > 0 && (i === 0 || pos > order[i - 1]))).toBe(true);
    for (const mock of [...Object.values(h.mocks.primary), ...Object.values(h.mocks.standby), h.mocks.route53]) expect(mock.calls()).toHaveLength(0);
  });

  test('--execute clears the marker once the primary database is a writable primary again', async () => {
    const h = harness('production');
    const world = newWorld('production');
    wireWorld(h, world);
    world.marker = MARKER;
    h.mocks.primary.rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: 'bodyscript-production-postgres', DBInstanceStatus: 'available' }] });
    const result = await runFailback(h.ctx, { execute: true, confirm: 'production' });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(world.marker).toBeUndefined();
    expect(h.out.text()).toContain('/bodyscript/production/dr/failed-over deleted: deploys of production are allowed again');
  });

  test.each([
    ['still a read replica of the standby', { DBInstanceStatus: 'available', ReadReplicaSourceDBInstanceIdentifier: 'arn:aws:rds:us-west-2:222222222222:db:bodyscript-production-postgres-replica' }, /still a read replica of/],
    ['not available yet', { DBInstanceStatus: 'modifying' }, /is 'modifying', not a writable primary/],
  ])('--execute keeps the marker while the primary database is %s', async (_case, instance, message) => {
    const h = harness('production');
    const world = newWorld('production');
    wireWorld(h, world);
    world.marker = MARKER;
    h.mocks.primary.rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: 'bodyscript-production-postgres', ...instance }] });
    await expect(runFailback(h.ctx, { execute: true, confirm: 'production' })).rejects.toThrow(message);
    expect(world.marker).toBe(MARKER);
    expect(h.mocks.standby.ssm.commandCalls(DeleteParameterCommand)).toHaveLength(0);
  });

  test('--execute without a marker changes nothing; without --confirm it is refused before any call', async () => {
    const h = harness('production');
    wireWorld(h, newWorld('production'));
    expect((await runFailback(h.ctx, { execute: true, confirm: 'production' })).exitCode).toBe(ExitCode.OK);
    expect(h.out.text()).toContain('not failed over, nothing to clear');
    expect(h.mocks.primary.rds.calls()).toHaveLength(0);
    const other = harness('production');
    await expect(runFailback(other.ctx, { execute: true })).rejects.toMatchObject({ kind: 'usage', message: expect.stringContaining('--confirm is required with --execute') });
    expect(other.mocks.standby.sts.calls()).toHaveLength(0);
  });
});

const PRODUCTION_ZONE = 'Z0PRODUCTIONZONEPLACEHOLDER';
const API = 'api.bodyscript.example';
const MOVE = { moveTraffic: true, execute: true, confirm: 'production', intervalSeconds: 15 } as const;

/**
 * Production after a failover, at the failback's traffic step: the database is
 * back in us-east-1 (a writable primary), the marker cleared, and ARC's checks
 * still send the api to us-west-2. The plan is the one the Standby stack
 * deploys (read from the synthesized template): ARC lists it in both regions,
 * and its return-traffic step sets the two checks the other way round.
 */
function afterFailover(plan?: (p: Plan) => Plan): { h: Harness; world: World; plan: Plan } {
  const h = harness('production');
  const world = newWorld('production');
  wireWorld(h, world);
  world.dnsOnStandby = true;
  h.mocks.primary.rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: 'bodyscript-production-postgres', DBInstanceStatus: 'available' }] });
  const deployed = deployedPlan('production', h.config.standby.account);
  const chosen = plan ? plan(deployed) : deployed;
  const checks = (east: string, west: string) => [
    { hostedZoneId: PRODUCTION_ZONE, recordName: API, region: 'us-east-1', healthCheckId: 'hc-us-east-1', status: east },
    { hostedZoneId: PRODUCTION_ZONE, recordName: API, region: 'us-west-2', healthCheckId: 'hc-us-west-2', status: west },
  ];
  for (const arc of [h.regionSwitch.primary, h.regionSwitch.standby]) {
    arc.addPlan(chosen);
    arc.route53HealthChecks.set(chosen.arn, checks('unhealthy', 'healthy'));
    arc.behaviour.set('return-traffic', {
      seconds: 60,
      run: () => {
        for (const a of [h.regionSwitch.primary, h.regionSwitch.standby]) a.route53HealthChecks.set(chosen.arn, checks('healthy', 'unhealthy'));
        world.dnsOnStandby = false;
        return { ok: true };
      },
    });
  }
  return { h, world, plan: chosen };
}

function started(h: Harness) {
  return [h.regionSwitch.primary, h.regionSwitch.standby].flatMap((arc) => arc.calls.filter((c) => c.operation === 'StartPlanExecution'));
}

/** Calls to the standby region other than reading the marker (the only thing the failback reads there). */
function standbyCallsBeyondTheMarker(h: Harness): string[] {
  const sdk = Object.entries(h.mocks.standby).flatMap(([client, mock]) =>
    mock
      .calls()
      .map((c) => `${client}:${(c.args[0] as { constructor: { name: string } }).constructor.name}`)
      .filter((name) => name !== 'ssm:GetParameterCommand'),
  );
  return [...sdk, ...h.regionSwitch.standby.calls.map((c) => `arc:${c.operation}`)];
}

describe('ops dr failback --move-traffic', () => {
  test('the deployed production plan has the failback workflow: it activates us-east-1 with the return-traffic step alone', () => {
    const plan = deployedPlan('production', '222222222222');
    expect(plan.workflows.map((w) => [w.workflowTargetAction, w.workflowTargetRegion, w.steps.map((x) => `${x.name}:${x.executionBlockType}`)])).toEqual([
      ['activate', 'us-west-2', ['promote-replica:RdsPromoteReadReplica', 'raise-services:Parallel', 'switch-traffic:Route53HealthCheck']],
      ['activate', 'us-east-1', ['return-traffic:Route53HealthCheck']],
    ]);
  });

  test('dry run: reads the marker (us-west-2), the primary database and the plan and its checks (us-east-1), starts nothing', async () => {
    const { h, world } = afterFailover();
    const result = await runFailback(h.ctx, { moveTraffic: true, execute: false });
    expect(result.exitCode).toBe(ExitCode.OK);
    const text = h.out.text();
    expect(text).toContain('ARC in us-east-1, the marker in us-west-2');
    expect(text).toContain('failback workflow activates us-east-1: return-traffic (Route53HealthCheck)');
    expect(text).toContain("ARC's health checks now: us-east-1 hc-us-east-1 unhealthy, us-west-2 hc-us-west-2 healthy");
    expect(text).toContain('activate us-east-1, mode graceful, in us-east-1');
    expect(text).toContain('Dry run: nothing was changed. To move the traffic: --move-traffic --execute --confirm production');
    expect(started(h)).toHaveLength(0);
    expect(world.dnsOnStandby).toBe(true);
    expect(standbyCallsBeyondTheMarker(h)).toEqual([]);
    expect(h.mocks.route53.calls()).toHaveLength(0);
  });

  test('--execute: one graceful execution, started and followed in us-east-1, runs only return-traffic and moves the api back', async () => {
    const { h, world, plan } = afterFailover();
    const result = await runFailback(h.ctx, MOVE);
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(world.dnsOnStandby).toBe(false);
    expect(started(h)).toEqual([
      {
        operation: 'StartPlanExecution',
        input: { planArn: plan.arn, targetRegion: 'us-east-1', action: 'activate', mode: 'graceful', comment: expect.stringContaining('dr failback --env production --move-traffic') },
      },
    ]);
    const execution = await h.regionSwitch.primary.getPlanExecution(plan.arn, 'exec1');
    expect(execution.executionState).toBe('completed');
    // Nothing of the failover workflow ran on the way back: no promotion, no scaling.
    expect(execution.stepStates.map((x) => x.name)).toEqual(['return-traffic']);
    expect(world.replica.promoted).toBe(false);
    expect(Object.values(world.services).map((x) => x.desired)).toEqual([0, 0]);
    expect(h.out.text()).toContain('api.bodyscript.example is back on us-east-1: us-east-1 hc-us-east-1 healthy, us-west-2 hc-us-west-2 unhealthy');
    // Every ARC call in us-east-1 (the region it activates); in us-west-2 only the marker is read; no Route 53 call.
    expect(standbyCallsBeyondTheMarker(h)).toEqual([]);
    expect(h.mocks.standby.ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(h.mocks.route53.calls()).toHaveLength(0);
  });

  test('starts nothing when ARC already sends the api to us-east-1', async () => {
    const { h, plan } = afterFailover();
    h.regionSwitch.primary.route53HealthChecks.set(plan.arn, [
      { hostedZoneId: PRODUCTION_ZONE, recordName: API, region: 'us-east-1', healthCheckId: 'hc-us-east-1', status: 'healthy' },
      { hostedZoneId: PRODUCTION_ZONE, recordName: API, region: 'us-west-2', healthCheckId: 'hc-us-west-2', status: 'unhealthy' },
    ]);
    expect((await runFailback(h.ctx, MOVE)).exitCode).toBe(ExitCode.OK);
    expect(h.out.text()).toContain('already send api.bodyscript.example to us-east-1');
    expect(started(h)).toHaveLength(0);
  });

  type Refusal = { readonly kind: string; readonly exitCode: number; readonly message: RegExp; readonly arrange: (h: Harness, world: World, plan: Plan) => void; readonly plan?: (p: Plan) => Plan };
  const refusals: [string, Refusal][] = [
    [
      'the failed-over marker is still there (traffic moves back after the marker is cleared and the primary deployed)',
      {
        kind: 'unhealthy',
        exitCode: ExitCode.UNHEALTHY,
        message: /\/bodyscript\/production\/dr\/failed-over \(us-west-2\) is still there: failed over to the standby since 2025-06-01T10:00:00.000Z.*clear the marker first.*nothing was started/,
        arrange: (_h, world) => {
          world.marker = MARKER;
        },
      },
    ],
    [
      'the marker cannot be read (never taken for "cleared")',
      {
        kind: 'access-denied',
        exitCode: ExitCode.AWS_ERROR,
        message: /access denied: ssm:GetParameter on parameter \/bodyscript\/production\/dr\/failed-over \(us-west-2\)/,
        arrange: (h) => {
          h.mocks.standby.ssm.on(GetParameterCommand).rejects(awsError('AccessDeniedException', 'not allowed'));
        },
      },
    ],
    [
      'the primary database is still a read replica of the standby',
      {
        kind: 'unhealthy',
        exitCode: ExitCode.UNHEALTHY,
        message: /bodyscript-production-postgres in us-east-1 is still a read replica of .*traffic stays on the standby; nothing was started/,
        arrange: (h) => {
          h.mocks.primary.rds.on(DescribeDBInstancesCommand).resolves({
            DBInstances: [{ DBInstanceIdentifier: 'bodyscript-production-postgres', DBInstanceStatus: 'available', ReadReplicaSourceDBInstanceIdentifier: 'arn:aws:rds:us-west-2:222222222222:db:bodyscript-production-postgres-replica' }],
          });
        },
      },
    ],
    [
      'the plan has no workflow that activates us-east-1 (deployed before the failback workflow existed)',
      {
        kind: 'unhealthy',
        exitCode: ExitCode.UNHEALTHY,
        message: /has no workflow that activates us-east-1, so no execution can move api.bodyscript.example back: deploy BodyScript-Production-Standby/,
        arrange: () => undefined,
        plan: (p) => ({ ...p, workflows: p.workflows.slice(0, 1) }),
      },
    ],
    [
      'the failback workflow would do more than move traffic (a promotion on the way back)',
      {
        kind: 'unhealthy',
        exitCode: ExitCode.UNHEALTHY,
        message: /must only move traffic \(Route53HealthCheck steps\), but it has promote-primary \(RdsPromoteReadReplica\)/,
        arrange: () => undefined,
        plan: (p) => ({ ...p, workflows: [p.workflows[0], { ...p.workflows[1], steps: [{ name: 'promote-primary', executionBlockType: 'RdsPromoteReadReplica' }, ...p.workflows[1].steps] }] }),
      },
    ],
    [
      'the plan is executing already (ARC runs one execution of a plan at a time)',
      {
        kind: 'conflict',
        exitCode: ExitCode.UNHEALTHY,
        message: /is executing already \(execution exec1\).*nothing was started/,
        arrange: (h, _world, plan) => {
          void h.regionSwitch.primary.startPlanExecution({ planArn: plan.arn, targetRegion: 'us-west-2', action: 'activate', mode: 'graceful' });
        },
      },
    ],
    [
      'ARC refuses the start because another execution began meanwhile (IllegalStateException)',
      {
        kind: 'conflict',
        exitCode: ExitCode.UNHEALTHY,
        message: /ARC refused to start the failback execution of .*allows no new execution \(the plan already has an active execution\).*nothing was started/,
        arrange: (h) => {
          h.regionSwitch.primary.refusals.set('StartPlanExecution', { name: 'IllegalStateException', message: 'the plan already has an active execution' });
        },
      },
    ],
    [
      'ARC refuses the mode (IllegalArgumentException)',
      {
        kind: 'aws',
        exitCode: ExitCode.AWS_ERROR,
        message: /ARC refused StartPlanExecution for .* \(action activate, targetRegion us-east-1, mode graceful\): mode graceful is not valid for this workflow.*nothing was started/,
        arrange: (h) => {
          h.regionSwitch.primary.refusals.set('StartPlanExecution', { name: 'IllegalArgumentException', message: 'mode graceful is not valid for this workflow' });
        },
      },
    ],
    [
      'the credentials may not start an execution (AccessDeniedException)',
      {
        kind: 'access-denied',
        exitCode: ExitCode.AWS_ERROR,
        message: /access denied: arc-region-switch:StartPlanExecution on Region switch plan .* \(us-east-1\) was refused/,
        arrange: (h) => {
          h.regionSwitch.primary.refusals.set('StartPlanExecution', { name: 'AccessDeniedException', message: 'User is not authorized to perform arc-region-switch:StartPlanExecution', status: 403 });
        },
      },
    ],
  ];

  test.each(refusals)('refused, with nothing started and the api left on us-west-2, when %s', async (_case, refusal) => {
    const { h, world, plan } = afterFailover(refusal.plan);
    refusal.arrange(h, world, plan);
    const before = started(h).length;
    await expect(runFailback(h.ctx, MOVE)).rejects.toMatchObject({ kind: refusal.kind, exitCode: refusal.exitCode, message: expect.stringMatching(refusal.message) });
    // Only the attempt ARC refused, or none: no execution of the failback ran.
    expect(started(h).length - before).toBeLessThanOrEqual(1);
    expect(world.dnsOnStandby).toBe(true);
    expect(h.regionSwitch.primary.calls.filter((c) => c.operation === 'GetPlanExecution')).toHaveLength(0);
  });

  test('a failed return-traffic step stops the command with what ARC said and where to resume', async () => {
    const { h, world } = afterFailover();
    h.regionSwitch.primary.behaviour.set('return-traffic', { seconds: 60, run: () => ({ ok: false, error: 'route53: health check hc-us-east-1 could not be updated' }) });
    await expect(runFailback(h.ctx, MOVE)).rejects.toMatchObject({
      kind: 'unhealthy',
      message: expect.stringMatching(/the plan stopped in state 'pausedByFailedStep' at step return-traffic \(route53: health check hc-us-east-1 could not be updated\).*ARC console of us-east-1/),
    });
    expect(world.dnsOnStandby).toBe(true);
  });

  test('is refused without a domain (nothing of the api moved) and without --confirm, before any AWS call', async () => {
    const staging = harness('staging');
    await expect(runFailback(staging.ctx, { moveTraffic: true, execute: true, confirm: 'staging' })).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringContaining("--move-traffic moves the api's Route 53 failover pair, and staging has no domain"),
    });
    const production = harness('production');
    await expect(runFailback(production.ctx, { moveTraffic: true, execute: true })).rejects.toMatchObject({ kind: 'usage', message: expect.stringContaining('--confirm is required with --execute') });
    for (const h of [staging, production]) {
      expect([...Object.values(h.mocks.primary), ...Object.values(h.mocks.standby)].reduce((n, m) => n + m.calls().length, 0)).toBe(0);
      expect(h.regionSwitch.primary.calls).toHaveLength(0);
    }
  });
});

describe('ops dr failback worst case', () => {
  test('only --move-traffic --execute waits, for the failback execution; the rest is calls', () => {
    const base = { name: 'dr failback', env: 'production', confirm: 'production' } as const;
    expect(opsCommandWorstCase({ ...base, execute: true, moveTraffic: true }).minutes).toBe(FAILBACK_FOLLOW_MINUTES + OPS_CALLS_MINUTES);
    expect(FAILBACK_FOLLOW_MINUTES).toBe(20);
    for (const [execute, moveTraffic] of [[false, true], [true, false], [false, false]] as const) {
      expect(opsCommandWorstCase({ ...base, execute, moveTraffic }).minutes).toBe(OPS_CALLS_MINUTES);
    }
  });
});
