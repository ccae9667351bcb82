import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENT_NAMES, loadConfig } from '../lib/config';
import { deployRoleMaxSessionSeconds } from '../lib/deploy-duration';
import { githubDeployRoleName } from '../lib/naming';
import { deployRoleTargets, planRoleTargets } from '../lib/stacks/github-stack';
import { acknowledgements, resourcesOfType, stacks, templateJson, violations } from './support/assembly';

const STACK = 'BodyScript-GitHub';
const config = loadConfig();
const { owner, repository, account, region } = config.project.github;

type Statement = { Effect: string; Action: string | string[]; Resource?: string | string[]; Principal?: unknown; Condition?: Record<string, Record<string, string | string[]>> };
type Document = { Statement: Statement[] };

function role(roleName: string) {
  const found = resourcesOfType(STACK, 'AWS::IAM::Role').filter(([, r]) => r.Properties?.RoleName === roleName);
  expect(found).toHaveLength(1);
  return found[0][1].Properties as { AssumeRolePolicyDocument: Document; ManagedPolicyArns?: { Ref: string }[]; Policies?: unknown; MaxSessionDuration?: number };
}

/** The statements of the managed policies attached to a role (the only place its permissions may come from). */
function permissionStatements(roleName: string): Statement[] {
  const { ManagedPolicyArns = [] } = role(roleName);
  const resources = templateJson(STACK).Resources;
  return ManagedPolicyArns.flatMap((arn) => {
    expect(arn).toEqual({ Ref: expect.any(String) });
    const policy = resources[arn.Ref];
    expect(policy.Type).toBe('AWS::IAM::ManagedPolicy');
    return (policy.Properties?.PolicyDocument as Document).Statement;
  });
}

const asList = (value: string | string[] | undefined) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** A deploy role's session must outlast a failed first deploy of its environment: the CDK CLI re-assumes the bootstrap roles with it. */
const maxSessionSeconds = (roleName: string) => deployRoleMaxSessionSeconds(config.environments[ENVIRONMENT_NAMES.find((name) => githubDeployRoleName(name) === roleName)!]);

describe('BodyScript-GitHub', () => {
  test('lives in the account and region of config.project.github, with termination protection', () => {
    const stack = stacks().find((s) => s.displayName === STACK)!;
    expect(stack.environment).toBe(`aws://${account}/${region}`);
    expect(stack.terminationProtection).toBe(true);
  });

  test('has one OIDC provider for GitHub Actions tokens with the STS audience only', () => {
    const providers = resourcesOfType(STACK, 'AWS::IAM::OIDCProvider');
    expect(providers).toHaveLength(1);
    expect(providers[0][1].Properties).toMatchObject({ Url: 'https://token.actions.githubusercontent.com', ClientIdList: ['sts.amazonaws.com'] });
  });

  test('creates exactly the two deploy roles and the production plan role (the unused pull-request diff role is gone)', () => {
    const names = resourcesOfType(STACK, 'AWS::IAM::Role').map(([, r]) => r.Properties?.RoleName);
    expect(names.sort()).toEqual(['BodyScript-GitHub-Deploy-Production', 'BodyScript-GitHub-Deploy-Staging', 'BodyScript-GitHub-Plan-Production']);
  });

  test('the production plan role trusts only the plan job of deploy-production.yml on main in the production-plan environment (review M4)', () => {
    const providerId = resourcesOfType(STACK, 'AWS::IAM::OIDCProvider')[0][0];
    expect(role('BodyScript-GitHub-Plan-Production').AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRoleWithWebIdentity',
        Principal: { Federated: { Ref: providerId } },
        Condition: {
          StringEquals: {
            'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
            'token.actions.githubusercontent.com:sub': [`repo:${repo}:environment:production-plan:job_workflow_ref:${repo}/.github/workflows/deploy-production.yml@refs/heads/main`],
          },
        },
      },
    ]);
    // The deploy role is not trusted for the plan environment, nor the plan role for the deploy environment.
    expect(subjectsOf('BodyScript-GitHub-Deploy-Production').join(' ')).not.toContain('production-plan');
  });

  test('the production plan role may only assume the read-only CDK lookup roles of production, for an hour at most', () => {
    const statements = permissionStatements('BodyScript-GitHub-Plan-Production');
    expect(statements).toHaveLength(1);
    expect(asList(statements[0].Action).sort()).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    const production = config.environments.production;
    expect(asList(statements[0].Resource).sort()).toEqual(
      [...new Set([production.primary, production.standby].map((l) => `arn:aws:iam::${l.account}:role/cdk-hnb659fds-lookup-role-${l.account}-${l.region}`))].sort(),
    );
    expect(planRoleTargets(production).sort()).toEqual(asList(statements[0].Resource).sort());
    expect(role('BodyScript-GitHub-Plan-Production').MaxSessionDuration).toBe(3600);
  });

  const repo = `${owner}/${repository}`;
  const subjectsOf = (roleName: string) => asList(role(roleName).AssumeRolePolicyDocument.Statement[0].Condition!.StringEquals['token.actions.githubusercontent.com:sub']);

  test.each([
    [
      'BodyScript-GitHub-Deploy-Staging',
      [
        `repo:${repo}:environment:staging:job_workflow_ref:${repo}/.github/workflows/deploy-staging.yml@refs/heads/develop`,
        `repo:${repo}:environment:staging:job_workflow_ref:${repo}/.github/workflows/dr-drill.yml@refs/heads/develop`,
      ],
    ],
    [
      'BodyScript-GitHub-Deploy-Production',
      [
        `repo:${repo}:environment:production:job_workflow_ref:${repo}/.github/workflows/deploy-production.yml@refs/heads/main`,
        `repo:${repo}:environment:production:job_workflow_ref:${repo}/.github/workflows/dr-drill.yml@refs/heads/main`,
        // The DR drill's real production failover, in its own environment with its own reviewers (review M9).
        `repo:${repo}:environment:production-failover:job_workflow_ref:${repo}/.github/workflows/dr-drill.yml@refs/heads/main`,
      ],
    ],
  ])('%s trusts only tokens of its deploy workflows on its deploy branch in its environments (subject template repo, context, job_workflow_ref)', (roleName, subjects) => {
    const providerId = resourcesOfType(STACK, 'AWS::IAM::OIDCProvider')[0][0];
    const { AssumeRolePolicyDocument } = role(roleName);
    // One statement, with exact-match conditions: no StringLike, no wildcard, no other principal.
    expect(AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRoleWithWebIdentity',
        Principal: { Federated: { Ref: providerId } },
        Condition: {
          StringEquals: {
            'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
            'token.actions.githubusercontent.com:sub': subjects,
          },
        },
      },
    ]);
    for (const subject of subjects) expect(subject).not.toMatch(/[*?]/);
  });

  test.each([
    ['a release tag (H1: a writer tags an unreviewed commit)', `repo:${repo}:environment:production:job_workflow_ref:${repo}/.github/workflows/deploy-production.yml@refs/tags/v1.4.0`],
    ['another branch', `repo:${repo}:environment:production:job_workflow_ref:${repo}/.github/workflows/deploy-production.yml@refs/heads/develop`],
    ['a workflow a writer adds on main', `repo:${repo}:environment:production:job_workflow_ref:${repo}/.github/workflows/release.yml@refs/heads/main`],
    ['the default subject (no job_workflow_ref)', `repo:${repo}:environment:production`],
    ['a reusable workflow of another repository', `repo:${repo}:environment:production:job_workflow_ref:elsewhere/tools/.github/workflows/deploy-production.yml@refs/heads/main`],
    ['the production deploy workflow in production-failover (only the DR drill runs there)', `repo:${repo}:environment:production-failover:job_workflow_ref:${repo}/.github/workflows/deploy-production.yml@refs/heads/main`],
    ['the DR drill in production-failover from develop', `repo:${repo}:environment:production-failover:job_workflow_ref:${repo}/.github/workflows/dr-drill.yml@refs/heads/develop`],
  ])('the production role refuses a token from %s', (_label, sub) => {
    expect(subjectsOf('BodyScript-GitHub-Deploy-Production')).not.toContain(sub);
  });

  test('the staging role is not trusted for the production environment, nor the reverse', () => {
    expect(subjectsOf('BodyScript-GitHub-Deploy-Staging').join(' ')).not.toContain('production');
    expect(subjectsOf('BodyScript-GitHub-Deploy-Production').join(' ')).not.toContain('staging');
  });

  test.each(['BodyScript-GitHub-Deploy-Staging', 'BodyScript-GitHub-Deploy-Production'])(
    '%s sessions last as long as its longest job needs (lib/deploy-duration.ts) and its permissions come from one managed policy, none inline or AWS-managed',
    (roleName) => {
      const properties = role(roleName);
      expect(properties.MaxSessionDuration).toBe(maxSessionSeconds(roleName));
      expect(properties.Policies).toBeUndefined();
      expect(properties.ManagedPolicyArns).toHaveLength(1);
      expect(resourcesOfType(STACK, 'AWS::IAM::Policy')).toEqual([]);
    },
  );

  test('the staging deploy role may only assume the bootstrap roles of staging (us-east-1 and us-west-2) and the staging operations role', () => {
    const statements = permissionStatements('BodyScript-GitHub-Deploy-Staging');
    expect(statements).toHaveLength(1);
    expect(statements[0].Effect).toBe('Allow');
    expect(asList(statements[0].Action).sort()).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    const staging = config.environments.staging;
    expect(staging.primary.account).toBe(staging.standby.account); // the literal list below assumes one account
    const a = staging.primary.account;
    expect(asList(statements[0].Resource).sort()).toEqual(
      [
        `arn:aws:iam::${a}:role/BodyScript-Staging-Operations`,
        ...['deploy', 'file-publishing', 'image-publishing', 'lookup'].flatMap((kind) => [
          `arn:aws:iam::${a}:role/cdk-hnb659fds-${kind}-role-${a}-${staging.primary.region}`,
          `arn:aws:iam::${a}:role/cdk-hnb659fds-${kind}-role-${a}-${staging.standby.region}`,
        ]),
      ].sort(),
    );
  });

  test('the production deploy role reaches only production accounts and never a staging role', () => {
    const resources = asList(permissionStatements('BodyScript-GitHub-Deploy-Production')[0].Resource);
    expect(resources.sort()).toEqual(deployRoleTargets(config.environments.production).sort());
    expect(resources).toHaveLength(9);
    for (const arn of resources) {
      expect(arn).toMatch(new RegExp(`^arn:aws:iam::(${config.environments.production.primary.account}|${config.environments.production.standby.account}):role/`));
      expect(arn).not.toMatch(/Staging|staging/);
    }
  });

  test('no statement anywhere in the stack uses a wildcard action or resource', () => {
    for (const [id, policy] of resourcesOfType(STACK, 'AWS::IAM::ManagedPolicy')) {
      for (const statement of (policy.Properties?.PolicyDocument as Document).Statement) {
        for (const action of asList(statement.Action)) expect(`${id} ${action}`).not.toMatch(/\*/);
        for (const resource of asList(statement.Resource)) expect(`${id} ${resource}`).not.toMatch(/\*/);
      }
    }
  });

  test('has no compliance finding and needs no acknowledgement', () => {
    expect(violations().filter((v) => v.paths.some((p) => p.includes(STACK)))).toEqual([]);
    expect(acknowledgements().filter((a) => a.constructPath.startsWith(`/${STACK}`) && !a.ruleId.startsWith('CloudFormation-Validate::'))).toEqual([]);
  });

  test('outputs the role ARNs the workflows assume', () => {
    const outputs = Object.keys((templateJson(STACK).Outputs ?? {}) as Record<string, unknown>);
    expect(outputs.sort()).toEqual(['ProductionDeployRoleArn', 'ProductionPlanRoleArn', 'StagingDeployRoleArn']);
  });
});

describe('role targets', () => {
  const staging = config.environments.staging;

  test('a standby in another account adds that account’s bootstrap roles and operations role, and nothing else', () => {
    const split = { ...staging, standby: { account: '333333333333', region: 'us-west-2' } };
    const targets = deployRoleTargets(split);
    expect(targets).toHaveLength(10);
    expect(targets).toEqual(
      expect.arrayContaining([
        'arn:aws:iam::333333333333:role/cdk-hnb659fds-deploy-role-333333333333-us-west-2',
        'arn:aws:iam::333333333333:role/BodyScript-Staging-Operations',
        `arn:aws:iam::${staging.primary.account}:role/BodyScript-Staging-Operations`,
      ]),
    );
    expect(targets).not.toContain(`arn:aws:iam::${staging.primary.account}:role/cdk-hnb659fds-deploy-role-${staging.primary.account}-us-west-2`);
  });
});

/**
 * No pull-request token may assume a role that reaches an environment. A pull
 * request's workflows are written by its author (any writer of the
 * repository), so such a role hands them whatever it reaches: the removed
 * `BodyScript-GitHub-Diff` role trusted `repo:<owner>/<repository>:pull_request`
 * and read both accounts through the CDK lookup roles.
 *
 * The trust policies are read from the synthesized templates and evaluated the
 * way IAM evaluates them against every token a pull-request job can obtain.
 */
describe('pull-request tokens', () => {
  /** A claim the pull-request author chooses (branch names, actor, workflow names): any condition on it can be met. */
  const CHOSEN = Symbol('chosen by the pull-request author');
  type Claims = Readonly<Record<string, string | typeof CHOSEN>>;
  type TrustStatement = { Effect: string; Action?: string | string[]; Principal?: unknown; Condition?: Record<string, Record<string, string | string[]>> };

  const repo = `${owner}/${repository}`;
  const workflowFiles = fs.readdirSync(path.join(__dirname, '..', '.github', 'workflows')).filter((f) => /\.ya?ml$/.test(f));
  const PROVIDER_HOST = 'token.actions.githubusercontent.com';

  /**
   * Every token a job of a pull request can mint without declaring an
   * environment (a job that declares one gets no token until the
   * environment's deployment-branch rule admits `refs/pull/<n>/merge`).
   * `sub` is built by the default template and by the customization
   * templates GitHub offers (`include_claim_keys`), so a role bound to a
   * custom subject is checked too. `job_workflow_ref` is the pull request's own
   * copy of any workflow, or a reusable workflow it calls from a protected branch.
   */
  function pullRequestTokens(): Claims[] {
    const jobWorkflowRefs = [
      ...workflowFiles.map((f) => `${repo}/.github/workflows/${f}@refs/pull/1/merge`),
      ...workflowFiles.flatMap((f) => ['main', 'develop'].map((branch) => `${repo}/.github/workflows/${f}@refs/heads/${branch}`)),
    ];
    return jobWorkflowRefs.flatMap((jobWorkflowRef) => {
      const claims: Claims = {
        aud: 'sts.amazonaws.com',
        repository: repo,
        repository_owner: owner,
        event_name: 'pull_request',
        ref: 'refs/pull/1/merge',
        ref_type: 'branch',
        job_workflow_ref: jobWorkflowRef,
        base_ref: CHOSEN,
        head_ref: CHOSEN,
        actor: CHOSEN,
        workflow: CHOSEN,
      };
      const subjects = [
        `repo:${repo}:pull_request`,
        `repo:${repo}:pull_request:job_workflow_ref:${jobWorkflowRef}`,
        `job_workflow_ref:${jobWorkflowRef}`,
        `repo:${repo}:pull_request:ref:refs/pull/1/merge`,
        `repo:${repo}`,
        `repository_owner:${owner}`,
      ];
      return subjects.map((sub) => ({ ...claims, sub }));
    });
  }

  const asArray = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
  const wildcard = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');

  /**
   * One condition operator against the token, as IAM evaluates it: keys are
   * ANDed, values of a key ORed; a missing claim fails a positive operator and
   * satisfies a negated one or an `…IfExists`. An operator this evaluator does
   * not know counts as satisfied, so the check errs towards reporting a role.
   */
  function conditionHolds(operator: string, block: Record<string, string | string[]>, token: Claims): boolean {
    const base = operator.replace(/^(ForAnyValue|ForAllValues):/, '');
    const ifExists = base.endsWith('IfExists');
    const op = base.replace(/IfExists$/, '');
    const known = ['StringEquals', 'StringLike', 'StringNotEquals', 'StringNotLike', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase'];
    if (!known.includes(op)) return true;
    const negated = op.includes('Not');
    return Object.entries(block).every(([key, values]) => {
      const claim = key.toLowerCase().startsWith(`${PROVIDER_HOST}:`) ? key.slice(PROVIDER_HOST.length + 1) : undefined;
      if (claim === undefined) return true; // a key about something else than the token: not ours to judge
      const actual = token[claim];
      if (actual === undefined) return negated || ifExists;
      if (actual === CHOSEN) return true;
      const matches = asArray(values).some((expected) => {
        const e = String(expected);
        if (op.startsWith('StringLike') || op.startsWith('StringNotLike')) return wildcard(e).test(actual);
        return op.includes('IgnoreCase') ? e.toLowerCase() === actual.toLowerCase() : e === actual;
      });
      return negated ? !matches : matches;
    });
  }

  function statementApplies(statement: TrustStatement, isGitHubProvider: (principal: unknown) => boolean, token: Claims): boolean {
    const actions = asArray(statement.Action).map(String);
    if (!actions.some((a) => ['sts:AssumeRoleWithWebIdentity', 'sts:*', '*'].includes(a))) return false;
    const principal = statement.Principal as { Federated?: unknown } | string | undefined;
    const federated = principal === '*' ? ['*'] : asArray(typeof principal === 'object' ? principal?.Federated : undefined);
    if (!federated.some((p) => p === '*' || isGitHubProvider(p))) return false;
    return Object.entries(statement.Condition ?? {}).every(([operator, block]) => conditionHolds(operator, block, token));
  }

  /** Whether a token may assume a role with this trust policy (an explicit Deny wins over any Allow). */
  function canAssume(trust: { Statement: TrustStatement[] }, isGitHubProvider: (principal: unknown) => boolean, token: Claims): boolean {
    const applying = trust.Statement.filter((s) => statementApplies(s, isGitHubProvider, token));
    return applying.some((s) => s.Effect === 'Allow') && !applying.some((s) => s.Effect === 'Deny');
  }

  /** Every role of the app that GitHub's OIDC provider may federate into, with whether it holds any permission. */
  function githubFederatedRoles() {
    return stacks().flatMap((stack) => {
      const resources = templateJson(stack.id).Resources;
      const providerIds = Object.entries(resources)
        .filter(([, r]) => r.Type === 'AWS::IAM::OIDCProvider' && String(r.Properties?.Url ?? '').includes(PROVIDER_HOST))
        .map(([id]) => id);
      const isGitHubProvider = (principal: unknown) =>
        (typeof principal === 'string' && principal.includes(`oidc-provider/${PROVIDER_HOST}`)) ||
        (typeof principal === 'object' && principal !== null && providerIds.includes(String((principal as { Ref?: unknown }).Ref)));
      return Object.entries(resources)
        .filter(([, r]) => r.Type === 'AWS::IAM::Role')
        .map(([id, r]) => {
          const properties = r.Properties as { RoleName?: string; AssumeRolePolicyDocument: { Statement: TrustStatement[] }; ManagedPolicyArns?: unknown[]; Policies?: unknown[] };
          const attachedElsewhere = Object.values(resources).some(
            (other) => (other.Type === 'AWS::IAM::Policy' || other.Type === 'AWS::IAM::ManagedPolicy') && JSON.stringify(other.Properties?.Roles ?? []).includes(`"${id}"`),
          );
          const hasPermissions = asArray(properties.ManagedPolicyArns).length > 0 || asArray(properties.Policies).length > 0 || attachedElsewhere;
          return { role: `${stack.displayName}/${properties.RoleName ?? id}`, trust: properties.AssumeRolePolicyDocument, isGitHubProvider, hasPermissions };
        })
        .filter(({ trust, isGitHubProvider }) => trust.Statement.some((s) => asArray((s.Principal as { Federated?: unknown })?.Federated).some(isGitHubProvider)));
    });
  }

  const tokens = pullRequestTokens();

  test('the tokens modelled are the ones a pull-request job can mint', () => {
    expect(tokens.length).toBe(workflowFiles.length * 3 * 6);
    expect(tokens.map((t) => t.sub)).toContain(`repo:${repo}:pull_request`);
  });

  test('no pull-request token can assume any role that has a permission', () => {
    const roles = githubFederatedRoles();
    expect(roles.map((r) => r.role).sort()).toEqual([`${STACK}/BodyScript-GitHub-Deploy-Production`, `${STACK}/BodyScript-GitHub-Deploy-Staging`, `${STACK}/BodyScript-GitHub-Plan-Production`]);
    const assumable = roles.flatMap((r) => tokens.filter((t) => canAssume(r.trust, r.isGitHubProvider, t)).map((t) => `${r.role} by ${String(t.sub)}${r.hasPermissions ? '' : ' (no permissions)'}`));
    expect(assumable.filter((line) => !line.endsWith('(no permissions)'))).toEqual([]);
  });

  describe('the check itself', () => {
    const provider = { Ref: 'GitHubOidcProvider7EBF861F' };
    const isProvider = (p: unknown) => JSON.stringify(p) === JSON.stringify(provider);
    const trustWith = (condition: TrustStatement['Condition'], effect = 'Allow') => ({
      Statement: [{ Effect: effect, Action: 'sts:AssumeRoleWithWebIdentity', Principal: { Federated: provider }, Condition: condition }],
    });
    const assumableByAny = (trust: { Statement: TrustStatement[] }) => tokens.some((t) => canAssume(trust, isProvider, t));

    test('flags the trust policy of the removed diff role (as main had it)', () => {
      expect(assumableByAny(trustWith({ StringEquals: { [`${PROVIDER_HOST}:aud`]: 'sts.amazonaws.com', [`${PROVIDER_HOST}:sub`]: `repo:${repo}:pull_request` } }))).toBe(true);
    });

    test.each([
      ['a wildcard subject', { StringLike: { [`${PROVIDER_HOST}:sub`]: `repo:${repo}:*` } }],
      ['a subject bound only to a workflow file that the pull request can edit', { StringEquals: { [`${PROVIDER_HOST}:sub`]: `repo:${repo}:pull_request:job_workflow_ref:${repo}/.github/workflows/ci.yml@refs/pull/1/merge` } }],
      ['a reusable workflow on main that a pull request can call', { StringEquals: { [`${PROVIDER_HOST}:sub`]: `job_workflow_ref:${repo}/.github/workflows/${workflowFiles[0]}@refs/heads/main` } }],
      ['a condition on the branch name, which the author picks', { StringEquals: { [`${PROVIDER_HOST}:aud`]: 'sts.amazonaws.com', [`${PROVIDER_HOST}:head_ref`]: 'main' } }],
      ['an operator the check does not know', { DateGreaterThan: { [`${PROVIDER_HOST}:iat`]: '2020-01-01T00:00:00Z' } }],
      ['no condition at all', undefined],
    ])('flags %s', (_label, condition) => {
      expect(assumableByAny(trustWith(condition))).toBe(true);
    });

    test.each([
      ['an environment subject', { StringEquals: { [`${PROVIDER_HOST}:aud`]: 'sts.amazonaws.com', [`${PROVIDER_HOST}:sub`]: `repo:${repo}:environment:production` } }],
      ['a branch subject', { StringEquals: { [`${PROVIDER_HOST}:sub`]: `repo:${repo}:ref:refs/heads/main` } }],
      ['another audience', { StringEquals: { [`${PROVIDER_HOST}:aud`]: 'api://elsewhere', [`${PROVIDER_HOST}:sub`]: `repo:${repo}:pull_request` } }],
    ])('does not flag %s', (_label, condition) => {
      expect(assumableByAny(trustWith(condition))).toBe(false);
    });

    test('an explicit Deny of pull-request subjects wins over an Allow', () => {
      const trust = trustWith({ StringLike: { [`${PROVIDER_HOST}:sub`]: `repo:${repo}:*` } });
      trust.Statement.push({ Effect: 'Deny', Action: 'sts:AssumeRoleWithWebIdentity', Principal: { Federated: provider }, Condition: { StringEquals: { [`${PROVIDER_HOST}:event_name`]: 'pull_request' } } });
      expect(assumableByAny(trust)).toBe(false);
    });
  });
});
