import { OpsError } from './aws-errors';
import type { OpsContext } from './context';
import { formatDuration } from './progress';

/** One look at the thing being waited for. */
export interface PollResult<T> {
  /** True when the wait is over and successful. */
  readonly done: boolean;
  /** Short status for the progress line, e.g. `promoting (lag 3s)`. */
  readonly status: string;
  /** Set when the thing reached a state it will not recover from: stop waiting at once. */
  readonly failed?: string;
  readonly value?: T;
}

export interface WaitOptions<T> {
  /** What is being waited for, for progress and error lines: `DB instance x to be available`. */
  readonly what: string;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly check: () => Promise<PollResult<T>>;
}

/** Progress lines repeat an unchanged status at most this often, so long waits stay readable. */
const REPEAT_STATUS_EVERY_MS = 60_000;

/**
 * Polls until done, failed or timed out. Every wait in the CLI is bounded: an
 * operator must never be left looking at a command that waits forever.
 */
export async function waitUntil<T>(ctx: OpsContext, options: WaitOptions<T>): Promise<T | undefined> {
  const started = ctx.clock.now();
  let lastStatus: string | undefined;
  let lastPrinted = -Infinity;
  for (;;) {
    const result = await options.check();
    const now = ctx.clock.now();
    if (result.status !== lastStatus || now - lastPrinted >= REPEAT_STATUS_EVERY_MS) {
      ctx.progress.log(`${options.what}: ${result.status}`);
      lastStatus = result.status;
      lastPrinted = now;
    }
    if (result.failed) throw new OpsError('unhealthy', `${options.what}: ${result.failed}`);
    if (result.done) return result.value;
    if (now - started + options.intervalMs > options.timeoutMs) {
      throw new OpsError('timeout', `timed out after ${formatDuration(now - started)} waiting for ${options.what} (last status: ${result.status})`);
    }
    await ctx.clock.sleep(options.intervalMs);
  }
}
