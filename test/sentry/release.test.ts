import { type BodyScriptConfig, ConfigError, loadConfig } from '../../lib/config';
import {
  EXIT_OK,
  EXIT_SENTRY_FAILED,
  EXIT_USAGE,
  parseReleaseArgs,
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
    now: () => new Date('2025-01-02T03:04:05.000Z'),
  };
  return runSentryRelease(argv, deps).then((code) => ({ code, out: out.join('\n'), err: err.join('\n'), ...fake }));
}

const config = loadConfig();

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

  test('--repo overrides GITHUB_REPOSITORY', () => {
    const args = parseReleaseArgs(['--env', 'staging', '--version', '1.0.0', '--commit', 'abc1234', '--repo', 'org/other'], {
      GITHUB_REPOSITORY: 'org/default',
    });
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
    [['--env', 'staging'], '--version is required'],
    [['--env', 'staging', '--version', 'feature/x'], "--version must not contain slashes, backslashes, tabs or newlines, got 'feature/x'"],
    [['--env', 'staging', '--version', 'latest'], "--version must not be 'latest'"],
    [['--env', 'staging', '--version', ''], '--version must not be empty'],
    [['--env', 'staging', '--version', '1.0.0', '--commit', 'not-a-sha', '--repo', 'a/b'], '--commit must be a git commit sha'],
    [['--env', 'staging', '--version', '1.0.0', '--commit', 'abc1234'], '--commit needs --repo owner/name'],
    [['--env', 'staging', '--version', '1.0.0', '--repo', 'a/b'], '--repo is only used with --commit'],
    [['--env', 'staging', '--version', '1.0.0', '--url', 'ftp://x'], '--url must be an http(s) URL'],
    [['--env', 'staging', '--version', '1.0.0', '--started', 'yesterday'], '--started must be an ISO 8601 time or unix seconds'],
    [['--env', 'staging', '--version', '1.0.0', '--force'], "Unknown option '--force'"],
  ])('%j → exit 2: %s', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.err).toContain(message);
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
