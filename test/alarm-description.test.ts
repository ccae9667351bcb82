import { TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { describeAlarm, insufficientDataMeaning, MAX_ALARM_DESCRIPTION_LENGTH, missingData, statedMissingData } from '../lib/alarm-description';

describe('alarm descriptions', () => {
  const md = missingData(TreatMissingData.IGNORE, 'SQS stops publishing for a sleeping queue.');

  test('state what happened, what to do, what missing data means and the runbook, in that order, and read back', () => {
    const description = describeAlarm({ what: 'A video failed three times.', action: 'Redrive it.', missingData: md, runbook: 'runbooks/alarms.md' });
    expect(description).toBe('A video failed three times. Redrive it. Missing data (ignore): SQS stops publishing for a sleeping queue. Runbook: runbooks/alarms.md');
    expect(statedMissingData(description)).toEqual({ treatment: 'ignore', reason: 'SQS stops publishing for a sleeping queue.' });
    expect(statedMissingData('Something happened. Runbook: runbooks/alarms.md')).toBeUndefined();
  });

  test.each([
    [() => missingData(TreatMissingData.BREACHING, 'no full stop'), /must be a sentence ending with a full stop/],
    [() => missingData(TreatMissingData.BREACHING, 'Runbook: x.'), /must not contain 'Runbook:'/],
    [() => describeAlarm({ what: 'lower case.', action: 'Do.', missingData: md, runbook: 'runbooks/a.md' }), /'what' must be sentences starting with a capital letter/],
    [() => describeAlarm({ what: 'What.', action: 'Do.', missingData: md, runbook: 'docs/a.md' }), /runbook must be a path like runbooks\/alarms.md/],
    [() => describeAlarm({ what: `${'A'.repeat(MAX_ALARM_DESCRIPTION_LENGTH)}.`, action: 'Do.', missingData: md, runbook: 'runbooks/a.md' }), /CloudWatch accepts at most 1024/],
  ])('refuse what CloudWatch or a paged person could not use (%#)', (build, error) => {
    expect(build).toThrow(error);
  });
});

describe('insufficientDataMeaning (what ops verify makes of INSUFFICIENT_DATA)', () => {
  test.each([
    ['ignore', 'quiet'],
    ['notBreaching', 'quiet'],
    ['breaching', 'not-evaluated-yet'],
    ['missing', 'data-expected'],
    [undefined, 'data-expected'],
  ])('%s → %s', (treatment, meaning) => {
    expect(insufficientDataMeaning(treatment)).toBe(meaning);
  });

  test('takes a TreatMissingData it does not know as data expected, never as quiet (a gate never passes on what it cannot read)', () => {
    expect(insufficientDataMeaning('sometimes')).toBe('data-expected');
  });
});
