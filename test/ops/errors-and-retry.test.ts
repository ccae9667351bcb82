import { backoffDelay, withRetry } from '../../lib/ops/retry';
import { isNotFound, isThrottling, OpsError, toOpsError } from '../../lib/ops/aws-errors';
import { ExitCode } from '../../lib/ops/exit-codes';
import { formatDuration } from '../../lib/ops/progress';
import { awsError, fakeClock } from './helpers';

const CALL = { action: 'ecs:UpdateService', resource: 'ECS service bodyscript-staging-api', region: 'us-west-2', account: '111111111111' };

describe('AWS error translation', () => {
  test.each(['ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'Throttling'])('%s is throttling', (name) => {
    expect(isThrottling(awsError(name))).toBe(true);
  });

  test.each(['DBInstanceNotFound', 'DBInstanceNotFoundFault', 'DeploymentGroupDoesNotExistException', 'ClusterNotFoundException', 'NoSuchBucket', 'ReplicationConfigurationNotFoundError'])(
    '%s is a missing resource',
    (name) => {
      expect(isNotFound(awsError(name))).toBe(true);
      expect(toOpsError(awsError(name), CALL)).toMatchObject({ kind: 'not-found', exitCode: ExitCode.AWS_ERROR });
    },
  );

  test('access denied names the action, the resource, the region and the account to use', () => {
    const e = toOpsError(awsError('AccessDeniedException', 'User: arn:aws:sts::111111111111:assumed-role/ReadOnly/alice is not authorized'), CALL);
    expect(e.kind).toBe('access-denied');
    expect(e.message).toBe(
      'access denied: ecs:UpdateService on ECS service bodyscript-staging-api (us-west-2) was refused for the current credentials ' +
        '(User: arn:aws:sts::111111111111:assumed-role/ReadOnly/alice is not authorized). Use an operator or administrator role of account 111111111111 ' +
        "that allows ecs:UpdateService; check who you are with 'aws sts get-caller-identity'",
    );
  });

  test.each(['CredentialsProviderError', 'ExpiredTokenException', 'InvalidClientTokenId'])('%s is a credentials problem', (name) => {
    const e = toOpsError(awsError(name), CALL);
    expect(e).toMatchObject({ kind: 'credentials', exitCode: ExitCode.AWS_ERROR });
    expect(e.message).toMatch(/^no AWS credentials found, or they are expired or invalid/);
  });

  test('network failures and unknown errors are AWS errors with the code in the message', () => {
    expect(toOpsError(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), CALL).kind).toBe('network');
    const other = toOpsError(awsError('InvalidParameterException', 'desiredCount is invalid'), CALL);
    expect(other).toMatchObject({ kind: 'aws', message: 'ecs:UpdateService on ECS service bodyscript-staging-api (us-west-2) failed: InvalidParameterException: desiredCount is invalid' });
  });

  test('an OpsError passes through unchanged', () => {
    const original = new OpsError('timeout', 'waited too long');
    expect(toOpsError(original, CALL)).toBe(original);
    expect(original.exitCode).toBe(ExitCode.TIMEOUT);
  });
});

describe('retry', () => {
  test('backoff doubles and is capped', () => {
    const options = { maxAttempts: 10, baseDelayMs: 1000, maxDelayMs: 5000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, options))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  test('only throttling is retried; other errors fail on the first attempt', async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw awsError('AccessDenied');
      }, clock),
    ).rejects.toThrow('AccessDenied');
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  test('gives up after maxAttempts with the last throttling error', async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw awsError('RequestLimitExceeded');
        },
        clock,
        { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 },
      ),
    ).rejects.toThrow('RequestLimitExceeded');
    expect(calls).toBe(3);
    expect(clock.sleeps).toEqual([100, 200]);
  });

  test('formatDuration', () => {
    expect(formatDuration(0)).toBe('00m00s');
    expect(formatDuration(83_000)).toBe('01m23s');
    expect(formatDuration(3_723_000)).toBe('1h02m03s');
  });
});
