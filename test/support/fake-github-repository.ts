import { type FakeAnswer, FakeGitHub, type FakeRequest } from '../github-api-fake';

/**
 * A repository's settings behind the GitHub REST API, with state, answering as
 * GitHub does and refusing what GitHub refuses (so that `github-settings
 * --apply` is tested against the API's rules, not against what the code
 * happens to send):
 *
 * - PUT environment: 422 when `protected_branches` and `custom_branch_policies`
 *   are equal, when more than six reviewers are given, when a reviewer team has
 *   no access (unknown here), when `wait_timer` is outside 0–43200, and when
 *   `prevent_self_review` is set without a reviewer (the OpenAPI description of
 *   repos/create-or-update-environment; github/safe-settings#628);
 * - POST deployment-branch-policies: 404 unless the environment uses custom
 *   branch policies, 303 when the same name and type exist;
 * - PUT the OIDC subject template: 422 when `use_default` is false without
 *   claim keys, or a key is not alphanumeric/underscore, or repeats;
 * - PATCH default_branch: 422 for a branch that does not exist;
 * - rulesets: 422 for a second ruleset of the same name, 404 for an unknown id;
 * - any write with a token that is not an administrator's: 403.
 */
export interface FakeEnvironment {
  reviewers: { type: 'User' | 'Team'; id: number }[];
  preventSelfReview: boolean;
  waitTimer: number;
  policy: { protected_branches: boolean; custom_branch_policies: boolean } | null;
  branchPolicies: { id: number; name: string; type: 'branch' | 'tag' }[];
  secrets: string[];
}

export interface FakeRuleset {
  id: number;
  name: string;
  target: string;
  enforcement: string;
  bypass_actors: unknown[];
  conditions: { ref_name: { include: string[]; exclude: string[] } };
  rules: { type: string; parameters?: Record<string, unknown> }[];
}

export const ADMIN_TOKEN = 'admin-token';

export class FakeGitHubRepository {
  readonly api = new FakeGitHub();
  branches = ['develop', 'main'];
  defaultBranch = 'main';
  oidc: { use_default: boolean; include_claim_keys?: string[] } = { use_default: true };
  readonly teams = new Map<string, number>([
    ['platform', 101],
    ['data-owners', 102],
  ]);
  readonly users = new Map<number, string>([[7, 'octocat']]);
  readonly environments = new Map<string, FakeEnvironment>();
  readonly rulesets: FakeRuleset[] = [];
  repositorySecrets: string[] = [];
  organizationSecrets: string[] = [];
  private nextId = 1000;

  constructor(readonly owner = 'bodyscript', readonly repo = 'bodyscript-infrastructure') {
    const base = `/repos/${owner}/${repo}`;
    const write = (handler: (request: FakeRequest) => FakeAnswer) => (request: FakeRequest) =>
      request.authorization === `token ${ADMIN_TOKEN}` ? handler(request) : { status: 403, body: { message: 'Resource not accessible by personal access token' } };
    const body = (request: FakeRequest) => (request.body ?? {}) as Record<string, unknown>;
    const envName = (request: FakeRequest) => decodeURIComponent(request.path.split('/')[5]);

    this.api
      .on(`GET ${base}`, () => ({ body: { full_name: `${owner}/${repo}`, default_branch: this.defaultBranch } }))
      .on(
        `PATCH ${base}`,
        write((request) => {
          const branch = body(request).default_branch;
          if (typeof branch === 'string' && !this.branches.includes(branch)) return invalid(`The branch ${branch} was not found`);
          if (typeof branch === 'string') this.defaultBranch = branch;
          return { body: { default_branch: this.defaultBranch } };
        }),
      )
      .on(`GET ${base}/actions/oidc/customization/sub`, () => ({ body: this.oidc }))
      .on(
        `PUT ${base}/actions/oidc/customization/sub`,
        write((request) => {
          const { use_default, include_claim_keys } = body(request) as { use_default?: unknown; include_claim_keys?: unknown };
          if (typeof use_default !== 'boolean') return invalid('use_default is required');
          if (!use_default) {
            if (!Array.isArray(include_claim_keys) || include_claim_keys.length === 0) return invalid('include_claim_keys is required when use_default is false');
            if (include_claim_keys.some((k) => typeof k !== 'string' || !/^[A-Za-z0-9_]+$/.test(k))) return invalid('each claim key can only contain alphanumeric characters and underscores');
            if (new Set(include_claim_keys).size !== include_claim_keys.length) return invalid('include_claim_keys must be unique');
          }
          this.oidc = use_default ? { use_default } : { use_default, include_claim_keys: include_claim_keys as string[] };
          return { status: 201, body: {} };
        }),
      )
      .on(`GET ${base}/rulesets`, () => ({ body: this.rulesets.map(({ id, name, target, enforcement }) => ({ id, name, target, enforcement, source_type: 'Repository' })) }))
      .on(
        `POST ${base}/rulesets`,
        write((request) => {
          const ruleset = body(request) as unknown as FakeRuleset;
          if (this.rulesets.some((r) => r.name === ruleset.name)) return invalid('Name must be unique');
          const created = { ...ruleset, id: this.nextId++ };
          this.rulesets.push(created);
          return { status: 201, body: created };
        }),
      )
      .on(`GET ${base}/actions/secrets`, () => ({ body: { total_count: this.repositorySecrets.length, secrets: this.repositorySecrets.map((name) => ({ name })) } }))
      .on(`GET ${base}/actions/organization-secrets`, () => ({ body: { total_count: this.organizationSecrets.length, secrets: this.organizationSecrets.map((name) => ({ name })) } }));

    for (const slug of ['platform', 'data-owners', 'nobody']) {
      this.api.on(`GET /orgs/${owner}/teams/${slug}`, () => (this.teams.has(slug) ? { body: { id: this.teams.get(slug), slug } } : { status: 404, body: { message: 'Not Found' } }));
    }
    // Routes with an id or a name in the path are matched by prefix below.
    const byPrefix = (request: FakeRequest): FakeAnswer | undefined => {
      const path = request.path;
      const ruleset = new RegExp(`^${base}/rulesets/(\\d+)$`).exec(path);
      if (ruleset) {
        const index = this.rulesets.findIndex((r) => r.id === Number(ruleset[1]));
        if (index < 0) return { status: 404, body: { message: 'Not Found' } };
        if (request.method === 'GET') return { body: this.rulesets[index] };
        if (request.method === 'PUT') {
          return write(() => {
            this.rulesets[index] = { ...(body(request) as unknown as FakeRuleset), id: this.rulesets[index].id };
            return { body: this.rulesets[index] };
          })(request);
        }
      }
      const secret = new RegExp(`^${base}/actions/secrets/([^/]+)$`).exec(path);
      if (secret && request.method === 'DELETE') {
        return write(() => {
          if (!this.repositorySecrets.includes(secret[1])) return { status: 404, body: { message: 'Not Found' } };
          this.repositorySecrets = this.repositorySecrets.filter((s) => s !== secret[1]);
          return { status: 204 };
        })(request);
      }
      if (path.startsWith(`${base}/environments/`)) return this.environmentRoute(request, envName(request), path.split('/').slice(6), write, body);
      return undefined;
    };
    this.api.match(byPrefix);
  }

  client(token = ADMIN_TOKEN) {
    return this.api.client(token);
  }

  /** Every request that changed something. */
  writes(): string[] {
    return this.api.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
  }

  private environmentRoute(
    request: FakeRequest,
    name: string,
    rest: string[],
    write: (handler: (request: FakeRequest) => FakeAnswer) => (request: FakeRequest) => FakeAnswer,
    body: (request: FakeRequest) => Record<string, unknown>,
  ): FakeAnswer {
    const environment = this.environments.get(name);
    const notFound = { status: 404, body: { message: 'Not Found' } };
    if (rest.length === 0 && request.method === 'GET') return environment ? { body: this.environmentBody(name, environment) } : notFound;
    if (rest.length === 0 && request.method === 'PUT') {
      return write(() => {
        const b = body(request) as { wait_timer?: number; prevent_self_review?: boolean; reviewers?: { type: 'User' | 'Team'; id: number }[] | null; deployment_branch_policy?: FakeEnvironment['policy'] };
        const reviewers = b.reviewers ?? environment?.reviewers ?? [];
        if (reviewers.length > 6) return invalid('You can list up to six users or teams as reviewers');
        for (const r of reviewers) {
          const known = r.type === 'Team' ? [...this.teams.values()].includes(r.id) : this.users.has(r.id);
          if (!known) return invalid(`reviewer ${r.type} ${r.id} does not have access to the repository`);
        }
        if (b.prevent_self_review === true && reviewers.length === 0) return invalid('prevent_self_review requires at least one reviewer');
        if (b.wait_timer !== undefined && (b.wait_timer < 0 || b.wait_timer > 43200)) return invalid('wait_timer must be between 0 and 43200');
        const policy = b.deployment_branch_policy === undefined ? (environment?.policy ?? null) : b.deployment_branch_policy;
        if (policy && policy.protected_branches === policy.custom_branch_policies) return invalid('protected_branches and custom_branch_policies cannot have the same value');
        const next: FakeEnvironment = {
          reviewers,
          preventSelfReview: reviewers.length === 0 ? false : (b.prevent_self_review ?? environment?.preventSelfReview ?? false),
          waitTimer: b.wait_timer ?? environment?.waitTimer ?? 0,
          policy,
          // Leaving custom branch policies drops the named branches, as GitHub does.
          branchPolicies: policy?.custom_branch_policies ? (environment?.branchPolicies ?? []) : [],
          secrets: environment?.secrets ?? [],
        };
        this.environments.set(name, next);
        return { body: this.environmentBody(name, next) };
      })(request);
    }
    if (!environment) return notFound;
    if (rest[0] === 'secrets' && request.method === 'GET') return { body: { total_count: environment.secrets.length, secrets: environment.secrets.map((s) => ({ name: s })) } };
    if (rest[0] === 'deployment-branch-policies') {
      if (rest.length === 1 && request.method === 'GET') {
        if (!environment.policy?.custom_branch_policies) return notFound;
        return { body: { total_count: environment.branchPolicies.length, branch_policies: environment.branchPolicies } };
      }
      if (rest.length === 1 && request.method === 'POST') {
        return write(() => {
          if (!environment.policy?.custom_branch_policies) return notFound;
          const { name: pattern, type = 'branch' } = body(request) as { name?: string; type?: 'branch' | 'tag' };
          if (typeof pattern !== 'string' || pattern === '') return invalid('name is required');
          if (environment.branchPolicies.some((p) => p.name === pattern && p.type === type)) return { status: 303 };
          const created = { id: this.nextId++, name: pattern, type };
          environment.branchPolicies.push(created);
          return { body: created };
        })(request);
      }
      if (rest.length === 2 && request.method === 'DELETE') {
        return write(() => {
          const index = environment.branchPolicies.findIndex((p) => p.id === Number(rest[1]));
          if (index < 0) return notFound;
          environment.branchPolicies.splice(index, 1);
          return { status: 204 };
        })(request);
      }
    }
    return notFound;
  }

  private environmentBody(name: string, environment: FakeEnvironment) {
    const rules: Record<string, unknown>[] = [];
    if (environment.reviewers.length > 0) {
      rules.push({
        id: 1,
        type: 'required_reviewers',
        prevent_self_review: environment.preventSelfReview,
        reviewers: environment.reviewers.map((r) => ({
          type: r.type,
          reviewer: r.type === 'Team' ? { id: r.id, slug: [...this.teams.entries()].find(([, id]) => id === r.id)?.[0] } : { id: r.id, login: this.users.get(r.id) },
        })),
      });
    }
    if (environment.waitTimer > 0) rules.push({ id: 2, type: 'wait_timer', wait_timer: environment.waitTimer });
    if (environment.policy) rules.push({ id: 3, type: 'branch_policy' });
    return { name, protection_rules: rules, deployment_branch_policy: environment.policy };
  }
}

function invalid(message: string): FakeAnswer {
  return { status: 422, body: { message: 'Validation Failed', errors: [message], documentation_url: 'https://docs.github.com/rest' } };
}
