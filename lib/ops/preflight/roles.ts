import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { ProjectConfig } from '../../config';
import { deployRoleMaxSessionSeconds } from '../../deploy-duration';
import { githubDeployRoleName, operationsRoleName, stackNames } from '../../naming';
import { OpsError, toOpsError } from '../aws-errors';
import type { OpsContext } from '../context';
import { fail, getRole, ok, type PreflightCheck } from './check';
import { allowsAction, awsPrincipals, decodePolicyDocument, federatedPrincipals, UNIQUE_ROLE_ID } from './policy-document';
import type { ExpectDeployed } from './stacks';

/**
 * The GitHub deploy role of the environment and the operations role that
 * trusts it by ARN (deploy review R8). IAM refuses a trust policy that names a
 * role that does not exist, so `BodyScript-GitHub` must be deployed before
 * the first `BodyScript-<Env>`; and IAM stores the trusted role by its unique
 * id, so a deploy role deleted or recreated later leaves the operations role
 * trusting an id nobody has ("if you delete the role, then you break the
 * relationship ... the principal ID shows up", IAM User Guide, role trust
 * policy examples). Both are checked here.
 *
 * The deploy role itself is read where it lives: with the environment's
 * credentials when it is the same account, with `--github-profile`
 * otherwise. Without either, the operations role's trust still tells whether
 * the deploy role exists (IAM shows its ARN only while it does).
 */

export const GITHUB_OIDC_PROVIDER_HOST = 'token.actions.githubusercontent.com';

function deployRoleArn(ctx: OpsContext, project: ProjectConfig): string {
  return `arn:aws:iam::${project.github.account}:role/${githubDeployRoleName(ctx.env)}`;
}

async function checkOperationsRole(ctx: OpsContext, project: ProjectConfig, expect: ExpectDeployed | undefined): Promise<{ checks: PreflightCheck[]; trustsDeployRoleByArn: boolean }> {
  const name = operationsRoleName(ctx.env);
  const deployArn = deployRoleArn(ctx, project);
  const role = await getRole(ctx, ctx.clients.iam, name, ctx.config.primary.account);
  if (!role) {
    const check = expect
      ? fail('roles', `operations role ${name}`, 'missing: the pipeline switches to it for snapshot, rollback and failover', `npx cdk deploy ${stackNames.operations(ctx.env)}`)
      : ok('roles', `operations role ${name}`, `not created yet: the first cdk deploy ${stackNames.application(ctx.env)} creates it, trusting ${deployArn} by ARN`);
    return { checks: [check], trustsDeployRoleByArn: false };
  }
  const document = decodePolicyDocument(role.AssumeRolePolicyDocument);
  const principals = awsPrincipals(document);
  const checks: PreflightCheck[] = [];
  const trustsByArn = principals.includes(deployArn);
  const orphaned = principals.filter((p) => UNIQUE_ROLE_ID.test(p));
  if (trustsByArn) {
    checks.push(ok('roles', `operations role ${name} trusts the deploy role`, `${deployArn} (IAM shows the ARN only while that role exists)`));
  } else {
    checks.push(
      fail(
        'roles',
        `operations role ${name} trusts the deploy role`,
        orphaned.length > 0
          ? `it trusts ${orphaned.join(', ')}: the unique id of a role that was deleted (or deleted and recreated) after ${name} was created; IAM no longer maps it to ${deployArn}, so the pipeline cannot switch to ${name}`
          : `it trusts ${principals.join(', ') || 'no IAM principal'}, not ${deployArn}`,
        `deploy ${stackNames.github} if ${githubDeployRoleName(ctx.env)} is missing, then rewrite the trust policy (a redeploy of an unchanged template does not): ` +
          `aws iam update-assume-role-policy --role-name ${name} --policy-document file://trust.json with the AssumeRolePolicyDocument of ${name} in cdk.out/${stackNames.operations(ctx.env)}.template.json`,
      ),
    );
  }
  const tags = allowsAction(document, 'sts:TagSession', { account: project.github.account, roleArn: deployArn });
  checks.push(
    tags
      ? ok('roles', `operations role ${name} accepts session tags`, 'sts:TagSession is trusted: the chained configure-aws-credentials step may tag its session')
      : fail(
          'roles',
          `operations role ${name} accepts session tags`,
          'sts:TagSession is not trusted: the chained configure-aws-credentials step tags its session, and IAM refuses it',
          `npx cdk deploy ${stackNames.operations(ctx.env)}`,
        ),
  );
  return { checks, trustsDeployRoleByArn: trustsByArn };
}

async function checkGitHubIdentity(ctx: OpsContext, project: ProjectConfig): Promise<void> {
  const github = ctx.clients.github;
  if (!github) return;
  let identity;
  try {
    identity = await github.sts.send(new GetCallerIdentityCommand({}));
  } catch (error) {
    throw toOpsError(error, { action: 'sts:GetCallerIdentity', resource: 'caller identity (--github-profile)', region: 'us-east-1', account: project.github.account });
  }
  if (identity.Account !== project.github.account) {
    throw new OpsError(
      'credentials',
      `--github-profile gives credentials for account ${identity.Account ?? 'unknown'} (${identity.Arn ?? 'unknown principal'}), but the GitHub deploy roles live in account ${project.github.account} (lib/config/project.ts): pass a profile of that account`,
    );
  }
}

async function checkDeployRole(ctx: OpsContext, project: ProjectConfig, trustedByOperationsRole: boolean): Promise<PreflightCheck> {
  const roleName = githubDeployRoleName(ctx.env);
  const account = project.github.account;
  const name = `GitHub deploy role ${roleName} (account ${account})`;
  const deployFix = `npx cdk deploy ${stackNames.github} with administrator credentials of account ${account}, before ${stackNames.application(ctx.env)}`;
  const iam = account === ctx.config.primary.account ? ctx.clients.iam : ctx.clients.github?.iam;
  if (!iam) {
    return trustedByOperationsRole
      ? ok('roles', name, `exists: ${operationsRoleName(ctx.env)} names it by ARN (its session length is read with --github-profile <a profile of ${account}>)`)
      : fail(
          'roles',
          name,
          `cannot be read with credentials of account ${ctx.config.primary.account}, and no operations role names it yet`,
          `npm run ops -- preflight --env ${ctx.env} --github-profile <a profile of account ${account}>`,
        );
  }
  const role = await getRole(ctx, iam, roleName, account);
  if (!role) {
    return fail(
      'roles',
      name,
      `missing: ${stackNames.operations(ctx.env)} trusts it by ARN, and IAM refuses a trust policy that names a role that does not exist`,
      deployFix,
    );
  }
  const provider = `arn:aws:iam::${account}:oidc-provider/${GITHUB_OIDC_PROVIDER_HOST}`;
  const federated = federatedPrincipals(decodePolicyDocument(role.AssumeRolePolicyDocument));
  if (!federated.includes(provider)) {
    return fail('roles', name, `trusts ${federated.join(', ') || 'no identity provider'}, not ${provider}: GitHub Actions cannot assume it`, deployFix);
  }
  const needed = deployRoleMaxSessionSeconds(ctx.config);
  const allowed = role.MaxSessionDuration ?? 3600;
  return allowed >= needed
    ? ok('roles', name, `trusts ${provider}; sessions up to ${allowed / 3600} h (a deploy of ${ctx.env} may take ${needed / 3600} h)`)
    : fail(
        'roles',
        name,
        `sessions last at most ${allowed / 3600} h, but a deploy of ${ctx.env} may take ${needed / 3600} h (lib/deploy-duration.ts): the pipeline's credentials would expire mid-deploy`,
        `npx cdk deploy ${stackNames.github} with administrator credentials of account ${account}`,
      );
}

export async function checkRoles(ctx: OpsContext, project: ProjectConfig, expect: ExpectDeployed | undefined): Promise<PreflightCheck[]> {
  await checkGitHubIdentity(ctx, project);
  const operations = await checkOperationsRole(ctx, project, expect);
  return [await checkDeployRole(ctx, project, operations.trustsDeployRoleByArn), ...operations.checks];
}
