import { backoffDelay, withRetry } from '../../lib/ops/retry';
import { type CredentialEnvironment, describeCredentialSource, isNotFound, isThrottling, OpsError, parseSharedIni, toOpsError } from '../../lib/ops/aws-errors';
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
    const e = toOpsError(awsError(name), CALL, machine({}));
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

/** A machine with these variables and these files under /home/op (nothing is read from the real one). */
function machine(env: Record<string, string>, files: Record<string, string> = {}): CredentialEnvironment {
  return { env, readFile: (file) => files[file], homeDir: '/home/op' };
}

const CONFIG = `
[default]
region = us-east-1

[profile bodyscript-staging]
sso_session = bodyscript
sso_account_id = 111111111111
sso_role_name = Operator
  # an indented comment of a sub-section is ignored
[profile bodyscript-production]
sso_session = bodyscript
sso_account_id = 222222222222

[profile legacy-sso]
sso_start_url = https://bodyscript.awsapps.com/start

[profile break-glass]
role_arn = arn:aws:iam::222222222222:role/BreakGlass
source_profile = personal

[profile vault]
credential_process = aws-vault export --format=json personal

[sso-session bodyscript]
sso_start_url = https://bodyscript.awsapps.com/start
sso_region = us-east-1
`;
const CREDENTIALS = `
[personal]
aws_access_key_id = AKIAEXAMPLEEXAMPLE12
aws_secret_access_key = secret
`;
const FILES = { '/home/op/.aws/config': CONFIG, '/home/op/.aws/credentials': CREDENTIALS };

describe('credentials errors name their source', () => {
  const expired = awsError('CredentialsProviderError', 'Token is expired. To refresh this SSO session run aws sso login with the corresponding profile.');

  // Each row: the machine, and the exact message.
  test.each([
    [
      'a mistyped AWS_PROFILE',
      awsError('CredentialsProviderError', 'Could not resolve credentials using profile: [bodyscript-stagging] in configuration/credentials file(s).'),
      machine({ AWS_PROFILE: 'bodyscript-stagging' }, FILES),
      'no AWS credentials found, or they are expired or invalid (CredentialsProviderError: Could not resolve credentials using profile: [bodyscript-stagging] in configuration/credentials file(s).) ' +
        'while calling ecs:UpdateService on ECS service bodyscript-staging-api (us-west-2). ' +
        "Tried profile 'bodyscript-stagging' (AWS_PROFILE), which is in neither /home/op/.aws/config nor /home/op/.aws/credentials " +
        '(profiles there: bodyscript-production, bodyscript-staging, break-glass, default, legacy-sso, personal, vault). ' +
        'Check the spelling of the profile, or set AWS_PROFILE to one of bodyscript-production, bodyscript-staging, break-glass, default, legacy-sso, personal, vault, for account 111111111111, and run again',
    ],
    [
      'an expired SSO session',
      expired,
      machine({ AWS_PROFILE: 'bodyscript-staging' }, FILES),
      'no AWS credentials found, or they are expired or invalid (CredentialsProviderError: Token is expired. To refresh this SSO session run aws sso login with the corresponding profile.) ' +
        'while calling ecs:UpdateService on ECS service bodyscript-staging-api (us-west-2). ' +
        "Tried profile 'bodyscript-staging' (AWS_PROFILE), which signs in through SSO session 'bodyscript' (start URL https://bodyscript.awsapps.com/start). " +
        "Sign in again with 'aws sso login --sso-session bodyscript', for account 111111111111, and run again",
    ],
  ])('%s', (_what, error, credentials, message) => {
    expect(toOpsError(error, CALL, credentials).message).toBe(message);
  });

  // Each row: the machine, and what was tried / what to do.
  test.each([
    [
      'a profile in a custom AWS_CONFIG_FILE with legacy SSO',
      machine({ AWS_PROFILE: 'legacy-sso', AWS_CONFIG_FILE: '/etc/aws/config' }, { '/etc/aws/config': CONFIG }),
      "profile 'legacy-sso' (AWS_PROFILE), which signs in through SSO at https://bodyscript.awsapps.com/start",
      "Sign in again with 'aws sso login --profile legacy-sso'",
    ],
    [
      'a role profile',
      machine({ AWS_PROFILE: 'break-glass' }, FILES),
      "profile 'break-glass' (AWS_PROFILE), which assumes role arn:aws:iam::222222222222:role/BreakGlass with source profile 'personal'",
      "Check that profile 'personal' has valid credentials and may assume arn:aws:iam::222222222222:role/BreakGlass",
    ],
    [
      'a credential_process profile',
      machine({ AWS_PROFILE: 'vault' }, FILES),
      "profile 'vault' (AWS_PROFILE), whose credential_process is 'aws-vault export --format=json personal'",
      'Run that command by hand to see why it gives no valid credentials',
    ],
    [
      'static keys in the credentials file, with stray variables',
      machine({ AWS_PROFILE: 'personal', AWS_ACCESS_KEY_ID: 'AKIAOTHER' }, FILES),
      "profile 'personal' (AWS_PROFILE), with static keys in /home/op/.aws/credentials; AWS_ACCESS_KEY_ID is set too but AWS_PROFILE takes precedence",
      'Check or rotate those keys',
    ],
    [
      'expired variables from an assumed role',
      machine({ AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEEXAMPLE99', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' }),
      'the variables AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (key ASIA…LE99)',
      'They are temporary credentials of an assumed role and expire (an hour for the pipeline roles): assume the role again (in GitHub Actions, re-run the job)',
    ],
    [
      'a key without its secret',
      machine({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE12' }),
      'the variables AWS_ACCESS_KEY_ID (key AKIA…LE12), without AWS_SECRET_ACCESS_KEY',
      'Set AWS_SECRET_ACCESS_KEY as well, or unset the variables and use AWS_PROFILE',
    ],
    [
      'web identity',
      machine({ AWS_ROLE_ARN: 'arn:aws:iam::111111111111:role/Deploy' }),
      'web identity: the token in AWS_WEB_IDENTITY_TOKEN_FILE (not set) for the role in AWS_ROLE_ARN (arn:aws:iam::111111111111:role/Deploy)',
      'Check that both are set, the token file is fresh and the role trusts this identity provider',
    ],
    [
      'nothing configured at all',
      machine({}),
      'no AWS_PROFILE or AWS_ACCESS_KEY_ID, so the default profile, which is in neither /home/op/.aws/config nor /home/op/.aws/credentials (no profiles there), then the instance metadata service',
      "Create the profile with 'aws configure sso --profile default' (or export AWS_PROFILE=<profile> after 'aws sso login --profile <profile>')",
    ],
    [
      'a default profile with no credentials in it',
      machine({}, FILES),
      'no AWS_PROFILE or AWS_ACCESS_KEY_ID, so the default profile, which has no credential settings, then the instance metadata service',
      "Add sso_session, role_arn or keys to the profile ('aws configure sso --profile default') (or export AWS_PROFILE=<profile> after 'aws sso login --profile <profile>')",
    ],
  ])('%s', (_what, credentials, tried, fix) => {
    expect(describeCredentialSource(credentials)).toEqual({ tried, fix });
  });

  test('the shared config parser reads sections and keys, and skips comments and indented sub-properties', () => {
    const sections = parseSharedIni('# top\n[profile a]\nregion=us-east-1\ns3 =\n  max_concurrent_requests = 20\n; note\n[ sso-session  b ]\nsso_start_url = https://x\n');
    expect(Object.fromEntries(sections)).toEqual({ 'profile a': { region: 'us-east-1', s3: '' }, 'sso-session b': { sso_start_url: 'https://x' } });
  });
});
