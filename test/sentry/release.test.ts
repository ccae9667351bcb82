import { type BodyScriptConfig, ConfigError, loadConfig } from '../../lib/config';
import {
  EXIT_OK,
  EXIT_SENTRY_FAILED,
  EXIT_USAGE,
  USAGE,
  MAX_STARTED_AGE_DAYS,
  parseReleaseArgs,
  parseStarted,
  type ReleaseDependencies,
  runSentryRelease,
  type SentryCliLike,
  type SentryTarget,
  versionProblem,
} from '../../lib/sentry/release';

interface Call {
  readonly method: string;
  readonly args: unknown[];
}

/** A stand-in for SentryCli that records every call and can fail one method. */
function fakeCli(failOn?: { method: string; error: Error }) {
  const calls: Call[] = [];
  const targets: SentryTarget[] = [];
  const record =
    (method: string) =>
    async (...args: unknown[]): Promise<string> => {
      calls.push({ method, args });
      if (failOn?.method === method) throw failOn.error;
      return '';
    };
  const cli: SentryCliLike = {
    releases: {
      new: record('new'),
      setCommits: record('setCommits'),
      finalize: record('finalize'),
      newDeploy: record('newDeploy'),
    },
  };
  return { calls, targets, createCli: (target: SentryTarget) => (targets.push(target), cli) };
}

function run(argv: string[], options: { env?: NodeJS.ProcessEnv; failOn?: { method: string; error: Error }; config?: () => BodyScriptConfig } = {}) {
  const fake = fakeCli(options.failOn);
  const out: string[] = [];
  const err: string[] = [];
  const deps: ReleaseDependencies = {
    environment: options.env ?? { SENTRY_AUTH_TOKEN: 'sntrys_test' },
    loadConfig: options.config ?? (() => loadConfig()),
    createCli: fake.createCli,
    log: (line) => out.push(line),
    error: (line) => err.push(line),
    now: () => NOW,
  };
  return runSentryRelease(argv, deps).then((code) => ({ code, out: out.join('\n'), err: err.join('\n'), ...fake }));
}

const config = loadConfig();

/** The injected clock of every test: 2025-01-02T03:04:05Z is unix second 1735787045. */
const NOW = new Date('2025-01-02T03:04:05.000Z');
const NOW_SECONDS = 1735787045;

describe('sentry-release happy path', () => {
  test('creates, associates commits, finalizes and deploys, in that order, with the org and project of the environment', async () => {
    const result = await run(['--env', 'production', '--version', '1.4.2', '--url', 'https://app.example.com']);
    expect(result.code).toBe(EXIT_OK);
    expect(result.targets).toEqual([
      { authToken: 'sntrys_test', org: config.environments.production.sentry.org, project: config.environments.production.sentry.project },
    ]);
    expect(result.calls).toEqual([
      { method: 'new', args: ['1.4.2', { projects: [config.environments.production.sentry.project] }] },
      { method: 'setCommits', args: ['1.4.2', { auto: true }] },
      { method: 'finalize', args: ['1.4.2'] },
      {
        method: 'newDeploy',
        args: ['1.4.2', { env: 'production', finished: '2025-01-02T03:04:05.000Z', name: '1.4.2 to production', url: 'https://app.example.com' }],
      },
    ]);
    expect(result.out).toContain('Release 1.4.2 recorded and deployed to production.');
    expect(result.err).toBe('');
  });

  test('associates an explicit commit, taking the repository from GITHUB_REPOSITORY when --repo is absent', async () => {
    const sha = 'a'.repeat(40);
    const result = await run(['--env', 'staging', '--version', sha, '--commit', sha, '--started', '1735787045'], {
      env: { SENTRY_AUTH_TOKEN: 't', GITHUB_REPOSITORY: 'bodyscript/infrastructure' },
    });
    expect(result.code).toBe(EXIT_OK);
    expect(result.calls.map((c) => c.method)).toEqual(['new', 'setCommits', 'finalize', 'newDeploy']);
    expect(result.calls[1].args).toEqual([sha, { repo: 'bodyscript/infrastructure', commit: sha }]);
    expect(result.calls[3].args[1]).toMatchObject({ env: 'staging', started: 1735787045 });
  });

  test('an ISO 8601 start with a time zone is recorded as unix seconds', async () => {
    const result = await run(['--env', 'staging', '--version', '1.0.0', '--started', '2025-01-02T04:00:00+01:00']);
    expect(result.code).toBe(EXIT_OK);
    expect(result.calls[3].args[1]).toMatchObject({ started: NOW_SECONDS - 245 });
  });

  test('--started is accepted from exactly now back to exactly seven days before it', () => {
    expect(parseStarted(String(NOW_SECONDS), NOW)).toBe(NOW_SECONDS);
    expect(parseStarted(String(NOW_SECONDS - MAX_STARTED_AGE_DAYS * 86_400), NOW)).toBe(NOW_SECONDS - 604_800);
    expect(() => parseStarted(String(NOW_SECONDS - MAX_STARTED_AGE_DAYS * 86_400 - 1), NOW)).toThrow('--started must be at most 7 days before now');
    expect(() => parseStarted(String(NOW_SECONDS + 1), NOW)).toThrow('--started must not be after now');
  });

  test('--repo overrides GITHUB_REPOSITORY', () => {
    const args = parseReleaseArgs(['--env', 'staging', '--version', '1.0.0', '--commit', 'abc1234', '--repo', 'org/other'], { GITHUB_REPOSITORY: 'org/default' }, NOW);
    expect(args.repo).toBe('org/other');
  });
});

describe('sentry-release refuses before calling Sentry', () => {
  test('without SENTRY_AUTH_TOKEN it names the variable, where to create a token and the scopes, and calls nothing', async () => {
    const result = await run(['--env', 'staging', '--version', '1.0.0'], { env: {} });
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.err).toContain('SENTRY_AUTH_TOKEN is not set');
    expect(result.err).toContain(`https://sentry.io/settings/${config.environments.staging.sentry.org}/auth-tokens/`);
    expect(result.err).toContain('project:releases');
    expect(result.err).toContain('org:read');
    expect(result.targets).toHaveLength(0);
    expect(result.calls).toHaveLength(0);
  });

  test('a blank token counts as missing', async () => {
    const result = await run(['--env', 'staging', '--version', '1.0.0'], { env: { SENTRY_AUTH_TOKEN: '  ' } });
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.calls).toHaveLength(0);
  });

  test.each([
    [['--version', '1.0.0'], '--env is required: one of staging, production'],
    [['--env', 'prod', '--version', '1.0.0'], "--env must be one of staging, production, got 'prod'"],
    [['--env', 'staging'], '--version is required: the release name the tasks report as SENTRY_RELEASE (e.g. 1.4.2 or a git sha)'],
    [['--env', 'staging', '--version', 'feature/x'], "--version must not contain slashes, backslashes, tabs or newlines, got 'feature/x'"],
    [['--env', 'staging', '--version', 'latest'], "--version must not be 'latest' (reserved by Sentry), got 'latest'"],
    [['--env', 'staging', '--version', ''], "--version must not be empty, got ''"],
    [['--env', 'staging', '--version', '1.0.0', '--commit', 'not-a-sha', '--repo', 'a/b'], "--commit must be a git commit sha (7 to 40 hex characters), got 'not-a-sha'"],
    [['--env', 'staging', '--version', '1.0.0', '--commit', 'abc1234'], '--commit needs --repo owner/name (the repository as named in Sentry), or GITHUB_REPOSITORY in the environment'],
    [['--env', 'staging', '--version', '1.0.0', '--repo', 'a/b'], '--repo is only used with --commit <sha>; without --commit Sentry associates commits automatically'],
    [['--env', 'staging', '--version', '1.0.0', '--url', 'ftp://x'], "--url must be an http(s) URL, got 'ftp://x'"],
    [
      ['--env', 'staging', '--version', '1.0.0', '--started', 'yesterday'],
      "--started must be the deploy's start as unix seconds (e.g. 1735787045) or an ISO 8601 time with a time zone (e.g. 2025-01-02T03:04:05Z), at most 7 days before now and not after now, got 'yesterday'",
    ],
    [
      ['--env', 'staging', '--version', '1.0.0', '--started', '1735787045000'],
      "--started must be unix seconds, not milliseconds: drop the last three digits (e.g. 1735787045), got '1735787045000'",
    ],
    [
      ['--env', 'staging', '--version', '1.0.0', '--started', '1735790645'],
      '--started must not be after now (1735787045 (2025-01-02T03:04:05Z)): a deploy cannot start after it finished, got 1735790645 (2025-01-02T04:04:05Z)',
    ],
    [
      ['--env', 'staging', '--version', '1.0.0', '--started', '2024-12-01T00:00:00Z'],
      '--started must be at most 7 days before now (1735787045 (2025-01-02T03:04:05Z)), got 1733011200 (2024-12-01T00:00:00Z)',
    ],
    [
      ['--env', 'staging', '--version', '1.0.0', '--started', '2025-01-02T03:00:00'],
      "--started must be the deploy's start as unix seconds (e.g. 1735787045) or an ISO 8601 time with a time zone (e.g. 2025-01-02T03:04:05Z), at most 7 days before now and not after now, got '2025-01-02T03:00:00'",
    ],
    [
      ['--env', 'staging', '--version', '1.0.0', '--commit', 'abc1234', '--repo', 'bodyscript/infra.git'],
      "--repo name must be the name without the '.git' clone suffix (the OIDC token names the repository 'infra'), got 'bodyscript/infra.git'",
    ],
    [['--env', 'staging', '--version', '1.0.0', '--commit', 'abc1234', '--repo', 'bodyscript/..'], "--repo name must be a GitHub repository name: 1–100 letters, digits, '.', '_' or '-', not '.' or '..', got 'bodyscript/..'"],
    [
      ['--env', 'staging', '--version', '1.0.0', '--commit', 'abc1234', '--repo=-bodyscript/infra'],
      "--repo owner must be a GitHub organisation or user name: 1–39 letters, digits or single hyphens, not starting or ending with a hyphen, got '-bodyscript/infra'",
    ],
    [['--env', 'staging', '--version', '1.0.0', '--commit', 'abc1234', '--repo', 'a/b/c'], "--repo must be owner/name as GitHub names the repository, got 'a/b/c'"],
    [['--env', 'staging', '--version', '1.0.0', '--force'], `Unknown option '--force'; ${USAGE}`],
    [['--env', 'staging', '--version'], `--version needs a value (write --version=<value> for a value that starts with '-'); ${USAGE}`],
    [['--env', 'staging', '--version', '1.0.0', '--started', '--url', 'https://x.example'], `--started needs a value (write --started=<value> for a value that starts with '-'); ${USAGE}`],
  ])('%j → exit 2: %s', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.err).toBe(message);
    expect(result.err.split('\n')).toHaveLength(1);
    expect(result.calls).toHaveLength(0);
  });

  test('an invalid configuration stops it with the config problems', async () => {
    const result = await run(['--env', 'staging', '--version', '1.0.0'], {
      config: () => {
        throw new ConfigError(['staging.sentry.org: must be a Sentry organization slug, got "Bad Org"']);
      },
    });
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.err).toContain('staging.sentry.org');
    expect(result.calls).toHaveLength(0);
  });

  test('release names Sentry rejects are caught locally', () => {
    expect(versionProblem('x'.repeat(201))).toBe('must be at most 200 characters, got 201');
    expect(versionProblem('..')).toMatch(/reserved/);
    expect(versionProblem(' 1.0')).toMatch(/space/);
    expect(versionProblem('bodyscript@1.4.2+build.7')).toBeUndefined();
  });
});

describe('sentry-release when Sentry fails', () => {
  test('a failing first call exits 1, shows the error and stops', async () => {
    const result = await run(['--env', 'staging', '--version', '1.0.0'], {
      failOn: { method: 'new', error: new Error('error: API request failed\n  caused by: 401 Unauthorized') },
    });
    expect(result.code).toBe(EXIT_SENTRY_FAILED);
    expect(result.err).toContain('create release 1.0.0 failed: error: API request failed');
    expect(result.err).toContain('401 Unauthorized');
    expect(result.calls.map((c) => c.method)).toEqual(['new']);
  });

  test('a failure after the release exists says it is incomplete and that re-running is the fix', async () => {
    const result = await run(['--env', 'production', '--version', '2.0.0'], {
      failOn: { method: 'setCommits', error: new Error('Unable to fetch commits: repository not found') },
    });
    expect(result.code).toBe(EXIT_SENTRY_FAILED);
    expect(result.err).toContain('associate commits (auto) failed: Unable to fetch commits: repository not found');
    expect(result.err).toContain('Release 2.0.0 exists but is incomplete');
    expect(result.calls.map((c) => c.method)).toEqual(['new', 'setCommits']);
  });
});
