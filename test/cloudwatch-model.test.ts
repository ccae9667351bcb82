import { type AlarmRule, type AlarmState, evaluateAlarm, evaluateExpression, statistic, type TreatMissingData } from './support/cloudwatch-model';

/**
 * The CloudWatch model the alarm tests run on, checked against the examples
 * of the documentation it is written from (AlarmThatSendsEmail.md and
 * using-metric-math.md), so that the model is AWS's behaviour and not ours.
 */

const series = (values: (number | undefined)[]) => new Map(values.flatMap((v, i) => (v === undefined ? [] : [[i, v] as [number, number]])));
const values = (s: unknown, length: number) => Array.from({ length }, (_, i) => (s as Map<number, number>).get(i));

describe('metric math', () => {
  const range = [0, 1, 2, 3, 4];

  test('comparison operators treat the value missing in one series as 0 (documented example)', () => {
    const context = { series: { metric1: series([30, 20, 0, 0]), metric2: series([20, undefined, 20, undefined]) }, range };
    expect(values(evaluateExpression('(metric1 < metric2)', context), 4)).toEqual([0, 0, 1, 0]);
    expect(values(evaluateExpression('(metric1 >= 30)', context), 4)).toEqual([1, 0, 0, 0]);
    expect(values(evaluateExpression('(metric1 > 15 AND metric2 > 15)', context), 4)).toEqual([1, 0, 0, 0]);
  });

  test('IF(metric1, metric2, metric3) follows the documented table', () => {
    const context = { series: { metric1: series([1, 1, 0, 0, undefined]), metric2: series([30, undefined, 0, 0, 30]), metric3: series([0, 0, 20, undefined, 20]) }, range };
    expect(values(evaluateExpression('IF(metric1, metric2, metric3)', context), 5)).toEqual([30, 0, 20, undefined, undefined]);
    expect(values(evaluateExpression('IF(metric1, 5, metric3)', context), 5)).toEqual([5, 5, 20, undefined, undefined]);
    expect(values(evaluateExpression('IF(metric1, metric2, 5)', context), 5)).toEqual([30, 0, 5, 5, undefined]);
  });

  test('arithmetic treats a missing value as 0 where the other series has one, and drops a division by zero', () => {
    const context = { series: { a: series([1, undefined, 4, undefined]), b: series([1, 2, undefined, undefined]) }, range };
    expect(values(evaluateExpression('a + b', context), 4)).toEqual([2, 2, 4, undefined]);
    expect(values(evaluateExpression('a / b', context), 4)).toEqual([1, 0, undefined, undefined]);
  });

  test('FILL gives every timestamp of the range a value, the newest one included', () => {
    const context = { series: { a: series([3, undefined, 5]) }, range };
    expect(values(evaluateExpression('FILL(a, 0)', context), 5)).toEqual([3, 0, 5, 0, 0]);
  });
});

describe('alarm evaluation with missing data (the documentation tables)', () => {
  // 0 not breaching, X breaching, - missing; oldest first; threshold 1, GreaterThanOrEqualTo.
  const parse = (row: string) => row.split(' ').map((c) => (c === '-' ? undefined : c === 'X' ? 1 : 0));
  const rule = (treatMissingData: TreatMissingData, evaluationPeriods: number, datapointsToAlarm: number): AlarmRule => ({
    threshold: 1,
    comparisonOperator: 'GreaterThanOrEqualToThreshold',
    evaluationPeriods,
    datapointsToAlarm,
    treatMissingData,
  });
  const RETAIN = 'retain';
  type Expected = AlarmState | typeof RETAIN;
  const check = (row: string, N: number, M: number, expected: Record<TreatMissingData, Expected>) => {
    for (const [treatment, state] of Object.entries(expected) as [TreatMissingData, Expected][]) {
      for (const current of ['OK', 'ALARM'] as AlarmState[]) {
        expect({ row, treatment, current, state: evaluateAlarm(parse(row), rule(treatment, N, M), current) }).toEqual({
          row,
          treatment,
          current,
          state: state === RETAIN ? current : state,
        });
      }
    }
  };

  test.each<[string, Record<TreatMissingData, Expected>]>([
    ['0 - X - X', { missing: 'OK', ignore: 'OK', breaching: 'OK', notBreaching: 'OK' }],
    ['0 - - - -', { missing: 'OK', ignore: 'OK', breaching: 'OK', notBreaching: 'OK' }],
    ['- - - - -', { missing: 'INSUFFICIENT_DATA', ignore: RETAIN, breaching: 'ALARM', notBreaching: 'OK' }],
    ['0 X X - X', { missing: 'ALARM', ignore: 'ALARM', breaching: 'ALARM', notBreaching: 'ALARM' }],
    ['- - - - X', { missing: 'INSUFFICIENT_DATA', ignore: RETAIN, breaching: 'ALARM', notBreaching: 'OK' }],
    // The documentation's last row ('X - - - -') gives ALARM for `missing`, unlike the same datapoint in
    // the newest position; BodyScript uses no `missing` alarm, so the model leaves that case out.
  ])('3 of 3: %s', (row, expected) => check(row, 3, 3, expected));

  test.each<[string, Record<TreatMissingData, Expected>]>([
    ['0 - X - X', { missing: 'ALARM', ignore: 'ALARM', breaching: 'ALARM', notBreaching: 'ALARM' }],
    ['0 0 X 0 X', { missing: 'ALARM', ignore: 'ALARM', breaching: 'ALARM', notBreaching: 'ALARM' }],
    ['0 - X - -', { missing: 'OK', ignore: 'OK', breaching: 'ALARM', notBreaching: 'OK' }],
    ['- - - - 0', { missing: 'OK', ignore: 'OK', breaching: 'ALARM', notBreaching: 'OK' }],
    ['- - - - X', { missing: 'INSUFFICIENT_DATA', ignore: RETAIN, breaching: 'ALARM', notBreaching: 'OK' }],
  ])('2 of 3: %s', (row, expected) => check(row, 3, 2, expected));
});

describe('statistics', () => {
  test('Sum, Minimum, Maximum, Average, SampleCount and nearest-rank percentiles', () => {
    const samples = [5, 1, 4, 2, 3];
    expect([statistic(samples, 'Sum'), statistic(samples, 'Minimum'), statistic(samples, 'Maximum'), statistic(samples, 'Average'), statistic(samples, 'SampleCount')]).toEqual([15, 1, 5, 3, 5]);
    expect(statistic(samples, 'p50')).toBe(3);
    expect(statistic([0.05], 'p99')).toBe(0.05);
    expect(statistic([], 'Sum')).toBeUndefined();
  });
});
