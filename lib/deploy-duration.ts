import { DEPLOYMENT_STARTUP_MINUTES, type EnvironmentConfig, type EnvironmentName, MAX_DEPLOYMENT_TIMEOUT_MINUTES } from './config';
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

/**
 * The api's release trigger (constructs/ecs-deployment-trigger.ts) completes
 * when CodeDeploy has moved production traffic, not at the end of the
 * termination wait, and fails when the deployment fails or is stopped; the
 * provider framework gives up after the configured timeout (its total
 * timeout), so CloudFormation never waits longer than that for it.
 */
export function codeDeployDeploymentMinutes(config: EnvironmentConfig): number {
  return Math.min(config.deployment.timeoutMinutes, MAX_DEPLOYMENT_TIMEOUT_MINUTES);
}

/**
 * ECS rolling update of the worker (constructs/rolling-fargate-service.ts):
 * 200 % maximum, so every replacement task starts at once; the deployment
 * circuit breaker fails it after max(3, min(200, ½ × desired)) failed tasks
 * (ECS API reference, ServiceDeploymentCircuitBreaker threshold) and rolls
 * back; the deployment alarms roll it back up to the end of ECS's bake time.
 */
export const WORKER_ROLLOUT = {
  /** SIGTERM to SIGKILL for a replaced worker (Fargate's maximum, RollingFargateService's default). */
  stopTimeoutMinutes: 2,
  /** ECS's bake time: the longest window of the worker's deployment alarms (MAX_DETECTION_TIME in constructs/rollback-alarms.ts). */
  bakeMinutes: 2,
} as const;

/** Waves of replacement tasks the circuit breaker may watch fail before it trips, for the smallest task count the worker runs. */
export function workerCircuitBreakerWaves(desiredCount: number): number {
  const threshold = Math.max(3, Math.min(200, Math.ceil(desiredCount / 2)));
  return Math.ceil(threshold / Math.max(1, desiredCount));
}

/**
 * The worker's release as CloudFormation waits for it: a rollout that ends
 * after the bake time, or a failed one (circuit breaker after its waves of
 * failing tasks, or an alarm at the end of the bake time) followed by ECS's
 * rollout of the previous task definition. Each wave of tasks gets
 * DEPLOYMENT_STARTUP_MINUTES to start and pass its health checks.
 */
export function workerReleaseMinutes(config: EnvironmentConfig): { rollout: number; failed: number } {
  const rollout = DEPLOYMENT_STARTUP_MINUTES + WORKER_ROLLOUT.stopTimeoutMinutes + WORKER_ROLLOUT.bakeMinutes;
  const breaker = workerCircuitBreakerWaves(config.services.processing.minTasks) * DEPLOYMENT_STARTUP_MINUTES;
  return { rollout, failed: Math.max(breaker, rollout) + rollout };
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
    // CloudFront, the api's release and the worker's rolling update run in parallel (independent resources).
    const trigger = codeDeployDeploymentMinutes(config);
    const worker = workerReleaseMinutes(config);
    const edge = { what: 'the CloudFront distribution and WAF', minutes: ESTIMATE_MINUTES.cloudFront };
    const api = { what: `the api's release trigger until traffic has moved (at most its ${trigger}-minute timeout)`, minutes: trigger };
    const rolling = {
      what: `the worker's rolling update (${worker.failed} min at worst: circuit breaker or a deployment alarm, then ECS's rollback)`,
      minutes: worker.failed,
    };
    if (phase === 'update') return slowestOf(edge, api, rolling);
    const first = slowestOf(api, rolling);
    return slowestOf(edge, { what: `creating the ECS services, then ${first.what}`, minutes: ESTIMATE_MINUTES.ecsServiceCreate + first.minutes });
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

/**
 * How long CloudFormation's rollback of a failed stack can take: as long as
 * the stack's own worst case, except for a release of the services, whose
 * rollback runs no second blue/green cycle (the release trigger finds the old
 * task definition back in service after CodeDeploy's own rollback, or stops
 * the deployment with auto-rollback, bounded by its timeout) and whose worker
 * rolls out the previous task definition once.
 */
function rollbackOf(config: EnvironmentConfig, kind: StackKind, phase: StackPhase): DurationPart {
  if (kind === 'services' && phase === 'update') {
    return slowestOf(
      { what: 'the CloudFront distribution and WAF back', minutes: ESTIMATE_MINUTES.cloudFront },
      { what: `the api's release trigger on CodeDeploy's rollback (no second blue/green cycle; at most its ${codeDeployDeploymentMinutes(config)}-minute timeout)`, minutes: codeDeployDeploymentMinutes(config) },
      { what: "the worker's previous task definition rolled out", minutes: workerReleaseMinutes(config).rollout },
    );
  }
  return STACK_MODELS[kind](config, phase);
}

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
  /** The stacks on the longest chain of dependencies (with `--concurrency`), or every stack in sequence, each at its slowest. */
  readonly succeeds: DurationEstimate;
  /**
   * A stack fails and CloudFormation rolls it back; the CLI waits for the
   * rollback before it exits. Counted as the costliest rollback of any stack
   * deployed (for the services: no second blue/green cycle).
   */
  readonly fails: DurationEstimate;
}

/** How many stacks the pipeline's `cdk deploy` deploys at once (`--concurrency`); dependencies still come first. */
export const DEPLOY_CONCURRENCY = 4;

/**
 * Each stack of an environment and the stacks it depends on in the cloud
 * assembly (`cdk deploy` deploys a stack only after them).
 * test/deploy-duration.test.ts holds this against the synthesized manifest.
 */
export function environmentDependencies(env: EnvironmentName): Map<string, readonly string[]> {
  const n = stackNames;
  return new Map<string, readonly string[]>([
    [n.standbyData(env), []],
    [n.alerting(env), []],
    [n.network(env), []],
    // The registry waits for StandbyData (the us-west-2 creation template of its image replicas).
    [n.registry(env), [n.standbyData(env)]],
    [n.operations(env), []],
    [n.data(env), [n.standbyData(env), n.network(env)]],
    [n.services(env), [n.registry(env), n.data(env), n.network(env), n.alerting(env)]],
    [n.application(env), [n.alerting(env), n.network(env), n.data(env), n.services(env), n.operations(env)]],
    [n.standby(env), [n.data(env), n.services(env), n.registry(env), n.standbyData(env)]],
  ]);
}

/**
 * The largest number of these stacks that can be ready or deploying at the
 * same moment: the largest set of which no stack depends (transitively) on
 * another. A stack is ready once its dependencies are deployed, so two
 * stacks that are ready or deploying together never depend on each other.
 */
export function deployWidth(stacksToDeploy: readonly string[], dependencies: ReadonlyMap<string, readonly string[]>): number {
  const below = new Map<string, Set<string>>();
  const closure = (name: string): Set<string> => {
    const known = below.get(name);
    if (known) return known;
    const all = new Set<string>();
    below.set(name, all);
    for (const d of dependencies.get(name) ?? []) {
      all.add(d);
      closure(d).forEach((x) => all.add(x));
    }
    return all;
  };
  const related = (a: string, b: string) => closure(a).has(b) || closure(b).has(a);
  let widest = 0;
  for (let mask = 1; mask < 1 << stacksToDeploy.length; mask++) {
    const chosen = stacksToDeploy.filter((_, i) => mask & (1 << i));
    if (chosen.length > widest && chosen.every((a, i) => chosen.slice(i + 1).every((b) => !related(a, b)))) widest = chosen.length;
  }
  return widest;
}

/**
 * Worst case of `cdk deploy` of these stacks, listed in deploy order (every
 * dependency included, or `--exclusively`). `phase` says whether a stack may be
 * created (a first deploy) or only updated.
 *
 * With `concurrency` 1 (the CLI's default) the stacks deploy one after the
 * other: their sum. With `--concurrency N` the CLI starts every stack whose
 * dependencies are deployed while fewer than N deploy. When no more than N of
 * them can ever be ready together (deployWidth), no stack waits for a slot, so
 * each starts when the last of its dependencies ends and the deploy lasts as
 * long as its longest chain of dependencies, each stack at its slowest; an
 * upper bound whatever each stack really takes, because a shorter stack only
 * lets the ones after it start earlier. Otherwise the sum stays the bound.
 */
export function cdkDeployWorstCase(
  config: EnvironmentConfig,
  stackNamesInOrder: readonly string[],
  phase: StackPhase | ((stackName: string) => StackPhase),
  options: {
    /** `cdk deploy --concurrency`. @default 1 */
    readonly concurrency?: number;
  } = {},
): CdkDeployEstimate {
  if (stackNamesInOrder.length === 0) throw new Error('cdkDeployWorstCase: no stack to deploy');
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`cdkDeployWorstCase: concurrency must be a whole number of at least 1, got ${concurrency}`);
  const phaseOf = typeof phase === 'function' ? phase : () => phase;
  const kinds = new Map(stackNamesInOrder.map((name) => [name, stackKindOf(config.name, name)]));
  const worst = new Map(stackNamesInOrder.map((name) => [name, stackWorstCase(config, kinds.get(name)!, phaseOf(name))]));
  const all = environmentDependencies(config.name);
  // Only dependencies among the stacks deployed count (`--exclusively` skips the others).
  const dependencies = new Map(stackNamesInOrder.map((name) => [name, (all.get(name) ?? []).filter((d) => worst.has(d))]));
  let chain: readonly string[] = stackNamesInOrder;
  if (concurrency > 1 && deployWidth(stackNamesInOrder, dependencies) <= concurrency) {
    const longest = new Map<string, { minutes: number; chain: string[] }>();
    const longestTo = (name: string): { minutes: number; chain: string[] } => {
      const known = longest.get(name);
      if (known) return known;
      const before = (dependencies.get(name) ?? []).map(longestTo).reduce((a, b) => (b.minutes > a.minutes ? b : a), { minutes: 0, chain: [] as string[] });
      const result = { minutes: before.minutes + worst.get(name)!.minutes, chain: [...before.chain, name] };
      longest.set(name, result);
      return result;
    };
    chain = stackNamesInOrder.map(longestTo).reduce((a, b) => (b.minutes > a.minutes ? b : a)).chain;
  }
  const succeeds = estimate(chain.flatMap((name) => worst.get(name)!.parts));
  const rollbacks = stackNamesInOrder.map((name) => {
    const part = rollbackOf(config, kinds.get(name)!, phaseOf(name));
    return { what: `rollback of ${kinds.get(name)} (${phaseOf(name)}): ${part.what}`, minutes: part.minutes };
  });
  const costliest = rollbacks.reduce((a, b) => (b.minutes > a.minutes ? b : a));
  return { succeeds, fails: estimate([...succeeds.parts, costliest]) };
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
 * its standby, `--concurrency` DEPLOY_CONCURRENCY as the deploy workflows run
 * it), failing and rolled back. The workflows ask for their own, shorter or
 * equal, `role-duration-seconds`; test/workflow-credentials.test.ts holds them
 * against this and against what their steps need.
 */
export function deployRoleMaxSessionSeconds(config: EnvironmentConfig): number {
  const worst = cdkDeployWorstCase(config, environmentDeployOrder(config.name), 'create', { concurrency: DEPLOY_CONCURRENCY }).fails.minutes;
  return sessionSecondsCovering(worst, `a first deploy of ${config.name} and its standby`);
}
