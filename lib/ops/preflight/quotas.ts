import { type Address, DescribeAddressesCommand, paginateDescribeVpcs, type Tag, type Vpc } from '@aws-sdk/client-ec2';
import { DescribeAccountAttributesCommand } from '@aws-sdk/client-rds';
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import { databaseInstanceIdentifier, resourcePrefix } from '../../naming';
import { isNotFound, OpsError } from '../aws-errors';
import { awsCall, type OpsContext, type Side } from '../context';
import { fail, ok, type PreflightCheck } from './check';

/**
 * Account limits a deploy runs into. Elastic IPs (one per NAT gateway) and
 * VPCs are regional quotas; a new environment needs `network.natGateways`
 * addresses and one VPC in each region, minus what it already has (found by
 * the `Project`/`Environment` tags the app puts on everything). Manual DB
 * snapshots are an account quota in the primary region: every production
 * release takes one (`ops snapshot`), and at the limit CreateDBSnapshot is
 * refused (SnapshotQuotaExceeded) and nothing is deployed.
 */

/** Service Quotas codes (`aws service-quotas list-service-quotas`): "EC2-VPC Elastic IPs" and "VPCs per Region". */
export const ELASTIC_IP_QUOTA = { serviceCode: 'ec2', quotaCode: 'L-0263D0A3', name: 'EC2-VPC Elastic IPs' } as const;
export const VPC_QUOTA = { serviceCode: 'vpc', quotaCode: 'L-F678F1CE', name: 'VPCs per Region' } as const;
/** The RDS account quota of manual DB instance snapshots (DescribeAccountAttributes). */
export const MANUAL_SNAPSHOTS_QUOTA = 'ManualSnapshots';
/** A release takes one manual snapshot. */
export const SNAPSHOTS_PER_RELEASE = 1;

function isOurs(tags: Tag[] | undefined, env: string): boolean {
  const value = (key: string) => tags?.find((t) => t.Key === key)?.Value;
  return value('Project') === 'BodyScript' && value('Environment') === env;
}

/**
 * The applied value of a quota; GetServiceQuota answers NoSuchResourceException
 * for a quota that has no applied value ("If the applied quota value is not
 * available for a quota, the quota is not retrieved"), and then the AWS default applies.
 */
async function quotaValue(ctx: OpsContext, side: Side, quota: { serviceCode: string; quotaCode: string; name: string }): Promise<number> {
  const region = ctx.config[side].region;
  const client = ctx.clients[side].serviceQuotas;
  const applied = await awsCall(ctx, side, 'servicequotas:GetServiceQuota', `quota ${quota.serviceCode}/${quota.quotaCode} (${quota.name})`, async () => {
    try {
      return (await client.send(new GetServiceQuotaCommand({ ServiceCode: quota.serviceCode, QuotaCode: quota.quotaCode }))).Quota?.Value;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  });
  if (applied !== undefined) return applied;
  const fallback = await awsCall(ctx, side, 'servicequotas:GetAWSDefaultServiceQuota', `quota ${quota.serviceCode}/${quota.quotaCode} (${quota.name})`, () =>
    client.send(new GetAWSDefaultServiceQuotaCommand({ ServiceCode: quota.serviceCode, QuotaCode: quota.quotaCode })),
  );
  if (fallback.Quota?.Value === undefined) throw new OpsError('aws', `Service Quotas returned no value for ${quota.serviceCode}/${quota.quotaCode} (${quota.name}) in ${region}`);
  return fallback.Quota.Value;
}

function quotaFix(quota: { serviceCode: string; quotaCode: string }, region: string, desired: number): string {
  return `aws service-quotas request-service-quota-increase --service-code ${quota.serviceCode} --quota-code ${quota.quotaCode} --desired-value ${desired} --region ${region} (or release unused ones)`;
}

async function checkRegion(ctx: OpsContext, side: Side): Promise<PreflightCheck[]> {
  const { region } = ctx.config[side];
  const addresses: Address[] =
    (await awsCall(ctx, side, 'ec2:DescribeAddresses', `Elastic IP addresses`, () => ctx.clients[side].ec2.send(new DescribeAddressesCommand({})))).Addresses ?? [];
  const vpcs: Vpc[] = await awsCall(ctx, side, 'ec2:DescribeVpcs', `VPCs`, async () => {
    const all: Vpc[] = [];
    for await (const page of paginateDescribeVpcs({ client: ctx.clients[side].ec2 }, {})) all.push(...(page.Vpcs ?? []));
    return all;
  });
  const ipLimit = await quotaValue(ctx, side, ELASTIC_IP_QUOTA);
  const vpcLimit = await quotaValue(ctx, side, VPC_QUOTA);

  const natGateways = ctx.config.network.natGateways;
  const ourAddresses = addresses.filter((a) => isOurs(a.Tags, ctx.env)).length;
  const newAddresses = Math.max(0, natGateways - ourAddresses);
  const ourVpcs = vpcs.filter((v) => isOurs(v.Tags, ctx.env)).length;
  const newVpcs = ourVpcs > 0 ? 0 : 1;
  const ipName = `Elastic IPs in ${region}`;
  const vpcName = `VPCs in ${region}`;
  return [
    addresses.length + newAddresses <= ipLimit
      ? ok('quotas', ipName, `${addresses.length} of ${ipLimit} used (${ourAddresses} ${ctx.env}); ${newAddresses} more needed for ${natGateways} NAT gateway(s)`)
      : fail(
          'quotas',
          ipName,
          `${addresses.length} of ${ipLimit} used, ${newAddresses} more needed for ${natGateways} NAT gateway(s): the network would fail with AddressLimitExceeded`,
          quotaFix(ELASTIC_IP_QUOTA, region, addresses.length + newAddresses),
        ),
    vpcs.length + newVpcs <= vpcLimit
      ? ok('quotas', vpcName, `${vpcs.length} of ${vpcLimit} used (${ourVpcs} ${ctx.env}); ${newVpcs} more needed`)
      : fail('quotas', vpcName, `${vpcs.length} of ${vpcLimit} used, ${newVpcs} more needed: the network would fail with VpcLimitExceeded`, quotaFix(VPC_QUOTA, region, vpcs.length + newVpcs)),
  ];
}

async function checkSnapshotQuota(ctx: OpsContext): Promise<PreflightCheck> {
  const { region } = ctx.config.primary;
  const name = `manual DB snapshots in ${region}`;
  const attributes = await awsCall(ctx, 'primary', 'rds:DescribeAccountAttributes', 'account quotas', () => ctx.clients.primary.rds.send(new DescribeAccountAttributesCommand({})));
  const quota = attributes.AccountQuotas?.find((q) => q.AccountQuotaName === MANUAL_SNAPSHOTS_QUOTA);
  if (quota?.Used === undefined || quota.Max === undefined) return fail('quotas', name, `RDS reported no ${MANUAL_SNAPSHOTS_QUOTA} quota: the headroom is unknown`);
  const left = quota.Max - quota.Used;
  return left >= SNAPSHOTS_PER_RELEASE
    ? ok('quotas', name, `${quota.Used} of ${quota.Max} used: ${left} left`)
    : fail(
        'quotas',
        name,
        `${quota.Used} of ${quota.Max} used: the release snapshot would be refused (SnapshotQuotaExceeded)`,
        `delete release snapshots that are no longer needed (aws rds describe-db-snapshots --db-instance-identifier ${databaseInstanceIdentifier(ctx.env)} --snapshot-type manual --region ${region}; names ${resourcePrefix(ctx.env)}-pre-*) or ask for a higher quota`,
      );
}

export async function checkQuotas(ctx: OpsContext): Promise<PreflightCheck[]> {
  return [await checkSnapshotQuota(ctx), ...(await checkRegion(ctx, 'primary')), ...(await checkRegion(ctx, 'standby'))];
}
