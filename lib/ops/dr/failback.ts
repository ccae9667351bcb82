import { bucketName, clusterName, databaseInstanceIdentifier, ecsServiceName, replicaInstanceIdentifier, SERVICE_NAMES, stackNames } from '../../naming';
import type { OpsContext } from '../context';
import { ExitCode } from '../exit-codes';
import { REPLICATED_BUCKET_PURPOSES } from './status';

/**
 * `ops dr failback`: prints the ordered steps back to the primary region. It
 * changes nothing: failback rewrites the primary database from the promoted
 * standby, which needs a planned write freeze and a person watching, not a
 * script run under pressure.
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
    `Bring the primary back: npx cdk deploy ${stackNames.application(env)} (it reconciles the database, services and alarms of ${p.region}), then npm run ops -- verify --env ${env}.`,
    config.domain
      ? `Move traffic back: release the hold on the PRIMARY health check of ${config.domain.apiDomainName} (aws route53 update-health-check --health-check-id <the ApiFailover calculated check> --health-threshold 1; the deploy above also resets it); Route 53 answers with the PRIMARY record once the ${p.region} api has a healthy target; confirm with dig ${config.domain.apiDomainName}.`
      : `Move traffic back: point CloudFront's api origin at the ${p.region} load balancer again (no domain is configured; the deploy above does it).`,
    `Return the standby to pilot light (a deploy of ${stackNames.standby(env)} does not: its template did not change): for each of ${services} in cluster ${clusterName(env)} (${s.region}), aws application-autoscaling register-scalable-target --region ${s.region} --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/${clusterName(env)}/<service> --min-capacity 0 --suspended-state DynamicScalingInSuspended=true,DynamicScalingOutSuspended=true,ScheduledScalingSuspended=true, then aws ecs update-service --region ${s.region} --cluster ${clusterName(env)} --service <service> --desired-count 0; rename/retire the promoted ${promoted} after a final snapshot.`,
    `Recreate the standby replica: npx cdk deploy ${stackNames.standby(env)} (it creates ${promoted} again as a read replica of ${primaryDb}); then npm run ops -- dr status --env ${env} must report ready.`,
    `Write up the failback in the drill report next to reports/dr-${env}-<timestamp>.md: duration, write-freeze length, objects copied back.`,
  ];
}

export function runFailback(ctx: OpsContext): { exitCode: ExitCode; steps: string[] } {
  const steps = failbackSteps(ctx);
  ctx.progress.plain(`Failback of ${ctx.env}: ${ctx.config.standby.region} → ${ctx.config.primary.region}. Guidance only: this command changes nothing.`);
  steps.forEach((step, i) => ctx.progress.plain(`  ${String(i + 1).padStart(2)}. ${step}`));
  return { exitCode: ExitCode.OK, steps };
}
