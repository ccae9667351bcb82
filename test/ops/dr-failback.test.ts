import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { DeleteParameterCommand } from '@aws-sdk/client-ssm';
import { runFailback } from '../../lib/ops/dr/failback';
import { ExitCode } from '../../lib/ops/exit-codes';
import { newWorld, wireWorld } from './dr-fixtures';
import { harness } from './helpers';

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
