import { parseArgs } from 'node:util';
import type { SentryCliCommitsOptions, SentryCliNewDeployOptions } from '@sentry/cli';
import { type BodyScriptConfig, ConfigError, ENVIRONMENT_NAMES, type EnvironmentName } from '../config';

/**
 * Records a BodyScript release in Sentry: create the release, associate its
 * commits, finalize it and mark a deploy to one environment.
 *
 * Everything here is pure apart from the injected dependencies, so tests drive
 * it with a fake Sentry CLI and never spawn the real `sentry-cli` binary.
 */

/** Exit codes: 0 recorded, 1 Sentry refused or failed, 2 nothing was attempted (usage, token, config). */
export const EXIT_OK = 0;
export const EXIT_SENTRY_FAILED = 1;
export const EXIT_USAGE = 2;

export const USAGE =
  'usage: npm run sentry-release -- --env staging|production --version <release> [--commit <sha> [--repo owner/name]] [--url <deploy url>] [--started <ISO 8601 | unix seconds>]';

/** The subset of `SentryCli#releases` this script calls; the real class satisfies it structurally. */
export interface SentryReleasesApi {
  // Property form: `new(...)` in an interface would declare a constructor signature.
  readonly new: (release: string, options: { projects?: string[] }) => Promise<string>;
  readonly setCommits: (release: string, options: SentryCliCommitsOptions) => Promise<string>;
  readonly finalize: (release: string) => Promise<string>;
  readonly newDeploy: (release: string, options: SentryCliNewDeployOptions) => Promise<string>;
}

export interface SentryCliLike {
  readonly releases: SentryReleasesApi;
}

export interface SentryTarget {
  readonly authToken: string;
  readonly org: string;
  readonly project: string;
}

export interface ReleaseArgs {
  readonly env: EnvironmentName;
  readonly version: string;
  /** Associate exactly this commit; without it Sentry picks the commits itself (`--auto`). */
  readonly commit?: string;
  readonly repo?: string;
  readonly url?: string;
  readonly started?: string | number;
}

/** A problem with what the operator typed: one line naming the flag and what is allowed. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Sentry rejects release names that contain slashes or whitespace control
 * characters, that are `.`, `..`, blank or `latest`, or that exceed 200
 * characters. Checking here gives the operator the reason before any call.
 */
export function versionProblem(version: string): string | undefined {
  if (version.trim() === '') return 'must not be empty';
  if (version.length > 200) return `must be at most 200 characters, got ${version.length}`;
  if (/[\n\r\t/\\]/.test(version)) return 'must not contain slashes, backslashes, tabs or newlines';
  if (version !== version.trim()) return 'must not start or end with a space';
  if (['.', '..', 'latest'].includes(version)) return `must not be '${version}' (reserved by Sentry)`;
  return undefined;
}

const COMMIT_SHA = /^[0-9a-f]{7,40}$/i;
const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/**
 * Parses the command line. `environment` supplies `GITHUB_REPOSITORY` as the
 * default for `--repo`, so CI only passes `--commit ${{ github.sha }}`.
 */
export function parseReleaseArgs(argv: readonly string[], environment: NodeJS.ProcessEnv = {}): ReleaseArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        env: { type: 'string' },
        version: { type: 'string' },
        commit: { type: 'string' },
        repo: { type: 'string' },
        url: { type: 'string' },
        started: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // node:util messages already name the option ("Unknown option '--foo'").
    throw new UsageError(`${(error as Error).message.split('\n')[0]}; ${USAGE}`);
  }
  const env = values.env as string | undefined;
  if (env === undefined) throw new UsageError(`--env is required: one of ${ENVIRONMENT_NAMES.join(', ')}`);
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(env)) {
    throw new UsageError(`--env must be one of ${ENVIRONMENT_NAMES.join(', ')}, got '${env}'`);
  }
  const version = values.version as string | undefined;
  if (version === undefined) throw new UsageError('--version is required: the release name the tasks report as SENTRY_RELEASE (e.g. 1.4.2 or a git sha)');
  const problem = versionProblem(version);
  if (problem) throw new UsageError(`--version ${problem}, got '${version}'`);

  const commit = values.commit as string | undefined;
  if (commit !== undefined && !COMMIT_SHA.test(commit)) {
    throw new UsageError(`--commit must be a git commit sha (7 to 40 hex characters), got '${commit}'`);
  }
  const repo = (values.repo as string | undefined) ?? (commit !== undefined ? environment.GITHUB_REPOSITORY : undefined);
  if (values.repo !== undefined && commit === undefined) {
    throw new UsageError('--repo is only used with --commit <sha>; without --commit Sentry associates commits automatically');
  }
  if (commit !== undefined && (repo === undefined || repo === '')) {
    throw new UsageError('--commit needs --repo owner/name (the repository as named in Sentry), or GITHUB_REPOSITORY in the environment');
  }
  if (repo !== undefined && !REPO.test(repo)) throw new UsageError(`--repo must be owner/name, got '${repo}'`);

  const url = values.url as string | undefined;
  if (url !== undefined && !isHttpUrl(url)) throw new UsageError(`--url must be an http(s) URL, got '${url}'`);

  const startedText = values.started as string | undefined;
  let started: string | number | undefined;
  if (startedText !== undefined) {
    if (/^\d+$/.test(startedText)) started = Number(startedText);
    else if (!Number.isNaN(Date.parse(startedText))) started = startedText;
    else throw new UsageError(`--started must be an ISO 8601 time or unix seconds, got '${startedText}'`);
  }
  return { env: env as EnvironmentName, version, commit, repo, url, started };
}

function isHttpUrl(value: string): boolean {
  try {
    const parsed = new URL(value);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:';
  } catch {
    return false;
  }
}

/** What to tell an operator who has no token: the variable, where to get one, which scopes. */
export function missingTokenMessage(org: string): string {
  return [
    'SENTRY_AUTH_TOKEN is not set, so nothing was sent to Sentry.',
    `  Create a token at https://sentry.io/settings/${org}/auth-tokens/ (Organization Settings → Auth Tokens in org '${org}')`,
    '  with the scopes project:releases and org:read, then run again with SENTRY_AUTH_TOKEN=<token> in the environment.',
    '  In GitHub Actions it is the repository secret SENTRY_AUTH_TOKEN.',
  ].join('\n');
}

export interface ReleaseDependencies {
  /** Process environment: SENTRY_AUTH_TOKEN and GITHUB_REPOSITORY are read from it. */
  readonly environment: NodeJS.ProcessEnv;
  readonly loadConfig: () => BodyScriptConfig;
  readonly createCli: (target: SentryTarget) => SentryCliLike;
  readonly log: (line: string) => void;
  readonly error: (line: string) => void;
  /** Deploy finish time; injected so tests are deterministic. */
  readonly now?: () => Date;
}

/**
 * Runs the whole release recording and returns the process exit code. Never
 * throws: every failure becomes a message on `error` and a non-zero code.
 */
export async function runSentryRelease(argv: readonly string[], deps: ReleaseDependencies): Promise<number> {
  let args: ReleaseArgs;
  try {
    args = parseReleaseArgs(argv, deps.environment);
  } catch (error) {
    if (error instanceof UsageError) {
      deps.error(error.message);
      return EXIT_USAGE;
    }
    throw error;
  }

  let org: string;
  let project: string;
  try {
    ({ org, project } = deps.loadConfig().environments[args.env].sentry);
  } catch (error) {
    if (error instanceof ConfigError) {
      deps.error(error.message);
      return EXIT_USAGE;
    }
    throw error;
  }

  // Checked before any call: a release created without a token-bearing deploy
  // step would leave Sentry half-written.
  const authToken = deps.environment.SENTRY_AUTH_TOKEN?.trim();
  if (!authToken) {
    deps.error(missingTokenMessage(org));
    return EXIT_USAGE;
  }

  const cli = deps.createCli({ authToken, org, project });
  const { version } = args;
  const commits: SentryCliCommitsOptions =
    args.commit !== undefined ? { repo: args.repo, commit: args.commit } : { auto: true };
  const finished = (deps.now ?? (() => new Date()))().toISOString();
  const deploy: SentryCliNewDeployOptions = {
    env: args.env,
    ...(args.started !== undefined ? { started: args.started } : {}),
    finished,
    name: `${version} to ${args.env}`,
    ...(args.url !== undefined ? { url: args.url } : {}),
  };

  const steps: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
    [`create release ${version}`, () => cli.releases.new(version, { projects: [project] })],
    [
      args.commit !== undefined ? `associate commit ${args.repo}@${args.commit}` : 'associate commits (auto)',
      () => cli.releases.setCommits(version, commits),
    ],
    [`finalize release ${version}`, () => cli.releases.finalize(version)],
    [`mark deploy of ${version} to ${args.env}`, () => cli.releases.newDeploy(version, deploy)],
  ];
  deps.log(`Sentry ${org}/${project}: recording release ${version} for ${args.env}`);
  for (const [index, [description, step]] of steps.entries()) {
    try {
      await step();
      deps.log(`  ✓ ${description}`);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      deps.error(`  ✗ ${description} failed: ${reason.trim()}`);
      if (index > 0) {
        // Every step is idempotent in Sentry, so the fix is always the same.
        deps.error(`  Release ${version} exists but is incomplete; fix the cause and run the same command again.`);
      }
      return EXIT_SENTRY_FAILED;
    }
  }
  deps.log(`Release ${version} recorded and deployed to ${args.env}.`);
  return EXIT_OK;
}
