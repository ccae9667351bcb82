import {
  CreateDBSnapshotCommand,
  type DBSnapshot,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ListTagsForResourceCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { databaseInstanceIdentifier, releaseNameProblem, releaseSnapshotIdentifier } from '../../naming';
import { errorName, isNotFound, OpsError } from '../aws-errors';
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
 * Names are injective: every release maps to its own identifier and back
 * (lib/naming.ts). Re-running for the same release is safe: the existing
 * snapshot is reused (and waited for if still creating), but only after its
 * `bodyscript:release` tag proves it is this release's; anything else stops
 * before a call that changes AWS.
 */

/** Tag that says which release a snapshot is the restore point of; the reuse check reads it. */
export const RELEASE_TAG_KEY = 'bodyscript:release';
export const CREATED_BY_TAG_KEY = 'bodyscript:created-by';

/** Snapshot states from which a release snapshot can still become (or is) a restore point. */
const REUSABLE_STATUSES = ['available', 'creating'] as const;

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

/**
 * The snapshot identifier of `release`, or a usage error naming the rule.
 * Called before any AWS call: a release name RDS would refuse, or one that
 * would collide with another, never reaches AWS.
 */
export function snapshotIdentifierFor(env: OpsContext['env'], release: string): string {
  const problem = releaseNameProblem(release);
  if (problem) throw new OpsError('usage', `--release ${problem}`);
  return releaseSnapshotIdentifier(env, release);
}

/** What an existing snapshot is, as far as the reuse check needs to know. */
export interface ExistingSnapshot {
  readonly identifier: string;
  readonly instance?: string;
  readonly status?: string;
  readonly tags: readonly Tag[];
}

/**
 * Why an existing snapshot must not be reused as the restore point of
 * `release` of `instance`, or undefined when it may. The release tag must
 * match exactly: a snapshot made by hand, by another release or of another
 * instance under the same name is not this release's restore point.
 */
export function snapshotReuseProblem(existing: ExistingSnapshot, release: string, instance: string): string | undefined {
  const tag = existing.tags.find((t) => t.Key === RELEASE_TAG_KEY)?.Value;
  const stop = 'it was not reused and nothing was created; find out what it is before you delete or rename it, or release under another name';
  if (tag === undefined) {
    return `snapshot ${existing.identifier} already exists without a ${RELEASE_TAG_KEY} tag (taken by hand or by another tool), so it is not the restore point of release '${release}': ${stop}`;
  }
  if (tag !== release) {
    return `snapshot ${existing.identifier} already exists and belongs to release '${tag}' (tag ${RELEASE_TAG_KEY}), not '${release}': ${stop}`;
  }
  if (existing.instance !== undefined && existing.instance !== instance) {
    return `snapshot ${existing.identifier} of release '${release}' is a snapshot of DB instance ${existing.instance}, not ${instance}: ${stop}`;
  }
  if (!(REUSABLE_STATUSES as readonly (string | undefined)[]).includes(existing.status)) {
    return `snapshot ${existing.identifier} of release '${release}' is '${existing.status ?? 'unknown'}', so RDS cannot restore from it: ${stop}`;
  }
  return undefined;
}

async function findSnapshot(ctx: OpsContext, snapshotIdentifier: string): Promise<DBSnapshot | undefined> {
  return awsCall(ctx, 'primary', 'rds:DescribeDBSnapshots', `DB snapshot ${snapshotIdentifier}`, async () => {
    try {
      const response = await ctx.clients.primary.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotIdentifier }));
      return response.DBSnapshots?.[0];
    } catch (error) {
      // Not-found is the expected answer here, so it is handled here instead of becoming an error.
      if (isNotFound(error)) return undefined;
      throw error;
    }
  });
}

/** The snapshot with its tags: the TagList DescribeDBSnapshots returns, or ListTagsForResource when it returns none. */
async function describeExisting(ctx: OpsContext, snapshot: DBSnapshot, snapshotIdentifier: string): Promise<ExistingSnapshot> {
  let tags = snapshot.TagList;
  if (tags === undefined) {
    if (!snapshot.DBSnapshotArn) throw new OpsError('aws', `DescribeDBSnapshots returned snapshot ${snapshotIdentifier} without its tags or ARN, so its release cannot be checked; nothing was created`);
    const arn = snapshot.DBSnapshotArn;
    const listed = await awsCall(ctx, 'primary', 'rds:ListTagsForResource', `DB snapshot ${snapshotIdentifier}`, () =>
      ctx.clients.primary.rds.send(new ListTagsForResourceCommand({ ResourceName: arn })),
    );
    tags = listed.TagList ?? [];
  }
  return { identifier: snapshotIdentifier, instance: snapshot.DBInstanceIdentifier, status: snapshot.Status, tags };
}

/** The existing snapshot if it may be reused for `release`; an error if one exists that may not; undefined if none exists. */
export async function reusableSnapshot(ctx: OpsContext, snapshotIdentifier: string, release: string, instance: string): Promise<ExistingSnapshot | undefined> {
  const found = await findSnapshot(ctx, snapshotIdentifier);
  if (!found) return undefined;
  const existing = await describeExisting(ctx, found, snapshotIdentifier);
  const problem = snapshotReuseProblem(existing, release, instance);
  if (problem) throw new OpsError('conflict', problem);
  return existing;
}

export async function runSnapshot(ctx: OpsContext, options: SnapshotOptions): Promise<SnapshotResult> {
  const instance = databaseInstanceIdentifier(ctx.env);
  const snapshotIdentifier = snapshotIdentifierFor(ctx.env, options.release);
  await checkIdentity(ctx, 'primary');

  const described = await awsCall(ctx, 'primary', 'rds:DescribeDBInstances', `DB instance ${instance}`, () =>
    ctx.clients.primary.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: instance })),
  );
  const status = described.DBInstances?.[0]?.DBInstanceStatus ?? 'unknown';
  ctx.progress.log(`DB instance ${instance}: ${status}`);

  let existing = await reusableSnapshot(ctx, snapshotIdentifier, options.release, instance);

  ctx.progress.plain(`Snapshot plan for ${ctx.env} (${ctx.config.primary.region}), release '${options.release}':`);
  if (existing) {
    ctx.progress.plain(`  snapshot ${snapshotIdentifier} of release '${options.release}' already exists (${existing.status}); nothing to create`);
  } else {
    ctx.progress.plain(`  1. CreateDBSnapshot ${snapshotIdentifier} of DB instance ${instance}, tagged ${RELEASE_TAG_KEY}=${options.release}`);
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

  let created = false;
  if (!existing) {
    const create = () =>
      awsCall(ctx, 'primary', 'rds:CreateDBSnapshot', `DB instance ${instance}`, async () => {
        try {
          await ctx.clients.primary.rds.send(
            new CreateDBSnapshotCommand({
              DBInstanceIdentifier: instance,
              DBSnapshotIdentifier: snapshotIdentifier,
              Tags: [
                { Key: RELEASE_TAG_KEY, Value: options.release },
                { Key: CREATED_BY_TAG_KEY, Value: 'ops snapshot' },
              ],
            }),
          );
          return 'created' as const;
        } catch (error) {
          // Another run created it between our lookup and this call: check it like any existing snapshot.
          if (['DBSnapshotAlreadyExists', 'DBSnapshotAlreadyExistsFault'].includes(errorName(error))) return 'exists' as const;
          throw error;
        }
      });
    let outcome: 'created' | 'exists';
    try {
      outcome = await create();
    } catch (error) {
      if (!isSnapshotQuotaExceeded(error)) throw error;
      // The manual-snapshot quota is used up: make room by the rule (never below it), then try once more.
      ctx.progress.warn(`RDS refused the snapshot: the quota of manual DB snapshots is used up; pruning release snapshots by the rule first`);
      const { deleted } = await pruneReleaseSnapshots(ctx, { execute: true, protect: [snapshotIdentifier] });
      if (deleted.length === 0) throw quotaError(ctx, snapshotIdentifier, error);
      try {
        outcome = await create();
      } catch (retryError) {
        throw isSnapshotQuotaExceeded(retryError) ? quotaError(ctx, snapshotIdentifier, retryError) : retryError;
      }
    }
    if (outcome === 'exists') {
      existing = await reusableSnapshot(ctx, snapshotIdentifier, options.release, instance);
      ctx.progress.log(`snapshot ${snapshotIdentifier} was created by another run for the same release; waiting for it`);
    } else {
      created = true;
      ctx.progress.log(`CreateDBSnapshot ${snapshotIdentifier} requested`);
    }
  }
  if (!wait) {
    ctx.progress.plain(`Snapshot ${snapshotIdentifier} started; not waited for. Run again without --no-wait to wait until it is available and prune by the rule.`);
    return { exitCode: ExitCode.OK, snapshotIdentifier, created };
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
  return { exitCode: ExitCode.OK, snapshotIdentifier, created, pruned: deleted };
}

/** RDS's answer when the account's manual DB snapshot quota is used up (SnapshotQuotaExceeded; the SDK may add `Fault`). */
function isSnapshotQuotaExceeded(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e: unknown = error; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    if (['SnapshotQuotaExceeded', 'SnapshotQuotaExceededFault'].includes(errorName(e))) return true;
  }
  return false;
}

/** The quota refusal that the retention rule could not make room for, with what to do. */
function quotaError(ctx: OpsContext, snapshotIdentifier: string, error: unknown): OpsError {
  let name = 'SnapshotQuotaExceeded';
  const seen = new Set<unknown>();
  for (let e: unknown = error; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    if (errorName(e).startsWith('SnapshotQuotaExceeded')) name = errorName(e);
  }
  return new OpsError(
    'aws',
    `RDS refused snapshot ${snapshotIdentifier}: the account's quota of manual DB snapshots in ${ctx.config.primary.region} is used up (${name}; 100 by default) and the retention rule (config database.releaseSnapshots) lets no release snapshot go. ` +
      `Delete manual snapshots that are no longer needed, or raise "Manual DB instance snapshots" in Service Quotas, and run again`,
    { cause: error },
  );
}
