import type { Octokit } from '@octokit/rest';
import { CODEOWNERS_LOCATIONS, type CodeOwners, formatOwner, type Owner, ownersOf, parseCodeOwners } from './codeowners';

/**
 * Who may allow a dangerous stateful change: a code owner of the data stacks
 * who approved the pull request at exactly the commit being checked. Read
 * through the GitHub REST API from the trusted gate workflow, never from
 * anything the pull request can set (labels, files, its own workflow).
 *
 * - The owners come from CODEOWNERS as it is on the pull request's BASE commit
 *   (what GitHub itself uses), so a pull request cannot name its own owners.
 * - Each reviewer's state is their latest review that is not a plain comment
 *   (GitHub's rule); a later "changes requested" or a dismissal replaces an
 *   approval.
 * - An approval counts only at the head commit: every push needs a new one.
 * - A code owner's outstanding "changes requested" (on any commit) withholds
 *   the allowance.
 * - Anything the API does not answer clearly stops the gate (GateApiError):
 *   an allowance is never assumed.
 */

/**
 * The source files of the stacks that hold data (the environment's, the standby's,
 * and the backup account's vault that keeps a copy of every production recovery
 * point); their owners in CODEOWNERS are the people who may allow a dangerous change.
 */
export const STATEFUL_CODE_PATHS: readonly string[] = ['lib/stacks/data-stack.ts', 'lib/stacks/standby-data-stack.ts', 'lib/stacks/backup-vault-stack.ts'];

/** A GitHub API answer the gate cannot decide on: it fails rather than guess. */
export class GateApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GateApiError';
  }
}

export interface PullRequestUnderReview {
  readonly owner: string;
  readonly repo: string;
  readonly number: number;
  /** The commit the gate checks; only approvals of this commit count. */
  readonly headSha: string;
  /** The base commit whose CODEOWNERS applies. */
  readonly baseSha: string;
  /** Login of the pull request's author, who cannot allow their own change. */
  readonly author: string;
}

export interface CountedApproval {
  readonly login: string;
  /** The owner entry that made them a code owner: `@user` or `@org/team`. */
  readonly as: string;
  readonly submittedAt?: string;
  readonly url?: string;
  /** What the reviewer wrote with the approval (the error-budget override reads its reason there). */
  readonly body?: string;
}

/**
 * Whose approval counts, and for what: the owners of `paths` in CODEOWNERS.
 * The stateful-change gate asks the owners of the data stacks; the production
 * error-budget override (lib/error-budget-override.ts) the owners of the
 * error-budget policy.
 */
export interface AllowanceScope {
  readonly paths: readonly string[];
  /** Who they are, in messages: "the data stacks". */
  readonly owning: string;
  /** What an approval allows, in messages: "a stateful change". */
  readonly allows: string;
}

export const STATEFUL_CHANGE_SCOPE: AllowanceScope = { paths: STATEFUL_CODE_PATHS, owning: 'the data stacks', allows: 'a stateful change' };

export interface IgnoredReview {
  readonly login: string;
  readonly reason: string;
}

export interface AllowanceDecision {
  readonly allowed: boolean;
  readonly headSha: string;
  /** The owners of the data stacks as CODEOWNERS names them. */
  readonly owners: readonly string[];
  readonly approvals: readonly CountedApproval[];
  /** Reviews that did not count, with the reason. */
  readonly ignored: readonly IgnoredReview[];
  /** One sentence when not allowed. */
  readonly reason?: string;
}

interface Review {
  readonly id: number;
  readonly user: { readonly login: string; readonly type?: string } | null;
  readonly state: string;
  readonly commit_id: string | null;
  readonly submitted_at?: string | null;
  readonly html_url?: string;
  readonly body?: string | null;
}

export async function evaluateAllowance(github: Octokit, pr: PullRequestUnderReview, scope: AllowanceScope = STATEFUL_CHANGE_SCOPE): Promise<AllowanceDecision> {
  const notAllowed = (reason: string, extra: Partial<AllowanceDecision> = {}): AllowanceDecision => ({
    allowed: false,
    headSha: pr.headSha,
    owners: [],
    approvals: [],
    ignored: [],
    reason,
    ...extra,
  });

  const codeOwners = await readCodeOwners(github, pr);
  if (!codeOwners) return notAllowed(`the base commit ${short(pr.baseSha)} has no CODEOWNERS file (${CODEOWNERS_LOCATIONS.join(', ')}), so nobody can allow ${scope.allows}`);
  const owners = ownersOfPaths(codeOwners.file, scope.paths);
  const ownerNames = owners.map(formatOwner);
  if (owners.filter((o) => o.kind !== 'email').length === 0) {
    return notAllowed(`${codeOwners.path} on the base commit names no user or team owning ${scope.paths.join(', ')}, so nobody can allow ${scope.allows}`, { owners: ownerNames });
  }

  const reviews = await listReviews(github, pr);
  const approvals: CountedApproval[] = [];
  const ignored: IgnoredReview[] = [];
  const objections: string[] = [];
  for (const review of latestDecisiveReviews(reviews)) {
    const login = review.user!.login;
    if (review.state === 'DISMISSED') continue;
    const membership = await codeOwnerEntry(github, owners, login);
    if (review.state === 'CHANGES_REQUESTED') {
      // Outstanding until the reviewer approves or the review is dismissed, whatever commit it was made on.
      if (membership) objections.push(`@${login}`);
      continue;
    }
    // APPROVED from here on.
    if (login.toLowerCase() === pr.author.toLowerCase()) ignored.push({ login, reason: 'is the author of the pull request' });
    else if (review.user!.type === 'Bot') ignored.push({ login, reason: 'is a bot' });
    else if (!membership) ignored.push({ login, reason: `is not a code owner of ${scope.owning} (${ownerNames.join(', ')})` });
    else if (review.commit_id !== pr.headSha) ignored.push({ login, reason: `approved an earlier commit (${short(review.commit_id ?? 'unknown')}), not ${short(pr.headSha)}` });
    else approvals.push({ login, as: membership, submittedAt: review.submitted_at ?? undefined, url: review.html_url, body: review.body ?? undefined });
  }

  if (objections.length > 0) {
    return notAllowed(`code owner ${objections.join(', ')} requested changes and has not approved since`, { owners: ownerNames, approvals, ignored });
  }
  if (approvals.length === 0) {
    return notAllowed(`no code owner of ${scope.owning} (${ownerNames.join(', ')}) has approved commit ${short(pr.headSha)}`, { owners: ownerNames, ignored });
  }
  return { allowed: true, headSha: pr.headSha, owners: ownerNames, approvals, ignored };
}

/** The owners CODEOWNERS gives the data-stack files, without duplicates. */
export function dataStackOwners(codeOwners: CodeOwners): Owner[] {
  return ownersOfPaths(codeOwners, STATEFUL_CODE_PATHS);
}

/** The owners CODEOWNERS gives these files, without duplicates. */
export function ownersOfPaths(codeOwners: CodeOwners, paths: readonly string[]): Owner[] {
  const seen = new Map<string, Owner>();
  for (const path of paths) for (const owner of ownersOf(codeOwners, path)) seen.set(formatOwner(owner).toLowerCase(), owner);
  return [...seen.values()];
}

/**
 * Each reviewer's current decision: their latest APPROVED, CHANGES_REQUESTED
 * or DISMISSED review (COMMENTED does not change it; PENDING is unsubmitted).
 */
export function latestDecisiveReviews(reviews: readonly Review[]): Review[] {
  const ordered = reviews
    .filter((r) => r.user && ['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED'].includes(r.state))
    .sort((a, b) => (a.submitted_at ?? '').localeCompare(b.submitted_at ?? '') || a.id - b.id);
  const latest = new Map<string, Review>();
  for (const review of ordered) latest.set(review.user!.login.toLowerCase(), review);
  return [...latest.values()];
}

async function readCodeOwners(github: Octokit, pr: PullRequestUnderReview): Promise<{ path: string; file: CodeOwners } | undefined> {
  for (const path of CODEOWNERS_LOCATIONS) {
    let data: unknown;
    try {
      ({ data } = await github.rest.repos.getContent({ owner: pr.owner, repo: pr.repo, path, ref: pr.baseSha }));
    } catch (error) {
      if (statusOf(error) === 404) continue;
      throw apiError(error, `cannot read ${path} at ${short(pr.baseSha)}`, 'Contents: read');
    }
    const file = data as { type?: string; encoding?: string; content?: string };
    if (file.type !== 'file' || file.encoding !== 'base64' || typeof file.content !== 'string') {
      throw new GateApiError(`${path} at ${short(pr.baseSha)} is not a readable file (type ${String(file.type)}, encoding ${String(file.encoding)})`);
    }
    return { path, file: parseCodeOwners(Buffer.from(file.content, 'base64').toString('utf8')) };
  }
  return undefined;
}

async function listReviews(github: Octokit, pr: PullRequestUnderReview): Promise<Review[]> {
  try {
    return (await github.paginate(github.rest.pulls.listReviews, { owner: pr.owner, repo: pr.repo, pull_number: pr.number, per_page: 100 })) as Review[];
  } catch (error) {
    throw apiError(error, `cannot list the reviews of pull request #${pr.number}`, 'Pull requests: read');
  }
}

/** The owner entry through which `login` is a code owner, or undefined. Pending team invitations do not count. */
async function codeOwnerEntry(github: Octokit, owners: readonly Owner[], login: string): Promise<string | undefined> {
  for (const owner of owners) {
    if (owner.kind === 'user' && owner.login.toLowerCase() === login.toLowerCase()) return formatOwner(owner);
  }
  for (const owner of owners) {
    if (owner.kind !== 'team') continue;
    try {
      const { data } = await github.rest.teams.getMembershipForUserInOrg({ org: owner.org, team_slug: owner.slug, username: login });
      if (data.state === 'active') return formatOwner(owner);
    } catch (error) {
      if (statusOf(error) === 404) continue;
      throw apiError(error, `cannot read whether @${login} is a member of ${formatOwner(owner)}`, 'organization Members: read');
    }
  }
  return undefined;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function apiError(error: unknown, what: string, permission: string): GateApiError {
  const status = statusOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const hint = status === 401 || status === 403 ? ` (the gate's GitHub App needs "${permission}")` : '';
  return new GateApiError(`${what}: ${status ?? 'no answer'} ${message}${hint}`);
}

export function short(sha: string): string {
  return sha.slice(0, 12);
}
