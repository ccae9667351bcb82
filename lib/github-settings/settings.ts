import type { Octokit } from '@octokit/rest';
import { type DesiredEnvironment, type DesiredRuleset, type DesiredSettings, environmentSecrets } from './desired';

/**
 * Reads the repository's settings through the GitHub REST API, compares them
 * with DesiredSettings and says, for each difference, what is wrong and what
 * `--apply` would do about it. Nothing here writes unless `applyFindings` is
 * called; secret VALUES are never read or written (GitHub never returns them,
 * and this tool has none): a missing secret is reported with the command that
 * sets it.
 */

/** A GitHub answer the tool cannot use (permission, rate limit, an unexpected shape): exit 2, nothing more is changed. */
export class SettingsApiError extends Error {}

export interface Change {
  /** What the change does, in one line (printed by the dry run and by --apply). */
  readonly summary: string;
  readonly apply: (github: Octokit) => Promise<void>;
}

export interface Finding {
  /** The setting, e.g. `environment production: required reviewers`. */
  readonly setting: string;
  readonly expected: string;
  readonly actual: string;
  /** Why the setting matters. */
  readonly why: string;
  /** What --apply does; absent when a person must act (a secret value, an app id). */
  readonly change?: Change;
  /** What the person must do when there is no change. */
  readonly manual?: string;
}

export interface InspectOptions {
  /** The numeric id of the stateful-change gate's GitHub App, the required source of its check; needed only to create or repair the ruleset. */
  readonly gateAppId?: number;
}

// A type alias, not an interface: octokit's request parameters need an index signature.
type Repo = { readonly owner: string; readonly repo: string };

const list = (values: readonly string[]) => (values.length === 0 ? '(none)' : [...values].sort().join(', '));

/** Every difference between the repository and `desired`, in the order --apply fixes them. */
export async function inspectSettings(github: Octokit, desired: DesiredSettings, options: InspectOptions = {}): Promise<Finding[]> {
  const repo: Repo = { owner: desired.owner, repo: desired.repo };
  return [
    ...(await inspectDefaultBranch(github, repo, desired)),
    ...(await inspectOidcSubject(github, repo, desired)),
    ...(await inspectRuleset(github, repo, desired.ruleset, options)),
    ...(await inspectEnvironments(github, repo, desired)),
    ...(await inspectSecrets(github, repo, desired)),
  ];
}

/**
 * Applies every finding that has a change, in order, and stops at the first
 * refusal (nothing after it is attempted). Returns the summaries applied.
 */
export async function applyFindings(github: Octokit, findings: readonly Finding[]): Promise<string[]> {
  const applied: string[] = [];
  for (const finding of findings) {
    if (!finding.change) continue;
    try {
      await finding.change.apply(github);
    } catch (error) {
      throw apiError(`${finding.change.summary} was refused`, error, 'Administration: write');
    }
    applied.push(finding.change.summary);
  }
  return applied;
}

async function inspectDefaultBranch(github: Octokit, repo: Repo, desired: DesiredSettings): Promise<Finding[]> {
  const { data } = await call('reading the repository', 'Metadata: read', () => github.request('GET /repos/{owner}/{repo}', repo));
  if (data.default_branch === desired.defaultBranch) return [];
  return [
    {
      setting: 'default branch',
      expected: desired.defaultBranch,
      actual: data.default_branch,
      why: 'workflow_run workflows (the stateful-change gate) run the default branch’s files: it must be a branch only reviewed pull requests change',
      change: {
        summary: `set the default branch to ${desired.defaultBranch} (PATCH /repos/${repo.owner}/${repo.repo})`,
        apply: async (gh) => void (await gh.request('PATCH /repos/{owner}/{repo}', { ...repo, default_branch: desired.defaultBranch })),
      },
    },
  ];
}

async function inspectOidcSubject(github: Octokit, repo: Repo, desired: DesiredSettings): Promise<Finding[]> {
  const { data } = await call('reading the OIDC subject template', 'Administration: read', () => github.request('GET /repos/{owner}/{repo}/actions/oidc/customization/sub', repo));
  const keys = data.use_default ? [] : (data.include_claim_keys ?? []);
  if (!data.use_default && keys.join(',') === desired.oidcClaimKeys.join(',')) return [];
  const body = { use_default: false, include_claim_keys: [...desired.oidcClaimKeys] };
  return [
    {
      setting: 'OIDC subject template',
      expected: `include_claim_keys ${desired.oidcClaimKeys.join(', ')} (in this order)`,
      actual: data.use_default ? 'GitHub’s default (repo:<owner>/<repo>:environment:<name>, no workflow)' : `include_claim_keys ${keys.join(', ') || '(none)'}`,
      why: 'the deploy roles trust only subjects that name the deploy workflow and its branch (job_workflow_ref); until this is set no deploy can get AWS credentials',
      change: {
        summary: `set the OIDC subject template (PUT /repos/${repo.owner}/${repo.repo}/actions/oidc/customization/sub ${JSON.stringify(body)})`,
        apply: async (gh) => void (await gh.request('PUT /repos/{owner}/{repo}/actions/oidc/customization/sub', { ...repo, ...body })),
      },
    },
  ];
}

interface RulesetRule {
  readonly type: string;
  readonly parameters?: Record<string, unknown>;
}
interface RulesetDetail {
  readonly id: number;
  readonly name: string;
  readonly target?: string;
  readonly enforcement: string;
  readonly bypass_actors?: readonly unknown[];
  readonly conditions?: { readonly ref_name?: { readonly include?: readonly string[]; readonly exclude?: readonly string[] } } | null;
  readonly rules?: readonly RulesetRule[];
}

async function inspectRuleset(github: Octokit, repo: Repo, desired: DesiredRuleset, options: InspectOptions): Promise<Finding[]> {
  const summaries = await call('listing the rulesets', 'Administration: read', () =>
    github.paginate('GET /repos/{owner}/{repo}/rulesets', { ...repo, includes_parents: false, per_page: 100 }),
  );
  const summary = summaries.find((s) => s.name === desired.name);
  const current = summary
    ? ((await call(`reading the ruleset "${desired.name}"`, 'Administration: read', () => github.request('GET /repos/{owner}/{repo}/rulesets/{ruleset_id}', { ...repo, ruleset_id: summary.id })))
        .data as unknown as RulesetDetail)
    : undefined;
  const problems = current ? rulesetProblems(current, desired) : [`no ruleset named "${desired.name}"`];
  if (problems.length === 0) return [];

  const existingGateSource = current ? requiredChecks(current).find((c) => c.context === gateCheck(desired)?.context)?.integration_id : undefined;
  const gateAppId = options.gateAppId ?? (validGateSource(existingGateSource) ? existingGateSource : undefined);
  const finding = {
    setting: `ruleset "${desired.name}" (${desired.branches.join(', ')})`,
    expected: `active, no bypass, pull request with ${desired.requiredApprovals} approval(s) after the last push, code owners, stale approvals dismissed; required checks ${desired.requiredChecks.map((c) => `"${c.context}"`).join(', ')} from their apps; no deletion or force push`,
    actual: problems.join('; '),
    why: 'develop and main change only through a reviewed pull request whose checks (ci and the stateful-change gate App) passed; nobody bypasses it',
  };
  if (gateAppId === undefined) {
    return [{ ...finding, manual: 'give the stateful-change gate App’s id: npm run github-settings -- --apply --gate-app-id <id> (the App’s settings page shows it)' }];
  }
  const body = rulesetBody(desired, gateAppId);
  return [
    {
      ...finding,
      change: current
        ? {
            summary: `update ruleset "${desired.name}" (PUT /repos/${repo.owner}/${repo.repo}/rulesets/${current.id})`,
            apply: async (gh) => void (await gh.request('PUT /repos/{owner}/{repo}/rulesets/{ruleset_id}', { ...repo, ruleset_id: current.id, ...body })),
          }
        : {
            summary: `create ruleset "${desired.name}" (POST /repos/${repo.owner}/${repo.repo}/rulesets)`,
            apply: async (gh) => void (await gh.request('POST /repos/{owner}/{repo}/rulesets', { ...repo, ...body })),
          },
    },
  ];
}

const gateCheck = (desired: DesiredRuleset) => desired.requiredChecks.find((c) => c.source === 'gate-app');
/** The gate's check must come from an app, and not from GitHub Actions (any workflow, a pull request's too, posts as GitHub Actions). */
const validGateSource = (id: number | undefined): id is number => typeof id === 'number' && Number.isInteger(id) && id > 0 && id !== 15368;

function requiredChecks(ruleset: RulesetDetail): { context: string; integration_id?: number }[] {
  const rule = ruleset.rules?.find((r) => r.type === 'required_status_checks');
  return (rule?.parameters?.required_status_checks as { context: string; integration_id?: number }[] | undefined) ?? [];
}

/** What is missing or weaker than desired; an empty list when the ruleset is at least as strict. */
export function rulesetProblems(ruleset: RulesetDetail, desired: DesiredRuleset): string[] {
  const problems: string[] = [];
  if (ruleset.target !== undefined && ruleset.target !== 'branch') problems.push(`targets ${ruleset.target}, not branches`);
  if (ruleset.enforcement !== 'active') problems.push(`enforcement is ${ruleset.enforcement}`);
  if ((ruleset.bypass_actors ?? []).length > 0) problems.push(`${ruleset.bypass_actors!.length} bypass actor(s)`);
  const include = ruleset.conditions?.ref_name?.include ?? [];
  const exclude = ruleset.conditions?.ref_name?.exclude ?? [];
  for (const branch of desired.branches) {
    if (!include.includes(`refs/heads/${branch}`) || exclude.includes(`refs/heads/${branch}`)) problems.push(`does not cover ${branch}`);
  }
  const rule = (type: string) => ruleset.rules?.find((r) => r.type === type);
  for (const type of ['deletion', 'non_fast_forward']) if (!rule(type)) problems.push(`no ${type} rule`);
  const pr = rule('pull_request')?.parameters as
    | { required_approving_review_count?: number; dismiss_stale_reviews_on_push?: boolean; require_code_owner_review?: boolean; require_last_push_approval?: boolean }
    | undefined;
  if (!pr) problems.push('no pull_request rule');
  else {
    if ((pr.required_approving_review_count ?? 0) < desired.requiredApprovals) problems.push(`${pr.required_approving_review_count ?? 0} required approval(s)`);
    if (pr.dismiss_stale_reviews_on_push !== true) problems.push('stale approvals are kept after a push');
    if (pr.require_code_owner_review !== true) problems.push('code owners’ review not required');
    if (pr.require_last_push_approval !== true) problems.push('the last pusher may approve');
  }
  const checks = requiredChecks(ruleset);
  for (const wanted of desired.requiredChecks) {
    const found = checks.find((c) => c.context === wanted.context);
    if (!found) problems.push(`check "${wanted.context}" not required`);
    else if (wanted.source === 'gate-app' ? !validGateSource(found.integration_id) : found.integration_id !== wanted.source) {
      problems.push(`check "${wanted.context}" accepted from ${found.integration_id === undefined ? 'any source' : `app ${found.integration_id}`}`);
    }
  }
  return problems;
}

function rulesetBody(desired: DesiredRuleset, gateAppId: number) {
  return {
    name: desired.name,
    target: 'branch' as const,
    enforcement: 'active' as const,
    bypass_actors: [],
    conditions: { ref_name: { include: desired.branches.map((b) => `refs/heads/${b}`), exclude: [] } },
    rules: [
      { type: 'deletion' as const },
      { type: 'non_fast_forward' as const },
      {
        type: 'pull_request' as const,
        parameters: {
          required_approving_review_count: desired.requiredApprovals,
          dismiss_stale_reviews_on_push: true,
          require_code_owner_review: true,
          require_last_push_approval: true,
          required_review_thread_resolution: false,
        },
      },
      {
        type: 'required_status_checks' as const,
        parameters: {
          strict_required_status_checks_policy: false,
          required_status_checks: desired.requiredChecks.map((c) => ({ context: c.context, integration_id: c.source === 'gate-app' ? gateAppId : c.source })),
        },
      },
    ],
  };
}

interface EnvironmentDetail {
  readonly protection_rules?: ReadonlyArray<{
    readonly type: string;
    readonly prevent_self_review?: boolean;
    readonly reviewers?: ReadonlyArray<{ readonly type?: string; readonly reviewer?: { readonly slug?: string; readonly login?: string } }>;
    readonly wait_timer?: number;
  }>;
  readonly deployment_branch_policy?: { readonly protected_branches: boolean; readonly custom_branch_policies: boolean } | null;
}

async function inspectEnvironments(github: Octokit, repo: Repo, desired: DesiredSettings): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const environment of desired.environments) {
    const current = await getOrUndefined(`reading environment ${environment.name}`, () =>
      github.request('GET /repos/{owner}/{repo}/environments/{environment_name}', { ...repo, environment_name: environment.name }),
    );
    const detail = current?.data as EnvironmentDetail | undefined;
    const branches = detail?.deployment_branch_policy?.custom_branch_policies
      ? (
          await call(`listing the deployment branches of ${environment.name}`, 'Administration: read', () =>
            github.paginate('GET /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies', { ...repo, environment_name: environment.name, per_page: 100 }),
          )
        ).map((p) => ({ id: p.id!, name: p.name!, type: p.type ?? 'branch' }))
      : [];
    const problems = detail ? environmentProblems(detail, branches, environment) : ['does not exist'];
    if (problems.length === 0) continue;
    findings.push({
      setting: `environment ${environment.name}`,
      expected: `deployment branches ${list(environment.branches)} only; reviewers ${environment.reviewerTeams.length ? `team(s) ${list(environment.reviewerTeams)}` : '(none)'}${environment.preventSelfReview ? ', self-review prevented' : ''}`,
      actual: problems.join('; '),
      why: environment.why,
      change: {
        summary: `configure environment ${environment.name} (PUT /repos/${repo.owner}/${repo.repo}/environments/${environment.name}, then its deployment-branch-policies)`,
        apply: (gh) => configureEnvironment(gh, repo, environment, branches),
      },
    });
  }
  return findings;
}

function environmentProblems(detail: EnvironmentDetail, branches: readonly { name: string; type: string }[], desired: DesiredEnvironment): string[] {
  const problems: string[] = [];
  const policy = detail.deployment_branch_policy;
  if (!policy) problems.push('any branch may deploy');
  else if (policy.protected_branches) problems.push('every protected branch may deploy');
  else {
    const names = branches.filter((b) => b.type === 'branch').map((b) => b.name);
    const tags = branches.filter((b) => b.type === 'tag').map((b) => b.name);
    if (list(names) !== list(desired.branches)) problems.push(`deployment branches ${list(names)}`);
    if (tags.length > 0) problems.push(`deployment tags ${list(tags)}`);
  }
  const reviewers = detail.protection_rules?.find((r) => r.type === 'required_reviewers');
  const teams = (reviewers?.reviewers ?? []).filter((r) => r.type === 'Team').map((r) => r.reviewer?.slug ?? '?');
  const users = (reviewers?.reviewers ?? []).filter((r) => r.type === 'User').map((r) => r.reviewer?.login ?? '?');
  if (list(teams) !== list(desired.reviewerTeams) || users.length > 0) problems.push(`reviewers ${list([...teams.map((t) => `team ${t}`), ...users.map((u) => `user ${u}`)])}`);
  if (desired.reviewerTeams.length > 0 && (reviewers?.prevent_self_review ?? false) !== desired.preventSelfReview) problems.push('the person who started a run may approve it');
  return problems;
}

async function configureEnvironment(github: Octokit, repo: Repo, desired: DesiredEnvironment, existing: readonly { id: number; name: string; type: string }[]): Promise<void> {
  const reviewers = [];
  for (const slug of desired.reviewerTeams) {
    const team = await github.request('GET /orgs/{org}/teams/{team_slug}', { org: repo.owner, team_slug: slug });
    reviewers.push({ type: 'Team' as const, id: team.data.id });
  }
  await github.request('PUT /repos/{owner}/{repo}/environments/{environment_name}', {
    ...repo,
    environment_name: desired.name,
    wait_timer: 0,
    // GitHub refuses prevent_self_review without a reviewer.
    ...(reviewers.length > 0 ? { prevent_self_review: desired.preventSelfReview } : {}),
    reviewers,
    deployment_branch_policy: { protected_branches: false, custom_branch_policies: true },
  });
  for (const policy of existing) {
    if (policy.type !== 'branch' || !desired.branches.includes(policy.name)) {
      await github.request('DELETE /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies/{branch_policy_id}', {
        ...repo,
        environment_name: desired.name,
        branch_policy_id: policy.id,
      });
    }
  }
  for (const branch of desired.branches) {
    if (!existing.some((p) => p.type === 'branch' && p.name === branch)) {
      await github.request('POST /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies', { ...repo, environment_name: desired.name, name: branch, type: 'branch' });
    }
  }
}

async function inspectSecrets(github: Octokit, repo: Repo, desired: DesiredSettings): Promise<Finding[]> {
  const findings: Finding[] = [];
  const owners = environmentSecrets(desired);
  const repositorySecrets = (await call('listing the repository secrets', 'Secrets: read', () => github.paginate('GET /repos/{owner}/{repo}/actions/secrets', { ...repo, per_page: 100 }))).map(
    (s) => s.name,
  );
  const organizationSecrets = (
    await call('listing the organization secrets shared with the repository', 'Secrets: read', () =>
      github.paginate('GET /repos/{owner}/{repo}/actions/organization-secrets', { ...repo, per_page: 100 }),
    )
  ).map((s) => s.name);
  const present = new Map<string, Set<string>>();
  for (const environment of desired.environments) {
    const names = await getOrUndefined(`listing the secrets of environment ${environment.name}`, () =>
      github.paginate('GET /repos/{owner}/{repo}/environments/{environment_name}/secrets', { ...repo, environment_name: environment.name, per_page: 100 }),
    );
    present.set(environment.name, new Set((names ?? []).map((s) => s.name)));
  }

  for (const environment of desired.environments) {
    for (const name of environment.requiredSecrets) {
      if (present.get(environment.name)!.has(name)) continue;
      findings.push({
        setting: `secret ${name} of environment ${environment.name}`,
        expected: 'set',
        actual: 'missing',
        why: environment.why,
        manual: `gh secret set ${name} --env ${environment.name} --repo ${repo.owner}/${repo.repo}`,
      });
    }
  }
  for (const [name, environments] of owners) {
    const where = `environment(s) ${list(environments.map((e) => e.name))}`;
    if (organizationSecrets.includes(name)) {
      findings.push({
        setting: `organization secret ${name}`,
        expected: `only in ${where}`,
        actual: 'shared with this repository by the organization: every branch’s workflows can read it',
        why: 'a secret every writer can read from any branch (review M2)',
        manual: `remove ${repo.repo} from the selected repositories of the organization secret ${name} (or delete it)`,
      });
    }
    if (!repositorySecrets.includes(name)) continue;
    // Deleted only once every environment that uses it holds its own value: the repository secret may be the only copy.
    const missingIn = environments.filter((e) => !present.get(e.name)!.has(name)).map((e) => e.name);
    const finding = {
      setting: `repository secret ${name}`,
      expected: `only in ${where}`,
      actual: 'a repository secret: every branch’s workflows can read it',
      why: 'a secret every writer can read from any branch (review M2)',
    };
    findings.push(
      missingIn.length > 0
        ? { ...finding, manual: `set it in ${list(missingIn)} first (gh secret set ${name} --env <environment>), then run --apply to delete the repository secret` }
        : {
            ...finding,
            change: {
              summary: `delete the repository secret ${name} (DELETE /repos/${repo.owner}/${repo.repo}/actions/secrets/${name}); ${where} hold their own`,
              apply: async (gh) => void (await gh.request('DELETE /repos/{owner}/{repo}/actions/secrets/{secret_name}', { ...repo, secret_name: name })),
            },
          },
    );
  }
  return findings;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function apiError(what: string, error: unknown, permission: string): SettingsApiError {
  const status = statusOf(error);
  const message = (error as { message?: string } | null)?.message ?? String(error);
  const hint = status === 401 || status === 403 || status === 404 ? ` (the token needs "${permission}" on the repository, i.e. a repository administrator’s)` : '';
  return new SettingsApiError(`${what}: ${status ?? 'no answer'} ${message}${hint}`);
}

async function call<T>(what: string, permission: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw apiError(what, error, permission);
  }
}

/** A read whose 404 means "does not exist" (an environment); any other refusal stops the run. */
async function getOrUndefined<T>(what: string, request: () => Promise<T>): Promise<T | undefined> {
  try {
    return await request();
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw apiError(what, error, 'Administration: read');
  }
}
