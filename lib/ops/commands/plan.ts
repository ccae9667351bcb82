import type { EnvironmentConfig } from '../../config';
import { cdkDeployWorstCase, DEPLOY_CONCURRENCY, environmentDeployOrder } from '../../deploy-duration';
import { describeBudget, PRODUCT_TARGET_MINUTES, releaseBudget, rollbackBudget } from '../../release-budget';
import { ExitCode } from '../exit-codes';
import type { Output } from '../progress';
import { DEFAULT_VERIFY_TIMEOUT_MINUTES } from './verify';

/**
 * `ops plan`: the time budget of a release and of a rollback of the
 * environment, computed from config (lib/release-budget.ts), against the
 * product's figures, with the worst case the credentials are sized for
 * (lib/deploy-duration.ts) beside it. Reads no AWS account: it runs anywhere.
 */

export interface PlanResult {
  readonly exitCode: ExitCode;
  readonly releaseMinutes: number;
  readonly rollbackMinutes: number;
}

export function runPlan(config: EnvironmentConfig, out: Output, verifyTimeoutMinutes = DEFAULT_VERIFY_TIMEOUT_MINUTES): PlanResult {
  const env = config.name;
  const release = releaseBudget(config);
  const rollback = rollbackBudget(config, verifyTimeoutMinutes);
  const releaseTarget = PRODUCT_TARGET_MINUTES[env];
  const rollbackTarget = PRODUCT_TARGET_MINUTES.rollback;
  const worst = cdkDeployWorstCase(config, environmentDeployOrder(env), 'update', { concurrency: DEPLOY_CONCURRENCY });

  out.line(`Release budget for ${env}${env === 'production' ? ' (from approval)' : ''}: ${release.minutes.toFixed(2)} min of ${releaseTarget} (product target)`);
  for (const line of describeBudget(release)) out.line(`  ${line}`);
  out.line(`Rollback budget for ${env} (both services, verify timeout ${verifyTimeoutMinutes} min): ${rollback.minutes.toFixed(2)} min of ${rollbackTarget}`);
  for (const line of describeBudget(rollback)) out.line(`  ${line}`);
  out.line(`Worst case of cdk deploy --concurrency ${DEPLOY_CONCURRENCY} (credentials and job timeouts, lib/deploy-duration.ts): ${worst.succeeds.minutes} min, ${worst.fails.minutes} min when it fails and rolls back`);

  const over = [
    ...(release.minutes > releaseTarget ? [`the release takes ${release.minutes.toFixed(2)} min, over the ${releaseTarget}-minute target; costliest: ${describeBudget(release)[0].trim()}`] : []),
    ...(rollback.minutes > rollbackTarget ? [`the rollback takes ${rollback.minutes.toFixed(2)} min, over the ${rollbackTarget}-minute target; costliest: ${describeBudget(rollback)[0].trim()}`] : []),
  ];
  for (const problem of over) out.error(`${env}: ${problem}`);
  return { exitCode: over.length > 0 ? ExitCode.UNHEALTHY : ExitCode.OK, releaseMinutes: release.minutes, rollbackMinutes: rollback.minutes };
}
