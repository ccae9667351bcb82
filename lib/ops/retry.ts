import { isThrottling } from './aws-errors';
import type { Clock } from './progress';

/**
 * Retries on throttling only. Other errors (access denied, missing resource,
 * invalid state) will not go away by asking again, and retrying a mutating
 * call that failed for another reason could do it twice.
 *
 * The SDK clients already retry a few times themselves; this outer loop covers
 * longer throttling bursts (e.g. many operators polling DescribeAlarms during an
 * incident) with a longer, bounded backoff.
 */
export interface RetryOptions {
  /** Attempts in total, including the first. */
  readonly maxAttempts: number;
  /** Delay before the second attempt; doubles each time. */
  readonly baseDelayMs: number;
  /** Upper bound of one delay. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 20_000 };

export function backoffDelay(attempt: number, options: RetryOptions): number {
  return Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
}

export async function withRetry<T>(
  fn: () => Promise<T>,
  clock: Clock,
  options: RetryOptions = DEFAULT_RETRY,
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isThrottling(error) || attempt >= options.maxAttempts) throw error;
      const delay = backoffDelay(attempt, options);
      onRetry?.(attempt, delay, error);
      await clock.sleep(delay);
    }
  }
}
