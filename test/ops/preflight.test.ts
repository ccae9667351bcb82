import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { type Address, DescribeAddressesCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { DescribeImagesCommand, DescribeRegistryCommand, type ReplicationRule } from '@aws-sdk/client-ecr';
import { GetRoleCommand, IAMClient, type Role } from '@aws-sdk/client-iam';
import { DescribeAccountAttributesCommand } from '@aws-sdk/client-rds';
import { DescribeSecretCommand, type DescribeSecretCommandOutput } from '@aws-sdk/client-secrets-manager';
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { type EnvironmentName, loadConfig } from '../../lib/config';
import { deployRoleMaxSessionSeconds } from '../../lib/deploy-duration';
import { runCli } from '../../lib/ops/cli';
import { runPreflight } from '../../lib/ops/commands/preflight';
import { ExitCode } from '../../lib/ops/exit-codes';
import type { PreflightCheck } from '../../lib/ops/preflight/check';
import type { ExpectDeployed } from '../../lib/ops/preflight/stacks';
import { testAssemblyDir } from '../support/synthesize';
import { awsError, captureOutput, FAST_RETRY, fakeClock, type Harness, harness, mockedClients } from './helpers';

/**
 * `ops preflight` against a mocked account. `healthy()` models an account
 * where everything a deploy needs is in place; each test then takes one
 * prerequisite away the way AWS reports it (a missing stack is a
 * ValidationError, a missing image an ImageNotFoundException, a policy comes
 * back URL-encoded, a quota without an applied value is a
 * NoSuchResourceException, ...) and reads the report.
 */

const bodyscript = loadConfig();
const GITHUB_ACCOUNT = bodyscript.project.github.account;
const DIGEST = 'sha256:1f2e3d4c5b6a79880716253443526170f9e8d7c6b5a49382716051f4e3d2c1b0';
const QUALIFIER = 'hnb659fds';

/** IAM returns policy documents URL-encoded (GetRole); the mocks do too. */
const encoded = (document: object) => encodeURIComponent(JSON.stringify(document));
const missingStack = (name: string) => awsError('ValidationError', `Stack with id ${name} does not exist`);

/** The trust policy `cdk bootstrap --trust <account> --trust-for-lookup <account>` gives a bootstrap role. */
function bootstrapTrust(account: string, trusted: string[], tagSession = true) {
  const principals = [account, ...trusted].map((a) => `arn:aws:iam::${a}:root`);
  return {
    Version: '2012-10-17',
    Statement: principals.flatMap((p) => [
      { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: p } },
      ...(tagSession ? [{ Effect: 'Allow', Action: 'sts:TagSession', Principal: { AWS: p } }] : []),
    ]),
  };
}

interface World {
  readonly h: Harness;
  readonly env: EnvironmentName;
  /** Stacks by region and name; absent means "does not exist". */
  readonly stacks: Map<string, Stack>;
  readonly parameters: Map<string, string | undefined>;
  /** Roles by name; absent means NoSuchEntity. */
  readonly roles: Map<string, Role>;
  readonly images: Map<string, { digest: string } | 'no-image' | 'no-repository'>;
  replication: ReplicationRule[];
  secrets: Map<string, DescribeSecretCommandOutput | undefined>;
  manualSnapshots: { Used: number; Max: number } | undefined;
  addresses: Map<string, Address[]>;
  vpcs: Map<string, { VpcId: string; Tags?: { Key: string; Value: string }[] }[]>;
  quotas: Map<string, number | 'none'>;
}

function healthy(env: EnvironmentName = 'staging'): World {
  const h = harness(env);
  const { primary, standby } = h.config;
  const account = primary.account;
  const trusted = GITHUB_ACCOUNT === account ? [] : [GITHUB_ACCOUNT];
  const world: World = {
    h,
    env,
    stacks: new Map(),
    parameters: new Map(),
    roles: new Map(),
    images: new Map(),
    replication: [{ destinations: [{ region: standby.region, registryId: standby.account }], repositoryFilters: [{ filter: `bodyscript/${env}/`, filterType: 'PREFIX_MATCH' }] }],
    secrets: new Map(),
    manualSnapshots: { Used: 3, Max: 100 },
    addresses: new Map([
      [primary.region, []],
      [standby.region, []],
    ]),
    vpcs: new Map([
      [primary.region, [{ VpcId: 'vpc-default1' }]],
      [standby.region, [{ VpcId: 'vpc-default2' }]],
    ]),
    quotas: new Map(),
  };
  for (const region of [primary.region, standby.region]) {
    world.stacks.set(`${region}/CDKToolkit`, { StackName: 'CDKToolkit', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '33' }] });
    world.parameters.set(`${region}//cdk-bootstrap/${QUALIFIER}/version`, '33');
    for (const kind of ['deploy', 'file-publishing', 'image-publishing', 'lookup']) {
      const name = `cdk-${QUALIFIER}-${kind}-role-${account}-${region}`;
      world.roles.set(name, { RoleName: name, Arn: `arn:aws:iam::${account}:role/${name}`, Path: '/', RoleId: 'AROAEXAMPLEBOOTSTRAP1', CreateDate: new Date(), AssumeRolePolicyDocument: encoded(bootstrapTrust(account, trusted)) });
    }
    for (const service of ['api', 'processing']) world.images.set(`${region}/bodyscript/${env}/${service}:1.0.0`, { digest: DIGEST });
  }
  const deployArn = `arn:aws:iam::${GITHUB_ACCOUNT}:role/BodyScript-GitHub-Deploy-${env === 'staging' ? 'Staging' : 'Production'}`;
  const operations = `BodyScript-${env === 'staging' ? 'Staging' : 'Production'}-Operations`;
  world.roles.set(operations, {
    RoleName: operations,
    Arn: `arn:aws:iam::${account}:role/${operations}`,
    Path: '/',
    RoleId: 'AROAEXAMPLEOPERATIONS',
    CreateDate: new Date(),
    MaxSessionDuration: 3600,
    AssumeRolePolicyDocument: encoded({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Principal: { AWS: deployArn } }] }),
  });
  world.roles.set(deployArn.split('/')[1], githubDeployRole(env, deployRoleMaxSessionSeconds(h.config)));
  world.secrets.set(`${primary.region}/${h.config.sentry.dsnSecretName}`, {
    $metadata: {},
    Name: h.config.sentry.dsnSecretName,
    VersionIdsToStages: { 'v-1': ['AWSCURRENT'] },
    ReplicationStatus: [{ Region: standby.region, Status: 'InSync' }],
  });
  world.secrets.set(`${standby.region}/${h.config.sentry.dsnSecretName}`, { $metadata: {}, Name: h.config.sentry.dsnSecretName, PrimaryRegion: primary.region, VersionIdsToStages: { 'v-1': ['AWSCURRENT'] } });
  wire(world);
  return world;
}

function githubDeployRole(env: EnvironmentName, maxSessionDuration: number): Role {
  const name = `BodyScript-GitHub-Deploy-${env === 'staging' ? 'Staging' : 'Production'}`;
  return {
    RoleName: name,
    Arn: `arn:aws:iam::${GITHUB_ACCOUNT}:role/${name}`,
    Path: '/',
    RoleId: 'AROAEXAMPLEGITHUBDEPLOY',
    CreateDate: new Date(),
    MaxSessionDuration: maxSessionDuration,
    AssumeRolePolicyDocument: encoded({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRoleWithWebIdentity', Principal: { Federated: `arn:aws:iam::${GITHUB_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` } }],
    }),
  };
}

/** Answers every preflight call from the world, the way AWS would. */
function wire(world: World): void {
  const { h } = world;
  const roleAnswer = (roles: Map<string, Role>, account: string) => (input: { RoleName?: string }) => {
    const role = roles.get(input.RoleName ?? '');
    // Roles of other accounts are not visible with these credentials.
    if (!role || !role.Arn?.startsWith(`arn:aws:iam::${account}:`)) throw awsError('NoSuchEntityException', `The role with name ${input.RoleName} cannot be found.`);
    return { Role: role };
  };
  h.mocks.iam.on(GetRoleCommand).callsFake(roleAnswer(world.roles, h.config.primary.account));
  for (const side of ['primary', 'standby'] as const) {
    const region = h.config[side].region;
    const mocks = h.mocks[side];
    mocks.cloudFormation.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => {
      const stack = world.stacks.get(`${region}/${input.StackName}`);
      if (!stack) throw missingStack(input.StackName);
      return { Stacks: [stack] };
    });
    mocks.ssm.on(GetParameterCommand).callsFake((input: { Name: string }) => {
      const value = world.parameters.get(`${region}/${input.Name}`);
      if (value === undefined) throw awsError('ParameterNotFound');
      return { Parameter: { Name: input.Name, Value: value } };
    });
    mocks.ecr.on(DescribeImagesCommand).callsFake((input: { repositoryName: string; imageIds: { imageTag: string }[] }) => {
      const found = world.images.get(`${region}/${input.repositoryName}:${input.imageIds[0].imageTag}`);
      if (found === 'no-repository' || (found === undefined && ![...world.images.keys()].some((k) => k.startsWith(`${region}/${input.repositoryName}:`)))) {
        throw awsError('RepositoryNotFoundException', `The repository with name '${input.repositoryName}' does not exist in the registry`);
      }
      if (!found || found === 'no-image') throw awsError('ImageNotFoundException', `The image with imageId {imageTag:'${input.imageIds[0].imageTag}'} does not exist within the repository`);
      return { imageDetails: [{ imageDigest: found.digest, imagePushedAt: new Date('2025-05-30T10:00:00Z'), imageTags: [input.imageIds[0].imageTag] }] };
    });
    mocks.ecr.on(DescribeRegistryCommand).callsFake(() => ({ registryId: h.config[side].account, replicationConfiguration: { rules: world.replication } }));
    mocks.secretsManager.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => {
      const secret = world.secrets.get(`${region}/${input.SecretId}`);
      if (!secret) throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      return secret;
    });
    mocks.rds.on(DescribeAccountAttributesCommand).callsFake(() => ({
      AccountQuotas: [{ AccountQuotaName: 'DBInstances', Used: 2, Max: 40 }, ...(world.manualSnapshots ? [{ AccountQuotaName: 'ManualSnapshots', ...world.manualSnapshots }] : [])],
    }));
    mocks.ec2.on(DescribeAddressesCommand).callsFake(() => ({ Addresses: world.addresses.get(region) }));
    mocks.ec2.on(DescribeVpcsCommand).callsFake(() => ({ Vpcs: world.vpcs.get(region) }));
    mocks.serviceQuotas.on(GetServiceQuotaCommand).callsFake((input: { QuotaCode: string }) => {
      const value = world.quotas.get(`${region}/${input.QuotaCode}`) ?? 'none';
      if (value === 'none') throw awsError('NoSuchResourceException', 'The request failed because the specified service quota does not exist.');
      return { Quota: { QuotaCode: input.QuotaCode, Value: value } };
    });
    mocks.serviceQuotas.on(GetAWSDefaultServiceQuotaCommand).callsFake((input: { QuotaCode: string }) => ({ Quota: { QuotaCode: input.QuotaCode, Value: 5 } }));
  }
}

async function preflight(world: World, expectDeployed?: ExpectDeployed, assemblyDir = testAssemblyDir()) {
  return runPreflight(world.h.ctx, { project: bodyscript.project, assemblyDir, expectDeployed });
}

function check(checks: PreflightCheck[], name: string | RegExp): PreflightCheck {
  const found = checks.filter((c) => (typeof name === 'string' ? c.name === name : name.test(c.name)));
  expect(found.map((c) => c.name)).toHaveLength(1);
  return found[0];
}

const failing = (checks: PreflightCheck[]) => checks.filter((c) => !c.ok).map((c) => c.name);

/** Every command any mocked client received. */
function allCommands(world: World): string[] {
  const names: string[] = [];
  const collect = (mock: { calls(): { args: unknown[] }[] }) => mock.calls().forEach((c) => names.push((c.args[0] as { constructor: { name: string } }).constructor.name));
  for (const side of ['primary', 'standby'] as const) Object.values(world.h.mocks[side]).forEach(collect);
  collect(world.h.mocks.iam);
  collect(world.h.mocks.sts);
  return names;
}

describe('ops preflight: an account where everything is in place', () => {
  test('every check passes, exit 0, and only reads are called', async () => {
    const world = healthy();
    const result = await preflight(world);
    expect(failing(result.checks)).toEqual([]);
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(new Set(result.checks.map((c) => c.area))).toEqual(new Set(['bootstrap', 'stacks', 'roles', 'images', 'secrets', 'quotas']));
    const commands = new Set(allCommands(world));
    expect([...commands].filter((c) => !/^(Describe|Get)/.test(c))).toEqual([]);
    expect(world.h.out.text()).toMatch(/every prerequisite of a deploy is in place/);
  });

  test('bootstrap: the toolkit stack, its version against the assembly and the SSM parameter, in both regions', async () => {
    const result = await preflight(healthy());
    expect(check(result.checks, 'CDKToolkit in aws://111111111111/us-east-1').detail).toBe('UPDATE_COMPLETE, version 33 (the assembly needs 8 or newer)');
    expect(check(result.checks, 'CDKToolkit in aws://111111111111/us-west-2').ok).toBe(true);
    expect(check(result.checks, `/cdk-bootstrap/${QUALIFIER}/version in aws://111111111111/us-west-2`).detail).toBe('33, as the CDKToolkit output');
  });

  test('bootstrap: the deploy, file-publishing and lookup roles trust the GitHub roles’ account (read from URL-encoded trust policies)', async () => {
    const result = await preflight(healthy());
    expect(check(result.checks, `deploy role cdk-${QUALIFIER}-deploy-role-111111111111-us-east-1`).detail).toBe(`trusts account ${GITHUB_ACCOUNT} (the GitHub deploy roles) for sts:AssumeRole`);
    expect(check(result.checks, `file-publishing role cdk-${QUALIFIER}-file-publishing-role-111111111111-us-east-1`).ok).toBe(true);
    expect(check(result.checks, `lookup role cdk-${QUALIFIER}-lookup-role-111111111111-us-west-2`).detail).toBe(
      `trusts account ${GITHUB_ACCOUNT} (the GitHub deploy roles) for sts:AssumeRole and sts:TagSession`,
    );
  });

  test('stacks: a new environment has none, and that is fine without --expect-deployed', async () => {
    const result = await preflight(healthy());
    expect(check(result.checks, 'BodyScript-Staging-Data (us-east-1)').detail).toBe('not deployed yet: cdk deploy creates it');
    expect(check(result.checks, 'BodyScript-Staging-Standby (us-west-2)').ok).toBe(true);
  });

  test('roles: the GitHub deploy role of another account is known to exist from the operations role’s trust by ARN', async () => {
    const result = await preflight(healthy());
    expect(check(result.checks, /^GitHub deploy role BodyScript-GitHub-Deploy-Staging/).detail).toMatch(/^exists: BodyScript-Staging-Operations names it by ARN/);
    expect(check(result.checks, 'operations role BodyScript-Staging-Operations accepts session tags').ok).toBe(true);
  });

  test('roles: in its own account the GitHub deploy role is read: OIDC trust and a session long enough for a deploy', async () => {
    const world = healthy('production');
    const result = await preflight(world);
    expect(failing(result.checks)).toEqual([]);
    const seconds = deployRoleMaxSessionSeconds(world.h.config);
    expect(check(result.checks, /^GitHub deploy role BodyScript-GitHub-Deploy-Production/).detail).toBe(
      `trusts arn:aws:iam::${GITHUB_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com; sessions up to ${seconds / 3600} h (a deploy of production may take ${seconds / 3600} h)`,
    );
  });

  test('images: the configured tags in both regions, the replica with the same digest, and the replication rule', async () => {
    const result = await preflight(healthy());
    expect(check(result.checks, 'image bodyscript/staging/api:1.0.0 (us-east-1)').detail).toBe(`${DIGEST}, pushed 2025-05-30T10:00:00.000Z`);
    expect(check(result.checks, 'image bodyscript/staging/processing:1.0.0 (us-west-2 replica)').detail).toBe(`${DIGEST}, the same image`);
    expect(check(result.checks, 'ECR replication us-east-1 → us-west-2 of bodyscript/staging/*').ok).toBe(true);
  });

  test('secrets: the Sentry DSN has a value and an in-sync replica in the standby region', async () => {
    const result = await preflight(healthy());
    expect(check(result.checks, 'secret bodyscript/staging/sentry-dsn (us-east-1)').detail).toBe('has a current value');
    expect(check(result.checks, 'secret bodyscript/staging/sentry-dsn (us-west-2 replica)').detail).toBe('InSync, a replica of us-east-1');
  });

  test('quotas: snapshot headroom, and EIPs and VPCs from the applied quota or, without one, the AWS default', async () => {
    const world = healthy();
    world.quotas.set('us-east-1/L-0263D0A3', 10);
    const result = await preflight(world);
    expect(check(result.checks, 'manual DB snapshots in us-east-1').detail).toBe('3 of 100 used: 97 left');
    expect(check(result.checks, 'Elastic IPs in us-east-1').detail).toBe('0 of 10 used (0 staging); 1 more needed for 1 NAT gateway(s)');
    expect(check(result.checks, 'Elastic IPs in us-west-2').detail).toBe('0 of 5 used (0 staging); 1 more needed for 1 NAT gateway(s)');
    expect(check(result.checks, 'VPCs in us-west-2').detail).toBe('1 of 5 used (0 staging); 1 more needed');
    expect(world.h.mocks.standby.serviceQuotas.commandCalls(GetAWSDefaultServiceQuotaCommand).map((c) => c.args[0].input.QuotaCode).sort()).toEqual(['L-0263D0A3', 'L-F678F1CE']);
  });
});

describe('ops preflight: bootstrap failures', () => {
  test('a region that was never bootstrapped (DescribeStacks: ValidationError "does not exist") fails with the exact bootstrap command, --trust included', async () => {
    const world = healthy();
    world.stacks.delete('us-west-2/CDKToolkit');
    const result = await preflight(world);
    const toolkit = check(result.checks, 'CDKToolkit in aws://111111111111/us-west-2');
    expect(toolkit).toMatchObject({ ok: false, detail: 'no CDKToolkit stack: the environment is not bootstrapped' });
    expect(toolkit.fix).toBe(
      `npx cdk bootstrap aws://111111111111/us-west-2 --trust ${GITHUB_ACCOUNT} --trust-for-lookup ${GITHUB_ACCOUNT} --cloudformation-execution-policies arn:aws:iam::aws:policy/AdministratorAccess`,
    );
    expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
    expect(world.h.out.errors.join('\n')).toMatch(/^preflight of staging: 1 problem\(s\), nothing deployed: CDKToolkit in aws:\/\/111111111111\/us-west-2$/);
  });

  test('a bootstrap older than the assembly requires fails', async () => {
    const world = healthy();
    world.stacks.get('us-east-1/CDKToolkit')!.Outputs = [{ OutputKey: 'BootstrapVersion', OutputValue: '7' }];
    world.parameters.set(`us-east-1//cdk-bootstrap/${QUALIFIER}/version`, '7');
    const result = await preflight(world);
    expect(check(result.checks, 'CDKToolkit in aws://111111111111/us-east-1').detail).toBe('version 7, the assembly needs 8 or newer');
    expect(check(result.checks, `/cdk-bootstrap/${QUALIFIER}/version in aws://111111111111/us-east-1`).detail).toBe('7, the assembly needs 8 or newer');
  });

  test('a toolkit stack whose update is still running fails', async () => {
    const world = healthy();
    world.stacks.get('us-east-1/CDKToolkit')!.StackStatus = 'UPDATE_IN_PROGRESS';
    expect(check((await preflight(world)).checks, 'CDKToolkit in aws://111111111111/us-east-1').detail).toBe('UPDATE_IN_PROGRESS: a bootstrap update is running or failed');
  });

  test('an SSM version parameter that disagrees with the stack output, or is missing (ParameterNotFound), fails', async () => {
    const world = healthy();
    world.parameters.set(`us-east-1//cdk-bootstrap/${QUALIFIER}/version`, '21');
    world.parameters.delete(`us-west-2//cdk-bootstrap/${QUALIFIER}/version`);
    const result = await preflight(world);
    expect(check(result.checks, `/cdk-bootstrap/${QUALIFIER}/version in aws://111111111111/us-east-1`).detail).toMatch(/^21, but the CDKToolkit output says 33: the bootstrap is half updated/);
    expect(check(result.checks, `/cdk-bootstrap/${QUALIFIER}/version in aws://111111111111/us-west-2`).detail).toMatch(/^missing: every template's CheckBootstrapVersion rule reads this parameter/);
  });

  test('a bootstrap without --trust of the GitHub roles’ account fails for every role the pipeline assumes', async () => {
    const world = healthy();
    for (const kind of ['deploy', 'file-publishing', 'lookup']) {
      const name = `cdk-${QUALIFIER}-${kind}-role-111111111111-us-east-1`;
      world.roles.get(name)!.AssumeRolePolicyDocument = encoded(bootstrapTrust('111111111111', []));
    }
    const result = await preflight(world);
    expect(failing(result.checks)).toEqual([
      `deploy role cdk-${QUALIFIER}-deploy-role-111111111111-us-east-1`,
      `file-publishing role cdk-${QUALIFIER}-file-publishing-role-111111111111-us-east-1`,
      `lookup role cdk-${QUALIFIER}-lookup-role-111111111111-us-east-1`,
    ]);
    expect(check(result.checks, `deploy role cdk-${QUALIFIER}-deploy-role-111111111111-us-east-1`).detail).toBe(
      `does not trust account ${GITHUB_ACCOUNT} (the GitHub deploy roles) for sts:AssumeRole: the pipeline's cdk deploy would be refused`,
    );
  });

  test('a lookup role that trusts the account but not sts:TagSession (an old bootstrap) fails: the workflows chain to it with tags', async () => {
    const world = healthy();
    const name = `cdk-${QUALIFIER}-lookup-role-111111111111-us-east-1`;
    world.roles.get(name)!.AssumeRolePolicyDocument = encoded(bootstrapTrust('111111111111', [GITHUB_ACCOUNT], false));
    expect(check((await preflight(world)).checks, `lookup role ${name}`).detail).toMatch(/for sts:TagSession: the pipeline's preflight and verify steps would be refused$/);
  });

  test('a bootstrap role that does not exist fails', async () => {
    const world = healthy();
    world.roles.delete(`cdk-${QUALIFIER}-file-publishing-role-111111111111-us-west-2`);
    expect(check((await preflight(world)).checks, `file-publishing role cdk-${QUALIFIER}-file-publishing-role-111111111111-us-west-2`).ok).toBe(false);
  });
});

describe('ops preflight: stack failures', () => {
  test('with --expect-deployed all, a stack the pipeline deploys that does not exist fails and points at the new-environment runbook', async () => {
    const result = await preflight(healthy(), 'all');
    const data = check(result.checks, 'BodyScript-Staging-Data (us-east-1)');
    expect(data).toMatchObject({ ok: false, detail: 'not deployed, but --expect-deployed all says it is: the pipeline only updates an environment' });
    expect(data.fix).toMatch(/runbooks\/new-environment\.md/);
    expect(check(result.checks, 'BodyScript-Staging-Standby (us-west-2)').ok).toBe(false);
    // Game-day experiments are not deployed by the pipeline.
    expect(check(result.checks, 'BodyScript-Staging-FaultInjection (us-east-1)').ok).toBe(true);
  });

  test('with --expect-deployed environment, the standby may still be created', async () => {
    const world = healthy();
    for (const name of ['BodyScript-Staging', 'BodyScript-Staging-Alerting', 'BodyScript-Staging-Network', 'BodyScript-Staging-Data', 'BodyScript-Staging-Services', 'BodyScript-Staging-Operations', 'BodyScript-Staging-Registry']) {
      world.stacks.set(`us-east-1/${name}`, { StackName: name, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date() });
    }
    world.stacks.set('us-west-2/BodyScript-Staging-StandbyData', { StackName: 'BodyScript-Staging-StandbyData', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date() });
    const result = await preflight(world, 'environment');
    expect(failing(result.checks)).toEqual([]);
    expect(check(result.checks, 'BodyScript-Staging-Standby (us-west-2)').detail).toBe('not deployed yet: cdk deploy creates it');
  });

  test('a stack left by a failed first create (ROLLBACK_COMPLETE) fails with how to clear it', async () => {
    const world = healthy();
    world.stacks.set('us-east-1/BodyScript-Staging-Services', { StackName: 'BodyScript-Staging-Services', StackStatus: 'ROLLBACK_COMPLETE', CreationTime: new Date() });
    const services = check((await preflight(world)).checks, 'BodyScript-Staging-Services (us-east-1)');
    expect(services.detail).toMatch(/^ROLLBACK_COMPLETE: its first create failed; .*"already exists"$/);
    expect(services.fix).toMatch(/^aws cloudformation delete-stack --stack-name BodyScript-Staging-Services --region us-east-1/);
  });

  test('a stack being deployed, or stuck in UPDATE_ROLLBACK_FAILED, fails', async () => {
    const world = healthy();
    world.stacks.set('us-east-1/BodyScript-Staging-Data', { StackName: 'BodyScript-Staging-Data', StackStatus: 'UPDATE_IN_PROGRESS', CreationTime: new Date() });
    world.stacks.set('us-east-1/BodyScript-Staging-Services', { StackName: 'BodyScript-Staging-Services', StackStatus: 'UPDATE_ROLLBACK_FAILED', CreationTime: new Date() });
    const result = await preflight(world);
    expect(check(result.checks, 'BodyScript-Staging-Data (us-east-1)').detail).toBe('UPDATE_IN_PROGRESS: another deployment is running; wait until it ends');
    expect(check(result.checks, 'BodyScript-Staging-Services (us-east-1)').fix).toMatch(/^aws cloudformation continue-update-rollback --stack-name BodyScript-Staging-Services/);
  });
});

describe('ops preflight: role failures', () => {
  test('an operations role trusting the unique id of a deleted deploy role fails (IAM shows the id once the role is gone)', async () => {
    const world = healthy();
    world.roles.get('BodyScript-Staging-Operations')!.AssumeRolePolicyDocument = encoded({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Principal: { AWS: 'AROA4EXAMPLEDELETEDROLE' } }],
    });
    const result = await preflight(world);
    const trust = check(result.checks, 'operations role BodyScript-Staging-Operations trusts the deploy role');
    expect(trust.detail).toMatch(/^it trusts AROA4EXAMPLEDELETEDROLE: the unique id of a role that was deleted/);
    expect(trust.fix).toMatch(/aws iam update-assume-role-policy --role-name BodyScript-Staging-Operations/);
    // And so nothing vouches for the deploy role in the other account any more.
    expect(check(result.checks, /^GitHub deploy role BodyScript-GitHub-Deploy-Staging/).ok).toBe(false);
  });

  test('an operations role deployed before the TagSession fix (sts:AssumeRole only) fails: the chained step tags its session', async () => {
    const world = healthy();
    world.roles.get('BodyScript-Staging-Operations')!.AssumeRolePolicyDocument = encoded({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: `arn:aws:iam::${GITHUB_ACCOUNT}:role/BodyScript-GitHub-Deploy-Staging` } }],
    });
    const tags = check((await preflight(world)).checks, 'operations role BodyScript-Staging-Operations accepts session tags');
    expect(tags).toMatchObject({ ok: false, fix: 'npx cdk deploy BodyScript-Staging-Operations' });
  });

  test('on a new environment of another account the GitHub deploy role cannot be read without --github-profile', async () => {
    const world = healthy();
    world.roles.delete('BodyScript-Staging-Operations');
    const result = await preflight(world);
    expect(check(result.checks, 'operations role BodyScript-Staging-Operations').detail).toMatch(/^not created yet: the first cdk deploy BodyScript-Staging creates it/);
    const deploy = check(result.checks, /^GitHub deploy role BodyScript-GitHub-Deploy-Staging/);
    expect(deploy.ok).toBe(false);
    expect(deploy.fix).toBe(`npm run ops -- preflight --env staging --github-profile <a profile of account ${GITHUB_ACCOUNT}>`);
  });

  test('a missing operations role fails when the pipeline expects the environment deployed', async () => {
    const world = healthy();
    world.roles.delete('BodyScript-Staging-Operations');
    expect(check((await preflight(world, 'environment')).checks, 'operations role BodyScript-Staging-Operations').ok).toBe(false);
  });

  describe('with --github-profile (credentials of the GitHub roles’ account)', () => {
    function withGitHubAccount(world: World, account = GITHUB_ACCOUNT) {
      const iam = new IAMClient({ region: 'us-east-1' });
      const sts = new STSClient({ region: 'us-east-1' });
      const ctx = { ...world.h.ctx, clients: { ...world.h.ctx.clients, github: { iam, sts } } };
      mockClient(sts).on(GetCallerIdentityCommand).resolves({ Account: account, Arn: `arn:aws:sts::${account}:assumed-role/Admin/alice` });
      const githubRoles = new Map([...world.roles].filter(([, r]) => r.Arn?.startsWith(`arn:aws:iam::${GITHUB_ACCOUNT}:`)));
      mockClient(iam)
        .on(GetRoleCommand)
        .callsFake((input: { RoleName: string }) => {
          const role = githubRoles.get(input.RoleName);
          if (!role) throw awsError('NoSuchEntityException', `The role with name ${input.RoleName} cannot be found.`);
          return { Role: role };
        });
      return { ctx, githubRoles };
    }

    test('the deploy role is read in its own account', async () => {
      const world = healthy();
      const { ctx } = withGitHubAccount(world);
      const result = await runPreflight(ctx, { project: bodyscript.project, assemblyDir: testAssemblyDir() });
      expect(check(result.checks, /^GitHub deploy role BodyScript-GitHub-Deploy-Staging/).detail).toMatch(/^trusts arn:aws:iam::222222222222:oidc-provider\/token\.actions\.githubusercontent\.com; sessions up to/);
    });

    test('a missing deploy role (BodyScript-GitHub not deployed) fails: the operations role must not be created before it', async () => {
      const world = healthy();
      const { ctx, githubRoles } = withGitHubAccount(world);
      githubRoles.clear();
      const deploy = check((await runPreflight(ctx, { project: bodyscript.project, assemblyDir: testAssemblyDir() })).checks, /^GitHub deploy role/);
      expect(deploy.detail).toMatch(/^missing: BodyScript-Staging-Operations trusts it by ARN, and IAM refuses a trust policy that names a role that does not exist/);
      expect(deploy.fix).toBe(`npx cdk deploy BodyScript-GitHub with administrator credentials of account ${GITHUB_ACCOUNT}, before BodyScript-Staging`);
    });

    test('a deploy role whose sessions are shorter than a deploy fails', async () => {
      const world = healthy();
      const { ctx, githubRoles } = withGitHubAccount(world);
      githubRoles.set('BodyScript-GitHub-Deploy-Staging', githubDeployRole('staging', 3600));
      const deploy = check((await runPreflight(ctx, { project: bodyscript.project, assemblyDir: testAssemblyDir() })).checks, /^GitHub deploy role/);
      expect(deploy.detail).toMatch(/^sessions last at most 1 h, but a deploy of staging may take \d+ h/);
    });

    test('a profile of another account is refused before anything is read (exit 4)', async () => {
      const world = healthy();
      const { ctx } = withGitHubAccount(world, '333333333333');
      await expect(runPreflight(ctx, { project: bodyscript.project, assemblyDir: testAssemblyDir() })).rejects.toMatchObject({
        kind: 'credentials',
        exitCode: ExitCode.AWS_ERROR,
        message: expect.stringMatching(/^--github-profile gives credentials for account 333333333333/),
      });
    });
  });
});

describe('ops preflight: image failures', () => {
  test('a tag that was never pushed (ImageNotFoundException) fails with the exact image to push', async () => {
    const world = healthy();
    world.images.set('us-east-1/bodyscript/staging/api:1.0.0', 'no-image');
    world.images.set('us-west-2/bodyscript/staging/api:1.0.0', 'no-image');
    const result = await preflight(world);
    const api = check(result.checks, 'image bodyscript/staging/api:1.0.0 (us-east-1)');
    expect(api.detail).toMatch(/^not pushed \(missing resource: ecr:DescribeImages found no image bodyscript\/staging\/api:1\.0\.0 in registry 111111111111 \(us-east-1\) \(ImageNotFoundException/);
    expect(api.fix).toBe('the api application repository pushes 111111111111.dkr.ecr.us-east-1.amazonaws.com/bodyscript/staging/api:1.0.0 (docker push); ECR replication copies it to us-west-2');
    expect(check(result.checks, 'image bodyscript/staging/api:1.0.0 (us-west-2 replica)').fix).toBe('push the image to the primary repository first');
  });

  test('a repository that does not exist (RepositoryNotFoundException) points at the registry stack', async () => {
    const world = healthy();
    world.images.set('us-east-1/bodyscript/staging/processing:1.0.0', 'no-repository');
    const processing = check((await preflight(world)).checks, 'image bodyscript/staging/processing:1.0.0 (us-east-1)');
    expect(processing.detail).toMatch(/^the repository does not exist/);
    expect(processing.fix).toBe('npx cdk deploy BodyScript-Staging-Registry, then push the image');
  });

  test('an image pushed before replication was set up is missing in the replica', async () => {
    const world = healthy();
    world.images.set('us-west-2/bodyscript/staging/api:1.0.0', 'no-image');
    const replica = check((await preflight(world)).checks, 'image bodyscript/staging/api:1.0.0 (us-west-2 replica)');
    expect(replica.detail).toMatch(/^not replicated .*: the standby could not start the api service$/);
    expect(replica.fix).toMatch(/^ECR replicates only pushes made after the replication rule exists: push 111111111111\.dkr\.ecr\.us-east-1/);
  });

  test('a replica with another digest than the primary fails', async () => {
    const world = healthy();
    world.images.set('us-west-2/bodyscript/staging/processing:1.0.0', { digest: 'sha256:0000' });
    expect(check((await preflight(world)).checks, 'image bodyscript/staging/processing:1.0.0 (us-west-2 replica)').detail).toMatch(/^digest sha256:0000 differs from sha256:1f2e/);
  });

  test.each([
    ['no replication rule at all', []],
    ['a rule to another region', [{ destinations: [{ region: 'eu-west-1', registryId: '111111111111' }] }]],
    ['a rule for other repositories only', [{ destinations: [{ region: 'us-west-2', registryId: '111111111111' }], repositoryFilters: [{ filter: 'bodyscript/production/', filterType: 'PREFIX_MATCH' }] }]],
  ] as [string, ReplicationRule[]][])('%s fails the replication check', async (_label, rules) => {
    const world = healthy();
    world.replication = rules;
    const replication = check((await preflight(world)).checks, 'ECR replication us-east-1 → us-west-2 of bodyscript/staging/*');
    expect(replication).toMatchObject({ ok: false, fix: 'npx cdk deploy BodyScript-Staging-Registry, then push the images' });
  });
});

describe('ops preflight: Sentry secret failures', () => {
  const NAME = 'bodyscript/staging/sentry-dsn';

  test('a missing secret (ResourceNotFoundException) fails with the command that creates it with its replica', async () => {
    const world = healthy();
    world.secrets.delete(`us-east-1/${NAME}`);
    const result = await preflight(world);
    expect(check(result.checks, `secret ${NAME} (us-east-1)`).fix).toBe(
      `aws secretsmanager create-secret --name ${NAME} --secret-string "<the DSN of Sentry project bodyscript>" --add-replica-regions Region=us-west-2 --region us-east-1`,
    );
    expect(check(result.checks, `secret ${NAME} (us-west-2 replica)`).ok).toBe(false);
  });

  test('a secret created without a value (no AWSCURRENT version) fails', async () => {
    const world = healthy();
    world.secrets.get(`us-east-1/${NAME}`)!.VersionIdsToStages = {};
    expect(check((await preflight(world)).checks, `secret ${NAME} (us-east-1)`).detail).toMatch(/^exists without a value/);
  });

  test('a secret scheduled for deletion fails', async () => {
    const world = healthy();
    world.secrets.get(`us-east-1/${NAME}`)!.DeletedDate = new Date('2025-06-05T00:00:00Z');
    expect(check((await preflight(world)).checks, `secret ${NAME} (us-east-1)`).fix).toBe(`aws secretsmanager restore-secret --secret-id ${NAME} --region us-east-1`);
  });

  test('a secret without a replica in the standby region fails with replicate-secret-to-regions', async () => {
    const world = healthy();
    world.secrets.get(`us-east-1/${NAME}`)!.ReplicationStatus = [];
    expect(check((await preflight(world)).checks, `secret ${NAME} (us-west-2 replica)`).fix).toBe(
      `aws secretsmanager replicate-secret-to-regions --secret-id ${NAME} --add-replica-regions Region=us-west-2 --region us-east-1`,
    );
  });

  test('a replication that failed (a secret of that name already in the standby region) fails with its message', async () => {
    const world = healthy();
    world.secrets.get(`us-east-1/${NAME}`)!.ReplicationStatus = [{ Region: 'us-west-2', Status: 'Failed', StatusMessage: 'Replication failed: Secret name already exists in region' }];
    expect(check((await preflight(world)).checks, `secret ${NAME} (us-west-2 replica)`).detail).toBe('replication Failed: Replication failed: Secret name already exists in region');
  });
});

describe('ops preflight: quota failures', () => {
  test('manual snapshots at the quota fail: the release snapshot would be refused', async () => {
    const world = healthy();
    world.manualSnapshots = { Used: 100, Max: 100 };
    const snapshots = check((await preflight(world)).checks, 'manual DB snapshots in us-east-1');
    expect(snapshots.detail).toBe('100 of 100 used: the release snapshot would be refused (SnapshotQuotaExceeded)');
    expect(snapshots.fix).toMatch(/^delete release snapshots that are no longer needed/);
  });

  test('an RDS answer without the ManualSnapshots quota fails closed', async () => {
    const world = healthy();
    world.manualSnapshots = undefined;
    expect(check((await preflight(world)).checks, 'manual DB snapshots in us-east-1').detail).toBe('RDS reported no ManualSnapshots quota: the headroom is unknown');
  });

  test('Elastic IPs at the quota fail when the NAT gateways need new ones', async () => {
    const world = healthy();
    world.addresses.set('us-west-2', Array.from({ length: 5 }, (_, i) => ({ AllocationId: `eipalloc-${i}`, Domain: 'vpc' as const })));
    const eips = check((await preflight(world)).checks, 'Elastic IPs in us-west-2');
    expect(eips.detail).toBe('5 of 5 used, 1 more needed for 1 NAT gateway(s): the network would fail with AddressLimitExceeded');
    expect(eips.fix).toMatch(/^aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-0263D0A3 --desired-value 6 --region us-west-2/);
  });

  test('the environment’s own addresses and VPC (by their tags) count as already there', async () => {
    const world = healthy();
    const tags = [
      { Key: 'Project', Value: 'BodyScript' },
      { Key: 'Environment', Value: 'staging' },
    ];
    world.addresses.set('us-west-2', [...Array.from({ length: 4 }, (_, i) => ({ AllocationId: `eipalloc-${i}` })), { AllocationId: 'eipalloc-ours', Tags: tags }]);
    world.vpcs.set('us-west-2', [...Array.from({ length: 4 }, (_, i) => ({ VpcId: `vpc-${i}` })), { VpcId: 'vpc-ours', Tags: tags }]);
    const result = await preflight(world);
    expect(check(result.checks, 'Elastic IPs in us-west-2').detail).toBe('5 of 5 used (1 staging); 0 more needed for 1 NAT gateway(s)');
    expect(check(result.checks, 'VPCs in us-west-2').detail).toBe('5 of 5 used (1 staging); 0 more needed');
  });

  test('VPCs at the quota fail for a new environment', async () => {
    const world = healthy();
    world.vpcs.set('us-east-1', Array.from({ length: 5 }, (_, i) => ({ VpcId: `vpc-${i}` })));
    expect(check((await preflight(world)).checks, 'VPCs in us-east-1').detail).toBe('5 of 5 used, 1 more needed: the network would fail with VpcLimitExceeded');
  });
});

describe('ops preflight: what stops the run', () => {
  test('access denied aborts with exit 4 and names the action, the resource and the account', async () => {
    const world = healthy();
    world.h.mocks.primary.ecr.on(DescribeImagesCommand).rejects(awsError('AccessDeniedException', 'User is not authorized to perform: ecr:DescribeImages'));
    await expect(preflight(world)).rejects.toMatchObject({
      kind: 'access-denied',
      exitCode: ExitCode.AWS_ERROR,
      message: expect.stringMatching(/^access denied: ecr:DescribeImages on image bodyscript\/staging\/api:1\.0\.0 in registry 111111111111 \(us-east-1\) was refused/),
    });
  });

  test('access denied on IAM aborts too: a bootstrap trust that cannot be read is not a pass', async () => {
    const world = healthy();
    world.h.mocks.iam.on(GetRoleCommand).rejects(awsError('AccessDenied', 'not authorized to perform: iam:GetRole'));
    await expect(preflight(world)).rejects.toMatchObject({ kind: 'access-denied', message: expect.stringMatching(/^access denied: iam:GetRole on role cdk-hnb659fds-/) });
  });

  test('throttling is retried, then the check goes on', async () => {
    const world = healthy();
    world.h.mocks.primary.rds.on(DescribeAccountAttributesCommand).rejectsOnce(awsError('Throttling', 'Rate exceeded')).resolves({ AccountQuotas: [{ AccountQuotaName: 'ManualSnapshots', Used: 1, Max: 100 }] });
    const result = await preflight(world);
    expect(check(result.checks, 'manual DB snapshots in us-east-1').ok).toBe(true);
    expect(world.h.out.text()).toMatch(/rds:DescribeAccountAttributes throttled \(attempt 1\/4\)/);
  });

  test('credentials of another account are refused before any check', async () => {
    const world = healthy();
    world.h.mocks.sts.on(GetCallerIdentityCommand).resolves({ Account: '999999999999', Arn: 'arn:aws:sts::999999999999:assumed-role/X/y' });
    await expect(preflight(world)).rejects.toMatchObject({ kind: 'credentials' });
    expect(world.h.mocks.primary.cloudFormation.calls()).toHaveLength(0);
  });

  test('no cloud assembly is a usage error (exit 2) before any AWS call', async () => {
    const world = healthy();
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-assembly-'));
    await expect(preflight(world, undefined, empty)).rejects.toMatchObject({ kind: 'usage', exitCode: ExitCode.USAGE, message: expect.stringMatching(/^no cloud assembly in .*: run 'npx cdk synth --quiet' first, or pass --assembly DIR$/) });
    expect(allCommands(world)).toEqual([]);
  });

  test('an assembly synthesized for other accounts than the config is refused', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'other-assembly-'));
    const manifest = JSON.parse(fs.readFileSync(path.join(testAssemblyDir(), 'manifest.json'), 'utf8')) as { artifacts: Record<string, { environment?: string }> };
    for (const artifact of Object.values(manifest.artifacts)) if (artifact.environment) artifact.environment = artifact.environment.replace('111111111111', '444444444444');
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    await expect(preflight(healthy(), undefined, dir)).rejects.toMatchObject({ kind: 'usage', message: expect.stringMatching(/deploys to aws:\/\/444444444444\/us-(east-1|west-2), but lib\/config says staging lives in aws:\/\/111111111111\/us-east-1 and aws:\/\/111111111111\/us-west-2: synthesize again$/) });
  });

  test('through the CLI: exit 1 when a prerequisite is missing, with the report on stdout and the summary on stderr', async () => {
    const world = healthy();
    world.images.set('us-east-1/bodyscript/staging/api:1.0.0', 'no-image');
    const out = captureOutput();
    const code = await runCli(['preflight', '--env', 'staging', '--assembly', testAssemblyDir()], {
      out,
      clock: fakeClock(),
      retry: FAST_RETRY,
      createClients: () => world.h.ctx.clients,
    });
    expect(code).toBe(ExitCode.UNHEALTHY);
    expect(out.lines).toContain('images:');
    expect(out.lines.some((l) => /^ {2}FAIL {2}image bodyscript\/staging\/api:1\.0\.0 \(us-east-1\): not pushed/.test(l))).toBe(true);
    expect(out.lines.some((l) => /^ {8}fix: the api application repository pushes/.test(l))).toBe(true);
    expect(out.errors.at(-1)).toMatch(/^preflight of staging: \d+ problem\(s\), nothing deployed: image bodyscript\/staging\/api:1\.0\.0 \(us-east-1\)/);
  });

  test('through the CLI: --github-profile reaches the client factory', async () => {
    const { clients } = mockedClients();
    const options: unknown[] = [];
    await runCli(['preflight', '--env', 'staging', '--assembly', '/nonexistent', '--github-profile', 'bodyscript-production'], {
      out: captureOutput(),
      clock: fakeClock(),
      createClients: (_config, o) => {
        options.push(o);
        return clients;
      },
    });
    expect(options).toEqual([{ githubProfile: 'bodyscript-production' }]);
  });
});
