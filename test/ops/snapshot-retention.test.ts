import { CreateDBSnapshotCommand, DeleteDBSnapshotCommand } from '@aws-sdk/client-rds';
import { MAX_RELEASE_SNAPSHOTS_KEPT } from '../../lib/config/schema';
import { releaseSnapshotIdentifier } from '../../lib/naming';
import { runSnapshot } from '../../lib/ops/commands/snapshot';
import { ExitCode } from '../../lib/ops/exit-codes';
import { pruneReleaseSnapshots, type ReleaseSnapshot, retentionPlan } from '../../lib/ops/snapshot-retention';
import type { Stub } from '../models/codedeploy-ecs-model';
import { RdsSnapshotModel } from '../models/rds-snapshot-model';
import { harness, type Harness } from './helpers';

/**
 * Release snapshots are kept by the rule in config (database.releaseSnapshots)
 * and the rest deleted once a new one is available, against a model of RDS
 * that refuses what RDS refuses (quota, deleting a snapshot that is not
 * available) — the reason: one manual snapshot per release, none ever deleted,
 * reaches the quota after about 100 releases and the release's first step fails.
 */

const INSTANCE = 'bodyscript-production-postgres';
const DAY = 24 * 60 * 60 * 1000;
const released = (release: string) => [
  { Key: 'bodyscript:release', Value: release },
  { Key: 'bodyscript:created-by', Value: 'ops snapshot' },
];
const id = (release: string) => releaseSnapshotIdentifier('production', release);

function production(options: { quota?: number; keepLatest?: number; keepDays?: number } = {}): { h: Harness; rds: RdsSnapshotModel } {
  const base = harness('production');
  const h = options.keepLatest === undefined ? base : harness('production', { database: { ...base.config.database, releaseSnapshots: { keepLatest: options.keepLatest, keepDays: options.keepDays ?? 0 } } });
  const rds = new RdsSnapshotModel(INSTANCE, { quota: options.quota, now: () => h.clock.now() });
  rds.install(h.mocks.primary.rds as unknown as Stub);
  return { h, rds };
}

/** Release i was deployed i days ago (release 0 today). */
function releasesDaysApart(rds: RdsSnapshotModel, count: number): void {
  for (let i = 0; i < count; i++) rds.add(id(`v1.${i}.0`), { createdDaysAgo: i, tags: released(`v1.${i}.0`) });
}

describe('the retention rule', () => {
  const now = new Date('2026-11-30T12:00:00Z');
  const snapshot = (identifier: string, daysAgo: number | undefined, status = 'available'): ReleaseSnapshot => ({
    identifier,
    release: identifier,
    status,
    createdAt: daysAgo === undefined ? undefined : new Date(now.getTime() - daysAgo * DAY),
  });

  test('keeps the newest N and anything younger than M days; deletes the rest, oldest named with its age', () => {
    const all = [snapshot('a', 1), snapshot('b', 3), snapshot('c', 10), snapshot('d', 20), snapshot('e', 40)];
    const plan = retentionPlan(all, { keepLatest: 2, keepDays: 14 }, now);
    expect(plan.keep.map((d) => [d.snapshot.identifier, d.reason])).toEqual([
      ['a', 'one of the newest 2'],
      ['b', 'one of the newest 2'],
      ['c', 'younger than 14 days'],
    ]);
    expect(plan.remove.map((d) => [d.snapshot.identifier, d.reason])).toEqual([
      ['d', 'older than the newest 2 and than 14 days (20 days old)'],
      ['e', 'older than the newest 2 and than 14 days (40 days old)'],
    ]);
  });

  test('never keeps more than the cap, however many are young; the release being deployed is kept whatever the rule says', () => {
    const many = Array.from({ length: MAX_RELEASE_SNAPSHOTS_KEPT + 5 }, (_, i) => snapshot(`s${String(i).padStart(3, '0')}`, i / 100));
    const plan = retentionPlan(many, { keepLatest: 1, keepDays: 35 }, now, { protect: ['s054'] });
    expect(plan.keep).toHaveLength(MAX_RELEASE_SNAPSHOTS_KEPT + 1);
    expect(plan.keep.find((d) => d.snapshot.identifier === 's054')?.reason).toBe('the release being deployed');
    expect(plan.remove.map((d) => d.snapshot.identifier)).toEqual(['s050', 's051', 's052', 's053']);
    expect(plan.remove[0].reason).toBe(`beyond the ${MAX_RELEASE_SNAPSHOTS_KEPT} kept at most`);
  });

  test('a snapshot still being created counts as the newest; one past the rule that is not available is left for later', () => {
    const plan = retentionPlan([snapshot('new', undefined, 'creating'), snapshot('old', 30, 'copying'), snapshot('older', 31)], { keepLatest: 1, keepDays: 0 }, now);
    expect(plan.keep.map((d) => d.snapshot.identifier)).toEqual(['new']);
    expect(plan.later.map((d) => [d.snapshot.identifier, d.reason])).toEqual([['old', "older than the newest 1 and than 0 days (30 days old), but 'copying': RDS deletes only an available snapshot"]]);
    expect(plan.remove.map((d) => d.snapshot.identifier)).toEqual(['older']);
  });
});

describe('ops snapshot prunes release snapshots by the rule', () => {
  test('after the new snapshot is available, the ones past the rule are deleted; foreign snapshots and other instances are never touched', async () => {
    const { h, rds } = production({ keepLatest: 3, keepDays: 5 });
    releasesDaysApart(rds, 8);
    rds.add('bodyscript-production-before-migration', { createdDaysAgo: 90 });
    rds.add(id('v0.9.0'), { createdDaysAgo: 100, tags: [{ Key: 'bodyscript:release', Value: 'v0.9.0' }] }); // named like one, not made by ops snapshot
    rds.add('bodyscript-staging-pre-v1-d0-d0', { createdDaysAgo: 100, tags: released('v1.0.0'), instance: 'bodyscript-staging-postgres' });
    const result = await runSnapshot(h.ctx, { release: 'v2.0.0', execute: true, timeoutMinutes: 60, intervalSeconds: 1 });
    expect(result).toMatchObject({ exitCode: ExitCode.OK, created: true });
    // Kept: the newest 3 (the new one, v1.0.0, v1.1.0) and those younger than 5 days (v1.2.0–v1.4.0); deleted: 5, 6 and 7 days old.
    expect(result.pruned).toEqual([id('v1.5.0'), id('v1.6.0'), id('v1.7.0')]);
    expect(rds.changes).toEqual([`CreateDBSnapshot ${id('v2.0.0')}`, ...['v1.5.0', 'v1.6.0', 'v1.7.0'].map((r) => `DeleteDBSnapshot ${id(r)}`)]);
    expect([...rds.snapshots.keys()]).toEqual(expect.arrayContaining(['bodyscript-production-before-migration', id('v0.9.0'), 'bodyscript-staging-pre-v1-d0-d0']));
    expect(h.out.text()).toContain('are not release snapshots and are never deleted: bodyscript-production-before-migration');
  });

  test('a dry run lists what would be deleted and deletes nothing', async () => {
    const { h, rds } = production({ keepLatest: 1, keepDays: 0 });
    releasesDaysApart(rds, 3);
    const result = await runSnapshot(h.ctx, { release: 'v2.0.0', execute: false, timeoutMinutes: 60 });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(h.mocks.primary.rds.commandCalls(DeleteDBSnapshotCommand)).toHaveLength(0);
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
    expect(h.out.text()).toContain(`delete ${id('v1.1.0')} (release 'v1.1.0'): older than the newest 1 and than 0 days (1 days old)`);
    expect(h.out.text()).toContain('Dry run: no snapshot was deleted.');
  });

  test('--no-wait starts the snapshot and prunes nothing (the pipeline waits and prunes after verify); the second run waits and prunes', async () => {
    const { h, rds } = production({ keepLatest: 2, keepDays: 0 });
    releasesDaysApart(rds, 3);
    const started = await runSnapshot(h.ctx, { release: 'v2.0.0', execute: true, timeoutMinutes: 60, wait: false });
    expect(started).toMatchObject({ exitCode: ExitCode.OK, created: true });
    expect(rds.snapshots.get(id('v2.0.0'))?.Status).toBe('creating');
    expect(h.mocks.primary.rds.commandCalls(DeleteDBSnapshotCommand)).toHaveLength(0);
    const finished = await runSnapshot(h.ctx, { release: 'v2.0.0', execute: true, timeoutMinutes: 60, intervalSeconds: 1 });
    expect(finished).toMatchObject({ exitCode: ExitCode.OK, created: false });
    expect(finished.pruned).toEqual([id('v1.1.0'), id('v1.2.0')]);
    expect(rds.snapshots.has(id('v1.0.0'))).toBe(true);
  });

  test('at the quota, RDS refuses the snapshot; room is made by the rule (never below it) and the snapshot is taken', async () => {
    const { h, rds } = production({ quota: 6, keepLatest: 4, keepDays: 0 });
    releasesDaysApart(rds, 6);
    const result = await runSnapshot(h.ctx, { release: 'v2.0.0', execute: true, timeoutMinutes: 60, intervalSeconds: 1 });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(rds.changes).toEqual([`DeleteDBSnapshot ${id('v1.4.0')}`, `DeleteDBSnapshot ${id('v1.5.0')}`, `CreateDBSnapshot ${id('v2.0.0')}`, `DeleteDBSnapshot ${id('v1.3.0')}`]);
    expect([...rds.snapshots.keys()].sort()).toEqual([id('v1.0.0'), id('v1.1.0'), id('v1.2.0'), id('v2.0.0')].sort());
  });

  test('at the quota with nothing the rule lets go (other snapshots fill it): the quota error, nothing deleted', async () => {
    const { h, rds } = production({ quota: 3, keepLatest: 5, keepDays: 0 });
    releasesDaysApart(rds, 2);
    rds.add('bodyscript-production-manual', { createdDaysAgo: 400 });
    await expect(runSnapshot(h.ctx, { release: 'v2.0.0', execute: true, timeoutMinutes: 60 })).rejects.toThrow(/SnapshotQuotaExceeded/);
    expect(rds.changes).toEqual([]);
  });

  test('a snapshot that left the available state meanwhile is skipped (RDS refuses to delete it), the others are deleted', async () => {
    const { h, rds } = production({ keepLatest: 1, keepDays: 0 });
    releasesDaysApart(rds, 3);
    const real = rds.snapshots.get(id('v1.1.0'))!;
    // Listed as available, then RDS starts copying it before the delete arrives.
    h.mocks.primary.rds.on(DeleteDBSnapshotCommand, { DBSnapshotIdentifier: id('v1.1.0') }).callsFake(() => {
      rds.snapshots.set(id('v1.1.0'), { ...real, Status: 'copying' });
      throw Object.assign(new Error('Cannot delete the snapshot because the snapshot is in the copying state.'), { name: 'InvalidDBSnapshotStateFault', $metadata: { httpStatusCode: 400 } });
    });
    const { deleted } = await pruneReleaseSnapshots(h.ctx, { execute: true });
    expect(deleted).toEqual([id('v1.2.0')]);
    expect(h.out.text()).toContain(`${id('v1.1.0')} is no longer available (RDS deletes only an available snapshot): left for the next release`);
  });

  test('more snapshots than one page: every page is read', async () => {
    const { h, rds } = production({ keepLatest: 1, keepDays: 0 });
    releasesDaysApart(rds, 130);
    const { plan } = await pruneReleaseSnapshots(h.ctx, { execute: false });
    expect(plan.keep).toHaveLength(1);
    expect(plan.remove).toHaveLength(129);
  });
});
