import { ERROR_BUDGET_POLICY_PATHS, findErrorBudgetOverride, overrideReason, runErrorBudgetOverrideCli } from '../lib/error-budget-override';
import { FakeGitHub, fileContent } from './github-api-fake';

/**
 * The production error-budget override against a GitHub REST API that answers
 * like GitHub (test/github-api-fake.ts): the pull requests of a commit, the
 * reviews with their commit and body, CODEOWNERS at the base commit, team
 * memberships 404 for non-members and 403 without the Members permission.
 */

const OWNER = 'bodyscript';
const REPO = 'bodyscript-infrastructure';
const MERGE = 'd'.repeat(40);
const HEAD = 'a'.repeat(40);
const EARLIER = 'b'.repeat(40);
const BASE = 'c'.repeat(40);
const CODEOWNERS = ['*                 @bodyscript/platform', '/lib/stacks/data-stack.ts @bodyscript/data-owners', '/runbooks/slo.md  @bodyscript/sre'].join('\n');
const OVERRIDE_BODY = 'Ships the fix for the 5xx.\n\nerror-budget override: this release is the fix for the outage that spent the budget';

let nextId = 1;
const review = (login: string, state: string, body = OVERRIDE_BODY, commit = HEAD) => ({
  id: nextId++,
  user: { login, type: 'User' },
  state,
  commit_id: commit,
  body,
  submitted_at: new Date(Date.UTC(2026, 11, 1, 8, nextId)).toISOString(),
  html_url: `https://github.com/${OWNER}/${REPO}/pull/7#pullrequestreview-${nextId}`,
});
const pull = (overrides: Record<string, unknown> = {}) => ({
  number: 7,
  merged_at: '2026-12-01T08:30:00Z',
  merge_commit_sha: MERGE,
  base: { ref: 'main', sha: BASE },
  head: { sha: HEAD },
  user: { login: 'author' },
  labels: [{ name: 'error-budget-override' }],
  ...overrides,
});

function github(setup: { pulls?: unknown[]; reviews?: unknown[]; sre?: string[]; pullsStatus?: number } = {}): FakeGitHub {
  const fake = new FakeGitHub();
  fake.on(`GET /repos/${OWNER}/${REPO}/commits/${MERGE}/pulls`, setup.pullsStatus ? { status: setup.pullsStatus, body: { message: 'Server Error' } } : { body: setup.pulls ?? [pull()] });
  fake.on(`GET /repos/${OWNER}/${REPO}/contents/.github%2FCODEOWNERS`, (request) =>
    request.query.get('ref') === BASE ? { body: fileContent('.github/CODEOWNERS', CODEOWNERS) } : { body: fileContent('.github/CODEOWNERS', '* @author') },
  );
  fake.on(`GET /repos/${OWNER}/${REPO}/pulls/7/reviews`, { body: setup.reviews ?? [] });
  for (const login of ['alice', 'bob', 'author', 'mallory']) {
    fake.on(`GET /orgs/${OWNER}/teams/sre/memberships/${login}`, (setup.sre ?? ['alice', 'author']).includes(login) ? { body: { state: 'active' } } : { status: 404, body: { message: 'Not Found' } });
  }
  return fake;
}

const commit = { owner: OWNER, repo: REPO, sha: MERGE };

describe('the error-budget override', () => {
  test('is the policy owners’ to give: the owners of runbooks/slo.md', () => {
    expect(ERROR_BUDGET_POLICY_PATHS).toEqual(['runbooks/slo.md']);
  });

  test('an approval of the head commit by a code owner of the policy whose review says "error-budget override: <reason>" allows the deploy, naming who, as what and why', async () => {
    const decision = await findErrorBudgetOverride(github({ reviews: [review('alice', 'APPROVED')] }).client(), commit);
    expect(decision).toEqual({
      allowed: true,
      approver: '@alice',
      as: '@bodyscript/sre',
      review: expect.stringMatching(/#pullrequestreview-\d+$/),
      pullRequest: 7,
      reason: 'this release is the fix for the outage that spent the budget',
    });
  });

  test('a label, however named, is no override; nor is an approval without the override line', async () => {
    const decision = await findErrorBudgetOverride(github({ reviews: [review('alice', 'APPROVED', 'LGTM')] }).client(), commit);
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toMatch(/approved by @alice, but no approving review says "error-budget override: <reason>"/);
  });

  test.each([
    ['the author, although a code owner', [review('author', 'APPROVED')], /no code owner of the error-budget policy \(@bodyscript\/sre\) has approved commit a{12}/],
    ['someone who is not a code owner of the policy', [review('bob', 'APPROVED')], /no code owner of the error-budget policy/],
    ['a code owner, but of an earlier commit', [review('alice', 'APPROVED', OVERRIDE_BODY, EARLIER)], /no code owner of the error-budget policy/],
    ['a code owner who later requested changes', [review('alice', 'APPROVED'), review('alice', 'CHANGES_REQUESTED', 'wait')], /@alice requested changes/],
  ])('is not given by %s', async (_who, reviews, reason) => {
    const decision = await findErrorBudgetOverride(github({ reviews }).client(), commit);
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toMatch(reason);
  });

  test('needs the one pull request merged into main as this commit', async () => {
    for (const pulls of [[], [pull({ merged_at: null })], [pull({ base: { ref: 'develop', sha: BASE } })], [pull({ merge_commit_sha: EARLIER })]]) {
      const decision = await findErrorBudgetOverride(github({ pulls, reviews: [review('alice', 'APPROVED')] }).client(), commit);
      expect(decision).toMatchObject({ allowed: false, reason: expect.stringMatching(/is the merge of no pull request into main/) });
    }
  });

  test('fails closed on an API it cannot read: no override, the reason says why', async () => {
    const decision = await findErrorBudgetOverride(github({ pullsStatus: 502 }).client(), commit);
    expect(decision).toMatchObject({ allowed: false, reason: expect.stringMatching(/^the GitHub API did not answer clearly: cannot list the pull requests of commit d{12}: 502/) });
  });

  test('reads the reason from its own line only, at least ten characters', () => {
    expect(overrideReason('error-budget override: rollback of the bad release')).toBe('rollback of the bad release');
    expect(overrideReason('Looks good.\nError-Budget Override:   security fix for CVE-2026-1  ')).toBe('security fix for CVE-2026-1');
    expect(overrideReason('error-budget override: yes')).toBeUndefined();
    expect(overrideReason('no error-budget override: needed here, fine')).toBeUndefined();
    expect(overrideReason(undefined)).toBeUndefined();
  });
});

describe('npm run error-budget-override', () => {
  const run = async (argv: string[], environment: Record<string, string> = { ERROR_BUDGET_TOKEN: 't' }, fake = github({ reviews: [review('alice', 'APPROVED')] })) => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const files: Record<string, string> = {};
    const code = await runErrorBudgetOverrideCli(argv, {
      environment,
      github: () => fake.client(),
      stdout: (l) => stdout.push(l),
      stderr: (l) => stderr.push(l),
      appendFile: (f, t) => (files[f] = (files[f] ?? '') + t),
    });
    return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n'), files };
  };

  test('prints the decision and hands it to the deploy job as the step output `decision`', async () => {
    const result = await run(['--repository', `${OWNER}/${REPO}`, '--commit', MERGE, '--github-output', '/out']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^error-budget override for d{12}: approved by @alice \(as @bodyscript\/sre\) on pull request #7/);
    const line = result.files['/out'];
    expect(line).toMatch(/^decision=\{.*\}\n$/);
    expect(JSON.parse(line.slice('decision='.length))).toMatchObject({ allowed: true, approver: '@alice' });
  });

  test('no override is not a failure of this job (the budget decides whether one is needed)', async () => {
    const result = await run(['--repository', `${OWNER}/${REPO}`, '--commit', MERGE, '--github-output', '/out'], { ERROR_BUDGET_TOKEN: 't' }, github({ reviews: [] }));
    expect(result.code).toBe(0);
    expect(JSON.parse(result.files['/out'].slice('decision='.length))).toMatchObject({ allowed: false });
  });

  test('refuses bad arguments and a missing token with exit 2, calling nothing', async () => {
    expect((await run(['--repository', 'nope', '--commit', MERGE])).code).toBe(2);
    expect((await run(['--repository', `${OWNER}/${REPO}`, '--commit', 'HEAD'])).code).toBe(2);
    expect((await run(['--label', 'error-budget-override'])).code).toBe(2);
    const fake = github();
    expect((await run(['--repository', `${OWNER}/${REPO}`, '--commit', MERGE], {}, fake)).code).toBe(2);
    expect(fake.requests).toHaveLength(0);
  });
});
