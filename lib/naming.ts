import type { EnvironmentName } from './config/schema';

/**
 * Every name that people type or that the operator CLI looks up at run time.
 *
 * The CDK app and the operator CLI (`bin/ops.ts`) both read these functions, so
 * the CLI finds the database, deployment groups and alarms without reading any
 * CloudFormation output, and no stack imports a value from another region.
 * Changing a physical name here replaces the resource: the stateful ones are
 * pinned by `test/stateful-resources.test.ts`.
 */

/** The application services that run on ECS and deploy blue/green. */
export const SERVICE_NAMES = ['api', 'processing'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** `staging` → `Staging`: the form used in stack names. */
export function environmentTitle(env: EnvironmentName): string {
  return env.charAt(0).toUpperCase() + env.slice(1);
}

/** Stack names are part of the interface: engineers type them after `cdk deploy`. */
export const stackNames = {
  /** Brings up the whole environment; depends on every stack it needs. */
  application: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}`,
  /** Alarm topics and their delivery; deployed first so every stack can publish to it. */
  alerting: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}-Alerting`,
  network: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}-Network`,
  /** Stateful: database, buckets, keys, queues, backups. Termination protection on. */
  data: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}-Data`,
  /**
   * Stateful: the environment's container repositories and their replication to the
   * standby region. Deployed before anything that pulls an image, so that the images
   * can be pushed before the first service starts. Termination protection on.
   */
  registry: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}-Registry`,
  /** What serves traffic: the ECS services, their load balancers, CodeDeploy, canaries, CloudFront. */
  services: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}-Services`,
  /** Stateful, in the standby region: what must exist before the primary's replication rules. */
  standbyData: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}-StandbyData`,
  /** The disaster-recovery standby in the standby region. */
  standby: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}-Standby`,
  /** The role the pipeline's operator commands run as (snapshot, rollback, DR failover). */
  operations: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}-Operations`,
  /** AWS FIS experiment templates (game days) against the primary region; deployed after the top stack. */
  faultInjection: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}-FaultInjection`,
  /**
   * Stateful, in the separate backup account (config backup.copyAccount), primary
   * region: the vault that receives a copy of every daily recovery point.
   * Deployed by a person with backup-account credentials, never by the pipeline
   * (runbooks/backup-account.md); no environment stack depends on it.
   */
  backupVault: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}-BackupVault`,
  /** The GitHub OIDC provider and deploy roles. */
  github: 'BodyScript-GitHub',
} as const;

/** Lower-case prefix of physical names: `bodyscript-staging`. */
export function resourcePrefix(env: EnvironmentName): string {
  return `bodyscript-${env}`;
}

/** RDS instance identifier of the primary database. */
export function databaseInstanceIdentifier(env: EnvironmentName): string {
  return `${resourcePrefix(env)}-postgres`;
}

/** RDS instance identifier of the cross-region read replica in the standby region. */
export function replicaInstanceIdentifier(env: EnvironmentName): string {
  return `${resourcePrefix(env)}-postgres-replica`;
}

/** Name of the Secrets Manager secret with the database master credentials. */
export function databaseSecretName(env: EnvironmentName): string {
  return `bodyscript/${env}/database-master`;
}

/**
 * The buckets of an environment, by purpose. The server access log buckets are
 * `s3-access-logs`: the first ones (`access-logs`) had Object Lock enabled,
 * which S3 server access logging refuses and which cannot be turned off, so
 * they were replaced under a new name (the old ones are retained; see
 * runbooks/break-glass.md, "Object Lock default retention").
 */
export const BUCKET_PURPOSES = ['uploads', 'results', 'frontend', 's3-access-logs'] as const;
export type BucketPurpose = (typeof BUCKET_PURPOSES)[number];

/**
 * Bucket names are global, so they carry account and region. The standby's replica
 * buckets use the same function with the standby's account and region, which lets
 * the primary's replication rules name them without a cross-region reference.
 */
export function bucketName(env: EnvironmentName, purpose: BucketPurpose | string, account: string, region: string): string {
  return `${resourcePrefix(env)}-${purpose}-${account}-${region}`;
}

/** SQS queue that receives upload events for the processing worker, and its dead-letter queue. */
export function processingQueueName(env: EnvironmentName): string {
  return `${resourcePrefix(env)}-processing-jobs`;
}
export function processingDeadLetterQueueName(env: EnvironmentName): string {
  return `${resourcePrefix(env)}-processing-jobs-dlq`;
}

/** AWS Backup vault and plan. */
export function backupVaultName(env: EnvironmentName): string {
  return `${resourcePrefix(env)}-vault`;
}
export function backupPlanName(env: EnvironmentName): string {
  return `${resourcePrefix(env)}-daily`;
}

/** KMS key aliases (the alias, not the key, is what people and policies name). */
export function keyAlias(env: EnvironmentName, purpose: 'data' | 'database' | 'backup' | 'logs' | string): string {
  return `alias/${resourcePrefix(env)}/${purpose}`;
}

/** ECS cluster of an environment (the standby's cluster has the same name in its own region). */
export function clusterName(env: EnvironmentName): string {
  return resourcePrefix(env);
}

/** ECS service name of a BodyScript service. */
export function ecsServiceName(env: EnvironmentName, service: ServiceName): string {
  return `${resourcePrefix(env)}-${service}`;
}

/** CodeDeploy application and deployment group of a service. */
export function codeDeployApplicationName(env: EnvironmentName, service: ServiceName): string {
  return `BodyScript-${environmentTitle(env)}-${service}`;
}
export function deploymentGroupName(env: EnvironmentName, service: ServiceName): string {
  return `BodyScript-${environmentTitle(env)}-${service}`;
}

/** CloudWatch log group of a service's containers. */
export function serviceLogGroupName(env: EnvironmentName, service: ServiceName): string {
  return `/bodyscript/${env}/${service}`;
}

/** Task definition family of a service (CodeDeploy deploys new revisions of it). */
export function taskFamilyName(env: EnvironmentName, service: ServiceName): string {
  return `${resourcePrefix(env)}-${service}`;
}

/** Secrets Manager secret whose value CloudFront sends to the api load balancer to prove a request came through it. */
export function originVerifySecretName(env: EnvironmentName): string {
  return `bodyscript/${env}/cloudfront-origin-verify`;
}

/** AWS WAF web ACL in front of the CloudFront distribution. */
export function webAclName(env: EnvironmentName): string {
  return `${resourcePrefix(env)}-edge`;
}

/** REGIONAL AWS WAF web ACL of the api's internet-facing load balancer (one per region, same name). */
export function apiWebAclName(env: EnvironmentName): string {
  return `${resourcePrefix(env)}-api`;
}

/** CloudFront VPC origin of a region's internal api load balancer (names are unique per account: the region is in it). */
/**
 * Name of the api load balancer, the same in both regions: the origin-verify
 * rotation function (us-east-1) finds the standby's by it without a reference
 * across regions. At most 32 characters (ELB).
 */
export function apiLoadBalancerName(env: EnvironmentName): string {
  return `${resourcePrefix(env)}-api`;
}

export function apiVpcOriginName(env: EnvironmentName, region: string): string {
  return `${resourcePrefix(env)}-api-${region}`;
}

/** ECR repository of a service. */
export function repositoryName(env: EnvironmentName, service: ServiceName): string {
  return `bodyscript/${env}/${service}`;
}
/** What every repository name of an environment starts with (the ECR replication filter). */
export function repositoryNamePrefix(env: EnvironmentName): string {
  return `bodyscript/${env}/`;
}

/**
 * Every CloudWatch alarm of an environment starts with this prefix, so that
 * `ops verify` can list them all with one `DescribeAlarms(AlarmNamePrefix)` call.
 */
export function alarmNamePrefix(env: EnvironmentName): string {
  return `BodyScript-${environmentTitle(env)}-`;
}
export function alarmName(env: EnvironmentName, ...parts: string[]): string {
  return `${alarmNamePrefix(env)}${parts.join('-')}`;
}

/** Name of the composite alarm that says whether the environment is healthy (FIS stop condition, DR status). */
export function serviceHealthAlarmName(env: EnvironmentName): string {
  return alarmName(env, 'ServiceHealth');
}

/** SNS topics people subscribe to. */
export function alarmTopicName(env: EnvironmentName, severity: 'critical' | 'warning'): string {
  return `${resourcePrefix(env)}-${severity}`;
}

/**
 * The standby's dashboard, `BodyScript-<Env>-Standby` (the environment after a
 * failover, graphed from the standby region). CloudWatch dashboards are global
 * to the account, so it differs from the primary's `BodyScript-<Env>`.
 */
export function standbyDashboardName(env: EnvironmentName): string {
  return `BodyScript-${environmentTitle(env)}-Standby`;
}

/** CloudWatch Synthetics canary names: at most 21 characters of [0-9a-z_-]. */
export function canaryName(env: EnvironmentName, target: 'frontend' | 'api' | 'processing' | string): string {
  const shortEnv = env === 'production' ? 'prod' : 'stg';
  const name = `bs-${shortEnv}-${target}`;
  if (!/^[0-9a-z_-]{1,21}$/.test(name)) {
    throw new Error(`canary name '${name}' must be 1–21 characters of lower-case letters, digits, '_' or '-'`);
  }
  return name;
}

/**
 * Bucket of a Synthetics canary's run artifacts (logs, HAR files), named after the
 * canary (see `canaryName()`), with account and region because bucket names are global.
 */
export function canaryArtifactsBucketName(canary: string, account: string, region: string): string {
  const name = `bodyscript-canary-${canary}-${account}-${region}`;
  if (name.length > 63) throw new Error(`canary artifacts bucket name '${name}' must be at most 63 characters; shorten the canary name '${canary}'`);
  return name;
}

/**
 * Release names `ops snapshot` accepts: 1–64 lower-case letters, digits, '.',
 * '_' or '-', starting with a letter or digit (git tags such as `v1.4.0`,
 * `main-<sha>`). Lower case only because RDS stores snapshot identifiers in
 * lower case: `V1.0` and `v1.0` would otherwise name one snapshot.
 */
export const RELEASE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const RELEASE_NAME_RULE = "1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit";

/**
 * How a release name's separators appear in a snapshot identifier, which RDS
 * limits to letters, digits and single hyphens. Every hyphen in the encoded
 * name starts one of these pairs, so the encoding is reversible and two
 * releases never share a snapshot (`v1.2.3` → `v1-d2-d3`, `v1-2-3` → `v1-h2-h3`).
 */
const SEPARATOR_CODES: Readonly<Record<string, string>> = { '.': 'd', '-': 'h', _: 'u' };

/** What is wrong with `release` as a release name ("must …, got …"), or undefined. */
export function releaseNameProblem(release: string): string | undefined {
  if (RELEASE_NAME_PATTERN.test(release)) return undefined;
  if (RELEASE_NAME_PATTERN.test(release.toLowerCase())) {
    return `must be lower case (RDS stores snapshot identifiers in lower case, so '${release}' and '${release.toLowerCase()}' would be one snapshot), got '${release}'`;
  }
  const length = release.length > 64 ? ` (${release.length} characters)` : '';
  return `must be ${RELEASE_NAME_RULE}, got '${release.length > 80 ? `${release.slice(0, 77)}...` : release}'${length}`;
}

/**
 * Name of the manual snapshot taken before a release:
 * `bodyscript-<env>-pre-<encoded release>`, e.g. `bodyscript-production-pre-v1-d4-d0`
 * for `v1.4.0`. Throws when the release name is not one `releaseNameProblem` accepts.
 */
export function releaseSnapshotIdentifier(env: EnvironmentName, release: string): string {
  const problem = releaseNameProblem(release);
  if (problem) throw new Error(problem);
  const encoded = [...release].map((c) => (SEPARATOR_CODES[c] ? `-${SEPARATOR_CODES[c]}` : c)).join('');
  return `${releaseSnapshotPrefix(env)}${encoded}`;
}

/** Every release snapshot of `env` starts with this (the operations role may snapshot only these). */
export function releaseSnapshotPrefix(env: EnvironmentName): string {
  return `${resourcePrefix(env)}-pre-`;
}

/** The release a snapshot identifier names, or undefined when it is not one `releaseSnapshotIdentifier` makes. */
export function releaseFromSnapshotIdentifier(env: EnvironmentName, identifier: string): string | undefined {
  const prefix = releaseSnapshotPrefix(env);
  if (!identifier.startsWith(prefix)) return undefined;
  const codes = Object.fromEntries(Object.entries(SEPARATOR_CODES).map(([separator, code]) => [code, separator]));
  const decoded = identifier.slice(prefix.length).replace(/-([a-z])/g, (pair: string, code: string) => codes[code] ?? pair);
  // Only an identifier this function's inverse would make names a release (no stray or unknown hyphen pairs).
  if (releaseNameProblem(decoded) !== undefined || releaseSnapshotIdentifier(env, decoded) !== identifier) return undefined;
  return decoded;
}

/**
 * ARNs built from names, account and region. Stacks in one region use them to
 * name resources of the other region without a cross-region reference (which
 * CloudFormation can only express as an export that blocks updates).
 */
export function partitionOf(region: string): string {
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('cn-')) return 'aws-cn';
  return 'aws';
}
export interface AccountRegion {
  readonly account: string;
  readonly region: string;
}
/** `arn:aws:rds:<region>:<account>:db:<identifier>` of the primary database. */
export function databaseInstanceArn(env: EnvironmentName, where: AccountRegion): string {
  return `arn:${partitionOf(where.region)}:rds:${where.region}:${where.account}:db:${databaseInstanceIdentifier(env)}`;
}
/** ARN of a KMS alias: S3 replication and RDS accept it where a key ARN is expected. */
export function keyAliasArn(alias: string, where: AccountRegion): string {
  return `arn:${partitionOf(where.region)}:kms:${where.region}:${where.account}:${alias}`;
}
/** ARN of the environment's AWS Backup vault in a region (the standby has a vault of the same name). */
export function backupVaultArn(env: EnvironmentName, where: AccountRegion): string {
  return `arn:${partitionOf(where.region)}:backup:${where.region}:${where.account}:backup-vault:${backupVaultName(env)}`;
}
/** ARN of a CloudWatch alarm (metric or composite) by name. */
export function alarmArn(name: string, where: AccountRegion): string {
  return `arn:${partitionOf(where.region)}:cloudwatch:${where.region}:${where.account}:alarm:${name}`;
}

/** Buckets whose objects replicate to the standby region (access logs stay regional). */
export const REPLICATED_BUCKET_PURPOSES = ['uploads', 'results', 'frontend'] as const;
export type ReplicatedBucketPurpose = (typeof REPLICATED_BUCKET_PURPOSES)[number];
/** Id of the replication rule on every replicated bucket; `ops dr status` and the replication metrics name it. */
export const REPLICATION_RULE_ID = 'ReplicateToStandby';

/** Key alias of the standby region's keys: `alias/bodyscript-staging/standby-data`. */
export function standbyKeyAlias(env: EnvironmentName, purpose: 'data' | 'database' | 'logs' | 'backup' | 'alarm-topics'): string {
  return keyAlias(env, `standby-${purpose}`);
}

/**
 * IAM roles that GitHub Actions assumes through OIDC (in the `BodyScript-GitHub`
 * stack). The workflows name them by these names, and test/workflows.test.ts
 * checks that they do.
 */
export function githubDeployRoleName(env: EnvironmentName): string {
  return `BodyScript-GitHub-Deploy-${environmentTitle(env)}`;
}

/**
 * The read-only role of an environment's plan job (deploy-production.yml's
 * `plan`): it may only assume the CDK lookup roles, to read the deployed templates.
 */
export function githubPlanRoleName(env: EnvironmentName): string {
  return `BodyScript-GitHub-Plan-${environmentTitle(env)}`;
}

/**
 * The role in an environment's account that the operator CLI's changing
 * commands (snapshot, rollback, dr failover) run as from the pipeline. The
 * GitHub deploy role of the environment may assume it by this name.
 */
export function operationsRoleName(env: EnvironmentName): string {
  return `BodyScript-${environmentTitle(env)}-Operations`;
}

/**
 * Name of the environment's ARC Region switch plan (1–32 letters, digits and
 * hyphens). The plan's ARN adds a random suffix (`plan/<name>:<6 chars>`), so
 * the operator CLI finds the plan by this name in the recovery region.
 */
export function regionSwitchPlanName(env: EnvironmentName): string {
  return `${resourcePrefix(env)}-failover`;
}

/** IAM resource pattern of the plan: its ARN has no region and ends in a suffix AWS chooses. */
export function regionSwitchPlanArnPattern(env: EnvironmentName, account: string, partition = 'aws'): string {
  return `arn:${partition}:arc-region-switch::${account}:plan/${regionSwitchPlanName(env)}:*`;
}

/**
 * SSM parameter, in the standby region, that says the environment is failed
 * over: `ops dr failover` writes it before it starts the plan, `ops dr failback
 * --execute` deletes it, and the pipeline refuses to deploy while it exists.
 * No stack owns it: a deploy must never reset it.
 */
export function failedOverMarkerName(env: EnvironmentName): string {
  return `/bodyscript/${env}/dr/failed-over`;
}

/** ARN of the failed-over marker (SSM parameter names that start with '/' follow `parameter` directly). */
export function failedOverMarkerArn(env: EnvironmentName, where: AccountRegion): string {
  return `arn:${partitionOf(where.region)}:ssm:${where.region}:${where.account}:parameter${failedOverMarkerName(env)}`;
}
