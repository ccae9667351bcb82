/**
 * A model of how CloudWatch evaluates an alarm, written from its documentation
 * so that tests can run the synthesized alarms against simulated metrics:
 *
 * - metric math (using-metric-math.md): arithmetic treats a missing value as 0
 *   when the other series has one at that timestamp, and drops a datapoint
 *   whose division is by zero; comparisons and logical operators between two
 *   series treat a missing value as 0; IF(condition, a, b) yields a value for
 *   each timestamp of the condition (0 when the condition is true and `a` has
 *   no datapoint there, nothing when it is false and `b` has none); FILL
 *   replaces every missing timestamp of the query's range.
 * - alarm evaluation (AlarmThatSendsEmail.md, "How alarm state is evaluated
 *   when data is missing"): CloudWatch retrieves more datapoints than the
 *   evaluation periods (the evaluation range); with at least as many existing
 *   datapoints as evaluation periods it evaluates the most recent existing ones;
 *   with fewer, `breaching` and `notBreaching` fill the missing ones (as few as
 *   possible) and every real datapoint of the range counts; `missing` and
 *   `ignore` evaluate the real datapoints, and with none at all go to
 *   INSUFFICIENT_DATA or keep the current state. The documented tables are
 *   checked in test/cloudwatch-model.test.ts.
 */

/** A time series: value per timestamp (any comparable number, e.g. the period index). */
export type Series = Map<number, number>;
export type Value = Series | number;

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
export type TreatMissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';
export type ComparisonOperator = 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';

type Token = { kind: 'num'; value: number } | { kind: 'id'; value: string } | { kind: 'op'; value: string };

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|&&|\|\||[-+*/^()<>,[\]]))/y;
  let index = 0;
  while (index < expression.length) {
    if (/^\s*$/.test(expression.slice(index))) break;
    re.lastIndex = index;
    const match = re.exec(expression);
    if (!match) throw new Error(`cloudwatch-model: cannot read '${expression.slice(index)}' in '${expression}'`);
    if (match[1] !== undefined) tokens.push({ kind: 'num', value: Number(match[1]) });
    else if (match[2] !== undefined) tokens.push({ kind: 'id', value: match[2] });
    else tokens.push({ kind: 'op', value: match[3] });
    index = re.lastIndex;
  }
  return tokens;
}

/** What a metric-math expression is evaluated against. */
export interface MathContext {
  /** The series of each query id. */
  readonly series: Record<string, Series>;
  /** Every timestamp of the query's time range (FILL fills these). */
  readonly range: number[];
}

const isSeries = (v: Value): v is Series => v instanceof Map;

function binary(a: Value, b: Value, f: (x: number, y: number) => number | undefined): Value {
  if (!isSeries(a) && !isSeries(b)) {
    const r = f(a, b);
    if (r === undefined) throw new Error('cloudwatch-model: scalar division by zero');
    return r;
  }
  const out: Series = new Map();
  const keys = new Set<number>([...(isSeries(a) ? a.keys() : []), ...(isSeries(b) ? b.keys() : [])]);
  for (const t of [...keys].sort((x, y) => x - y)) {
    const x = isSeries(a) ? (a.get(t) ?? 0) : a;
    const y = isSeries(b) ? (b.get(t) ?? 0) : b;
    const r = f(x, y);
    if (r !== undefined) out.set(t, r);
  }
  return out;
}

const OPERATORS: Record<string, { precedence: number; apply: (x: number, y: number) => number | undefined }> = {
  '||': { precedence: 1, apply: (x, y) => (x !== 0 || y !== 0 ? 1 : 0) },
  OR: { precedence: 1, apply: (x, y) => (x !== 0 || y !== 0 ? 1 : 0) },
  '&&': { precedence: 2, apply: (x, y) => (x !== 0 && y !== 0 ? 1 : 0) },
  AND: { precedence: 2, apply: (x, y) => (x !== 0 && y !== 0 ? 1 : 0) },
  '==': { precedence: 3, apply: (x, y) => (x === y ? 1 : 0) },
  '!=': { precedence: 3, apply: (x, y) => (x !== y ? 1 : 0) },
  '<': { precedence: 4, apply: (x, y) => (x < y ? 1 : 0) },
  '>': { precedence: 4, apply: (x, y) => (x > y ? 1 : 0) },
  '<=': { precedence: 4, apply: (x, y) => (x <= y ? 1 : 0) },
  '>=': { precedence: 4, apply: (x, y) => (x >= y ? 1 : 0) },
  '+': { precedence: 5, apply: (x, y) => x + y },
  '-': { precedence: 5, apply: (x, y) => x - y },
  '*': { precedence: 6, apply: (x, y) => x * y },
  // Division by zero drops the datapoint.
  '/': { precedence: 6, apply: (x, y) => (y === 0 ? undefined : x / y) },
  '^': { precedence: 7, apply: (x, y) => x ** y },
};

/** Evaluates a metric-math expression of the subset BodyScript's alarms and dashboards use. */
export function evaluateExpression(expression: string, context: MathContext): Value {
  const tokens = tokenize(expression);
  let position = 0;
  const peek = () => tokens[position];
  const expect = (value: string) => {
    const token = tokens[position++];
    if (!token || token.value !== value) throw new Error(`cloudwatch-model: expected '${value}' in '${expression}'`);
  };
  const operatorOf = (token: Token | undefined) => (token && (token.kind === 'op' || token.kind === 'id') && OPERATORS[token.value] ? token.value : undefined);

  const parseArguments = (): Value[][] | Value[] => {
    expect('(');
    const args: Value[] = [];
    if (peek()?.value !== ')') {
      for (;;) {
        args.push(parseBinary(0));
        if (peek()?.value === ',') position++;
        else break;
      }
    }
    expect(')');
    return args;
  };

  const callFunction = (name: string): Value => {
    if (name === 'IF') {
      const [condition, whenTrue, whenFalse] = parseArguments() as Value[];
      if (!isSeries(condition)) return condition !== 0 ? whenTrue : whenFalse;
      const out: Series = new Map();
      for (const [t, c] of condition) {
        if (c !== 0) out.set(t, isSeries(whenTrue) ? (whenTrue.get(t) ?? 0) : whenTrue);
        else if (whenFalse === undefined) continue;
        else if (!isSeries(whenFalse)) out.set(t, whenFalse);
        else if (whenFalse.has(t)) out.set(t, whenFalse.get(t)!);
      }
      return out;
    }
    if (name === 'FILL') {
      const [series, filler] = parseArguments() as Value[];
      if (!isSeries(series) || isSeries(filler)) throw new Error('cloudwatch-model: FILL(series, scalar) only');
      return new Map(context.range.map((t) => [t, series.get(t) ?? filler]));
    }
    if (name === 'MAX' || name === 'MIN' || name === 'SUM') {
      expect('(');
      expect('[');
      const items: Value[] = [];
      for (;;) {
        items.push(parseBinary(0));
        if (peek()?.value === ',') position++;
        else break;
      }
      expect(']');
      expect(')');
      const out: Series = new Map();
      const keys = new Set<number>(items.flatMap((i) => (isSeries(i) ? [...i.keys()] : [])));
      for (const t of [...keys].sort((a, b) => a - b)) {
        const values = items.flatMap((i) => (isSeries(i) ? (i.has(t) ? [i.get(t)!] : []) : [i]));
        out.set(t, name === 'MAX' ? Math.max(...values) : name === 'MIN' ? Math.min(...values) : values.reduce((a, b) => a + b, 0));
      }
      return out;
    }
    throw new Error(`cloudwatch-model: function ${name} is not modelled`);
  };

  const parsePrimary = (): Value => {
    const token = tokens[position++];
    if (!token) throw new Error(`cloudwatch-model: unexpected end of '${expression}'`);
    if (token.kind === 'num') return token.value;
    if (token.kind === 'op' && token.value === '(') {
      const value = parseBinary(0);
      expect(')');
      return value;
    }
    if (token.kind === 'op' && token.value === '-') return binary(parsePrimary(), -1, (x, y) => x * y);
    if (token.kind === 'id') {
      if (peek()?.value === '(') return callFunction(token.value);
      const series = context.series[token.value];
      if (!series) throw new Error(`cloudwatch-model: unknown id '${token.value}' in '${expression}'`);
      return series;
    }
    throw new Error(`cloudwatch-model: unexpected '${token.value}' in '${expression}'`);
  };

  const parseBinary = (minPrecedence: number): Value => {
    let left = parsePrimary();
    for (;;) {
      const op = operatorOf(peek());
      if (!op || OPERATORS[op].precedence < minPrecedence) return left;
      position++;
      const right = parseBinary(OPERATORS[op].precedence + 1);
      left = binary(left, right, OPERATORS[op].apply);
    }
  };

  const result = parseBinary(0);
  if (position !== tokens.length) throw new Error(`cloudwatch-model: trailing input in '${expression}'`);
  return result;
}

/** What an alarm compares, from its CloudFormation properties. */
export interface AlarmRule {
  readonly threshold: number;
  readonly comparisonOperator: ComparisonOperator;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: TreatMissingData;
}

export function breaches(value: number, rule: Pick<AlarmRule, 'threshold' | 'comparisonOperator'>): boolean {
  switch (rule.comparisonOperator) {
    case 'GreaterThanThreshold':
      return value > rule.threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= rule.threshold;
    case 'LessThanThreshold':
      return value < rule.threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= rule.threshold;
  }
}

/** How many datapoints CloudWatch retrieves for an alarm: more than its evaluation periods (the documentation's example retrieves 5 for 3). */
export function evaluationRange(evaluationPeriods: number): number {
  return evaluationPeriods + 2;
}

/**
 * The state an alarm moves to, given the datapoints of its evaluation range
 * (oldest first; `undefined` for a missing one) and its current state.
 */
export function evaluateAlarm(points: readonly (number | undefined)[], rule: AlarmRule, current: AlarmState): AlarmState {
  const existing = points.filter((p): p is number => p !== undefined);
  const N = rule.evaluationPeriods;
  const M = rule.datapointsToAlarm;
  if (existing.length >= N) {
    const recent = existing.slice(-N);
    return recent.filter((p) => breaches(p, rule)).length >= M ? 'ALARM' : 'OK';
  }
  const breachingReal = existing.filter((p) => breaches(p, rule)).length;
  const toFill = N - existing.length;
  switch (rule.treatMissingData) {
    case 'breaching':
      return breachingReal + toFill >= M ? 'ALARM' : 'OK';
    case 'notBreaching':
      return breachingReal >= M ? 'ALARM' : 'OK';
    case 'ignore':
    case 'missing':
      if (existing.length === 0) return rule.treatMissingData === 'ignore' ? current : 'INSUFFICIENT_DATA';
      if (breachingReal >= M) return 'ALARM';
      if (existing.length > breachingReal) return 'OK';
      return rule.treatMissingData === 'ignore' ? current : 'INSUFFICIENT_DATA';
  }
}

/** A statistic of raw samples, as CloudWatch computes it (percentiles: nearest rank). */
export function statistic(samples: readonly number[], stat: string): number | undefined {
  if (samples.length === 0) return undefined;
  switch (stat) {
    case 'Sum':
      return samples.reduce((a, b) => a + b, 0);
    case 'Average':
      return samples.reduce((a, b) => a + b, 0) / samples.length;
    case 'Minimum':
      return Math.min(...samples);
    case 'Maximum':
      return Math.max(...samples);
    case 'SampleCount':
      return samples.length;
  }
  // Percentile rank PR(n:m): the percentage of samples above n (exclusive) and at most m (inclusive); either bound may be left out
  // (CloudWatch statistics definitions: "PR(:300) returns the percentage of data points that have a value of 300 or less").
  const rank = /^PR\((\d*(?:\.\d+)?):(\d*(?:\.\d+)?)\)$/.exec(stat);
  if (rank) {
    const lower = rank[1] === '' ? -Infinity : Number(rank[1]);
    const upper = rank[2] === '' ? Infinity : Number(rank[2]);
    return (100 * samples.filter((v) => v > lower && v <= upper).length) / samples.length;
  }
  const percentile = /^p(\d+(?:\.\d+)?)$/.exec(stat);
  if (percentile) {
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((Number(percentile[1]) / 100) * sorted.length) - 1)];
  }
  throw new Error(`cloudwatch-model: statistic ${stat} is not modelled`);
}
