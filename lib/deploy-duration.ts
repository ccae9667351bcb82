import { type EnvironmentConfig, type EnvironmentName, MAX_DEPLOYMENT_TIMEOUT_MINUTES } from './config';
import { stackNames } from './naming';

/**
 * How long a `cdk deploy` of BodyScript can take at worst, computed from an
 * environment's config, and what that means for the credentials and job
 * timeouts that must outlast it.
 *
 * Why it matters: the CDK CLI polls CloudFormation with the credentials it was
 * started with. When they expire the CLI fails ("ExpiredToken") while
 * CloudFormation carries on, so the pipeline reports a failure, skips verify
 * and rollback, and the next run finds a stack still in progress. The CLI
 * assumes the bootstrap deploy role itself and refreshes that chained session
 * (`fromTemporaryCredentials`, re-assumed 5 s before expiry) as long as its base
 * credentials — the GitHub deploy role session that configure-aws-credentials
 * exported — are valid: the base session must outlast the whole deploy. A
 * session chained by configure-aws-credentials itself (`role-chaining: true`) is
 * never refreshed and IAM caps it at one hour ("Role chaining limits your AWS
 * CLI or AWS API role session to a maximum of one hour"; AssumeRole
 * DurationSeconds), so whatever runs in one must finish within the hour.
 *
 * Where a step has a bounded wait (a CodeDeploy deployment's timeout, the
 * operator CLI's waits) the bound is used. Where CloudFormation waits for AWS
 * without a bound of ours (creating a database, a distribution, a NAT
 * gateway), the estimate is a generous round number below; raise it from the
 * stack events of a real deploy and every session length and job timeout that
 * depends on it follows through the tests (test/deploy-duration.test.ts and
 * test/workflow-credentials.test.ts).
 *
 * Nothing here imports the AWS SDK: the CDK app reads it at synth time (the
 * GitHub deploy roles' maximum session duration comes from it).
 */

/** One contribution to an estimate, so a failing budget can say where the time goes. */
export interface DurationPart {
  readonly what: string;
  readonly minutes: number;
}

/** A worst-case duration and what it is made of. */
export interface DurationEstimate {
  readonly minutes: number;
  readonly parts: readonly DurationPart[];
}

function estimate(parts: readonly DurationPart[]): DurationEstimate {
  return { minutes: parts.reduce((sum, part) => sum + part.minutes, 0), parts };
}

/** The slowest of several things CloudFormation does in parallel. */
function slowestOf(...candidates: DurationPart[]): DurationPart {
  return candidates.reduce((a, b) => (b.minutes > a.minutes ? b : a));
}

/**
 * Estimates (minutes) of what CloudFormation waits for without a bound of ours.
 * They are deliberately generous: an estimate that is too low expires
 * credentials mid-deploy, one that is too high only lengthens a timeout.
 */
export const ESTIMATE_MINUTES = {
  /** Per stack the CLI deploys in sequence: asset publishing, change set creation and execution, polling. */
  stackOverhead: 3,
  /** A stack of quick resources only (IAM, SNS, SQS, S3, KMS, ECR, alarms, dashboards). */
  quickResources: 5,
  /** NAT gateways, VPC interface endpoints and flow logs. */
  network: 10,
  /** Creating or updating a CloudFront distribution with its WAF web ACL. */
  cloudFront: 20,
  /** Creating an ECS service until CloudFormation sees it stable (tasks started, targets healthy). */
  ecsServiceCreate: 15,
  /** Creating synthetics canaries (Lambda functions, artifact buckets) with the dashboard and alarms. */
  canariesCreate: 10,
  /** Creating an RDS for PostgreSQL instance until it is available; Multi-AZ also provisions and syncs the standby. */
  databaseCreate: { singleAz: 30, multiAz: 45 },
  /** Modifying an RDS instance (class, storage, parameter group): Multi-AZ modifies the standby, fails over, then the old primary. */
  databaseModify: { singleAz: 30, multiAz: 45 },
  /** Secrets Manager rotation of the master password set up after the database (rotation application, first rotation). */
  secretRotationSetup: 5,
  /** A cross-region read replica starts from a snapshot copied to the standby region before the instance is created. */
  crossRegionSnapshotCopy: 30,
} as const;

/** Whether CloudFormation creates a stack or updates an existing one: creating a database takes longer than changing one. */
export type StackPhase = 'create' | 'update';

/** The kinds of stack (the keys of `stackNames` in lib/naming.ts) and what each of them waits for. */
export type StackKind = keyof typeof stackNames;

type StackModel = (config: EnvironmentConfig, phase: StackPhase) => DurationPart;

function databaseMinutes(config: EnvironmentConfig, which: 'databaseCreate' | 'databaseModify'): number {
  return ESTIMATE_MINUTES[which][config.database.multiAz ? 'multiAz' : 'singleAz'];
}

/** A CodeDeploy deployment started by `cdk deploy` ends or fails the stack within the configured timeout (the deployment resource's total timeout). */
export function codeDeployDeploymentMinutes(config: EnvironmentConfig): number {
  return Math.min(config.deployment.timeoutMinutes, MAX_DEPLOYMENT_TIMEOUT_MINUTES);
}

const quick =
  (what: string): StackModel =>
  () => ({ what, minutes: ESTIMATE_MINUTES.quickResources });

/** What each stack waits for longest. Resources without a dependency between them are created in parallel, so the slowest counts. */
const STACK_MODELS: Readonly<Record<StackKind, StackModel>> = {
  alerting: quick('alarm topics and their delivery'),
  operations: quick('the operations role'),
  faultInjection: quick('FIS experiment templates'),
  github: quick('the OIDC provider and deploy roles'),
  registry: quick('container repositories and their replication'),
  standbyData: quick('standby keys, replica buckets, queues and backup vault'),
  // Deployed by a person in the backup account, outside the pipeline's deploys (security-data).
  backupVault: quick('the backup-account key and vault'),
  network: (config) => ({
    what: `VPC with ${config.network.natGateways} NAT gateway(s)${config.network.interfaceEndpoints ? ' and interface endpoints' : ''}`,
    minutes: ESTIMATE_MINUTES.network,
  }),
  data: (config, phase) =>
    phase === 'create'
      ? {
          what: `creating the ${config.database.multiAz ? 'Multi-AZ ' : ''}database, then its credential rotation`,
          minutes: databaseMinutes(config, 'databaseCreate') + ESTIMATE_MINUTES.secretRotationSetup,
        }
      : { what: `modifying the ${config.database.multiAz ? 'Multi-AZ ' : ''}database`, minutes: databaseMinutes(config, 'databaseModify') },
  services: (config, phase) => {
    // Both services' deployments run in parallel (independent resources); each is bounded by the configured timeout.
    const deployment = codeDeployDeploymentMinutes(config);
    const edge = { what: 'the CloudFront distribution and WAF', minutes: ESTIMATE_MINUTES.cloudFront };
    return phase === 'create'
      ? slowestOf(edge, {
          what: `creating the ECS services, then their first CodeDeploy deployment (timeout ${deployment} min)`,
          minutes: ESTIMATE_MINUTES.ecsServiceCreate + deployment,
        })
      : slowestOf(edge, { what: `the CodeDeploy deployments of a new release (timeout ${deployment} min)`, minutes: deployment });
  },
  application: (_config, phase) =>
    phase === 'create'
      ? { what: 'canaries, dashboard and alarms', minutes: ESTIMATE_MINUTES.canariesCreate }
      : { what: 'canaries, dashboard and alarms', minutes: ESTIMATE_MINUTES.quickResources },
  standby: (config, phase) =>
    phase === 'create'
      ? {
          what: `creating the cross-region read replica (snapshot copy, then a ${config.database.multiAz ? 'Multi-AZ ' : ''}instance)`,
          minutes: ESTIMATE_MINUTES.crossRegionSnapshotCopy + databaseMinutes(config, 'databaseCreate'),
        }
      : { what: 'modifying the read replica', minutes: databaseMinutes(config, 'databaseModify') },
};

/** The kind of a BodyScript stack, from its name (`BodyScript-Staging-Data` → `data`). */
export function stackKindOf(env: EnvironmentName, stackName: string): StackKind {
  if (stackName === stackNames.github) return 'github';
  for (const [kind, name] of Object.entries(stackNames)) {
    if (typeof name === 'function' && name(env) === stackName) return kind as StackKind;
  }
  throw new Error(`${stackName} is not a stack of ${env}: expected one of the names in stackNames (lib/naming.ts)`);
}

/** Worst case of one stack: its slowest resource plus the CLI's per-stack overhead. */
export function stackWorstCase(config: EnvironmentConfig, kind: StackKind, phase: StackPhase): DurationEstimate {
  const slowest = STACK_MODELS[kind](config, phase);
  return estimate([{ what: `${kind} (${phase}): ${slowest.what}`, minutes: slowest.minutes }, { what: `${kind}: change set and polling`, minutes: ESTIMATE_MINUTES.stackOverhead }]);
}

/** The worst case of a `cdk deploy` whether it succeeds or fails. */
export interface CdkDeployEstimate {
  /** Every stack deployed in sequence, each at its slowest. */
  readonly succeeds: DurationEstimate;
  /**
   * A stack fails and CloudFormation rolls it back, which takes as long again
   * (for the services: another CodeDeploy deployment back to the old task
   * definitions); the CLI waits for the rollback before it exits.
   */
  readonly fails: DurationEstimate;
}

/**
 * Worst case of `cdk deploy` of these stacks (with every dependency, as the
 * CLI deploys them: one at a time, `--concurrency` 1). `phase` says whether
 * the stacks may be created (a first deploy) or only updated.
 */
export function cdkDeployWorstCase(config: EnvironmentConfig, stackNamesInOrder: readonly string[], phase: StackPhase | ((stackName: string) => StackPhase)): CdkDeployEstimate {
  if (stackNamesInOrder.length === 0) throw new Error('cdkDeployWorstCase: no stack to deploy');
  const phaseOf = typeof phase === 'function' ? phase : () => phase;
  const perStack = stackNamesInOrder.map((name) => stackWorstCase(config, stackKindOf(config.name, name), phaseOf(name)));
  const succeeds = estimate(perStack.flatMap((s) => s.parts));
  const slowest = perStack.map((s) => s.parts[0]).reduce((a, b) => (b.minutes > a.minutes ? b : a));
  return { succeeds, fails: estimate([...succeeds.parts, { what: `rollback of ${slowest.what}`, minutes: slowest.minutes }]) };
}

/**
 * The stacks `cdk deploy` brings up for an environment's entry stack and its
 * standby, in the order the CLI deploys them. The test
 * (test/deploy-duration.test.ts) holds this list against the synthesized
 * assembly's dependencies, so it cannot drift from lib/app.ts.
 */
export function environmentDeployOrder(env: EnvironmentName): string[] {
  return [
    stackNames.standbyData(env),
    stackNames.alerting(env),
    stackNames.network(env),
    stackNames.registry(env),
    stackNames.data(env),
    stackNames.services(env),
    stackNames.operations(env),
    stackNames.application(env),
    stackNames.standby(env),
  ];
}

/** IAM: every role session lasts at least 15 minutes and at most 12 hours (MaxSessionDuration 3600–43200 s). */
export const IAM_MIN_SESSION_SECONDS = 900;
export const IAM_MAX_SESSION_SECONDS = 43_200;
/** IAM: a session obtained with another role's session (role chaining) lasts at most one hour, whatever the role allows. */
export const IAM_ROLE_CHAINING_MAX_SECONDS = 3600;
/** GitHub-hosted runners: a job runs at most 6 hours. */
export const GITHUB_JOB_MAX_MINUTES = 360;
/**
 * Time between assuming a role and the first call of the work it is for
 * (the action's retries, `npm run` start-up), added to every credential window.
 */
export const CREDENTIAL_MARGIN_MINUTES = 2;

/**
 * The shortest session, in whole hours as IAM and people count them, that
 * covers `minutes` of work plus the margin. Throws when no IAM role session
 * can last that long (12 hours).
 */
export function sessionSecondsCovering(minutes: number, what: string): number {
  const needed = minutes + CREDENTIAL_MARGIN_MINUTES;
  const seconds = Math.max(3600, Math.ceil((needed * 60) / 3600) * 3600);
  if (seconds > IAM_MAX_SESSION_SECONDS) {
    throw new Error(
      `${what} can take ${needed} minutes, longer than the 12 hours an IAM role session can last: ` +
        `lower deployment.timeoutMinutes or deploy the environment in parts (runbooks/new-environment.md)`,
    );
  }
  return seconds;
}

/**
 * The maximum session duration a GitHub deploy role needs: a first deploy of
 * everything the environment's pipelines deploy with it (the environment and
 * its standby), failing and rolled back. The workflows ask for their own,
 * shorter or equal, `role-duration-seconds`; test/workflow-credentials.test.ts
 * holds them against this and against what their steps need.
 */
export function deployRoleMaxSessionSeconds(config: EnvironmentConfig): number {
  const worst = cdkDeployWorstCase(config, environmentDeployOrder(config.name), 'create').fails.minutes;
  return sessionSecondsCovering(worst, `a first deploy of ${config.name} and its standby`);
}
