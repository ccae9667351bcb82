import { loadConfig } from '../lib/config';
import { cdkBootstrapRoleArn, deployRoleTargets, diffRoleTargets } from '../lib/stacks/github-stack';
import { acknowledgements, resourcesOfType, stacks, templateJson, violations } from './support/assembly';

const STACK = 'BodyScript-GitHub';
const config = loadConfig();
const { owner, repository, account, region } = config.project.github;

type Statement = { Effect: string; Action: string | string[]; Resource?: string | string[]; Principal?: unknown; Condition?: Record<string, Record<string, string>> };
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

  test('creates exactly the two deploy roles and the diff role', () => {
    const names = resourcesOfType(STACK, 'AWS::IAM::Role').map(([, r]) => r.Properties?.RoleName);
    expect(names.sort()).toEqual(['BodyScript-GitHub-Deploy-Production', 'BodyScript-GitHub-Deploy-Staging', 'BodyScript-GitHub-Diff']);
  });

  test.each([
    ['BodyScript-GitHub-Deploy-Staging', `repo:${owner}/${repository}:environment:staging`],
    ['BodyScript-GitHub-Deploy-Production', `repo:${owner}/${repository}:environment:production`],
    ['BodyScript-GitHub-Diff', `repo:${owner}/${repository}:pull_request`],
  ])('%s trusts only GitHub tokens whose sub is exactly %s', (roleName, subject) => {
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
            'token.actions.githubusercontent.com:sub': subject,
          },
        },
      },
    ]);
    expect(subject).not.toContain('*');
  });

  test('the staging role is not trusted for the production environment, nor the reverse', () => {
    const sub = (name: string) => role(name).AssumeRolePolicyDocument.Statement[0].Condition!.StringEquals['token.actions.githubusercontent.com:sub'];
    expect(sub('BodyScript-GitHub-Deploy-Staging')).not.toContain('production');
    expect(sub('BodyScript-GitHub-Deploy-Production')).not.toContain('staging');
  });

  test.each(['BodyScript-GitHub-Deploy-Staging', 'BodyScript-GitHub-Deploy-Production', 'BodyScript-GitHub-Diff'])(
    '%s sessions last at most an hour and its permissions come from one managed policy, none inline or AWS-managed',
    (roleName) => {
      const properties = role(roleName);
      expect(properties.MaxSessionDuration).toBe(3600);
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

  test('the diff role may only assume the read-only lookup roles', () => {
    const statements = permissionStatements('BodyScript-GitHub-Diff');
    expect(statements).toHaveLength(1);
    expect(asList(statements[0].Action).sort()).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    const resources = asList(statements[0].Resource);
    expect(resources.length).toBeGreaterThan(0);
    for (const arn of resources) expect(arn).toMatch(/^arn:aws:iam::\d{12}:role\/cdk-hnb659fds-lookup-role-\d{12}-[a-z]{2}-[a-z]+-\d$/);
    expect(resources.sort()).toEqual(
      [
        cdkBootstrapRoleArn('lookup', config.environments.staging.primary.account, 'us-east-1'),
        cdkBootstrapRoleArn('lookup', config.environments.staging.standby.account, 'us-west-2'),
        cdkBootstrapRoleArn('lookup', config.environments.production.primary.account, 'us-east-1'),
        cdkBootstrapRoleArn('lookup', config.environments.production.standby.account, 'us-west-2'),
      ].sort(),
    );
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
    expect(outputs).toEqual(expect.arrayContaining(['StagingDeployRoleArn', 'ProductionDeployRoleArn', 'DiffRoleArn']));
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

  test('the diff role targets are deduplicated across environments that share an account', () => {
    const targets = diffRoleTargets({ staging, production: { ...config.environments.production, primary: staging.primary, standby: staging.standby } });
    expect(targets).toEqual([cdkBootstrapRoleArn('lookup', staging.primary.account, 'us-east-1'), cdkBootstrapRoleArn('lookup', staging.standby.account, 'us-west-2')]);
  });
});
