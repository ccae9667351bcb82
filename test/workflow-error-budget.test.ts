import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { parseArgs as parseOpsArgs } from '../lib/ops/cli';
import { ERROR_BUDGET_ENVIRONMENT } from '../lib/github-repository';
import { desiredSettings } from '../lib/github-settings/desired';
import { loadConfig } from '../lib/config';

/**
 * Issue 14 item 4: production refuses to deploy on a spent error budget
 * (runbooks/slo.md), unless a code owner of the error-budget policy approved
 * the override on the pull request that merged the commit. These tests hold
 * deploy-production.yml to that: the budget is read before anything changes
 * AWS, by a role that may read it, the step fails the job, and the override
 * comes only from the error-budget-override job (the gate App reading the
 * merged pull request's reviews), never from a label, an input or a variable
 * the author controls.
 */

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, string | number | boolean>;
  readonly env?: Record<string, string>;
  readonly 'continue-on-error'?: unknown;
}
interface Job {
  readonly environment?: string;
  readonly needs?: string | string[];
  readonly permissions?: Record<string, string>;
  readonly outputs?: Record<string, string>;
  readonly steps: Step[];
}

const text = fs.readFileSync(path.join(__dirname, '..', '.github', 'workflows', 'deploy-production.yml'), 'utf8');
const workflow = parse(text) as { jobs: Record<string, Job> };
const deploy = workflow.jobs.deploy;
const overrideJob = workflow.jobs['error-budget-override'];
const CHANGES_AWS = /cdk deploy|ops -- (snapshot|rollback|dr failover)/;
const gateIndex = () => deploy.steps.findIndex((s) => /npm run ops -- slo\b/.test(s.run ?? ''));
const isCredentials = (s: Step) => s.uses?.startsWith('aws-actions/configure-aws-credentials@') ?? false;

describe('deploy-production.yml: the error-budget gate', () => {
  test('reads every budget before any step that changes AWS, with --deploy-gate, and the command parses', () => {
    const index = gateIndex();
    expect(index).toBeGreaterThanOrEqual(0);
    expect(deploy.steps.findIndex((s) => CHANGES_AWS.test(s.run ?? ''))).toBeGreaterThan(index);
    const line = deploy.steps[index].run!.trim();
    expect(line).toBe('npm run ops -- slo --env production --deploy-gate');
    expect(parseOpsArgs(line.replace('npm run ops -- ', '').split(/\s+/))).toEqual({ name: 'slo', env: 'production', deployGate: true });
  });

  test('runs as the operations role, whose own policy grants the budget read (test/operations-role.test.ts checks every action ops slo reaches), not as the lookup role, which has only what ReadOnlyAccess happens to include', () => {
    const credentials = deploy.steps.slice(0, gateIndex()).filter(isCredentials);
    expect(credentials[credentials.length - 1].with?.['role-to-assume']).toBe('${{ env.OPERATIONS_ROLE_ARN }}');
  });

  test('a refusal stops the job (no continue-on-error, no "|| true")', () => {
    const step = deploy.steps[gateIndex()];
    expect(step['continue-on-error']).toBeUndefined();
    expect(step.run).not.toMatch(/\|\|\s*true|;\s*exit 0/);
  });

  test('the override comes only from the error-budget-override job’s output, never a label, an input or a variable', () => {
    const step = deploy.steps[gateIndex()];
    expect(step.env).toEqual({ ERROR_BUDGET_OVERRIDE: '${{ needs.error-budget-override.outputs.decision }}' });
    expect([deploy.needs].flat()).toContain('error-budget-override');
    expect(text).not.toMatch(/labels|ERROR_BUDGET_OVERRIDE:\s*\$\{\{\s*(vars|inputs|github\.event)/);
    expect(overrideJob.outputs).toEqual({ decision: '${{ steps.override.outputs.decision }}' });
  });

  test('a failed override job means no override, not no deploy: the deploy runs whenever the synth and the plan succeeded', () => {
    expect((deploy as Job & { if?: string }).if).toBe("${{ !cancelled() && needs.synth.result == 'success' && needs.plan.result == 'success' }}");
  });

  test('the override job reads GitHub with the gate App in an environment that admits only main, holds no AWS credentials and runs no install script', () => {
    expect(overrideJob.environment).toBe(ERROR_BUDGET_ENVIRONMENT);
    const desired = desiredSettings(loadConfig().project.github, 'gate').environments.find((e) => e.name === ERROR_BUDGET_ENVIRONMENT)!;
    expect(desired.branches).toEqual(['main']);
    expect(desired.requiredSecrets).toEqual(['GATE_APP_PRIVATE_KEY']);
    expect(overrideJob.permissions).toEqual({ contents: 'read' });
    expect(overrideJob.steps.some(isCredentials)).toBe(false);
    const installs = overrideJob.steps.filter((s) => /npm (ci|install)/.test(s.run ?? ''));
    expect(installs.map((s) => s.run)).toEqual(['npm ci --ignore-scripts --no-audit --no-fund']);
    const app = overrideJob.steps.find((s) => s.uses?.startsWith('actions/create-github-app-token@'))!;
    expect(app.with).toMatchObject({ 'permission-pull-requests': 'read', 'permission-contents': 'read', 'permission-members': 'read' });
    const find = overrideJob.steps.find((s) => s.id === 'override')!;
    expect(find.run).toBe('npm run error-budget-override -- --repository "$REPOSITORY" --commit "$GITHUB_SHA" --github-output "$GITHUB_OUTPUT"');
    expect(find.env?.ERROR_BUDGET_TOKEN).toBe('${{ steps.app.outputs.token }}');
  });
});
