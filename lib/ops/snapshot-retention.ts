import { type DBSnapshot, DeleteDBSnapshotCommand, DescribeDBSnapshotsCommand, ListTagsForResourceCommand, type Tag } from '@aws-sdk/client-rds';
import { MAX_RELEASE_SNAPSHOTS_KEPT, type ReleaseSnapshotRetention } from '../config/schema';
import { databaseInstanceIdentifier, resourcePrefix } from '../naming';
import { awsCall, type OpsContext } from './context';

/**
 * The lifecycle of release snapshots (`ops snapshot`): one manual snapshot per
 * production release, none deleted by RDS (manual snapshots never expire), so
 * without a rule they reach the account's quota of manual DB snapshots (100 a
 * region by default) and the first step of every release fails.
 *
 * The rule (config `database.releaseSnapshots`): keep the newest `keepLatest`
 * release snapshots and any younger than `keepDays` days, never more than
 * MAX_RELEASE_SNAPSHOTS_KEPT in all (the newest first, half the default quota),
 * and always the snapshot of the release being deployed. A snapshot is a
 * release snapshot only when all of these say so: its identifier has the
 * release prefix (`bodyscript-<env>-pre-`), it is a manual snapshot of the
 * environment's database, and it carries the tags `ops snapshot` writes
 * (`bodyscript:release`, `bodyscript:created-by=ops snapshot`). Anything else
 * (a snapshot taken by hand, by AWS Backup, before a migration) is never
 * deleted; the operations role could not delete it anyway (DeleteDBSnapshot
 * only on `snapshot:bodyscript-<env>-pre-*`).
 *
 * RDS deletes only an `available` snapshot (DeleteDBSnapshot: "The DB snapshot
 * must be in the available state to be deleted", InvalidDBSnapshotState
 * otherwise): others are left for the next release.
 */

/** Tags `ops snapshot` puts on a release snapshot (lib/ops/commands/snapshot.ts). */
export const RELEASE_SNAPSHOT_TAGS = { release: 'bodyscript:release', createdBy: 'bodyscript:created-by', createdByValue: 'ops snapshot' } as const;

/** DescribeDBSnapshots pages read at most (100 a page: more than the quota). */
const MAX_PAGES = 10;

export interface ReleaseSnapshot {
  readonly identifier: string;
  readonly release: string;
  readonly status: string;
  /** When RDS started it (undefined while it is being created). */
  readonly createdAt?: Date;
}

export interface RetentionDecision {
  readonly snapshot: ReleaseSnapshot;
  readonly reason: string;
}

export interface RetentionPlan {
  readonly keep: readonly RetentionDecision[];
  readonly remove: readonly RetentionDecision[];
  /** Past the rule but not deletable now (not `available`): left for the next release. */
  readonly later: readonly RetentionDecision[];
  /** Manual snapshots of the database that are not release snapshots: never touched. */
  readonly foreign: readonly string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * What the rule keeps and deletes (pure: the tests call it with every case).
 * `protect` names snapshots kept whatever their age (the one just taken).
 */
export function retentionPlan(
  snapshots: readonly ReleaseSnapshot[],
  rule: ReleaseSnapshotRetention,
  now: Date,
  options: { readonly protect?: readonly string[]; readonly foreign?: readonly string[] } = {},
): RetentionPlan {
  // Newest first; a snapshot still being created (no time yet) is the newest.
  const newestFirst = [...snapshots].sort((a, b) => (b.createdAt?.getTime() ?? Infinity) - (a.createdAt?.getTime() ?? Infinity) || b.identifier.localeCompare(a.identifier));
  const keep: RetentionDecision[] = [];
  const remove: RetentionDecision[] = [];
  const later: RetentionDecision[] = [];
  const protectedIds = new Set(options.protect ?? []);
  newestFirst.forEach((snapshot, index) => {
    const ageDays = snapshot.createdAt ? (now.getTime() - snapshot.createdAt.getTime()) / DAY_MS : 0;
    let reason: string | undefined;
    if (protectedIds.has(snapshot.identifier)) reason = 'the release being deployed';
    else if (keep.length >= MAX_RELEASE_SNAPSHOTS_KEPT) reason = undefined;
    else if (index < rule.keepLatest) reason = `one of the newest ${rule.keepLatest}`;
    else if (ageDays < rule.keepDays) reason = `younger than ${rule.keepDays} days`;
    if (reason) {
      keep.push({ snapshot, reason });
      return;
    }
    const why =
      keep.length >= MAX_RELEASE_SNAPSHOTS_KEPT
        ? `beyond the ${MAX_RELEASE_SNAPSHOTS_KEPT} kept at most`
        : `older than the newest ${rule.keepLatest} and than ${rule.keepDays} days (${Math.floor(ageDays)} days old)`;
    if (snapshot.status === 'available') remove.push({ snapshot, reason: why });
    else later.push({ snapshot, reason: `${why}, but '${snapshot.status}': RDS deletes only an available snapshot` });
  });
  return { keep, remove, later, foreign: [...(options.foreign ?? [])] };
}

/** The AWS SDK v3 error name (RDS answers both `X` and `XFault` names across SDK versions). */
const errorName = (error: unknown): string => (error && typeof error === 'object' && 'name' in error ? String(error.name) : '');

const tagValue = (tags: readonly Tag[], key: string) => tags.find((t) => t.Key === key)?.Value;

/** The environment's release snapshots (and the names of its other manual snapshots). */
export async function listReleaseSnapshots(ctx: OpsContext): Promise<{ releases: ReleaseSnapshot[]; foreign: string[] }> {
  const instance = databaseInstanceIdentifier(ctx.env);
  const prefix = `${resourcePrefix(ctx.env)}-pre-`;
  const found: DBSnapshot[] = [];
  let marker: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await awsCall(ctx, 'primary', 'rds:DescribeDBSnapshots', `manual snapshots of DB instance ${instance}`, () =>
      ctx.clients.primary.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: instance, SnapshotType: 'manual', MaxRecords: 100, Marker: marker })),
    );
    found.push(...(answer.DBSnapshots ?? []));
    marker = answer.Marker;
    if (!marker) break;
  }
  const releases: ReleaseSnapshot[] = [];
  const foreign: string[] = [];
  for (const snapshot of found) {
    const identifier = snapshot.DBSnapshotIdentifier ?? '';
    if (!identifier.startsWith(prefix) || snapshot.DBInstanceIdentifier !== instance || snapshot.SnapshotType !== 'manual') {
      foreign.push(identifier);
      continue;
    }
    let tags = snapshot.TagList;
    if (tags === undefined && snapshot.DBSnapshotArn) {
      const arn = snapshot.DBSnapshotArn;
      tags = (await awsCall(ctx, 'primary', 'rds:ListTagsForResource', `DB snapshot ${identifier}`, () => ctx.clients.primary.rds.send(new ListTagsForResourceCommand({ ResourceName: arn })))).TagList;
    }
    const release = tagValue(tags ?? [], RELEASE_SNAPSHOT_TAGS.release);
    if (release === undefined || tagValue(tags ?? [], RELEASE_SNAPSHOT_TAGS.createdBy) !== RELEASE_SNAPSHOT_TAGS.createdByValue) {
      // Named like one, but not made by `ops snapshot`: not ours to delete.
      foreign.push(identifier);
      continue;
    }
    releases.push({ identifier, release, status: snapshot.Status ?? 'unknown', createdAt: snapshot.SnapshotCreateTime });
  }
  return { releases, foreign };
}

export interface PruneResult {
  readonly plan: RetentionPlan;
  readonly deleted: readonly string[];
}

/**
 * Prints the rule's plan and, with `execute`, deletes what it removes. A
 * snapshot that left `available` or disappeared meanwhile is reported and
 * skipped; any other refusal stops (nothing after it is deleted).
 */
export async function pruneReleaseSnapshots(ctx: OpsContext, options: { readonly execute: boolean; readonly protect?: readonly string[] }): Promise<PruneResult> {
  const rule = ctx.config.database.releaseSnapshots;
  const { releases, foreign } = await listReleaseSnapshots(ctx);
  const plan = retentionPlan(releases, rule, new Date(ctx.clock.now()), { protect: options.protect, foreign });
  ctx.progress.plain(
    `Release snapshots of ${ctx.env}: ${releases.length}, kept by the rule (newest ${rule.keepLatest}, younger than ${rule.keepDays} days, at most ${MAX_RELEASE_SNAPSHOTS_KEPT}): ${plan.keep.length}`,
  );
  for (const d of plan.remove) ctx.progress.plain(`  delete ${d.snapshot.identifier} (release '${d.snapshot.release}'): ${d.reason}`);
  for (const d of plan.later) ctx.progress.plain(`  later  ${d.snapshot.identifier} (release '${d.snapshot.release}'): ${d.reason}`);
  if (foreign.length > 0) ctx.progress.plain(`  ${foreign.length} other manual snapshot(s) of the database are not release snapshots and are never deleted: ${foreign.join(', ')}`);
  if (!options.execute) {
    if (plan.remove.length > 0) ctx.progress.plain(`Dry run: no snapshot was deleted.`);
    return { plan, deleted: [] };
  }
  const deleted: string[] = [];
  for (const { snapshot } of plan.remove) {
    const outcome = await awsCall(ctx, 'primary', 'rds:DeleteDBSnapshot', `DB snapshot ${snapshot.identifier}`, async () => {
      try {
        await ctx.clients.primary.rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snapshot.identifier }));
        return 'deleted' as const;
      } catch (error) {
        const name = errorName(error);
        if (name === 'InvalidDBSnapshotState' || name === 'InvalidDBSnapshotStateFault') return 'not-available' as const;
        if (name === 'DBSnapshotNotFound' || name === 'DBSnapshotNotFoundFault') return 'gone' as const;
        throw error;
      }
    });
    if (outcome === 'deleted') deleted.push(snapshot.identifier);
    ctx.progress.log(
      outcome === 'deleted'
        ? `DeleteDBSnapshot ${snapshot.identifier} requested`
        : outcome === 'gone'
          ? `${snapshot.identifier} is already gone`
          : `${snapshot.identifier} is no longer available (RDS deletes only an available snapshot): left for the next release`,
    );
  }
  return { plan, deleted };
}
