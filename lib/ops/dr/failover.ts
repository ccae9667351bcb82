import { RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { PromoteReadReplicaCommand } from '@aws-sdk/client-rds';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { access, constants, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterName, ecsServiceName, replicaInstanceIdentifier, SERVICE_NAMES, stackNames } from '../../naming';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';
import { formatDuration } from '../progress';
import { type FailoverReport, reportBaseName, type StepRecord, writeReport } from '../report';
import { waitUntil } from '../wait';
import {
  describeReplica,
  describeStandbyServices,
  describeTargetGroups,
  healthyTargetCount,
  isReadReplica,
  latestReplicaLag,
  loadBalancerDnsNames,
  replicationStatus,
  scalableDimension,
  scalableResourceId,
  type StandbyService,
  targetGroupArnsOf,
} from './standby';

/**
 * `ops dr failover`: bring the pilot-light standby up as the environment.
 *
 * Steps run in order and stop at the first failure: nothing after a failed
 * step is attempted, because each step assumes the previous one holds (scaling
 * services against an unpromoted, read-only database would serve errors).
 * Every step is safe to run again, so after fixing the cause the operator
 * re-runs the whole command: an already promoted replica is detected and the
 * promotion skipped, and scaling sets absolute values.
 *
 * The report (Markdown + JSON) is written whatever happens once the run has
 * started, because a failed drill is exactly the one people need to read about.
 */

export interface FailoverOptions {
  readonly execute: boolean;
  /** Must equal the environment name when executing: a second, deliberate act of typing. */
  readonly confirm?: string;
  readonly reportDir: string;
  readonly intervalSeconds?: number;
  readonly promoteTimeoutMinutes?: number;
  readonly scaleTimeoutMinutes?: number;
  readonly targetHealthTimeoutMinutes?: number;
}

export interface FailoverResult {
  readonly exitCode: ExitCode;
  readonly report?: FailoverReport;
  readonly reportPaths?: { json: string; markdown: string };
}

/** Promotion of a cross-region replica typically takes 5–15 minutes (it reboots). */
export const DEFAULT_PROMOTE_TIMEOUT_MINUTES = 30;
export const DEFAULT_SCALE_TIMEOUT_MINUTES = 15;
export const DEFAULT_TARGET_HEALTH_TIMEOUT_MINUTES = 10;

/** Scaling state of a raised standby service: every kind of scaling active (the pilot light suspends them). */
export const RESUMED_SCALING = { DynamicScalingInSuspended: false, DynamicScalingOutSuspended: false, ScheduledScalingSuspended: false } as const;

export const FAILOVER_STEPS = [
  { name: 'preflight', title: 'Check credentials and the report directory' },
  { name: 'check-replica', title: 'Check the read replica' },
  { name: 'promote-replica', title: 'Promote the read replica' },
  { name: 'scale-services', title: 'Raise the standby services' },
  { name: 'target-health', title: 'Wait for healthy targets' },
  { name: 'dns', title: 'Switch DNS' },
] as const;
export type FailoverStepName = (typeof FAILOVER_STEPS)[number]['name'];

/** What earlier steps learned and later steps need. */
interface RunState {
  alreadyPromoted: boolean;
  services: StandbyService[];
}

export function checkConfirmation(ctx: OpsContext, options: Pick<FailoverOptions, 'execute' | 'confirm'>): void {
  if (!options.execute) return;
  if (options.confirm === undefined) {
    throw new OpsError('usage', `--confirm is required with --execute: type the environment name again (--confirm ${ctx.env}); nothing was done`);
  }
  if (options.confirm !== ctx.env) {
    throw new OpsError('usage', `--confirm '${options.confirm}' does not match --env '${ctx.env}': type the environment name again to fail over; nothing was done`);
  }
}

function printPlan(ctx: OpsContext, options: FailoverOptions): void {
  const { config, env } = ctx;
  const replica = replicaInstanceIdentifier(env);
  ctx.progress.plain(`Failover plan for ${env}: ${config.primary.region} → ${config.standby.region} (account ${config.standby.account})`);
  ctx.progress.plain(`  1. preflight: sts:GetCallerIdentity must be account ${config.standby.account}; the report directory must be writable`);
  ctx.progress.plain(`  2. check-replica: DB instance ${replica} must be available and a read replica; record its ReplicaLag`);
  ctx.progress.plain(
    `  3. promote-replica: record ReplicaLag (the data-loss window), PromoteReadReplica ${replica} (backup retention ${config.database.backupRetentionDays} days), wait until available (≤ ${options.promoteTimeoutMinutes ?? DEFAULT_PROMOTE_TIMEOUT_MINUTES} min)`,
  );
  for (const service of SERVICE_NAMES) {
    const s = config.services[service];
    ctx.progress.plain(
      `  4. scale-services: RegisterScalableTarget service/${clusterName(env)}/${ecsServiceName(env, service)} min ${s.minTasks} max ${s.maxTasks} (scaling resumed); UpdateService desiredCount ${s.minTasks}`,
    );
  }
  ctx.progress.plain(`     wait until every service runs its minimum tasks (≤ ${options.scaleTimeoutMinutes ?? DEFAULT_SCALE_TIMEOUT_MINUTES} min)`);
  ctx.progress.plain(`  5. target-health: wait until each service's target group has at least minTasks healthy targets (≤ ${options.targetHealthTimeoutMinutes ?? DEFAULT_TARGET_HEALTH_TIMEOUT_MINUTES} min)`);
  ctx.progress.plain(
    config.domain
      ? `  6. dns: check the Route 53 failover records of ${config.domain.apiDomainName} in zone ${config.domain.hostedZoneId}; the health-check-driven SECONDARY record takes over (no record is changed)`
      : `  6. dns: skipped (no domain configured); then point CloudFront's api origin at the standby api load balancer (the report lists the standby load balancer names)`,
  );
  ctx.progress.plain(`  then: write the report (RTO, data-loss window) to ${join(options.reportDir, `dr-${env}-<timestamp>`)}.md and .json`);
}

export async function runFailover(ctx: OpsContext, options: FailoverOptions): Promise<FailoverResult> {
  checkConfirmation(ctx, options);
  printPlan(ctx, options);
  if (!options.execute) {
    // A read-only preview of the first checks: a dry run that would fail at step 2 should say so now.
    await checkIdentity(ctx, 'standby');
    const replica = await describeReplica(ctx);
    const lag = await latestReplicaLag(ctx);
    ctx.progress.log(
      `replica ${replica.DBInstanceIdentifier}: ${replica.DBInstanceStatus ?? 'unknown'}, ${isReadReplica(replica) ? `replicating from ${replica.ReadReplicaSourceDBInstanceIdentifier}` : 'not a read replica (already promoted?)'}, lag ${lag ? `${lag.value}s` : 'unknown'}`,
    );
    ctx.progress.plain(`Dry run: nothing was changed. To fail over: --execute --confirm ${ctx.env}`);
    return { exitCode: ExitCode.OK };
  }
  return executeFailover(ctx, options);
}

async function executeFailover(ctx: OpsContext, options: FailoverOptions): Promise<FailoverResult> {
  const started = ctx.clock.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const report: FailoverReport = {
    environment: ctx.env,
    primaryRegion: ctx.config.primary.region,
    standbyRegion: ctx.config.standby.region,
    startedAt: iso(started),
    outcome: 'failed',
    exitCode: ExitCode.UNHEALTHY,
    rtoSeconds: null,
    dataLoss: { replicaLagSecondsAtPromotion: null, lagMeasuredAt: null, lastReplicatedAt: null, note: 'the replica was not promoted by this run' },
    endpoints: [],
    steps: FAILOVER_STEPS.map((s): StepRecord => ({ name: s.name, title: s.title, status: 'not-run', detail: [] })),
  };
  const state: RunState = { alreadyPromoted: false, services: [] };
  const runners: Record<FailoverStepName, (step: StepRecord) => Promise<void>> = {
    preflight: (step) => preflight(ctx, options, step),
    'check-replica': (step) => checkReplicaStep(ctx, state, step),
    'promote-replica': (step) => promoteStep(ctx, options, state, report, step),
    'scale-services': (step) => scaleStep(ctx, options, state, step),
    'target-health': (step) => targetHealthStep(ctx, options, state, report, step),
    dns: (step) => dnsStep(ctx, step),
  };

  ctx.progress.log(`FAILOVER of ${ctx.env} started`);
  let exitCode: ExitCode = ExitCode.OK;
  for (const [index, step] of report.steps.entries()) {
    const stepStart = ctx.clock.now();
    step.startedAt = iso(stepStart);
    ctx.progress.log(`step ${index + 1}/${report.steps.length} ${step.name}: ${step.title}`);
    try {
      await runners[step.name as FailoverStepName](step);
      if (step.status === 'not-run') step.status = 'succeeded';
      ctx.progress.log(`step ${step.name} ${step.status} in ${formatDuration(ctx.clock.now() - stepStart)}`);
    } catch (error) {
      step.status = 'failed';
      step.error = error instanceof Error ? error.message : String(error);
      exitCode = error instanceof OpsError ? error.exitCode : ExitCode.UNHEALTHY;
      report.failedStep = step.name;
      report.error = step.error;
      ctx.out.error(`step ${step.name} FAILED: ${step.error}`);
      ctx.out.error(`stopped safely: no further step was attempted. Fix the cause and run the same command again (completed steps are detected and skipped).`);
    } finally {
      step.endedAt = iso(ctx.clock.now());
      step.elapsedSeconds = Math.round((ctx.clock.now() - stepStart) / 1000);
    }
    if (step.status === 'failed') break;
  }

  const finished = ctx.clock.now();
  report.finishedAt = iso(finished);
  report.exitCode = exitCode;
  if (exitCode === ExitCode.OK) {
    report.outcome = 'succeeded';
    report.rtoSeconds = Math.round((finished - started) / 1000);
    ctx.progress.log(`FAILOVER of ${ctx.env} succeeded: RTO ${formatDuration(finished - started)}`);
  }
  try {
    const paths = await writeReport(options.reportDir, reportBaseName(ctx.env, started), report);
    ctx.progress.log(`report written: ${paths.markdown} and ${paths.json}`);
    return { exitCode, report, reportPaths: paths };
  } catch (error) {
    // The report is the drill's evidence: if it cannot be written, print it rather than lose it.
    ctx.out.error(`could not write the report to ${options.reportDir}: ${error instanceof Error ? error.message : String(error)}`);
    ctx.out.line(JSON.stringify(report, null, 2));
    return { exitCode: exitCode === ExitCode.OK ? ExitCode.UNHEALTHY : exitCode, report };
  }
}

async function preflight(ctx: OpsContext, options: FailoverOptions, step: StepRecord): Promise<void> {
  await mkdir(options.reportDir, { recursive: true });
  await access(options.reportDir, constants.W_OK);
  step.detail.push(`report directory ${options.reportDir} is writable`);
  const arn = await checkIdentity(ctx, 'standby');
  step.detail.push(`acting as ${arn}`);
}

async function checkReplicaStep(ctx: OpsContext, state: RunState, step: StepRecord): Promise<void> {
  const replica = await describeReplica(ctx);
  const status = replica.DBInstanceStatus ?? 'unknown';
  if (!isReadReplica(replica)) {
    if (status !== 'available') throw new OpsError('unhealthy', `DB instance ${replica.DBInstanceIdentifier} is not a read replica and is '${status}', not available`);
    state.alreadyPromoted = true;
    step.detail.push(`${replica.DBInstanceIdentifier} is already promoted (a previous run?) and available`);
    ctx.progress.warn(`${replica.DBInstanceIdentifier} is already a standalone instance: promotion will be skipped`);
    return;
  }
  if (status !== 'available') {
    throw new OpsError('unhealthy', `replica ${replica.DBInstanceIdentifier} is '${status}': RDS promotes only an available replica; wait until it is available`);
  }
  // In a real regional outage replication is broken ('error'): that must not block the failover, only be recorded.
  const replication = replicationStatus(replica) ?? 'unknown';
  const lag = await latestReplicaLag(ctx);
  step.detail.push(
    `${replica.DBInstanceIdentifier} available, replication ${replication} from ${replica.ReadReplicaSourceDBInstanceIdentifier}, lag ${lag ? `${lag.value}s at ${lag.timestamp.toISOString()}` : 'unknown'}`,
  );
  ctx.progress.log(step.detail[step.detail.length - 1]);
  if (replication !== 'replicating') ctx.progress.warn(`replication is '${replication}' (expected during a regional outage): recent writes may be missing`);
}

async function promoteStep(ctx: OpsContext, options: FailoverOptions, state: RunState, report: FailoverReport, step: StepRecord): Promise<void> {
  const id = replicaInstanceIdentifier(ctx.env);
  if (state.alreadyPromoted) {
    step.status = 'skipped';
    step.detail.push(`${id} was already promoted`);
    report.dataLoss.note = 'the replica had already been promoted before this run: see the report of that run for the data-loss window';
    return;
  }
  // The last lag reading before promotion bounds the writes that never reached the standby.
  const lag = await latestReplicaLag(ctx);
  if (lag) {
    report.dataLoss = {
      replicaLagSecondsAtPromotion: lag.value,
      lagMeasuredAt: lag.timestamp.toISOString(),
      lastReplicatedAt: new Date(lag.timestamp.getTime() - lag.value * 1000).toISOString(),
      note: `writes to the primary after ${new Date(lag.timestamp.getTime() - lag.value * 1000).toISOString()} may be missing from the promoted database (replica lag ${lag.value}s at ${lag.timestamp.toISOString()})`,
    };
  } else {
    report.dataLoss.note = 'no ReplicaLag datapoint in the 15 minutes before promotion: the data-loss window is unknown (compare the newest rows with the primary when it is reachable)';
  }
  step.detail.push(`replica lag at promotion: ${lag ? `${lag.value}s` : 'unknown'}`);
  await awsCall(ctx, 'standby', 'rds:PromoteReadReplica', `DB instance ${id}`, () =>
    ctx.clients.standby.rds.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: id, BackupRetentionPeriod: ctx.config.database.backupRetentionDays })),
  );
  ctx.progress.log(`PromoteReadReplica ${id} requested`);
  await waitUntil(ctx, {
    what: `${id} to be promoted and available`,
    timeoutMs: (options.promoteTimeoutMinutes ?? DEFAULT_PROMOTE_TIMEOUT_MINUTES) * 60_000,
    intervalMs: (options.intervalSeconds ?? 30) * 1000,
    check: async () => {
      const replica = await describeReplica(ctx);
      const status = replica.DBInstanceStatus ?? 'unknown';
      if (status === 'failed' || status === 'incompatible-restore' || status === 'deleting') return { done: false, status, failed: `instance is '${status}'` };
      return { done: status === 'available' && !isReadReplica(replica), status: `${status}${isReadReplica(replica) ? ' (still a replica)' : ''}` };
    },
  });
  step.detail.push(`${id} promoted and available`);
}

async function scaleStep(ctx: OpsContext, options: FailoverOptions, state: RunState, step: StepRecord): Promise<void> {
  const cluster = clusterName(ctx.env);
  state.services = await describeStandbyServices(ctx);
  const missing = state.services.filter((s) => !s.details);
  if (missing.length > 0) {
    throw new OpsError('not-found', `missing resource: ECS service(s) ${missing.map((s) => s.ecsName).join(', ')} not found in cluster ${cluster} (${ctx.config.standby.region}): is ${stackNames.standby(ctx.env)} deployed?`);
  }
  for (const s of state.services) {
    const { minTasks, maxTasks } = ctx.config.services[s.service];
    const resourceId = scalableResourceId(ctx, s.service);
    // Raise the floor first: with min 0 the scaling policy could scale the service straight back in.
    // The pilot light keeps its scaling policies suspended (the standby queue's backlog would start
    // workers); they are resumed here, with the floor.
    await awsCall(ctx, 'standby', 'application-autoscaling:RegisterScalableTarget', `scalable target ${resourceId}`, () =>
      ctx.clients.standby.autoScaling.send(
        new RegisterScalableTargetCommand({
          ServiceNamespace: 'ecs',
          ResourceId: resourceId,
          ScalableDimension: scalableDimension,
          MinCapacity: minTasks,
          MaxCapacity: maxTasks,
          SuspendedState: RESUMED_SCALING,
        }),
      ),
    );
    await awsCall(ctx, 'standby', 'ecs:UpdateService', `ECS service ${s.ecsName} in cluster ${cluster}`, () =>
      ctx.clients.standby.ecs.send(new UpdateServiceCommand({ cluster, service: s.ecsName, desiredCount: minTasks })),
    );
    step.detail.push(`${s.ecsName}: min ${minTasks} max ${maxTasks}, scaling resumed, desired ${minTasks}`);
    ctx.progress.log(`${s.ecsName}: scalable target min ${minTasks} max ${maxTasks}, scaling resumed, desiredCount ${minTasks}`);
  }
  const services = await waitUntil(ctx, {
    what: 'standby services to run their minimum tasks',
    timeoutMs: (options.scaleTimeoutMinutes ?? DEFAULT_SCALE_TIMEOUT_MINUTES) * 60_000,
    intervalMs: (options.intervalSeconds ?? 15) * 1000,
    check: async () => {
      const current = await describeStandbyServices(ctx);
      const counts = current.map((s) => ({ s, running: s.details?.runningCount ?? 0, want: ctx.config.services[s.service].minTasks }));
      return {
        done: counts.every((c) => c.running >= c.want),
        status: counts.map((c) => `${c.s.service} ${c.running}/${c.want} running`).join(', '),
        value: current,
      };
    },
  });
  state.services = services ?? state.services;
  step.detail.push('every service runs its minimum tasks');
}

async function targetHealthStep(ctx: OpsContext, options: FailoverOptions, state: RunState, report: FailoverReport, step: StepRecord): Promise<void> {
  const groups: { service: string; arn: string; want: number }[] = [];
  for (const s of state.services) {
    const arns = targetGroupArnsOf(s);
    if (arns.length === 0) throw new OpsError('not-found', `missing resource: ECS service ${s.ecsName} has no target group in ${ctx.config.standby.region}, so its health cannot be checked`);
    for (const arn of arns) groups.push({ service: s.service, arn, want: ctx.config.services[s.service].minTasks });
  }
  const described = await describeTargetGroups(ctx, groups.map((g) => g.arn));
  const names = new Map(described.map((g) => [g.arn, g.name]));
  await waitUntil(ctx, {
    what: 'standby target groups to report healthy targets',
    timeoutMs: (options.targetHealthTimeoutMinutes ?? DEFAULT_TARGET_HEALTH_TIMEOUT_MINUTES) * 60_000,
    intervalMs: (options.intervalSeconds ?? 15) * 1000,
    check: async () => {
      const health = [];
      for (const g of groups) health.push({ ...g, ...(await healthyTargetCount(ctx, g.arn)) });
      return {
        done: health.every((h) => h.healthy >= h.want),
        status: health.map((h) => `${names.get(h.arn) ?? h.service} ${h.healthy}/${h.want} healthy`).join(', '),
      };
    },
  });
  report.endpoints = await loadBalancerDnsNames(ctx, described.flatMap((g) => g.loadBalancerArns));
  step.detail.push(`every target group has its minimum healthy targets`, ...report.endpoints.map((e) => `endpoint ${e}`));
}

async function dnsStep(ctx: OpsContext, step: StepRecord): Promise<void> {
  const domain = ctx.config.domain;
  if (!domain) {
    step.status = 'skipped';
    step.detail.push("no domain configured: point CloudFront's api origin at the standby api load balancer (see endpoints); it accepts only CloudFront with the origin header");
    return;
  }
  const name = `${domain.apiDomainName}.`;
  const response = await awsCall(ctx, 'standby', 'route53:ListResourceRecordSets', `records ${domain.apiDomainName} in hosted zone ${domain.hostedZoneId}`, () =>
    ctx.clients.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: domain.hostedZoneId, StartRecordName: name, MaxItems: 10 })),
  );
  const records = (response.ResourceRecordSets ?? []).filter((r) => r.Name === name);
  const primary = records.find((r) => r.Failover === 'PRIMARY');
  const secondary = records.find((r) => r.Failover === 'SECONDARY');
  if (!primary || !secondary) {
    throw new OpsError(
      'unhealthy',
      `${domain.apiDomainName} has no Route 53 failover record pair (PRIMARY + SECONDARY) in zone ${domain.hostedZoneId}: the standby is up but DNS will not move to it; point the record at the standby load balancer by hand`,
    );
  }
  // Health-check-driven failover: no record is rewritten, Route 53 answers with SECONDARY while PRIMARY's check fails.
  step.detail.push(
    `${domain.apiDomainName}: failover records present (PRIMARY ${primary.SetIdentifier ?? ''} health check ${primary.HealthCheckId ?? 'none'}, SECONDARY ${secondary.SetIdentifier ?? ''}); Route 53 answers with SECONDARY while the primary's health check fails`,
  );
  if (!primary.HealthCheckId && !primary.AliasTarget?.EvaluateTargetHealth) ctx.progress.warn(`the PRIMARY record of ${domain.apiDomainName} has neither a health check nor EvaluateTargetHealth: DNS will not fail over by itself`);
  ctx.progress.log(step.detail[step.detail.length - 1]);
}
