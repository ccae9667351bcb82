import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { GetBucketReplicationCommand } from '@aws-sdk/client-s3';
import { bucketName, REPLICATED_BUCKET_PURPOSES, REPLICATION_RULE_ID, replicaInstanceIdentifier, stackNames } from '../../naming';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';
import { latestMetric, metricPoints } from '../metrics';
import { formatDuration } from '../progress';
import { describeMarker, readMarker } from './marker';
import { planInRegion } from './plan-execution';
import { describeStepShapes, expectedFailbackSteps, expectedFailoverSteps, failbackWorkflow, failoverWorkflow, type StepShape } from './plan-workflows';
import type { Plan, PlanWorkflow } from './region-switch-client';
import {
  describeReplica,
  describeScalableTargets,
  describeStandbyServices,
  describeTargetGroups,
  isReadReplica,
  latestReplicaLag,
  replicationStatus,
  scalableResourceId,
  targetGroupArnsOf,
} from './standby';

/**
 * `ops dr status`: could we fail over right now, and how much data would we lose?
 *
 * Read-only. A missing standby resource is a finding of this report (shown as
 * FAIL, exit 1), not an abort, and so is a region that does not answer: in a
 * us-east-1 outage the checks read there (bucket replication, the api's
 * records in Route 53's control plane) fail and the rest, read in the
 * recovery region, is still reported. Access-denied and credential errors
 * still abort with exit 4, because then we know nothing.
 */

/** Above this replica lag a failover would lose more than five minutes of writes: reported as a failure. */
export const MAX_HEALTHY_REPLICA_LAG_SECONDS = 300;
/** S3 Replication Time Control promises 15 minutes; a latency above that is a failure. */
export const MAX_HEALTHY_REPLICATION_LATENCY_SECONDS = 900;
/**
 * The primary buckets that replicate to the standby region and the id of their
 * replication rule: defined in lib/naming.ts, which the data stack also reads,
 * so the CLI checks exactly the rules the stacks create.
 */
export { REPLICATED_BUCKET_PURPOSES, REPLICATION_RULE_ID } from '../../naming';

export interface DrCheck {
  readonly area: 'database' | 'storage' | 'standby' | 'plan';
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface DrStatusResult {
  readonly exitCode: ExitCode;
  readonly checks: DrCheck[];
}

/** Runs a check; a missing resource or an unreachable region becomes a failed check so the report still covers everything else. */
async function guarded(area: DrCheck['area'], name: string, fn: () => Promise<DrCheck[]>): Promise<DrCheck[]> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof OpsError && (error.kind === 'not-found' || error.kind === 'network')) return [{ area, name, ok: false, detail: error.message }];
    throw error;
  }
}

export async function checkReplica(ctx: OpsContext): Promise<DrCheck[]> {
  const id = replicaInstanceIdentifier(ctx.env);
  return guarded('database', `replica ${id}`, async () => {
    const replica = await describeReplica(ctx);
    const status = replica.DBInstanceStatus ?? 'unknown';
    const replication = replicationStatus(replica) ?? 'unknown';
    const checks: DrCheck[] = [
      { area: 'database', name: `replica ${id} status`, ok: status === 'available', detail: status },
      isReadReplica(replica)
        ? {
            area: 'database',
            name: `replica ${id} replication`,
            ok: replication === 'replicating',
            detail: `${replication} from ${replica.ReadReplicaSourceDBInstanceIdentifier}`,
          }
        : { area: 'database', name: `replica ${id} replication`, ok: false, detail: 'not a read replica (already promoted?)' },
    ];
    const lag = await latestReplicaLag(ctx);
    checks.push(
      lag
        ? {
            area: 'database',
            name: `replica ${id} lag`,
            ok: lag.value <= MAX_HEALTHY_REPLICA_LAG_SECONDS,
            detail: `${lag.value}s at ${lag.timestamp.toISOString()} (last replicated ≈ ${new Date(lag.timestamp.getTime() - lag.value * 1000).toISOString()}; limit ${MAX_HEALTHY_REPLICA_LAG_SECONDS}s)`,
          }
        : { area: 'database', name: `replica ${id} lag`, ok: false, detail: 'no ReplicaLag datapoint in the last 15 minutes' },
    );
    return checks;
  });
}

export async function checkBucketReplication(ctx: OpsContext): Promise<DrCheck[]> {
  const { primary, standby } = ctx.config;
  const checks: DrCheck[] = [];
  for (const purpose of REPLICATED_BUCKET_PURPOSES) {
    const source = bucketName(ctx.env, purpose, primary.account, primary.region);
    const destination = bucketName(ctx.env, purpose, standby.account, standby.region);
    checks.push(
      ...(await guarded('storage', `bucket ${source} replication`, async () => {
        const config = await awsCall(ctx, 'primary', 's3:GetReplicationConfiguration', `bucket ${source}`, () =>
          ctx.clients.primary.s3.send(new GetBucketReplicationCommand({ Bucket: source })),
        );
        const rule = config.ReplicationConfiguration?.Rules?.find((r) => r.ID === REPLICATION_RULE_ID);
        const ruleOk = rule?.Status === 'Enabled' && rule.Destination?.Bucket === `arn:aws:s3:::${destination}`;
        const ruleCheck: DrCheck = {
          area: 'storage',
          name: `bucket ${source} rule ${REPLICATION_RULE_ID}`,
          ok: ruleOk,
          detail: rule
            ? `${rule.Status} → ${rule.Destination?.Bucket ?? 'no destination'}${ruleOk ? '' : ` (expected Enabled → arn:aws:s3:::${destination})`}`
            : `no rule ${REPLICATION_RULE_ID}`,
        };
        const dimensions = { SourceBucket: source, DestinationBucket: destination, RuleId: REPLICATION_RULE_ID };
        const failed = await metricPoints(ctx, 'primary', {
          namespace: 'AWS/S3',
          metricName: 'OperationsFailedReplication',
          dimensions,
          stat: 'Sum',
          lookbackMinutes: 60,
          periodSeconds: 300,
        });
        const failedCount = failed.reduce((sum, p) => sum + p.value, 0);
        const latency = await latestMetric(ctx, 'primary', {
          namespace: 'AWS/S3',
          metricName: 'ReplicationLatency',
          dimensions,
          stat: 'Maximum',
          lookbackMinutes: 60,
          periodSeconds: 300,
        });
        return [
          ruleCheck,
          { area: 'storage', name: `bucket ${source} failed replications`, ok: failedCount === 0, detail: `${failedCount} in the last hour` },
          {
            area: 'storage',
            name: `bucket ${source} replication latency`,
            // No datapoint means no writes in the last hour: nothing is waiting to replicate.
            ok: !latency || latency.value <= MAX_HEALTHY_REPLICATION_LATENCY_SECONDS,
            detail: latency ? `${formatDuration(latency.value * 1000)} (limit ${formatDuration(MAX_HEALTHY_REPLICATION_LATENCY_SECONDS * 1000)})` : 'no data in the last hour (no recent writes)',
          },
        ];
      })),
    );
  }
  return checks;
}

export async function checkStandbyServices(ctx: OpsContext): Promise<DrCheck[]> {
  return guarded('standby', `standby services in ${ctx.config.standby.region}`, async () => {
    const services = await describeStandbyServices(ctx);
    const scalable = await describeScalableTargets(ctx);
    const checks: DrCheck[] = [];
    for (const s of services) {
      if (!s.details) {
        checks.push({ area: 'standby', name: `service ${s.ecsName}`, ok: false, detail: `missing in the standby cluster (${ctx.config.standby.region})` });
        continue;
      }
      const desired = s.details.desiredCount ?? 0;
      checks.push({
        area: 'standby',
        name: `service ${s.ecsName}`,
        ok: s.details.status === 'ACTIVE',
        detail: `${s.details.status}, desired ${desired}, running ${s.details.runningCount ?? 0}${desired === 0 ? ' (pilot light)' : ' (scaled up: failover in progress or done?)'}`,
      });
      const target = scalable.get(scalableResourceId(ctx, s.service));
      checks.push({
        area: 'standby',
        name: `service ${s.ecsName} scalable`,
        ok: Boolean(target),
        detail: target
          ? `registered, min ${target.min}, max ${target.max}${target.max === 0 ? ' (pilot light: dr failover opens it)' : ' (opened: failover in progress or done?)'}`
          : 'no Application Auto Scaling target registered',
      });
      const arns = targetGroupArnsOf(s);
      const groups = (await describeTargetGroups(ctx, arns)).filter((g) => arns.includes(g.arn));
      checks.push({
        area: 'standby',
        name: `service ${s.ecsName} target groups`,
        ok: arns.length > 0 && groups.length === arns.length,
        detail: arns.length === 0 ? 'the service has no load balancer target group' : `${groups.length}/${arns.length} present: ${groups.map((g) => g.name).join(', ')}`,
      });
    }
    return checks;
  });
}

/**
 * The environment is not failed over; the Region switch plan exists in the
 * recovery region, ARC's last evaluation found nothing to fix, and it has the
 * workflows the DR commands run (`checkPlanWorkflows`). The plan is read once,
 * with ARC's data-plane calls of the recovery region (ListPlansInRegion,
 * GetPlanInRegion), the region that answers in the outage a failover is for:
 * GetPlan, the control-plane read, is no data-plane operation ("Get a plan ...
 * Data plane API: No", ARC developer guide, Region switch API operations) and
 * the SDKs send it to the control plane in us-east-1 whatever region the
 * client is in. Returned for the checks that need it; undefined when missing.
 */
export async function checkFailoverPlan(ctx: OpsContext): Promise<{ checks: DrCheck[]; plan?: Plan }> {
  const marker = await readMarker(ctx);
  const checks: DrCheck[] = [{ area: 'plan', name: 'failed-over marker', ok: !marker.present, detail: describeMarker(marker) }];
  const read: { plan?: Plan } = {};
  checks.push(
    ...(await guarded('plan', `Region switch plan in ${ctx.config.standby.region}`, async () => {
      const { plan } = await planInRegion(ctx, 'standby');
      read.plan = plan;
      const evaluation = await awsCall(ctx, 'standby', 'arc-region-switch:GetPlanEvaluationStatus', `Region switch plan ${plan.arn}`, () =>
        ctx.clients.standby.regionSwitch.getPlanEvaluationStatus(plan.arn),
      );
      const warnings = evaluation.warnings.filter((w) => w.warningStatus !== 'resolved');
      const state = evaluation.evaluationState ?? 'unknown';
      return [
        { area: 'plan', name: `plan ${plan.name}`, ok: true, detail: `${plan.arn}, version ${plan.version ?? 'unknown'}, RTO ${plan.recoveryTimeObjectiveMinutes ?? '?'} min` },
        {
          area: 'plan',
          name: `plan ${plan.name} evaluation`,
          // ARC evaluates a plan every 30 minutes; a plan just deployed is pending, which is not a finding.
          ok: (state === 'passed' || state === 'pendingEvaluation') && warnings.length === 0,
          detail: `${state}${evaluation.lastEvaluationTime ? ` at ${evaluation.lastEvaluationTime.toISOString()}` : ''}${warnings.map((w) => `; ${w.stepName ? `${w.stepName}: ` : ''}${w.warningMessage ?? ''}`).join('')}`,
        },
        ...checkPlanWorkflows(ctx, plan),
      ];
    })),
  );
  return { checks, plan: read.plan };
}

/**
 * The workflows a drill runs, each found the way its command finds it and
 * holding the steps the standby stack deploys: the failover (activates the
 * recovery region: `dr failover`) always; the failback (activates the primary
 * region, traffic only: `dr failback --move-traffic`) with a domain, and none
 * without one. A plan deployed by an older standby stack, or changed by hand,
 * fails here in calm times rather than when ARC refuses to start it.
 */
export function checkPlanWorkflows(ctx: OpsContext, plan: Plan): DrCheck[] {
  const { env, config } = ctx;
  const deploy = `deploy ${stackNames.standby(env)} (refused while failed over) to restore the plan`;
  const failover = workflowCheck(
    `plan ${plan.name} failover workflow (activate ${config.standby.region})`,
    failoverWorkflow(ctx, plan),
    expectedFailoverSteps(ctx),
    `no workflow activates ${config.standby.region}: ARC cannot start the failover (dr failover, the drills); ${deploy}`,
    deploy,
  );
  const name = `plan ${plan.name} failback workflow (activate ${config.primary.region})`;
  const expected = expectedFailbackSteps(ctx);
  const workflow = failbackWorkflow(ctx, plan);
  if (!expected) {
    return [
      failover,
      workflow
        ? { area: 'plan', name, ok: false, detail: `unexpected: ${env} has no domain, so its standby stack deploys no failback workflow, but the plan has one (${describeStepShapes(workflow.steps)}): the plan is not the one ${stackNames.standby(env)} deploys; ${deploy}` }
        : { area: 'plan', name, ok: true, detail: `none, as deployed without a domain: the api's traffic never leaves CloudFront's ${config.primary.region} origin (runbooks/disaster-recovery.md, "Api failover without a domain")` },
    ];
  }
  return [
    failover,
    workflowCheck(name, workflow, expected, `no workflow activates ${config.primary.region}: dr failback --move-traffic cannot move ${config.domain!.apiDomainName} back after a failover; ${deploy}`, deploy),
  ];
}

function workflowCheck(name: string, workflow: PlanWorkflow | undefined, expected: readonly StepShape[], missing: string, fix: string): DrCheck {
  if (!workflow) return { area: 'plan', name, ok: false, detail: `missing: ${missing}` };
  const actual = describeStepShapes(workflow.steps);
  const wanted = describeStepShapes(expected);
  return actual === wanted
    ? { area: 'plan', name, ok: true, detail: actual }
    : { area: 'plan', name, ok: false, detail: `steps ${actual}, but the standby stack deploys ${wanted} (constructs/region-switch-plan.ts); ${fix}` };
}

/**
 * With a domain: the api's failover records carry the health checks that the
 * plan's Route53HealthCheck step sets, each the check ARC created for that
 * record's region. ARC creates the checks and the records must name them; a
 * record without them, or with the other region's, means the plan's traffic
 * step would move nothing, or move it the wrong way. Route 53's records are read
 * from its control plane (us-east-1): a readiness check of calm times.
 */
export async function checkTrafficHealthChecks(ctx: OpsContext, plan: Plan): Promise<DrCheck[]> {
  const domain = ctx.config.domain;
  if (!domain) return [];
  const name = `failover records of ${domain.apiDomainName}`;
  return guarded('plan', name, async () => {
    const arcChecks = await awsCall(ctx, 'standby', 'arc-region-switch:ListRoute53HealthChecksInRegion', `Region switch plan ${plan.arn}`, () =>
      ctx.clients.standby.regionSwitch.listRoute53HealthChecksInRegion(plan.arn, { hostedZoneId: domain.hostedZoneId, recordName: domain.apiDomainName }),
    );
    const recordName = `${domain.apiDomainName.replace(/\.$/, '')}.`;
    const response = await awsCall(ctx, 'primary', 'route53:ListResourceRecordSets', `records ${domain.apiDomainName} in hosted zone ${domain.hostedZoneId}`, () =>
      ctx.clients.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: domain.hostedZoneId, StartRecordName: recordName, MaxItems: 10 })),
    );
    const records = (response.ResourceRecordSets ?? []).filter((r) => r.Name === recordName);
    return (
      [
        ['PRIMARY', ctx.config.primary.region],
        ['SECONDARY', ctx.config.standby.region],
      ] as const
    ).map(([role, region]): DrCheck => {
      const expected = arcChecks.find((c) => c.region === region)?.healthCheckId;
      const record = records.find((r) => r.Failover === role);
      const check = `${role} record of ${domain.apiDomainName} (${region})`;
      if (!expected) return { area: 'plan', name: check, ok: false, detail: `the plan has no Route 53 health check for ${region} (not allocated yet, or no switch-traffic step): its traffic step cannot move ${domain.apiDomainName}` };
      if (!record) return { area: 'plan', name: check, ok: false, detail: `no ${role} failover record in zone ${domain.hostedZoneId}` };
      const ok = record.HealthCheckId === expected;
      return {
        area: 'plan',
        name: check,
        ok,
        detail: ok
          ? `health check ${expected}, ARC's check for ${region}`
          : `carries ${record.HealthCheckId ? `health check ${record.HealthCheckId}` : 'no health check'}, but ARC's check for ${region} is ${expected}: the plan's traffic step would not move it (the records must name the plan's checks: constructs/region-switch-plan.ts healthCheckIds(); runbooks/disaster-recovery.md)`,
      };
    });
  });
}

export async function runDrStatus(ctx: OpsContext): Promise<DrStatusResult> {
  await checkIdentity(ctx, 'standby');
  ctx.progress.log(`DR status of ${ctx.env}: primary ${ctx.config.primary.region}, standby ${ctx.config.standby.region}`);
  const plan = await checkFailoverPlan(ctx);
  const checks = [
    ...plan.checks,
    // Without the plan there are no ARC health checks to compare the records with: its own line says why.
    ...(plan.plan ? await checkTrafficHealthChecks(ctx, plan.plan) : []),
    ...(await checkReplica(ctx)),
    ...(await checkBucketReplication(ctx)),
    ...(await checkStandbyServices(ctx)),
  ];
  for (const area of ['plan', 'database', 'storage', 'standby'] as const) {
    ctx.progress.plain(`${area}:`);
    for (const c of checks.filter((x) => x.area === area)) ctx.progress.plain(`  ${c.ok ? 'OK  ' : 'FAIL'}  ${c.name}: ${c.detail}`);
  }
  const failing = checks.filter((c) => !c.ok);
  if (failing.length > 0) {
    ctx.out.error(`DR status of ${ctx.env}: ${failing.length} problem(s): ${failing.map((c) => c.name).join('; ')}`);
    return { exitCode: ExitCode.UNHEALTHY, checks };
  }
  ctx.progress.log(`DR status of ${ctx.env}: ready to fail over`);
  return { exitCode: ExitCode.OK, checks };
}
