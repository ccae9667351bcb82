import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { deliveryReport, type Fetch, githubRunFrom, type JobRecord, runDelivery } from '../../lib/ops/commands/delivery';
import { ExitCode } from '../../lib/ops/exit-codes';
import { harness } from './helpers';

/**
 * The delivery metrics of a run, from GitHub's own record of it (the REST
 * API's "get a workflow run" and "list jobs for a workflow run" answers, as
 * GitHub shapes them), so the workflows compute nothing themselves.
 */

const GITHUB = { apiUrl: 'https://api.github.com', repository: 'bodyscript/infrastructure', runId: '4242', token: 'ghs_test' };
const step = (name: string, started: string, completed: string, conclusion = 'success') => ({ name, status: 'completed', conclusion, started_at: `2026-11-30T${started}Z`, completed_at: `2026-11-30T${completed}Z` });

/** A production run: synth, 6 minutes waiting for approval, then the deploy job; `verify` passes or not, the rollback runs or not. */
function productionRun(options: { verified: boolean; rollback?: 'success' | 'failure' }): JobRecord[] {
  return [
    { name: 'synthesize', status: 'completed', conclusion: 'success', created_at: '2026-11-30T10:00:00Z', started_at: '2026-11-30T10:00:05Z', completed_at: '2026-11-30T10:04:00Z', steps: [step('Synthesize', '10:01:00', '10:03:30')] },
    {
      name: 'deploy BodyScript-Production',
      status: 'in_progress',
      conclusion: null,
      created_at: '2026-11-30T10:04:10Z',
      started_at: '2026-11-30T10:10:10Z',
      steps: [
        step('Snapshot the database before deploying', '10:11:00', '10:11:30'),
        step('Deploy production and its standby', '10:11:40', '10:22:10'),
        step('Verify', '10:22:20', options.verified ? '10:22:40' : '10:37:20'),
        step('Roll back both services', '10:37:30', '10:40:30', options.rollback ?? 'skipped'),
        step('Fail the release when verification failed', '10:40:40', '10:40:41', options.verified ? 'skipped' : 'failure'),
        { name: 'Publish the delivery metrics', status: 'in_progress', conclusion: null, started_at: '2026-11-30T10:40:50Z' },
      ],
    },
  ];
}
const RUN = { head_commit: { timestamp: '2026-11-30T09:50:00Z' } };
const NOW = new Date('2026-11-30T10:41:00Z');

function values(report: ReturnType<typeof deliveryReport>): Record<string, number> {
  return Object.fromEntries(report.datapoints.map((d) => [`${d.MetricName}${d.Dimensions?.find((x) => x.Name === 'Step') ? `/${d.Dimensions.find((x) => x.Name === 'Step')?.Value}` : ''}`, d.Value ?? NaN]));
}

describe('ops delivery', () => {
  test('a verified release: duration from the deploy job’s start (after approval), lead time from the merge, one deployment, no failure, every step', () => {
    const report = deliveryReport('production', { run: RUN, jobs: productionRun({ verified: true }) }, NOW);
    expect(report.outcome).toBe('succeeded');
    expect(values(report)).toEqual({
      'StepDuration/synth': 150,
      'StepDuration/snapshot': 30,
      'StepDuration/deploy': 630,
      'StepDuration/verify': 20,
      'StepDuration/approvalWait': 360,
      DeploymentAttempts: 1,
      FailedDeployments: 0,
      Deployments: 1,
      // 10:10:10 → 10:22:40
      ReleaseDuration: 750,
      // 09:50:00 → 10:22:40
      LeadTime: 1960,
    });
    for (const d of report.datapoints) expect(d.Dimensions?.[0]).toEqual({ Name: 'Environment', Value: 'production' });
  });

  test('a failed release rolled back: a failure, no deployment, and the time to restore from the failed verification to the verified rollback', () => {
    const report = deliveryReport('production', { run: RUN, jobs: productionRun({ verified: false, rollback: 'success' }) }, NOW);
    expect(report).toMatchObject({ outcome: 'failed', rolledBack: true });
    const v = values(report);
    expect(v).toMatchObject({ DeploymentAttempts: 1, FailedDeployments: 1, 'StepDuration/rollback': 180, TimeToRestore: 190 });
    expect(v).not.toHaveProperty('Deployments');
    expect(v).not.toHaveProperty('ReleaseDuration');
  });

  test('a rollback that failed restores nothing: no time to restore', () => {
    const report = deliveryReport('production', { run: RUN, jobs: productionRun({ verified: false, rollback: 'failure' }) }, NOW);
    expect(report.rolledBack).toBe(false);
    expect(values(report)).not.toHaveProperty('TimeToRestore');
  });

  test('an approval that was rejected (deploy step never ran) attempts nothing', () => {
    const jobs = productionRun({ verified: true }).map((job) => (job.name.startsWith('deploy') ? { ...job, steps: job.steps?.map((s) => ({ ...s, conclusion: 'skipped' })) } : job));
    const report = deliveryReport('production', { run: RUN, jobs }, NOW);
    expect(report.outcome).toBe('not-attempted');
    expect(values(report)).not.toHaveProperty('DeploymentAttempts');
  });

  test('--execute reads the run from the GitHub API with the job token and publishes one PutMetricData to BodyScript/Delivery', async () => {
    const h = harness('production');
    const urls: string[] = [];
    const fetch: Fetch = async (url, init) => {
      urls.push(url);
      expect(init.headers.Authorization).toBe('Bearer ghs_test');
      const body = url.includes('/jobs') ? { total_count: 2, jobs: productionRun({ verified: true }) } : RUN;
      return { ok: true, status: 200, json: async () => body, text: async () => JSON.stringify(body) };
    };
    h.mocks.primary.cloudWatch.on(PutMetricDataCommand).resolves({});
    const result = await runDelivery(h.ctx, { github: GITHUB, execute: true, fetch });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(urls).toEqual([
      'https://api.github.com/repos/bodyscript/infrastructure/actions/runs/4242',
      'https://api.github.com/repos/bodyscript/infrastructure/actions/runs/4242/jobs?filter=latest&per_page=100&page=1',
    ]);
    const calls = h.mocks.primary.cloudWatch.commandCalls(PutMetricDataCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input.Namespace).toBe('BodyScript/Delivery');
    expect(calls[0].args[0].input.MetricData).toHaveLength(result.report.datapoints.length);
  });

  test('dry run prints the datapoints and publishes nothing', async () => {
    const h = harness('production');
    const fetch: Fetch = async (url) => ({ ok: true, status: 200, json: async () => (url.includes('/jobs') ? { jobs: productionRun({ verified: true }) } : RUN), text: async () => '' });
    await runDelivery(h.ctx, { github: GITHUB, execute: false, fetch });
    expect(h.mocks.primary.cloudWatch.commandCalls(PutMetricDataCommand)).toHaveLength(0);
    expect(h.out.text()).toContain('BodyScript/Delivery ReleaseDuration = 750 Seconds');
    expect(h.out.text()).toContain('Dry run: nothing was published');
  });

  test('a run the token may not read stops with the status and what the job needs, nothing published', async () => {
    const h = harness('production');
    const fetch: Fetch = async () => ({ ok: false, status: 403, json: async () => ({}), text: async () => 'Resource not accessible by integration' });
    await expect(runDelivery(h.ctx, { github: GITHUB, execute: true, fetch })).rejects.toThrow(/answered 403 \(does the job have permissions: actions: read\?\): Resource not accessible/);
    expect(h.mocks.primary.cloudWatch.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });

  test('the run is named by the workflow’s own variables, checked before any call', () => {
    expect(githubRunFrom({ GITHUB_REPOSITORY: 'bodyscript/infrastructure', GITHUB_RUN_ID: '4242', GITHUB_TOKEN: 't' })).toEqual({ ...GITHUB, token: 't' });
    expect(() => githubRunFrom({ GITHUB_REPOSITORY: 'bodyscript', GITHUB_RUN_ID: '4242', GITHUB_TOKEN: 't' })).toThrow(/GITHUB_REPOSITORY must be owner\/name, got 'bodyscript'/);
    expect(() => githubRunFrom({ GITHUB_REPOSITORY: 'a/b', GITHUB_RUN_ID: 'x', GITHUB_TOKEN: 't' })).toThrow(/GITHUB_RUN_ID must be the run's number/);
    expect(() => githubRunFrom({ GITHUB_REPOSITORY: 'a/b', GITHUB_RUN_ID: '1' })).toThrow(/GITHUB_TOKEN must be set \(the job needs permissions: actions: read\)/);
  });
});
