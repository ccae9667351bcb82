import { ENVIRONMENT_NAMES, type EnvironmentConfig, loadConfig } from '../lib/config';
import {
  CREDENTIAL_MARGIN_MINUTES,
  cdkDeployWorstCase,
  codeDeployDeploymentMinutes,
  deployRoleMaxSessionSeconds,
  ESTIMATE_MINUTES,
  environmentDeployOrder,
  IAM_MAX_SESSION_SECONDS,
  sessionSecondsCovering,
  stackKindOf,
  stackWorstCase,
} from '../lib/deploy-duration';
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
  test('a release waits for the CodeDeploy deployment, bounded by its configured timeout', () => {
    expect(codeDeployDeploymentMinutes(production)).toBe(production.deployment.timeoutMinutes);
    const update = stackWorstCase(production, 'services', 'update');
    expect(update.parts[0].minutes).toBe(Math.max(production.deployment.timeoutMinutes, ESTIMATE_MINUTES.cloudFront));
    expect(update.minutes).toBe(update.parts[0].minutes + ESTIMATE_MINUTES.stackOverhead);
  });

  test('a longer deployment timeout makes the services stack longer', () => {
    const longer = withDeployment(staging, { timeoutMinutes: staging.deployment.timeoutMinutes + 20 });
    expect(stackWorstCase(longer, 'services', 'update').minutes).toBe(stackWorstCase(staging, 'services', 'update').minutes + 20);
  });

  test('creating the services also waits for the services to stabilise and their first deployment', () => {
    expect(stackWorstCase(staging, 'services', 'create').parts[0].minutes).toBe(ESTIMATE_MINUTES.ecsServiceCreate + staging.deployment.timeoutMinutes);
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

  test('a failing deploy also waits for the rollback of the slowest stack (for the services: another deployment back)', () => {
    const result = cdkDeployWorstCase(production, [stackNames.services('production')], 'update');
    expect(result.fails.minutes).toBe(result.succeeds.minutes + production.deployment.timeoutMinutes);
    expect(result.fails.parts.at(-1)?.what).toMatch(/^rollback of services/);
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
  });
});

describe('credentials that outlast the work', () => {
  test.each(ENVIRONMENT_NAMES)('%s: the deploy role may hold a session through a failed first deploy of the environment and its standby, in whole hours', (env) => {
    const seconds = deployRoleMaxSessionSeconds(config.environments[env]);
    const worst = cdkDeployWorstCase(config.environments[env], environmentDeployOrder(env), 'create').fails.minutes;
    expect(seconds % 3600).toBe(0);
    expect(seconds).toBeGreaterThanOrEqual((worst + CREDENTIAL_MARGIN_MINUTES) * 60);
    expect(seconds - 3600).toBeLessThan((worst + CREDENTIAL_MARGIN_MINUTES) * 60);
    expect(seconds).toBeLessThanOrEqual(IAM_MAX_SESSION_SECONDS);
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
