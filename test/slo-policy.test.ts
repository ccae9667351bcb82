import {
  BURN_RATE_ALERTS,
  BURN_RATE_WINDOWS_MINUTES,
  budgetConsumedAtFiring,
  budgetConsumedBeforeDetection,
  budgetRemaining,
  burnRateOf,
  detectionMinutes,
  FASTEST_BURN_FACTOR,
  MAX_BURN_RATE_WINDOW_MINUTES,
  serviceLevelObjectiveName,
  SLO_KINDS,
} from '../lib/service-level-objectives';
import { loadConfig } from '../lib/config';

const alert = (id: string) => BURN_RATE_ALERTS.find((a) => a.id === id)!;
const config = loadConfig();

/**
 * The SRE workbook, chapter 5 ("Alerting on SLOs"), approach 6 and its table of
 * recommended parameters for a 99.9 % SLO over 30 days.
 */
const WORKBOOK = [
  { id: 'FastBurn', severity: 'page', long: 60, short: 5, factor: 14.4, budgetConsumed: 0.02 },
  { id: 'SlowBurn', severity: 'page', long: 360, short: 30, factor: 6, budgetConsumed: 0.05 },
  { id: 'SteadyBurn', severity: 'ticket', long: 3 * 24 * 60, short: 360, factor: 1, budgetConsumed: 0.1 },
];

describe('the burn-rate alert table', () => {
  test("is the workbook's: windows, factors, severities, and a short window of 1/12 of the long one", () => {
    expect(BURN_RATE_ALERTS.map((a) => ({ id: a.id, severity: a.severity, long: a.longWindowMinutes, short: a.shortWindowMinutes, factor: a.factor }))).toEqual(
      WORKBOOK.map(({ budgetConsumed: _, ...row }) => row),
    );
    for (const a of BURN_RATE_ALERTS) expect(a.shortWindowMinutes * 12).toBe(a.longWindowMinutes);
  });

  test('asks Application Signals for a burn rate over each window, all within its 10,080-minute limit', () => {
    expect(BURN_RATE_WINDOWS_MINUTES).toEqual([5, 30, 60, 360, 4320]);
    expect(Math.max(...BURN_RATE_WINDOWS_MINUTES)).toBeLessThanOrEqual(MAX_BURN_RATE_WINDOW_MINUTES);
  });

  test.each(WORKBOOK)('$id consumes the workbook’s $budgetConsumed of a 30-day budget before it fires', ({ id, budgetConsumed }) => {
    expect(budgetConsumedAtFiring(alert(id), 30)).toBeCloseTo(budgetConsumed, 10);
  });

  test.each(WORKBOOK)('$id over this project’s windows consumes the workbook’s share scaled by 30 / windowDays', ({ id, budgetConsumed }) => {
    for (const env of ['staging', 'production'] as const) {
      const days = config.environments[env].serviceLevelObjectives.windowDays;
      expect(budgetConsumedAtFiring(alert(id), days)).toBeCloseTo((budgetConsumed * 30) / days, 10);
    }
    // 28 days: 2.14 %, 5.36 %, 10.71 %.
    expect(Number((budgetConsumedAtFiring(alert(id), 28) * 100).toFixed(2))).toBe({ FastBurn: 2.14, SlowBurn: 5.36, SteadyBurn: 10.71 }[id]);
  });
});

describe('detection time (workbook: (1 − SLO) / error ratio × window × burn rate)', () => {
  const busy = { goal: 0.999, eventsPerMinute: 1000, minimumBadEvents: 3 };

  test.each([
    // 100 % errors at 99.9 %: the long window decides.
    ['FastBurn', 1, 0.864],
    ['SlowBurn', 1, 2.16],
    ['SteadyBurn', 1, 4.32],
    // 10 % errors: ten times longer.
    ['FastBurn', 0.1, 8.64],
    ['SlowBurn', 0.1, 21.6],
    ['SteadyBurn', 0.1, 43.2],
  ])('%s at an error ratio of %s fires after %s minutes', (id, errorRatio, minutes) => {
    expect(detectionMinutes(alert(id), { ...busy, errorRatio })).toBeCloseTo(minutes, 10);
  });

  test('an error ratio below the factor never fires the alert (the budget would last longer than the alert cares about)', () => {
    // 14.4 × 0.1 % = 1.44 %: 1 % errors burn at 10×, a page only through the 6× alert.
    expect(detectionMinutes(alert('FastBurn'), { ...busy, errorRatio: 0.01 })).toBeUndefined();
    expect(detectionMinutes(alert('SlowBurn'), { ...busy, errorRatio: 0.01 })).toBeCloseTo((0.006 / 0.01) * 360, 10);
    expect(detectionMinutes(alert('SteadyBurn'), { ...busy, errorRatio: 0.0005 })).toBeUndefined();
  });

  test.each(WORKBOOK)('$id has spent the budget the table promises when a burn at exactly its factor is detected', ({ id, budgetConsumed }) => {
    const a = alert(id);
    const scenario = { ...busy, errorRatio: a.factor * (1 - busy.goal) };
    expect(detectionMinutes(a, scenario)).toBeCloseTo(a.longWindowMinutes, 10);
    expect(budgetConsumedBeforeDetection(a, scenario, 30)).toBeCloseTo(budgetConsumed, 10);
  });

  test('whatever the error ratio above the factor, the long window fires having spent the same share: a total outage after 52 s, 2.14 % of 28 days', () => {
    for (const errorRatio of [1, 0.5, 0.1, 0.015]) {
      expect(budgetConsumedBeforeDetection(alert('FastBurn'), { ...busy, errorRatio }, 28)).toBeCloseTo(budgetConsumedAtFiring(alert('FastBurn'), 28), 10);
    }
    expect(detectionMinutes(alert('FastBurn'), { ...busy, errorRatio: 1 })! * 60).toBeCloseTo(51.84, 10);
  });
});

describe('the minimum-failures rule at low traffic (observability review R13/R14)', () => {
  // At night the api canary is the traffic: one request a minute through CloudFront.
  const night = { goal: 0.999, eventsPerMinute: 1, minimumBadEvents: 3 };

  test('one failed request every five minutes (20 %, 200× the budget) never fires the fast burn; the slow burn pages at the third failure', () => {
    const scenario = { ...night, errorRatio: 0.2 };
    expect(burnRateOf(1 - 0.2, night.goal)).toBeCloseTo(200, 6);
    expect(detectionMinutes(alert('FastBurn'), scenario)).toBeUndefined();
    // Without the rule the fast burn would page at the first failure, five minutes in.
    expect(detectionMinutes(alert('FastBurn'), { ...scenario, minimumBadEvents: 1 })).toBe(5);
    // A failure every five minutes for a quarter of an hour is no blip.
    expect(detectionMinutes(alert('SlowBurn'), scenario)).toBeCloseTo(15, 10);
  });

  test('a real outage at night still pages: every request fails, the third failure comes after three minutes', () => {
    expect(detectionMinutes(alert('FastBurn'), { ...night, errorRatio: 1 })).toBe(3);
    expect(detectionMinutes(alert('SlowBurn'), { ...night, errorRatio: 1 })).toBe(3);
  });

  test('with the two canary requests a minute the review names, a single 5xx (50 % of the minute) never pages', () => {
    // One failure is one event, below three whatever its share of the minute.
    expect(detectionMinutes(alert('FastBurn'), { goal: 0.999, eventsPerMinute: 2, minimumBadEvents: 3, errorRatio: 1 / 10 })).toBeUndefined();
  });

  test('every environment asks for at least three failures', () => {
    for (const env of ['staging', 'production'] as const) expect(config.environments[env].serviceLevelObjectives.minimumBadEvents).toBeGreaterThanOrEqual(3);
  });
});

describe('budget arithmetic', () => {
  test('burn rate and budget left from an attainment', () => {
    expect(burnRateOf(0.999, 0.999)).toBeCloseTo(1, 10);
    expect(budgetRemaining(0.9995, 0.999)).toBeCloseTo(0.5, 10);
    expect(budgetRemaining(0.998, 0.999)).toBeCloseTo(-1, 10);
  });

  test('no goal of any environment is below the lowest the fastest alert can fire on', () => {
    for (const env of ['staging', 'production'] as const) {
      for (const kind of SLO_KINDS) expect(config.environments[env].serviceLevelObjectives[kind].goal).toBeGreaterThanOrEqual(1 - 1 / FASTEST_BURN_FACTOR);
    }
  });
});

describe('serviceLevelObjectiveName', () => {
  test('is bodyscript-<env>-<kind> in kebab case, a name Application Signals accepts', () => {
    expect(SLO_KINDS.map((k) => serviceLevelObjectiveName('production', k))).toEqual([
      'bodyscript-production-api-availability',
      'bodyscript-production-api-latency',
      'bodyscript-production-processing-freshness',
      'bodyscript-production-web-app-canary',
    ]);
  });
});
