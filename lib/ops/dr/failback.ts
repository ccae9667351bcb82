import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { bucketName, clusterName, databaseInstanceIdentifier, ecsServiceName, failedOverMarkerName, regionSwitchPlanName, replicaInstanceIdentifier, SERVICE_NAMES, stackNames } from '../../naming';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import { ExitCode } from '../exit-codes';
import { checkIdentity } from '../identity';
import { deleteMarker, describeMarker, readMarker } from './marker';
import { REPLICATED_BUCKET_PURPOSES } from './status';

/**
 * `ops dr failback`: prints the ordered steps back to the primary region. It
 * changes nothing but, with `--execute --confirm <env>`, the failed-over
 * marker: failback rewrites the primary database from the promoted standby,
 * which needs a planned write freeze and a person watching, not a script run
 * under pressure. The marker is cleared only once the primary region's
 * database is a writable primary again, because clearing it lets the pipeline
 * deploy the environment (and recreate the standby replica).
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
    `Re-establish replication towards the primary region: create a cross-region read replica of ${promoted} in ${p.region} named ${primaryDb} (aws rds create-db-instance-read-replica --region ${p.region} --db-instance-identifier ${primaryDb} --source-db-instance-identifier arn:aws:rds:${s.region}:${s.account}:db:${promoted} --kms-key-id <alias/bodyscript-${env}/database in ${p.region}>), and wait until its ReplicaLag is near 0.`,
    `Copy back the objects written during the failover: for ${REPLICATED_BUCKET_PURPOSES.filter((x) => x !== 'frontend')
      .map((x) => bucketName(env, x, s.account, s.region))
      .join(', ')} run S3 Batch Replication (or aws s3 sync) into the matching ${p.region} buckets, and check OperationsFailedReplication is 0.`,
    `Start the write freeze: put the api in maintenance and scale the processing service in ${s.region} to 0 (messages wait in the queue). Wait until the new replica's ReplicaLag is 0.`,
    `Promote the replica in ${p.region}: aws rds promote-read-replica --region ${p.region} --db-instance-identifier ${primaryDb} --backup-retention-period ${config.database.backupRetentionDays}; wait until available.`,
    `Clear the failed-over marker (${failedOverMarkerName(env)} in ${s.region}), which until now refused every deploy of ${env}: npm run ops -- dr failback --env ${env} --execute --confirm ${env} (it checks that ${primaryDb} in ${p.region} is a writable primary first).`,
    `Bring the primary back: npx cdk deploy ${stackNames.application(env)} (it reconciles the database, services and alarms of ${p.region}), then npm run ops -- verify --env ${env}.`,
    config.domain
      ? `Move traffic back: the failover pair of ${config.domain.apiDomainName} (in ${stackNames.standby(env)}) carries the Route 53 health checks of the Region switch plan ${regionSwitchPlanName(env)}, which only ARC sets: the failover's execution left the ${p.region} check unhealthy, so Route 53 keeps answering with ${s.region} (no automatic failback), and neither the deploy above nor any Route 53 call changes an ARC check. Traffic returns when an execution of the plan activates ${p.region}; the plan has only the workflow that activates ${s.region} today, so moving the api back needs a workflow that activates ${p.region} first (runbooks/disaster-recovery.md, "Traffic after a failover"). Then confirm with dig ${config.domain.apiDomainName} and npm run ops -- dr status --env ${env} (each record still carries its own region's check).`
      : `Traffic: without a domain the api's traffic never left CloudFront's ${p.region} origin (ops dr failover does not move it); if someone changed the origin by hand, the deploy above restores it.`,
    `Return the standby to pilot light (a deploy of ${stackNames.standby(env)} does not: the template never re-applies the bounds): for each of ${services} in cluster ${clusterName(env)} (${s.region}), aws application-autoscaling register-scalable-target --region ${s.region} --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/${clusterName(env)}/<service> --min-capacity 0 --max-capacity 0 (the pilot light's bounds; Application Auto Scaling brings the running count into them).`,
    `Retire the promoted ${promoted}: it is retained by its stack, which knows it by its identifier. Snapshot it (aws rds create-db-snapshot --region ${s.region} --db-instance-identifier ${promoted} --db-snapshot-identifier ${promoted}-retired-<date>), then rename it out of the way: aws rds modify-db-instance --region ${s.region} --db-instance-identifier ${promoted} --new-db-instance-identifier ${promoted}-retired-<date> --apply-immediately (delete it later, after turning off its deletion protection).`,
    `Recreate the standby replica under its identifier, so that ${stackNames.standby(env)} manages it again: aws rds create-db-instance-read-replica --region ${s.region} --db-instance-identifier ${promoted} --source-db-instance-identifier arn:aws:rds:${p.region}:${p.account}:db:${primaryDb} --kms-key-id <alias/bodyscript-${env}/standby-database> --db-subnet-group-name <the Standby stack's replica subnet group> --vpc-security-group-ids <its security group> --db-parameter-group-name <its parameter group> --db-instance-class db.${config.database.instanceClass}${config.database.multiAz ? ' --multi-az' : ''} --max-allocated-storage ${config.database.maxAllocatedStorageGiB} --port 5433 --deletion-protection; wait until available, then npx cdk deploy ${stackNames.standby(env)} (it reconciles the rest) and npm run ops -- dr status --env ${env} must report ready.`,
    `Write up the failback in the drill report next to reports/dr-${env}-<timestamp>.md: duration, write-freeze length, objects copied back.`,
  ];
}

export interface FailbackOptions {
  /** Clear the failed-over marker (after checking the primary database). */
  readonly execute: boolean;
  /** Must equal the environment name with --execute. */
  readonly confirm?: string;
}

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
        `finish the failback steps up to its promotion first (npm run ops -- dr failback --env ${ctx.env}); the marker stays and deploys stay refused`,
    );
  }
  await deleteMarker(ctx);
  ctx.progress.log(`${failedOverMarkerName(ctx.env)} deleted: deploys of ${ctx.env} are allowed again. Next: npx cdk deploy ${stackNames.application(ctx.env)}`);
  return ExitCode.OK;
}
