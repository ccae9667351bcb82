import {
  CreateDBSnapshotCommand,
  type CreateDBSnapshotCommandInput,
  type DBSnapshot,
  DeleteDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  type DescribeDBSnapshotsCommandInput,
  ListTagsForResourceCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import type { Stub } from './codedeploy-ecs-model';

function awsError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

/**
 * Manual DB snapshots of one account and region, as the RDS API reference
 * describes them. It refuses what RDS refuses:
 *
 * - CreateDBSnapshot beyond the manual-snapshot quota (SnapshotQuotaExceeded,
 *   100 per region by default), or of an identifier that exists
 *   (DBSnapshotAlreadyExists); identifiers are stored in lower case.
 * - DeleteDBSnapshot of a snapshot that is not `available`
 *   (InvalidDBSnapshotState: "The DB snapshot must be in the available state
 *   to be deleted"), or of an unknown one (DBSnapshotNotFound).
 * - DescribeDBSnapshots with MaxRecords outside 20–100; it pages with Marker.
 *
 * A new snapshot is `creating` until it has been described once more (RDS
 * finishes it while the caller polls) or the test calls `tick()`.
 */
export class RdsSnapshotModel {
  readonly snapshots = new Map<string, DBSnapshot>();
  /** Calls that changed something, in order. */
  readonly changes: string[] = [];

  constructor(
    readonly instance: string,
    readonly options: { readonly quota?: number; readonly now: () => number; readonly account?: string; readonly region?: string },
  ) {}

  private arn(id: string): string {
    return `arn:aws:rds:${this.options.region ?? 'us-east-1'}:${this.options.account ?? '111111111111'}:snapshot:${id}`;
  }

  /** A snapshot that already exists (available unless said otherwise). */
  add(id: string, options: { readonly createdDaysAgo: number; readonly tags?: Tag[]; readonly status?: string; readonly instance?: string }): this {
    const key = id.toLowerCase();
    this.snapshots.set(key, {
      DBSnapshotIdentifier: key,
      DBSnapshotArn: this.arn(key),
      DBInstanceIdentifier: options.instance ?? this.instance,
      SnapshotType: 'manual',
      Status: options.status ?? 'available',
      SnapshotCreateTime: new Date(this.options.now() - options.createdDaysAgo * 24 * 60 * 60 * 1000),
      TagList: options.tags ?? [],
    });
    return this;
  }

  /** RDS finishes every snapshot being created. */
  tick(): void {
    for (const [key, s] of this.snapshots) if (s.Status === 'creating') this.finish(key);
  }

  private finish(key: string): void {
    const s = this.snapshots.get(key)!;
    this.snapshots.set(key, { ...s, Status: 'available', PercentProgress: 100, SnapshotCreateTime: s.SnapshotCreateTime ?? new Date(this.options.now()) });
  }

  install(rds: Stub): void {
    const quota = this.options.quota ?? 100;
    rds.on(DescribeDBInstancesCommand).callsFake(() => ({ DBInstances: [{ DBInstanceIdentifier: this.instance, DBInstanceStatus: 'available' }] }));
    rds.on(CreateDBSnapshotCommand).callsFake((input: CreateDBSnapshotCommandInput) => {
      const key = input.DBSnapshotIdentifier!.toLowerCase();
      if (this.snapshots.has(key)) throw awsError('DBSnapshotAlreadyExistsFault', `Cannot create the snapshot because a snapshot with the identifier ${key} already exists.`);
      if ([...this.snapshots.values()].filter((s) => s.SnapshotType === 'manual').length >= quota) {
        throw awsError('SnapshotQuotaExceededFault', `Cannot create more than ${quota} manual snapshots`);
      }
      const created: DBSnapshot = { DBSnapshotIdentifier: key, DBSnapshotArn: this.arn(key), DBInstanceIdentifier: input.DBInstanceIdentifier, SnapshotType: 'manual', Status: 'creating', PercentProgress: 0, TagList: input.Tags };
      this.snapshots.set(key, created);
      this.changes.push(`CreateDBSnapshot ${key}`);
      return { DBSnapshot: created };
    });
    rds.on(DescribeDBSnapshotsCommand).callsFake((input: DescribeDBSnapshotsCommandInput) => {
      if (input.DBSnapshotIdentifier) {
        const found = this.snapshots.get(input.DBSnapshotIdentifier.toLowerCase());
        if (!found) throw awsError('DBSnapshotNotFoundFault', `DBSnapshot ${input.DBSnapshotIdentifier} not found.`, 404);
        if (found.Status === 'creating') this.finish(found.DBSnapshotIdentifier!);
        return { DBSnapshots: [found] };
      }
      const max = input.MaxRecords ?? 100;
      if (max < 20 || max > 100) throw awsError('InvalidParameterValue', `MaxRecords must be between 20 and 100, got ${max}`);
      const all = [...this.snapshots.values()]
        .filter((s) => !input.DBInstanceIdentifier || s.DBInstanceIdentifier === input.DBInstanceIdentifier)
        .filter((s) => !input.SnapshotType || s.SnapshotType === input.SnapshotType)
        .sort((a, b) => a.DBSnapshotIdentifier!.localeCompare(b.DBSnapshotIdentifier!));
      const start = input.Marker ? Number(input.Marker) : 0;
      const page = all.slice(start, start + max);
      return { DBSnapshots: page, Marker: start + max < all.length ? String(start + max) : undefined };
    });
    rds.on(DeleteDBSnapshotCommand).callsFake((input: { DBSnapshotIdentifier: string }) => {
      const key = input.DBSnapshotIdentifier.toLowerCase();
      const found = this.snapshots.get(key);
      if (!found) throw awsError('DBSnapshotNotFoundFault', `DBSnapshot ${key} not found.`, 404);
      if (found.Status !== 'available') throw awsError('InvalidDBSnapshotStateFault', `Cannot delete the snapshot because the snapshot is in the ${found.Status} state.`);
      this.snapshots.delete(key);
      this.changes.push(`DeleteDBSnapshot ${key}`);
      return { DBSnapshot: { ...found, Status: 'deleted' } };
    });
    rds.on(ListTagsForResourceCommand).callsFake((input: { ResourceName: string }) => ({
      TagList: [...this.snapshots.values()].find((s) => s.DBSnapshotArn === input.ResourceName)?.TagList ?? [],
    }));
  }
}
