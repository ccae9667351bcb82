/**
 * How the alarms on user traffic treat a quiet minute (observability review
 * R13, R14), in one place so that every rate and percentile alarm, and the SLO
 * burn-rate alerts, agree.
 *
 * At night the health-check canaries are most of the traffic: a request or
 * two a minute. A share then jumps from 0 to 50 % on one failed request among
 * a few, and a p99 over a few requests is their maximum, so one slow cold
 * request or one 5xx among them would page (or roll a release back). The
 * rule: a rate or percentile alarm judges a minute only when it holds at least
 * MIN_BAD_REQUESTS_PER_MINUTE bad requests (a 5xx, or slower than the latency
 * objective), or when every request of the minute was bad. The second half
 * keeps a release that fails or slows down every request detectable at the
 * quietest traffic (one canary request a minute, test/deployment-alarms.test.ts);
 * with a single request a minute nothing tells one cold request from a slow
 * release. At volume the rule changes nothing: 5 % of 60 requests is already 3.
 * The SLO burn-rate alerts apply it to their short window instead of a minute
 * (at least `minimumBadEvents` failed events, never fewer than
 * MIN_BAD_REQUESTS_PER_MINUTE). test/low-traffic.test.ts runs every such
 * alarm of every synthesized template against it.
 */

/** A minute counts for a rate or percentile alarm only with at least this many bad requests in it (or only bad ones). */
export const MIN_BAD_REQUESTS_PER_MINUTE = 3;

/**
 * The floor when the count of bad requests is rebuilt from a share
 * (`requests * badPercent / 100`), which is rarely exact in floating point:
 * 3 of 9 requests published as 3 / 9 × 100 = 33.33…% makes 9 × 33.33… / 100
 * = 2.9999…, and a service may round the share it publishes. Counts are whole
 * numbers, so half a request below the floor is the floor; 2 bad requests
 * never reach it.
 */
const FLOOR_FROM_SHARE = MIN_BAD_REQUESTS_PER_MINUTE - 0.5;

/**
 * The metric-math condition of the rule for a minute with `requests` requests
 * of which `badPercent` percent were bad, when only the share is published
 * (CloudFront's 5xxErrorRate). "Only bad ones" is `badPercent >= 100`: a share
 * of n bad of n requests is exactly 100 in floating point, and with fewer than
 * MIN_BAD_REQUESTS_PER_MINUTE bad requests any other share is at most 2/3.
 */
export function lowTrafficCondition(requests: string, badPercent: string): string {
  return `(${badPercent} >= 100 || ${requests} * ${badPercent} / 100 >= ${FLOOR_FROM_SHARE})`;
}

/**
 * The same rule for an alarm that has the count of bad requests itself (the
 * load balancer's 5xx counts): whole numbers, compared with no slack.
 */
export function lowTrafficConditionOnCount(badRequests: string, badPercent: string): string {
  return `(${badPercent} >= 100 || ${badRequests} >= ${MIN_BAD_REQUESTS_PER_MINUTE})`;
}

/**
 * The condition "at least MIN_BAD_REQUESTS_PER_MINUTE bad requests", with no
 * "or only bad ones": for an alarm whose load balancer never sees fewer than
 * that many requests a minute (a canary that sends them), so that a release
 * that fails every request still counts while one bad request never does.
 * The count is rebuilt from a share, with the slack of FLOOR_FROM_SHARE.
 */
export function badRequestsAtLeast(requests: string, badPercent: string): string {
  return `${requests} * ${badPercent} / 100 >= ${FLOOR_FROM_SHARE}`;
}

/** The rule of badRequestsAtLeast in one sentence, for alarm descriptions. */
export const BAD_REQUEST_FLOOR_RULE = `A minute counts only with at least ${MIN_BAD_REQUESTS_PER_MINUTE} such requests in it: one slow cold request is no trend, and the health-check canary sends at least ${MIN_BAD_REQUESTS_PER_MINUTE} requests a minute, so a release that slows every request still counts at night.`;

/** The rule in one sentence, for alarm descriptions. */
export const LOW_TRAFFIC_RULE = `A minute counts only with at least ${MIN_BAD_REQUESTS_PER_MINUTE} bad requests in it, or with nothing but bad ones: one among a few at night's canary traffic is no trend.`;
