import { TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';

/**
 * What an alarm makes of a period without data, and why. DESIGN.md: "Every
 * alarm says what missing data means for it". The choice is stated twice in
 * every alarm: as TreatMissingData (what CloudWatch does) and as a sentence in
 * its description (why, for the person paged and for `ops verify`), and
 * test/alarm-contract.test.ts checks that both exist and agree on every alarm
 * of every template.
 */
export interface MissingData {
  /** What CloudWatch does with a period that has no datapoint. */
  readonly treatment: TreatMissingData;
  /** Why, as one sentence ending with a full stop: what silence means for this metric. */
  readonly reason: string;
}

/** States an alarm's missing-data choice with its reason. */
export function missingData(treatment: TreatMissingData, reason: string): MissingData {
  if (!reason.trim() || !/[.!]$/.test(reason.trim())) {
    throw new Error(`missingData(${treatment}): the reason must be a sentence ending with a full stop, got '${reason}'`);
  }
  if (reason.includes('Runbook:') || reason.includes('Missing data (')) {
    throw new Error(`missingData(${treatment}): the reason must not contain 'Runbook:' or 'Missing data (', got '${reason}'`);
  }
  return { treatment, reason: reason.trim() };
}

/** CloudWatch refuses an AlarmDescription longer than this (PutMetricAlarm). */
export const MAX_ALARM_DESCRIPTION_LENGTH = 1024;

/** The parts of every BodyScript alarm description, in the order a paged person reads them. */
export interface AlarmDescriptionParts {
  /** What happened, as sentences. */
  readonly what: string;
  /** What to do first, as sentences. */
  readonly action: string;
  /** What missing data means for this alarm. */
  readonly missingData: MissingData;
  /** The runbook to open, e.g. `runbooks/alarms.md` (a path of this repository). */
  readonly runbook: string;
}

/**
 * `<what> <action> Missing data (<treatment>): <reason> Runbook: <runbook>`:
 * the one format of every alarm description, readable by people and parsed by
 * `statedMissingData()`.
 */
export function describeAlarm(parts: AlarmDescriptionParts): string {
  for (const [field, text] of [['what', parts.what], ['action', parts.action]] as const) {
    if (!/^[A-Z].*[.!]$/s.test(text.trim())) throw new Error(`describeAlarm: '${field}' must be sentences starting with a capital letter and ending with a full stop, got '${text}'`);
  }
  if (!/^runbooks\/[\w./-]+\.md$/.test(parts.runbook)) throw new Error(`describeAlarm: runbook must be a path like runbooks/alarms.md, got '${parts.runbook}'`);
  const description = `${parts.what.trim()} ${parts.action.trim()} Missing data (${parts.missingData.treatment}): ${parts.missingData.reason} Runbook: ${parts.runbook}`;
  if (description.length > MAX_ALARM_DESCRIPTION_LENGTH) {
    throw new Error(`describeAlarm: the description is ${description.length} characters, CloudWatch accepts at most ${MAX_ALARM_DESCRIPTION_LENGTH}: shorten it ('${description.slice(0, 80)}…')`);
  }
  return description;
}

const TREATMENTS: readonly string[] = Object.values(TreatMissingData);
const STATED = /Missing data \((breaching|notBreaching|ignore|missing)\): (.+?[.!]) Runbook: /s;

/** The missing-data choice a description states, or undefined when it states none. */
export function statedMissingData(description: string): { readonly treatment: string; readonly reason: string } | undefined {
  const match = STATED.exec(description);
  return match ? { treatment: match[1], reason: match[2] } : undefined;
}

/**
 * What an alarm in INSUFFICIENT_DATA means, from its TreatMissingData (as
 * DescribeAlarms returns it; absent means CloudWatch's default, `missing`).
 * From CloudWatch's evaluation rules (AlarmThatSendsEmail, "How alarm state is
 * evaluated when data is missing"): when every datapoint of the evaluation
 * range is missing, `notBreaching` goes to OK, `breaching` to ALARM, `ignore`
 * keeps the current state and `missing` goes to INSUFFICIENT_DATA.
 *
 * - `quiet`: `ignore` (never had data since it was created: a dead-letter queue
 *   SQS has put to sleep, replication with nothing to replicate) or
 *   `notBreaching` (created a moment ago; silence is OK for it anyway): no data
 *   yet, and none expected while healthy. Healthy.
 * - `not-evaluated-yet`: `breaching` leaves INSUFFICIENT_DATA for ALARM at its
 *   first evaluation, a minute or two after the alarm was created. Wait.
 * - `data-expected`: `missing` (or no TreatMissingData at all): the metric the
 *   alarm needs does not exist, which BodyScript only chooses where data must
 *   always exist. A fault once the alarm is older than a few periods.
 *
 * A treatment this table does not know (DescribeAlarms answering a value
 * CloudWatch added later) is never taken as quiet: `data-expected`, so a
 * gate that cannot read it waits and then fails rather than passing.
 *
 * `ops verify` uses this table (lib/ops/commands/verify.ts re-exports it).
 */
export function insufficientDataMeaning(treatMissingData: string | undefined): 'quiet' | 'not-evaluated-yet' | 'data-expected' {
  const treatment = treatMissingData ?? TreatMissingData.MISSING;
  if (!TREATMENTS.includes(treatment)) return 'data-expected';
  if (treatment === TreatMissingData.IGNORE || treatment === TreatMissingData.NOT_BREACHING) return 'quiet';
  if (treatment === TreatMissingData.MISSING) return 'data-expected';
  return 'not-evaluated-yet';
}
