import { type MetricDatum, PutMetricDataCommand, type StandardUnit } from '@aws-sdk/client-cloudwatch';
import { DELIVERY_METRIC, DELIVERY_METRICS_NAMESPACE, DELIVERY_STEPS, type DeliveryStep, FAIL_THE_RELEASE_STEP } from '../../delivery-metrics';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';

/**
 * `ops delivery`: what this pipeline run took and how it ended, published as
 * CloudWatch metrics (`BodyScript/Delivery`, lib/delivery-metrics.ts). The
 * deploy workflows call it as the last step of the deploy job (`if: always()`);
 * every duration comes from GitHub's own record of the run (the REST API's
 * jobs and steps of this run), so the workflows compute nothing.
 *
 * - ReleaseDuration: the deploy job's start (after approval in production) to
 *   the end of a passing `Verify` step; what the release budget covers.
 * - LeadTime: the run's head commit (the merge) to the same moment.
 * - DeploymentAttempts / Deployments / FailedDeployments: 1 per release that
 *   reached `cdk deploy`; 1 if it went live and verified; 1 if the deploy or
 *   the verification failed (else 0), so change failure rate is a ratio of sums.
 * - TimeToRestore: the end of the failed verification to the end of a
 *   successful rollback (which verifies the environment itself).
 * - StepDuration{Step}: synth, approval wait, snapshot, deploy, verify, rollback.
 *
 * Dry run by default (it prints the datapoints); `--execute` publishes them.
 */

/** Where the run is, as GitHub Actions tells every step (GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_TOKEN). */
export interface GitHubRun {
  readonly apiUrl: string;
  readonly repository: string;
  readonly runId: string;
  readonly token: string;
}

/** The parts of GitHub's "workflow run" and "jobs for a workflow run" answers this command reads. */
export interface RunRecord {
  readonly head_commit?: { readonly timestamp?: string } | null;
}
export interface StepRecord {
  readonly name: string;
  readonly status: string;
  readonly conclusion: string | null;
  readonly started_at?: string | null;
  readonly completed_at?: string | null;
}
export interface JobRecord {
  readonly name: string;
  readonly status: string;
  readonly conclusion: string | null;
  readonly created_at?: string | null;
  readonly started_at?: string | null;
  readonly completed_at?: string | null;
  readonly steps?: readonly StepRecord[];
}

export type Fetch = (url: string, init: { headers: Record<string, string> }) => Promise<{ ok: boolean; status: number; json(): Promise<unknown>; text(): Promise<string> }>;

export interface DeliveryOptions {
  readonly github: GitHubRun;
  readonly execute: boolean;
  readonly fetch: Fetch;
}

export type ReleaseOutcome = 'succeeded' | 'failed' | 'not-attempted';

export interface DeliveryReport {
  readonly outcome: ReleaseOutcome;
  readonly rolledBack: boolean;
  readonly datapoints: MetricDatum[];
}

const REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

function problem(message: string): OpsError {
  return new OpsError('usage', message);
}

/** Checks what the workflow handed over before anything is called. */
export function githubRunFrom(environment: Record<string, string | undefined>): GitHubRun {
  const apiUrl = environment.GITHUB_API_URL ?? 'https://api.github.com';
  const repository = environment.GITHUB_REPOSITORY;
  const runId = environment.GITHUB_RUN_ID;
  const token = environment.GITHUB_TOKEN;
  if (!repository || !REPOSITORY.test(repository)) throw problem(`GITHUB_REPOSITORY must be owner/name, got '${repository ?? ''}'`);
  if (!runId || !/^\d{1,20}$/.test(runId)) throw problem(`GITHUB_RUN_ID must be the run's number, got '${runId ?? ''}'`);
  if (!token) throw problem('GITHUB_TOKEN must be set (the job needs permissions: actions: read) to read the run from the GitHub API');
  if (!/^https:\/\/[^\s/]+(\/[^\s]*)?$/.test(apiUrl)) throw problem(`GITHUB_API_URL must be an https URL, got '${apiUrl}'`);
  return { apiUrl: apiUrl.replace(/\/$/, ''), repository, runId, token };
}

async function getJson(options: DeliveryOptions, path: string): Promise<unknown> {
  const url = `${options.github.apiUrl}/repos/${options.github.repository}/actions/runs/${options.github.runId}${path}`;
  let response: Awaited<ReturnType<Fetch>>;
  try {
    response = await options.fetch(url, {
      headers: { Accept: 'application/vnd.github+json', Authorization: `Bearer ${options.github.token}`, 'X-GitHub-Api-Version': '2022-11-28' },
    });
  } catch (error) {
    throw new OpsError('aws', `GitHub API ${url} could not be reached: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!response.ok) {
    const hint = response.status === 403 || response.status === 404 ? ' (does the job have permissions: actions: read?)' : '';
    throw new OpsError('aws', `GitHub API ${url} answered ${response.status}${hint}: ${(await response.text()).slice(0, 200)}`);
  }
  return response.json();
}

/** The run and its jobs (with their steps), every page. */
export async function readRun(options: DeliveryOptions): Promise<{ run: RunRecord; jobs: JobRecord[] }> {
  const run = (await getJson(options, '')) as RunRecord;
  const jobs: JobRecord[] = [];
  // Bounded: a deploy run has a handful of jobs.
  for (let page = 1; page <= 5; page++) {
    const answer = (await getJson(options, `/jobs?filter=latest&per_page=100&page=${page}`)) as { total_count?: number; jobs?: JobRecord[] };
    jobs.push(...(answer.jobs ?? []));
    if ((answer.jobs ?? []).length < 100) break;
  }
  return { run, jobs };
}

function seconds(from: string | null | undefined, to: string | null | undefined): number | undefined {
  if (!from || !to) return undefined;
  const value = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

function findStep(jobs: readonly JobRecord[], pattern: { job: RegExp; step: RegExp }): { job: JobRecord; step: StepRecord } | undefined {
  for (const job of jobs) {
    if (!pattern.job.test(job.name)) continue;
    const step = (job.steps ?? []).find((s) => pattern.step.test(s.name));
    if (step) return { job, step };
  }
  return undefined;
}

const finished = (step: StepRecord | undefined) => step !== undefined && step.status === 'completed';

/**
 * The datapoints of a run, from its record alone (pure: the tests feed it
 * GitHub's answers). `now` stamps the datapoints.
 */
export function deliveryReport(env: string, record: { run: RunRecord; jobs: readonly JobRecord[] }, now: Date): DeliveryReport {
  const { jobs } = record;
  const datapoints: MetricDatum[] = [];
  const dimensions = [{ Name: 'Environment', Value: env }];
  const put = (MetricName: string, Value: number, Unit: StandardUnit, extra: { Name: string; Value: string }[] = []) =>
    datapoints.push({ MetricName, Value: Math.round(Value * 1000) / 1000, Unit, Timestamp: now, Dimensions: [...dimensions, ...extra] });

  const found = Object.fromEntries(Object.entries(DELIVERY_STEPS).map(([name, pattern]) => [name, findStep(jobs, pattern)])) as Record<keyof typeof DELIVERY_STEPS, ReturnType<typeof findStep>>;
  for (const [name, hit] of Object.entries(found)) {
    if (hit && finished(hit.step) && hit.step.conclusion !== 'skipped') {
      const duration = seconds(hit.step.started_at, hit.step.completed_at);
      if (duration !== undefined) put(DELIVERY_METRIC.stepDuration, duration, 'Seconds', [{ Name: 'Step', Value: name as DeliveryStep }]);
    }
  }
  const deployJob = found.deploy?.job;
  const approvalWait = seconds(deployJob?.created_at, deployJob?.started_at);
  if (approvalWait !== undefined) put(DELIVERY_METRIC.stepDuration, approvalWait, 'Seconds', [{ Name: 'Step', Value: 'approvalWait' }]);

  const deploy = found.deploy?.step;
  const verify = found.verify?.step;
  const failStep = jobs.flatMap((j) => j.steps ?? []).find((s) => FAIL_THE_RELEASE_STEP.test(s.name));
  const rollback = [found.rollback?.step].filter((s): s is StepRecord => s !== undefined && finished(s) && s.conclusion !== 'skipped');
  const attempted = finished(deploy) && (deploy?.conclusion === 'success' || deploy?.conclusion === 'failure');
  const verified = attempted && deploy?.conclusion === 'success' && finished(verify) && verify?.conclusion === 'success' && failStep?.conclusion !== 'failure';
  const outcome: ReleaseOutcome = !attempted ? 'not-attempted' : verified ? 'succeeded' : 'failed';

  if (outcome !== 'not-attempted') {
    put(DELIVERY_METRIC.deploymentAttempts, 1, 'Count');
    put(DELIVERY_METRIC.failedDeployments, outcome === 'failed' ? 1 : 0, 'Count');
  }
  if (outcome === 'succeeded') {
    put(DELIVERY_METRIC.deployments, 1, 'Count');
    const release = seconds(deployJob?.started_at, verify?.completed_at);
    if (release !== undefined) put(DELIVERY_METRIC.releaseDuration, release, 'Seconds');
    const lead = seconds(record.run.head_commit?.timestamp, verify?.completed_at);
    if (lead !== undefined) put(DELIVERY_METRIC.leadTime, lead, 'Seconds');
  }
  const restored = rollback.length > 0 && rollback.every((s) => s.conclusion === 'success');
  if (outcome === 'failed' && restored) {
    const restoredAt = rollback.map((s) => s.completed_at ?? '').sort().at(-1);
    const restore = seconds(verify?.completed_at ?? deploy?.completed_at, restoredAt);
    if (restore !== undefined) put(DELIVERY_METRIC.timeToRestore, restore, 'Seconds');
  }
  return { outcome, rolledBack: restored, datapoints };
}

export async function runDelivery(ctx: OpsContext, options: DeliveryOptions): Promise<{ exitCode: ExitCode; report: DeliveryReport }> {
  const record = await readRun(options);
  const report = deliveryReport(ctx.env, record, new Date(ctx.clock.now()));
  ctx.progress.plain(`Delivery metrics of run ${options.github.runId} (${options.github.repository}) for ${ctx.env}: release ${report.outcome}${report.rolledBack ? ', rolled back' : ''}`);
  for (const d of report.datapoints) {
    const step = d.Dimensions?.find((x) => x.Name === 'Step')?.Value;
    ctx.progress.plain(`  ${DELIVERY_METRICS_NAMESPACE} ${d.MetricName}${step ? `{Step=${step}}` : ''} = ${d.Value} ${d.Unit}`);
  }
  if (!options.execute) {
    ctx.progress.plain('Dry run: nothing was published. Run again with --execute to publish.');
    return { exitCode: ExitCode.OK, report };
  }
  await checkIdentity(ctx, 'primary');
  // PutMetricData takes at most 1000 datapoints a call; a run has about a dozen.
  for (let i = 0; i < report.datapoints.length; i += 1000) {
    const MetricData = report.datapoints.slice(i, i + 1000);
    await awsCall(ctx, 'primary', 'cloudwatch:PutMetricData', `namespace ${DELIVERY_METRICS_NAMESPACE}`, () =>
      ctx.clients.primary.cloudWatch.send(new PutMetricDataCommand({ Namespace: DELIVERY_METRICS_NAMESPACE, MetricData })),
    );
  }
  ctx.progress.log(`published ${report.datapoints.length} datapoints to ${DELIVERY_METRICS_NAMESPACE}`);
  return { exitCode: ExitCode.OK, report };
}
