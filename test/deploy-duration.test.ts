import { ENVIRONMENT_NAMES, type EnvironmentConfig, loadConfig } from '../lib/config';
import {
  CREDENTIAL_MARGIN_MINUTES,
  cdkDeployWorstCase,
  codeDeployDeploymentMinutes,
  DEPLOY_CONCURRENCY,
  deployRoleMaxSessionSeconds,
  deployWidth,
  ESTIMATE_MINUTES,
  environmentDependencies,
  environmentDeployOrder,
  IAM_MAX_SESSION_SECONDS,
  IAM_MIN_SESSION_SECONDS,
  sessionSecondsCovering,
  stackKindOf,
  stackWorstCase,
  WORKER_ROLLOUT,
  workerCircuitBreakerWaves,
  workerReleaseMinutes,
} from '../lib/deploy-duration';
import { DEPLOYMENT_STARTUP_MINUTES } from '../lib/config';
import { stackNames } from '../lib/naming';
import { stacks } from './support/assembly';

const config = loadConfig();
const staging = config.environments.staging;
const production = config.environments.production;

function withDeployment(base: EnvironmentConfig, deployment: Partial<EnvironmentConfig['deployment']>): EnvironmentConfig {
  return { ...base, deployment: { ...base.deployment, ...deployment } };
}

/** Every stack `cdk deploy <names>` deploys: the names and all their dependencies, from the synthesized manifest. */
function deployClosure(names: string[]): string[] {
  const byName = new Map(stacks().map((s) => [s.displayName, s]));
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    const stack = byName.get(name);
    if (!stack) throw new Error(`${name} is not in the assembly`);
    seen.add(name);
    stack.dependencies.forEach(visit);
  };
  names.forEach(visit);
  return [...seen].sort();
}

describe('the stacks a deploy goes through', () => {
  test.each(ENVIRONMENT_NAMES)('%s: the list the estimate sums is what `cdk deploy BodyScript-<Env> BodyScript-<Env>-Standby` deploys', (env) => {
    const closure = deployClosure([stackNames.application(env), stackNames.standby(env)]);
    expect([...environmentDeployOrder(env)].sort()).toEqual(closure);
  });

  test('every stack of the app has a duration model (a new stack must say what it waits for)', () => {
    for (const stack of stacks()) {
      const env = ENVIRONMENT_NAMES.find((name) => stack.displayName.startsWith(stackNames.application(name)));
      expect(() => stackKindOf(env ?? 'staging', stack.displayName)).not.toThrow();
    }
  });

  test('a name that is no stack of the environment is refused', () => {
    expect(() => stackKindOf('staging', 'BodyScript-Production-Data')).toThrow(/is not a stack of staging/);
  });
});

describe('worst case of one stack', () => {
  test("a release of the services waits for the slowest of CloudFront, the api's trigger (until traffic has moved, at most its timeout) and the worker's rolling update", () => {
    expect(codeDeployDeploymentMinutes(production)).toBe(production.deployment.timeoutMinutes);
    for (const env of [staging, production]) {
      const update = stackWorstCase(env, 'services', 'update');
      expect(update.parts[0].minutes).toBe(Math.max(env.deployment.timeoutMinutes, ESTIMATE_MINUTES.cloudFront, workerReleaseMinutes(env).failed));
      expect(update.minutes).toBe(update.parts[0].minutes + ESTIMATE_MINUTES.stackOverhead);
    }
    // Staging's 30-minute trigger timeout is shorter than its worker's worst case (one task: three waves for the circuit breaker).
    expect(stackWorstCase(staging, 'services', 'update').parts[0].what).toMatch(/^services \(update\): the worker's rolling update \(44 min at worst/);
    expect(stackWorstCase(production, 'services', 'update').parts[0].what).toMatch(/^services \(update\): the api's release trigger until traffic has moved \(at most its 60-minute timeout\)/);
  });

  test('the termination wait costs a release nothing: the trigger completes when traffic has moved', () => {
    const longerWait = withDeployment(production, { terminationWaitMinutes: production.deployment.terminationWaitMinutes + 20 });
    expect(stackWorstCase(longerWait, 'services', 'update').minutes).toBe(stackWorstCase(production, 'services', 'update').minutes);
  });

  test("a longer trigger timeout makes the services stack longer once it is the slowest part", () => {
    const longer = withDeployment(staging, { timeoutMinutes: 60 });
    expect(stackWorstCase(longer, 'services', 'update').minutes).toBe(60 + ESTIMATE_MINUTES.stackOverhead);
  });

  test("the worker's worst case: the circuit breaker trips after max(3, ½ × desired) failed tasks, all replacements start at once (200 %), then ECS rolls back", () => {
    expect([1, 2, 3, 5, 6, 10, 400, 1000].map(workerCircuitBreakerWaves)).toEqual([3, 2, 1, 1, 1, 1, 1, 1]);
    const rollout = DEPLOYMENT_STARTUP_MINUTES + WORKER_ROLLOUT.stopTimeoutMinutes + WORKER_ROLLOUT.bakeMinutes;
    expect(staging.services.processing.minTasks).toBe(1);
    expect(workerReleaseMinutes(staging)).toEqual({ rollout, failed: 3 * DEPLOYMENT_STARTUP_MINUTES + rollout });
    expect(production.services.processing.minTasks).toBe(2);
    expect(workerReleaseMinutes(production)).toEqual({ rollout, failed: 2 * DEPLOYMENT_STARTUP_MINUTES + rollout });
    // With many tasks one wave trips the breaker; an alarm at the end of the bake time is then the longer path.
    const many = { ...production, services: { ...production.services, processing: { ...production.services.processing, minTasks: 10 } } };
    expect(workerReleaseMinutes(many).failed).toBe(2 * rollout);
  });

  test('creating the services also waits for the services to stabilise and their first release', () => {
    expect(stackWorstCase(staging, 'services', 'create').parts[0].minutes).toBe(ESTIMATE_MINUTES.ecsServiceCreate + Math.max(staging.deployment.timeoutMinutes, workerReleaseMinutes(staging).failed));
  });

  test('a Multi-AZ database takes longer to create than a single-AZ one, and creating takes its rotation set-up too', () => {
    expect(staging.database.multiAz).toBe(false);
    expect(production.database.multiAz).toBe(true);
    expect(stackWorstCase(staging, 'data', 'create').parts[0].minutes).toBe(ESTIMATE_MINUTES.databaseCreate.singleAz + ESTIMATE_MINUTES.secretRotationSetup);
    expect(stackWorstCase(production, 'data', 'create').parts[0].minutes).toBe(ESTIMATE_MINUTES.databaseCreate.multiAz + ESTIMATE_MINUTES.secretRotationSetup);
    expect(stackWorstCase(production, 'data', 'update').parts[0].minutes).toBe(ESTIMATE_MINUTES.databaseModify.multiAz);
  });

  test('the standby replica is created from a snapshot copied across regions first', () => {
    expect(stackWorstCase(production, 'standby', 'create').parts[0].minutes).toBe(ESTIMATE_MINUTES.crossRegionSnapshotCopy + ESTIMATE_MINUTES.databaseCreate.multiAz);
  });
});

describe('worst case of a cdk deploy', () => {
  const order = environmentDeployOrder('production');

  test('sums the stacks, which the CLI deploys one after the other', () => {
    const result = cdkDeployWorstCase(production, order, 'update');
    const sum = order.reduce((total, name) => total + stackWorstCase(production, stackKindOf('production', name), 'update').minutes, 0);
    expect(result.succeeds.minutes).toBe(sum);
  });

  test("a failing release also waits for the costliest rollback; the services' is no second blue/green cycle: the trigger (at most its timeout) and the worker's previous task definition", () => {
    const result = cdkDeployWorstCase(staging, [stackNames.services('staging')], 'update');
    // Staging: its worker's 44-minute worst case counts for the release, but its rollback is one rollout, and the trigger's 30 minutes are the longest part of it.
    expect(result.fails.minutes).toBe(result.succeeds.minutes + Math.max(staging.deployment.timeoutMinutes, ESTIMATE_MINUTES.cloudFront, workerReleaseMinutes(staging).rollout));
    expect(result.fails.parts.at(-1)?.what).toMatch(/^rollback of services \(update\): the api's release trigger on CodeDeploy's rollback \(no second blue\/green cycle/);
  });

  test('a first deploy takes longer than a release', () => {
    expect(cdkDeployWorstCase(production, order, 'create').succeeds.minutes).toBeGreaterThan(cdkDeployWorstCase(production, order, 'update').succeeds.minutes);
  });

  test('the phase can differ per stack (an environment deployed before, its standby created now)', () => {
    const standby = stackNames.standby('production');
    const mixed = cdkDeployWorstCase(production, order, (name) => (name === standby ? 'create' : 'update'));
    const update = cdkDeployWorstCase(production, order, 'update');
    expect(mixed.succeeds.minutes - update.succeeds.minutes).toBe(ESTIMATE_MINUTES.crossRegionSnapshotCopy + ESTIMATE_MINUTES.databaseCreate.multiAz - ESTIMATE_MINUTES.databaseModify.multiAz);
  });

  test('nothing to deploy is a mistake, not zero minutes', () => {
    expect(() => cdkDeployWorstCase(production, [], 'update')).toThrow(/no stack/);
    expect(() => cdkDeployWorstCase(production, order, 'update', { concurrency: 0 })).toThrow(/concurrency must be a whole number of at least 1, got 0/);
  });
});

describe('worst case of cdk deploy --concurrency', () => {
  test.each(ENVIRONMENT_NAMES)('%s: each stack depends on exactly the stacks of the synthesized manifest', (env) => {
    const byName = new Map(stacks().map((s) => [s.displayName, s]));
    const idToName = new Map(stacks().map((s) => [s.id, s.displayName]));
    const dependencies = environmentDependencies(env);
    expect([...dependencies.keys()].sort()).toEqual([...environmentDeployOrder(env)].sort());
    for (const [name, waitsFor] of dependencies) {
      const manifest = (byName.get(name)?.dependencies ?? []).map((id) => idToName.get(id) ?? id).filter((d) => dependencies.has(d));
      expect({ stack: name, dependsOn: [...waitsFor].sort() }).toEqual({ stack: name, dependsOn: manifest.sort() });
    }
  });

  test.each(ENVIRONMENT_NAMES)('%s: no more stacks can be ready together than the pipeline deploys at once, so none waits for a slot', (env) => {
    expect(deployWidth(environmentDeployOrder(env), environmentDependencies(env))).toBeLessThanOrEqual(DEPLOY_CONCURRENCY);
  });

  test.each(['create', 'update'] as const)('%s: the deploy lasts as long as its longest chain of dependencies, each stack at its slowest', (phase) => {
    const order = environmentDeployOrder('production');
    const dependencies = environmentDependencies('production');
    const minutes = (name: string) => stackWorstCase(production, stackKindOf('production', name), phase).minutes;
    const longest = (name: string): number => minutes(name) + Math.max(0, ...(dependencies.get(name) ?? []).map(longest));
    const result = cdkDeployWorstCase(production, order, phase, { concurrency: DEPLOY_CONCURRENCY });
    expect(result.succeeds.minutes).toBe(Math.max(...order.map(longest)));
    expect(result.succeeds.minutes).toBeLessThan(cdkDeployWorstCase(production, order, phase).succeeds.minutes);
    // The chain: the network (NAT gateways outlast StandbyData's quick resources), the database, the services, the standby's replica.
    expect(result.succeeds.parts.filter((p) => p.what.endsWith('change set and polling')).map((p) => p.what.split(':')[0])).toEqual(['network', 'data', 'services', 'standby']);
  });

  test('with more stacks ready at once than slots, a stack may wait for one: the sum stays the bound', () => {
    const order = environmentDeployOrder('production');
    const sequential = cdkDeployWorstCase(production, order, 'update');
    expect(deployWidth(order, environmentDependencies('production'))).toBe(4);
    expect(cdkDeployWorstCase(production, order, 'update', { concurrency: 3 }).succeeds.minutes).toBe(sequential.succeeds.minutes);
  });

  test('--exclusively: only the dependencies among the stacks deployed count', () => {
    const standby = stackNames.standby('production');
    expect(cdkDeployWorstCase(production, [standby], 'create', { concurrency: DEPLOY_CONCURRENCY }).succeeds.minutes).toBe(stackWorstCase(production, 'standby', 'create').minutes);
  });
});

describe('credentials that outlast the work', () => {
  test.each(ENVIRONMENT_NAMES)('%s: the deploy role may hold a session through a failed first deploy of the environment and its standby as the pipeline runs it, in whole hours IAM accepts (1–12)', (env) => {
    const seconds = deployRoleMaxSessionSeconds(config.environments[env]);
    const worst = cdkDeployWorstCase(config.environments[env], environmentDeployOrder(env), 'create', { concurrency: DEPLOY_CONCURRENCY }).fails.minutes;
    expect(seconds % 3600).toBe(0);
    expect(seconds).toBeGreaterThanOrEqual((worst + CREDENTIAL_MARGIN_MINUTES) * 60);
    expect(seconds - 3600).toBeLessThan((worst + CREDENTIAL_MARGIN_MINUTES) * 60);
    expect(seconds).toBeGreaterThanOrEqual(Math.max(3600, IAM_MIN_SESSION_SECONDS));
    expect(seconds).toBeLessThanOrEqual(IAM_MAX_SESSION_SECONDS);
  });

  test('the session lengths the roles get today (a change here changes the GitHub stack and the workflows)', () => {
    expect(deployRoleMaxSessionSeconds(staging) / 3600).toBe(4);
    expect(deployRoleMaxSessionSeconds(production) / 3600).toBe(5);
  });

  test('a longer deployment timeout in config lengthens the deploy role session', () => {
    const longer = withDeployment(staging, { timeoutMinutes: 60, terminationWaitMinutes: 45 });
    expect(deployRoleMaxSessionSeconds(longer)).toBeGreaterThan(deployRoleMaxSessionSeconds(staging));
  });

  test('work longer than an IAM session can last is refused with what to change', () => {
    expect(sessionSecondsCovering(58, 'x')).toBe(3600);
    expect(sessionSecondsCovering(59, 'x')).toBe(7200);
    expect(sessionSecondsCovering(118, 'x')).toBe(7200);
    expect(() => sessionSecondsCovering(12 * 60, 'a first deploy of staging')).toThrow(/a first deploy of staging can take 722 minutes, longer than the 12 hours/);
  });
});
