import { BatchGetServiceLevelObjectiveBudgetReportCommand, type ServiceLevelObjectiveBudgetReport } from '@aws-sdk/client-application-signals';
import { serviceLevelObjectiveName, SLO_KINDS, SLO_TITLES, type SloKind } from '../../service-level-objectives';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';

/**
 * `ops slo`: each SLO's attainment and error budget left, from Application
 * Signals' budget report (BatchGetServiceLevelObjectiveBudgetReport) at this
 * moment. Read-only. Exit 0 when every budget has room (an SLO that counted no
 * event in its window has spent nothing: INSUFFICIENT_DATA is reported, not
 * refused), 1 when one is exhausted, 4 when one cannot be read (an SLO that
 * does not exist, a period-based or unknown report, access denied): a budget
 * nobody can read is never "fine".
 *
 * With `--deploy-gate` (the production workflow) it also decides whether the
 * deploy may go on: yes when every budget has room; on a spent or unreadable
 * budget only with an override that a code owner of the error-budget policy
 * approved on the pull request of the commit being deployed
 * (lib/error-budget-override.ts, found by the workflow's own job with the gate
 * App's token and handed over as ERROR_BUDGET_OVERRIDE). The decision, and the
 * approver when there is one, is printed.
 */

/** What the budget report says of one SLO, read by this command. */
export interface SloBudget {
  readonly kind: SloKind;
  readonly name: string;
  /** The goal in the configuration (percent). */
  readonly goalPercent: number;
  /**
   * `ok`/`warning`: budget left; `exhausted`: spent; `no-data`: the SLO exists
   * and counted no event in its window (nothing spent, nothing measured);
   * `unreadable`: no answer to decide on.
   */
  readonly state: 'ok' | 'warning' | 'exhausted' | 'no-data' | 'unreadable';
  /** Percent of good events over the window, as Application Signals reports it. */
  readonly attainment?: number;
  /** Share of the budget left (negative: overspent), when the report has requests. */
  readonly budgetLeft?: number;
  readonly budgetRequestsRemaining?: number;
  readonly totalBudgetRequests?: number;
  /** Why it is unreadable, or a note (a goal that differs from the configuration's). */
  readonly note?: string;
}

/** The override the workflow's error-budget-override job found (lib/error-budget-override.ts). */
export interface ErrorBudgetOverride {
  readonly allowed: boolean;
  /** `@login` of the code owner whose approval carries the override. */
  readonly approver?: string;
  /** The owner entry that made them a code owner (`@org/team`). */
  readonly as?: string;
  readonly review?: string;
  readonly pullRequest?: number;
  /** The reason the approver wrote, or why there is no override. */
  readonly reason: string;
}

export interface SloOptions {
  /** Decide whether a production deploy may go on (prints the decision). */
  readonly deployGate: boolean;
  /** The override found for this deploy; undefined: none was handed over. */
  readonly override?: ErrorBudgetOverride;
}

export interface SloResult {
  readonly exitCode: ExitCode;
  readonly budgets: SloBudget[];
  /** With --deploy-gate: whether the deploy may go on. */
  readonly deploy?: boolean;
}

/** BatchGetServiceLevelObjectiveBudgetReport takes 1 to 50 SLO ids a call. */
const MAX_SLO_IDS = 50;

export async function readBudgets(ctx: OpsContext): Promise<SloBudget[]> {
  const names = SLO_KINDS.map((kind) => serviceLevelObjectiveName(ctx.env, kind));
  if (names.length > MAX_SLO_IDS) throw new OpsError('usage', `at most ${MAX_SLO_IDS} SLOs fit one budget report, this environment has ${names.length}`);
  const at = new Date(ctx.clock.now());
  const response = await awsCall(ctx, 'primary', 'application-signals:BatchGetServiceLevelObjectiveBudgetReport', `SLOs ${names.join(', ')}`, () =>
    ctx.clients.primary.applicationSignals.send(new BatchGetServiceLevelObjectiveBudgetReportCommand({ Timestamp: at, SloIds: names })),
  );
  const reports = response.Reports ?? [];
  const errors = response.Errors ?? [];
  return SLO_KINDS.map((kind, i) => {
    const name = names[i];
    const goalPercent = Number((ctx.config.serviceLevelObjectives[kind].goal * 100).toFixed(6));
    const base = { kind, name, goalPercent };
    const error = errors.find((e) => e.Name === name || e.Arn?.endsWith(`:slo/${name}`));
    if (error) return { ...base, state: 'unreadable', note: `${error.ErrorCode ?? 'error'}: ${error.ErrorMessage ?? 'no message'}` };
    const report = reports.find((r) => r.Name === name || r.Arn?.endsWith(`:slo/${name}`));
    if (!report) return { ...base, state: 'unreadable', note: 'not in the budget report (neither a report nor an error came back for it)' };
    return { ...base, ...judge(report, goalPercent) };
  });
}

function judge(report: ServiceLevelObjectiveBudgetReport, goalPercent: number): Omit<SloBudget, 'kind' | 'name' | 'goalPercent'> {
  const reportedGoal = report.Goal?.AttainmentGoal;
  const goalNote = reportedGoal !== undefined && Math.abs(reportedGoal - goalPercent) > 1e-9 ? `deployed goal ${reportedGoal}% differs from the configuration's ${goalPercent}% (not deployed yet?)` : undefined;
  if (report.EvaluationType !== undefined && report.EvaluationType !== 'RequestBased') {
    return { state: 'unreadable', note: `is ${report.EvaluationType}, expected a request-based SLO (constructs/service-level-objectives.ts)` };
  }
  const attainment = report.Attainment;
  const remaining = report.BudgetRequestsRemaining;
  const total = report.TotalBudgetRequests;
  const budgetLeft = remaining !== undefined && total !== undefined && total > 0 ? remaining / total : undefined;
  const counts = { attainment, budgetRequestsRemaining: remaining, totalBudgetRequests: total, budgetLeft };
  switch (report.BudgetStatus) {
    case 'BREACHED':
      return { state: 'exhausted', ...counts, note: goalNote };
    case 'OK':
    case 'WARNING':
      // The report's own counts win over its status: "if the number of failed requests matches this number or is higher, the SLO is breaching".
      if (remaining !== undefined && remaining <= 0) return { state: 'exhausted', ...counts, note: goalNote ?? `status ${report.BudgetStatus} but no failed request is left in the budget` };
      return { state: report.BudgetStatus === 'OK' ? 'ok' : 'warning', ...counts, note: goalNote };
    case 'INSUFFICIENT_DATA':
      // The SLO exists and its report says so: no event in the window spent nothing. A quiet
      // service must stay deployable; a broken SLI (events, but no data) is named in the note.
      return {
        state: 'no-data',
        ...counts,
        note: 'INSUFFICIENT_DATA: no event counted in the window, so no budget spent; if there were events, the SLI reads a metric that does not exist (runbooks/slo.md, runbooks/metrics.md)',
      };
    default:
      return { state: 'unreadable', ...counts, note: `unknown budget status ${String(report.BudgetStatus)}` };
  }
}

const percent = (v: number | undefined, digits: number) => (v === undefined ? '–' : `${v.toFixed(digits)}%`);

export async function runSlo(ctx: OpsContext, options: SloOptions): Promise<SloResult> {
  await checkIdentity(ctx, 'primary');
  const budgets = await readBudgets(ctx);
  const windowDays = ctx.config.serviceLevelObjectives.windowDays;
  ctx.progress.plain(`Error budgets of ${ctx.env} (${ctx.config.primary.region}), ${windowDays}-day rolling window, at ${new Date(ctx.clock.now()).toISOString()}:`);
  for (const b of budgets) {
    const left = b.budgetLeft === undefined ? '–' : `${(b.budgetLeft * 100).toFixed(1)}%`;
    const requests = b.budgetRequestsRemaining === undefined ? '' : ` (${b.budgetRequestsRemaining} of ${b.totalBudgetRequests} failed events left)`;
    ctx.progress.plain(`  ${b.state.toUpperCase().padEnd(10)} ${SLO_TITLES[b.kind].padEnd(21)} goal ${b.goalPercent}%  attainment ${percent(b.attainment, 3)}  budget left ${left}${requests}  [${b.name}]`);
    if (b.note) ctx.progress.plain(`             ${b.note}`);
  }
  const exhausted = budgets.filter((b) => b.state === 'exhausted');
  const unreadable = budgets.filter((b) => b.state === 'unreadable');
  const noData = budgets.filter((b) => b.state === 'no-data');
  if (noData.length) ctx.progress.plain(`no data (nothing spent, nothing measured): ${noData.map((b) => SLO_TITLES[b.kind]).join(', ')}.`);
  const failing = exhausted.length ? ExitCode.UNHEALTHY : unreadable.length ? ExitCode.AWS_ERROR : ExitCode.OK;
  const problem = [
    exhausted.length ? `budget exhausted: ${exhausted.map((b) => SLO_TITLES[b.kind]).join(', ')}` : '',
    unreadable.length ? `budget unreadable: ${unreadable.map((b) => SLO_TITLES[b.kind]).join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  if (!options.deployGate) {
    if (failing !== ExitCode.OK) ctx.progress.plain(`${problem} (runbooks/slo.md, "The error-budget policy").`);
    return { exitCode: failing, budgets };
  }
  if (failing === ExitCode.OK) {
    ctx.progress.plain('decision: deploy: every error budget has room.');
    return { exitCode: ExitCode.OK, budgets, deploy: true };
  }
  const override = options.override;
  if (override?.allowed) {
    ctx.progress.plain(
      `decision: deploy although ${problem}: override approved by ${override.approver ?? 'an unnamed approver'}${override.as ? ` (code owner as ${override.as})` : ''}` +
        `${override.pullRequest ? ` on pull request #${override.pullRequest}` : ''}${override.review ? ` (${override.review})` : ''}: "${override.reason}".`,
    );
    return { exitCode: ExitCode.OK, budgets, deploy: true };
  }
  ctx.progress.plain(
    `decision: refuse to deploy: ${problem}; no override: ${override ? override.reason : 'none was handed over (ERROR_BUDGET_OVERRIDE is empty: the error-budget-override job found none or did not run; see its log)'}. ` +
      'Only a fix that restores reliability ships now, with an approval by a code owner of runbooks/slo.md whose review says "error-budget override: <reason>" (runbooks/slo.md).',
  );
  return { exitCode: failing, budgets, deploy: false };
}

/**
 * The override as the workflow hands it over (ERROR_BUDGET_OVERRIDE, JSON from
 * the error-budget-override job). Anything that is not exactly that shape is
 * no override: the gate never passes on input it cannot read.
 */
export function parseOverride(text: string | undefined): ErrorBudgetOverride | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { allowed: false, reason: `ERROR_BUDGET_OVERRIDE is not JSON: '${text.slice(0, 60)}'` };
  }
  const v = value as Partial<Record<keyof ErrorBudgetOverride, unknown>>;
  if (typeof v !== 'object' || v === null || typeof v.allowed !== 'boolean' || typeof v.reason !== 'string') {
    return { allowed: false, reason: 'ERROR_BUDGET_OVERRIDE has no boolean "allowed" and string "reason"' };
  }
  if (v.allowed && (typeof v.approver !== 'string' || !/^@[A-Za-z0-9-]+$/.test(v.approver))) {
    return { allowed: false, reason: 'ERROR_BUDGET_OVERRIDE allows without naming its approver' };
  }
  return {
    allowed: v.allowed,
    reason: v.reason,
    approver: typeof v.approver === 'string' ? v.approver : undefined,
    as: typeof v.as === 'string' ? v.as : undefined,
    review: typeof v.review === 'string' ? v.review : undefined,
    pullRequest: typeof v.pullRequest === 'number' ? v.pullRequest : undefined,
  };
}
