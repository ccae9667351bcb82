import type { OpsContext } from '../context';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';
import { failedOverCheck } from './marker';

/**
 * `ops dr deploy-check`: the pipeline's refusal to deploy while the environment
 * is failed over. A deploy of the standby stack after a failover would re-apply
 * what the failover changed (issue 11.4), so the deploy workflows run this
 * before `cdk deploy` and stop on a non-zero exit.
 *
 * Read-only, and entirely in the standby region (STS and SSM there): after a
 * failover the primary region may still be down, and the check must still
 * answer. Exit 0: not failed over (or failed over and overridden); exit 1:
 * failed over; exit 4: the marker could not be read (never "not failed over").
 */
export interface DeployCheckOptions {
  /**
   * Deploy even though the environment is failed over. The workflows pass it only
   * from a manual run whose typed confirmation matches the environment, in a job
   * whose GitHub environment requires a reviewer's approval.
   */
  readonly allowWhileFailedOver: boolean;
}

export async function runDeployCheck(ctx: OpsContext, options: DeployCheckOptions): Promise<{ exitCode: ExitCode; detail: string }> {
  await checkIdentity(ctx, 'standby');
  const check = await failedOverCheck(ctx, options);
  if (check.ok) {
    ctx.out.line(`OK    ${check.detail}`);
    return { exitCode: ExitCode.OK, detail: check.detail };
  }
  ctx.out.line(`FAIL  ${check.detail}`);
  return { exitCode: ExitCode.UNHEALTHY, detail: check.detail };
}
