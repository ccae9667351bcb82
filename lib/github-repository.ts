import type { EnvironmentName, ProjectConfig } from './config';

/**
 * How the GitHub repository is set up around the pipeline, in one place: the
 * deploy roles' trust policies (lib/stacks/github-stack.ts), the repository
 * settings that `npm run github-settings` checks and applies
 * (lib/github-settings/) and the workflow tests read these, so that a branch,
 * workflow or environment renamed in one of them fails the others' tests.
 */

/** Where pull requests go; `workflow_run` workflows (the stateful-change gate) run this branch's files. */
export const DEFAULT_BRANCH = 'develop';

/** The branch whose reviewed code each environment deploys (and the only branch its GitHub environment admits). */
export const DEPLOY_BRANCH: Readonly<Record<EnvironmentName, string>> = { staging: 'develop', production: 'main' };

/** The branches every change reaches only through a reviewed pull request (the ruleset `github-settings` keeps). */
export const PROTECTED_BRANCHES: readonly string[] = ['develop', 'main'];

/**
 * The repository's OIDC subject template: GitHub builds `sub` from these claims
 * in this order (`PUT /repos/{owner}/{repo}/actions/oidc/customization/sub`).
 * With `job_workflow_ref` in the subject, a token names the workflow file and
 * the ref it was read from, so only that file on that branch can mint it.
 */
export const OIDC_SUBJECT_CLAIM_KEYS: readonly string[] = ['repo', 'context', 'job_workflow_ref'];

/**
 * The GitHub environment in which the DR drill fails production over for real
 * (security review M9): its own required reviewers (the data owners: a real
 * failover promotes the standby replica and leaves the primary database
 * behind), not the ordinary production deploy approval. Drills that only print
 * the production plan, and staging's, run in the ordinary environment.
 */
export const PRODUCTION_FAILOVER_ENVIRONMENT = 'production-failover';

/** The workflow whose job may run in PRODUCTION_FAILOVER_ENVIRONMENT. */
export const DR_DRILL_WORKFLOW = 'dr-drill.yml';

/**
 * For each environment's deploy role, the GitHub environments whose jobs may
 * use it and the workflow files that may run there (on the environment's
 * deploy branch): the deploy role trusts exactly these subjects.
 */
export const DEPLOY_ENVIRONMENTS: Readonly<Record<EnvironmentName, Readonly<Record<string, readonly string[]>>>> = {
  staging: { staging: ['deploy-staging.yml', DR_DRILL_WORKFLOW] },
  production: { production: ['deploy-production.yml', DR_DRILL_WORKFLOW], [PRODUCTION_FAILOVER_ENVIRONMENT]: [DR_DRILL_WORKFLOW] },
};

/** The workflow files whose jobs deploy an environment (each job runs in one of its DEPLOY_ENVIRONMENTS). */
export const DEPLOY_WORKFLOWS: Readonly<Record<EnvironmentName, readonly string[]>> = {
  staging: [...new Set(Object.values(DEPLOY_ENVIRONMENTS.staging).flat())],
  production: [...new Set(Object.values(DEPLOY_ENVIRONMENTS.production).flat())],
};

/** The environment whose deploy role a job of this GitHub environment uses, or undefined for an environment that deploys nothing. */
export function deployRoleEnvironmentOf(githubEnvironment: string): EnvironmentName | undefined {
  return (Object.keys(DEPLOY_ENVIRONMENTS) as EnvironmentName[]).find((env) => githubEnvironment in DEPLOY_ENVIRONMENTS[env]);
}

/**
 * The workflow files whose `plan` job shows an environment's reviewers what a
 * deploy will change before they approve it (review M4): production only,
 * where a person approves; staging deploys without an approval to inform.
 */
export const PLAN_WORKFLOWS: Readonly<Record<EnvironmentName, readonly string[]>> = {
  staging: [],
  production: ['deploy-production.yml'],
};

/**
 * The GitHub environment of an environment's plan job: its own (deploy branch
 * only, no reviewer), so that the plan runs BEFORE the deploy environment's
 * approval, and so that the plan role's trust names exactly that job: no other
 * job runs in it (test/workflows.test.ts).
 */
export function planEnvironment(env: EnvironmentName): string {
  return `${env}-plan`;
}

/**
 * The environment that holds the secrets of the jobs that report an
 * environment's release (Sentry and Slack). Its own environment, not the
 * deploy's: every job that names an environment with required reviewers waits
 * for its own approval, and the deploy job holds AWS credentials, which never
 * share a job with a secret.
 */
export function reportingEnvironment(env: EnvironmentName): string {
  return `${env}-reporting`;
}

/** The environment whose secret is the stateful-change gate's GitHub App key (default branch only). */
export const GATE_ENVIRONMENT = 'stateful-change-gate';

/**
 * The environment of deploy-production.yml's error-budget-override job: the gate
 * App's key again, admitted only to main (the gate's own environment admits
 * only the default branch), for reading the reviews of the pull request that
 * merged the deployed commit and its approvers' team memberships.
 */
export const ERROR_BUDGET_ENVIRONMENT = 'production-error-budget';

/** `owner/repository/.github/workflows/<file>@refs/heads/<branch>`: the `job_workflow_ref` claim of a job of that file run from that branch. */
export function jobWorkflowRef(github: ProjectConfig['github'], workflowFile: string, branch: string): string {
  return `${github.owner}/${github.repository}/.github/workflows/${workflowFile}@refs/heads/${branch}`;
}

/**
 * The `sub` of a token minted by a job of `workflowFile`, run from `branch`, in
 * the GitHub environment `environment`, under the template
 * OIDC_SUBJECT_CLAIM_KEYS. GitHub documents the format as
 * `repo:ORG-NAME/REPO-NAME:environment:ENVIRONMENT-NAME:job_workflow_ref:WORKFLOW-PATH`
 * (docs.github.com, "OpenID Connect reference", "Customizing the subject claims").
 */
export function workflowSubject(github: ProjectConfig['github'], environment: string, workflowFile: string, branch: string): string {
  return `repo:${github.owner}/${github.repository}:environment:${environment}:job_workflow_ref:${jobWorkflowRef(github, workflowFile, branch)}`;
}

/** Every `sub` the deploy role of an environment accepts: its deploy workflows, from its deploy branch, each in the GitHub environments it may run in. */
export function deploySubjects(github: ProjectConfig['github'], env: EnvironmentName): string[] {
  return Object.entries(DEPLOY_ENVIRONMENTS[env]).flatMap(([environment, files]) => files.map((file) => workflowSubject(github, environment, file, DEPLOY_BRANCH[env])));
}

/**
 * Every `sub` the plan role of an environment accepts: its plan workflows,
 * from its deploy branch, in its plan environment. A pull request reaches none:
 * its jobs run from `refs/pull/<n>/merge` and the environment admits only the
 * deploy branch (issue 16.1).
 */
export function planSubjects(github: ProjectConfig['github'], env: EnvironmentName): string[] {
  return PLAN_WORKFLOWS[env].map((file) => workflowSubject(github, planEnvironment(env), file, DEPLOY_BRANCH[env]));
}
