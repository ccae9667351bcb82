import { DescribeAlarmsCommand, type StateValue } from '@aws-sdk/client-cloudwatch';
import { DescribeCanariesLastRunCommand } from '@aws-sdk/client-synthetics';
import { alarmNamePrefix, canaryName, SERVICE_NAMES, type ServiceName } from '../../naming';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import { ACTIVE_DEPLOYMENT_STATUSES, deploymentGroupOf, getDeploymentGroupInfo, listDeploymentIds } from '../deployments';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';
import { formatDuration } from '../progress';

/**
 * `ops verify`: is the environment healthy right now?
 *
 * Three sources, each of which must agree: every CloudWatch alarm of the
 * environment, the last CodeDeploy deployment of each service, and the last
 * run of each Synthetics canary.
 *
 * Decision on INSUFFICIENT_DATA: it is "pending", not "failing". Right after a
 * deployment many alarms have no datapoints yet, and failing on them would make
 * every verify fail. We keep polling; if an alarm is still INSUFFICIENT_DATA at
 * the timeout it counts as not OK and verify exits with TIMEOUT (3), naming it.
 * ALARM, a failed/stopped last deployment and a failed canary run are "failing":
 * we also keep polling (alarms recover, CodeDeploy rolls back, canaries re-run),
 * and if anything is still failing at the timeout verify exits UNHEALTHY (1).
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

interface AlarmState {
  readonly name: string;
  readonly state: StateValue | undefined;
}

async function listAlarms(ctx: OpsContext): Promise<AlarmState[]> {
  const prefix = alarmNamePrefix(ctx.env);
  const alarms: AlarmState[] = [];
  let nextToken: string | undefined;
  // Bounded: 100 alarms a page, an environment has a few dozen.
  for (let page = 0; page < 50; page++) {
    const response = await awsCall(ctx, 'primary', 'cloudwatch:DescribeAlarms', `alarms with prefix ${prefix}`, () =>
      ctx.clients.primary.cloudWatch.send(
        new DescribeAlarmsCommand({ AlarmNamePrefix: prefix, AlarmTypes: ['CompositeAlarm', 'MetricAlarm'], MaxRecords: 100, NextToken: nextToken }),
      ),
    );
    for (const a of response.MetricAlarms ?? []) alarms.push({ name: a.AlarmName ?? '?', state: a.StateValue });
    for (const a of response.CompositeAlarms ?? []) alarms.push({ name: a.AlarmName ?? '?', state: a.StateValue });
    nextToken = response.NextToken;
    if (!nextToken) break;
  }
  return alarms;
}

export async function checkAlarms(ctx: OpsContext): Promise<CheckResult> {
  const alarms = await listAlarms(ctx);
  if (alarms.length === 0) {
    // An environment always has alarms: none means the wrong account/region or an undeployed stack, never "healthy".
    throw new OpsError(
      'not-found',
      `missing resource: no CloudWatch alarms named ${alarmNamePrefix(ctx.env)}* in ${ctx.config.primary.region} of account ${ctx.config.primary.account}: is ${ctx.env} deployed?`,
    );
  }
  const inAlarm = alarms.filter((a) => a.state === 'ALARM').map((a) => a.name);
  const noData = alarms.filter((a) => a.state !== 'ALARM' && a.state !== 'OK').map((a) => a.name);
  if (inAlarm.length > 0) return { name: 'alarms', state: 'failing', detail: `${inAlarm.length}/${alarms.length} in ALARM: ${inAlarm.join(', ')}` };
  if (noData.length > 0) {
    return { name: 'alarms', state: 'pending', detail: `${noData.length}/${alarms.length} INSUFFICIENT_DATA: ${noData.join(', ')}` };
  }
  return { name: 'alarms', state: 'ok', detail: `all ${alarms.length} OK` };
}

export async function checkDeployment(ctx: OpsContext, service: ServiceName): Promise<CheckResult> {
  const name = `deployment ${deploymentGroupOf(ctx, service).deploymentGroupName}`;
  const active = await listDeploymentIds(ctx, service, ACTIVE_DEPLOYMENT_STATUSES, { maxPages: 1 });
  if (active.length > 0) return { name, state: 'pending', detail: `deployment ${active.join(', ')} in progress` };
  const group = await getDeploymentGroupInfo(ctx, service);
  const last = group.lastAttemptedDeployment;
  if (!last?.deploymentId) return { name, state: 'ok', detail: 'no deployment recorded yet (the service runs its initial task definition)' };
  if (last.status === 'Succeeded') return { name, state: 'ok', detail: `last deployment ${last.deploymentId} Succeeded` };
  if (last.status === 'Failed' || last.status === 'Stopped') {
    return { name, state: 'failing', detail: `last deployment ${last.deploymentId} ${last.status}` };
  }
  return { name, state: 'pending', detail: `last deployment ${last.deploymentId} ${last.status ?? 'in an unknown state'}` };
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
      ctx.progress.log(`${ctx.env} is healthy`);
      return { exitCode: ExitCode.OK, checks, elapsedMs };
    }
    if (elapsedMs + intervalMs > timeoutMs) {
      printTable(ctx, checks);
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

function printTable(ctx: OpsContext, checks: CheckResult[]): void {
  for (const c of checks) ctx.progress.plain(`  ${c.state === 'ok' ? 'OK     ' : c.state === 'pending' ? 'PENDING' : 'FAILING'}  ${c.name}: ${c.detail}`);
}
