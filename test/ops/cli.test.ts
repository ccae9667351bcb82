import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { ConfigError, loadConfig } from '../../lib/config';
import { parseArgs, runCli, USAGE } from '../../lib/ops/cli';
import { ExitCode } from '../../lib/ops/exit-codes';
import { awsError, captureOutput, FAST_RETRY, fakeClock, mockedClients } from './helpers';

function cli() {
  const { clients, mocks } = mockedClients();
  const out = captureOutput();
  const created: string[] = [];
  const deps = {
    out,
    clock: fakeClock(),
    retry: FAST_RETRY,
    createClients: (config: { name: string }) => {
      created.push(config.name);
      return clients;
    },
  };
  return { deps, mocks, out, created };
}

describe('ops argument parsing', () => {
  test('parses every command with defaults', () => {
    expect(parseArgs(['verify', '--env', 'staging'])).toEqual({ name: 'verify', env: 'staging', timeoutMinutes: 10 });
    expect(parseArgs(['verify', '--env=production', '--timeout-minutes', '0'])).toEqual({ name: 'verify', env: 'production', timeoutMinutes: 0 });
    expect(parseArgs(['rollback', '--env', 'staging', '--service', 'processing'])).toEqual({ name: 'rollback', env: 'staging', services: ['processing'], execute: false, timeoutMinutes: 15 });
    expect(parseArgs(['rollback', '--env', 'production', '--service', 'all', '--execute'])).toEqual({ name: 'rollback', env: 'production', services: ['api', 'processing'], execute: true, timeoutMinutes: 15 });
    expect(parseArgs(['plan', '--env', 'production'])).toEqual({ name: 'plan', env: 'production', verifyTimeoutMinutes: 10 });
    expect(parseArgs(['snapshot', '--env', 'production', '--release', 'v1.2.3', '--execute'])).toMatchObject({ name: 'snapshot', release: 'v1.2.3', execute: true });
    expect(parseArgs(['dr', 'status', '--env', 'staging'])).toEqual({ name: 'dr status', env: 'staging' });
    expect(parseArgs(['dr', 'failover', '--env', 'staging', '--execute', '--confirm', 'staging'])).toEqual({
      name: 'dr failover',
      env: 'staging',
      execute: true,
      confirm: 'staging',
      reportDir: 'reports',
      drill: false,
    });
    expect(parseArgs(['dr', 'failover', '--env', 'staging', '--report-dir', '/tmp/r'])).toMatchObject({ execute: false, reportDir: '/tmp/r' });
    expect(parseArgs(['dr', 'failover', '--env', 'staging', '--execute', '--confirm', 'staging', '--drill'])).toMatchObject({ drill: true, timeoutMinutes: undefined });
    expect(parseArgs(['dr', 'failover', '--env', 'staging', '--execute', '--confirm', 'staging', '--timeout-minutes', '50'])).toMatchObject({ timeoutMinutes: 50 });
    expect(() => parseArgs(['dr', 'failover', '--env', 'staging', '--timeout-minutes', '5'])).toThrow("--timeout-minutes must be an integer 10–600, got '5'");
    expect(parseArgs(['dr', 'failback', '--env', 'production'])).toEqual({ name: 'dr failback', env: 'production', execute: false, confirm: undefined, moveTraffic: false });
    expect(parseArgs(['dr', 'failback', '--env', 'production', '--execute', '--confirm', 'production'])).toEqual({ name: 'dr failback', env: 'production', execute: true, confirm: 'production', moveTraffic: false });
    expect(parseArgs(['dr', 'failback', '--env', 'production', '--move-traffic', '--execute', '--confirm', 'production'])).toEqual({
      name: 'dr failback',
      env: 'production',
      execute: true,
      confirm: 'production',
      moveTraffic: true,
    });
    expect(parseArgs(['delivery', '--env', 'production', '--execute'])).toEqual({ name: 'delivery', env: 'production', execute: true });
    expect(parseArgs(['preflight', '--env', 'staging'])).toEqual({ name: 'preflight', env: 'staging', assemblyDir: 'cdk.out', expectDeployed: undefined, githubProfile: undefined });
    expect(parseArgs(['preflight', '--env', 'production', '--assembly', 'out', '--expect-deployed', 'all', '--github-profile', 'gh'])).toEqual({
      name: 'preflight',
      env: 'production',
      assemblyDir: 'out',
      expectDeployed: 'all',
      githubProfile: 'gh',
    });
    expect(parseArgs(['--help'])).toEqual({ name: 'help' });
  });

  test.each([
    [['verify'], '--env is required: one of staging, production'],
    [['verify', '--env', 'prod'], "--env must be one of staging, production, got 'prod'"],
    [['verify', '--env'], '--env needs a value: one of staging, production'],
    [['verify', '--env', 'staging', '--timeout-minutes', 'ten'], "--timeout-minutes must be an integer 0–180, got 'ten'"],
    [['verify', '--env', 'staging', '--timeout-minutes', '500'], "--timeout-minutes must be an integer 0–180, got '500'"],
    [['verify', '--env', 'staging', '--execute'], "unknown flag --execute for 'verify'; allowed flags: --env, --timeout-minutes"],
    [['verify', '--env', 'staging', '--env', 'production'], '--env is given more than once'],
    [['rollback', '--env', 'staging'], '--service is required: one of api, processing, all'],
    [['rollback', '--env', 'staging', '--service', 'frontend'], "--service must be one of api, processing, all, got 'frontend'"],
    [['snapshot', '--env', 'staging'], '--release is required: the release being deployed, e.g. --release v1.2.3'],
    [['snapshot', '--env', 'staging', '--release', '...'], "--release must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got '...'"],
    [['snapshot', '--env', 'staging', '--release', 'V1.0'], "--release must be lower case (RDS stores snapshot identifiers in lower case, so 'V1.0' and 'v1.0' would be one snapshot), got 'V1.0'"],
    [['dr', 'failover', '--env', 'staging', '--execute=yes'], "--execute takes no value, got 'yes'"],
    [['dr'], "'dr' needs a subcommand: one of status, failover, failback, deploy-check"],
    [['dr', 'promote', '--env', 'staging'], "'dr' needs a subcommand: one of status, failover, failback, deploy-check, got 'promote'"],
    [['deploy', '--env', 'staging'], "unknown command 'deploy': one of plan, preflight, verify, rollback, snapshot, task-definitions, delivery, slo, dr status, dr failover, dr failback, dr deploy-check, help"],
    [['preflight', '--env', 'staging', '--expect-deployed', 'yes'], "--expect-deployed must be one of environment, all, got 'yes'"],
    [['preflight', '--env', 'staging', '--expect-deployed'], '--expect-deployed needs a value: one of environment, all'],
    [['preflight', '--env', 'staging', '--execute'], "unknown flag --execute for 'preflight'; allowed flags: --env, --assembly, --expect-deployed, --github-profile"],
    [['verify', 'staging'], "unexpected argument 'staging' for 'verify'; allowed flags: --env, --timeout-minutes"],
  ])('%j → %s', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
    try {
      parseArgs(argv);
    } catch (error) {
      expect(error).toMatchObject({ kind: 'usage', exitCode: ExitCode.USAGE });
    }
  });
});

describe('ops runCli', () => {
  test('bad arguments: one error line, exit 2, no client created', async () => {
    const { deps, out, created } = cli();
    expect(await runCli(['rollback', '--env', 'staging', '--service', 'web'], deps)).toBe(ExitCode.USAGE);
    expect(out.errors[0]).toBe("error: --service must be one of api, processing, all, got 'web'");
    expect(created).toEqual([]);
  });

  test('unknown command prints the usage with exit 2; help prints it with exit 0', async () => {
    const a = cli();
    expect(await runCli(['frobnicate'], a.deps)).toBe(ExitCode.USAGE);
    expect(a.out.errors).toContain(USAGE);
    const b = cli();
    expect(await runCli(['help'], b.deps)).toBe(ExitCode.OK);
    expect(b.out.lines).toEqual([USAGE]);
  });

  test('dr failover with a mismatched --confirm: clear error, exit 2, no AWS call', async () => {
    const { deps, mocks, out } = cli();
    const code = await runCli(['dr', 'failover', '--env', 'production', '--execute', '--confirm', 'staging'], deps);
    expect(code).toBe(ExitCode.USAGE);
    expect(out.errors[0]).toBe("error: --confirm 'staging' does not match --env 'production': type the environment name again to fail over; nothing was done");
    expect(mocks.sts.calls()).toHaveLength(0);
    expect(mocks.standby.rds.calls()).toHaveLength(0);
  });

  test('missing credentials: exit 4 with "no AWS credentials found", never success', async () => {
    const { deps, mocks, out } = cli();
    mocks.sts.on(GetCallerIdentityCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers'));
    const code = await runCli(['verify', '--env', 'staging'], deps);
    expect(code).toBe(ExitCode.AWS_ERROR);
    expect(out.errors[0]).toMatch(/^error: no AWS credentials found/);
    expect(out.errors[1]).toBe('stopped: no further step was taken.');
    expect(mocks.primary.cloudWatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(0);
  });

  test('an invalid configuration: every problem printed, exit 2', async () => {
    const { deps, out } = cli();
    const code = await runCli(['verify', '--env', 'staging'], {
      ...deps,
      loadConfig: () => {
        throw new ConfigError(['staging.primary.account: must be a 12-digit AWS account id, got nothing']);
      },
    });
    expect(code).toBe(ExitCode.USAGE);
    expect(out.errors).toEqual(['error: the configuration is invalid:', '  staging.primary.account: must be a 12-digit AWS account id, got nothing']);
  });

  test('the clients are built for the configuration of the chosen environment', async () => {
    const { deps, created } = cli();
    expect(await runCli(['dr', 'failback', '--env', 'production'], { ...deps, loadConfig: () => loadConfig() })).toBe(ExitCode.OK);
    expect(created).toEqual(['production']);
  });

  test('delivery outside a GitHub Actions run (no GITHUB_TOKEN): exit 2 naming the variable, no AWS call, nothing fetched', async () => {
    const { deps, mocks, out } = cli();
    const fetched: string[] = [];
    const code = await runCli(['delivery', '--env', 'staging', '--execute'], {
      ...deps,
      environment: { GITHUB_REPOSITORY: 'bodyscript/infrastructure', GITHUB_RUN_ID: '42' },
      fetch: async (url) => {
        fetched.push(url);
        throw new Error('no call expected');
      },
    });
    expect(code).toBe(ExitCode.USAGE);
    expect(out.errors[0]).toBe('error: GITHUB_TOKEN must be set (the job needs permissions: actions: read) to read the run from the GitHub API');
    expect(fetched).toEqual([]);
    expect(mocks.sts.calls()).toHaveLength(0);
    expect(mocks.primary.cloudWatch.calls()).toHaveLength(0);
  });

  test('an unexpected (non-AWS) failure is exit 1, not success', async () => {
    const { deps, out } = cli();
    const code = await runCli(['verify', '--env', 'staging'], {
      ...deps,
      createClients: () => {
        throw new Error('boom');
      },
    });
    expect(code).toBe(ExitCode.UNHEALTHY);
    expect(out.errors[0]).toMatch(/^unexpected error: Error: boom/);
  });
});
