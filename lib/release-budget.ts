import { type EnvironmentConfig, type EnvironmentName, TRAFFIC_SHIFT_MINUTES } from './config';
import { DEPLOY_CONCURRENCY, type DurationEstimate, type DurationPart, environmentDependencies, environmentDeployOrder, stackKindOf, type StackKind } from './deploy-duration';
import { stackNames } from './naming';

/**
 * The time budget of a release, computed from an environment's config: what
 * a pipeline run takes when things go right, part by part, held against the
 * product's figures (DESIGN.md: "staging deployment 5–8 minutes, production
 * 15–20 minutes, rollback within 2–5 minutes"). `npm run ops -- plan --env E`
 * prints it; test/release-budget.test.ts fails the build when a config change
 * breaks it, naming which part costs what.
 *
 * lib/deploy-duration.ts answers another question (how long a deploy can take
 * at worst, for credentials and job timeouts) and its functions are reused
 * here for what both need: the stacks `cdk deploy` goes through and their
 * kinds. The estimates below are typical durations, not bounds; the delivery
 * metrics (`BodyScript/Delivery`, `StepDuration` per step) measure the real
 * ones, and an estimate that the metrics contradict is changed here.
 */

/** The product's figures (minutes). */
export const PRODUCT_TARGET_MINUTES = {
  /** Staging: from the deploy job's start to a verified release. */
  staging: 8,
  /** Production: from approval to a verified release. */
  production: 20,
  /** A rollback of both services in the pipeline, from the failed verification to a verified environment. */
  rollback: 5,
} as const;

/**
 * Typical durations (minutes) of what a release waits for. Each says where it
 * comes from; replace an estimate with the measured median of its
 * `StepDuration` when the dashboard shows it is off.
 */
export const TYPICAL_MINUTES = {
  /** Runner, checkout, setup-node with the npm cache, `npm ci`, the assembly artifact, credentials. */
  jobSetup: 1.25,
  /** `ops preflight` before anything else: two credential steps (the deploy role, then the lookup role) and some forty reads in two regions. */
  preflight: 0.25,
  /**
   * Staging's plan, beside the preflight: `diff-report --baseline deployed` of the stacks the deploy deploys, one
   * GetTemplate each in turn and the comparison (production's plan runs before the approval, outside the budget).
   */
  plan: 0.2,
  /** Assuming the operations role and CreateDBSnapshot; the wait for `available` runs after verify (the snapshot is of the moment it started). */
  snapshotStart: 0.5,
  /** The CLI finds an unchanged stack's template identical and skips it. */
  unchangedStack: 0.17,
  /** Change set creation and execution, the CLI's polling and CloudFormation's clean-up of a changed stack. */
  changedStackOverhead: 0.75,
  /** The registry's lifecycle policy names the new tag (ECR PutLifecyclePolicy). */
  registryUpdate: 0.1,
  /** CodeDeploy's replacement task set: image pull, container start, two healthy checks of the target group (2 × 15 s). */
  apiGreenReady: 1.5,
  /** AllowTraffic (listener rules) and AfterAllowTraffic, besides the strategy's shifting time. */
  apiTrafficSwitch: 0.5,
  /** One poll interval of the deployment trigger (15 s). */
  triggerPoll: 0.25,
  /** The worker's new tasks: a larger image (MediaPipe), container start, target group healthy. */
  workerTasksReady: 1.75,
  /** The replaced workers: deregistration (5 s), SIGTERM, job handed back (the contract allows 90 s; an idle worker exits at once). */
  workerOldTasksStopped: 0.5,
  /** ECS's bake time after a rolling update with deployment alarms: the longest alarm evaluation (RollbackAlarms: 2 × 1 min). */
  workerBakeTime: 2,
  /** The standby's pilot light takes the new task definitions; its services run no task. */
  standbyPilotLightUpdate: 0.5,
  /** `ops verify`'s first round (alarms, deployments, canaries) on a healthy environment. */
  verify: 0.25,
  /** Chaining to the operations role before a rollback. */
  roleSwitch: 0.25,
  /** StopDeployment with auto-rollback during the termination wait: CodeDeploy moves traffic back to the running original task set. */
  apiStopRollback: 1,
} as const;

export { DEPLOY_CONCURRENCY };

/**
 * What each stack of a release waits for: its CloudFormation dependencies in
 * the cloud assembly, which `cdk deploy --concurrency` honours (a stack starts
 * once every stack it depends on is deployed, and at most DEPLOY_CONCURRENCY
 * deploy at once). test/release-budget.test.ts holds this against the
 * synthesized manifest and `environmentDeployOrder` (the same stacks), so a
 * new dependency fails there until it is written in environmentDependencies
 * (lib/deploy-duration.ts).
 */
export function releaseDependencies(env: EnvironmentName, options: { readonly withStandby: boolean }): Map<string, readonly string[]> {
  const n = stackNames;
  // The environment's dependencies (lib/deploy-duration.ts, held to the manifest there and below).
  const dependencies = environmentDependencies(env);
  if (!options.withStandby) dependencies.delete(n.standby(env));
  const order = environmentDeployOrder(env).filter((name) => options.withStandby || name !== n.standby(env));
  const listed = [...dependencies.keys()];
  if (listed.length !== order.length || order.some((name) => !listed.includes(name))) {
    throw new Error(`releaseDependencies(${env}) lists ${listed.join(', ')} but cdk deploy goes through ${order.join(', ')}: update environmentDependencies in lib/deploy-duration.ts`);
  }
  return dependencies;
}

/** When each stack of a release starts and ends (minutes from the start of `cdk deploy`), and what it costs. */
export interface StackSchedule {
  readonly stack: string;
  readonly start: number;
  readonly end: number;
  readonly part: DurationPart;
}

/**
 * `cdk deploy --concurrency` of a release, simulated: stacks start in the
 * deploy order as soon as their dependencies are done and a slot is free.
 */
export function scheduleRelease(
  config: EnvironmentConfig,
  options: { readonly withStandby: boolean; /** @default releaseDependencies(env) */ readonly dependencies?: ReadonlyMap<string, readonly string[]> },
): StackSchedule[] {
  const env = config.name;
  const dependencies = options.dependencies ?? releaseDependencies(env, options);
  const order = environmentDeployOrder(env).filter((name) => dependencies.has(name));
  const cost = (name: string): DurationPart => releaseChange(config, stackKindOf(env, name)) ?? { what: `${name}: unchanged, skipped`, minutes: TYPICAL_MINUTES.unchangedStack };
  const done = new Map<string, StackSchedule>();
  const running: StackSchedule[] = [];
  let now = 0;
  while (done.size < order.length) {
    for (const name of order) {
      if (running.length >= DEPLOY_CONCURRENCY) break;
      if (done.has(name) || running.some((r) => r.stack === name)) continue;
      if (!(dependencies.get(name) ?? []).every((d) => done.has(d))) continue;
      const part = cost(name);
      running.push({ stack: name, start: now, end: now + part.minutes, part });
    }
    if (running.length === 0) throw new Error(`scheduleRelease(${env}): a dependency cycle among ${order.filter((name) => !done.has(name)).join(', ')}`);
    running.sort((x, y) => x.end - y.end);
    const next = running.shift()!;
    now = next.end;
    done.set(next.stack, next);
  }
  return order.map((name) => done.get(name)!);
}

/** What a release changes in a stack of this kind (a new image tag), or undefined when it leaves the stack unchanged. */
function releaseChange(config: EnvironmentConfig, kind: StackKind): DurationPart | undefined {
  const t = TYPICAL_MINUTES;
  switch (kind) {
    case 'registry':
      return { what: 'registry: the lifecycle rule names the new tag', minutes: t.changedStackOverhead + t.registryUpdate };
    case 'services': {
      const shift = TRAFFIC_SHIFT_MINUTES[config.deployment.strategy];
      const api = t.apiGreenReady + shift + t.apiTrafficSwitch + t.triggerPoll;
      const worker = t.workerTasksReady + t.workerOldTasksStopped + t.workerBakeTime;
      const slower =
        api >= worker
          ? `the api's blue/green release until traffic has moved (green ready ${t.apiGreenReady} + '${config.deployment.strategy}' ${shift} + switch ${t.apiTrafficSwitch} + poll ${t.triggerPoll}; the ${config.deployment.terminationWaitMinutes}-minute termination wait is not waited for)`
          : `the worker's rolling update (new tasks ${t.workerTasksReady} + old ones stopped ${t.workerOldTasksStopped} + ECS bake time ${t.workerBakeTime})`;
      return { what: `services: ${slower}`, minutes: t.changedStackOverhead + Math.max(api, worker) };
    }
    case 'standby':
      return { what: 'standby: the pilot light takes the new task definitions', minutes: t.changedStackOverhead + t.standbyPilotLightUpdate };
    default:
      return undefined;
  }
}

function round(minutes: number): number {
  return Math.round(minutes * 100) / 100;
}

function estimateOf(parts: DurationPart[]): DurationEstimate {
  return { minutes: round(parts.reduce((sum, p) => sum + p.minutes, 0)), parts: parts.map((p) => ({ ...p, minutes: round(p.minutes) })) };
}

/**
 * The budget of a release of new image tags, from the deploy job's start
 * (after approval in production) until `ops verify` says healthy: job set-up,
 * the preflight, the release snapshot's start (production), `cdk deploy` of the environment
 * (and, in production, its standby) as `--concurrency` runs it (the chain of
 * stacks that ends last), and verify.
 */
export function releaseBudget(config: EnvironmentConfig): DurationEstimate {
  const env = config.name;
  const production = env === 'production';
  const parts: DurationPart[] = [{ what: 'job set-up (checkout, npm ci, assembly, credentials)', minutes: TYPICAL_MINUTES.jobSetup }];
  parts.push(
    production
      ? { what: 'ops preflight: every prerequisite, read-only, as the lookup role', minutes: TYPICAL_MINUTES.preflight }
      : {
          what: 'ops preflight and the plan (diff-report against the deployed templates) side by side, read-only, as the lookup role: the slower counts',
          minutes: Math.max(TYPICAL_MINUTES.preflight, TYPICAL_MINUTES.plan),
        },
  );
  if (production) parts.push({ what: 'release snapshot started (its wait runs after verify)', minutes: TYPICAL_MINUTES.snapshotStart });
  // The chain of stacks that ends last, each started when the one before it ended (a dependency, or a freed slot).
  const schedule = scheduleRelease(config, { withStandby: production });
  const dependencies = releaseDependencies(env, { withStandby: production });
  const chain: StackSchedule[] = [];
  let at: StackSchedule | undefined = schedule.reduce((x, y) => (y.end > x.end ? y : x));
  while (at) {
    chain.unshift(at);
    const { start, stack }: StackSchedule = at;
    const before: StackSchedule[] = schedule.filter((s) => Math.abs(s.end - start) < 1e-9 && s.start < start);
    at = before.find((s) => (dependencies.get(stack) ?? []).includes(s.stack)) ?? before[0];
  }
  for (const link of chain) {
    const alongside = schedule.filter((s) => s !== link && s.start < link.end && s.end > link.start).length;
    parts.push(alongside > 0 ? { what: `${link.part.what} (${alongside} other stack(s) deploying alongside)`, minutes: link.part.minutes } : link.part);
  }
  parts.push({ what: 'ops verify: alarms, deployments, canaries', minutes: TYPICAL_MINUTES.verify });
  return estimateOf(parts);
}

/**
 * The budget of the pipeline's rollback of both services (run side by side by
 * `ops rollback --service all`), from the failed verification until verify
 * says healthy. The api's path depends on whether its termination wait still
 * runs when verify has failed: then StopDeployment puts traffic back on the
 * original task set; otherwise the previous revision is deployed again.
 */
export function rollbackBudget(config: EnvironmentConfig, verifyTimeoutMinutes: number): DurationEstimate {
  const t = TYPICAL_MINUTES;
  const inWait = config.deployment.terminationWaitMinutes > verifyTimeoutMinutes;
  const api: DurationPart = inWait
    ? { what: `api: StopDeployment with auto-rollback (the ${config.deployment.terminationWaitMinutes}-minute termination wait outlasts verify's ${verifyTimeoutMinutes})`, minutes: t.apiStopRollback }
    : {
        what: `api: the previous revision deployed again, all at once (the ${config.deployment.terminationWaitMinutes}-minute termination wait may be over after verify's ${verifyTimeoutMinutes})`,
        minutes: t.apiGreenReady + t.apiTrafficSwitch + t.triggerPoll,
      };
  const worker: DurationPart = { what: 'processing: the previous task definition rolled out, replaced workers stopped', minutes: t.workerTasksReady + t.workerOldTasksStopped };
  return estimateOf([
    { what: 'switch to the operations role', minutes: t.roleSwitch },
    {
      what: `both services side by side, the slower counts: ${api.what} (${round(api.minutes)} min); ${worker.what} (${round(worker.minutes)} min)`,
      minutes: Math.max(api.minutes, worker.minutes),
    },
    { what: 'ops verify', minutes: t.verify },
  ]);
}

/** One line per part, the costliest first, for plans and failing tests. */
export function describeBudget(estimate: DurationEstimate): string[] {
  return [...estimate.parts].sort((a, b) => b.minutes - a.minutes).map((p) => `${p.minutes.toFixed(2).padStart(6)} min  ${p.what}`);
}
