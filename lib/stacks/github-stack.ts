import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ENVIRONMENT_NAMES, type EnvironmentConfig, type EnvironmentName, type ProjectConfig } from '../config';
import { deployRoleMaxSessionSeconds } from '../deploy-duration';
import { DEPLOY_BRANCH, DEPLOY_ENVIRONMENTS, deploySubjects, PLAN_WORKFLOWS, planEnvironment, planSubjects } from '../github-repository';
import { environmentTitle, githubDeployRoleName, githubPlanRoleName, operationsRoleName } from '../naming';

/** The issuer of GitHub Actions' OIDC tokens (host only: IAM prefixes condition keys with it). */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
/** The audience configure-aws-credentials asks GitHub to put in the token. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';

/** The roles `cdk bootstrap` creates (default qualifier), by what the CDK CLI uses them for. */
export const CDK_BOOTSTRAP_ROLE_KINDS = ['deploy', 'file-publishing', 'image-publishing', 'lookup'] as const;
export type CdkBootstrapRoleKind = (typeof CDK_BOOTSTRAP_ROLE_KINDS)[number];
/** The default bootstrap qualifier; cdk.json sets no other. */
export const CDK_BOOTSTRAP_QUALIFIER = 'hnb659fds';

/** ARN of a CDK bootstrap role, e.g. `arn:aws:iam::111111111111:role/cdk-hnb659fds-deploy-role-111111111111-us-east-1`. */
export function cdkBootstrapRoleArn(kind: CdkBootstrapRoleKind, account: string, region: string): string {
  return `arn:aws:iam::${account}:role/cdk-${CDK_BOOTSTRAP_QUALIFIER}-${kind}-role-${account}-${region}`;
}

/** ARN of an environment's operations role in one of its accounts. */
export function operationsRoleArn(env: EnvironmentName, account: string): string {
  return `arn:aws:iam::${account}:role/${operationsRoleName(env)}`;
}

/** The account/region pairs an environment deploys to: primary first, then standby. */
function locations(config: EnvironmentConfig): { account: string; region: string }[] {
  return [config.primary, config.standby];
}

/**
 * Every role ARN the deploy role of an environment may assume: the four CDK
 * bootstrap roles of its primary and of its standby account/region, and the
 * environment's operations role in each of its accounts (for the operator
 * CLI's snapshot, rollback and failover, which the bootstrap roles cannot do).
 */
export function deployRoleTargets(config: EnvironmentConfig): string[] {
  const bootstrap = locations(config).flatMap(({ account, region }) => CDK_BOOTSTRAP_ROLE_KINDS.map((kind) => cdkBootstrapRoleArn(kind, account, region)));
  const operations = [...new Set(locations(config).map((l) => l.account))].map((account) => operationsRoleArn(config.name, account));
  return [...new Set([...bootstrap, ...operations])];
}

/**
 * Every role ARN the plan role of an environment may assume: the CDK lookup
 * roles of its primary and standby account/region, which `cdk bootstrap` gives
 * ReadOnlyAccess (without kms:Decrypt) and nothing that changes AWS.
 */
export function planRoleTargets(config: EnvironmentConfig): string[] {
  return [...new Set(locations(config).map(({ account, region }) => cdkBootstrapRoleArn('lookup', account, region)))];
}

/** A plan job reads templates for minutes: an hour is plenty and the shortest session IAM allows. */
const PLAN_ROLE_MAX_SESSION = Duration.hours(1);

export interface GitHubStackProps extends StackProps {
  /** Which repository may assume the roles. */
  readonly github: ProjectConfig['github'];
  /** Every environment, for the account/regions its deploy role may reach. */
  readonly environments: Readonly<Record<EnvironmentName, EnvironmentConfig>>;
}

/**
 * What lets GitHub Actions reach AWS without stored keys: the GitHub OIDC
 * provider and one deploy role per environment. Nothing here trusts a
 * pull-request token: a pull request's workflow is written by its author, so a
 * role it could assume would hand any writer of the repository whatever that
 * role reaches (the pull-request diff role that once lived here read both
 * accounts through the CDK lookup roles and was removed for that reason).
 *
 * A role holds no AWS permission of its own: it may only assume the CDK
 * bootstrap roles (which CloudFormation's execution role backs) and the
 * environment's operations role. A token is accepted only from a job that
 * runs in the matching GitHub environment AND whose workflow file is one of the
 * environment's deploy workflows read from its deploy branch (the subject
 * carries `job_workflow_ref` through the repository's OIDC subject template,
 * lib/github-repository.ts, kept by `npm run github-settings`): a tag, another
 * branch or a workflow a writer adds cannot mint a deploy credential, and the
 * `production` environment's required reviewers still gate every production one
 * (the DR drill's real production failover: `production-failover`'s).
 */
export class GitHubStack extends Stack {
  public readonly oidcProvider: iam.OidcProviderNative;
  /** The deploy role of each environment, trusted only for the subjects of deploySubjects(). */
  public readonly deployRoles: Readonly<Record<EnvironmentName, iam.Role>>;
  /** The read-only plan role of each environment that has a plan job (PLAN_WORKFLOWS), trusted only for planSubjects(). */
  public readonly planRoles: Readonly<Partial<Record<EnvironmentName, iam.Role>>>;

  constructor(scope: Construct, id: string, props: GitHubStackProps) {
    // The roles gate every deployment: deleting this stack by mistake would stop the pipeline.
    super(scope, id, { ...props, terminationProtection: true });
    const { github, environments } = props;

    this.oidcProvider = new iam.OidcProviderNative(this, 'GitHubOidcProvider', {
      url: `https://${GITHUB_OIDC_HOST}`,
      clientIds: [GITHUB_OIDC_AUDIENCE],
      // No thumbprint: IAM validates GitHub's certificate against its own trusted CAs.
    });

    const deployRoles = {} as Record<EnvironmentName, iam.Role>;
    for (const name of ENVIRONMENT_NAMES) {
      const role = this.githubRole(`${environmentTitle(name)}DeployRole`, {
        roleName: githubDeployRoleName(name),
        subjects: deploySubjects(github, name),
        description: `GitHub Actions deploys of BodyScript ${name}: on ${DEPLOY_BRANCH[name]} of ${github.owner}/${github.repository}, only ${Object.entries(DEPLOY_ENVIRONMENTS[name]).map(([environment, files]) => `${files.join(', ')} in the '${environment}' environment`).join('; ')}`,
        // The CDK CLI re-assumes the bootstrap roles with this session for as long as it is valid: it must outlast the longest deploy.
        maxSessionDuration: Duration.seconds(deployRoleMaxSessionSeconds(environments[name])),
      });
      this.allowAssume(role, `${environmentTitle(name)}DeployPolicy`, deployRoleTargets(environments[name]), `BodyScript ${name}: the CDK bootstrap roles and the operations role of ${name}, nothing else`);
      new CfnOutput(this, `${environmentTitle(name)}DeployRoleArn`, { value: role.roleArn, description: `role-to-assume of the ${name} deploy jobs` });
      deployRoles[name] = role;
    }
    this.deployRoles = deployRoles;

    // Review M4: what a production deploy will change is shown before the approval, read with a role that changes nothing.
    const planRoles: Partial<Record<EnvironmentName, iam.Role>> = {};
    for (const name of ENVIRONMENT_NAMES.filter((env) => PLAN_WORKFLOWS[env].length > 0)) {
      const role = this.githubRole(`${environmentTitle(name)}PlanRole`, {
        roleName: githubPlanRoleName(name),
        subjects: planSubjects(github, name),
        description: `GitHub Actions plan of BodyScript ${name} (read-only): the plan job of ${PLAN_WORKFLOWS[name].join(', ')} on ${DEPLOY_BRANCH[name]} in the '${planEnvironment(name)}' environment only`,
        maxSessionDuration: PLAN_ROLE_MAX_SESSION,
      });
      this.allowAssume(role, `${environmentTitle(name)}PlanPolicy`, planRoleTargets(environments[name]), `BodyScript ${name} plan: the CDK lookup roles of ${name} (read-only), nothing else`);
      new CfnOutput(this, `${environmentTitle(name)}PlanRoleArn`, { value: role.roleArn, description: `role-to-assume of the ${name} plan job` });
      planRoles[name] = role;
    }
    this.planRoles = planRoles;
  }

  /**
   * A role that only a GitHub token with exactly one of these `sub`s (and our audience)
   * can assume, for at most `maxSessionDuration` (what the longest deploy of
   * its environment needs, lib/deploy-duration.ts).
   */
  private githubRole(id: string, options: { roleName: string; subjects: string[]; description: string; maxSessionDuration: Duration }): iam.Role {
    return new iam.Role(this, id, {
      roleName: options.roleName,
      description: options.description,
      // StringEquals, not StringLike: a wildcard in `sub` would let any branch or environment in.
      assumedBy: new iam.OpenIdConnectPrincipal(this.oidcProvider, {
        StringEquals: {
          [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
          [`${GITHUB_OIDC_HOST}:sub`]: options.subjects,
        },
      }),
      maxSessionDuration: options.maxSessionDuration,
    });
  }

  /**
   * A managed policy (not inline) so that the role's permissions are one
   * reviewable document. `sts:TagSession` is there because the CDK CLI may pass
   * session tags when it assumes the bootstrap roles, whose trust policies allow it.
   */
  private allowAssume(role: iam.Role, id: string, roleArns: string[], description: string): void {
    const policy = new iam.ManagedPolicy(this, id, {
      description,
      statements: [new iam.PolicyStatement({ sid: 'AssumeNamedRolesOnly', actions: ['sts:AssumeRole', 'sts:TagSession'], resources: roleArns })],
    });
    role.addManagedPolicy(policy);
  }
}
