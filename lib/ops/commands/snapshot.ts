import { CreateDBSnapshotCommand, type DBSnapshot, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { databaseInstanceIdentifier, releaseSnapshotIdentifier } from '../../naming';
import { isNotFound, OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';
import { pruneReleaseSnapshots } from '../snapshot-retention';
import { waitUntil } from '../wait';

/**
 * `ops snapshot`: a manual RDS snapshot before a release, named after it so the
 * rollback runbook can find it. Manual snapshots outlive the automated backup
 * window, which is the point: they are the restore point of a release.
 *
 * Re-running for the same release is safe: an existing snapshot is reported
 * (and waited for if still creating) instead of failing.
 */

export interface SnapshotOptions {
  readonly release: string;
  readonly execute: boolean;
  readonly timeoutMinutes: number;
  readonly intervalSeconds?: number;
  /**
   * Wait for the snapshot to be available, then prune release snapshots by the
   * rule (config database.releaseSnapshots). `false` starts the snapshot and
   * returns: the pipeline deploys meanwhile (a snapshot holds the data as of
   * its start) and runs the command again after verify to wait and prune.
   *
   * @default true
   */
  readonly wait?: boolean;
}

export interface SnapshotResult {
  readonly exitCode: ExitCode;
  readonly snapshotIdentifier: string;
  readonly created: boolean;
  /** Release snapshots deleted by the retention rule (none in a dry run or without waiting). */
  readonly pruned?: readonly string[];
}

export const DEFAULT_SNAPSHOT_TIMEOUT_MINUTES = 60;

async function findSnapshot(ctx: OpsContext, snapshotIdentifier: string): Promise<DBSnapshot | undefined> {
  try {
    const response = await ctx.clients.primary.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotIdentifier }));
    return response.DBSnapshots?.[0];
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function runSnapshot(ctx: OpsContext, options: SnapshotOptions): Promise<SnapshotResult> {
  const instance = databaseInstanceIdentifier(ctx.env);
  const snapshotIdentifier = releaseSnapshotIdentifier(ctx.env, options.release);
  await checkIdentity(ctx, 'primary');

  const described = await awsCall(ctx, 'primary', 'rds:DescribeDBInstances', `DB instance ${instance}`, () =>
    ctx.clients.primary.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: instance })),
  );
  const status = described.DBInstances?.[0]?.DBInstanceStatus ?? 'unknown';
  ctx.progress.log(`DB instance ${instance}: ${status}`);

  // Not-found is the expected answer here, so the lookup handles it instead of awsCall turning it into an error.
  const existing = await awsCall(ctx, 'primary', 'rds:DescribeDBSnapshots', `DB snapshot ${snapshotIdentifier}`, () => findSnapshot(ctx, snapshotIdentifier));

  ctx.progress.plain(`Snapshot plan for ${ctx.env} (${ctx.config.primary.region}):`);
  if (existing) {
    ctx.progress.plain(`  snapshot ${snapshotIdentifier} already exists (${existing.Status}); nothing to create`);
  } else {
    ctx.progress.plain(`  1. CreateDBSnapshot ${snapshotIdentifier} of DB instance ${instance}`);
    ctx.progress.plain(`  2. wait until it is available (at most ${options.timeoutMinutes} minutes)`);
  }
  const wait = options.wait ?? true;
  if (wait) ctx.progress.plain(`  then prune release snapshots by the rule:`);
  if (!options.execute) {
    if (wait) await pruneReleaseSnapshots(ctx, { execute: false, protect: [snapshotIdentifier] });
    ctx.progress.plain(`Dry run: nothing was changed. Run again with --execute to take the snapshot.`);
    return { exitCode: ExitCode.OK, snapshotIdentifier, created: false };
  }
  if (!existing && status !== 'available' && status !== 'backing-up') {
    throw new OpsError('unhealthy', `DB instance ${instance} is '${status}': RDS takes snapshots only of an available instance; try again when it is available`);
  }

  if (!existing) {
    const create = () =>
      awsCall(ctx, 'primary', 'rds:CreateDBSnapshot', `DB instance ${instance}`, () =>
        ctx.clients.primary.rds.send(
          new CreateDBSnapshotCommand({
            DBInstanceIdentifier: instance,
            DBSnapshotIdentifier: snapshotIdentifier,
            Tags: [
              { Key: 'bodyscript:release', Value: options.release },
              { Key: 'bodyscript:created-by', Value: 'ops snapshot' },
            ],
          }),
        ),
      );
    try {
      await create();
    } catch (error) {
      if (!isSnapshotQuotaExceeded(error)) throw error;
      // The manual-snapshot quota is used up: make room by the rule (never below it), then try once more.
      ctx.progress.warn(`RDS refused the snapshot: the quota of manual DB snapshots is used up; pruning release snapshots by the rule first`);
      const { deleted } = await pruneReleaseSnapshots(ctx, { execute: true, protect: [snapshotIdentifier] });
      if (deleted.length === 0) throw error;
      await create();
    }
    ctx.progress.log(`CreateDBSnapshot ${snapshotIdentifier} requested`);
  }
  if (!wait) {
    ctx.progress.plain(`Snapshot ${snapshotIdentifier} started; not waited for. Run again without --no-wait to wait until it is available and prune by the rule.`);
    return { exitCode: ExitCode.OK, snapshotIdentifier, created: !existing };
  }
  await waitUntil(ctx, {
    what: `snapshot ${snapshotIdentifier} to be available`,
    timeoutMs: options.timeoutMinutes * 60_000,
    intervalMs: (options.intervalSeconds ?? 30) * 1000,
    check: async () => {
      const snapshot = await awsCall(ctx, 'primary', 'rds:DescribeDBSnapshots', `DB snapshot ${snapshotIdentifier}`, () =>
        ctx.clients.primary.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotIdentifier })),
      );
      const s = snapshot.DBSnapshots?.[0];
      const state = s?.Status ?? 'unknown';
      if (state === 'failed' || state === 'deleted' || state === 'deleting') return { done: false, status: state, failed: `snapshot is ${state}` };
      return { done: state === 'available', status: `${state}${s?.PercentProgress !== undefined ? ` ${s.PercentProgress}%` : ''}` };
    },
  });
  ctx.progress.log(`snapshot ${snapshotIdentifier} is available`);
  // Only now, with the new restore point available, are older ones deleted.
  const { deleted } = await pruneReleaseSnapshots(ctx, { execute: true, protect: [snapshotIdentifier] });
  return { exitCode: ExitCode.OK, snapshotIdentifier, created: !existing, pruned: deleted };
}

/** RDS's answer when the account's manual DB snapshot quota is used up (SnapshotQuotaExceeded; the SDK may add `Fault`). */
function isSnapshotQuotaExceeded(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e: unknown = error; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const name = 'name' in e ? String((e as { name: unknown }).name) : '';
    if (name === 'SnapshotQuotaExceeded' || name === 'SnapshotQuotaExceededFault') return true;
  }
  return false;
}
