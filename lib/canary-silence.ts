import type { EnvironmentName } from './config';
import { alarmName } from './naming';

/**
 * The silence alarm of a health-check canary: the numbers the construct builds
 * it from (constructs/health-check-canary.ts) and `ops verify` reads it by.
 *
 * Every run of a Synthetics canary publishes one SuccessPercent datapoint,
 * passed or failed, so SampleCount(SuccessPercent) per minute counts the runs,
 * and a canary that stopped, or cannot start, publishes nothing at all. The
 * alarm counts runs per minute over CANARY_SILENCE_MINUTES periods, every one
 * of them needed to alarm, missing data breaching. By CloudWatch's documented
 * evaluation (AlarmThatSendsEmail, "How alarm state is evaluated when data is
 * missing": with fewer existing datapoints than evaluation periods the missing
 * ones are filled as few times as possible, and every real datapoint of the
 * range counts), one run anywhere in the range keeps it OK, and it goes to
 * ALARM once not a single run is left in it: after CANARY_SILENCE_MINUTES of
 * silence, or a little more, as CloudWatch retrieves a few more datapoints
 * than the evaluation periods.
 *
 * The same rule puts the alarm of a canary created (or started again) a moment
 * ago in ALARM at its first evaluation, and keeps it there until the first
 * run's datapoint is in its range: CANARY_SILENCE_CATCH_UP_MINUTES after that
 * run at most (one period to end, the datapoint's arrival, one evaluation).
 * `ops verify` does not count that as a silent canary when the canary's runs
 * started no longer ago than that (test/health-check-canary.test.ts runs the
 * alarm through both cases on CloudWatch's rules).
 */

/** Length of one counted period: the canaries run every minute. */
export const CANARY_SILENCE_PERIOD_SECONDS = 60;

/** Minutes without a single run that put the silence alarm in ALARM (its evaluation periods, each needed). */
export const CANARY_SILENCE_MINUTES = 10;

/** Minutes after a canary's first run (new, or started again) by which its silence alarm has left ALARM. */
export const CANARY_SILENCE_CATCH_UP_MINUTES = 3;

/** Namespace and metric a canary run publishes once, passed or failed. */
export const CANARY_RUN_METRIC = { namespace: 'CloudWatchSynthetics', metricName: 'SuccessPercent', dimension: 'CanaryName' } as const;

/** The silence alarm of the canary whose failure alarm is `alarmName(env, target, 'Canary')`. */
export function canarySilenceAlarmName(env: EnvironmentName, target: string): string {
  return `${alarmName(env, target, 'Canary')}-Silent`;
}
