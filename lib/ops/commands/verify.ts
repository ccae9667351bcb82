import { DescribeAlarmsCommand, type StateValue } from '@aws-sdk/client-cloudwatch';
import { DescribeCanariesLastRunCommand } from '@aws-sdk/client-synthetics';
import { insufficientDataMeaning } from '../../alarm-description';
import { CANARY_RUN_METRIC, CANARY_SILENCE_CATCH_UP_MINUTES, CANARY_SILENCE_MINUTES, CANARY_SILENCE_PERIOD_SECONDS, canarySilenceAlarmName } from '../../canary-silence';
import { SERVICE_DEPLOYMENT_MODELS } from '../../deployment-model';
import { alarmNamePrefix, canaryName, ecsServiceName, SERVICE_NAMES, type ServiceName } from '../../naming';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import { ACTIVE_DEPLOYMENT_STATUSES, deploymentGroupOf, getDeploymentGroupInfo, listDeploymentIds, listServiceDeployments, trafficShifted } from '../deployments';
import { ExitCode } from '../exit-codes';
import { SLO_TITLES } from '../../service-level-objectives';
import { readBudgets } from './slo';
import { checkIdentity } from '../identity';
import { metricPoints } from '../metrics';
import { formatDuration } from '../progress';

/**
 * `ops verify`: is the environment healthy right now?
 *
 * Three sources, each of which must agree: every CloudWatch alarm of the
 * environment, the last deployment of each service (CodeDeploy for the api,
 * ECS service deployments for the worker; lib/deployment-model.ts), and the
 * last run of each Synthetics canary.
 *
 * What silence means is each alarm's own statement (its TreatMissingData,
 * and the "Missing data (…): …" sentence of its description), which verify
 * reads from DescribeAlarms. CloudWatch, when every datapoint is missing,
 * puts `notBreaching` alarms in OK, `breaching` ones in ALARM, keeps the state
 * of `ignore` ones and puts `missing` ones in INSUFFICIENT_DATA, so
 * INSUFFICIENT_DATA means (the table agreed with the alarms' owner,
 * `insufficientDataMeaning` in lib/alarm-description.ts):
 * - `ignore` / `notBreaching`: no data yet, and none expected when healthy
 *   (a sleeping dead-letter queue, idle replication, an alarm created a
 *   moment ago for which silence is OK anyway): OK, never waited for;
 * - `breaching`: not evaluated yet (the first minutes after the alarm was
 *   created): pending, and it resolves by itself;
 * - `missing` (CloudWatch's default): no data where data is expected: pending
 *   while we poll, and at the timeout verify exits TIMEOUT (3) naming it, its
 *   TreatMissingData and its state reason;
 * - a composite alarm in INSUFFICIENT_DATA (not evaluated since it was
 *   created) is judged by the member alarms its rule names.
 * A canary's silence alarm (lib/canary-silence.ts) is in ALARM from its first
 * evaluation until it counts the canary's first run, so a release that created
 * a canary (or started one again) finds it in ALARM for a few minutes while
 * the canary runs. Verify reads the runs that alarm counts and takes it as
 * catching up, not failing, while they began no longer ago than the alarm
 * needs to count one; runs that began earlier, or none at all, leave it
 * failing.
 * ALARM, a failed/stopped/rolled-back last deployment and a failed canary run
 * are "failing": we keep polling (alarms recover, canaries re-run), and if
 * anything is still failing at the timeout verify exits UNHEALTHY (1).
 *
 * A blue/green release is live once production traffic has moved: its
 * deployment stays InProgress for the termination wait (the original task
 * set is kept for an instant rollback), which verify reports as OK.
 */

export type CheckState = 'ok' | 'pending' | 'failing';

export interface CheckResult {
  readonly name: string;
  readonly state: CheckState;
  readonly detail: string;
}

export interface VerifyOptions {
  /** 0 checks once and reports. */
  readonly timeoutMinutes: number;
  readonly intervalSeconds?: number;
  /** Skip the STS identity check (rollback has done it already). */
  readonly skipIdentityCheck?: boolean;
}

export interface VerifyResult {
  readonly exitCode: ExitCode;
  readonly checks: CheckResult[];
  readonly elapsedMs: number;
}

export const DEFAULT_VERIFY_TIMEOUT_MINUTES = 10;
/** Health checks run every 30 s; polling faster would only re-read the same state. */
export const DEFAULT_VERIFY_INTERVAL_SECONDS = 30;
/** A canary result older than this says nothing about the current release (canaries run every 1–5 minutes). */
export const CANARY_FRESHNESS_MINUTES = 15;

const CANARY_TARGETS = ['frontend', 'api', 'processing'] as const;

/**
 * What INSUFFICIENT_DATA means for an alarm with this TreatMissingData
 * (absent: CloudWatch's default, `missing`): the one table the alarms' template
 * test also uses; a treatment it cannot read is never taken as quiet.
 */
export { insufficientDataMeaning };

/** One alarm as verify judges it. */
export interface AlarmView {
  readonly name: string;
  readonly kind: 'metric' | 'composite';
  readonly state: StateValue | undefined;
  /** What the alarm says missing data means (`missing` when DescribeAlarms leaves it out: CloudWatch's default). */
  readonly treatMissingData?: string;
  readonly stateReason?: string;
  /** The member alarms a composite alarm's rule names. */
  readonly members?: readonly string[];
}

/** How verify classifies one alarm. */
export type AlarmVerdict = 'ok' | 'quiet' | 'catching-up' | 'not-evaluated-yet' | 'no-data-expected' | 'alarm';

/** Alarm names (or ARNs) a composite alarm rule refers to: `ALARM("name")`, `OK(arn)`, `INSUFFICIENT_DATA("name")`. */
export function alarmRuleMembers(rule: string | undefined): string[] {
  const members: string[] = [];
  for (const match of (rule ?? '').matchAll(/\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*"?([^")]+?)"?\s*\)/g)) {
    const reference = match[1];
    const name = reference.includes(':alarm:') ? reference.slice(reference.indexOf(':alarm:') + ':alarm:'.length) : reference;
    if (!members.includes(name)) members.push(name);
  }
  return members;
}

/** The verdict on one metric alarm; composite alarms are judged by `judgeAlarms`. */
export function metricAlarmVerdict(alarm: AlarmView): AlarmVerdict {
  if (alarm.state === 'ALARM') return 'alarm';
  if (alarm.state === 'OK') return 'ok';
  const meaning = insufficientDataMeaning(alarm.treatMissingData);
  return meaning === 'quiet' ? 'quiet' : meaning === 'not-evaluated-yet' ? 'not-evaluated-yet' : 'no-data-expected';
}

/**
 * Every alarm's verdict; a composite alarm that has not been evaluated takes
 * the worst verdict of its members. `overrides` gives metric alarms a verdict
 * verify found from other evidence (a canary silence alarm catching up).
 */
export function judgeAlarms(alarms: readonly AlarmView[], overrides: ReadonlyMap<string, AlarmVerdict> = new Map()): Map<string, AlarmVerdict> {
  const byName = new Map(alarms.map((a) => [a.name, a]));
  const verdicts = new Map<string, AlarmVerdict>();
  const order: AlarmVerdict[] = ['ok', 'quiet', 'catching-up', 'not-evaluated-yet', 'no-data-expected', 'alarm'];
  const judge = (alarm: AlarmView, seen: Set<string>): AlarmVerdict => {
    const known = verdicts.get(alarm.name);
    if (known) return known;
    let verdict: AlarmVerdict;
    if (alarm.kind === 'metric') verdict = overrides.get(alarm.name) ?? metricAlarmVerdict(alarm);
    else if (alarm.state === 'ALARM') verdict = 'alarm';
    else if (alarm.state === 'OK') verdict = 'ok';
    else {
      // Not evaluated yet: as good as its members, and pending when a member is unknown to us.
      const members = (alarm.members ?? []).map((name) => byName.get(name));
      if (members.length === 0 || members.some((m) => m === undefined || seen.has(m.name))) verdict = 'no-data-expected';
      else verdict = members.map((m) => judge(m as AlarmView, new Set([...seen, alarm.name]))).reduce((a, b) => (order.indexOf(b) > order.indexOf(a) ? b : a), 'ok' as AlarmVerdict);
    }
    verdicts.set(alarm.name, verdict);
    return verdict;
  };
  for (const alarm of alarms) judge(alarm, new Set());
  return verdicts;
}

async function listAlarms(ctx: OpsContext): Promise<AlarmView[]> {
  const prefix = alarmNamePrefix(ctx.env);
  const alarms: AlarmView[] = [];
  let nextToken: string | undefined;
  // Bounded: 100 alarms a page, an environment has a few dozen.
  for (let page = 0; page < 50; page++) {
    const response = await awsCall(ctx, 'primary', 'cloudwatch:DescribeAlarms', `alarms with prefix ${prefix}`, () =>
      ctx.clients.primary.cloudWatch.send(
        new DescribeAlarmsCommand({ AlarmNamePrefix: prefix, AlarmTypes: ['CompositeAlarm', 'MetricAlarm'], MaxRecords: 100, NextToken: nextToken }),
      ),
    );
    for (const a of response.MetricAlarms ?? []) {
      alarms.push({ name: a.AlarmName ?? '?', kind: 'metric', state: a.StateValue, treatMissingData: a.TreatMissingData ?? 'missing', stateReason: a.StateReason });
    }
    for (const a of response.CompositeAlarms ?? []) {
      alarms.push({ name: a.AlarmName ?? '?', kind: 'composite', state: a.StateValue, stateReason: a.StateReason, members: alarmRuleMembers(a.AlarmRule) });
    }
    nextToken = response.NextToken;
    if (!nextToken) break;
  }
  return alarms;
}

export async function checkAlarms(ctx: OpsContext): Promise<CheckResult> {
  // Every alarm of the environment is judged: none is in ALARM by design (the
  // api's per-colour Route 53 inputs went with the alarm-calculated health check).
  const alarms = await listAlarms(ctx);
  if (alarms.length === 0) {
    // An environment always has alarms: none means the wrong account/region or an undeployed stack, never "healthy".
    throw new OpsError(
      'not-found',
      `missing resource: no CloudWatch alarms named ${alarmNamePrefix(ctx.env)}* in ${ctx.config.primary.region} of account ${ctx.config.primary.account}: is ${ctx.env} deployed?`,
    );
  }
  const catchingUp = await silenceAlarmsCatchingUp(ctx, alarms);
  const verdicts = judgeAlarms(alarms, new Map([...catchingUp.keys()].map((name) => [name, 'catching-up' as const])));
  const named = (verdict: AlarmVerdict) => alarms.filter((a) => verdicts.get(a.name) === verdict);
  const inAlarm = named('alarm');
  const expected = named('no-data-expected');
  const unevaluated = named('not-evaluated-yet');
  const quiet = named('quiet');
  const catching = named('catching-up');
  const quietNote =
    (quiet.length > 0 ? `; ${quiet.length} without data, which their TreatMissingData says is healthy` : '') +
    catching.map((a) => `; ${a.name} in ALARM only until it counts the first runs of ${catchingUp.get(a.name)}`).join('');
  const reason = (a: AlarmView) => `${a.name} (${a.kind === 'composite' ? 'composite, not evaluated yet' : `TreatMissingData ${a.treatMissingData}`}${a.stateReason ? `: ${a.stateReason}` : ''})`;
  if (inAlarm.length > 0) return { name: 'alarms', state: 'failing', detail: `${inAlarm.length}/${alarms.length} in ALARM: ${inAlarm.map((a) => a.name).join(', ')}` };
  if (expected.length > 0 || unevaluated.length > 0) {
    const parts = [
      ...(expected.length > 0 ? [`${expected.length}/${alarms.length} INSUFFICIENT_DATA where data is expected: ${expected.map(reason).join(', ')}`] : []),
      ...(unevaluated.length > 0 ? [`${unevaluated.length}/${alarms.length} not evaluated yet: ${unevaluated.map((a) => a.name).join(', ')}`] : []),
    ];
    return { name: 'alarms', state: 'pending', detail: `${parts.join('; ')}${quietNote}` };
  }
  return { name: 'alarms', state: 'ok', detail: `${alarms.length - quiet.length - catching.length} OK${quietNote}` };
}

/**
 * The canary silence alarms in ALARM only because their canary started a
 * moment ago, each with what verify read (`<canary> (they began <age> ago)`):
 * the runs the alarm counts (SampleCount of the canary's SuccessPercent per
 * minute, GetMetricData) began no longer ago than the alarm needs to count the
 * first (CANARY_SILENCE_CATCH_UP_MINUTES). Such an alarm leaves ALARM at one of
 * its next evaluations by itself. Runs that began earlier should have cleared
 * it, and no run at all is what it reports: both stay in ALARM for verify.
 */
export async function silenceAlarmsCatchingUp(ctx: OpsContext, alarms: readonly AlarmView[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const target of CANARY_TARGETS) {
    const name = canarySilenceAlarmName(ctx.env, target);
    if (!alarms.some((a) => a.name === name && a.kind === 'metric' && a.state === 'ALARM')) continue;
    const canary = canaryName(ctx.env, target);
    const runs = await metricPoints(ctx, 'primary', {
      namespace: CANARY_RUN_METRIC.namespace,
      metricName: CANARY_RUN_METRIC.metricName,
      dimensions: { [CANARY_RUN_METRIC.dimension]: canary },
      stat: 'SampleCount',
      // Longer than the catch-up, so runs that began before it are seen as such.
      lookbackMinutes: CANARY_SILENCE_MINUTES + CANARY_SILENCE_CATCH_UP_MINUTES,
      periodSeconds: CANARY_SILENCE_PERIOD_SECONDS,
    });
    const counted = runs.filter((p) => p.value > 0);
    if (counted.length === 0) continue;
    // Newest first: the last is the minute the runs began.
    const began = ctx.clock.now() - counted[counted.length - 1].timestamp.getTime();
    if (began <= CANARY_SILENCE_CATCH_UP_MINUTES * 60_000) found.set(name, `${canary} (they began ${formatDuration(began)} ago)`);
  }
  return found;
}

/** The api: its CodeDeploy deployment group. A release in its termination wait is live (traffic moved). */
export async function checkBlueGreenDeployment(ctx: OpsContext, service: ServiceName): Promise<CheckResult> {
  const name = `deployment ${deploymentGroupOf(ctx, service).deploymentGroupName}`;
  const active = await listDeploymentIds(ctx, service, ACTIVE_DEPLOYMENT_STATUSES, { maxPages: 1 });
  for (const id of active) {
    if (!(await trafficShifted(ctx, id))) return { name, state: 'pending', detail: `deployment ${id} in progress` };
  }
  if (active.length > 0) {
    return { name, state: 'ok', detail: `deployment ${active.join(', ')} has moved production traffic; the original task set stays for the termination wait (CodeDeploy still rolls back on alarm)` };
  }
  const group = await getDeploymentGroupInfo(ctx, service);
  const last = group.lastAttemptedDeployment;
  if (!last?.deploymentId) return { name, state: 'ok', detail: 'no deployment recorded yet (the service runs its initial task definition)' };
  if (last.status === 'Succeeded') return { name, state: 'ok', detail: `last deployment ${last.deploymentId} Succeeded` };
  if (last.status === 'Failed' || last.status === 'Stopped') {
    return { name, state: 'failing', detail: `last deployment ${last.deploymentId} ${last.status}` };
  }
  return { name, state: 'pending', detail: `last deployment ${last.deploymentId} ${last.status ?? 'in an unknown state'}` };
}

/** The worker: its ECS service deployments (rolling updates with circuit breaker and deployment alarms). */
export async function checkRollingDeployment(ctx: OpsContext, service: ServiceName): Promise<CheckResult> {
  const serviceName = ecsServiceName(ctx.env, service);
  const name = `deployment ${serviceName}`;
  const newest = (await listServiceDeployments(ctx, service, 1))[0];
  if (!newest) return { name, state: 'ok', detail: 'no service deployment recorded yet (the service runs its initial task definition)' };
  const id = newest.serviceDeploymentArn?.split('/').pop() ?? '?';
  switch (newest.status) {
    case 'SUCCESSFUL':
      return { name, state: 'ok', detail: `last service deployment ${id} SUCCESSFUL` };
    case 'ROLLBACK_SUCCESSFUL':
      // ECS (circuit breaker, deployment alarm) or `ops rollback` put the last completed deployment back; it runs.
      return { name, state: 'ok', detail: `last service deployment ${id} ROLLBACK_SUCCESSFUL: the previous task definition runs` };
    case 'PENDING':
    case 'IN_PROGRESS':
    case 'ROLLBACK_REQUESTED':
    case 'ROLLBACK_IN_PROGRESS':
    case 'STOP_REQUESTED':
      return { name, state: 'pending', detail: `service deployment ${id} ${newest.status}` };
    default:
      // ROLLBACK_FAILED, STOPPED (stopped without a rollback): tasks of two releases may run.
      return { name, state: 'failing', detail: `last service deployment ${id} ${newest.status}${newest.statusReason ? `: ${newest.statusReason}` : ''}` };
  }
}

export async function checkDeployment(ctx: OpsContext, service: ServiceName): Promise<CheckResult> {
  return SERVICE_DEPLOYMENT_MODELS[service] === 'codedeploy-blue-green' ? checkBlueGreenDeployment(ctx, service) : checkRollingDeployment(ctx, service);
}

export async function checkCanaries(ctx: OpsContext): Promise<CheckResult[]> {
  const names = CANARY_TARGETS.map((t) => canaryName(ctx.env, t));
  const response = await awsCall(ctx, 'primary', 'synthetics:DescribeCanariesLastRun', `canaries ${names.join(', ')}`, () =>
    ctx.clients.primary.synthetics.send(new DescribeCanariesLastRunCommand({ Names: names })),
  );
  const byName = new Map((response.CanariesLastRun ?? []).map((c) => [c.CanaryName, c.LastRun]));
  const known = new Set((response.CanariesLastRun ?? []).map((c) => c.CanaryName));
  return names.map((canary): CheckResult => {
    const name = `canary ${canary}`;
    if (!known.has(canary)) {
      throw new OpsError(
        'not-found',
        `missing resource: Synthetics canary ${canary} not found in ${ctx.config.primary.region} of account ${ctx.config.primary.account}: is ${ctx.env} deployed?`,
      );
    }
    const run = byName.get(canary);
    const state = run?.Status?.State;
    if (!run || !state) return { name, state: 'pending', detail: 'no run yet' };
    if (state === 'RUNNING') return { name, state: 'pending', detail: 'running' };
    const completed = run.Timeline?.Completed ?? run.Timeline?.Started;
    const age = completed ? ctx.clock.now() - completed.getTime() : Infinity;
    if (state === 'FAILED') return { name, state: 'failing', detail: `last run FAILED: ${run.Status?.StateReason ?? 'no reason given'}` };
    if (age > CANARY_FRESHNESS_MINUTES * 60_000) {
      return { name, state: 'pending', detail: `last run PASSED but ${completed ? `${formatDuration(age)} ago` : 'at an unknown time'}: is the canary stopped?` };
    }
    return { name, state: 'ok', detail: 'last run PASSED' };
  });
}

export async function collectChecks(ctx: OpsContext): Promise<CheckResult[]> {
  const checks: CheckResult[] = [await checkAlarms(ctx)];
  for (const service of SERVICE_NAMES) checks.push(await checkDeployment(ctx, service));
  checks.push(...(await checkCanaries(ctx)));
  return checks;
}

function summarize(checks: CheckResult[]): string {
  const ok = checks.filter((c) => c.state === 'ok').length;
  const waiting = checks.filter((c) => c.state !== 'ok').map((c) => `${c.name} (${c.state}: ${c.detail})`);
  return waiting.length === 0 ? `${ok}/${checks.length} checks OK` : `${ok}/${checks.length} checks OK; not yet: ${waiting.join('; ')}`;
}

export async function runVerify(ctx: OpsContext, options: VerifyOptions): Promise<VerifyResult> {
  const started = ctx.clock.now();
  const timeoutMs = options.timeoutMinutes * 60_000;
  const intervalMs = (options.intervalSeconds ?? DEFAULT_VERIFY_INTERVAL_SECONDS) * 1000;
  if (!options.skipIdentityCheck) await checkIdentity(ctx, 'primary');
  ctx.progress.log(`verifying ${ctx.env} (timeout ${formatDuration(timeoutMs)})`);
  for (;;) {
    const checks = await collectChecks(ctx);
    const elapsedMs = ctx.clock.now() - started;
    ctx.progress.log(summarize(checks));
    if (checks.every((c) => c.state === 'ok')) {
      printTable(ctx, checks);
      await printErrorBudgets(ctx);
      ctx.progress.log(`${ctx.env} is healthy`);
      return { exitCode: ExitCode.OK, checks, elapsedMs };
    }
    if (elapsedMs + intervalMs > timeoutMs) {
      printTable(ctx, checks);
      await printErrorBudgets(ctx);
      const failing = checks.some((c) => c.state === 'failing');
      if (failing) {
        ctx.out.error(`${ctx.env} is UNHEALTHY: ${checks.filter((c) => c.state === 'failing').map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
        return { exitCode: ExitCode.UNHEALTHY, checks, elapsedMs };
      }
      ctx.out.error(
        `timed out after ${formatDuration(elapsedMs)}: still waiting on ${checks.filter((c) => c.state !== 'ok').map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
      );
      return { exitCode: ExitCode.TIMEOUT, checks, elapsedMs };
    }
    await ctx.clock.sleep(intervalMs);
  }
}

/**
 * The SLOs' attainment and budget left as the release leaves them (issue 14
 * item 5), for the record of the run: information only. Verify judges the
 * release by its alarms, deployments and canaries; the budget is judged before
 * a production deploy (`ops slo --deploy-gate`), and a budget that cannot be
 * read here changes nothing.
 */
async function printErrorBudgets(ctx: OpsContext): Promise<void> {
  try {
    const budgets = await readBudgets(ctx);
    const line = budgets
      .map((b) => `${SLO_TITLES[b.kind]} ${b.attainment === undefined ? '–' : `${b.attainment.toFixed(3)}%`} (goal ${b.goalPercent}%, budget left ${b.budgetLeft === undefined ? b.state : `${(b.budgetLeft * 100).toFixed(1)}%`})`)
      .join('; ');
    ctx.progress.plain(`  SLOs (information, not judged here): ${line}`);
  } catch (error) {
    ctx.progress.plain(`  SLOs (information, not judged here): could not read the budgets: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function printTable(ctx: OpsContext, checks: CheckResult[]): void {
  for (const c of checks) ctx.progress.plain(`  ${c.state === 'ok' ? 'OK     ' : c.state === 'pending' ? 'PENDING' : 'FAILING'}  ${c.name}: ${c.detail}`);
}
