import { evaluateAllowance, GateApiError, latestDecisiveReviews, type PullRequestUnderReview } from '../../lib/diff-report/allowance';
import { FakeGitHub, fileContent } from '../github-api-fake';

/**
 * The allowance of the stateful-change gate against a GitHub REST API that
 * answers like GitHub: reviews with their commit, team memberships that are
 * 404 for non-members and 403 without the Members permission, CODEOWNERS read
 * at a given commit.
 */

const OWNER = 'bodyscript';
const REPO = 'bodyscript-infrastructure';
const HEAD = 'a'.repeat(40);
const EARLIER = 'b'.repeat(40);
const BASE = 'c'.repeat(40);
const PR: PullRequestUnderReview = { owner: OWNER, repo: REPO, number: 42, headSha: HEAD, baseSha: BASE, author: 'author' };

const BASE_CODEOWNERS = [
  '*                                 @bodyscript/platform',
  '/lib/stacks/data-stack.ts         @bodyscript/data-owners @dba-lead',
  '/lib/stacks/standby-data-stack.ts @bodyscript/data-owners',
  '/lib/stacks/backup-vault-stack.ts @bodyscript/data-owners',
].join('\n');

type Review = { id: number; user: { login: string; type?: string } | null; state: string; commit_id: string | null; submitted_at?: string; html_url?: string };
let nextId = 1;
let clock = 0;
const review = (login: string, state: string, commit = HEAD, type = 'User'): Review => ({
  id: nextId++,
  user: { login, type },
  state,
  commit_id: commit,
  submitted_at: new Date(Date.UTC(2026, 11, 1, 10, clock++)).toISOString(),
  html_url: `https://github.com/${OWNER}/${REPO}/pull/42#pullrequestreview-${nextId}`,
});

interface Setup {
  readonly reviews?: Review[];
  /** Logins that are active members of @bodyscript/data-owners. */
  readonly members?: string[];
  readonly pending?: string[];
  /** CODEOWNERS per commit; the pull request's head carries its own, naming its author. */
  readonly codeownersAt?: Record<string, string | undefined>;
  readonly membershipStatus?: number;
}

function github(setup: Setup = {}): FakeGitHub {
  const fake = new FakeGitHub();
  const codeownersAt = setup.codeownersAt ?? { [BASE]: BASE_CODEOWNERS, [HEAD]: '* @author' };
  fake.on(`GET /repos/${OWNER}/${REPO}/contents/.github%2FCODEOWNERS`, (request) => {
    const text = codeownersAt[request.query.get('ref') ?? ''];
    return text === undefined ? { status: 404, body: { message: 'Not Found' } } : { body: fileContent('.github/CODEOWNERS', text) };
  });
  fake.on(`GET /repos/${OWNER}/${REPO}/pulls/42/reviews`, { body: setup.reviews ?? [] });
  for (const login of ['alice', 'bob', 'carol', 'dba-lead', 'author', 'mallory', 'renovate[bot]']) {
    const route = `GET /orgs/${OWNER}/teams/data-owners/memberships/${encodeURIComponent(login)}`;
    if (setup.membershipStatus) fake.on(route, { status: setup.membershipStatus, body: { message: 'Resource not accessible by integration' } });
    else if (setup.members?.includes(login)) fake.on(route, { body: { state: 'active', role: 'member' } });
    else if (setup.pending?.includes(login)) fake.on(route, { body: { state: 'pending', role: 'member' } });
    else fake.on(route, { status: 404, body: { message: 'Not Found' } });
  }
  return fake;
}

describe('an approval by a code owner of the data stacks', () => {
  test('of the head commit, by a member of the owning team, allows the change and names who and as what', async () => {
    const fake = github({ members: ['alice'], reviews: [review('alice', 'APPROVED')] });
    const decision = await evaluateAllowance(fake.client(), PR);

    expect(decision).toMatchObject({
      allowed: true,
      headSha: HEAD,
      owners: ['@bodyscript/data-owners', '@dba-lead'],
      approvals: [{ login: 'alice', as: '@bodyscript/data-owners', url: expect.stringContaining('pullrequestreview-') }],
      ignored: [],
    });
    expect(fake.unrouted).toEqual([]);
  });

  test('by a user named directly in CODEOWNERS allows it without asking about teams', async () => {
    const fake = github({ reviews: [review('dba-lead', 'APPROVED')] });
    const decision = await evaluateAllowance(fake.client(), PR);
    expect(decision).toMatchObject({ allowed: true, approvals: [{ login: 'dba-lead', as: '@dba-lead' }] });
    expect(fake.requests.filter((r) => r.path.includes('/teams/'))).toEqual([]);
  });

  test('reads CODEOWNERS at the base commit, so the pull request cannot make its author an owner', async () => {
    const fake = github({ reviews: [review('author', 'APPROVED'), review('mallory', 'APPROVED')] });
    const decision = await evaluateAllowance(fake.client(), PR);

    expect(fake.calls(`GET /repos/${OWNER}/${REPO}/contents/.github%2FCODEOWNERS`).map((r) => r.query.get('ref'))).toEqual([BASE]);
    expect(decision.allowed).toBe(false);
    expect(decision.ignored).toEqual([
      { login: 'author', reason: 'is the author of the pull request' },
      { login: 'mallory', reason: 'is not a code owner of the data stacks (@bodyscript/data-owners, @dba-lead)' },
    ]);
  });
});

describe('approvals that do not count', () => {
  test('an approval of an earlier commit does not count after a push', async () => {
    const decision = await evaluateAllowance(github({ members: ['alice'], reviews: [review('alice', 'APPROVED', EARLIER)] }).client(), PR);
    expect(decision).toMatchObject({
      allowed: false,
      reason: `no code owner of the data stacks (@bodyscript/data-owners, @dba-lead) has approved commit ${HEAD.slice(0, 12)}`,
      ignored: [{ login: 'alice', reason: `approved an earlier commit (${EARLIER.slice(0, 12)}), not ${HEAD.slice(0, 12)}` }],
    });
  });

  test('a pending invitation to the owning team is not membership', async () => {
    const decision = await evaluateAllowance(github({ pending: ['bob'], reviews: [review('bob', 'APPROVED')] }).client(), PR);
    expect(decision.allowed).toBe(false);
    expect(decision.ignored).toEqual([{ login: 'bob', reason: expect.stringMatching(/^is not a code owner/) }]);
  });

  test('the author cannot allow their own change even as a code owner', async () => {
    const decision = await evaluateAllowance(github({ members: ['author'], reviews: [review('author', 'APPROVED')] }).client(), PR);
    expect(decision).toMatchObject({ allowed: false, ignored: [{ login: 'author', reason: 'is the author of the pull request' }] });
  });

  test('a bot approval does not count', async () => {
    const decision = await evaluateAllowance(github({ members: ['renovate[bot]'], reviews: [review('renovate[bot]', 'APPROVED', HEAD, 'Bot')] }).client(), PR);
    expect(decision).toMatchObject({ allowed: false, ignored: [{ login: 'renovate[bot]', reason: 'is a bot' }] });
  });

  test('a later "changes requested" by the same reviewer replaces the approval', async () => {
    const decision = await evaluateAllowance(github({ members: ['alice'], reviews: [review('alice', 'APPROVED'), review('alice', 'CHANGES_REQUESTED')] }).client(), PR);
    expect(decision).toMatchObject({ allowed: false, reason: 'code owner @alice requested changes and has not approved since' });
  });

  test('a dismissed approval does not count', async () => {
    const decision = await evaluateAllowance(github({ members: ['alice'], reviews: [review('alice', 'APPROVED'), review('alice', 'DISMISSED')] }).client(), PR);
    expect(decision.allowed).toBe(false);
  });

  test('another code owner’s outstanding "changes requested", even on an earlier commit, withholds the allowance', async () => {
    const decision = await evaluateAllowance(github({ members: ['alice', 'carol'], reviews: [review('carol', 'CHANGES_REQUESTED', EARLIER), review('alice', 'APPROVED')] }).client(), PR);
    expect(decision).toMatchObject({ allowed: false, reason: 'code owner @carol requested changes and has not approved since', approvals: [{ login: 'alice' }] });
  });

  test('a comment after an approval leaves the approval in place (GitHub’s rule)', async () => {
    const decision = await evaluateAllowance(github({ members: ['alice'], reviews: [review('alice', 'APPROVED'), review('alice', 'COMMENTED')] }).client(), PR);
    expect(decision.allowed).toBe(true);
  });

  test('a non-owner’s "changes requested" does not block (it is their opinion, not the owners’ decision)', async () => {
    const decision = await evaluateAllowance(github({ members: ['alice'], reviews: [review('mallory', 'CHANGES_REQUESTED'), review('alice', 'APPROVED')] }).client(), PR);
    expect(decision.allowed).toBe(true);
  });
});

describe('CODEOWNERS', () => {
  test('without a CODEOWNERS file on the base commit nobody can allow (GitHub looks in .github/, the root and docs/)', async () => {
    const fake = github({ codeownersAt: {}, members: ['alice'], reviews: [review('alice', 'APPROVED')] });
    const decision = await evaluateAllowance(fake.client(), PR);
    expect(decision).toMatchObject({ allowed: false, reason: expect.stringContaining('has no CODEOWNERS file (.github/CODEOWNERS, CODEOWNERS, docs/CODEOWNERS)') });
    expect(fake.unrouted).toEqual([`GET /repos/${OWNER}/${REPO}/contents/CODEOWNERS?ref=${BASE}`, `GET /repos/${OWNER}/${REPO}/contents/docs%2FCODEOWNERS?ref=${BASE}`]);
  });

  test('a CODEOWNERS that gives the data stacks no owner allows nobody', async () => {
    const decision = await evaluateAllowance(github({ codeownersAt: { [BASE]: '* @bodyscript/platform\n/lib/stacks/ \n' }, reviews: [review('alice', 'APPROVED')] }).client(), PR);
    expect(decision).toMatchObject({ allowed: false, reason: expect.stringContaining('names no user or team owning lib/stacks/data-stack.ts') });
  });
});

describe('answers the gate cannot decide on stop it', () => {
  test('team membership that the App may not read (403) is an error naming the permission, never "not a member"', async () => {
    const fake = github({ membershipStatus: 403, reviews: [review('alice', 'APPROVED')] });
    const error = await evaluateAllowance(fake.client(), PR).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GateApiError);
    expect((error as Error).message).toBe(
      'cannot read whether @alice is a member of @bodyscript/data-owners: 403 Resource not accessible by integration (the gate\'s GitHub App needs "organization Members: read")',
    );
  });

  test('a failing review list is an error', async () => {
    const fake = github().on(`GET /repos/${OWNER}/${REPO}/pulls/42/reviews`, { status: 502, body: { message: 'Bad Gateway' } });
    await expect(evaluateAllowance(fake.client(), PR)).rejects.toThrow(/^cannot list the reviews of pull request #42: 502/);
  });

  test('a CODEOWNERS that is not a file is an error', async () => {
    const fake = github().on(`GET /repos/${OWNER}/${REPO}/contents/.github%2FCODEOWNERS`, { body: [{ type: 'file', name: 'x' }] });
    await expect(evaluateAllowance(fake.client(), PR)).rejects.toThrow(/^\.github\/CODEOWNERS at c{12} is not a readable file/);
  });
});

test('reviews are read across pages', async () => {
  const fake = github({ members: ['alice'] });
  const firstPage = Array.from({ length: 100 }, (_, i) => review(`reviewer-${i}`, 'COMMENTED'));
  fake.on(`GET /repos/${OWNER}/${REPO}/pulls/42/reviews`, (request) =>
    request.query.get('page') === '2'
      ? { body: [review('alice', 'APPROVED')] }
      : { body: firstPage, headers: { link: `<https://api.github.com/repos/${OWNER}/${REPO}/pulls/42/reviews?per_page=100&page=2>; rel="next"` } },
  );
  const decision = await evaluateAllowance(fake.client(), PR);
  expect(decision.allowed).toBe(true);
  expect(fake.calls(`GET /repos/${OWNER}/${REPO}/pulls/42/reviews`)).toHaveLength(2);
});

test('each reviewer’s decision is their latest decisive review, in submission order', () => {
  const reviews = [
    { id: 3, user: { login: 'Alice' }, state: 'APPROVED', commit_id: HEAD, submitted_at: '2026-12-01T10:03:00Z' },
    { id: 1, user: { login: 'alice' }, state: 'CHANGES_REQUESTED', commit_id: EARLIER, submitted_at: '2026-12-01T10:01:00Z' },
    { id: 4, user: { login: 'alice' }, state: 'COMMENTED', commit_id: HEAD, submitted_at: '2026-12-01T10:04:00Z' },
    { id: 5, user: { login: 'bob' }, state: 'PENDING', commit_id: HEAD, submitted_at: null },
    { id: 6, user: null, state: 'APPROVED', commit_id: HEAD, submitted_at: '2026-12-01T10:05:00Z' },
  ];
  expect(latestDecisiveReviews(reviews).map((r) => r.id)).toEqual([3]);
});
