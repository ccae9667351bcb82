import { CreateDBSnapshotCommand, type DBSnapshot, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { databaseInstanceIdentifier, releaseSnapshotIdentifier } from '../../naming';
import { isNotFound, OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';
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
}

export interface SnapshotResult {
  readonly exitCode: ExitCode;
  readonly snapshotIdentifier: string;
  readonly created: boolean;
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
  if (!options.execute) {
    ctx.progress.plain(`Dry run: nothing was changed. Run again with --execute to take the snapshot.`);
    return { exitCode: ExitCode.OK, snapshotIdentifier, created: false };
  }
  if (!existing && status !== 'available' && status !== 'backing-up') {
    throw new OpsError('unhealthy', `DB instance ${instance} is '${status}': RDS takes snapshots only of an available instance; try again when it is available`);
  }

  if (!existing) {
    await awsCall(ctx, 'primary', 'rds:CreateDBSnapshot', `DB instance ${instance}`, () =>
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
    ctx.progress.log(`CreateDBSnapshot ${snapshotIdentifier} requested`);
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
  return { exitCode: ExitCode.OK, snapshotIdentifier, created: !existing };
}
