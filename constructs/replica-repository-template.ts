import { Token } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Construct } from 'constructs';

/**
 * Properties of a ReplicaRepositoryTemplate.
 */
export interface ReplicaRepositoryTemplateProps {
  /**
   * The repository namespace the template applies to, without a trailing
   * slash (ECR appends one): `bodyscript/<env>` covers `bodyscript/<env>/api`
   * and `bodyscript/<env>/processing`. It must be the prefix of the source
   * registry's replication filter, or the replicas get ECR's defaults.
   */
  readonly repositoryPrefix: string;

  /**
   * Days after which untagged images in a replica expire. Tagged images never
   * expire in a replica: the template is applied once, when ECR creates the
   * repository, so it cannot name the tag the standby runs the way the primary
   * repository's policy does (a rule per tag in use), and a count-based rule
   * could expire that image.
   *
   * @default 7 - the primary repositories' rule for untagged images
   */
  readonly untaggedImageExpirationDays?: number;
}

/** ECR's repository-name grammar for a namespace prefix (lower case, '/'-separated components). */
const NAMESPACE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/**
 * What a repository created by ECR replication in this region looks like,
 * since ECR creates it on the first replicated push, not CloudFormation.
 *
 * - A repository creation template (`AWS::ECR::RepositoryCreationTemplate`,
 *   applied for `REPLICATION`): immutable tags, AES-256, a lifecycle policy
 *   that expires only untagged images. Without a template a replicated
 *   repository is created MUTABLE, so anyone with `ecr:PutImage` in this region
 *   could overwrite the tag the standby would run after a failover
 *   (security review M7). A template applies only to repositories created
 *   after it exists ("This doesn't have any effect on any previously created
 *   repositories", ECR user guide, repository-creation-templates-create), and
 *   it is a registry setting of this region: it must live in a stack of the
 *   destination region, deployed before the source registry replicates.
 * - The registry's scanning configuration (`AWS::ECR::RegistryScanningConfiguration`,
 *   one per account and region): basic scan on push for the namespace, since a
 *   creation template has no scanning setting and ECR recommends scanning at
 *   the registry level.
 *
 * No custom role: a template that sets neither a KMS key nor resource tags
 * needs none (ECR uses its service-linked role).
 */
export class ReplicaRepositoryTemplate extends Construct {
  /** The creation template for replicated repositories of the namespace. */
  public readonly template: ecr.CfnRepositoryCreationTemplate;
  /** Basic scan on push for every repository of the namespace in this region. */
  public readonly scanning: ecr.CfnRegistryScanningConfiguration;
  /** The lifecycle policy the template gives every replica (the JSON ECR receives). */
  public readonly lifecyclePolicy: { rules: Array<Record<string, unknown>> };

  constructor(scope: Construct, id: string, props: ReplicaRepositoryTemplateProps) {
    super(scope, id);
    const prefix = props.repositoryPrefix;
    if (Token.isUnresolved(prefix) || !NAMESPACE.test(prefix)) {
      throw new Error(
        `ReplicaRepositoryTemplate ${this.node.path}: repositoryPrefix must be a literal repository namespace without a trailing '/' (lower-case components separated by '/', e.g. 'bodyscript/production'), got '${prefix}'`,
      );
    }
    const untaggedDays = props.untaggedImageExpirationDays ?? 7;
    if (!Number.isInteger(untaggedDays) || untaggedDays < 1) {
      throw new Error(`ReplicaRepositoryTemplate ${this.node.path}: untaggedImageExpirationDays must be a positive integer, got ${untaggedDays}`);
    }

    this.lifecyclePolicy = {
      rules: [
        {
          rulePriority: 1,
          description: `Untagged images expire after ${untaggedDays} days; tagged images never expire in a replica`,
          selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: untaggedDays },
          action: { type: 'expire' },
        },
      ],
    };
    this.template = new ecr.CfnRepositoryCreationTemplate(this, 'Resource', {
      prefix,
      appliedFor: ['REPLICATION'],
      description: `Replicas of ${prefix}/* from the primary region: immutable tags, AES-256, untagged images expire`,
      imageTagMutability: 'IMMUTABLE',
      encryptionConfiguration: { encryptionType: 'AES256' },
      lifecyclePolicy: JSON.stringify(this.lifecyclePolicy),
    });
    this.scanning = new ecr.CfnRegistryScanningConfiguration(this, 'Scanning', {
      scanType: 'BASIC',
      rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [{ filter: `${prefix}/*`, filterType: 'WILDCARD' }] }],
    });
  }
}
