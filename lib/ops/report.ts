import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The DR drill report: what was done, how long each step took, the measured
 * RTO and the data-loss window. Written as JSON (for the drill workflow and
 * trend tracking) and Markdown (for the incident or drill notes).
 */

export type StepStatus = 'succeeded' | 'failed' | 'skipped' | 'not-run';

export interface StepRecord {
  readonly name: string;
  readonly title: string;
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  elapsedSeconds?: number;
  detail: string[];
  error?: string;
}

export interface DataLossWindow {
  /** ReplicaLag (seconds) of the newest datapoint read just before promotion; null when none was published. */
  replicaLagSecondsAtPromotion: number | null;
  /** Time of that datapoint. */
  lagMeasuredAt: string | null;
  /** Newest primary write known to have reached the replica: lagMeasuredAt minus the lag. */
  lastReplicatedAt: string | null;
  note: string;
}

/** One step of the Region switch plan as ARC ran it. */
export interface PlanStepRecord {
  readonly name: string;
  /** ARC's execution block type: RdsPromoteReadReplica, Parallel, ECSServiceScaling, Route53HealthCheck. */
  readonly executionBlockType: string;
  /** ARC's step status: notStarted, running, completed, failed, skipped, canceled, pendingApproval. */
  status: string;
  startedAt?: string;
  endedAt?: string;
  elapsedSeconds?: number;
}

export interface FailoverReport {
  environment: string;
  primaryRegion: string;
  standbyRegion: string;
  /** A drill (the plan in graceful mode) or a recovery from an outage (ungraceful). */
  mode: 'drill' | 'recovery';
  startedAt: string;
  finishedAt?: string;
  outcome: 'succeeded' | 'failed';
  exitCode: number;
  failedStep?: string;
  error?: string;
  /** Seconds from the start of the run to a healthy standby; null when it never became healthy. */
  rtoSeconds: number | null;
  /** The environment's objective (disasterRecovery.recoveryTimeObjectiveMinutes). */
  recoveryTimeObjectiveSeconds: number;
  /** Whether the measured RTO met the objective; null when the standby never became healthy. */
  rtoMet: boolean | null;
  dataLoss: DataLossWindow;
  /** Where the standby now answers (load balancer DNS names). */
  endpoints: string[];
  /** Whether the api's traffic reached the standby, and how (or why not). */
  traffic: { switched: boolean; detail: string };
  /** The Region switch plan's execution. */
  plan: { arn?: string; executionId?: string; executionState?: string; actualRecoveryTime?: string; steps: PlanStepRecord[] };
  steps: StepRecord[];
  /**
   * The SLOs' attainment and budget left when the run ended (issue 14 item 5): read in a
   * drill from the primary region, where the SLOs live; never in a recovery, which calls
   * nothing in the failed region.
   */
  slo?: { read: boolean; note: string; budgets: { slo: string; state: string; attainmentPercent: number | null; budgetLeftPercent: number | null }[] };
}

/** `2025-03-01T12:34:56.789Z` → `20250301T123456Z`: sortable and safe in file names. */
export function fileTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export function reportBaseName(env: string, startedMs: number): string {
  return `dr-${env}-${fileTimestamp(startedMs)}`;
}

export function renderMarkdown(report: FailoverReport): string {
  const lines: string[] = [];
  lines.push(`# DR failover report: ${report.environment} (${report.mode})`, '');
  lines.push(`| | |`, `|---|---|`);
  lines.push(`| outcome | **${report.outcome.toUpperCase()}**${report.failedStep ? ` (failed at step \`${report.failedStep}\`)` : ''} |`);
  lines.push(`| primary → standby | ${report.primaryRegion} → ${report.standbyRegion} |`);
  lines.push(`| started | ${report.startedAt} |`);
  lines.push(`| finished | ${report.finishedAt ?? '—'} |`);
  lines.push(
    `| RTO (start → healthy) | ${report.rtoSeconds === null ? 'not reached' : `${report.rtoSeconds} s`} (objective ${report.recoveryTimeObjectiveSeconds} s${report.rtoMet === null ? '' : report.rtoMet ? ': met' : ': **missed**'}) |`,
  );
  lines.push(`| api traffic moved | ${report.traffic.switched ? 'yes' : '**no**'} |`);
  lines.push(`| Region switch execution | ${report.plan.executionId ?? '—'}${report.plan.executionState ? ` (${report.plan.executionState})` : ''}${report.plan.actualRecoveryTime ? `, ARC recovery time ${report.plan.actualRecoveryTime}` : ''} |`);
  lines.push(`| replica lag at promotion | ${report.dataLoss.replicaLagSecondsAtPromotion === null ? 'unknown' : `${report.dataLoss.replicaLagSecondsAtPromotion} s`} |`);
  lines.push(`| last replicated write | ${report.dataLoss.lastReplicatedAt ?? 'unknown'} |`);
  lines.push(`| exit code | ${report.exitCode} |`, '');
  if (report.error) lines.push(`**Error:** ${report.error}`, '');
  lines.push(`Data-loss window: ${report.dataLoss.note}`, '');
  lines.push(`Traffic: ${report.traffic.detail}`, '');
  if (report.endpoints.length > 0) lines.push(`Standby endpoints: ${report.endpoints.map((e) => `\`${e}\``).join(', ')}`, '');
  if (report.slo) {
    lines.push(`## Error budgets when the run ended`, '', report.slo.note, '');
    if (report.slo.budgets.length > 0) {
      lines.push(`| SLO | state | attainment | budget left |`, `|---|---|---|---|`);
      for (const b of report.slo.budgets) lines.push(`| ${b.slo} | ${b.state} | ${b.attainmentPercent === null ? '—' : `${b.attainmentPercent}%`} | ${b.budgetLeftPercent === null ? '—' : `${b.budgetLeftPercent}%`} |`);
      lines.push('');
    }
  }
  lines.push(`## Steps`, '', `| # | step | status | elapsed | details |`, `|---|---|---|---|---|`);
  report.steps.forEach((step, i) => {
    const details = [...step.detail, ...(step.error ? [`ERROR: ${step.error}`] : [])].join('<br>').replace(/\|/g, '\\|');
    lines.push(`| ${i + 1} | ${step.title} | ${step.status} | ${step.elapsedSeconds === undefined ? '—' : `${step.elapsedSeconds} s`} | ${details || '—'} |`);
  });
  if (report.plan.steps.length > 0) {
    lines.push('', `## Region switch plan${report.plan.arn ? ` \`${report.plan.arn}\`` : ''}`, '', `| step | block | status | elapsed |`, `|---|---|---|---|`);
    for (const s of report.plan.steps) lines.push(`| ${s.name} | ${s.executionBlockType} | ${s.status} | ${s.elapsedSeconds === undefined ? '—' : `${s.elapsedSeconds} s`} |`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Writes `<dir>/<base>.json` and `<dir>/<base>.md`; returns both paths. */
export async function writeReport(dir: string, baseName: string, report: FailoverReport): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, `${baseName}.json`);
  const markdown = join(dir, `${baseName}.md`);
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`, 'utf8');
  await writeFile(markdown, renderMarkdown(report), 'utf8');
  return { json, markdown };
}
