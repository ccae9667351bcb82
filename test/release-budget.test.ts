import { ENVIRONMENT_NAMES, type EnvironmentConfig, loadConfig } from '../lib/config';
import { environmentDeployOrder } from '../lib/deploy-duration';
import { runPlan } from '../lib/ops/commands/plan';
import { ExitCode } from '../lib/ops/exit-codes';
import { DEPLOY_CONCURRENCY, describeBudget, PRODUCT_TARGET_MINUTES, releaseBudget, releaseDependencies, rollbackBudget, scheduleRelease, TYPICAL_MINUTES } from '../lib/release-budget';
import { stackNames } from '../lib/naming';
import { stacks } from './support/assembly';
import { captureOutput } from './ops/helpers';

const config = loadConfig();
/** The verify timeout the deploy workflows give `ops verify` before they roll back. */
const PIPELINE_VERIFY_TIMEOUT_MINUTES = 15;

function explain(estimate: { minutes: number; parts: readonly { what: string; minutes: number }[] }): string {
  return `${estimate.minutes} min:\n${describeBudget(estimate).join('\n')}`;
}

describe('the release budget against the product’s figures', () => {
  test.each(ENVIRONMENT_NAMES)('%s: a release is verified within the product’s figure (staging 8 min, production 20 min after approval)', (env) => {
    const budget = releaseBudget(config.environments[env]);
    if (budget.minutes > PRODUCT_TARGET_MINUTES[env]) throw new Error(`${env} release budget over ${PRODUCT_TARGET_MINUTES[env]} min: ${explain(budget)}`);
    expect(budget.minutes).toBeGreaterThan(0);
  });

  test.each(ENVIRONMENT_NAMES)('%s: a rollback of both services is verified within 5 minutes', (env) => {
    const budget = rollbackBudget(config.environments[env], PIPELINE_VERIFY_TIMEOUT_MINUTES);
    if (budget.minutes > PRODUCT_TARGET_MINUTES.rollback) throw new Error(`${env} rollback budget over ${PRODUCT_TARGET_MINUTES.rollback} min: ${explain(budget)}`);
    expect(budget.minutes).toBeGreaterThan(0);
  });

  test('the release does not wait for the termination wait: a longer one costs nothing', () => {
    const production = config.environments.production;
    const longer: EnvironmentConfig = { ...production, deployment: { ...production.deployment, terminationWaitMinutes: 120 } };
    expect(releaseBudget(longer).minutes).toBe(releaseBudget(production).minutes);
  });

  test('a config change that breaks the budget fails with a message naming which part costs what', () => {
    const staging = config.environments.staging;
    const slower: EnvironmentConfig = { ...staging, deployment: { ...staging.deployment, strategy: 'linear-10-percent-every-1-minute' } };
    const out = captureOutput();
    const result = runPlan(slower, out, PIPELINE_VERIFY_TIMEOUT_MINUTES);
    expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
    expect(out.errors.join('\n')).toMatch(
      /^staging: the release takes \d+\.\d\d min, over the 8-minute target; costliest: 12\.00 min {2}services: the api's blue\/green release until traffic has moved \(green ready 1\.5 \+ 'linear-10-percent-every-1-minute' 9/,
    );
  });

  test('production rolls the api back with StopDeployment when its termination wait outlasts verify; staging deploys the previous revision again', () => {
    const production = rollbackBudget(config.environments.production, PIPELINE_VERIFY_TIMEOUT_MINUTES);
    expect(production.parts[1].what).toContain('api: StopDeployment with auto-rollback (the 30-minute termination wait outlasts verify’s 15)'.replace('’', "'"));
    expect(production.minutes).toBeCloseTo(TYPICAL_MINUTES.roleSwitch + TYPICAL_MINUTES.workerTasksReady + TYPICAL_MINUTES.workerOldTasksStopped + TYPICAL_MINUTES.verify, 2);
    const staging = rollbackBudget(config.environments.staging, PIPELINE_VERIFY_TIMEOUT_MINUTES);
    expect(staging.parts[1].what).toContain('api: the previous revision deployed again, all at once (the 5-minute termination wait may be over');
  });

  test('ops plan prints both budgets, the product figures and the worst case, and exits 0 within them', () => {
    const out = captureOutput();
    const result = runPlan(config.environments.production, out, PIPELINE_VERIFY_TIMEOUT_MINUTES);
    expect(result.exitCode).toBe(ExitCode.OK);
    const text = out.lines.join('\n');
    expect(text).toMatch(/^Release budget for production \(from approval\): \d+\.\d\d min of 20 \(product target\)/);
    expect(text).toContain('Rollback budget for production (both services, verify timeout 15 min)');
    expect(text).toMatch(/Worst case of cdk deploy .*: \d+ min, \d+ min when it fails and rolls back/);
  });
});

describe('how cdk deploy --concurrency runs a release', () => {
  test.each(ENVIRONMENT_NAMES)('%s: each stack waits for exactly the stacks it depends on in the synthesized manifest, and they are the stacks cdk deploy goes through', (env) => {
    const dependencies = releaseDependencies(env, { withStandby: true });
    const byName = new Map(stacks().map((s) => [s.displayName, s]));
    const idToName = new Map(stacks().map((s) => [s.id, s.displayName]));
    for (const [name, waitsFor] of dependencies) {
      const manifest = (byName.get(name)?.dependencies ?? []).map((id) => idToName.get(id) ?? id).filter((d) => dependencies.has(d));
      expect({ stack: name, dependsOn: [...waitsFor].sort() }).toEqual({ stack: name, dependsOn: manifest.sort() });
    }
    expect([...dependencies.keys()].sort()).toEqual(environmentDeployOrder(env).sort());
    expect([...dependencies.keys()]).toContain(stackNames.registry(env));
  });

  test.each(ENVIRONMENT_NAMES)('%s: the schedule starts a stack only after its dependencies and runs at most DEPLOY_CONCURRENCY at once', (env) => {
    const schedule = scheduleRelease(config.environments[env], { withStandby: env === 'production' });
    const dependencies = releaseDependencies(env, { withStandby: env === 'production' });
    const at = new Map(schedule.map((s) => [s.stack, s]));
    for (const s of schedule) for (const d of dependencies.get(s.stack) ?? []) expect(at.get(d)!.end).toBeLessThanOrEqual(s.start + 1e-9);
    for (const s of schedule) expect(schedule.filter((o) => o.start <= s.start + 1e-9 && o.end > s.start + 1e-9).length).toBeLessThanOrEqual(DEPLOY_CONCURRENCY);
  });

  test('the registry’s dependency on the unchanged standby data stack costs the release that stack’s skip, not a whole level', () => {
    // BodyScript-<Env>-Registry waits for StandbyData (the us-west-2 creation template of its image replicas).
    const staging = config.environments.staging;
    expect(releaseDependencies('staging', { withStandby: false }).get(stackNames.registry('staging'))).toEqual([stackNames.standbyData('staging')]);
    const withoutIt = new Map(releaseDependencies('staging', { withStandby: false }));
    withoutIt.set(stackNames.registry('staging'), []);
    const end = (schedule: ReturnType<typeof scheduleRelease>) => Math.max(...schedule.map((s) => s.end));
    const before = end(scheduleRelease(staging, { withStandby: false, dependencies: withoutIt }));
    const after = end(scheduleRelease(staging, { withStandby: false }));
    expect(after - before).toBeCloseTo(TYPICAL_MINUTES.unchangedStack, 5);
    expect(TYPICAL_MINUTES.jobSetup + TYPICAL_MINUTES.preflight + after + TYPICAL_MINUTES.verify).toBeLessThanOrEqual(PRODUCT_TARGET_MINUTES.staging);
  });
});

