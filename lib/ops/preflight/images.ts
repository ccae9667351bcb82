import { DescribeImagesCommand, DescribeRegistryCommand, type ImageDetail } from '@aws-sdk/client-ecr';
import { repositoryName, repositoryNamePrefix, SERVICE_NAMES, stackNames } from '../../naming';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext, type Side } from '../context';
import { fail, ok, type PreflightCheck } from './check';

/**
 * The container images the environment runs: the configured tag of every
 * service in its primary repository, and the same image (same digest) in the
 * us-west-2 replica the standby pulls from. ECS starts no task of a service
 * whose image is missing, and a CODE_DEPLOY service has no circuit breaker:
 * CloudFormation would wait for hours and roll back (deploy review B1).
 *
 * ECR replicates only what is pushed after the replication rule exists, so
 * the registry's rule is checked too.
 */

/** The stack that holds the container repositories and the registry's replication rule. */
export function registryStackName(ctx: OpsContext): string {
  return stackNames.registry(ctx.env);
}

type Found = { readonly image: ImageDetail } | { readonly missing: 'repository' | 'image'; readonly message: string };

async function describeImage(ctx: OpsContext, side: Side, repository: string, tag: string): Promise<Found> {
  const { account, region } = ctx.config[side];
  try {
    const response = await awsCall(ctx, side, 'ecr:DescribeImages', `image ${repository}:${tag} in registry ${account}`, () =>
      ctx.clients[side].ecr.send(new DescribeImagesCommand({ registryId: account, repositoryName: repository, imageIds: [{ imageTag: tag }] })),
    );
    const image = response.imageDetails?.[0];
    return image ? { image } : { missing: 'image', message: `no image tagged ${tag} (${region})` };
  } catch (error) {
    // RepositoryNotFoundException and ImageNotFoundException are answers here: which one decides the fix.
    if (error instanceof OpsError && error.kind === 'not-found') {
      const name = (error.cause as { name?: string } | undefined)?.name ?? '';
      return { missing: name.startsWith('Repository') ? 'repository' : 'image', message: error.message };
    }
    throw error;
  }
}

function uri(account: string, region: string, repository: string, tag: string): string {
  return `${account}.dkr.ecr.${region}.amazonaws.com/${repository}:${tag}`;
}

export async function checkImages(ctx: OpsContext): Promise<PreflightCheck[]> {
  const { primary, standby } = ctx.config;
  const checks: PreflightCheck[] = [];
  for (const service of SERVICE_NAMES) {
    const tag = ctx.config.services[service].imageTag;
    const repository = repositoryName(ctx.env, service);
    const primaryName = `image ${repository}:${tag} (${primary.region})`;
    const source = await describeImage(ctx, 'primary', repository, tag);
    if ('missing' in source) {
      checks.push(
        fail(
          'images',
          primaryName,
          source.missing === 'repository' ? `the repository does not exist (${source.message})` : `not pushed (${source.message})`,
          source.missing === 'repository'
            ? `npx cdk deploy ${registryStackName(ctx)}, then push the image`
            : `the ${service} application repository pushes ${uri(primary.account, primary.region, repository, tag)} (docker push); ECR replication copies it to ${standby.region}`,
        ),
      );
    } else {
      checks.push(ok('images', primaryName, `${source.image.imageDigest ?? 'no digest'}, pushed ${source.image.imagePushedAt?.toISOString() ?? 'at an unknown time'}`));
    }
    const replicaName = `image ${repository}:${tag} (${standby.region} replica)`;
    const replica = await describeImage(ctx, 'standby', repository, tag);
    if ('missing' in replica) {
      checks.push(
        fail(
          'images',
          replicaName,
          `not replicated (${replica.message}): the standby could not start the ${service} service`,
          'missing' in source
            ? 'push the image to the primary repository first'
            : `ECR replicates only pushes made after the replication rule exists: push ${uri(primary.account, primary.region, repository, tag)} again`,
        ),
      );
    } else if (!('missing' in source) && replica.image.imageDigest !== source.image.imageDigest) {
      checks.push(
        fail(
          'images',
          replicaName,
          `digest ${replica.image.imageDigest ?? 'none'} differs from ${source.image.imageDigest ?? 'none'} in ${primary.region}: the standby would run other code`,
          `push ${uri(primary.account, primary.region, repository, tag)} again (tags are immutable: use a new tag if the push is refused)`,
        ),
      );
    } else {
      checks.push(ok('images', replicaName, `${replica.image.imageDigest ?? 'no digest'}${'missing' in source ? '' : ', the same image'}`));
    }
  }
  return checks;
}

export async function checkImageReplication(ctx: OpsContext): Promise<PreflightCheck[]> {
  const { primary, standby } = ctx.config;
  const prefix = repositoryNamePrefix(ctx.env);
  const name = `ECR replication ${primary.region} → ${standby.region} of ${prefix}*`;
  const registry = await awsCall(ctx, 'primary', 'ecr:DescribeRegistry', `registry ${primary.account}`, () => ctx.clients.primary.ecr.send(new DescribeRegistryCommand({})));
  const rule = registry.replicationConfiguration?.rules?.find(
    (r) =>
      (r.destinations ?? []).some((d) => d.region === standby.region && d.registryId === standby.account) &&
      ((r.repositoryFilters ?? []).length === 0 || (r.repositoryFilters ?? []).some((f) => f.filterType === 'PREFIX_MATCH' && prefix.startsWith(f.filter ?? '\u0000'))),
  );
  return [
    rule
      ? ok('images', name, `rule to ${standby.account}/${standby.region}${(rule.repositoryFilters ?? []).length ? ` for ${rule.repositoryFilters!.map((f) => `${f.filter}*`).join(', ')}` : ' for every repository'}`)
      : fail('images', name, `no replication rule copies ${prefix}* to ${standby.account}/${standby.region}`, `npx cdk deploy ${registryStackName(ctx)}, then push the images`),
  ];
}
