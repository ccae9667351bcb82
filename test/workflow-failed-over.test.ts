import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { parseArgs as parseOpsArgs } from '../lib/ops/cli';

/**
 * Issue 11.4: the pipeline refuses to deploy the standby stack while the
 * environment is failed over (the failed-over marker that `ops dr failover`
 * writes and `ops dr failback --execute` clears), unless a person overrides it.
 * These tests hold the workflows to that: the check runs before anything that
 * changes AWS, with a role that may read the marker, and the override exists
 * only where a person types the environment name in a manual run of a job
 * whose GitHub environment requires a reviewer.
 */

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, string | number | boolean>;
  readonly env?: Record<string, string>;
}
interface Job {
  readonly environment?: string;
  readonly steps: Step[];
}
interface Workflow {
  readonly on: Record<string, unknown>;
  readonly jobs: Record<string, Job>;
}

const workflow = (file: string) => parse(fs.readFileSync(path.join(__dirname, '..', '.github', 'workflows', file), 'utf8')) as Workflow;
const isCredentials = (s: Step) => s.uses?.startsWith('aws-actions/configure-aws-credentials@') ?? false;
/** Steps that change AWS: snapshots, deploys, failovers, rollbacks. */
const CHANGES_AWS = /cdk deploy|ops -- (snapshot|rollback|dr failover)/;

function checkOf(job: Job): { index: number; step: Step } {
  const index = job.steps.findIndex((s) => /npm run ops -- dr deploy-check/.test(s.run ?? ''));
  expect(index).toBeGreaterThanOrEqual(0);
  return { index, step: job.steps[index] };
}

/** The role the step runs with: the last credentials step before it. */
function roleAt(job: Job, index: number): string {
  const credentials = job.steps.slice(0, index).filter(isCredentials);
  return String(credentials[credentials.length - 1]?.with?.['role-to-assume']);
}

describe.each([
  ['deploy-production.yml', 'deploy'],
  ['dr-drill.yml', 'drill'],
])('%s', (file, jobId) => {
  const job = workflow(file).jobs[jobId];

  test('checks the failed-over marker before any step that changes AWS', () => {
    const { index } = checkOf(job);
    const firstChange = job.steps.findIndex((s) => CHANGES_AWS.test(s.run ?? ''));
    expect(firstChange).toBeGreaterThan(index);
  });

  test('checks it with the operations role, which may read the marker (constructs/operations-role.ts, TheFailedOverMarker)', () => {
    expect(roleAt(job, checkOf(job).index)).toBe('${{ env.OPERATIONS_ROLE_ARN }}');
  });

  test('a failed check stops the job (no continue-on-error, no "|| true")', () => {
    const { step } = checkOf(job);
    expect(step).not.toHaveProperty('continue-on-error');
    expect(step.run).not.toMatch(/\|\|\s*true|;\s*exit 0/);
  });

  test('every deploy-check command line parses', () => {
    const lines = (checkOf(job).step.run ?? '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('npm run ops -- '));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const argv = line.replace('npm run ops -- ', '').replace(/"\$DR_ENV"/g, 'staging').split(/\s+/);
      expect(() => parseOpsArgs(argv)).not.toThrow();
    }
  });
});

describe('the override', () => {
  test('production: only a manual run with "production" typed passes --allow-while-failed-over, in the production environment (required reviewers)', () => {
    const w = workflow('deploy-production.yml');
    const job = w.jobs.deploy;
    expect(job.environment).toBe('production');
    const { step } = checkOf(job);
    expect(step.env?.OVERRIDE).toBe("${{ github.event_name == 'workflow_dispatch' && inputs.deploy_while_failed_over || '' }}");
    expect(step.run).toMatch(/if \[ "\$OVERRIDE" = "production" \]; then\n\s*npm run ops -- dr deploy-check --env production --allow-while-failed-over --confirm production\nelse\n\s*npm run ops -- dr deploy-check --env production\nfi/);
    expect(Object.keys((w.on.workflow_dispatch as { inputs: Record<string, unknown> }).inputs)).toEqual(['deploy_while_failed_over']);
  });

  test('the drill runs the Region switch plan in practice (graceful) mode, whether it executes or only prints', () => {
    const run = workflow('dr-drill.yml').jobs.drill.steps.map((s) => s.run ?? '').join('\n');
    const failovers = run.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('npm run ops -- dr failover'));
    expect(failovers).toHaveLength(2);
    for (const line of failovers) expect(line).toMatch(/ --drill( --timeout-minutes \d+)?$/);
    // The executing run fits the operations role's chained session (one hour).
    expect(failovers[0]).toMatch(/ --execute .* --timeout-minutes 50$/);
  });

  test('the drill never overrides: a drill on a failed-over environment waits for the failback', () => {
    expect(checkOf(workflow('dr-drill.yml').jobs.drill).step.run).toBe('npm run ops -- dr deploy-check --env "$DR_ENV"');
  });
});
