import type { Octokit } from '@octokit/rest';
import { type AllowanceScope, evaluateAllowance, GateApiError, short } from './diff-report/allowance';
import type { ErrorBudgetOverride } from './ops/commands/slo';

/**
 * The override of the production error-budget gate (runbooks/slo.md, "The
 * error-budget policy"): a deploy on a spent (or unreadable) budget goes on
 * only when the pull request that brought the commit to main was approved, at
 * its head commit, by a code owner of the error-budget policy whose review
 * says `error-budget override: <reason>`. It reuses the stateful-change gate's
 * allowance (lib/diff-report/allowance.ts): CODEOWNERS from the pull request's
 * base commit, each reviewer's latest decisive review, approvals of the head
 * commit only, never the author or a bot, and an outstanding "changes
 * requested" of a code owner withholds it. Nothing the author can set (a label,
 * a file, the description) counts, and anything the API does not answer
 * clearly is no override.
 */

/** The files whose code owners decide on the error-budget policy. */
export const ERROR_BUDGET_POLICY_PATHS: readonly string[] = ['runbooks/slo.md'];

export const ERROR_BUDGET_SCOPE: AllowanceScope = { paths: ERROR_BUDGET_POLICY_PATHS, owning: 'the error-budget policy', allows: 'a deploy on a spent error budget' };

/** A line of the approving review: `error-budget override: <reason of at least 10 characters>`. */
const OVERRIDE_LINE = /^\s*error-budget override:\s*(\S.{9,})$/im;

export interface DeployedCommit {
  readonly owner: string;
  readonly repo: string;
  /** The commit on main being deployed (GITHUB_SHA of the push). */
  readonly sha: string;
  /** The branch it was pushed to. @default 'main' */
  readonly branch?: string;
}

/** The reason written in a review, or undefined when it has no override line. */
export function overrideReason(body: string | undefined): string | undefined {
  const match = OVERRIDE_LINE.exec(body ?? '');
  return match ? match[1].trim() : undefined;
}

export async function findErrorBudgetOverride(github: Octokit, commit: DeployedCommit): Promise<ErrorBudgetOverride> {
  const branch = commit.branch ?? 'main';
  const none = (reason: string): ErrorBudgetOverride => ({ allowed: false, reason });
  try {
    let pulls: { number: number; merged_at: string | null; merge_commit_sha: string | null; base: { ref: string; sha: string }; head: { sha: string }; user: { login: string } | null }[];
    try {
      ({ data: pulls } = await github.rest.repos.listPullRequestsAssociatedWithCommit({ owner: commit.owner, repo: commit.repo, commit_sha: commit.sha }));
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      throw new GateApiError(`cannot list the pull requests of commit ${short(commit.sha)}: ${String(status ?? 'no answer')} ${error instanceof Error ? error.message : String(error)}`);
    }
    const merged = pulls.filter((p) => p.merged_at && p.base.ref === branch && p.merge_commit_sha === commit.sha);
    if (merged.length !== 1) {
      return none(`commit ${short(commit.sha)} is the merge of ${merged.length === 0 ? 'no pull request' : `${merged.length} pull requests`} into ${branch}, so there is no one review to carry an override`);
    }
    const pr = merged[0];
    if (!pr.user) return none(`pull request #${pr.number} has no author the API can name`);
    const decision = await evaluateAllowance(github, { owner: commit.owner, repo: commit.repo, number: pr.number, headSha: pr.head.sha, baseSha: pr.base.sha, author: pr.user.login }, ERROR_BUDGET_SCOPE);
    if (!decision.allowed) return { ...none(`pull request #${pr.number}: ${decision.reason ?? 'not allowed'}`), pullRequest: pr.number };
    const overriding = decision.approvals.filter((a) => overrideReason(a.body) !== undefined);
    if (overriding.length === 0) {
      return {
        ...none(
          `pull request #${pr.number} was approved by ${decision.approvals.map((a) => `@${a.login}`).join(', ')}, but no approving review says "error-budget override: <reason>" (an approval alone does not spend a spent budget)`,
        ),
        pullRequest: pr.number,
      };
    }
    const first = overriding[0];
    return { allowed: true, approver: `@${first.login}`, as: first.as, review: first.url, pullRequest: pr.number, reason: overrideReason(first.body)! };
  } catch (error) {
    if (error instanceof GateApiError) return none(`the GitHub API did not answer clearly: ${error.message}`);
    throw error;
  }
}

export interface OverrideCliDependencies {
  readonly environment: Readonly<Record<string, string | undefined>>;
  readonly github: (token: string) => Octokit;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** Appends to the GitHub Actions output file. */
  readonly appendFile: (path: string, text: string) => void;
}

const USAGE = 'usage: npm run error-budget-override -- --repository OWNER/REPO --commit SHA [--github-output FILE] (token in ERROR_BUDGET_TOKEN)';

/**
 * `npm run error-budget-override -- --repository O/R --commit SHA --github-output FILE`:
 * finds the override for a production deploy and hands it to the deploy job as
 * the step output `decision` (JSON, read by `ops slo --deploy-gate` from
 * ERROR_BUDGET_OVERRIDE). Exit 0 whether or not there is an override (the
 * budget decides whether one is needed), 2 on bad arguments or no token.
 */
export async function runErrorBudgetOverrideCli(argv: string[], deps: OverrideCliDependencies): Promise<number> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!['--repository', '--commit', '--github-output'].includes(flag) || value === undefined || value.startsWith('--')) {
      deps.stderr(`error: unexpected argument '${flag}'${value === undefined ? ' (no value)' : ''}. ${USAGE}`);
      return 2;
    }
    values.set(flag.slice(2), value);
  }
  const repository = values.get('repository') ?? '';
  const sha = values.get('commit') ?? '';
  const [owner, repo, ...extra] = repository.split('/');
  if (!owner || !repo || extra.length) {
    deps.stderr(`error: --repository must be OWNER/REPO, got '${repository}'. ${USAGE}`);
    return 2;
  }
  if (!/^[0-9a-f]{40}$/.test(sha)) {
    deps.stderr(`error: --commit must be a 40-hex commit, got '${sha}'. ${USAGE}`);
    return 2;
  }
  const token = deps.environment.ERROR_BUDGET_TOKEN;
  if (!token) {
    deps.stderr(`error: ERROR_BUDGET_TOKEN must hold a token that can read the pull requests, their reviews, CODEOWNERS and team memberships. ${USAGE}`);
    return 2;
  }
  const decision = await findErrorBudgetOverride(deps.github(token), { owner, repo, sha });
  deps.stdout(
    decision.allowed
      ? `error-budget override for ${short(sha)}: approved by ${decision.approver} (as ${decision.as}) on pull request #${decision.pullRequest}${decision.review ? ` (${decision.review})` : ''}: "${decision.reason}"`
      : `no error-budget override for ${short(sha)}: ${decision.reason}`,
  );
  const output = values.get('github-output');
  if (output) deps.appendFile(output, `decision=${JSON.stringify(decision)}\n`);
  return 0;
}
