import {
  CreateDBSnapshotCommand,
  type CreateDBSnapshotCommandInput,
  type DBSnapshot,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  type DescribeDBSnapshotsCommandInput,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-rds';
import { releaseFromSnapshotIdentifier, releaseSnapshotIdentifier } from '../../lib/naming';
import { type ExistingSnapshot, RELEASE_TAG_KEY, runSnapshot, snapshotIdentifierFor, snapshotReuseProblem } from '../../lib/ops/commands/snapshot';
import { ExitCode } from '../../lib/ops/exit-codes';
import { awsError, harness, type Harness } from './helpers';

const INSTANCE = 'bodyscript-staging-postgres';
const SNAPSHOT = 'bodyscript-staging-pre-v1-d2-d3';
const SNAPSHOT_ARN = `arn:aws:rds:us-east-1:111111111111:snapshot:${SNAPSHOT}`;

/** RDS's documented DBSnapshotIdentifier constraints (CreateDBSnapshot). */
function rdsRefusesIdentifier(identifier: string): boolean {
  return !/^[A-Za-z][A-Za-z0-9-]{0,254}$/.test(identifier) || identifier.includes('--') || identifier.endsWith('-');
}

/**
 * A model of the RDS snapshot API for one account and region: identifiers are
 * validated and stored in lower case as RDS does, a second snapshot of the same
 * name is refused, the manual-snapshot quota applies, tags come back in
 * TagList, a new snapshot is `creating` until described once more, and an
 * unknown identifier is DBSnapshotNotFound.
 */
function rdsModel(h: Harness, options: { existing?: DBSnapshot[]; quota?: number; tagListInDescribe?: boolean } = {}) {
  const snapshots = new Map<string, DBSnapshot>();
  for (const s of options.existing ?? []) snapshots.set(s.DBSnapshotIdentifier!.toLowerCase(), s);
  const quota = options.quota ?? 100;
  h.mocks.primary.rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: INSTANCE, DBInstanceStatus: 'available' }] });
  h.mocks.primary.rds.on(CreateDBSnapshotCommand).callsFake((input: CreateDBSnapshotCommandInput) => {
    const id = input.DBSnapshotIdentifier!;
    if (rdsRefusesIdentifier(id)) throw awsError('InvalidParameterValue', `The parameter DBSnapshotIdentifier is not a valid identifier: ${id}`);
    if (snapshots.has(id.toLowerCase())) throw awsError('DBSnapshotAlreadyExistsFault', `Cannot create the snapshot because a snapshot with the identifier ${id} already exists.`);
    if (snapshots.size >= quota) throw awsError('SnapshotQuotaExceededFault', 'Cannot create more than 100 manual snapshots');
    const created: DBSnapshot = {
      DBSnapshotIdentifier: id.toLowerCase(),
      DBSnapshotArn: `arn:aws:rds:us-east-1:111111111111:snapshot:${id.toLowerCase()}`,
      DBInstanceIdentifier: input.DBInstanceIdentifier,
      Status: 'creating',
      PercentProgress: 0,
      SnapshotType: 'manual',
      SnapshotCreateTime: new Date(h.clock.now()),
      TagList: input.Tags,
    };
    snapshots.set(id.toLowerCase(), created);
    return { DBSnapshot: created };
  });
  h.mocks.primary.rds.on(DescribeDBSnapshotsCommand).callsFake((input: DescribeDBSnapshotsCommandInput) => {
    if (input.DBSnapshotIdentifier === undefined) {
      // The listing the retention rule reads: this instance's manual snapshots, in one page.
      return { DBSnapshots: [...snapshots.values()].filter((s) => s.DBInstanceIdentifier === input.DBInstanceIdentifier && s.SnapshotType === input.SnapshotType) };
    }
    const found = snapshots.get(input.DBSnapshotIdentifier!.toLowerCase());
    if (!found) throw awsError('DBSnapshotNotFoundFault', `DBSnapshot ${input.DBSnapshotIdentifier} not found.`);
    const answer = { ...found, ...(options.tagListInDescribe === false ? { TagList: undefined } : {}) };
    if (found.Status === 'creating') snapshots.set(input.DBSnapshotIdentifier!.toLowerCase(), { ...found, Status: 'available', PercentProgress: 100 });
    return { DBSnapshots: [answer] };
  });
  h.mocks.primary.rds.on(ListTagsForResourceCommand).callsFake((input: { ResourceName: string }) => ({
    TagList: [...snapshots.values()].find((s) => s.DBSnapshotArn === input.ResourceName)?.TagList ?? [],
  }));
  return snapshots;
}

function tagged(release: string, overrides: Partial<DBSnapshot> = {}): DBSnapshot {
  return {
    DBSnapshotIdentifier: SNAPSHOT,
    DBSnapshotArn: SNAPSHOT_ARN,
    DBInstanceIdentifier: INSTANCE,
    Status: 'available',
    TagList: [{ Key: RELEASE_TAG_KEY, Value: release }],
    ...overrides,
  };
}

describe('release snapshot names', () => {
  // Releases that the old naming (non-alphanumerics to '-') mapped onto one another.
  const releases = ['v1.2.3', 'v1-2-3', 'v1_2_3', 'v1.2-3', 'v1..2.3', 'v1.-2.3', 'main-0123456789ab', 'main_0123456789ab', '1.0', '1-0', '1.0.', 'x', 'rc.1-final_2', 'a'.repeat(64)];

  test('every release gets its own identifier, one RDS accepts, that gives the release back', () => {
    const identifiers = releases.map((release) => releaseSnapshotIdentifier('production', release));
    // RDS compares identifiers without case, so distinct means distinct in lower case.
    expect(new Set(identifiers.map((id) => id.toLowerCase())).size).toBe(releases.length);
    for (const [index, id] of identifiers.entries()) {
      expect(rdsRefusesIdentifier(id)).toBe(false);
      expect(id.length).toBeLessThanOrEqual(255);
      expect(releaseFromSnapshotIdentifier('production', id)).toBe(releases[index]);
    }
  });

  test.each([
    ['v1.2.3', 'bodyscript-production-pre-v1-d2-d3'],
    ['v1-2-3', 'bodyscript-production-pre-v1-h2-h3'],
    ['main-0123456789ab', 'bodyscript-production-pre-main-h0123456789ab'],
    ['2025_06_01', 'bodyscript-production-pre-2025-u06-u01'],
  ])('%s is snapshotted as %s', (release, identifier) => {
    expect(releaseSnapshotIdentifier('production', release)).toBe(identifier);
  });

  test.each(['bodyscript-production-pre-v1-2-3', 'bodyscript-production-pre-v1-x2', 'bodyscript-production-pre-v1-', 'bodyscript-staging-pre-v1-d2', 'bodyscript-production-pre-'])(
    '%s names no release (an old-style or foreign identifier)',
    (identifier) => {
      expect(releaseFromSnapshotIdentifier('production', identifier)).toBeUndefined();
    },
  );

  // Each row: the release, and the exact message (checked before any AWS call).
  test.each([
    ['v1 final', "--release must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got 'v1 final'"],
    ['V1.2.3', "--release must be lower case (RDS stores snapshot identifiers in lower case, so 'V1.2.3' and 'v1.2.3' would be one snapshot), got 'V1.2.3'"],
    ['', "--release must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got ''"],
    ['-v1', "--release must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got '-v1'"],
    ['.v1', "--release must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got '.v1'"],
    ['feature/x', "--release must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got 'feature/x'"],
    ['v1.0+build.7', "--release must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got 'v1.0+build.7'"],
    ['a'.repeat(65), `--release must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got '${'a'.repeat(65)}' (65 characters)`],
    ['r'.repeat(300), `--release must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got '${'r'.repeat(77)}...' (300 characters)`],
  ])('refuses release %j before any AWS call', async (release, message) => {
    expect(() => snapshotIdentifierFor('staging', release)).toThrow(message);
    const h = harness();
    rdsModel(h);
    await expect(runSnapshot(h.ctx, { release, execute: true, timeoutMinutes: 60 })).rejects.toMatchObject({ kind: 'usage', exitCode: ExitCode.USAGE, message });
    expect(h.mocks.sts.calls()).toHaveLength(0);
    expect(h.mocks.primary.rds.calls()).toHaveLength(0);
  });
});

describe('reusing an existing snapshot', () => {
  const existing = (overrides: Partial<ExistingSnapshot> = {}): ExistingSnapshot => ({
    identifier: SNAPSHOT,
    instance: INSTANCE,
    status: 'available',
    tags: [{ Key: RELEASE_TAG_KEY, Value: 'v1.2.3' }],
    ...overrides,
  });
  const stop = 'it was not reused and nothing was created; find out what it is before you delete or rename it, or release under another name';

  test.each([
    ['the same release, available', existing(), undefined],
    ['the same release, still creating', existing({ status: 'creating' }), undefined],
    [
      'another release',
      existing({ tags: [{ Key: RELEASE_TAG_KEY, Value: 'v1-2-3' }] }),
      `snapshot ${SNAPSHOT} already exists and belongs to release 'v1-2-3' (tag bodyscript:release), not 'v1.2.3': ${stop}`,
    ],
    [
      'no release tag',
      existing({ tags: [{ Key: 'owner', Value: 'alice' }] }),
      `snapshot ${SNAPSHOT} already exists without a bodyscript:release tag (taken by hand or by another tool), so it is not the restore point of release 'v1.2.3': ${stop}`,
    ],
    [
      'a release tag that differs only in case',
      existing({ tags: [{ Key: RELEASE_TAG_KEY, Value: 'V1.2.3' }] }),
      `snapshot ${SNAPSHOT} already exists and belongs to release 'V1.2.3' (tag bodyscript:release), not 'v1.2.3': ${stop}`,
    ],
    [
      'another DB instance',
      existing({ instance: 'bodyscript-staging-postgres-restore' }),
      `snapshot ${SNAPSHOT} of release 'v1.2.3' is a snapshot of DB instance bodyscript-staging-postgres-restore, not ${INSTANCE}: ${stop}`,
    ],
    ['a failed snapshot', existing({ status: 'failed' }), `snapshot ${SNAPSHOT} of release 'v1.2.3' is 'failed', so RDS cannot restore from it: ${stop}`],
  ])('%s', (_what, snapshot, problem) => {
    expect(snapshotReuseProblem(snapshot, 'v1.2.3', INSTANCE)).toBe(problem);
  });
});

describe('ops snapshot', () => {
  test('dry run prints the snapshot name and takes no snapshot', async () => {
    const h = harness();
    rdsModel(h);
    const result = await runSnapshot(h.ctx, { release: 'v1.2.3', execute: false, timeoutMinutes: 60 });
    expect(result).toEqual({ exitCode: ExitCode.OK, snapshotIdentifier: SNAPSHOT, created: false });
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
    expect(h.out.text()).toContain(`1. CreateDBSnapshot ${SNAPSHOT} of DB instance ${INSTANCE}, tagged bodyscript:release=v1.2.3`);
    expect(h.out.text()).toContain('Dry run: nothing was changed');
  });

  test('--execute creates the snapshot of the primary database, tagged with the release, and waits until it is available', async () => {
    const h = harness();
    const snapshots = rdsModel(h);
    const result = await runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 });
    expect(result).toEqual({ exitCode: ExitCode.OK, snapshotIdentifier: SNAPSHOT, created: true, pruned: [] });
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)[0].args[0].input).toMatchObject({
      DBInstanceIdentifier: INSTANCE,
      DBSnapshotIdentifier: SNAPSHOT,
      Tags: expect.arrayContaining([{ Key: 'bodyscript:release', Value: 'v1.2.3' }]),
    });
    expect(snapshots.get(SNAPSHOT)?.Status).toBe('available');
    expect(h.out.lines.some((l) => /^\[\+00m00s\] snapshot .* creating 0%/.test(l))).toBe(true);
    expect(h.out.lines.some((l) => /^\[\+00m30s\] snapshot .* available 100%/.test(l))).toBe(true);
    expect(h.mocks.standby.rds.calls()).toHaveLength(0);
  });

  test('two releases that the old naming confused get two snapshots', async () => {
    const h = harness();
    const snapshots = rdsModel(h);
    await runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 });
    await runSnapshot(h.ctx, { release: 'v1-2-3', execute: true, timeoutMinutes: 60 });
    expect([...snapshots.keys()].sort()).toEqual(['bodyscript-staging-pre-v1-d2-d3', 'bodyscript-staging-pre-v1-h2-h3']);
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(2);
  });

  test('an existing snapshot of the same release is reused, not created twice', async () => {
    const h = harness();
    rdsModel(h, { existing: [tagged('v1.2.3')] });
    const result = await runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 });
    expect(result.created).toBe(false);
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
    expect(h.out.text()).toContain(`snapshot ${SNAPSHOT} of release 'v1.2.3' already exists (available); nothing to create`);
  });

  test('a snapshot under the same name from another release stops the run, in a dry run too, with exit 1 and no CreateDBSnapshot', async () => {
    for (const execute of [false, true]) {
      const h = harness();
      rdsModel(h, { existing: [tagged('v1.2.2')] });
      await expect(runSnapshot(h.ctx, { release: 'v1.2.3', execute, timeoutMinutes: 60 })).rejects.toMatchObject({
        kind: 'conflict',
        exitCode: ExitCode.UNHEALTHY,
        message: `snapshot ${SNAPSHOT} already exists and belongs to release 'v1.2.2' (tag bodyscript:release), not 'v1.2.3': it was not reused and nothing was created; find out what it is before you delete or rename it, or release under another name`,
      });
      expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
    }
  });

  test('when DescribeDBSnapshots returns no TagList, the tags are read with ListTagsForResource', async () => {
    const h = harness();
    rdsModel(h, { existing: [tagged('v1.2.2')], tagListInDescribe: false });
    await expect(runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 })).rejects.toMatchObject({ kind: 'conflict' });
    expect(h.mocks.primary.rds.commandCalls(ListTagsForResourceCommand)[0].args[0].input).toEqual({ ResourceName: SNAPSHOT_ARN });
  });

  test('a snapshot created by another run between lookup and CreateDBSnapshot is checked and waited for', async () => {
    const h = harness();
    rdsModel(h);
    // The other run's snapshot appears after our first lookup.
    h.mocks.primary.rds
      .on(DescribeDBSnapshotsCommand)
      .rejectsOnce(awsError('DBSnapshotNotFoundFault'))
      .resolves({ DBSnapshots: [tagged('v1.2.3')] });
    h.mocks.primary.rds.on(CreateDBSnapshotCommand).rejects(awsError('DBSnapshotAlreadyExistsFault'));
    const result = await runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 });
    expect(result).toEqual({ exitCode: ExitCode.OK, snapshotIdentifier: SNAPSHOT, created: false, pruned: [] });
    expect(h.out.text()).toContain('was created by another run for the same release');
  });

  test('the manual snapshot quota that the retention rule cannot make room for is named with what to do, nothing created', async () => {
    const h = harness();
    rdsModel(h, { quota: 0 });
    await expect(runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 })).rejects.toMatchObject({
      kind: 'aws',
      exitCode: ExitCode.AWS_ERROR,
      message: `RDS refused snapshot ${SNAPSHOT}: the account's quota of manual DB snapshots in us-east-1 is used up (SnapshotQuotaExceededFault; 100 by default) and the retention rule (config database.releaseSnapshots) lets no release snapshot go. Delete manual snapshots that are no longer needed, or raise "Manual DB instance snapshots" in Service Quotas, and run again`,
    });
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
    rdsModel(h);
    h.mocks.primary.rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceStatus: 'modifying' }] });
    await expect(runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 })).rejects.toThrow(
      `DB instance ${INSTANCE} is 'modifying': RDS takes snapshots only of an available instance; try again when it is available`,
    );
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
  });

  test('a snapshot that stays creating past the timeout is a TIMEOUT', async () => {
    const h = harness();
    rdsModel(h);
    h.mocks.primary.rds
      .on(DescribeDBSnapshotsCommand)
      .rejectsOnce(awsError('DBSnapshotNotFoundFault'))
      .resolves({ DBSnapshots: [{ Status: 'creating', PercentProgress: 10 }] });
    await expect(runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 5 })).rejects.toMatchObject({ kind: 'timeout', exitCode: ExitCode.TIMEOUT });
    expect(h.clock.now() - Date.parse('2025-06-01T12:00:00Z')).toBeLessThanOrEqual(5 * 60_000);
  });

  test('throttled CreateDBSnapshot is retried with backoff and succeeds', async () => {
    const h = harness();
    rdsModel(h);
    h.mocks.primary.rds
      .on(DescribeDBSnapshotsCommand)
      .rejectsOnce(awsError('DBSnapshotNotFoundFault'))
      .resolves({ DBSnapshots: [{ Status: 'available' }] });
    h.mocks.primary.rds.on(CreateDBSnapshotCommand).rejectsOnce(awsError('Throttling', 'Rate exceeded')).resolves({});
    const result = await runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 });
    expect(result.created).toBe(true);
    expect(h.mocks.primary.rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(2);
    expect(h.clock.sleeps[0]).toBe(1000);
  });

  test('access denied on CreateDBSnapshot names rds:CreateDBSnapshot', async () => {
    const h = harness();
    rdsModel(h);
    h.mocks.primary.rds.on(CreateDBSnapshotCommand).rejects(awsError('AccessDenied', 'not authorized'));
    await expect(runSnapshot(h.ctx, { release: 'v1.2.3', execute: true, timeoutMinutes: 60 })).rejects.toThrow(
      /^access denied: rds:CreateDBSnapshot on DB instance bodyscript-staging-postgres \(us-east-1\)/,
    );
  });
});
