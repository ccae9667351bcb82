import { DescribeSecretCommand, type DescribeSecretCommandOutput } from '@aws-sdk/client-secrets-manager';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext, type Side } from '../context';
import { fail, ok, type PreflightCheck } from './check';

/**
 * The Sentry DSN secret every task reads at start (`sentry.dsnSecretName`):
 * it must exist in the primary region with a current value, and be replicated
 * to the standby region, whose pilot-light tasks read it by the same name.
 * A secret created without a value has no version, and ECS cannot start a
 * task whose secret it cannot read.
 */

async function describeSecret(ctx: OpsContext, side: Side, name: string): Promise<DescribeSecretCommandOutput | undefined> {
  try {
    return await awsCall(ctx, side, 'secretsmanager:DescribeSecret', `secret ${name}`, () => ctx.clients[side].secretsManager.send(new DescribeSecretCommand({ SecretId: name })));
  } catch (error) {
    if (error instanceof OpsError && error.kind === 'not-found') return undefined;
    throw error;
  }
}

export async function checkSentrySecret(ctx: OpsContext): Promise<PreflightCheck[]> {
  const { primary, standby } = ctx.config;
  const secretName = ctx.config.sentry.dsnSecretName;
  const createFix = `aws secretsmanager create-secret --name ${secretName} --secret-string "<the DSN of Sentry project ${ctx.config.sentry.project}>" --add-replica-regions Region=${standby.region} --region ${primary.region}`;
  const replicateFix = `aws secretsmanager replicate-secret-to-regions --secret-id ${secretName} --add-replica-regions Region=${standby.region} --region ${primary.region}`;
  const primaryName = `secret ${secretName} (${primary.region})`;
  const replicaName = `secret ${secretName} (${standby.region} replica)`;

  const secret = await describeSecret(ctx, 'primary', secretName);
  if (!secret) {
    return [fail('secrets', primaryName, 'missing: ECS cannot start a task that reads it', createFix), fail('secrets', replicaName, 'missing with its primary', createFix)];
  }
  const checks: PreflightCheck[] = [];
  const current = Object.values(secret.VersionIdsToStages ?? {}).some((stages) => stages.includes('AWSCURRENT'));
  if (secret.DeletedDate) {
    checks.push(fail('secrets', primaryName, `scheduled for deletion on ${secret.DeletedDate.toISOString()}`, `aws secretsmanager restore-secret --secret-id ${secretName} --region ${primary.region}`));
  } else if (!current) {
    checks.push(
      fail('secrets', primaryName, 'exists without a value (no AWSCURRENT version): tasks would fail to start', `aws secretsmanager put-secret-value --secret-id ${secretName} --secret-string "<the DSN>" --region ${primary.region}`),
    );
  } else {
    checks.push(ok('secrets', primaryName, 'has a current value'));
  }

  const replication = secret.ReplicationStatus?.find((r) => r.Region === standby.region);
  if (!replication) {
    checks.push(fail('secrets', replicaName, `not replicated to ${standby.region}: the standby's tasks could not start after a failover`, replicateFix));
    return checks;
  }
  if (replication.Status !== 'InSync') {
    checks.push(
      fail(
        'secrets',
        replicaName,
        `replication ${replication.Status ?? 'unknown'}${replication.StatusMessage ? `: ${replication.StatusMessage}` : ''}`,
        replication.Status === 'InProgress'
          ? 'wait a minute and run preflight again'
          : `remove the secret of the same name in ${standby.region} (or pass --force-overwrite-replica-secret), then: ${replicateFix}`,
      ),
    );
    return checks;
  }
  const replica = await describeSecret(ctx, 'standby', secretName);
  checks.push(
    replica && replica.PrimaryRegion === primary.region
      ? ok('secrets', replicaName, `InSync, a replica of ${primary.region}`)
      : fail('secrets', replicaName, replica ? `exists, but as a replica of ${replica.PrimaryRegion ?? 'no primary (a separate secret)'}` : `reported InSync, but not found in ${standby.region}`, replicateFix),
  );
  return checks;
}
