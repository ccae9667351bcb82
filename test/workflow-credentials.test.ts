import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { type EnvironmentConfig, ENVIRONMENT_NAMES, type EnvironmentName, loadConfig } from '../lib/config';
import { CREDENTIAL_MARGIN_MINUTES, cdkDeployWorstCase, DEPLOY_CONCURRENCY, GITHUB_JOB_MAX_MINUTES, IAM_ROLE_CHAINING_MAX_SECONDS } from '../lib/deploy-duration';
import { deployRoleEnvironmentOf, planEnvironment } from '../lib/github-repository';
import { stackNames } from '../lib/naming';
import { parseArgs as parseOpsArgs } from '../lib/ops/cli';
import { opsCommandWorstCase } from '../lib/ops/durations';
import { CDK_BOOTSTRAP_QUALIFIER } from '../lib/stacks/github-stack';
import { resourcesOfType, stacks, templateJson } from './support/assembly';
import { interpolate } from './support/github-expression';

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
  readonly 'timeout-minutes'?: number;
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

/**
 * The environments a job can run for: its fixed GitHub environment, or, when
 * the run's inputs choose (the DR drill: `inputs.environment`, and a real
 * production failover in production-failover), each environment whose deploy
 * role the chosen GitHub environment uses, which must be the chosen one.
 */
function variantsOf(job: Job): EnvironmentName[] {
  const environment = job.environment;
  if (environment === undefined) return [];
  // A plan job (its own environment, review M4) reads that environment's accounts.
  if (!environment.includes('${{')) return ENVIRONMENT_NAMES.filter((name) => name === environment || planEnvironment(name) === environment);
  const found = new Set<EnvironmentName>();
  for (const chosen of ENVIRONMENT_NAMES) {
    for (const confirm of ['', 'production', 'staging']) {
      const github = interpolate(environment, { environment: chosen, confirm_production_failover: confirm });
      const env = deployRoleEnvironmentOf(github);
      if (env !== chosen) throw new Error(`environment ${environment} gives ${github} for ${chosen}, whose deploy role is ${env ?? 'none'}`);
      found.add(env);
    }
  }
  return [...found];
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
    if (expression === 'inputs.environment') return env;
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

function credentialSteps(all: Record<string, Workflow> = workflows): CredentialStep[] {
  const result: CredentialStep[] = [];
  for (const [file, workflow] of Object.entries(all)) {
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


/*
 * Time budget: every job's worst case against its timeout, and every
 * session's worst case against what it asked for. A job stops at its first
 * failing step (except steps that run `if: always()` / `!cancelled()`), so its
 * worst case is the longest of: every step at its slowest success, or the
 * steps before one failing at its slowest (a cdk deploy that fails also waits
 * for CloudFormation's rollback) and the steps that still run after it.
 */

/** GitHub-hosted steps that are not ours: checkout, setup-node (with its npm cache), artifacts. */
const ACTION_STEP_MINUTES = 2;
/** configure-aws-credentials: one STS call, with the action's own retries. */
const CREDENTIALS_STEP_MINUTES = 1;
/** `npm ci` from the setup-node cache. */
const INSTALL_MINUTES = 5;
/** Any other shell step (naming the release, failing the job, ...). */
const SHELL_STEP_MINUTES = 1;

interface StepBudget {
  readonly name: string;
  /** Slowest the step takes when it succeeds and the job goes on. */
  readonly continues: number;
  /** Slowest the step takes when it fails (and the job stops). */
  readonly stops: number;
  readonly runsAfterFailure: boolean;
  /** The step calls AWS (with the credentials of the last configure-aws-credentials step). */
  readonly usesAws: boolean;
  readonly credentials?: CredentialStep;
}

/** Worst case of a sequence of steps, per the rule above. */
function worstOf(steps: readonly StepBudget[]): number {
  let worst = steps.reduce((sum, step) => sum + step.continues, 0);
  steps.forEach((step, k) => {
    const before = steps.slice(0, k).reduce((sum, s) => sum + s.continues, 0);
    const after = steps.slice(k + 1).filter((s) => s.runsAfterFailure).reduce((sum, s) => sum + s.continues, 0);
    worst = Math.max(worst, before + step.stops + after);
  });
  return worst;
}

const assemblyStacks = () => new Map(stacks().map((s) => [s.displayName, s]));
function closure(names: string[]): string[] {
  const byName = assemblyStacks();
  const seen: string[] = [];
  const visit = (name: string) => {
    if (seen.includes(name)) return;
    const stack = byName.get(name);
    if (!stack) throw new Error(`${name} is not a stack of the app`);
    stack.dependencies.forEach(visit);
    seen.push(name);
  };
  names.forEach(visit);
  return seen;
}

/** Shell variables the workflows use in commands, resolved for one environment. */
function shellValue(token: string, workflow: Workflow, job: Job, env: EnvironmentName): string {
  const name = /^"?\$\{?(\w+)\}?"?$/.exec(token)?.[1];
  if (!name) return token;
  if (name === 'RELEASE') return 'v1.2.3';
  const value = job.env?.[name] ?? workflow.env?.[name];
  if (value === undefined) throw new Error(`$${name} is not set in the job or the workflow`);
  return resolve(value, workflow, job, env);
}

function stepBudgets(workflow: Workflow, job: Job, env: EnvironmentName, configs: Readonly<Record<EnvironmentName, EnvironmentConfig>>): StepBudget[] {
  const config = configs[env];
  const credentials = credentialSteps({ workflow }).filter((c) => workflow.jobs[c.job] === job && c.env === env);
  const deployed = new Set<string>();
  return (job.steps ?? []).map((step, index) => {
    const name = step.name ?? step.uses ?? step.run ?? `step ${index + 1}`;
    const runsAfterFailure = /always\(\)|!cancelled\(\)/.test(step.if ?? '');
    const assumed = credentials.find((c) => c.index === index);
    if (assumed) return { name, continues: CREDENTIALS_STEP_MINUTES, stops: CREDENTIALS_STEP_MINUTES, runsAfterFailure, usesAws: true, credentials: assumed };
    if (step.uses) return { name, continues: ACTION_STEP_MINUTES, stops: ACTION_STEP_MINUTES, runsAfterFailure, usesAws: false };
    const run = step.run ?? '';
    if (/^npm ci\b/m.test(run)) return { name, continues: INSTALL_MINUTES, stops: INSTALL_MINUTES, runsAfterFailure, usesAws: false };
    const deploy = /npx cdk deploy --app cdk\.out (.+)$/m.exec(run);
    if (deploy) {
      const tokens = deploy[1].split(/\s+/);
      // The values of the CLI's options are no stack names.
      const optionValues = new Set(['--require-approval', '--progress', '--concurrency'].map((option) => tokens.indexOf(option) + 1).filter((i) => i > 0));
      const named = tokens.filter((t, i) => !t.startsWith('-') && !optionValues.has(i)).map((t) => shellValue(t, workflow, job, env));
      // `--concurrency N` deploys independent stacks side by side (the longest chain of dependencies counts).
      const concurrencyAt = tokens.indexOf('--concurrency');
      const concurrency = concurrencyAt >= 0 ? Number(tokens[concurrencyAt + 1]) : 1;
      const order = tokens.includes('--exclusively') ? named : closure(named);
      const estimate = cdkDeployWorstCase(config, order, (stack) => (deployed.has(stack) ? 'update' : 'create'), { concurrency });
      return { name, continues: estimate.succeeds.minutes, stops: estimate.fails.minutes, runsAfterFailure, usesAws: true };
    }
    const calls = [...run.matchAll(/npm run ops -- ([^\n]+)/g)].map((m) => parseOpsArgs(m[1].trim().split(/\s+/).map((t) => shellValue(t, workflow, job, env))));
    if (calls.length > 0) {
      for (const call of calls) {
        if (call.name === 'preflight' && call.expectDeployed) {
          const roots = call.expectDeployed === 'all' ? [stackNames.application(env), stackNames.standby(env)] : [stackNames.application(env)];
          closure(roots).forEach((stack) => deployed.add(stack));
        }
      }
      const minutes = Math.max(...calls.map((call) => opsCommandWorstCase(call).minutes));
      return { name, continues: minutes, stops: minutes, runsAfterFailure, usesAws: true };
    }
    return { name, continues: SHELL_STEP_MINUTES, stops: SHELL_STEP_MINUTES, runsAfterFailure, usesAws: /\baws /.test(run) };
  });
}

/** Every way a job's timeout or a session's duration is shorter than the work, in one line each. */
function budgetProblems(configs: Readonly<Record<EnvironmentName, EnvironmentConfig>>, all: Record<string, Workflow> = workflows): string[] {
  const problems: string[] = [];
  for (const [file, workflow] of Object.entries(all)) {
    for (const [jobId, job] of Object.entries(workflow.jobs)) {
      // The jobs of a GitHub environment are the ones that deploy with AWS credentials.
      for (const env of variantsOf(job)) {
        const where = `${file}/${jobId} (${env})`;
        const steps = stepBudgets(workflow, job, env, configs);
        const worst = worstOf(steps);
        const timeout = job['timeout-minutes'] ?? 360;
        if (worst > timeout) problems.push(`${where}: may run ${worst} min, its timeout-minutes is ${timeout}`);
        if (timeout > GITHUB_JOB_MAX_MINUTES) problems.push(`${where}: timeout-minutes ${timeout} is more than the ${GITHUB_JOB_MAX_MINUTES} a GitHub-hosted job may run`);
        steps.forEach((step, i) => {
          if (!step.credentials) return;
          // The session must last until the last step that calls AWS with it.
          const next = steps.findIndex((s, j) => j > i && s.credentials !== undefined);
          const following = steps.slice(i + 1, next === -1 ? steps.length : next);
          const lastAws = following.map((s) => s.usesAws).lastIndexOf(true);
          const window = following.slice(0, lastAws + 1);
          const needed = worstOf(window) + CREDENTIAL_MARGIN_MINUTES;
          const granted = (step.credentials.durationSeconds ?? 3600) / 60;
          const cap = step.credentials.chained ? IAM_ROLE_CHAINING_MAX_SECONDS / 60 : Infinity;
          if (needed > Math.min(granted, cap)) {
            problems.push(
              `${where} "${step.name}": the steps that run with this session may take ${needed} min (margin included), ` +
                `but it lasts ${Math.min(granted, cap)} min${step.credentials.chained ? ' (a chained session: at most an hour)' : ''}`,
            );
          }
        });
      }
    }
  }
  return problems;
}

describe('credentials and timeouts outlast the work', () => {
  const configs = loadConfig().environments;

  test('every deploy job’s timeout covers its worst case, and every session the steps that run with it', () => {
    expect(budgetProblems(configs)).toEqual([]);
  });

  test('the budget counts on the pipelines’ preflight: production and the drill expect a deployed environment, staging may create one', () => {
    const production = workflows['deploy-production.yml'].jobs.deploy;
    const staging = workflows['deploy-staging.yml'].jobs.deploy;
    const drill = workflows['dr-drill.yml'].jobs.drill;
    const deploy = (job: Job, env: EnvironmentName, files: Readonly<Record<EnvironmentName, EnvironmentConfig>>) =>
      stepBudgets(job === drill ? workflows['dr-drill.yml'] : job === staging ? workflows['deploy-staging.yml'] : workflows['deploy-production.yml'], job, env, files).find((s) => /cdk deploy|^Deploy/.test(s.name))!;
    const order = closure([stackNames.application('production'), stackNames.standby('production')]);
    const concurrency = DEPLOY_CONCURRENCY;
    expect(deploy(production, 'production', configs).continues).toBe(cdkDeployWorstCase(configs.production, order, 'update', { concurrency }).succeeds.minutes);
    expect(deploy(staging, 'staging', configs).continues).toBe(cdkDeployWorstCase(configs.staging, closure([stackNames.application('staging')]), 'create', { concurrency }).succeeds.minutes);
    expect(deploy(drill, 'production', configs).continues).toBe(cdkDeployWorstCase(configs.production, [stackNames.standby('production')], 'create').succeeds.minutes);
  });

  test('a config that makes a deploy longer than the job or its credentials fails the budget', () => {
    // The longest deployment a staging release may take: CloudFormation's hour for the deployment resource.
    const slower = { ...configs, staging: { ...configs.staging, deployment: { ...configs.staging.deployment, terminationWaitMinutes: 45, timeoutMinutes: 60 } } };
    const problems = budgetProblems(slower);
    expect(problems.some((p) => /^deploy-staging\.yml\/deploy \(staging\): may run \d+ min, its timeout-minutes is 240$/.test(p))).toBe(true);
  });

  test('a chained session asked to hold a longer wait than an hour fails the budget (the snapshot wait with the CLI’s default 60-minute timeout)', () => {
    const modified = structuredClone(workflows);
    const steps = modified['deploy-production.yml'].jobs.deploy.steps!;
    // The step that waits for the release snapshot (the first one only starts it, --no-wait), in the operations role's chained hour.
    const wait = steps.find((s) => /ops -- snapshot/.test(s.run ?? '') && !/--no-wait/.test(s.run ?? ''))!;
    expect(budgetProblems(configs, modified)).toEqual([]);
    (wait as { run: string }).run = wait.run!.replace(/ --timeout-minutes \d+/, '');
    expect(budgetProblems(configs, modified)).toContainEqual(
      expect.stringMatching(
        /^deploy-production\.yml\/deploy \(production\) "Switch to the operations role": the steps that run with this session may take \d+ min \(margin included\), but it lasts 60 min \(a chained session: at most an hour\)$/,
      ),
    );
  });
});
