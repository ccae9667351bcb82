import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Construct } from 'constructs';

/**
 * Properties of a ContainerRepository.
 */
export interface ContainerRepositoryProps {
  /** Repository name (see `repositoryName()` in lib/naming.ts). */
  readonly repositoryName: string;

  /**
   * Release images kept; older ones expire. A tag that a running task set or a
   * rollback still needs must be among them, so keep comfortably more than the
   * releases of one termination wait.
   *
   * @default 50
   */
  readonly maxReleaseImages?: number;

  /**
   * Days after which untagged images (layers of interrupted pushes, superseded
   * manifests) expire.
   *
   * @default 7
   */
  readonly untaggedImageExpirationDays?: number;

  /**
   * How the repository is removed with its stack.
   *
   * @default RemovalPolicy.RETAIN - the images a rollback needs outlive the stack
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The ECR repository of one BodyScript service: images scanned on push, tags
 * immutable (a tag names exactly one build, so a rollback redeploys what was
 * tested), AES-256 encryption at rest, lifecycle rules that expire untagged
 * images and keep the last releases, retained when its stack is deleted.
 */
export class ContainerRepository extends Construct {
  /** The repository. */
  public readonly repository: ecr.Repository;

  constructor(scope: Construct, id: string, props: ContainerRepositoryProps) {
    super(scope, id);
    const maxReleaseImages = props.maxReleaseImages ?? 50;
    const untaggedDays = props.untaggedImageExpirationDays ?? 7;
    if (!Number.isInteger(maxReleaseImages) || maxReleaseImages < 1) {
      throw new Error(`ContainerRepository ${this.node.path}: maxReleaseImages must be a positive integer, got ${maxReleaseImages}`);
    }
    if (!Number.isInteger(untaggedDays) || untaggedDays < 1) {
      throw new Error(`ContainerRepository ${this.node.path}: untaggedImageExpirationDays must be a positive integer, got ${untaggedDays}`);
    }

    this.repository = new ecr.Repository(this, 'Repository', {
      repositoryName: props.repositoryName,
      imageScanOnPush: true,
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      // AES-256: the images hold code, not customer data, and ECS pulls them with
      // no key policy to maintain; KMS here would add a key per repository.
      encryption: ecr.RepositoryEncryption.AES_256,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          rulePriority: 1,
          description: `Untagged images expire after ${untaggedDays} days`,
          tagStatus: ecr.TagStatus.UNTAGGED,
          maxImageAge: Duration.days(untaggedDays),
        },
        {
          rulePriority: 2,
          description: `Keep the last ${maxReleaseImages} images`,
          tagStatus: ecr.TagStatus.ANY,
          maxImageCount: maxReleaseImages,
        },
      ],
    });
  }
}
