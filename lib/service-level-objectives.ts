import type { EnvironmentName } from './config';

/**
 * The service level objectives of an environment and the burn-rate alerting
 * policy on them: names, the alert table of the SRE workbook (chapter 5,
 * "Alerting on SLOs", approach 6: multiwindow, multi-burn-rate alerts) and the
 * arithmetic behind it, kept pure so that the construct, `ops slo`, the
 * runbook test and the tests that compare with the workbook share one table.
 */

/** The four objectives every environment has (runbooks/slo.md says why these). */
export const SLO_KINDS = ['apiAvailability', 'apiLatency', 'processingFreshness', 'webAppCanary'] as const;
export type SloKind = (typeof SLO_KINDS)[number];

/** What each objective promises, in the words of runbooks/slo.md. */
export const SLO_TITLES: Readonly<Record<SloKind, string>> = {
  apiAvailability: 'api availability',
  apiLatency: 'api latency',
  processingFreshness: 'processing freshness',
  webAppCanary: 'web app canary',
};

/**
 * The SLO's name in Application Signals: `bodyscript-<env>-<kind>` in kebab
 * case. Application Signals allows `[0-9A-Za-z][-._0-9A-Za-z ]{0,126}[0-9A-Za-z]`;
 * the name is the SLO's identity (it is in its ARN and the `SloName`
 * dimension of its metrics), so renaming one replaces it and starts its
 * attainment from nothing.
 */
export function serviceLevelObjectiveName(env: EnvironmentName, kind: SloKind): string {
  const name = `bodyscript-${env}-${kind.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (!/^[0-9A-Za-z][-._0-9A-Za-z ]{0,126}[0-9A-Za-z]$/.test(name)) throw new Error(`serviceLevelObjectiveName: '${name}' is not a name Application Signals accepts`);
  return name;
}

/** Who hears of an alert: the critical topic pages, the warning topic opens a ticket. */
export type AlertSeverity = 'page' | 'ticket';

/** One row of the workbook's alert table: fires when both windows burn faster than `factor`. */
export interface BurnRateAlert {
  /** Part of the alarm names: `FastBurn`, `SlowBurn`, `SteadyBurn`. */
  readonly id: string;
  readonly severity: AlertSeverity;
  /** Burn rate that fires it: error ratio / (1 − goal). */
  readonly factor: number;
  /** The long window: how much budget must be burning. */
  readonly longWindowMinutes: number;
  /** The short window (1/12 of the long one): it is still burning now, so the alert resets soon after the burn stops. */
  readonly shortWindowMinutes: number;
}

/**
 * The workbook's recommended parameters for a 99.9 % SLO over 30 days: page at
 * 14.4× over 1 h and 5 min (2 % of the budget) or 6× over 6 h and 30 min
 * (5 %), ticket at 1× over 3 days and 6 h (10 %).
 */
export const BURN_RATE_ALERTS: readonly BurnRateAlert[] = [
  { id: 'FastBurn', severity: 'page', factor: 14.4, longWindowMinutes: 60, shortWindowMinutes: 5 },
  { id: 'SlowBurn', severity: 'page', factor: 6, longWindowMinutes: 360, shortWindowMinutes: 30 },
  { id: 'SteadyBurn', severity: 'ticket', factor: 1, longWindowMinutes: 3 * 24 * 60, shortWindowMinutes: 360 },
];

/** The look-back windows Application Signals computes a BurnRate metric for (BurnRateConfigurations). */
export const BURN_RATE_WINDOWS_MINUTES: readonly number[] = [...new Set(BURN_RATE_ALERTS.flatMap((a) => [a.shortWindowMinutes, a.longWindowMinutes]))].sort((a, b) => a - b);

/** Application Signals computes burn rates over at most 10,080 minutes (BurnRateConfiguration.LookBackWindowMinutes 1–10080). */
export const MAX_BURN_RATE_WINDOW_MINUTES = 10080;

/** The fastest alert's factor: a goal whose budget is over 1/factor can never burn that fast (the error ratio would exceed 100 %). */
export const FASTEST_BURN_FACTOR = Math.max(...BURN_RATE_ALERTS.map((a) => a.factor));

/**
 * Share of the whole budget an alert has consumed when it fires on a burn at
 * exactly its factor: factor × long window / SLO window (workbook:
 * "budget consumed = burn rate × alerting window / period").
 */
export function budgetConsumedAtFiring(alert: BurnRateAlert, windowDays: number): number {
  return (alert.factor * alert.longWindowMinutes) / (windowDays * 24 * 60);
}

/** The conditions under which an alert's detection time is computed. */
export interface BurnScenario {
  /** The objective, e.g. 0.999. */
  readonly goal: number;
  /** Share of events that fail from t = 0 on (before it, none failed), e.g. 1 for a total outage. */
  readonly errorRatio: number;
  /** Events per minute (requests, videos or canary runs). */
  readonly eventsPerMinute: number;
  /** The minimum-failures rule: failed events the short window must hold before the alert may fire. */
  readonly minimumBadEvents: number;
}

/**
 * Minutes from the start of a constant burn until the alert's three
 * conditions hold: the long window's and the short window's burn rates reach
 * the factor (workbook: "detection time = (1 − SLO) / error ratio × alerting
 * window × burn rate"), and the short window holds at least
 * `minimumBadEvents` failures. Undefined when the alert never fires for this
 * burn: the error ratio is below the factor's, or the short window never sees
 * enough failures at this traffic. The evaluation delay of CloudWatch (one
 * alarm period, a minute) comes on top.
 */
export function detectionMinutes(alert: BurnRateAlert, scenario: BurnScenario): number | undefined {
  const budget = 1 - scenario.goal;
  const threshold = alert.factor * budget;
  if (!(scenario.errorRatio > 0) || scenario.errorRatio < threshold || threshold > 1) return undefined;
  const windowReached = (windowMinutes: number) => (threshold / scenario.errorRatio) * windowMinutes;
  const failuresPerMinute = scenario.errorRatio * scenario.eventsPerMinute;
  // Failures accumulate in the short window until it is full; after that it holds a constant count.
  if (failuresPerMinute * alert.shortWindowMinutes < scenario.minimumBadEvents) return undefined;
  const enoughFailures = scenario.minimumBadEvents / failuresPerMinute;
  return Math.max(windowReached(alert.longWindowMinutes), windowReached(alert.shortWindowMinutes), enoughFailures);
}

/**
 * Share of the budget consumed between the start of a burn and the alert
 * (detection time × error ratio × events, over the budget's events in the
 * window), for the runbook's "what is left when it fires".
 */
export function budgetConsumedBeforeDetection(alert: BurnRateAlert, scenario: BurnScenario, windowDays: number): number | undefined {
  const minutes = detectionMinutes(alert, scenario);
  if (minutes === undefined) return undefined;
  return (minutes * scenario.errorRatio) / ((1 - scenario.goal) * windowDays * 24 * 60);
}

/**
 * The burn rate an attainment corresponds to over a window: (1 − attainment) /
 * (1 − goal); both as fractions.
 */
export function burnRateOf(attainment: number, goal: number): number {
  return (1 - attainment) / (1 - goal);
}

/** Share of the budget left (negative when overspent) at an attainment over the whole SLO window; both as fractions. */
export function budgetRemaining(attainment: number, goal: number): number {
  return 1 - burnRateOf(attainment, goal);
}
