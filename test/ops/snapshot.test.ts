import { CreateDBSnapshotCommand, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { runSnapshot } from '../../lib/ops/commands/snapshot';
import { ExitCode } from '../../lib/ops/exit-codes';
import { awsError, harness, type Harness } from './helpers';

const INSTANCE = 'bodyscript-staging-postgres';
const SNAPSHOT = 'bodyscript-staging-pre-v1-2-3';

function availableInstance(h: Harness): void {
  h.mocks.primary.rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: INSTANCE, DBInstanceStatus: 'available' }] });
}

describe('ops snapshot', () => {
  test('dry run prints the snapshot name and takes no snapshot', async () => {
    const h = harness();
    availableInstance(h);
    h.mocks.primary.rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
    h.mocks.primary.rds.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: SNAPSHOT }).rejects(awsError('DBSnapshotNotFound', 'DBSnapshot not found'));
    const result = await runSnapshot(h.ctx, { release: 'v1.2.3', execute: false, timeoutMinutes: 60 });
    expect(result).toEqual({ exitCode: ExitCode.OK, snapshotIdentifier: SNAPSHOT, created: false });
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
    expect(h.out.text()).toContain(`1. CreateDBSnapshot ${SNAPSHOT} of DB instance ${INSTANCE}`);
    expect(h.out.text()).toContain('Dry run: nothing was changed');
  });

  test('--execute creates the snapshot of the primary database and waits until it is available', async () => {
    const h = harness();
    availableInstance(h);
    h.mocks.primary.rds
      .on(DescribeDBSnapshotsCommand)
      .rejectsOnce(awsError('DBSnapshotNotFound'))
      .resolvesOnce({ DBSnapshots: [{ DBSnapshotIdentifier: SNAPSHOT, Status: 'creating', PercentProgress: 40 }] })
      .resolves({ DBSnapshots: [{ DBSnapshotIdentifier: SNAPSHOT, Status: 'available', PercentProgress: 100 }] });
    h.mocks.primary.rds.on(CreateDBSnapshotCommand).resolves({});
    const result = await runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 });
    expect(result).toEqual({ exitCode: ExitCode.OK, snapshotIdentifier: SNAPSHOT, created: true, pruned: [] });
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)[0].args[0].input).toMatchObject({
      DBInstanceIdentifier: INSTANCE,
      DBSnapshotIdentifier: SNAPSHOT,
      Tags: expect.arrayContaining([{ Key: 'bodyscript:release', Value: 'v1.2.3' }]),
    });
    expect(h.out.lines.some((l) => /^\[\+00m00s\] snapshot .* creating 40%/.test(l))).toBe(true);
    expect(h.out.lines.some((l) => /^\[\+00m30s\] snapshot .* available 100%/.test(l))).toBe(true);
    expect(h.mocks.standby.rds.calls()).toHaveLength(0);
  });

  test('an existing snapshot of the same release is reused, not created twice', async () => {
    const h = harness();
    availableInstance(h);
    h.mocks.primary.rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ DBSnapshotIdentifier: SNAPSHOT, Status: 'available' }] });
    const result = await runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 });
    expect(result.created).toBe(false);
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
    expect(h.out.text()).toContain('already exists (available)');
  });

  test('a missing database instance is a clear missing-resource error and no snapshot is attempted', async () => {
    const h = harness();
    h.mocks.primary.rds.on(DescribeDBInstancesCommand).rejects(awsError('DBInstanceNotFoundFault', `DBInstance ${INSTANCE} not found.`));
    await expect(runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 })).rejects.toMatchObject({
      kind: 'not-found',
      exitCode: ExitCode.AWS_ERROR,
      message: expect.stringMatching(/^missing resource: rds:DescribeDBInstances found no DB instance bodyscript-staging-postgres \(us-east-1\)/),
    });
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
  });

  test('an instance that is not available is refused before CreateDBSnapshot', async () => {
    const h = harness();
    h.mocks.primary.rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceStatus: 'modifying' }] });
    h.mocks.primary.rds.on(DescribeDBSnapshotsCommand).rejects(awsError('DBSnapshotNotFound'));
    await expect(runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 })).rejects.toThrow(`is 'modifying'`);
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
  });

  test('a snapshot that stays creating past the timeout is a TIMEOUT', async () => {
    const h = harness();
    availableInstance(h);
    h.mocks.primary.rds
      .on(DescribeDBSnapshotsCommand)
      .rejectsOnce(awsError('DBSnapshotNotFound'))
      .resolves({ DBSnapshots: [{ Status: 'creating', PercentProgress: 10 }] });
    h.mocks.primary.rds.on(CreateDBSnapshotCommand).resolves({});
    await expect(runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 5 })).rejects.toMatchObject({ kind: 'timeout', exitCode: ExitCode.TIMEOUT });
    expect(h.clock.now() - Date.parse('2025-06-01T12:00:00Z')).toBeLessThanOrEqual(5 * 60_000);
  });

  test('throttled CreateDBSnapshot is retried with backoff and succeeds', async () => {
    const h = harness();
    availableInstance(h);
    h.mocks.primary.rds
      .on(DescribeDBSnapshotsCommand)
      .rejectsOnce(awsError('DBSnapshotNotFound'))
      .resolves({ DBSnapshots: [{ Status: 'available' }] });
    h.mocks.primary.rds.on(CreateDBSnapshotCommand).rejectsOnce(awsError('Throttling', 'Rate exceeded')).resolves({});
    const result = await runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 });
    expect(result.created).toBe(true);
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(2);
    expect(h.clock.sleeps[0]).toBe(1000);
  });

  test('access denied on CreateDBSnapshot names rds:CreateDBSnapshot', async () => {
    const h = harness();
    availableInstance(h);
    h.mocks.primary.rds.on(DescribeDBSnapshotsCommand).rejects(awsError('DBSnapshotNotFound'));
    h.mocks.primary.rds.on(CreateDBSnapshotCommand).rejects(awsError('AccessDenied', 'not authorized'));
    await expect(runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 })).rejects.toThrow(
      /^access denied: rds:CreateDBSnapshot on DB instance bodyscript-staging-postgres \(us-east-1\)/,
    );
  });
});
