import type { EnvironmentConfig, EnvironmentName } from '../config';
import { toOpsError } from './aws-errors';
import type { OpsClients } from './clients';
import { type Clock, type Output, Progress } from './progress';
import { DEFAULT_RETRY, type RetryOptions, withRetry } from './retry';

/** Everything a command needs, injected: config, clients, time and output. */
export interface OpsContext {
  readonly env: EnvironmentName;
  readonly config: EnvironmentConfig;
  readonly clients: OpsClients;
  readonly clock: Clock;
  readonly out: Output;
  readonly progress: Progress;
  readonly retry: RetryOptions;
}

export interface ContextInput {
  readonly env: EnvironmentName;
  readonly config: EnvironmentConfig;
  readonly clients: OpsClients;
  readonly clock: Clock;
  readonly out: Output;
  readonly retry?: RetryOptions;
}

export function createContext(input: ContextInput): OpsContext {
  return { ...input, progress: new Progress(input.clock, input.out), retry: input.retry ?? DEFAULT_RETRY };
}

/** Which side of the environment a call goes to; decides the region and account named in error messages. */
export type Side = 'primary' | 'standby';

/**
 * Every AWS call goes through here: throttling is retried with backoff, and any
 * other failure becomes an OpsError that names the IAM action, the resource and
 * the account, so the operator knows what to fix.
 */
export async function awsCall<T>(ctx: OpsContext, side: Side, action: string, resource: string, fn: () => Promise<T>): Promise<T> {
  const location = ctx.config[side];
  try {
    return await withRetry(fn, ctx.clock, ctx.retry, (attempt, delayMs) =>
      ctx.progress.log(`${action} throttled (attempt ${attempt}/${ctx.retry.maxAttempts}); retrying in ${Math.round(delayMs / 1000)}s`),
    );
  } catch (error) {
    throw toOpsError(error, { action, resource, region: location.region, account: location.account });
  }
}
