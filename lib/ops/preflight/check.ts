import { type Stack, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetRoleCommand, type IAMClient, type Role } from '@aws-sdk/client-iam';
import { isNotFound, OpsError, toOpsError } from '../aws-errors';
import { awsCall, type OpsContext, type Side } from '../context';
import { withRetry } from '../retry';

/** One line of the preflight report: a prerequisite of a deploy, met or not, and what to do when not. */
export interface PreflightCheck {
  readonly area: PreflightArea;
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** The exact command or step that fixes a failed check. */
  readonly fix?: string;
}

export const PREFLIGHT_AREAS = ['bootstrap', 'stacks', 'roles', 'images', 'secrets', 'quotas'] as const;
export type PreflightArea = (typeof PREFLIGHT_AREAS)[number];

export function ok(area: PreflightArea, name: string, detail: string): PreflightCheck {
  return { area, name, ok: true, detail };
}

export function fail(area: PreflightArea, name: string, detail: string, fix?: string): PreflightCheck {
  return { area, name, ok: false, detail, fix };
}

/**
 * Runs a check; a missing resource becomes a failed check (the report goes on
 * to cover everything else), while access-denied and credential errors abort
 * the run with exit 4: then nothing it says could be trusted.
 */
export async function guarded(area: PreflightArea, name: string, fix: string | undefined, fn: () => Promise<PreflightCheck[]>): Promise<PreflightCheck[]> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof OpsError && error.kind === 'not-found') return [fail(area, name, error.message, fix)];
    throw error;
  }
}

/** The side (primary or standby) whose region this is. */
export function sideOf(ctx: OpsContext, region: string): Side {
  if (region === ctx.config.primary.region) return 'primary';
  if (region === ctx.config.standby.region) return 'standby';
  throw new OpsError('usage', `region ${region} is neither the primary (${ctx.config.primary.region}) nor the standby (${ctx.config.standby.region}) region of ${ctx.env}`);
}

/**
 * CloudFormation answers DescribeStacks for a stack that does not exist with
 * `ValidationError: Stack with id X does not exist` (HTTP 400), not with a
 * not-found error, so it is recognised by code and message.
 */
export function isMissingStack(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; message?: string } | undefined;
  return (e?.name === 'ValidationError' || e?.Code === 'ValidationError') && /does not exist/.test(e?.message ?? '');
}

/** The stack, or undefined when it does not exist (never deployed, or deleted). */
export async function describeStack(ctx: OpsContext, side: Side, stackName: string): Promise<Stack | undefined> {
  return awsCall(ctx, side, 'cloudformation:DescribeStacks', `stack ${stackName}`, async () => {
    try {
      const response = await ctx.clients[side].cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
      return response.Stacks?.[0];
    } catch (error) {
      if (isMissingStack(error)) return undefined;
      throw error;
    }
  });
}

/** An IAM role in the account of the given client, or undefined when IAM answers NoSuchEntity. */
export async function getRole(ctx: OpsContext, iam: IAMClient, roleName: string, account: string): Promise<Role | undefined> {
  try {
    return await withRetry(
      async () => {
        try {
          return (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      },
      ctx.clock,
      ctx.retry,
      (attempt, delayMs) => ctx.progress.log(`iam:GetRole throttled (attempt ${attempt}/${ctx.retry.maxAttempts}); retrying in ${Math.round(delayMs / 1000)}s`),
    );
  } catch (error) {
    throw toOpsError(error, { action: 'iam:GetRole', resource: `role ${roleName}`, region: 'global', account });
  }
}
