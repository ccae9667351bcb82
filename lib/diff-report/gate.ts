import type { Octokit } from '@octokit/rest';
import { PROTECTED_BRANCHES } from '../github-repository';
import { type AllowanceDecision, evaluateAllowance, GateApiError, short } from './allowance';
import { InputError } from './assembly';
import { code } from './markdown';
import { dangerousChanges, type DiffReport, isBlocking, undeployableChanges } from './render';
import { compareAssemblies, EXIT_DANGEROUS, EXIT_INPUT, EXIT_OK, EXIT_UNDEPLOYABLE, writeReport } from './run';
import { listUndeployable } from './undeployable';

/**
 * The stateful-change gate of pull requests, run by
 * `.github/workflows/stateful-change-gate.yml` (a `workflow_run` workflow: its
 * file and this code come from the default branch, never from the pull
 * request). Two steps:
 *
 * 1. `resolveGateTarget`: from the `workflow_run` event (a finished `ci` run or
 *    a review), which pull request and commit to check, and which `ci` run
 *    uploaded that commit's cloud assembly.
 * 2. `runGateCheck`: diff that assembly (untrusted data, read as JSON only)
 *    against the base commit's assembly synthesized by the gate itself, decide
 *    the allowance from code-owner approvals of that exact commit, and publish
 *    the verdict as a check run of the gate's GitHub App (the required check:
 *    a pull request's own workflow cannot post as that App) and as one comment.
 */

/** The name of the check run that branch protection requires (with the gate's App as its source). */
export const GATE_CHECK_NAME = 'stateful-change gate';
/** The first line of the gate's comment, by which it finds and updates its own comment. */
export const GATE_COMMENT_MARKER = '<!-- bodyscript-stateful-change-gate -->';
/** Base branches whose code the gate trusts to synthesize a baseline: the branches `npm run github-settings` keeps protected. */
export const PROTECTED_BASE_BRANCHES: readonly string[] = PROTECTED_BRANCHES;
/** The workflow (file name) whose pull-request runs upload the `cloud-assembly` artifact. */
export const CI_WORKFLOW_FILE = 'ci.yml';
/** The workflow that only exists to start the gate again when a review is submitted or dismissed. */
export const REVIEW_RELAY_WORKFLOW_FILE = 'pull-request-review.yml';
/** GitHub refuses check-run summaries over 65535 characters and comments over 65536. */
const SUMMARY_LIMIT = 60_000;

export interface Repository {
  readonly owner: string;
  readonly repo: string;
}

export type GateTarget =
  | { readonly action: 'check'; readonly pullNumber: number; readonly headSha: string; readonly baseSha: string; readonly baseRef: string; readonly ciRunId: number }
  | { readonly action: 'fail'; readonly pullNumber: number; readonly headSha: string; readonly baseSha: string; readonly reason: string }
  | { readonly action: 'skip'; readonly reason: string };

interface WorkflowRunEvent {
  readonly workflow_run?: {
    readonly id?: number;
    readonly path?: string;
    readonly event?: string;
    readonly head_sha?: string;
    readonly status?: string;
    readonly conclusion?: string | null;
    readonly pull_requests?: ReadonlyArray<{ readonly number?: number }>;
  };
}

const SHA = /^[0-9a-f]{40}$/;

/**
 * Which commit of which pull request to check. Everything is re-read from the
 * API rather than taken from the event, whose branch names and pull-request
 * list come from the pull request's side (and are empty for forks).
 */
export async function resolveGateTarget(github: Octokit, repository: Repository, eventJson: unknown): Promise<GateTarget> {
  const run = (eventJson as WorkflowRunEvent | null)?.workflow_run;
  if (!run || typeof run.id !== 'number' || typeof run.path !== 'string') throw new InputError('--event: not a workflow_run event (no workflow_run.id and .path)');
  if (run.event !== 'pull_request' && run.event !== 'pull_request_review') return { action: 'skip', reason: `the ${run.path} run was triggered by ${String(run.event)}, not by a pull request` };
  const headSha = run.head_sha ?? '';
  if (!SHA.test(headSha)) throw new InputError(`--event: workflow_run.head_sha '${headSha}' is not a commit SHA`);

  const pull = await findPullRequest(github, repository, headSha, run.pull_requests ?? []);
  if ('skip' in pull) return { action: 'skip', reason: pull.skip };
  const { number: pullNumber, base } = pull;
  if (!PROTECTED_BASE_BRANCHES.includes(base.ref)) {
    return { action: 'skip', reason: `pull request #${pullNumber} targets '${base.ref}'; the gate checks pull requests into ${PROTECTED_BASE_BRANCHES.join(' and ')} only` };
  }

  const ciRun = run.path === `.github/workflows/${CI_WORKFLOW_FILE}` ? { id: run.id, status: run.status, conclusion: run.conclusion } : await latestCiRun(github, repository, headSha);
  if (!ciRun) return { action: 'skip', reason: `no ${CI_WORKFLOW_FILE} run of ${short(headSha)} yet; the gate runs when it completes` };
  if (ciRun.status !== 'completed') return { action: 'skip', reason: `the ${CI_WORKFLOW_FILE} run of ${short(headSha)} has not completed; the gate runs when it does` };
  if (ciRun.conclusion !== 'success') {
    return { action: 'fail', pullNumber, headSha, baseSha: base.sha, reason: `the ${CI_WORKFLOW_FILE} run ${ciRun.id} of ${short(headSha)} did not succeed (${String(ciRun.conclusion)}), so there is no cloud assembly to check` };
  }
  return { action: 'check', pullNumber, headSha, baseSha: base.sha, baseRef: base.ref, ciRunId: ciRun.id };
}

type PullSummary = { number: number; base: { ref: string; sha: string } } | { skip: string };

async function findPullRequest(github: Octokit, { owner, repo }: Repository, headSha: string, listed: ReadonlyArray<{ readonly number?: number }>): Promise<PullSummary> {
  let candidates: Array<{ number: number; state: string; head: { sha: string }; base: { ref: string; sha: string } }>;
  try {
    if (listed.length > 0) {
      candidates = [];
      for (const { number } of listed) {
        if (typeof number !== 'number') continue;
        candidates.push((await github.rest.pulls.get({ owner, repo, pull_number: number })).data);
      }
    } else {
      // A fork's pull request is not listed on the run: find it among the open ones by its head commit.
      candidates = await github.paginate(github.rest.pulls.list, { owner, repo, state: 'open', per_page: 100 });
    }
  } catch (error) {
    throw new GateApiError(`cannot read the pull requests of ${owner}/${repo}: ${(error as { status?: number }).status ?? 'no answer'} ${(error as Error).message}`);
  }
  const open = candidates.filter((pr) => pr.state === 'open' && pr.head.sha === headSha);
  if (open.length === 0) return { skip: `${short(headSha)} is not the head of an open pull request (closed, or a newer commit was pushed: its own run checks it)` };
  if (open.length > 1) {
    // One check run per commit cannot carry two verdicts against two bases.
    throw new GateApiError(`${short(headSha)} is the head of several open pull requests (${open.map((pr) => `#${pr.number}`).join(', ')}); the gate checks one pull request per commit`);
  }
  return { number: open[0].number, base: { ref: open[0].base.ref, sha: open[0].base.sha } };
}

async function latestCiRun(github: Octokit, { owner, repo }: Repository, headSha: string) {
  let runs: Array<{ id: number; run_number: number; status: string | null; conclusion: string | null; head_sha: string; event: string }>;
  try {
    ({ workflow_runs: runs } = (await github.rest.actions.listWorkflowRuns({ owner, repo, workflow_id: CI_WORKFLOW_FILE, head_sha: headSha, event: 'pull_request', per_page: 20 })).data);
  } catch (error) {
    throw new GateApiError(`cannot list the ${CI_WORKFLOW_FILE} runs of ${short(headSha)}: ${(error as { status?: number }).status ?? 'no answer'} ${(error as Error).message}`);
  }
  const latest = runs.filter((r) => r.head_sha === headSha && r.event === 'pull_request').sort((a, b) => b.run_number - a.run_number)[0];
  return latest && { id: latest.id, status: latest.status ?? undefined, conclusion: latest.conclusion };
}

export interface GateCheckOptions extends Repository {
  readonly pullNumber: number;
  readonly headSha: string;
  readonly baseSha: string;
  /** The pull request's cloud assembly (downloaded from its ci run: untrusted data). */
  readonly assemblyDir?: string;
  /** The base commit's cloud assembly, synthesized by the gate. */
  readonly baselineDir?: string;
  readonly outFile: string;
  readonly jsonFile?: string;
  /** Post the check run and the comment; without it the verdict is only printed. */
  readonly publish: boolean;
  /** The gate App's bot login (`<app-slug>[bot]`): only its own comment is updated. */
  readonly botLogin?: string;
  /** Link from the check run to the workflow run. */
  readonly detailsUrl?: string;
  /** When set, there is nothing to compare (e.g. ci failed): publish a failing check with this reason. */
  readonly unavailable?: string;
}

export interface GateIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (line: string) => void;
}

interface Verdict {
  readonly code: number;
  readonly title: string;
  readonly markdown: string;
}

/** Checks one commit of one pull request and publishes the verdict. Returns 0 (pass), 1 (blocked), 2 (could not check) or 3 (an update AWS refuses). */
export async function runGateCheck(github: Octokit, options: GateCheckOptions, io: GateIo): Promise<number> {
  const verdict = await decide(github, options, io);
  io.stdout(verdict.markdown);
  if (options.publish) {
    try {
      await publish(github, options, verdict);
    } catch (error) {
      io.stderr(`cannot publish the gate's verdict on ${short(options.headSha)}: ${(error as { status?: number }).status ?? 'no answer'} ${(error as Error).message}`);
      return EXIT_INPUT;
    }
  }
  return verdict.code;
}

async function decide(github: Octokit, options: GateCheckOptions, io: GateIo): Promise<Verdict> {
  const cannotCheck = (reason: string): Verdict => {
    io.stderr(reason);
    return {
      code: EXIT_INPUT,
      title: `Could not check ${short(options.headSha)}`,
      markdown: `# Stateful-change gate\n\n**Could not check commit ${code(short(options.headSha))}:** ${code(reason)}\n\nThe gate fails closed: this commit cannot merge until a run of the gate succeeds.\n`,
    };
  };
  if (options.unavailable) return cannotCheck(options.unavailable);
  if (!options.assemblyDir || !options.baselineDir) return cannotCheck('the gate needs --assembly and --baseline');

  let report: DiffReport;
  try {
    const compared = await compareAssemblies(options.assemblyDir, { kind: 'directory', dir: options.baselineDir });
    report = { ...compared, baseline: `the base commit ${code(short(options.baseSha))} (synthesized by the gate)` };
    if (dangerousChanges(report).length > 0) {
      const decision = await evaluateAllowance(github, { owner: options.owner, repo: options.repo, number: options.pullNumber, headSha: options.headSha, baseSha: options.baseSha, author: await pullRequestAuthor(github, options) });
      report = withDecision(report, decision);
    }
  } catch (error) {
    if (error instanceof InputError || error instanceof GateApiError) return cannotCheck(error.message);
    throw error;
  }

  const markdown = writeReport(report, options.outFile, options.jsonFile);
  // A deploy of this commit would fail whoever approves it (undeployable.ts): merging it would stop the next release.
  const undeployable = undeployableChanges(report);
  if (undeployable.length > 0) {
    io.stderr(`⛔ ${undeployable.length} update(s) in ${short(options.headSha)} that AWS refuses: ${listUndeployable(undeployable)}.`);
    return { code: EXIT_UNDEPLOYABLE, title: `⛔ ${undeployable.length} update${undeployable.length === 1 ? '' : 's'} that AWS refuses: ${short(options.headSha)} cannot be deployed`, markdown };
  }
  const dangerous = dangerousChanges(report);
  if (isBlocking(report)) {
    io.stderr(`🛑 ${dangerous.length} dangerous stateful change(s) in ${short(options.headSha)}, not allowed: ${report.refusal?.reason ?? 'no allowance'}.`);
    return { code: EXIT_DANGEROUS, title: `🛑 ${dangerous.length} dangerous stateful change${dangerous.length === 1 ? '' : 's'}: needs a code owner's approval of ${short(options.headSha)}`, markdown };
  }
  if (report.allowance) {
    const approvers = report.allowance.source === 'code-owner-approval' ? report.allowance.approvals.map((a) => `@${a.login}`).join(', ') : '';
    io.stderr(`⚠️ ${dangerous.length} dangerous stateful change(s) in ${short(options.headSha)} allowed by ${approvers}.`);
    return { code: EXIT_OK, title: `⚠️ ${dangerous.length} dangerous stateful change${dangerous.length === 1 ? '' : 's'}, allowed by ${approvers}`, markdown };
  }
  return { code: EXIT_OK, title: 'No dangerous stateful change', markdown };
}

function withDecision(report: DiffReport, decision: AllowanceDecision): DiffReport {
  return decision.allowed
    ? { ...report, allowance: { source: 'code-owner-approval', headSha: decision.headSha, approvals: decision.approvals } }
    : { ...report, refusal: decision };
}

async function pullRequestAuthor(github: Octokit, { owner, repo, pullNumber, headSha }: GateCheckOptions): Promise<string> {
  let pull: { user: { login: string } | null; head: { sha: string } };
  try {
    ({ data: pull } = await github.rest.pulls.get({ owner, repo, pull_number: pullNumber }));
  } catch (error) {
    throw new GateApiError(`cannot read pull request #${pullNumber}: ${(error as { status?: number }).status ?? 'no answer'} ${(error as Error).message}`);
  }
  if (!pull.user) throw new GateApiError(`pull request #${pullNumber} has no author in the API answer`);
  // Approvals are counted for headSha only; a pull request that moved on is checked by the run of its new head.
  if (pull.head.sha !== headSha) throw new GateApiError(`pull request #${pullNumber} now has head ${short(pull.head.sha)}, not ${short(headSha)}; its new commit's run decides`);
  return pull.user.login;
}

async function publish(github: Octokit, options: GateCheckOptions, verdict: Verdict): Promise<void> {
  const { owner, repo } = options;
  const summary = truncate(verdict.markdown, options.detailsUrl);
  await github.rest.checks.create({
    owner,
    repo,
    name: GATE_CHECK_NAME,
    head_sha: options.headSha,
    status: 'completed',
    conclusion: verdict.code === EXIT_OK ? 'success' : 'failure',
    details_url: options.detailsUrl,
    output: { title: verdict.title.slice(0, 255), summary },
  });
  if (!options.botLogin) return;
  const footer = `<sub>commit ${options.headSha} · checked by the ${GATE_CHECK_NAME} (trusted workflow of the default branch)${options.detailsUrl ? ` · [run](${options.detailsUrl})` : ''}</sub>`;
  const body = `${GATE_COMMENT_MARKER}\n${summary}\n\n${footer}`;
  const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number: options.pullNumber, per_page: 100 });
  // Only the App's own comment: anyone can write a comment that starts with the marker.
  const previous = comments.find((c) => c.user?.login === options.botLogin && c.body?.startsWith(GATE_COMMENT_MARKER));
  if (previous) await github.rest.issues.updateComment({ owner, repo, comment_id: previous.id, body });
  else await github.rest.issues.createComment({ owner, repo, issue_number: options.pullNumber, body });
}

/** Cuts a long report at a line boundary, saying where the whole one is. */
function truncate(markdown: string, detailsUrl: string | undefined): string {
  if (markdown.length <= SUMMARY_LIMIT) return markdown;
  const cut = markdown.lastIndexOf('\n', SUMMARY_LIMIT);
  return `${markdown.slice(0, cut > 0 ? cut : SUMMARY_LIMIT)}\n\n… truncated: the whole report is the \`stateful-change-report\` artifact${detailsUrl ? ` of [this run](${detailsUrl})` : ''}.`;
}
