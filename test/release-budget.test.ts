import { ENVIRONMENT_NAMES, type EnvironmentConfig, loadConfig } from '../lib/config';
import { environmentDeployOrder } from '../lib/deploy-duration';
import { runPlan } from '../lib/ops/commands/plan';
import { ExitCode } from '../lib/ops/exit-codes';
import { describeBudget, PRODUCT_TARGET_MINUTES, releaseBudget, releaseDeployLevels, rollbackBudget, TYPICAL_MINUTES } from '../lib/release-budget';
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

describe('the levels a release deploys in (cdk deploy --concurrency)', () => {
  test.each(ENVIRONMENT_NAMES)('%s: every stack depends only on stacks of earlier levels, and the levels are the stacks cdk deploy goes through', (env) => {
    const levels = releaseDeployLevels(env, { withStandby: true });
    const byName = new Map(stacks().map((s) => [s.displayName, s]));
    const idToName = new Map(stacks().map((s) => [s.id, s.displayName]));
    levels.forEach((level, index) => {
      const earlier = new Set(levels.slice(0, index).flat());
      for (const name of level) {
        const dependencies = (byName.get(name)?.dependencies ?? []).map((id) => idToName.get(id) ?? id);
        for (const dependency of dependencies) expect({ stack: name, dependsOn: dependency, inAnEarlierLevel: earlier.has(dependency) }).toMatchObject({ inAnEarlierLevel: true });
      }
    });
    expect(levels.flat().sort()).toEqual(environmentDeployOrder(env).sort());
    expect(levels.flat()).toContain(stackNames.registry(env));
  });
});
