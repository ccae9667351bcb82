import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GATE_CHECK_NAME, GATE_COMMENT_MARKER, resolveGateTarget, runGateCheck, type GateCheckOptions } from '../../lib/diff-report/gate';
import { runGateCli, stepOutputs } from '../../lib/diff-report/gate-cli';
import { EXIT_DANGEROUS, EXIT_INPUT, EXIT_OK } from '../../lib/diff-report/run';
import { FakeGitHub, fileContent } from '../github-api-fake';
import { synthVariant, type Variant } from './fixture-app';

/**
 * The pull-request gate end to end: which commit a finished workflow run
 * stands for, the diff of real synthesized assemblies, the code-owner
 * allowance and what it publishes, against a GitHub API that answers like
 * GitHub (see ../github-api-fake.ts).
 */

const OWNER = 'bodyscript';
const REPO = 'bodyscript-infrastructure';
const REPOSITORY = { owner: OWNER, repo: REPO };
const HEAD = '1'.repeat(40);
const NEWER = '2'.repeat(40);
const BASE = '3'.repeat(40);
const R = `/repos/${OWNER}/${REPO}`;
const BOT = 'bodyscript-gate[bot]';

const pull = (number: number, overrides: Record<string, unknown> = {}) => ({
  number,
  state: 'open',
  user: { login: 'author' },
  head: { sha: HEAD, ref: 'feature/x' },
  base: { sha: BASE, ref: 'develop' },
  ...overrides,
});
const event = (run: Record<string, unknown>) => ({
  workflow_run: { id: 900, path: '.github/workflows/ci.yml', event: 'pull_request', head_sha: HEAD, status: 'completed', conclusion: 'success', pull_requests: [{ number: 7 }], ...run },
});

describe('which commit a finished workflow run stands for', () => {
  test('a successful ci run of a pull request into develop: check it, with that run’s assembly', async () => {
    const fake = new FakeGitHub().on(`GET ${R}/pulls/7`, { body: pull(7) });
    await expect(resolveGateTarget(fake.client(), REPOSITORY, event({}))).resolves.toEqual({ action: 'check', pullNumber: 7, headSha: HEAD, baseSha: BASE, baseRef: 'develop', ciRunId: 900 });
  });

  test('a fork’s pull request, which the run does not list, is found among the open pull requests by its head commit', async () => {
    const fake = new FakeGitHub().on(`GET ${R}/pulls`, { body: [pull(5, { head: { sha: NEWER } }), pull(8, { base: { sha: BASE, ref: 'main' } })] });
    const target = await resolveGateTarget(fake.client(), REPOSITORY, event({ pull_requests: [] }));
    expect(target).toMatchObject({ action: 'check', pullNumber: 8, baseRef: 'main' });
    expect(fake.calls(`GET ${R}/pulls`)[0].query.get('state')).toBe('open');
  });

  test('a review: the latest successful ci run of the commit supplies the assembly', async () => {
    const fake = new FakeGitHub()
      .on(`GET ${R}/pulls/7`, { body: pull(7) })
      .on(`GET ${R}/actions/workflows/ci.yml/runs`, {
        body: {
          total_count: 2,
          workflow_runs: [
            { id: 901, run_number: 11, status: 'completed', conclusion: 'success', head_sha: HEAD, event: 'pull_request' },
            { id: 905, run_number: 12, status: 'completed', conclusion: 'success', head_sha: HEAD, event: 'pull_request' },
          ],
        },
      });
    const target = await resolveGateTarget(fake.client(), REPOSITORY, event({ id: 950, path: '.github/workflows/pull-request-review.yml', event: 'pull_request_review' }));
    expect(target).toMatchObject({ action: 'check', ciRunId: 905 });
    const query = fake.calls(`GET ${R}/actions/workflows/ci.yml/runs`)[0].query;
    expect([query.get('head_sha'), query.get('event')]).toEqual([HEAD, 'pull_request']);
  });

  test('a review before ci has finished: nothing to check yet', async () => {
    const fake = new FakeGitHub()
      .on(`GET ${R}/pulls/7`, { body: pull(7) })
      .on(`GET ${R}/actions/workflows/ci.yml/runs`, { body: { total_count: 1, workflow_runs: [{ id: 901, run_number: 11, status: 'in_progress', conclusion: null, head_sha: HEAD, event: 'pull_request' }] } });
    const target = await resolveGateTarget(fake.client(), REPOSITORY, event({ path: '.github/workflows/pull-request-review.yml', event: 'pull_request_review' }));
    expect(target).toEqual({ action: 'skip', reason: `the ci.yml run of ${HEAD.slice(0, 12)} has not completed; the gate runs when it does` });
  });

  test('a failed ci run: the gate fails the commit (no assembly), it does not pass it', async () => {
    const fake = new FakeGitHub().on(`GET ${R}/pulls/7`, { body: pull(7) });
    const target = await resolveGateTarget(fake.client(), REPOSITORY, event({ conclusion: 'failure' }));
    expect(target).toEqual({ action: 'fail', pullNumber: 7, headSha: HEAD, baseSha: BASE, reason: `the ci.yml run 900 of ${HEAD.slice(0, 12)} did not succeed (failure), so there is no cloud assembly to check` });
  });

  test.each([
    ['a push', event({ event: 'push' }), `the .github/workflows/ci.yml run was triggered by push, not by a pull request`],
    ['a pull request into another branch', event({}), `pull request #7 targets 'feature/base'; the gate checks pull requests into develop and main only`, { base: { sha: BASE, ref: 'feature/base' } }],
    ['an older commit of a pull request that moved on', event({}), `${HEAD.slice(0, 12)} is not the head of an open pull request (closed, or a newer commit was pushed: its own run checks it)`, { head: { sha: NEWER } }],
    ['a closed pull request', event({}), `${HEAD.slice(0, 12)} is not the head of an open pull request (closed, or a newer commit was pushed: its own run checks it)`, { state: 'closed' }],
  ])('%s is skipped', async (_label, payload, reason, overrides: Record<string, unknown> = {}) => {
    const fake = new FakeGitHub().on(`GET ${R}/pulls/7`, { body: pull(7, overrides) });
    await expect(resolveGateTarget(fake.client(), REPOSITORY, payload)).resolves.toEqual({ action: 'skip', reason });
  });

  test('a commit that heads two open pull requests cannot be given one verdict', async () => {
    const fake = new FakeGitHub().on(`GET ${R}/pulls`, { body: [pull(5), pull(6, { base: { sha: BASE, ref: 'main' } })] });
    await expect(resolveGateTarget(fake.client(), REPOSITORY, event({ pull_requests: [] }))).rejects.toThrow(/is the head of several open pull requests \(#5, #6\)/);
  });

  test('an event that is not a workflow_run, or whose head is not a SHA, is refused', async () => {
    const client = new FakeGitHub().client();
    await expect(resolveGateTarget(client, REPOSITORY, { pull_request: {} })).rejects.toThrow('--event: not a workflow_run event (no workflow_run.id and .path)');
    await expect(resolveGateTarget(client, REPOSITORY, event({ head_sha: 'main; rm -rf /' }))).rejects.toThrow("--event: workflow_run.head_sha 'main; rm -rf /' is not a commit SHA");
  });

  test('step outputs carry only checked values, one per line', () => {
    expect(stepOutputs({ action: 'check', pullNumber: 7, headSha: HEAD, baseSha: BASE, baseRef: 'develop', ciRunId: 900 })).toBe(
      `action=check\npull-request=7\nhead-sha=${HEAD}\nbase-sha=${BASE}\nbase-ref=develop\nci-run-id=900\n`,
    );
    expect(stepOutputs({ action: 'skip', reason: 'a\nreason=x' })).toBe('action=skip\nreason=a reason=x\n');
  });
});

describe('checking a commit and publishing the verdict', () => {
  const assemblies = {} as Record<Variant, string>;
  let work: string;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-test-'));
    for (const variant of ['base', 'dangerous', 'harmless'] as const) assemblies[variant] = synthVariant(variant, path.join(work, variant));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const CODEOWNERS = '* @bodyscript/platform\n/lib/stacks/data-stack.ts @bodyscript/data-owners\n/lib/stacks/standby-data-stack.ts @bodyscript/data-owners\n/lib/stacks/backup-vault-stack.ts @bodyscript/data-owners\n';

  function github(reviews: unknown[] = [], comments: unknown[] = []): FakeGitHub {
    return new FakeGitHub()
      .on(`GET ${R}/pulls/7`, { body: pull(7) })
      .on(`GET ${R}/contents/.github%2FCODEOWNERS`, { body: fileContent('.github/CODEOWNERS', CODEOWNERS) })
      .on(`GET ${R}/pulls/7/reviews`, { body: reviews })
      .on(`GET /orgs/${OWNER}/teams/data-owners/memberships/alice`, { body: { state: 'active' } })
      .on(`GET ${R}/issues/7/comments`, { body: comments })
      .on(`POST ${R}/check-runs`, { status: 201, body: { id: 1 } })
      .on(`POST ${R}/issues/7/comments`, { status: 201, body: { id: 2 } })
      .on(`PATCH ${R}/issues/comments/77`, { body: { id: 77 } });
  }

  let runs = 0;
  async function check(fake: FakeGitHub, variant: Variant | undefined, overrides: Partial<GateCheckOptions> = {}) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const options: GateCheckOptions = {
      ...REPOSITORY,
      pullNumber: 7,
      headSha: HEAD,
      baseSha: BASE,
      assemblyDir: variant && assemblies[variant],
      baselineDir: assemblies.base,
      outFile: path.join(work, `report-${++runs}.md`),
      publish: true,
      botLogin: BOT,
      detailsUrl: 'https://github.com/bodyscript/bodyscript-infrastructure/actions/runs/1',
      ...overrides,
    };
    const code = await runGateCheck(fake.client(), options, { stdout: (t) => stdout.push(t), stderr: (l) => stderr.push(l) });
    const checkRun = fake.calls(`POST ${R}/check-runs`)[0]?.body as { name: string; head_sha: string; conclusion: string; output: { title: string; summary: string } } | undefined;
    return { code, markdown: stdout.join(''), stderr: stderr.join('\n'), checkRun };
  }

  test('a harmless change passes without reading a single review, and says so in the check and one comment', async () => {
    const fake = github();
    const result = await check(fake, 'harmless');

    expect(result.code).toBe(EXIT_OK);
    expect(result.checkRun).toMatchObject({ name: GATE_CHECK_NAME, head_sha: HEAD, status: 'completed', conclusion: 'success', output: { title: 'No dangerous stateful change' } });
    expect(result.checkRun!.output.summary).toContain('# Infrastructure diff');
    expect(fake.calls(`GET ${R}/pulls/7/reviews`)).toEqual([]);
    const comment = fake.calls(`POST ${R}/issues/7/comments`)[0].body as { body: string };
    expect(comment.body.startsWith(`${GATE_COMMENT_MARKER}\n# Infrastructure diff`)).toBe(true);
    expect(comment.body).toContain(`commit ${HEAD}`);
    expect(fake.unrouted).toEqual([]);
  });

  test('a database replacement without a code owner’s approval fails the check and says who may allow it', async () => {
    const fake = github([{ id: 1, user: { login: 'mallory' }, state: 'APPROVED', commit_id: HEAD, submitted_at: '2026-12-01T10:00:00Z' }]);
    const result = await check(fake, 'dangerous');

    expect(result.code).toBe(EXIT_DANGEROUS);
    expect(result.checkRun).toMatchObject({ conclusion: 'failure', output: { title: `🛑 1 dangerous stateful change: needs a code owner's approval of ${HEAD.slice(0, 12)}` } });
    const summary = result.checkRun!.output.summary;
    expect(summary.startsWith('> [!CAUTION]')).toBe(true);
    expect(summary).toContain(`> **Not allowed:** no code owner of the data stacks (@bodyscript/data-owners) has approved commit ${HEAD.slice(0, 12)}.`);
    expect(summary).toContain('> - the approval of @mallory does not count: is not a code owner of the data stacks');
    expect(summary).toContain('a code owner of the data stacks (@bodyscript/data-owners) approves the pull request at this commit');
    expect(summary).toContain(`Compared with the base commit \`${BASE.slice(0, 12)}\` (synthesized by the gate).`);
    expect(result.stderr).toContain('not allowed: no code owner');
    expect(fake.unrouted.filter((u) => !u.includes('/memberships/mallory'))).toEqual([]);
  });

  test('an approval of this commit by a code owner allows it, and the report names who allowed it', async () => {
    const fake = github([{ id: 1, user: { login: 'alice' }, state: 'APPROVED', commit_id: HEAD, submitted_at: '2026-12-01T10:00:00Z', html_url: 'https://github.com/r/pull/7#pullrequestreview-1' }]);
    const result = await check(fake, 'dangerous');

    expect(result.code).toBe(EXIT_OK);
    expect(result.checkRun).toMatchObject({ conclusion: 'success', output: { title: '⚠️ 1 dangerous stateful change, allowed by @alice' } });
    expect(result.checkRun!.output.summary).toContain(
      `Allowed by the approval of commit \`${HEAD.slice(0, 12)}\` by [@alice](https://github.com/r/pull/7#pullrequestreview-1) (code owner as @bodyscript/data-owners).`,
    );
  });

  test('the gate updates its own comment, and leaves a comment that only pretends to be it', async () => {
    const forged = { id: 66, user: { login: 'mallory' }, body: `${GATE_COMMENT_MARKER}\nAll good!` };
    const own = { id: 77, user: { login: BOT }, body: `${GATE_COMMENT_MARKER}\nold report` };
    const fake = github([], [forged, own]);
    await check(fake, 'harmless');
    expect(fake.calls(`PATCH ${R}/issues/comments/77`)).toHaveLength(1);
    expect(fake.calls(`POST ${R}/issues/7/comments`)).toHaveLength(0);
    expect(fake.requests.filter((r) => r.path.endsWith('/comments/66'))).toEqual([]);
  });

  test('when there is nothing to compare (ci failed) the check fails with the reason', async () => {
    const fake = github();
    const result = await check(fake, undefined, { unavailable: 'the ci.yml run 900 did not succeed (failure)' });
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.checkRun).toMatchObject({ conclusion: 'failure', output: { title: `Could not check ${HEAD.slice(0, 12)}` } });
    expect(result.checkRun!.output.summary).toContain('The gate fails closed');
  });

  test('an uploaded "assembly" that is not one fails the check instead of passing it', async () => {
    const fake = github();
    const bogus = fs.mkdtempSync(path.join(work, 'bogus-'));
    fs.writeFileSync(path.join(bogus, 'manifest.json'), '{"version": "1", "artifacts": {}}');
    const result = await check(fake, undefined, { assemblyDir: bogus });
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.checkRun).toMatchObject({ conclusion: 'failure' });
    expect(result.checkRun!.output.summary).toContain('contains no CloudFormation stacks');
  });

  test('a pull request that moved on while the gate ran is not judged on its old commit', async () => {
    const fake = github([{ id: 1, user: { login: 'alice' }, state: 'APPROVED', commit_id: HEAD, submitted_at: '2026-12-01T10:00:00Z' }]).on(`GET ${R}/pulls/7`, { body: pull(7, { head: { sha: NEWER } }) });
    const result = await check(fake, 'dangerous');
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.checkRun!.conclusion).toBe('failure');
    expect(result.stderr).toContain(`now has head ${NEWER.slice(0, 12)}`);
  });

  test('if the verdict cannot be published the command fails', async () => {
    const fake = github().on(`POST ${R}/check-runs`, { status: 403, body: { message: 'Resource not accessible by integration' } });
    const result = await check(fake, 'harmless');
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toMatch(/^cannot publish the gate's verdict on 1{12}: 403 Resource not accessible by integration/);
  });

  test('without --publish nothing is written to GitHub', async () => {
    const fake = github();
    const result = await check(fake, 'harmless', { publish: false });
    expect(result.code).toBe(EXIT_OK);
    expect(fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });
});

describe('npm run stateful-gate', () => {
  async function cli(argv: string[], environment: NodeJS.ProcessEnv = { GATE_TOKEN: 'ghs_test' }, fake = new FakeGitHub()) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const tokens: string[] = [];
    const code = await runGateCli(argv, { environment, github: (token) => (tokens.push(token), fake.client(token)), stdout: (t) => stdout.push(t), stderr: (l) => stderr.push(l) });
    return { code, stdout: stdout.join(''), stderr: stderr.join('\n'), tokens, fake };
  }
  const checkArgs = ['check', '--repository', `${OWNER}/${REPO}`, '--pull-request', '7', '--head-sha', HEAD, '--base-sha', BASE, '--unavailable', 'x'];

  test('refuses to run without GATE_TOKEN, before any request', async () => {
    const result = await cli(checkArgs, {});
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toBe('GATE_TOKEN is not set: the gate reads reviews and publishes its verdict with a GitHub token and never runs without one');
    expect(result.tokens).toEqual([]);
  });

  test.each([
    [['check', '--repository', 'bodyscript'], "--repository must be <owner>/<repository> as GitHub spells it, got 'bodyscript'"],
    [[...checkArgs.slice(0, 6), 'abc', ...checkArgs.slice(7)], "--head-sha must be a full 40-character commit SHA, got 'abc'"],
    [[...checkArgs, '--publish'], '--publish needs --bot-login <app-slug>[bot], so that the gate updates only its own comment'],
    [checkArgs.filter((a) => a !== '--unavailable' && a !== 'x'), 'check needs --assembly and --baseline, or --unavailable <reason> (see --help)'],
    [['check', '--repository', '--pull-request', '7'], '--repository needs a value (see --help)'],
    [['approve'], "unknown command 'approve': expected target or check (see --help)"],
  ])('%j is refused: %s', async (argv, message) => {
    const result = await cli(argv);
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toBe(message);
    expect(result.fake.requests).toEqual([]);
  });

  test('target writes the step outputs to the given file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-cli-'));
    const eventFile = path.join(dir, 'event.json');
    const outputFile = path.join(dir, 'output');
    fs.writeFileSync(eventFile, JSON.stringify(event({})));
    const fake = new FakeGitHub().on(`GET ${R}/pulls/7`, { body: pull(7) });
    const result = await cli(['target', '--repository', `${OWNER}/${REPO}`, '--event', eventFile, '--github-output', outputFile], { GATE_TOKEN: 'ghs_test' }, fake);

    expect(result.code).toBe(EXIT_OK);
    expect(fs.readFileSync(outputFile, 'utf8')).toBe(`action=check\npull-request=7\nhead-sha=${HEAD}\nbase-sha=${BASE}\nbase-ref=develop\nci-run-id=900\n`);
    expect(fake.requests[0].authorization).toBe('token ghs_test');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
