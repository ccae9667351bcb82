import { ENVIRONMENT_NAMES, type ProjectConfig } from '../config';
import { DEFAULT_BRANCH, DEPLOY_BRANCH, ERROR_BUDGET_ENVIRONMENT, GATE_ENVIRONMENT, OIDC_SUBJECT_CLAIM_KEYS, PLAN_WORKFLOWS, planEnvironment, PRODUCTION_FAILOVER_ENVIRONMENT, PROTECTED_BRANCHES, reportingEnvironment } from '../github-repository';

/**
 * The repository settings the pipeline's safety rests on, as data. Each one
 * closes a path of the security review (shared/reviews/2026-11-30-security-review.md):
 * the OIDC subject template and the environments' branch rules (H1: only the
 * reviewed deploy workflow on its branch gets a deploy credential), the
 * production reviewers with self-review prevented (H1), the ruleset on develop
 * and main (H2, C2), the secrets only in environments (M2).
 */

/** GitHub Actions' own app id: the source of the `ci` check runs. */
export const GITHUB_ACTIONS_APP_ID = 15368;

/** The status check of ci.yml's only job (its `name`), required on the protected branches. */
export const CI_CHECK_NAME = 'lint, typecheck, test, synth';

export interface DesiredEnvironment {
  readonly name: string;
  /** The only branches whose runs may use the environment (custom deployment branch policies of type `branch`). */
  readonly branches: readonly string[];
  /** Teams (slugs of the repository's organization) of which one member must approve each job; empty = no reviewer. */
  readonly reviewerTeams: readonly string[];
  /** Whether the person who started the run may approve it. */
  readonly preventSelfReview: boolean;
  /** Secrets jobs of this environment need: checked to exist (values are never read or written by the tool). */
  readonly requiredSecrets: readonly string[];
  /** Secrets a job uses when present (e.g. Slack is skipped without its webhook). */
  readonly optionalSecrets: readonly string[];
  /** Why the environment is set up so, in one sentence (printed with every finding). */
  readonly why: string;
}

export interface RequiredCheck {
  readonly context: string;
  /** The app that must post it: a number, or the gate's own GitHub App (its id is given with --gate-app-id). */
  readonly source: number | 'gate-app';
}

export interface DesiredRuleset {
  readonly name: string;
  readonly branches: readonly string[];
  readonly requiredApprovals: number;
  readonly requiredChecks: readonly RequiredCheck[];
}

export interface DesiredSettings {
  readonly owner: string;
  readonly repo: string;
  readonly defaultBranch: string;
  readonly oidcClaimKeys: readonly string[];
  readonly environments: readonly DesiredEnvironment[];
  readonly ruleset: DesiredRuleset;
}

/** The team whose members approve production deploys (one of them, never the person who started the run). */
export const PRODUCTION_APPROVERS_TEAM = 'platform';

/**
 * The team whose members approve a real production failover of the DR drill
 * (one of them, never the person who started the run): the owners of the
 * data it promotes and leaves behind (the team CODEOWNERS names for the
 * stateful stacks), not the everyday production approvers (review M9).
 */
export const PRODUCTION_FAILOVER_APPROVERS_TEAM = 'data-owners';

export function desiredSettings(github: ProjectConfig['github'], gateCheckName: string): DesiredSettings {
  const reporting = ENVIRONMENT_NAMES.map(
    (env): DesiredEnvironment => ({
      name: reportingEnvironment(env),
      branches: [DEPLOY_BRANCH[env]],
      reviewerTeams: [],
      preventSelfReview: false,
      requiredSecrets: ['SENTRY_AUTH_TOKEN'],
      optionalSecrets: ['SLACK_WEBHOOK_URL'],
      why: `the Sentry and Slack jobs of deploy-${env}.yml: their secrets reach only runs of ${DEPLOY_BRANCH[env]}, never another branch's or a pull request's workflow`,
    }),
  );
  return {
    owner: github.owner,
    repo: github.repository,
    defaultBranch: DEFAULT_BRANCH,
    oidcClaimKeys: OIDC_SUBJECT_CLAIM_KEYS,
    environments: [
      {
        name: 'staging',
        branches: [DEPLOY_BRANCH.staging],
        reviewerTeams: [],
        preventSelfReview: false,
        requiredSecrets: [],
        optionalSecrets: [],
        why:
          'no required reviewer, by decision: develop accepts only pull requests approved by a second person after their last push (the ruleset), ' +
          'so every staging deploy is already reviewed code, and a reviewer here would approve the same commit again on every merge',
      },
      {
        name: 'production',
        branches: [DEPLOY_BRANCH.production],
        reviewerTeams: [PRODUCTION_APPROVERS_TEAM],
        preventSelfReview: true,
        requiredSecrets: [],
        optionalSecrets: [],
        why: 'a second person approves every production deploy, of main only; the deploy job holds AWS credentials and no secret',
      },
      ...ENVIRONMENT_NAMES.filter((env) => PLAN_WORKFLOWS[env].length > 0).map(
        (env): DesiredEnvironment => ({
          name: planEnvironment(env),
          branches: [DEPLOY_BRANCH[env]],
          reviewerTeams: [],
          preventSelfReview: false,
          requiredSecrets: [],
          optionalSecrets: [],
          why: `the plan job of ${PLAN_WORKFLOWS[env].join(', ')}: it shows the ${env} reviewers what the deploy will change before they approve, with a read-only role that trusts only this environment on ${DEPLOY_BRANCH[env]}; no reviewer here, or the plan would wait for its own approval`,
        }),
      ),
      {
        name: PRODUCTION_FAILOVER_ENVIRONMENT,
        branches: [DEPLOY_BRANCH.production],
        reviewerTeams: [PRODUCTION_FAILOVER_APPROVERS_TEAM],
        preventSelfReview: true,
        requiredSecrets: [],
        optionalSecrets: [],
        why:
          'the DR drill fails production over for real only in this environment: a data owner other than the person who started the run approves it (review M9), ' +
          'of main only; a drill that prints the production plan runs in production',
      },
      ...reporting,
      {
        name: GATE_ENVIRONMENT,
        branches: [DEFAULT_BRANCH],
        reviewerTeams: [],
        preventSelfReview: false,
        requiredSecrets: ['GATE_APP_PRIVATE_KEY'],
        optionalSecrets: [],
        why: 'the stateful-change gate App key reaches only the gate, which runs from the default branch',
      },
      {
        name: ERROR_BUDGET_ENVIRONMENT,
        branches: [DEPLOY_BRANCH.production],
        reviewerTeams: [],
        preventSelfReview: false,
        requiredSecrets: ['GATE_APP_PRIVATE_KEY'],
        optionalSecrets: [],
        why: "the gate App key for deploy-production.yml's error-budget-override job only (reads the merged pull request's reviews and team memberships; no AWS credentials), from main",
      },
    ],
    ruleset: {
      name: 'BodyScript protected branches',
      branches: PROTECTED_BRANCHES,
      requiredApprovals: 1,
      requiredChecks: [
        { context: CI_CHECK_NAME, source: GITHUB_ACTIONS_APP_ID },
        { context: gateCheckName, source: 'gate-app' },
      ],
    },
  };
}

/** Every secret that belongs to an environment, with the environments that need it. */
export function environmentSecrets(desired: DesiredSettings): Map<string, DesiredEnvironment[]> {
  const secrets = new Map<string, DesiredEnvironment[]>();
  for (const environment of desired.environments) {
    for (const name of [...environment.requiredSecrets, ...environment.optionalSecrets]) secrets.set(name, [...(secrets.get(name) ?? []), environment]);
  }
  return secrets;
}
