import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENT_NAMES, loadConfig } from '../lib/config';
import { GATE_CHECK_NAME } from '../lib/diff-report/gate';
import { DEPLOY_BRANCH, deploySubjects, OIDC_SUBJECT_CLAIM_KEYS } from '../lib/github-repository';
import { EXIT_SETTINGS_DIFFER, EXIT_SETTINGS_INPUT, EXIT_SETTINGS_OK, runSettingsCli } from '../lib/github-settings/cli';
import { CI_CHECK_NAME, desiredSettings, GITHUB_ACTIONS_APP_ID } from '../lib/github-settings/desired';
import { ADMIN_TOKEN, FakeGitHubRepository } from './support/fake-github-repository';

const github = loadConfig().project.github;
const desired = desiredSettings(github, GATE_CHECK_NAME);
const GATE_APP_ID = 424242;

async function run(repository: FakeGitHubRepository, argv: string[], token: string | null = ADMIN_TOKEN) {
  let stdout = '';
  const stderr: string[] = [];
  const code = await runSettingsCli(argv, {
    environment: token === null ? {} : { GITHUB_TOKEN: token },
    desired,
    github: (t) => repository.client(t),
    stdout: (text) => (stdout += text),
    stderr: (line) => stderr.push(line),
  });
  return { code, stdout, stderr: stderr.join('\n') };
}

/** A repository as GitHub creates it, with the two secrets where the old workflows read them (repository secrets). */
function freshRepository(): FakeGitHubRepository {
  const repository = new FakeGitHubRepository(github.owner, github.repository);
  repository.repositorySecrets = ['SENTRY_AUTH_TOKEN', 'SLACK_WEBHOOK_URL'];
  return repository;
}

/** A repository set up as desired: --apply on a fresh one, then the environment secrets a person sets. */
async function configuredRepository(): Promise<FakeGitHubRepository> {
  const repository = freshRepository();
  await run(repository, ['--apply', '--gate-app-id', String(GATE_APP_ID)]);
  for (const [name, environment] of repository.environments) {
    const wanted = desired.environments.find((e) => e.name === name)!;
    environment.secrets = [...wanted.requiredSecrets, ...wanted.optionalSecrets];
  }
  await run(repository, ['--apply']);
  repository.api.requests.length = 0;
  return repository;
}

describe('npm run github-settings', () => {
  test('a dry run (no flag) reports every difference of a fresh repository, exits 0 and writes nothing', async () => {
    const repository = freshRepository();
    const { code, stdout } = await run(repository, []);
    expect(code).toBe(EXIT_SETTINGS_OK);
    expect(repository.writes()).toEqual([]);
    expect(stdout).toContain('(dry run)');
    expect(stdout).toContain('- default branch: expected develop; found main.');
    expect(stdout).toContain('- OIDC subject template: expected include_claim_keys repo, context, job_workflow_ref (in this order)');
    expect(stdout).toContain(
      `--apply: set the OIDC subject template (PUT /repos/${github.owner}/${github.repository}/actions/oidc/customization/sub {"use_default":false,"include_claim_keys":["repo","context","job_workflow_ref"]})`,
    );
    for (const name of ['staging', 'production', 'staging-reporting', 'production-reporting', 'stateful-change-gate']) expect(stdout).toContain(`- environment ${name}: `);
    expect(stdout).toContain('- repository secret SENTRY_AUTH_TOKEN: expected only in environment(s) production-reporting, staging-reporting');
    expect(stdout).toContain('by hand: give the stateful-change gate App’s id');
  });

  test('--check exits 1 on the same repository, and 0 once it is configured, reading only', async () => {
    expect((await run(freshRepository(), ['--check'])).code).toBe(EXIT_SETTINGS_DIFFER);
    const repository = await configuredRepository();
    const { code, stdout } = await run(repository, ['--check']);
    expect(stdout).toBe(`${github.owner}/${github.repository}: every setting the pipeline relies on is as lib/github-settings/desired.ts says (check).\n`);
    expect(code).toBe(EXIT_SETTINGS_OK);
    expect(repository.writes()).toEqual([]);
    expect(repository.api.unrouted).toEqual([]);
  });

  test('--apply sets what an API call can set, within what GitHub accepts, and leaves secret values to a person', async () => {
    const repository = freshRepository();
    const { code, stdout } = await run(repository, ['--apply', '--gate-app-id', String(GATE_APP_ID)]);
    expect(code).toBe(EXIT_SETTINGS_DIFFER);
    expect(repository.defaultBranch).toBe('develop');
    expect(repository.oidc).toEqual({ use_default: false, include_claim_keys: [...OIDC_SUBJECT_CLAIM_KEYS] });

    const production = repository.environments.get('production')!;
    expect(production.reviewers).toEqual([{ type: 'Team', id: repository.teams.get('platform') }]);
    expect(production.preventSelfReview).toBe(true);
    expect(production.policy).toEqual({ protected_branches: false, custom_branch_policies: true });
    expect(production.branchPolicies.map((p) => `${p.type}:${p.name}`)).toEqual([`branch:${DEPLOY_BRANCH.production}`]);
    const staging = repository.environments.get('staging')!;
    expect(staging.reviewers).toEqual([]);
    expect(staging.branchPolicies.map((p) => p.name)).toEqual(['develop']);
    expect(repository.environments.get('production-reporting')!.branchPolicies.map((p) => p.name)).toEqual(['main']);
    expect(repository.environments.get('stateful-change-gate')!.branchPolicies.map((p) => p.name)).toEqual(['develop']);

    expect(repository.rulesets).toHaveLength(1);
    const ruleset = repository.rulesets[0];
    expect(ruleset).toMatchObject({ name: 'BodyScript protected branches', target: 'branch', enforcement: 'active', bypass_actors: [] });
    expect(ruleset.conditions.ref_name.include).toEqual(['refs/heads/develop', 'refs/heads/main']);
    expect(ruleset.rules.find((r) => r.type === 'required_status_checks')?.parameters?.required_status_checks).toEqual([
      { context: CI_CHECK_NAME, integration_id: GITHUB_ACTIONS_APP_ID },
      { context: GATE_CHECK_NAME, integration_id: GATE_APP_ID },
    ]);

    // The repository secrets stay until the environments hold their own: deleting them first would break the next deploy.
    expect(repository.repositorySecrets).toEqual(['SENTRY_AUTH_TOKEN', 'SLACK_WEBHOOK_URL']);
    expect(stdout).toContain(`by hand: gh secret set SENTRY_AUTH_TOKEN --env production-reporting --repo ${github.owner}/${github.repository}`);
    expect(stdout).toContain('by hand: set it in production-reporting, staging-reporting first');
    expect(stdout).toContain('- repository secret SLACK_WEBHOOK_URL: ');
    expect(stdout).not.toMatch(/- (default branch|OIDC|environment|ruleset)/);
  });

  test('--apply deletes the repository secrets once every environment that needs them has its own', async () => {
    const repository = await configuredRepository();
    expect(repository.repositorySecrets).toEqual([]);
    expect((await run(repository, ['--check'])).code).toBe(EXIT_SETTINGS_OK);
  });

  test('a second --apply changes nothing', async () => {
    const repository = await configuredRepository();
    const { code, stdout } = await run(repository, ['--apply']);
    expect(code).toBe(EXIT_SETTINGS_OK);
    expect(stdout).not.toContain('applied:');
    expect(repository.writes()).toEqual([]);
  });

  type Drift = (repository: FakeGitHubRepository) => void;
  const ruleset = (r: FakeGitHubRepository) => r.rulesets[0];
  const rule = (r: FakeGitHubRepository, type: string) => ruleset(r).rules.find((x) => x.type === type)!;
  const checks = (r: FakeGitHubRepository) => rule(r, 'required_status_checks').parameters!.required_status_checks as { context: string; integration_id?: number }[];
  test.each<[string, Drift, string]>([
    ['production approvable by the person who started the run', (r) => (r.environments.get('production')!.preventSelfReview = false), 'environment production: expected'],
    ['production without reviewers', (r) => (r.environments.get('production')!.reviewers = []), 'reviewers (none)'],
    ['production approvable by one user instead of the team', (r) => (r.environments.get('production')!.reviewers = [{ type: 'User', id: 7 }]), 'reviewers user octocat'],
    ['production admitting release tags (H1)', (r) => r.environments.get('production')!.branchPolicies.push({ id: 1, name: 'v*', type: 'tag' }), 'deployment tags v*'],
    ['production admitting every protected branch', (r) => (r.environments.get('production')!.policy = { protected_branches: true, custom_branch_policies: false }), 'every protected branch may deploy'],
    ['staging admitting any branch', (r) => (r.environments.get('staging')!.policy = null), 'environment staging: expected deployment branches develop only'],
    ['a reporting environment missing', (r) => r.environments.delete('production-reporting'), 'environment production-reporting: expected deployment branches main only; reviewers (none); found does not exist'],
    ['the gate check accepted from any source', (r) => (checks(r)[1] = { context: GATE_CHECK_NAME }), `check "${GATE_CHECK_NAME}" accepted from any source`],
    ['the gate check accepted from GitHub Actions (any workflow)', (r) => (checks(r)[1] = { context: GATE_CHECK_NAME, integration_id: GITHUB_ACTIONS_APP_ID }), `accepted from app ${GITHUB_ACTIONS_APP_ID}`],
    ['the ci check not required', (r) => checks(r).splice(0, 1), `check "${CI_CHECK_NAME}" not required`],
    ['a bypass actor on the ruleset', (r) => ruleset(r).bypass_actors.push({ actor_id: 5, actor_type: 'RepositoryRole', bypass_mode: 'always' }), '1 bypass actor(s)'],
    ['the ruleset only evaluated', (r) => (ruleset(r).enforcement = 'evaluate'), 'enforcement is evaluate'],
    ['no approval required', (r) => (rule(r, 'pull_request').parameters!.required_approving_review_count = 0), '0 required approval(s)'],
    ['the last pusher may approve', (r) => (rule(r, 'pull_request').parameters!.require_last_push_approval = false), 'the last pusher may approve'],
    ['main left out of the ruleset', (r) => (ruleset(r).conditions.ref_name.include = ['refs/heads/develop']), 'does not cover main'],
    ['force pushes allowed', (r) => (ruleset(r).rules = ruleset(r).rules.filter((x) => x.type !== 'non_fast_forward')), 'no non_fast_forward rule'],
    ['GitHub’s default OIDC subject (no workflow in it)', (r) => (r.oidc = { use_default: true }), 'OIDC subject template: expected'],
    ['the OIDC claim keys in another order', (r) => (r.oidc = { use_default: false, include_claim_keys: ['context', 'repo', 'job_workflow_ref'] }), 'found include_claim_keys context, repo, job_workflow_ref'],
    ['SENTRY_AUTH_TOKEN as a repository secret again', (r) => r.repositorySecrets.push('SENTRY_AUTH_TOKEN'), 'repository secret SENTRY_AUTH_TOKEN'],
    ['SLACK_WEBHOOK_URL shared by the organization', (r) => r.organizationSecrets.push('SLACK_WEBHOOK_URL'), 'organization secret SLACK_WEBHOOK_URL'],
    ['the gate App key missing', (r) => (r.environments.get('stateful-change-gate')!.secrets = []), 'secret GATE_APP_PRIVATE_KEY of environment stateful-change-gate: expected set; found missing'],
    ['the default branch moved to main', (r) => (r.defaultBranch = 'main'), 'default branch: expected develop; found main'],
  ])('--check exits 1 on %s', async (_label, drift, expected) => {
    const repository = await configuredRepository();
    drift(repository);
    const { code, stdout } = await run(repository, ['--check']);
    expect(stdout).toContain(expected);
    expect(code).toBe(EXIT_SETTINGS_DIFFER);
    expect(repository.writes()).toEqual([]);
  });

  test('--apply repairs drift back within what GitHub accepts (tag policy deleted, self-review prevented again, the gate check’s source kept)', async () => {
    const repository = await configuredRepository();
    const production = repository.environments.get('production')!;
    production.preventSelfReview = false;
    production.branchPolicies.push({ id: 1, name: 'v*', type: 'tag' });
    checks(repository).splice(0, 1);
    const { code } = await run(repository, ['--apply']);
    expect(code).toBe(EXIT_SETTINGS_OK);
    expect(repository.environments.get('production')!.preventSelfReview).toBe(true);
    expect(repository.environments.get('production')!.branchPolicies.map((p) => `${p.type}:${p.name}`)).toEqual(['branch:main']);
    expect(checks(repository).map((c) => c.integration_id)).toEqual([GITHUB_ACTIONS_APP_ID, GATE_APP_ID]);
  });

  test('a ruleset whose gate check has no valid source is not guessed: --apply asks for --gate-app-id and exits 1', async () => {
    const repository = await configuredRepository();
    checks(repository)[1] = { context: GATE_CHECK_NAME };
    const { code, stdout } = await run(repository, ['--apply']);
    expect(code).toBe(EXIT_SETTINGS_DIFFER);
    expect(stdout).toContain('by hand: give the stateful-change gate App’s id: npm run github-settings -- --apply --gate-app-id <id>');
    expect(checks(repository)[1]).toEqual({ context: GATE_CHECK_NAME });
  });

  test('a token that is not an administrator’s: --apply stops at the first refusal, exit 2, naming the permission', async () => {
    const repository = freshRepository();
    const { code, stderr } = await run(repository, ['--apply', '--gate-app-id', String(GATE_APP_ID)], 'read-only-token');
    expect(code).toBe(EXIT_SETTINGS_INPUT);
    expect(stderr).toMatch(/^set the default branch to develop \(PATCH \/repos\/.+\) was refused: 403 .*\(the token needs "Administration: write" on the repository/);
    expect(repository.writes()).toEqual([`PATCH /repos/${github.owner}/${github.repository}`]);
    expect(repository.defaultBranch).toBe('main');
  });

  test.each([
    [['--check', '--apply'], '--check and --apply exclude each other: --check only reads, --apply changes (see --help)'],
    [['--gate-app-id'], '--gate-app-id needs a value (see --help)'],
    [['--apply', '--gate-app-id', 'abc'], "--gate-app-id must be the numeric id of the gate's own GitHub App (not GitHub Actions, 15368), got 'abc'"],
    [['--apply', '--gate-app-id', '15368'], "--gate-app-id must be the numeric id of the gate's own GitHub App (not GitHub Actions, 15368), got '15368'"],
    [['--force'], "Unknown option '--force' (see --help)"],
  ])('refuses %j with exit 2 and calls nothing', async (argv, message) => {
    const repository = freshRepository();
    const { code, stderr } = await run(repository, argv);
    expect(stderr).toBe(message);
    expect(code).toBe(EXIT_SETTINGS_INPUT);
    expect(repository.api.requests).toEqual([]);
  });

  test('refuses to run without GITHUB_TOKEN', async () => {
    const repository = freshRepository();
    const { code, stderr } = await run(repository, ['--check'], null);
    expect(code).toBe(EXIT_SETTINGS_INPUT);
    expect(stderr).toBe('GITHUB_TOKEN is not set: give a repository administrator’s token, e.g. GITHUB_TOKEN=$(gh auth token) npm run github-settings -- --check');
    expect(repository.api.requests).toEqual([]);
  });
});

/** The fake refuses what GitHub refuses; without that, the tests above would prove nothing about --apply. */
describe('the fake GitHub repository', () => {
  const repository = () => new FakeGitHubRepository(github.owner, github.repository);
  const { owner, repository: repo } = github;
  const status = async (request: Promise<unknown>) => request.then(() => 200, (error: { status?: number }) => error.status);

  test('refuses prevent_self_review without a reviewer, equal branch-policy flags and seven reviewers (422)', async () => {
    const r = repository();
    const put = (body: Record<string, unknown>) => status(r.client().request('PUT /repos/{owner}/{repo}/environments/{environment_name}', { owner, repo, environment_name: 'production', ...body }));
    expect(await put({ prevent_self_review: true, reviewers: [] })).toBe(422);
    expect(await put({ deployment_branch_policy: { protected_branches: true, custom_branch_policies: true } })).toBe(422);
    expect(await put({ deployment_branch_policy: { protected_branches: false, custom_branch_policies: false } })).toBe(422);
    expect(await put({ reviewers: Array.from({ length: 7 }, () => ({ type: 'Team', id: 101 })) })).toBe(422);
    expect(await put({ reviewers: [{ type: 'Team', id: 999 }] })).toBe(422);
    expect(await put({ wait_timer: 43201 })).toBe(422);
    expect(await put({ reviewers: [{ type: 'Team', id: 101 }], prevent_self_review: true })).toBe(200);
  });

  test('refuses a deployment branch policy unless the environment uses custom policies (404)', async () => {
    const r = repository();
    const client = r.client();
    await client.request('PUT /repos/{owner}/{repo}/environments/{environment_name}', { owner, repo, environment_name: 'staging', deployment_branch_policy: { protected_branches: true, custom_branch_policies: false } });
    expect(await status(client.request('POST /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies', { owner, repo, environment_name: 'staging', name: 'develop', type: 'branch' }))).toBe(404);
  });

  test('refuses an OIDC template without keys or with a malformed key, a missing default branch and a second ruleset of one name (422)', async () => {
    const client = repository().client();
    expect(await status(client.request('PUT /repos/{owner}/{repo}/actions/oidc/customization/sub', { owner, repo, use_default: false }))).toBe(422);
    expect(await status(client.request('PUT /repos/{owner}/{repo}/actions/oidc/customization/sub', { owner, repo, use_default: false, include_claim_keys: ['job-workflow-ref'] }))).toBe(422);
    expect(await status(client.request('PATCH /repos/{owner}/{repo}', { owner, repo, default_branch: 'trunk' }))).toBe(422);
    const ruleset = { owner, repo, name: 'x', target: 'branch' as const, enforcement: 'active' as const };
    expect(await status(client.request('POST /repos/{owner}/{repo}/rulesets', ruleset))).toBe(200);
    expect(await status(client.request('POST /repos/{owner}/{repo}/rulesets', ruleset))).toBe(422);
  });

  test('refuses every write of a token that is not an administrator’s (403)', async () => {
    expect(await status(repository().client('read-only').request('PUT /repos/{owner}/{repo}/actions/oidc/customization/sub', { owner, repo, use_default: true }))).toBe(403);
  });
});

describe('the deployment guide', () => {
  const guide = fs.readFileSync(path.join(__dirname, '..', 'runbooks', 'deployment-guide.md'), 'utf8');

  test('states the exact subject template call and every subject the deploy roles accept', () => {
    expect(guide).toContain(`repos/${github.owner}/${github.repository}/actions/oidc/customization/sub`);
    expect(guide).toContain(`'{"use_default": false, "include_claim_keys": [${OIDC_SUBJECT_CLAIM_KEYS.map((k) => `"${k}"`).join(', ')}]}'`);
    for (const env of ENVIRONMENT_NAMES) {
      const [deploy, drill] = deploySubjects(github, env);
      expect(guide).toContain(deploy);
      expect(drill).toBe(deploy.replace(`deploy-${env}.yml`, 'dr-drill.yml'));
    }
  });

  test('names every environment github-settings keeps and the commands to run it', () => {
    for (const environment of desired.environments) expect(guide).toContain(`\`${environment.name}\``);
    expect(guide).toContain('npm run github-settings -- --check');
    expect(guide).toContain(`ruleset \`${desired.ruleset.name}\``);
  });
});
