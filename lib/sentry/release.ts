import { parseArgs } from 'node:util';
import type { SentryCliCommitsOptions, SentryCliNewDeployOptions } from '@sentry/cli';
import { type BodyScriptConfig, ConfigError, ENVIRONMENT_NAMES, type EnvironmentName, githubOwnerProblem, githubRepositoryProblem } from '../config';

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
  'usage: npm run sentry-release -- --env staging|production --version <release> [--commit <sha> [--repo owner/name]] [--url <deploy url>] [--started <unix seconds | ISO 8601 with time zone, within the last 7 days>]';

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
  /** When the deploy started, in unix seconds (normalised from either accepted form). */
  readonly started?: number;
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

/** How far back `--started` may lie: a deploy is recorded right after it runs, never days later. */
export const MAX_STARTED_AGE_DAYS = 7;

const STARTED_RULE = `unix seconds (e.g. 1735787045) or an ISO 8601 time with a time zone (e.g. 2025-01-02T03:04:05Z), at most ${MAX_STARTED_AGE_DAYS} days before now and not after now`;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * `--started` as unix seconds, or a usage error that states the rule. Only a
 * plausible past time is accepted: milliseconds (13 digits), a time in the
 * future (after the deploy's finish, which is now) or one more than a week old
 * would be recorded by Sentry as a deploy that never happened like that.
 */
export function parseStarted(text: string, now: Date): number {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const shown = (seconds: number) => `${seconds} (${new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')})`;
  let seconds: number;
  if (/^\d+$/.test(text)) {
    if (text.length >= 13) {
      throw new UsageError(`--started must be unix seconds, not milliseconds: drop the last three digits (e.g. ${text.slice(0, -3)}), got '${text}'`);
    }
    seconds = Number(text);
  } else if (ISO_WITH_ZONE.test(text) && !Number.isNaN(Date.parse(text))) {
    seconds = Math.floor(Date.parse(text) / 1000);
  } else {
    throw new UsageError(`--started must be the deploy's start as ${STARTED_RULE}, got '${text}'`);
  }
  if (seconds > nowSeconds) {
    throw new UsageError(`--started must not be after now (${shown(nowSeconds)}): a deploy cannot start after it finished, got ${shown(seconds)}`);
  }
  if (seconds < nowSeconds - MAX_STARTED_AGE_DAYS * 86_400) {
    throw new UsageError(`--started must be at most ${MAX_STARTED_AGE_DAYS} days before now (${shown(nowSeconds)}), got ${shown(seconds)}`);
  }
  return seconds;
}

/**
 * Parses the command line. `environment` supplies `GITHUB_REPOSITORY` as the
 * default for `--repo`, so CI only passes `--commit ${{ github.sha }}`; `now`
 * is the clock `--started` is checked against (injected: tests never read the wall clock).
 */
export function parseReleaseArgs(argv: readonly string[], environment: NodeJS.ProcessEnv, now: Date): ReleaseArgs {
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
    // node:util names the option; "ambiguous" and "missing" both mean the flag got no value.
    const message = (error as Error).message;
    const noValue = /^Option '(--[a-z-]+)(?: <value>)?' argument (?:is ambiguous|missing)/.exec(message);
    if (noValue) {
      throw new UsageError(`${noValue[1]} needs a value (write ${noValue[1]}=<value> for a value that starts with '-'); ${USAGE}`);
    }
    throw new UsageError(`${message.split('\n')[0].replace(/\. To specify a positional argument.*$/, '')}; ${USAGE}`);
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
  if (repo !== undefined) {
    // Sentry matches commits by the repository's GitHub name, so the rules are GitHub's (lib/config/schema.ts).
    const [owner, name, ...rest] = repo.split('/');
    if (rest.length > 0 || name === undefined) throw new UsageError(`--repo must be owner/name as GitHub names the repository, got '${repo}'`);
    const ownerProblem = githubOwnerProblem(owner);
    if (ownerProblem) throw new UsageError(`--repo owner ${ownerProblem}, got '${repo}'`);
    const nameProblem = githubRepositoryProblem(name);
    if (nameProblem) throw new UsageError(`--repo name ${nameProblem}, got '${repo}'`);
  }

  const url = values.url as string | undefined;
  if (url !== undefined && !isHttpUrl(url)) throw new UsageError(`--url must be an http(s) URL, got '${url}'`);

  const startedText = values.started as string | undefined;
  const started = startedText === undefined ? undefined : parseStarted(startedText, now);
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
  /** The clock: the deploy's finish time and what `--started` must precede. Injected so tests are deterministic. */
  readonly now: () => Date;
}

/**
 * Runs the whole release recording and returns the process exit code. Never
 * throws: every failure becomes a message on `error` and a non-zero code.
 */
export async function runSentryRelease(argv: readonly string[], deps: ReleaseDependencies): Promise<number> {
  const now = deps.now();
  let args: ReleaseArgs;
  try {
    args = parseReleaseArgs(argv, deps.environment, now);
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
  const finished = now.toISOString();
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
