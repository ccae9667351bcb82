import { Stack, type StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import type { Construct } from 'constructs';
import { ContainerRepository } from '../../constructs/container-repository';
import type { EnvironmentConfig } from '../config';
import { repositoryName, repositoryNamePrefix, SERVICE_NAMES, type ServiceName } from '../naming';

export interface RegistryStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/**
 * `BodyScript-<Env>-Registry`: the environment's container repositories and
 * their replication to the standby region. Stateful (termination protection,
 * retained, logical IDs pinned).
 *
 * The repositories live apart from the services that pull from them so that a
 * new account can be brought up in an order that works: this stack first, then
 * the images pushed, then the services. A service created in the same stack as
 * its empty repository would wait for hours on tasks that cannot pull, and roll
 * back. The services name the repositories (lib/naming.ts) instead of
 * referencing them, so the two stacks are ordered by a stack dependency only.
 */
export class RegistryStack extends Stack {
  /** ECR repositories, by service. */
  public readonly repositories: Record<ServiceName, ContainerRepository>;
  /** The registry's replication rule: every image of the environment is copied to the standby region. */
  public readonly replication: ecr.CfnReplicationConfiguration;

  constructor(scope: Construct, id: string, props: RegistryStackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const { config } = props;
    const env = config.name;
    if (props.env?.region !== config.primary.region || props.env?.account !== config.primary.account) {
      throw new Error(`RegistryStack ${id}: env must be the primary location ${config.primary.account}/${config.primary.region} (config primary), where the services pull their images`);
    }
    if (config.standby.account !== config.primary.account) {
      // Cross-account replication also needs a registry policy in the standby account, which this app does not create.
      throw new Error(`RegistryStack ${id}: standby.account must be primary.account (${config.primary.account}) to replicate images without a registry policy in another account, got ${config.standby.account}`);
    }
    const repositories = {} as Record<ServiceName, ContainerRepository>;
    for (const service of SERVICE_NAMES) {
      // Construct IDs `ApiRepository` / `ProcessingRepository`: part of the pinned logical IDs.
      repositories[service] = new ContainerRepository(this, `${service.charAt(0).toUpperCase()}${service.slice(1)}Repository`, {
        repositoryName: repositoryName(env, service),
        // The primary services and the standby's pilot light both run the configured tag.
        tagsInUse: [config.services[service].imageTag],
      });
    }
    this.repositories = repositories;

    // Registry-level (one per account and region): every image pushed to this
    // environment's repositories is copied to the standby region, where the
    // pilot-light task definitions pull it by the same repository name. The
    // replicas get no lifecycle policy (ECR applies a policy only in its own
    // region), so the standby never loses an image the primary expired.
    this.replication = new ecr.CfnReplicationConfiguration(this, 'ImageReplication', {
      replicationConfiguration: {
        rules: [
          {
            destinations: [{ region: config.standby.region, registryId: config.standby.account }],
            repositoryFilters: [{ filter: repositoryNamePrefix(env), filterType: 'PREFIX_MATCH' }],
          },
        ],
      },
    });
  }
}
