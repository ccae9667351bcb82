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
  /** Stateful, in the standby region: what must exist before the primary's replication rules. */
  standbyData: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}-StandbyData`,
  /** The disaster-recovery standby in the standby region. */
  standby: (env: EnvironmentName) => `BodyScript-${environmentTitle(env)}-Standby`,
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

/** The buckets of an environment, by purpose. */
export const BUCKET_PURPOSES = ['uploads', 'results', 'frontend', 'access-logs'] as const;
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

/** ECR repository of a service. */
export function repositoryName(env: EnvironmentName, service: ServiceName): string {
  return `bodyscript/${env}/${service}`;
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

/** CloudWatch Synthetics canary names: at most 21 characters of [0-9a-z_-]. */
export function canaryName(env: EnvironmentName, target: 'frontend' | 'api' | 'processing' | string): string {
  const shortEnv = env === 'production' ? 'prod' : 'stg';
  const name = `bs-${shortEnv}-${target}`;
  if (!/^[0-9a-z_-]{1,21}$/.test(name)) {
    throw new Error(`canary name '${name}' must be 1–21 characters of lower-case letters, digits, '_' or '-'`);
  }
  return name;
}

/** Name of a manual snapshot taken before a release, e.g. `bodyscript-production-pre-v1-2-3`. */
export function releaseSnapshotIdentifier(env: EnvironmentName, release: string): string {
  const cleaned = release.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  if (!cleaned) throw new Error(`release '${release}' must contain at least one letter or digit`);
  return `${resourcePrefix(env)}-pre-${cleaned}`.slice(0, 255).replace(/-$/, '');
}

/**
 * IAM roles that GitHub Actions assumes through OIDC (in the `BodyScript-GitHub`
 * stack). The workflows name them by these names, and test/workflows.test.ts
 * checks that they do.
 */
export function githubDeployRoleName(env: EnvironmentName): string {
  return `BodyScript-GitHub-Deploy-${environmentTitle(env)}`;
}
export const GITHUB_DIFF_ROLE_NAME = 'BodyScript-GitHub-Diff';

/**
 * The role in an environment's account that the operator CLI's changing
 * commands (snapshot, rollback, dr failover) run as from the pipeline. The
 * GitHub deploy role of the environment may assume it by this name.
 */
export function operationsRoleName(env: EnvironmentName): string {
  return `BodyScript-${environmentTitle(env)}-Operations`;
}
