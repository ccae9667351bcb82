import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../lib/config';
import { CDK_BOOTSTRAP_QUALIFIER } from '../lib/stacks/github-stack';
import { resourcesOfType, stacks, templateJson } from './support/assembly';

/**
 * The credentials the deploy workflows hold, read from the workflow YAML and
 * checked against the roles they reach as the synthesized templates (and the
 * CDK bootstrap template) define them.
 *
 * Role chaining: aws-actions/configure-aws-credentials tags every session it
 * does not get by web identity ("The action will use session tagging by
 * default unless you are using OIDC"), and IAM refuses a tagged AssumeRole
 * unless the target's trust policy allows sts:TagSession for the caller and
 * the caller's own policy allows sts:TagSession on the target (IAM User
 * Guide, "Permissions required to add session tags"). A chained step either
 * reaches a role that allows both, or says `role-skip-session-tagging: true`.
 */

const ROOT = path.join(__dirname, '..');
const WORKFLOW_DIR = path.join(ROOT, '.github', 'workflows');
const CONFIGURE_CREDENTIALS = 'aws-actions/configure-aws-credentials@';

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Record<string, string | number | boolean>;
}
interface Job {
  readonly environment?: string;
  readonly env?: Record<string, string>;
  readonly steps?: Step[];
}
interface Workflow {
  readonly env?: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

const workflowFiles = fs.readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
const workflows: Record<string, Workflow> = Object.fromEntries(workflowFiles.map((f) => [f, parse(fs.readFileSync(path.join(WORKFLOW_DIR, f), 'utf8')) as Workflow]));

/** The environments a job can run for: its fixed GitHub environment, or both when the run's input chooses. */
function variantsOf(job: Job): EnvironmentName[] {
  if (job.environment === '${{ inputs.environment }}') return [...ENVIRONMENT_NAMES];
  const env = ENVIRONMENT_NAMES.find((name) => name === job.environment);
  return env ? [env] : [];
}

/** Resolves `${{ env.X }}` and `${{ inputs.environment == 'production' && 'a' || 'b' }}` the way GitHub would for one environment. */
function resolve(value: string, workflow: Workflow, job: Job, env: EnvironmentName): string {
  return value.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (whole, expression: string) => {
    const fromEnv = /^env\.(\w+)$/.exec(expression);
    if (fromEnv) {
      const found = job.env?.[fromEnv[1]] ?? workflow.env?.[fromEnv[1]];
      if (found === undefined) throw new Error(`${whole}: no env.${fromEnv[1]} in the job or workflow`);
      return resolve(found, workflow, job, env);
    }
    const choice = /^inputs\.environment == '(\w+)' && '([^']*)' \|\| '([^']*)'$/.exec(expression);
    if (choice) return env === choice[1] ? choice[2] : choice[3];
    return whole;
  });
}

/** One configure-aws-credentials step, resolved for one environment. */
interface CredentialStep {
  readonly file: string;
  readonly job: string;
  readonly env: EnvironmentName;
  readonly index: number;
  readonly name: string;
  readonly roleArn: string;
  readonly chained: boolean;
  readonly skipsTagging: boolean;
  readonly durationSeconds: number | undefined;
  /** The role whose session the step starts from (chained steps only). */
  readonly sourceRoleArn?: string;
}

function credentialSteps(): CredentialStep[] {
  const result: CredentialStep[] = [];
  for (const [file, workflow] of Object.entries(workflows)) {
    for (const [jobId, job] of Object.entries(workflow.jobs)) {
      for (const env of variantsOf(job)) {
        let current: string | undefined;
        (job.steps ?? []).forEach((step, index) => {
          if (!step.uses?.startsWith(CONFIGURE_CREDENTIALS)) return;
          const roleArn = resolve(String(step.with?.['role-to-assume'] ?? ''), workflow, job, env);
          const chained = step.with?.['role-chaining'] === true;
          result.push({
            file,
            job: jobId,
            env,
            index,
            name: step.name ?? `step ${index + 1}`,
            roleArn,
            chained,
            skipsTagging: step.with?.['role-skip-session-tagging'] === true,
            durationSeconds: typeof step.with?.['role-duration-seconds'] === 'number' ? step.with['role-duration-seconds'] : undefined,
            sourceRoleArn: chained ? current : undefined,
          });
          current = roleArn;
        });
      }
    }
  }
  return result;
}

type Statement = { Effect?: string; Action?: unknown; Principal?: { AWS?: unknown }; Resource?: unknown };
const asList = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const accountOf = (arn: string) => /^arn:aws:iam::(\d{12}):/.exec(arn)?.[1] ?? '';
const roleNameOf = (arn: string) => arn.slice(arn.indexOf(':role/') + ':role/'.length);

/**
 * The CDK bootstrap template of the CLI in node_modules: what `cdk bootstrap`
 * deploys. Its conditions are evaluated for an environment bootstrapped as
 * the README says (`--trust` and `--trust-for-lookup` the GitHub roles'
 * account when it is another account).
 */
const bootstrapTemplate = parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'aws-cdk', 'lib', 'api', 'bootstrap', 'bootstrap-template.yaml'), 'utf8')) as {
  Resources: Record<string, { Type: string; Properties: { RoleName?: { 'Fn::Sub': string }; AssumeRolePolicyDocument: { Statement: unknown[] } } }>;
};

function bootstrapTrust(roleArn: string, sourceAccount: string): Statement[] {
  const match = new RegExp(`^cdk-${CDK_BOOTSTRAP_QUALIFIER}-([a-z-]+)-role-(\\d{12})-([a-z0-9-]+)$`).exec(roleNameOf(roleArn));
  if (!match) return [];
  const [, kind, account] = match;
  const role = Object.values(bootstrapTemplate.Resources).find(
    (r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName?.['Fn::Sub'] === `cdk-\${Qualifier}-${kind}-role-\${AWS::AccountId}-\${AWS::Region}`,
  );
  if (!role) return [];
  const crossAccount = sourceAccount !== account;
  const evaluate = (statement: unknown): Statement | undefined => {
    const conditional = (statement as { 'Fn::If'?: [string, unknown, unknown] })['Fn::If'];
    if (conditional) return crossAccount && /^HasTrustedAccounts(ForLookup)?$/.test(conditional[0]) ? evaluate(conditional[1]) : undefined;
    const s = statement as Statement;
    const principal = (s.Principal?.AWS as { Ref?: string } | undefined)?.Ref;
    const trusted = principal === 'AWS::AccountId' ? account : principal === 'TrustedAccounts' || principal === 'TrustedAccountsForLookup' ? sourceAccount : undefined;
    return { ...s, Principal: { AWS: trusted ? `arn:aws:iam::${trusted}:root` : undefined } };
  };
  return role.Properties.AssumeRolePolicyDocument.Statement.map(evaluate).filter((s): s is Statement => s !== undefined);
}

/** The trust policy statements of a role this app creates, found by its name in the templates of its account. */
function appTrust(roleArn: string): Statement[] {
  const account = accountOf(roleArn);
  const found = stacks()
    .filter((s) => s.environment.startsWith(`aws://${account}/`))
    .flatMap((s) => resourcesOfType(s.id, 'AWS::IAM::Role'))
    .filter(([, r]) => r.Properties?.RoleName === roleNameOf(roleArn));
  return found.flatMap(([, r]) => asList((r.Properties?.AssumeRolePolicyDocument as { Statement: unknown }).Statement) as Statement[]);
}

/** Trust statements of a role: the app's own roles from the assembly, the CDK bootstrap roles from the bootstrap template. */
function trustOf(roleArn: string, sourceRoleArn: string): Statement[] {
  const own = appTrust(roleArn);
  return own.length > 0 ? own : bootstrapTrust(roleArn, accountOf(sourceRoleArn));
}

/** Actions a trust policy allows to `principalArn` (named itself, or its account root). */
function trustedActions(statements: Statement[], principalArn: string): Set<string> {
  const root = `arn:aws:iam::${accountOf(principalArn)}:root`;
  const allowed = statements.filter((s) => s.Effect === 'Allow' && asList(s.Principal?.AWS).some((p) => p === principalArn || p === root || p === accountOf(principalArn)));
  return new Set(allowed.flatMap((s) => asList(s.Action) as string[]));
}

/** Actions the GitHub deploy role's managed policy allows on `targetArn`. */
function identityActions(sourceRoleArn: string, targetArn: string): Set<string> {
  const github = templateJson('BodyScript-GitHub').Resources;
  const role = Object.values(github).find((r) => r.Type === 'AWS::IAM::Role' && r.Properties?.RoleName === roleNameOf(sourceRoleArn));
  const policies = asList(role?.Properties?.ManagedPolicyArns).map((ref) => github[(ref as { Ref: string }).Ref]);
  const statements = policies.flatMap((p) => asList((p.Properties?.PolicyDocument as { Statement: unknown }).Statement) as Statement[]);
  return new Set(statements.filter((s) => s.Effect === 'Allow' && asList(s.Resource).includes(targetArn)).flatMap((s) => asList(s.Action) as string[]));
}

/** What would make a chained step fail, in one line each; `trust` is swappable so the check itself can be tested. */
function chainingProblems(steps: CredentialStep[], trust: (roleArn: string, sourceRoleArn: string) => Statement[] = trustOf): string[] {
  return steps
    .filter((step) => step.chained)
    .flatMap((step) => {
      const where = `${step.file}/${step.job} (${step.env}) "${step.name}"`;
      if (!step.sourceRoleArn) return [`${where}: chains without credentials from an earlier step`];
      const needed = step.skipsTagging ? ['sts:AssumeRole'] : ['sts:AssumeRole', 'sts:TagSession'];
      const statements = trust(step.roleArn, step.sourceRoleArn);
      if (statements.length === 0) return [`${where}: ${step.roleArn} is neither a role of this app nor a CDK bootstrap role`];
      const trusted = trustedActions(statements, step.sourceRoleArn);
      const allowed = identityActions(step.sourceRoleArn, step.roleArn);
      return [
        ...needed.filter((a) => !trusted.has(a)).map((a) => `${where}: the trust policy of ${step.roleArn} does not allow ${a} to ${step.sourceRoleArn}${a === 'sts:TagSession' ? ' (the step tags its session; allow it, or set role-skip-session-tagging: true with the reason)' : ''}`),
        ...needed.filter((a) => !allowed.has(a)).map((a) => `${where}: ${step.sourceRoleArn} may not ${a} on ${step.roleArn}`),
      ];
    });
}

describe('role chaining in the deploy workflows', () => {
  const steps = credentialSteps();
  const chained = steps.filter((s) => s.chained);

  test('the workflows chain to the operations roles and the CDK lookup roles of both environments', () => {
    const targets = new Set(chained.map((s) => roleNameOf(s.roleArn).replace(/-\d{12}-[a-z0-9-]+$/, '')));
    expect([...targets].sort()).toEqual(['BodyScript-Production-Operations', 'BodyScript-Staging-Operations', `cdk-${CDK_BOOTSTRAP_QUALIFIER}-lookup-role`]);
  });

  test('every chained step reaches a role that trusts its source for sts:AssumeRole and, unless it skips tagging, sts:TagSession', () => {
    expect(chainingProblems(steps)).toEqual([]);
  });

  test('the check fails on the operations role as main synthesized it (sts:AssumeRole only)', () => {
    const mainTrust = (roleArn: string, source: string): Statement[] =>
      roleArn.endsWith('-Operations') ? [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: source } }] : trustOf(roleArn, source);
    const problems = chainingProblems(steps, mainTrust);
    expect(problems.length).toBeGreaterThanOrEqual(3);
    expect(problems.every((p) => /-Operations does not allow sts:TagSession/.test(p))).toBe(true);
    // Skipping session tagging on those steps would be the other documented way out.
    expect(chainingProblems(steps.map((s) => ({ ...s, skipsTagging: true })), mainTrust)).toEqual([]);
  });

  test('the check reads the bootstrap template: a lookup role of another account is trusted for sts:TagSession only through --trust', () => {
    const lookup = chained.find((s) => s.roleArn.includes('lookup-role') && accountOf(s.roleArn) !== accountOf(s.sourceRoleArn ?? ''));
    expect(lookup).toBeDefined();
    expect(trustedActions(bootstrapTrust(lookup!.roleArn, accountOf(lookup!.sourceRoleArn!)), lookup!.sourceRoleArn!)).toEqual(new Set(['sts:AssumeRole', 'sts:TagSession']));
    expect(trustedActions(bootstrapTrust(lookup!.roleArn, accountOf(lookup!.roleArn)), lookup!.sourceRoleArn!)).toEqual(new Set());
  });

  test('a chained session never asks for more than the hour IAM allows a chained session', () => {
    for (const step of chained) expect(`${step.file} ${step.name}: ${step.durationSeconds}`).toBe(`${step.file} ${step.name}: 3600`);
  });

  test('a session asked of a GitHub deploy role stays within the role’s maximum session duration', () => {
    const github = resourcesOfType('BodyScript-GitHub', 'AWS::IAM::Role');
    for (const step of steps.filter((s) => !s.chained)) {
      const role = github.find(([, r]) => r.Properties?.RoleName === roleNameOf(step.roleArn));
      expect(role).toBeDefined();
      expect(step.durationSeconds).toBeGreaterThanOrEqual(900);
      expect(step.durationSeconds).toBeLessThanOrEqual(role![1].Properties!.MaxSessionDuration as number);
    }
  });
});

