import type { ProjectConfig } from '../../config';
import { OpsError } from '../aws-errors';
import type { OpsContext } from '../context';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';
import { readEnvironmentAssembly } from '../preflight/assembly';
import { checkBootstrap } from '../preflight/bootstrap';
import { PREFLIGHT_AREAS, type PreflightCheck } from '../preflight/check';
import { checkImageReplication, checkImages } from '../preflight/images';
import { checkQuotas } from '../preflight/quotas';
import { checkRoles } from '../preflight/roles';
import { checkSentrySecret } from '../preflight/secrets';
import { checkStacks, type ExpectDeployed } from '../preflight/stacks';

/**
 * `ops preflight`: everything a deploy of the environment needs that the
 * templates cannot create themselves, each as a checked line with the fix.
 * Read-only. The pipelines run it before `cdk deploy` and stop on exit 1;
 * runbooks/new-environment.md runs it before the first deploy.
 *
 * A missing prerequisite is a finding (FAIL, exit 1) and the report goes on;
 * access-denied and credential errors abort with exit 4 (then nothing here
 * could be trusted), an unreadable cloud assembly with exit 2.
 */

export interface PreflightOptions {
  readonly project: ProjectConfig;
  /** Directory of the synthesized cloud assembly (`cdk.out`). */
  readonly assemblyDir: string;
  /** Which stacks must already exist: the pipelines update an environment, they do not create one. */
  readonly expectDeployed?: ExpectDeployed;
}

export interface PreflightResult {
  readonly exitCode: ExitCode;
  readonly checks: PreflightCheck[];
}

export async function runPreflight(ctx: OpsContext, options: PreflightOptions): Promise<PreflightResult> {
  // The assembly first: a wrong or missing one is a usage error, found before any AWS call.
  const assembly = readEnvironmentAssembly(options.assemblyDir, ctx.env, ctx.config);
  if (ctx.config.standby.account !== ctx.config.primary.account) {
    throw new OpsError('usage', `${ctx.env}: preflight reads one account with one set of credentials; the standby account ${ctx.config.standby.account} differs from the primary ${ctx.config.primary.account}`);
  }
  await checkIdentity(ctx, 'primary');
  const { primary, standby } = ctx.config;
  ctx.progress.log(
    `preflight of ${ctx.env}: account ${primary.account}, ${primary.region} and ${standby.region}; ${assembly.stacks.length} stacks in ${assembly.dir}` +
      (options.expectDeployed ? `; expecting ${options.expectDeployed === 'all' ? 'every stack and the standby' : 'the environment'} deployed` : ''),
  );
  const checks = [
    ...(await checkBootstrap(ctx, assembly, options.project)),
    ...(await checkStacks(ctx, assembly, options.expectDeployed)),
    ...(await checkRoles(ctx, options.project, options.expectDeployed)),
    ...(await checkImageReplication(ctx)),
    ...(await checkImages(ctx)),
    ...(await checkSentrySecret(ctx)),
    ...(await checkQuotas(ctx)),
  ];
  for (const area of PREFLIGHT_AREAS) {
    ctx.progress.plain(`${area}:`);
    for (const check of checks.filter((c) => c.area === area)) {
      ctx.progress.plain(`  ${check.ok ? 'OK  ' : 'FAIL'}  ${check.name}: ${check.detail}`);
      if (!check.ok && check.fix) ctx.progress.plain(`        fix: ${check.fix}`);
    }
  }
  const failing = checks.filter((c) => !c.ok);
  if (failing.length > 0) {
    ctx.out.error(`preflight of ${ctx.env}: ${failing.length} problem(s), nothing deployed: ${failing.map((c) => c.name).join('; ')}`);
    return { exitCode: ExitCode.UNHEALTHY, checks };
  }
  ctx.progress.log(`preflight of ${ctx.env}: every prerequisite of a deploy is in place (${checks.length} checks)`);
  return { exitCode: ExitCode.OK, checks };
}
