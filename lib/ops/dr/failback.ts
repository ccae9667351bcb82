import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { FAILBACK_STEP_NAMES, FAILBACK_STEP_TIMEOUT_MINUTES } from '../../disaster-recovery';
import { bucketName, clusterName, databaseInstanceIdentifier, ecsServiceName, failedOverMarkerName, regionSwitchPlanName, replicaInstanceIdentifier, SERVICE_NAMES, stackNames } from '../../naming';
import { errorName, OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';
import { waitUntil } from '../wait';
import { PLAN_FOLLOW_MARGIN_MINUTES } from './failover';
import { deleteMarker, describeMarker, readMarker } from './marker';
import { describeSteps, EXECUTION_STOPPED, EXECUTION_SUCCEEDED, type ExecutionProgress, flattenSteps, getExecution, listExecutionEvents, planInRegion, recordProgress, stoppedDetail } from './plan-execution';
import { failbackWorkflow } from './plan-workflows';
import type { Plan, PlanExecution, Route53HealthCheck } from './region-switch-client';
import { REPLICATED_BUCKET_PURPOSES } from './status';

/**
 * `ops dr failback`: prints the ordered steps back to the primary region. It
 * changes two things only, each with `--execute --confirm <env>` and at the
 * step that says so; the rest needs a planned write freeze and a person
 * watching, not a script run under pressure (failback rewrites the primary
 * database from the promoted standby):
 *
 * - `--execute`: clears the failed-over marker, once the primary region's
 *   database is a writable primary again (clearing it lets the pipeline deploy
 *   the environment and recreate the standby replica);
 * - `--move-traffic --execute`: with a domain, moves the api back: one
 *   execution of the Region switch plan's failback workflow, which activates
 *   the primary region and sets ARC's Route 53 health checks back (see
 *   `moveTrafficBack`).
 */
export function failbackSteps(ctx: OpsContext): string[] {
  const { env, config } = ctx;
  const p = config.primary;
  const s = config.standby;
  const promoted = replicaInstanceIdentifier(env);
  const primaryDb = databaseInstanceIdentifier(env);
  const services = SERVICE_NAMES.map((x) => ecsServiceName(env, x)).join(', ');
  return [
    `Confirm ${p.region} is healthy again (AWS Health Dashboard) and agree a maintenance window: failback needs a short write freeze. Until then the standby in ${s.region} stays the live environment.`,
    `Keep the old primary ${primaryDb} in ${p.region} untouched (deletion protection stays on): it holds the writes that never replicated. Rename it out of the way: aws rds modify-db-instance --region ${p.region} --db-instance-identifier ${primaryDb} --new-db-instance-identifier ${primaryDb}-pre-failback --apply-immediately`,
    `Take a manual snapshot of the promoted database: aws rds create-db-snapshot --region ${s.region} --db-instance-identifier ${promoted} --db-snapshot-identifier ${promoted}-failback-<date>`,
    `Re-establish replication towards the primary region: create a cross-region read replica of ${promoted} in ${p.region} named ${primaryDb} (aws rds create-db-instance-read-replica --region ${p.region} --db-instance-identifier ${primaryDb} --source-db-instance-identifier arn:aws:rds:${s.region}:${s.account}:db:${promoted} --kms-key-id <alias/bodyscript-${env}/database in ${p.region}> --db-subnet-group-name <the ${stackNames.data(env)} stack's database subnet group> --vpc-security-group-ids <its database security group> --db-parameter-group-name <its parameter group> --db-instance-class db.${config.database.instanceClass}${config.database.multiAz ? ' --multi-az' : ''} --max-allocated-storage ${config.database.maxAllocatedStorageGiB} --deletion-protection; without the subnet group and security group RDS puts the replica in the default VPC, where nothing of ${env} reaches it), and wait until its ReplicaLag is near 0.`,
    `Copy back the objects written during the failover: for ${REPLICATED_BUCKET_PURPOSES.filter((x) => x !== 'frontend')
      .map((x) => bucketName(env, x, s.account, s.region))
      .join(', ')} run S3 Batch Replication (or aws s3 sync) into the matching ${p.region} buckets, and check OperationsFailedReplication is 0.`,
    `Start the write freeze: put the api in maintenance and scale the processing service in ${s.region} to 0 (messages wait in the queue). Wait until the new replica's ReplicaLag is 0.`,
    `Promote the replica in ${p.region}: aws rds promote-read-replica --region ${p.region} --db-instance-identifier ${primaryDb} --backup-retention-period ${config.database.backupRetentionDays}; wait until available.`,
    `Clear the failed-over marker (${failedOverMarkerName(env)} in ${s.region}), which until now refused every deploy of ${env}: npm run ops -- dr failback --env ${env} --execute --confirm ${env} (it checks that ${primaryDb} in ${p.region} is a writable primary first).`,
    `Bring the primary back: npx cdk deploy ${stackNames.application(env)} (it reconciles the database, services and alarms of ${p.region}), then npm run ops -- verify --env ${env}.`,
    config.domain
      ? `Move traffic back, once verify passes: npm run ops -- dr failback --env ${env} --move-traffic (a dry run that checks everything), then with --execute --confirm ${env}. It refuses unless the marker is cleared and ${primaryDb} in ${p.region} is a writable primary, then starts, in ${p.region} (ARC executes a plan from the region it activates), an execution of the Region switch plan ${regionSwitchPlanName(env)} that activates ${p.region}: its failback workflow has one step, ${FAILBACK_STEP_NAMES.traffic}, which sets ARC's Route 53 health check of ${p.region} healthy and that of ${s.region} unhealthy, and Route 53 answers ${config.domain.apiDomainName} with ${p.region} again. Nothing else moves them (no deploy, no Route 53 call). The write freeze ends here. Then confirm with dig ${config.domain.apiDomainName} and npm run ops -- dr status --env ${env} (each record still carries its own region's check).`
      : `Traffic: without a domain the api's traffic never left CloudFront's ${p.region} origin (ops dr failover does not move it); if someone changed the origin by hand, the deploy above restores it. End the write freeze.`,
    `Return the standby to pilot light (a deploy of ${stackNames.standby(env)} does not: the template never re-applies the bounds): for each of ${services} in cluster ${clusterName(env)} (${s.region}), aws application-autoscaling register-scalable-target --region ${s.region} --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/${clusterName(env)}/<service> --min-capacity 0 --max-capacity 0 (the pilot light's bounds; Application Auto Scaling brings the running count into them).`,
    `Retire the promoted ${promoted}: it is retained by its stack, which knows it by its identifier. Snapshot it (aws rds create-db-snapshot --region ${s.region} --db-instance-identifier ${promoted} --db-snapshot-identifier ${promoted}-retired-<date>), then rename it out of the way: aws rds modify-db-instance --region ${s.region} --db-instance-identifier ${promoted} --new-db-instance-identifier ${promoted}-retired-<date> --apply-immediately (delete it later, after turning off its deletion protection).`,
    `Recreate the standby replica under its identifier, so that ${stackNames.standby(env)} manages it again: aws rds create-db-instance-read-replica --region ${s.region} --db-instance-identifier ${promoted} --source-db-instance-identifier arn:aws:rds:${p.region}:${p.account}:db:${primaryDb} --kms-key-id <alias/bodyscript-${env}/standby-database> --db-subnet-group-name <the Standby stack's replica subnet group> --vpc-security-group-ids <its security group> --db-parameter-group-name <its parameter group> --db-instance-class db.${config.database.instanceClass}${config.database.multiAz ? ' --multi-az' : ''} --max-allocated-storage ${config.database.maxAllocatedStorageGiB} --port 5433 --deletion-protection; wait until available, then npx cdk deploy ${stackNames.standby(env)} (it reconciles the rest) and npm run ops -- dr status --env ${env} must report ready.`,
    `Write up the failback in the drill report next to reports/dr-${env}-<timestamp>.md: duration, write-freeze length, objects copied back.`,
  ];
}

export interface FailbackOptions {
  /** Clear the failed-over marker (after checking the primary database), or with `moveTraffic` start the plan's failback execution. */
  readonly execute: boolean;
  /** Must equal the environment name with --execute. */
  readonly confirm?: string;
  /** The traffic step: move the api back by an execution of the plan's failback workflow (a dry run without `execute`). */
  readonly moveTraffic?: boolean;
  /** Poll interval while following the execution (tests shorten it). */
  readonly intervalSeconds?: number;
}

/** How long the failback's execution is followed: its traffic step's timeout, plus ARC's own start-up. */
export const FAILBACK_FOLLOW_MINUTES = FAILBACK_STEP_TIMEOUT_MINUTES.traffic + PLAN_FOLLOW_MARGIN_MINUTES;

export async function runFailback(ctx: OpsContext, options: FailbackOptions = { execute: false }): Promise<{ exitCode: ExitCode; steps: string[] }> {
  if (options.execute && options.confirm !== ctx.env) {
    throw new OpsError(
      'usage',
      options.confirm === undefined
        ? `--confirm is required with --execute: type the environment name again (--confirm ${ctx.env}); nothing was done`
        : `--confirm '${options.confirm}' does not match --env '${ctx.env}'; nothing was done`,
    );
  }
  const steps = failbackSteps(ctx);
  if (options.moveTraffic) return { exitCode: await moveTrafficBack(ctx, options), steps };
  if (!options.execute) {
    ctx.progress.plain(`Failback of ${ctx.env}: ${ctx.config.standby.region} → ${ctx.config.primary.region}. Guidance: this command changes nothing (--execute --confirm ${ctx.env} only clears the failed-over marker, at the step that says so).`);
    steps.forEach((step, i) => ctx.progress.plain(`  ${String(i + 1).padStart(2)}. ${step}`));
    return { exitCode: ExitCode.OK, steps };
  }
  return { exitCode: await clearMarker(ctx), steps };
}

/** Deletes the marker once the primary region's database is a writable primary again. */
async function clearMarker(ctx: OpsContext): Promise<ExitCode> {
  await checkIdentity(ctx, 'standby');
  const state = await readMarker(ctx);
  if (!state.present) {
    ctx.progress.log(`${failedOverMarkerName(ctx.env)} (${ctx.config.standby.region}): not failed over, nothing to clear`);
    return ExitCode.OK;
  }
  ctx.progress.log(`marker: ${describeMarker(state)}`);
  await assertWritablePrimary(ctx, 'the marker stays and deploys stay refused');
  await deleteMarker(ctx);
  ctx.progress.log(`${failedOverMarkerName(ctx.env)} deleted: deploys of ${ctx.env} are allowed again. Next: npx cdk deploy ${stackNames.application(ctx.env)}`);
  return ExitCode.OK;
}

/**
 * Refuses (exit 1) unless the primary region's database is a writable primary
 * again: available, and no longer a read replica of the promoted standby.
 */
async function assertWritablePrimary(ctx: OpsContext, consequence: string): Promise<void> {
  const id = databaseInstanceIdentifier(ctx.env);
  const response = await awsCall(ctx, 'primary', 'rds:DescribeDBInstances', `DB instance ${id}`, () =>
    ctx.clients.primary.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id })),
  );
  const primary = response.DBInstances?.[0];
  const status = primary?.DBInstanceStatus ?? 'unknown';
  if (!primary || status !== 'available' || primary.ReadReplicaSourceDBInstanceIdentifier) {
    throw new OpsError(
      'unhealthy',
      `${id} in ${ctx.config.primary.region} is ${primary?.ReadReplicaSourceDBInstanceIdentifier ? `still a read replica of ${primary.ReadReplicaSourceDBInstanceIdentifier}` : `'${status}'`}, not a writable primary: ` +
        `finish the failback steps up to its promotion first (npm run ops -- dr failback --env ${ctx.env}); ${consequence}`,
    );
  }
  ctx.progress.log(`${id} in ${ctx.config.primary.region}: available, a writable primary`);
}

/**
 * The traffic step of the failback (`--move-traffic`): with a domain, the api's
 * failover records carry ARC's Route 53 health checks, which only an execution
 * of the plan sets, and the failover's left the primary's unhealthy. One
 * execution of the plan's failback workflow (activate the primary region,
 * graceful: both regions are up) sets them back.
 *
 * Where each call goes, at a time when both regions are up (the first failback
 * step confirms the primary is healthy): ARC's data plane of the primary region,
 * because ARC executes a plan from the region being activated ("Region switch
 * plans are executed from the Region being activated", AWS News Blog,
 * introducing ARC Region switch) and an execution is followed where it runs;
 * STS and RDS of the primary region too (the database the traffic returns to
 * lives there; if they do not answer, the primary is not ready for traffic);
 * the marker in the standby region, the only place it exists. No Route 53
 * control-plane call.
 *
 * Refused, with nothing started, unless: the failed-over marker is gone (it is
 * cleared only once the primary database is a writable primary, and its
 * absence lets `cdk deploy` bring the primary back before traffic does; an
 * unreadable marker is never "gone"), the primary database is a writable
 * primary now, the plan has a failback workflow that only moves traffic (never
 * a promotion or scaling on the way back), and the plan has no active
 * execution. ARC's own refusals (another execution started meanwhile, a mode
 * or region it does not accept, access denied) stop it with what ARC said.
 * When ARC's checks already send traffic to the primary, nothing is started.
 */
async function moveTrafficBack(ctx: OpsContext, options: FailbackOptions): Promise<ExitCode> {
  const { env, config } = ctx;
  const p = config.primary.region;
  const s = config.standby.region;
  const domain = config.domain;
  if (!domain) {
    throw new OpsError(
      'usage',
      `--move-traffic moves the api's Route 53 failover pair, and ${env} has no domain: its api traffic never left CloudFront's ${p} origin and its plan has no failback workflow (runbooks/disaster-recovery.md, "Api failover without a domain"); nothing was done`,
    );
  }
  ctx.progress.plain(
    `Failback traffic of ${env}: ${domain.apiDomainName} ${s} → ${p}, by an execution of ${regionSwitchPlanName(env)} that activates ${p} (ARC in ${p}, the marker in ${s})${options.execute ? '' : '. Dry run: nothing is started'}`,
  );
  const callerArn = await checkIdentity(ctx, 'primary');
  const marker = await readMarker(ctx);
  if (marker.present) {
    throw new OpsError(
      'unhealthy',
      `${failedOverMarkerName(env)} (${s}) is still there: ${describeMarker(marker)}. Traffic moves back last: clear the marker first (npm run ops -- dr failback --env ${env} --execute --confirm ${env}, once the primary database is promoted), ` +
        `deploy ${stackNames.application(env)} and run ops verify, then move the traffic; nothing was started`,
    );
  }
  ctx.progress.log(`marker: ${describeMarker(marker)} (${failedOverMarkerName(env)} absent in ${s})`);
  await assertWritablePrimary(ctx, 'traffic stays on the standby; nothing was started');

  const { summary, plan } = await planInRegion(ctx, 'primary');
  const workflow = failbackWorkflow(ctx, plan);
  if (!workflow) {
    throw new OpsError(
      'unhealthy',
      `Region switch plan ${plan.arn} has no workflow that activates ${p}, so no execution can move ${domain.apiDomainName} back: deploy ${stackNames.standby(env)} (it adds the failback workflow; allowed once the marker is cleared), then run this again; nothing was started`,
    );
  }
  const leaves = flattenSteps(workflow.steps).filter((x) => x.executionBlockType !== 'Parallel');
  const notTraffic = leaves.filter((x) => x.executionBlockType !== 'Route53HealthCheck');
  if (notTraffic.length > 0 || leaves.length === 0) {
    throw new OpsError(
      'unhealthy',
      `the workflow of ${plan.arn} that activates ${p} must only move traffic (Route53HealthCheck steps), but it has ${leaves.length === 0 ? 'no step' : notTraffic.map((x) => `${x.name} (${x.executionBlockType})`).join(', ')}: ` +
        `the database goes back by hand (npm run ops -- dr failback --env ${env}). Deploy ${stackNames.standby(env)} to restore the plan; nothing was started`,
    );
  }
  ctx.progress.log(`plan ${plan.arn}: failback workflow activates ${p}: ${leaves.map((x) => `${x.name} (${x.executionBlockType})`).join(' → ')}`);
  if (summary.activePlanExecution) {
    throw new OpsError(
      'conflict',
      `Region switch plan ${plan.arn} is executing already (execution ${summary.activePlanExecution}), and ARC runs one execution of a plan at a time: let it end (or cancel it) in the ARC console of ${p} or ${s}, then run this again; nothing was started`,
    );
  }

  const before = await healthChecks(ctx, plan.arn);
  if (before.primary?.status === 'healthy' && before.standby?.status === 'unhealthy') {
    ctx.progress.log(`ARC's health checks already send ${domain.apiDomainName} to ${p} (${describeChecks(ctx, before)}): nothing to move`);
    return ExitCode.OK;
  }
  ctx.progress.log(`ARC's health checks now: ${describeChecks(ctx, before)}`);
  if (!options.execute) {
    ctx.progress.plain(
      `Would start: StartPlanExecution ${plan.arn} activate ${p}, mode graceful, in ${p}, and follow it (≤ ${FAILBACK_FOLLOW_MINUTES} min). Dry run: nothing was changed. To move the traffic: --move-traffic --execute --confirm ${env}`,
    );
    return ExitCode.OK;
  }

  let executionId: string;
  try {
    ({ executionId } = await awsCall(ctx, 'primary', 'arc-region-switch:StartPlanExecution', `Region switch plan ${plan.arn}`, () =>
      ctx.clients.primary.regionSwitch.startPlanExecution({
        planArn: plan.arn,
        targetRegion: p,
        action: 'activate',
        mode: 'graceful',
        comment: `npm run ops -- dr failback --env ${env} --move-traffic by ${callerArn}`,
      }),
    ));
  } catch (error) {
    throw refusedStart(ctx, plan, error);
  }
  ctx.progress.log(`started execution ${executionId} (activate ${p}, graceful) in ${p}`);

  const progress: ExecutionProgress = { planSteps: new Map(), seenEvents: new Set() };
  for (const x of flattenSteps(workflow.steps)) progress.planSteps.set(x.name, { name: x.name, executionBlockType: x.executionBlockType, status: 'notStarted' });
  const execution = await waitUntil<PlanExecution>(ctx, {
    what: `Region switch execution ${executionId} (failback traffic)`,
    timeoutMs: FAILBACK_FOLLOW_MINUTES * 60_000,
    intervalMs: (options.intervalSeconds ?? 15) * 1000,
    check: async () => {
      const current = await getExecution(ctx, 'primary', plan.arn, executionId);
      const events = await listExecutionEvents(ctx, 'primary', plan.arn, executionId);
      recordProgress(ctx, progress, current, events);
      const status = current.executionState;
      if (EXECUTION_STOPPED.has(status)) return { done: false, status, value: current, failed: stoppedDetail(progress, current, events, p) };
      return { done: EXECUTION_SUCCEEDED.has(status), status, value: current };
    },
  });
  ctx.progress.log(`execution ${executionId} ${execution?.executionState ?? 'done'}: ${describeSteps(progress)}`);
  const traffic = progress.planSteps.get(FAILBACK_STEP_NAMES.traffic);
  if (traffic?.status !== 'completed') {
    throw new OpsError('unhealthy', `the plan's ${FAILBACK_STEP_NAMES.traffic} step is '${traffic?.status ?? 'missing'}', not completed: ${domain.apiDomainName} may still point at ${s}`);
  }
  const after = await healthChecks(ctx, plan.arn);
  if (after.primary?.status !== 'healthy') {
    throw new OpsError(
      'unhealthy',
      `the execution completed, but ARC reports ${describeChecks(ctx, after)}: Route 53 does not answer ${domain.apiDomainName} with ${p} yet. Run npm run ops -- dr status --env ${env} in a minute, and this command again if it persists`,
    );
  }
  ctx.progress.log(`${domain.apiDomainName} is back on ${p}: ${describeChecks(ctx, after)}. Next: dig ${domain.apiDomainName}; npm run ops -- dr status --env ${env}; return the standby to pilot light (npm run ops -- dr failback --env ${env}, the steps after this one)`);
  return ExitCode.OK;
}

/** ARC's health checks of the api record, by the region whose record carries each. */
async function healthChecks(ctx: OpsContext, planArn: string): Promise<{ primary?: Route53HealthCheck; standby?: Route53HealthCheck }> {
  const domain = ctx.config.domain!;
  const checks = await awsCall(ctx, 'primary', 'arc-region-switch:ListRoute53HealthChecksInRegion', `Region switch plan ${planArn}`, () =>
    ctx.clients.primary.regionSwitch.listRoute53HealthChecksInRegion(planArn, { hostedZoneId: domain.hostedZoneId, recordName: domain.apiDomainName }),
  );
  return { primary: checks.find((c) => c.region === ctx.config.primary.region), standby: checks.find((c) => c.region === ctx.config.standby.region) };
}

function describeChecks(ctx: OpsContext, checks: { primary?: Route53HealthCheck; standby?: Route53HealthCheck }): string {
  const one = (region: string, c?: Route53HealthCheck) => `${region} ${c ? `${c.healthCheckId ?? 'unallocated'} ${c.status ?? 'unknown'}` : 'no check'}`;
  return `${one(ctx.config.primary.region, checks.primary)}, ${one(ctx.config.standby.region, checks.standby)}`;
}

/** ARC refused to start the execution: say what ARC refused and that nothing started. */
function refusedStart(ctx: OpsContext, plan: Plan, error: unknown): OpsError {
  const p = ctx.config.primary.region;
  const name = error instanceof OpsError ? errorName(error.cause) : errorName(error);
  const said = (error instanceof OpsError ? (error.cause as Error | undefined)?.message : (error as Error | undefined)?.message) ?? String(error);
  if (name === 'IllegalStateException') {
    return new OpsError(
      'conflict',
      `ARC refused to start the failback execution of ${plan.arn}: the plan is in a state that allows no new execution (${said}), most likely another execution started meanwhile. Let it end (or cancel it) in the ARC console of ${p}, then run this again; nothing was started`,
      { cause: error },
    );
  }
  if (name === 'IllegalArgumentException') {
    return new OpsError(
      'aws',
      `ARC refused StartPlanExecution for ${plan.arn} (action activate, targetRegion ${p}, mode graceful): ${said}. The plan must have a workflow that activates ${p} and accept a graceful execution: deploy ${stackNames.standby(ctx.env)}; nothing was started`,
      { cause: error },
    );
  }
  return error instanceof OpsError ? error : new OpsError('aws', `StartPlanExecution for ${plan.arn} failed: ${said}; nothing was started`, { cause: error });
}
