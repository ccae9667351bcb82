import { z } from 'zod';
import {
  cdkCidrBlock,
  cidrBlocksOverlap,
  describePostgresEngineVersions,
  describePostgresInstanceClasses,
  isCanonicalCidr,
  isIpv4CidrSyntax,
  isPostgresInstanceClass,
  isPrivateCidr,
  KNOWN_REGIONS,
  minimumVpcPrefix,
  networkOf,
  MINIMUM_POSTGRES_MAJOR,
  POSTGRES_ENGINE_VERSIONS,
  POSTGRES_EXISTING_DATABASES,
  POSTGRES_RESERVED_WORDS,
  PRIMARY_REGION,
  PRIVATE_IPV4_RANGES,
  STANDBY_REGION,
  vpcSubnetsFit,
  DAILY_BACKUP_START_WINDOW_HOURS,
  dailyBackupStartHoursClearOfRds,
  describeHours,
  minimumMaxAllocatedStorageGiB,
  RDS_BACKUP_WINDOW,
  RDS_MAINTENANCE_WINDOW,
} from './aws';
import { FASTEST_BURN_FACTOR } from '../service-level-objectives';
import { MIN_BAD_REQUESTS_PER_MINUTE } from '../low-traffic';

/**
 * The schema of one BodyScript environment's configuration.
 *
 * Every field is checked before any construct is built (see `validate.ts`). Custom
 * checks carry their own message in the form "must be …, got …" so that the
 * formatter can print `<env>.<path>: <message>` and nothing else.
 */

/** Environment names are part of stack names and of every physical name. */
export const ENVIRONMENT_NAMES = ['staging', 'production'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * Control Tower's CT.CLOUDWATCH.PR.2 (cfn-guard rule
 * cloudwatch_log_group_retention_period_check, MINIMUM_RETENTION_IN_DAYS) fails
 * every log group kept less than a year, and every synth runs it: a shorter
 * logs.retentionDays would pass here and then stop `cdk synth` with one finding
 * per log group, none of which names the config field.
 */
export const MINIMUM_LOG_RETENTION_DAYS = 365;

/** The retention periods logs.retentionDays accepts: those CloudWatch Logs offers, a year or longer. */
export const ACCEPTED_LOG_RETENTION_DAYS = LOG_RETENTION_DAYS.filter((days) => days >= MINIMUM_LOG_RETENTION_DAYS);

/** Fargate task sizes: vCPU units and the memory (MiB) each allows. */
export const FARGATE_MEMORY_BY_CPU: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
};

/** How CodeDeploy shifts traffic from blue to green. */
export const DEPLOYMENT_STRATEGIES = ['all-at-once', 'canary-10-percent-5-minutes', 'linear-10-percent-every-1-minute'] as const;
export type DeploymentStrategy = (typeof DEPLOYMENT_STRATEGIES)[number];

/** Minutes each strategy takes to move all traffic to green (canary: 5-minute bake; linear: 10 steps, 1 minute apart). */
export const TRAFFIC_SHIFT_MINUTES: Readonly<Record<DeploymentStrategy, number>> = {
  'all-at-once': 0,
  'canary-10-percent-5-minutes': 5,
  'linear-10-percent-every-1-minute': 9,
};

/** Minutes a CodeDeploy deployment needs besides shifting and waiting: starting and health-checking the green tasks. */
export const DEPLOYMENT_STARTUP_MINUTES = 10;

/** CloudFormation waits at most an hour for the custom resource that runs a deployment. */
export const MAX_DEPLOYMENT_TIMEOUT_MINUTES = 60;

/** RDS Performance Insights keeps data for 7 days (free tier) or whole months up to 731 days. */
export const PERFORMANCE_INSIGHTS_RETENTION_DAYS = [7, 31, 62, 93, 186, 372, 731] as const;

/** A `noDomainReason` must say this much (characters): it is what a reviewer reads instead of a domain. */
export const MINIMUM_NO_DOMAIN_REASON_LENGTH = 40;

/** RDS enhanced monitoring intervals (seconds); 0 would turn it off, which we never allow. */
export const MONITORING_INTERVAL_SECONDS = [1, 5, 10, 15, 30, 60] as const;

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let v = from; v <= to; v += step) values.push(v);
  return values;
}

/** Renders a received value for an error message: strings quoted, the rest as JSON. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `'${value}'`;
  // JSON has no NaN or Infinity: JSON.stringify would print them as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  try {
    const json = JSON.stringify(value);
    return json.length > 60 ? `${json.slice(0, 57)}...` : json;
  } catch {
    return String(value);
  }
}

/** An integer in [min, max], reported as "must be an integer min–max, got X". */
export function integerBetween(min: number, max: number, unit = '') {
  const suffix = unit ? ` ${unit}` : '';
  return z.custom<number>((v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max, {
    error: (issue) => `must be an integer ${min}–${max}${suffix}, got ${describeValue(issue.input)}`,
  });
}

/** One of a fixed list of numbers, reported with the whole list. */
export function oneOfNumbers<T extends readonly number[]>(allowed: T, unit = '') {
  const suffix = unit ? ` (${unit})` : '';
  return z.custom<T[number]>((v) => typeof v === 'number' && allowed.includes(v), {
    error: (issue) => `must be one of ${allowed.join(', ')}${suffix}, got ${describeValue(issue.input)}`,
  });
}

/** A string matching a pattern, with a plain description of what is allowed. */
export function stringMatching(pattern: RegExp, allowed: string) {
  return z.custom<string>((v) => typeof v === 'string' && pattern.test(v), {
    error: (issue) => `must be ${allowed}, got ${describeValue(issue.input)}`,
  });
}

/**
 * A value checked by `test`, with a message that may depend on the value:
 * `problem` returns what is wrong (the text after "must …"), or undefined.
 */
export function checked<T>(problem: (value: unknown) => string | undefined) {
  return z.custom<T>((v) => problem(v) === undefined, {
    error: (issue) => `${problem(issue.input)}, got ${describeValue(issue.input)}`,
  });
}

const accountId = stringMatching(/^\d{12}$/, 'a 12-digit AWS account id');
const knownRegion = checked<string>((v) =>
  typeof v === 'string' && KNOWN_REGIONS.includes(v) ? undefined : 'must be an AWS region name such as us-east-1',
);
/** One region this app supports for a role, and why. */
function supportedRegion(region: string, why: string) {
  return checked<string>((v) => {
    if (typeof v !== 'string' || !KNOWN_REGIONS.includes(v)) return 'must be an AWS region name such as us-east-1';
    return v === region ? undefined : `must be '${region}' (${why})`;
  });
}

const vpcCidr = checked<string>((v) => {
  if (typeof v !== 'string' || !isIpv4CidrSyntax(v)) return 'must be an IPv4 CIDR block with a prefix of /16 to /24, such as 10.10.0.0/16';
  if (!isCanonicalCidr(v)) {
    return `must have no host bits set: CDK would build ${cdkCidrBlock(v).cidr} from it, not the block written; write the network address, such as ${networkOf(v)}`;
  }
  if (!isPrivateCidr(v)) return `must be inside a private range (${PRIVATE_IPV4_RANGES.join(', ')})`;
  return undefined;
});

/** RFC 5322 dot-atom local part (at most 64 characters) and a DNS domain with a letter TLD. */
const EMAIL = /^(?=.{1,254}$)(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
const email = stringMatching(EMAIL, 'an e-mail address such as oncall@example.com');
const dnsName = stringMatching(
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
  'a lower-case DNS name such as app.example.com',
);
/** ECR tag rules: up to 128 characters of letters, digits, '.', '_' and '-', starting with a letter or digit. */
export const imageTag = stringMatching(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
  "an image tag of 1–128 letters, digits, '.', '_' or '-' starting with a letter or digit",
);

const instanceClass = checked<string>((v) => {
  if (typeof v === 'string' && v.startsWith('db.')) return 'must be given without the db. prefix, such as r7g.large';
  if (typeof v === 'string' && isPostgresInstanceClass(v)) return undefined;
  return `must be an RDS for PostgreSQL instance class the app can size, without the db. prefix: ${describePostgresInstanceClasses()}`;
});

const engineVersion = checked<string>((v) =>
  typeof v === 'string' && POSTGRES_ENGINE_VERSIONS.includes(v)
    ? undefined
    : `must be a PostgreSQL version 'major.minor' that aws-cdk-lib knows, major ${MINIMUM_POSTGRES_MAJOR} or newer: ${describePostgresEngineVersions()}`,
);

const databaseName = checked<string>((v) => {
  if (typeof v !== 'string' || !/^[a-z][a-z0-9_]{0,62}$/.test(v)) {
    return 'must be a lower-case PostgreSQL identifier of 1–63 letters, digits or underscores starting with a letter, such as bodyscript';
  }
  if (POSTGRES_RESERVED_WORDS.has(v)) return 'must not be a PostgreSQL reserved key word (RDS refuses it as DBName)';
  if ((POSTGRES_EXISTING_DATABASES as readonly string[]).includes(v)) {
    return `must not be one of the databases every RDS for PostgreSQL instance already has (${POSTGRES_EXISTING_DATABASES.join(', ')})`;
  }
  return undefined;
});

/** The shortest reason this app accepts for running a database in one AZ; it becomes a compliance acknowledgement. */
export const MINIMUM_SINGLE_AZ_REASON_LENGTH = 40;

/** GitHub user and organisation names: 1–39 letters, digits or single hyphens, no hyphen at either end. */
export function githubOwnerProblem(v: unknown): string | undefined {
  if (typeof v === 'string' && v.includes('/')) return 'must be the owner alone (the part before the slash); put the repository name in github.repository';
  return typeof v === 'string' && /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/.test(v)
    ? undefined
    : 'must be a GitHub organisation or user name: 1–39 letters, digits or single hyphens, not starting or ending with a hyphen';
}
const githubOwner = checked<string>(githubOwnerProblem);

/**
 * GitHub repository names: 1–100 letters, digits, '.', '_' or '-'; '.' and '..'
 * are not repositories, and the clone suffix '.git' is not part of the name the
 * OIDC token's `sub` claim carries, so a trust policy with it never matches.
 */
export function githubRepositoryProblem(v: unknown): string | undefined {
  if (typeof v === 'string' && v.includes('/')) return 'must be the repository name alone (the part after the slash); the owner goes in github.owner';
  if (typeof v === 'string' && /\.git$/i.test(v)) return `must be the name without the '.git' clone suffix (the OIDC token names the repository '${v.slice(0, -4)}')`;
  return typeof v === 'string' && /^[A-Za-z0-9._-]{1,100}$/.test(v) && v !== '.' && v !== '..'
    ? undefined
    : "must be a GitHub repository name: 1–100 letters, digits, '.', '_' or '-', not '.' or '..'";
}
const githubRepository = checked<string>(githubRepositoryProblem);

const primaryLocation = z.strictObject({
  account: accountId,
  region: supportedRegion(PRIMARY_REGION, 'the CloudFront web ACL and certificate of the services stack exist only there'),
});
const standbyLocation = z.strictObject({
  account: accountId,
  region: supportedRegion(STANDBY_REGION, 'the standby region the DR runbooks, the dr-drill workflow and the cdk.context.json lookups are written for'),
});

const network = z.strictObject({
  /** CIDR of the primary region's VPC: a private block with no host bits, big enough for the subnets of every AZ. */
  primaryCidr: vpcCidr,
  /** CIDR of the standby region's VPC; must not overlap the primary (so the two can ever be peered). */
  standbyCidr: vpcCidr,
  /** Availability zones the VPC spans. */
  maxAzs: integerBetween(2, 3, 'availability zones'),
  /** NAT gateways: 1 is cheap, one per AZ survives an AZ loss. */
  natGateways: integerBetween(1, 3, 'NAT gateways'),
  /** Interface endpoints for ECR, CloudWatch Logs and Secrets Manager keep that traffic off the NAT. */
  interfaceEndpoints: z.boolean(),
});

/**
 * The most release snapshots `ops snapshot` keeps, whatever the rule says: half
 * of RDS's default quota of 100 manual DB instance snapshots per region, so the
 * release snapshots never use up the quota other snapshots need.
 */
export const MAX_RELEASE_SNAPSHOTS_KEPT = 50;

/** Which release snapshots `ops snapshot` keeps once a new one is available (lib/ops/snapshot-retention.ts); the rest are deleted. */
const releaseSnapshots = z.strictObject({
  /** The newest this many are kept, however old. */
  keepLatest: integerBetween(1, MAX_RELEASE_SNAPSHOTS_KEPT, 'snapshots'),
  /** Any younger than this is kept too (0: only the newest keepLatest). */
  keepDays: integerBetween(0, 35, 'days'),
});

export type ReleaseSnapshotRetention = z.infer<typeof releaseSnapshots>;

const database = z.strictObject({
  /** RDS instance class without the `db.` prefix, e.g. `t4g.medium` or `r7g.large` (see POSTGRES_INSTANCE_CLASSES). */
  instanceClass,
  /** PostgreSQL engine version `major.minor` that aws-cdk-lib knows; major 16 or newer. */
  engineVersion,
  /** Name of the application database created on the instance; not a reserved word. */
  databaseName,
  allocatedStorageGiB: integerBetween(20, 65536, 'GiB'),
  /** Storage autoscaling ceiling; at least 10 % above the allocated storage (RDS refuses less). */
  maxAllocatedStorageGiB: integerBetween(20, 65536, 'GiB'),
  /** Point-in-time recovery window. */
  backupRetentionDays: integerBetween(1, 35, 'days'),
  /** Release snapshots kept after a new one is available (`ops snapshot`). */
  releaseSnapshots,
  multiAz: z.boolean(),
  /**
   * Why this database may run in one AZ: required when `multiAz` is false (and
   * only then); it becomes the compliance acknowledgement of the single-AZ
   * findings. Production must be Multi-AZ unless this says why not.
   */
  singleAzReason: z.string().optional(),
  performanceInsightsRetentionDays: oneOfNumbers(PERFORMANCE_INSIGHTS_RETENTION_DAYS, 'days'),
  monitoringIntervalSeconds: oneOfNumbers(MONITORING_INTERVAL_SECONDS, 'seconds'),
  /** How often Secrets Manager rotates the master password. */
  credentialRotationDays: integerBetween(1, 365, 'days'),
});

/**
 * The only Object Lock mode a bucket's default retention may use. COMPLIANCE
 * locks every new version for the whole period against every principal, the
 * root user and the break-glass role included ("it can't be overwritten or
 * deleted by any user, including the root user", S3 User Guide, "Object Lock
 * retention modes"): a user's erasure request, a failback clean-up of the
 * standby replica and a mistaken upload could not be removed before it ends.
 * GOVERNANCE stops every principal without s3:BypassGovernanceRetention, which
 * the bucket policy leaves to the break-glass role alone (runbooks/break-glass.md).
 */
export const OBJECT_LOCK_DEFAULT_RETENTION_MODE = 'GOVERNANCE';

const storage = z.strictObject({
  /** Old object versions are kept this long, then expire. */
  noncurrentVersionExpirationDays: integerBetween(1, 3650, 'days'),
  /** Multipart uploads left unfinished are aborted after this many days. */
  abortIncompleteUploadDays: integerBetween(1, 30, 'days'),
  /** Server access logs are kept this long. */
  accessLogExpirationDays: integerBetween(30, 3650, 'days'),
  /**
   * Object Lock default retention of the results buckets (primary and standby
   * replica): every new result version is protected from deletion and
   * overwrite for `days` (S3 Object Lock, GOVERNANCE mode only). At most
   * `noncurrentVersionExpirationDays`, so that the lock never keeps a deleted
   * result longer than the storage policy says versions are kept.
   */
  resultsRetention: z.strictObject({
    mode: z.custom<typeof OBJECT_LOCK_DEFAULT_RETENTION_MODE>((v) => v === OBJECT_LOCK_DEFAULT_RETENTION_MODE, {
      error: (issue) =>
        `must be '${OBJECT_LOCK_DEFAULT_RETENTION_MODE}' (COMPLIANCE would lock each result against everyone, root and break glass included, so neither an erasure request nor the failback clean-up could remove it before the period ends), got ${describeValue(issue.input)}`,
    }),
    days: integerBetween(1, 3650, 'days'),
  }),
});

const backup = z.strictObject({
  /** Daily recovery points are kept this long. */
  retentionDays: integerBetween(7, 3650, 'days'),
  /** Hour of day (UTC) at which the daily backup starts; its start window stays clear of the RDS backup and maintenance windows. */
  dailyStartHourUtc: integerBetween(0, 23, '(hour, UTC)'),
  /**
   * The separate backup account (same AWS Organization) whose vault
   * `BodyScript-<Env>-BackupVault` receives a copy of every daily recovery
   * point; required in production (runbooks/backup-account.md).
   */
  copyAccount: accountId.optional(),
});

/** The backup account must be another account, and production must have one (issue 16.7). */
function backupCopyAccountProblems(config: { name: string; primary: { account: string }; standby: { account: string }; backup: { copyAccount?: string } }, ctx: z.RefinementCtx): void {
  const copyAccount = config.backup.copyAccount;
  if (copyAccount === undefined) {
    if (config.name === 'production') {
      ctx.addIssue({ code: 'custom', path: ['backup', 'copyAccount'], message: 'is required in production: a 12-digit account id of the separate backup account (recovery points must survive any single credential of the production account)' });
    }
  } else if (copyAccount === config.primary.account || copyAccount === config.standby.account) {
    ctx.addIssue({ code: 'custom', path: ['backup', 'copyAccount'], message: `must be a separate account, not primary.account or standby.account, got ${copyAccount}` });
  }
}

const domain = z.strictObject({
  /** The Route 53 public hosted zone that holds the names below. */
  hostedZoneId: stringMatching(/^Z[A-Z0-9]{1,31}$/, 'a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ'),
  hostedZoneName: dnsName,
  /** Name users type for the web app, e.g. app.bodyscript.example. */
  appDomainName: dnsName,
  /** Name of the API, e.g. api.bodyscript.example. */
  apiDomainName: dnsName,
});

const slack = z.strictObject({
  /** Slack workspace id as AWS Chatbot shows it (starts with T). */
  workspaceId: stringMatching(/^T[A-Z0-9]{8,11}$/, 'a Slack workspace id such as T012ABCDEFG'),
  /** Channel for critical alarms (starts with C). */
  criticalChannelId: stringMatching(/^[CG][A-Z0-9]{8,11}$/, 'a Slack channel id such as C012ABCDEFG'),
  /** Channel for warnings. */
  warningChannelId: stringMatching(/^[CG][A-Z0-9]{8,11}$/, 'a Slack channel id such as C012ABCDEFG'),
});

const sentry = z.strictObject({
  org: stringMatching(/^[a-z0-9][a-z0-9_-]{0,49}$/, 'a Sentry organization slug'),
  project: stringMatching(/^[a-z0-9][a-z0-9_-]{0,49}$/, 'a Sentry project slug'),
  /** Name of the Secrets Manager secret holding the DSN; the DSN itself never appears in code. */
  dsnSecretName: stringMatching(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'a Secrets Manager secret name'),
});

const service = z.strictObject({
  /** Default image tag; `-c <service>ImageTag=...` overrides it at synth. */
  imageTag,
  /** Fargate CPU units. */
  cpu: oneOfNumbers([256, 512, 1024, 2048, 4096] as const, 'CPU units'),
  /** Fargate memory (MiB); must be a size the CPU allows. */
  memoryMiB: integerBetween(512, 30720, 'MiB'),
  minTasks: integerBetween(1, 100, 'tasks'),
  maxTasks: integerBetween(1, 100, 'tasks'),
});

const deployment = z.strictObject({
  /** How traffic shifts to the new (green) task set. */
  strategy: z.enum(DEPLOYMENT_STRATEGIES),
  /** Minutes the old (blue) tasks keep running after the switch, so a rollback is instant. */
  terminationWaitMinutes: integerBetween(0, 2880, 'minutes'),
  /** A CodeDeploy deployment started by `cdk deploy` fails the stack after this long. */
  timeoutMinutes: integerBetween(5, 120, 'minutes'),
});

const logs = z.strictObject({
  /** Retention of every application and infrastructure log group. */
  retentionDays: oneOfNumbers(ACCEPTED_LOG_RETENTION_DAYS, "a CloudWatch Logs retention of at least a year, as Control Tower's CT.CLOUDWATCH.PR.2 requires on every synth"),
});

const disasterRecovery = z.strictObject({
  /**
   * Recovery time objective of a regional failover (minutes from the decision to a
   * healthy standby): the Region switch plan's target, which ARC reports each
   * execution against, and what `ops dr failover` measures in its report.
   */
  recoveryTimeObjectiveMinutes: integerBetween(5, 1440, 'minutes'),
});

/**
 * An SLO's goal: the share of events that must be good, strictly between 0 and 1,
 * and high enough that the fastest burn-rate alert (FASTEST_BURN_FACTOR × the
 * budget) is an error ratio that can happen: at 14.4× a goal below 1 − 1/14.4
 * (93.06 %) would need more than 100 % failures to page. At most 0.9999: the
 * api and the worker are single-region services whose deployments alone may
 * cost minutes a month, and 99.99 % over 28 days is a budget of 4 minutes.
 */
const sloGoal = checked<number>((v) => {
  const lowest = 1 - 1 / FASTEST_BURN_FACTOR;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v >= 1) return 'must be a fraction strictly between 0 and 1 such as 0.999';
  if (v < lowest) return `must be at least ${lowest.toFixed(4)}: the fastest burn-rate alert fires at ${FASTEST_BURN_FACTOR}× the budget, which for a lower goal is an error ratio above 100 %`;
  if (v > 0.9999) return 'must be at most 0.9999 (a 99.99 % budget over 28 days is 4 minutes, less than one release may take)';
  return undefined;
});

/** Service level objectives with error budgets (issue 14; runbooks/slo.md says why these numbers). */
const serviceLevelObjectives = z.strictObject({
  /**
   * Length of the rolling window every budget is counted over. The burn-rate
   * alerts are the SRE workbook's, set for about 30 days: with 7 days the
   * 3-day ticket would see almost half the budget, with more than 30 the
   * page would fire on less than 2 %.
   */
  windowDays: integerBetween(7, 30, 'days'),
  /**
   * The minimum-failures rule: a burn-rate alert fires only when its short
   * window holds at least this many failed events, so that at night, when the
   * canaries are most of the traffic, one failed request (50 % of a minute's
   * two) does not page (observability review R13/R14). Never below
   * MIN_BAD_REQUESTS_PER_MINUTE (lib/low-traffic.ts), the floor every rate
   * alarm on user traffic uses: the ServiceLevelObjectives construct refuses
   * fewer too, and the schema says so first, naming the field.
   */
  minimumBadEvents: checked<number>((v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= MIN_BAD_REQUESTS_PER_MINUTE && v <= 100
      ? undefined
      : `must be an integer ${MIN_BAD_REQUESTS_PER_MINUTE}–100 failed events: the low-traffic rule (lib/low-traffic.ts) counts no fewer than ${MIN_BAD_REQUESTS_PER_MINUTE} failures, since one or two among the canaries' few requests at night are no trend`,
  ),
  /** Share of api requests answered without a 5xx, the load balancer's own 502/503/504 included. */
  apiAvailability: z.strictObject({ goal: sloGoal }),
  /** Share of api requests answered within thresholdMilliseconds (the product's 500 ms). */
  apiLatency: z.strictObject({ goal: sloGoal, thresholdMilliseconds: integerBetween(50, 10000, 'milliseconds') }),
  /** Share of processed videos whose results were ready within readyWithinMinutes of the upload. */
  processingFreshness: z.strictObject({ goal: sloGoal, readyWithinMinutes: integerBetween(30, 1440, 'minutes') }),
  /** Share of the web app canary's runs that passed. */
  webAppCanary: z.strictObject({ goal: sloGoal }),
});
export type ServiceLevelObjectivesConfig = z.infer<typeof serviceLevelObjectives>;

const alarms = z.strictObject({
  /** Addresses subscribed to the critical and warning topics. */
  emails: z
    .array(email, { error: (i) => `must be a list of e-mail addresses, got ${describeValue(i.input)}` })
    .min(1, { error: 'must list at least one e-mail address, got none' })
    .superRefine((emails, ctx) => {
      // SNS subscribes an endpoint once per topic (CDK refuses the same address twice), and the
      // domain part is case-insensitive, so a case variant is the same mailbox subscribed twice.
      const seen = new Map<string, number>();
      emails.forEach((address, index) => {
        const key = address.toLowerCase();
        const first = seen.get(key);
        if (first === undefined) seen.set(key, index);
        else ctx.addIssue({ code: 'custom', path: [index], message: `must not repeat alarms.emails.${first} ('${emails[first]}'), got '${address}'` });
      });
    }),
});

export const environmentConfigSchema = z
  .strictObject({
    name: z.enum(ENVIRONMENT_NAMES),
    primary: primaryLocation,
    standby: standbyLocation,
    network,
    database,
    storage,
    backup,
    domain: domain.optional(),
    /**
     * Why this environment runs without a domain (then required, and refused in
     * production). Without one, CloudFront's api origin is a VPC origin of one
     * region's internal load balancer: the api fails over only by a manual
     * CloudFront change (control plane, us-east-1), viewers get the default
     * *.cloudfront.net certificate, and the buckets' CORS cannot name the app's
     * origin. The text becomes the compliance acknowledgement of those findings.
     */
    noDomainReason: z.string().optional(),
    alarms,
    slack: slack.optional(),
    sentry,
    services: z.strictObject({ api: service, processing: service }),
    deployment,
    logs,
    disasterRecovery,
    serviceLevelObjectives,
  })
  .superRefine((config, ctx) => {
    if (config.standby.account !== config.primary.account) {
      // The operations role, the ECR replication rule and the replica buckets' policies all assume one account.
      ctx.addIssue({
        code: 'custom',
        path: ['standby', 'account'],
        message: `must be primary.account (${config.primary.account}): the operations role, image replication and DR failover work within one account, got '${config.standby.account}'`,
      });
    }
    if (config.network.natGateways > config.network.maxAzs) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'natGateways'],
        message: `must be at most network.maxAzs (${config.network.maxAzs}), got ${config.network.natGateways}`,
      });
    }
    const minimumPrefix = minimumVpcPrefix(config.network.maxAzs);
    for (const field of ['primaryCidr', 'standbyCidr'] as const) {
      const cidr = config.network[field];
      if (!vpcSubnetsFit(cidr, config.network.maxAzs)) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', field],
          message: `must be a /${minimumPrefix} or larger to hold a /24 public, a /20 application and a /24 database subnet in each of network.maxAzs (${config.network.maxAzs}) AZs, got ${cidr}`,
        });
      }
    }
    if (cidrBlocksOverlap(config.network.primaryCidr, config.network.standbyCidr)) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'standbyCidr'],
        message: `must not overlap network.primaryCidr ${config.network.primaryCidr}, got ${config.network.standbyCidr}`,
      });
    }
    const minimumCeiling = minimumMaxAllocatedStorageGiB(config.database.allocatedStorageGiB);
    if (config.database.maxAllocatedStorageGiB < minimumCeiling) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'maxAllocatedStorageGiB'],
        message: `must be at least ${minimumCeiling} GiB, 10 % above database.allocatedStorageGiB (${config.database.allocatedStorageGiB}): RDS refuses a lower storage autoscaling ceiling, got ${config.database.maxAllocatedStorageGiB}`,
      });
    }
    if (config.storage.resultsRetention.days > config.storage.noncurrentVersionExpirationDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['storage', 'resultsRetention', 'days'],
        message: `must be at most storage.noncurrentVersionExpirationDays (${config.storage.noncurrentVersionExpirationDays}): a longer lock would keep deleted results past the time versions are kept, got ${config.storage.resultsRetention.days}`,
      });
    }
    const backupHours = dailyBackupStartHoursClearOfRds();
    if (!backupHours.includes(config.backup.dailyStartHourUtc)) {
      ctx.addIssue({
        code: 'custom',
        path: ['backup', 'dailyStartHourUtc'],
        message:
          `must be an hour (UTC) whose ${DAILY_BACKUP_START_WINDOW_HOURS}-hour start window stays clear of the database's RDS backup window ${RDS_BACKUP_WINDOW} and maintenance window ${RDS_MAINTENANCE_WINDOW} ` +
          `(the backup job cannot snapshot the instance while RDS backs it up or maintains it, and expires without a recovery point): ${describeHours(backupHours)}, got ${config.backup.dailyStartHourUtc}`,
      });
    }
    for (const serviceName of ['api', 'processing'] as const) {
      const s = config.services[serviceName];
      const allowedMemory = FARGATE_MEMORY_BY_CPU[s.cpu];
      if (allowedMemory && !allowedMemory.includes(s.memoryMiB)) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', serviceName, 'memoryMiB'],
          message: `must be a Fargate memory size for ${s.cpu} CPU units (${describeMemory(allowedMemory)}), got ${s.memoryMiB}`,
        });
      }
      if (s.minTasks > s.maxTasks) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', serviceName, 'maxTasks'],
          message: `must be at least services.${serviceName}.minTasks (${s.minTasks}), got ${s.maxTasks}`,
        });
      }
    }
    const { multiAz, singleAzReason } = config.database;
    if (multiAz && singleAzReason !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'singleAzReason'],
        message: `must be left out when database.multiAz is true, got ${describeValue(singleAzReason)}`,
      });
    } else if (!multiAz && singleAzReason === undefined && config.name === 'production') {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'multiAz'],
        message: 'must be true in production (a Multi-AZ standby survives the loss of an AZ), unless database.singleAzReason says why production may run in one AZ, got false',
      });
    } else if (!multiAz && (singleAzReason === undefined || singleAzReason.trim().length < MINIMUM_SINGLE_AZ_REASON_LENGTH)) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'singleAzReason'],
        message: `must say in at least ${MINIMUM_SINGLE_AZ_REASON_LENGTH} characters why this database may run in one AZ when database.multiAz is false (it becomes the compliance acknowledgement), got ${describeValue(singleAzReason)}`,
      });
    }
    // A CodeDeploy deployment only succeeds once the blue tasks are terminated,
    // so `cdk deploy` waits for the shift and the termination wait as well.
    const deploymentNeeds = DEPLOYMENT_STARTUP_MINUTES + TRAFFIC_SHIFT_MINUTES[config.deployment.strategy] + config.deployment.terminationWaitMinutes;
    if (config.deployment.timeoutMinutes > MAX_DEPLOYMENT_TIMEOUT_MINUTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['deployment', 'timeoutMinutes'],
        message: `must be at most ${MAX_DEPLOYMENT_TIMEOUT_MINUTES} minutes (CloudFormation waits at most an hour for the deployment started by cdk deploy), got ${config.deployment.timeoutMinutes}`,
      });
    } else if (config.deployment.timeoutMinutes < deploymentNeeds) {
      ctx.addIssue({
        code: 'custom',
        path: ['deployment', 'timeoutMinutes'],
        message: `must be at least ${deploymentNeeds} minutes (${DEPLOYMENT_STARTUP_MINUTES} to start the green tasks + ${TRAFFIC_SHIFT_MINUTES[config.deployment.strategy]} to shift traffic with '${config.deployment.strategy}' + deployment.terminationWaitMinutes ${config.deployment.terminationWaitMinutes}), got ${config.deployment.timeoutMinutes}`,
      });
    }
    if (config.domain && config.noDomainReason !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['noDomainReason'],
        message: `must be left out when domain is given, got ${describeValue(config.noDomainReason)}`,
      });
    } else if (!config.domain && config.name === 'production') {
      ctx.addIssue({
        code: 'custom',
        path: ['domain'],
        message:
          'must be given in production: the api fails over between regions only through Route 53 health checks on its own name (data plane), and without a domain a failover needs a CloudFront change in us-east-1 (control plane), got nothing',
      });
    } else if (!config.domain && (config.noDomainReason === undefined || config.noDomainReason.trim().length < MINIMUM_NO_DOMAIN_REASON_LENGTH)) {
      ctx.addIssue({
        code: 'custom',
        path: ['noDomainReason'],
        message: `must say in at least ${MINIMUM_NO_DOMAIN_REASON_LENGTH} characters why this environment has no domain (its api then fails over only by a manual CloudFront change), or give domain, got ${describeValue(config.noDomainReason)}`,
      });
    }
    if (config.domain) {
      for (const field of ['appDomainName', 'apiDomainName'] as const) {
        const name = config.domain[field];
        if (name !== config.domain.hostedZoneName && !name.endsWith(`.${config.domain.hostedZoneName}`)) {
          ctx.addIssue({
            code: 'custom',
            path: ['domain', field],
            message: `must be inside domain.hostedZoneName '${config.domain.hostedZoneName}', got '${name}'`,
          });
        }
      }
      if (config.domain.apiDomainName === config.domain.appDomainName) {
        ctx.addIssue({
          code: 'custom',
          path: ['domain', 'apiDomainName'],
          message: `must differ from domain.appDomainName (the web app and the api each need their own name, certificate and DNS record), got '${config.domain.apiDomainName}' for both`,
        });
      }
    }
  })
  .superRefine(backupCopyAccountProblems);

/** A validated environment configuration. */
export type EnvironmentConfig = z.infer<typeof environmentConfigSchema>;

function describeMemory(values: readonly number[]): string {
  return values.length > 4 ? `${values[0]}–${values[values.length - 1]} in steps of ${values[1] - values[0]}` : values.join(', ');
}

/**
 * Settings that belong to the project rather than to one environment: where the
 * GitHub deploy roles live and which repository may assume them.
 */
export const projectConfigSchema = z.strictObject({
  github: z.strictObject({
    /** GitHub organisation (or user) that owns the repository. */
    owner: githubOwner,
    /** Repository name; trust policies accept only `repo:<owner>/<repository>:…`. */
    repository: githubRepository,
    /** Account and region of the `BodyScript-GitHub` stack (the OIDC provider and deploy roles). */
    account: accountId,
    /** Any commercial region works for IAM roles; the README deploys it in us-east-1. */
    region: knownRegion,
  }),
});

/** Validated project-wide configuration. */
export type ProjectConfig = z.infer<typeof projectConfigSchema>;
