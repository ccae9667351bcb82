import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { RegionInfo } from 'aws-cdk-lib/region-info';

/**
 * What AWS and this app can actually build, as data the schema checks against.
 * Each table says where it comes from, so that a new AWS offering or a new
 * aws-cdk-lib release is a one-line change here and nowhere else.
 */

// --- Regions and accounts ---------------------------------------------------

/**
 * The primary region of every environment. The services stack holds the
 * CloudFront web ACL (scope CLOUDFRONT) and the web app's ACM certificate,
 * which AWS accepts only in us-east-1.
 */
export const PRIMARY_REGION = 'us-east-1';

/**
 * The standby region of every environment: the one the DR runbooks, the
 * dr-drill workflow, the replica buckets' CloudFront origin group and the
 * committed cdk.context.json lookups (availability zones, CloudFront prefix
 * list) are written for. Another region needs all of those first.
 */
export const STANDBY_REGION = 'us-west-2';

/** Commercial-partition regions aws-cdk-lib knows (its region-info table). */
export const KNOWN_REGIONS: readonly string[] = RegionInfo.regions.filter((r) => r.partition === 'aws').map((r) => r.name);

// --- VPC CIDRs, computed as CDK computes them -------------------------------

/**
 * The subnet masks ApplicationVpc asks for in every AZ, in its
 * subnetConfiguration order: public /24, application /20, database /24.
 * The "every accepted config builds" test fails if the construct changes
 * without this table.
 */
export const VPC_SUBNET_CIDR_MASKS = [
  { name: 'public', cidrMask: 24, subnetType: ec2.SubnetType.PUBLIC },
  { name: 'application', cidrMask: 20, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
  { name: 'database', cidrMask: 24, subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
] as const;

/** The private ranges of RFC 1918, which AWS recommends for a VPC. */
export const PRIVATE_IPV4_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] as const;

/** `a.b.c.d/n` with every octet 0–255 and a prefix of 16–24 (what this app accepts for a VPC). */
const CIDR_SYNTAX = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/(1[6-9]|2[0-4])$/;

export function isIpv4CidrSyntax(value: string): boolean {
  return CIDR_SYNTAX.test(value);
}

/**
 * The block CDK builds from `cidr`. `ec2.IpAddresses.cidr()` does not refuse
 * host bits: its CidrBlock rounds a misaligned address *up* to the next block
 * (`10.20.0.1/16` becomes `10.21.0.0/16`), so the VPC built is not the one written.
 */
export function cdkCidrBlock(cidr: string): ec2.CidrBlock {
  return new ec2.CidrBlock(cidr);
}

/** The block written with its host bits cleared, e.g. `10.20.0.0/16` for `10.20.5.1/16`: what the operator probably meant. */
export function networkOf(cidr: string): string {
  const [address, prefix] = cidr.split('/');
  const size = 2 ** (32 - Number(prefix));
  const value = ec2.NetworkUtils.ipToNum(address);
  return `${ec2.NetworkUtils.numToIp(value - (value % size))}/${prefix}`;
}

/** True when `cidr` has no host bits, i.e. CDK builds exactly the block written. */
export function isCanonicalCidr(cidr: string): boolean {
  return cdkCidrBlock(cidr).cidr === cidr;
}

/** Overlap as CDK's CidrBlock sees the two blocks (first and last address of each). */
export function cidrBlocksOverlap(a: string, b: string): boolean {
  const blockA = cdkCidrBlock(a);
  const blockB = cdkCidrBlock(b);
  return blockA.minAddress() <= blockB.maxAddress() && blockB.minAddress() <= blockA.maxAddress();
}

export function isPrivateCidr(cidr: string): boolean {
  return PRIVATE_IPV4_RANGES.some((range) => cdkCidrBlock(range).containsCidr(cdkCidrBlock(cidr)));
}

/**
 * Whether CDK can allocate ApplicationVpc's subnets in `cidr` across `azs`
 * availability zones. Runs aws-cdk-lib's own allocator (the one `ec2.Vpc` calls),
 * so the answer is the one synth would give.
 */
export function vpcSubnetsFit(cidr: string, azs: number): boolean {
  const requestedSubnets = VPC_SUBNET_CIDR_MASKS.flatMap(({ name, cidrMask, subnetType }) =>
    Array.from({ length: azs }, (_, az) => ({
      availabilityZone: `az-${az}`,
      subnetConstructId: `${name}${az}`,
      configuration: { name, cidrMask, subnetType },
    })),
  );
  return withoutCdkErrorFile(() => {
    try {
      ec2.IpAddresses.cidr(cidr).allocateSubnetsCidr({ vpcCidr: cidr, requestedSubnets });
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Runs `fn` with CDK_ERROR_FILE unset. aws-cdk-lib writes the code of every
 * error it *constructs* to that file (the CLI points it at `cdk.out/error.txt`),
 * so a question answered by catching a CDK error would otherwise leave a
 * misleading file in the output directory of a synth that never started.
 */
function withoutCdkErrorFile<T>(fn: () => T): T {
  const saved = process.env[cxapi.ERRORFILE_ENV];
  delete process.env[cxapi.ERRORFILE_ENV];
  try {
    return fn();
  } finally {
    if (saved !== undefined) process.env[cxapi.ERRORFILE_ENV] = saved;
  }
}

/** The longest prefix (smallest VPC) whose block holds ApplicationVpc's subnets in `azs` AZs. */
export function minimumVpcPrefix(azs: number): number {
  for (let prefix = 28; prefix >= 16; prefix--) {
    if (vpcSubnetsFit(`10.0.0.0/${prefix}`, azs)) return prefix;
  }
  return 16;
}

// --- RDS for PostgreSQL -----------------------------------------------------

const BURSTABLE_SIZES = ['micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'] as const;
const sizesUpTo = (...largest: string[]) => ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', ...largest];

/**
 * DB instance classes (without `db.`) that RDS for PostgreSQL offers and that
 * this app can size: the connection alarm derives `max_connections` from the
 * class's memory (constructs/data-alarms.ts `estimatedMaxConnections`), which
 * knows burstable sizes and the m (4 GiB/vCPU), r (8) and x2g (16) families.
 * Families with another memory ratio (x2iedn, z1d) and the Optimized Reads
 * "d" variants are left out until that table and a test know them.
 * Source: RDS User Guide, "DB instance classes" and "Supported DB engines for DB instance classes".
 */
export const POSTGRES_INSTANCE_CLASSES: Readonly<Record<string, readonly string[]>> = {
  t3: BURSTABLE_SIZES,
  t4g: BURSTABLE_SIZES,
  m5: sizesUpTo('24xlarge'),
  m6g: sizesUpTo(),
  m6i: sizesUpTo('24xlarge', '32xlarge'),
  m7g: sizesUpTo(),
  m7i: sizesUpTo('24xlarge', '48xlarge'),
  m8g: sizesUpTo('24xlarge', '48xlarge'),
  r5: sizesUpTo('24xlarge'),
  r6g: sizesUpTo(),
  r6i: sizesUpTo('24xlarge', '32xlarge'),
  r7g: sizesUpTo(),
  r7i: sizesUpTo('24xlarge', '48xlarge'),
  r8g: sizesUpTo('24xlarge', '48xlarge'),
  x2g: sizesUpTo(),
};

export function isPostgresInstanceClass(value: string): boolean {
  const [family, size, ...rest] = value.split('.');
  return rest.length === 0 && (POSTGRES_INSTANCE_CLASSES[family]?.includes(size) ?? false);
}

/** The table in words: families with the same sizes together, sizes as a range. */
export function describePostgresInstanceClasses(): string {
  const groups = new Map<string, string[]>();
  for (const [family, sizes] of Object.entries(POSTGRES_INSTANCE_CLASSES)) {
    const key = sizes.length > 2 ? `${sizes[0]}–${sizes[sizes.length - 1]}` : sizes.join(', ');
    groups.set(key, [...(groups.get(key) ?? []), family]);
  }
  return [...groups.entries()].map(([sizes, families]) => `${families.join('/')} ${sizes}`).join('; ');
}

/** The oldest PostgreSQL major version the app builds (TLS-only parameter group, logical replication settings). */
export const MINIMUM_POSTGRES_MAJOR = 16;

/**
 * `major.minor` PostgreSQL versions aws-cdk-lib's `rds.PostgresEngineVersion`
 * knows, major 16 and newer. A version it does not know would still synthesize
 * (`PostgresEngineVersion.of`) but may not exist in RDS; the known ones do.
 */
export const POSTGRES_ENGINE_VERSIONS: readonly string[] = Object.getOwnPropertyNames(rds.PostgresEngineVersion)
  .filter((name) => name.startsWith('VER_'))
  .map((name) => (rds.PostgresEngineVersion as unknown as Record<string, rds.PostgresEngineVersion>)[name].postgresFullVersion)
  .filter((version) => /^\d+\.\d+$/.test(version) && Number(version.split('.')[0]) >= MINIMUM_POSTGRES_MAJOR)
  .sort((a, b) => compareVersions(a, b));

function compareVersions(a: string, b: string): number {
  const [aMajor, aMinor] = a.split('.').map(Number);
  const [bMajor, bMinor] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

/** The known versions in words, one range per major: `16.1–16.13, 17.1–17.9`. */
export function describePostgresEngineVersions(): string {
  const byMajor = new Map<string, number[]>();
  for (const version of POSTGRES_ENGINE_VERSIONS) {
    const [major, minor] = version.split('.');
    byMajor.set(major, [...(byMajor.get(major) ?? []), Number(minor)]);
  }
  return [...byMajor.entries()]
    .map(([major, minors]) => {
      const contiguous = minors.every((minor, i) => i === 0 || minor === minors[i - 1] + 1);
      return contiguous && minors.length > 2
        ? `${major}.${minors[0]}–${major}.${minors[minors.length - 1]}`
        : minors.map((minor) => `${major}.${minor}`).join(', ');
    })
    .join(', ');
}

/**
 * PostgreSQL key words that cannot name a database unquoted: the "reserved"
 * and "reserved (can be function or type)" categories of src/include/parser/kwlist.h
 * (RESERVED_KEYWORD and TYPE_FUNC_NAME_KEYWORD; SYSTEM_USER since 16). RDS refuses
 * such a DBName ("It is a reserved word for this engine").
 */
export const POSTGRES_RESERVED_WORDS: ReadonlySet<string> = new Set([
  // RESERVED_KEYWORD
  'all', 'analyse', 'analyze', 'and', 'any', 'array', 'as', 'asc', 'asymmetric', 'both', 'case', 'cast', 'check',
  'collate', 'column', 'constraint', 'create', 'current_catalog', 'current_date', 'current_role', 'current_time',
  'current_timestamp', 'current_user', 'default', 'deferrable', 'desc', 'distinct', 'do', 'else', 'end', 'except',
  'false', 'fetch', 'for', 'foreign', 'from', 'grant', 'group', 'having', 'in', 'initially', 'intersect', 'into',
  'lateral', 'leading', 'limit', 'localtime', 'localtimestamp', 'not', 'null', 'offset', 'on', 'only', 'or', 'order',
  'placing', 'primary', 'references', 'returning', 'select', 'session_user', 'some', 'symmetric', 'system_user',
  'table', 'then', 'to', 'trailing', 'true', 'union', 'unique', 'user', 'using', 'variadic', 'when', 'where', 'window',
  'with',
  // TYPE_FUNC_NAME_KEYWORD
  'authorization', 'binary', 'collation', 'concurrently', 'cross', 'current_schema', 'freeze', 'full', 'ilike', 'inner',
  'is', 'isnull', 'join', 'left', 'like', 'natural', 'notnull', 'outer', 'overlaps', 'right', 'similar', 'tablesample',
  'verbose',
]); // prettier-ignore

/**
 * Databases every RDS for PostgreSQL instance already has: `rdsadmin` is RDS's
 * own (reserved), the templates and `postgres` exist from initdb. Naming the
 * application database after one of them creates nothing of its own.
 */
export const POSTGRES_EXISTING_DATABASES = ['postgres', 'rdsadmin', 'template0', 'template1'] as const;

// --- RDS storage autoscaling ---------------------------------------------------

/**
 * The smallest storage autoscaling ceiling RDS accepts for an allocation: "You
 * must set the maximum storage threshold to at least 10% more than the current
 * allocated storage" (RDS User Guide, "Managing capacity automatically with
 * Amazon RDS storage autoscaling"; e.g. 1100 GiB for 1000 GiB, anything lower
 * fails with "Invalid max storage size"). Integer arithmetic: 1.1 × 100 is
 * 110.00000000000001 in floating point.
 */
export function minimumMaxAllocatedStorageGiB(allocatedStorageGiB: number): number {
  return Math.ceil((allocatedStorageGiB * 11) / 10);
}

// --- When the database is busy: RDS's windows and the daily AWS Backup job ------

/**
 * The primary database's daily automated backup window (RDS PreferredBackupWindow,
 * UTC) and weekly maintenance window (PreferredMaintenanceWindow). RDS refuses
 * a backup window that overlaps the maintenance window ("The backup window
 * can't overlap with the weekly maintenance window", RDS User Guide, "Backup
 * window"; CreateDBInstance PreferredBackupWindow: "Must not conflict with the
 * preferred maintenance window"), so these two are fixed together here.
 */
export const RDS_BACKUP_WINDOW = '03:00-04:00';
export const RDS_MAINTENANCE_WINDOW = 'sun:04:30-sun:05:30';

/**
 * How long the daily AWS Backup job may take to start (BackupRule
 * StartWindowMinutes, which AWS Backup wants to be at least 60): the job
 * stays CREATED and is retried at least every 10 minutes until it starts, and
 * EXPIRES when the window ends (AWS Backup API, BackupRule).
 */
export const DAILY_BACKUP_START_WINDOW_HOURS = 1;

/** `hh:mm` → minutes after midnight. */
function minuteOfDay(time: string): number {
  const [hours, minutes] = time.split(':').map(Number);
  return hours * 60 + minutes;
}

/** A window as [start, end) minutes after midnight; a weekly window's weekday is dropped (the daily job meets it once a week). */
function windowMinutes(window: string): [number, number] {
  const [start, end] = window.split('-').map((part) => part.replace(/^[a-z]{3}:/, ''));
  return [minuteOfDay(start), minuteOfDay(end)];
}

/**
 * The hours (UTC) at which the daily AWS Backup job may start so that its start
 * window overlaps neither RDS window. Nothing refuses an overlap at deploy time
 * (a backup plan's schedule is any cron expression); it collides at run time:
 * the job's snapshot of the database (CreateDBSnapshot, which wants the
 * instance `available`) cannot start while RDS takes its automated backup or
 * applies maintenance, so the job waits in its start window and, if the
 * instance stays busy, EXPIRES without a recovery point, on that day (backup
 * window) or every week (maintenance window).
 */
export function dailyBackupStartHoursClearOfRds(): number[] {
  const busy = [windowMinutes(RDS_BACKUP_WINDOW), windowMinutes(RDS_MAINTENANCE_WINDOW)];
  const overlaps = (start: number, end: number) => busy.some(([busyStart, busyEnd]) => start < busyEnd && busyStart < end);
  return Array.from({ length: 24 }, (_, hour) => hour).filter((hour) => {
    const start = hour * 60;
    const end = start + DAILY_BACKUP_START_WINDOW_HOURS * 60;
    // A start window running past midnight also meets the next day's first minutes.
    return !overlaps(start, Math.min(end, 1440)) && !(end > 1440 && overlaps(0, end - 1440));
  });
}

/** Whole hours as compact ranges for messages: [0, 1, 2, 6, 7, …, 23] → '0–2, 6–23'. */
export function describeHours(hours: readonly number[]): string {
  const ranges: string[] = [];
  for (let i = 0; i < hours.length; i++) {
    let j = i;
    while (j + 1 < hours.length && hours[j + 1] === hours[j] + 1) j++;
    ranges.push(i === j ? `${hours[i]}` : `${hours[i]}–${hours[j]}`);
    i = j;
  }
  return ranges.join(', ');
}
