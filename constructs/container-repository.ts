import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Construct } from 'constructs';

/**
 * Tags of release images: `MAJOR.MINOR.PATCH` (with any pre-release suffix),
 * the form `services.<name>.imageTag` takes in lib/config for a release.
 */
export const RELEASE_TAG_PATTERN = '*.*.*';

/** Tags of per-commit builds: `sha-<commit>`, what the pipeline passes with `-c apiImageTag=sha-…`. */
export const COMMIT_TAG_PATTERN = 'sha-*';

/** ECR's rule for a tag: 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit. */
const ECR_TAG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Properties of a ContainerRepository.
 */
export interface ContainerRepositoryProps {
  /** Repository name (see `repositoryName()` in lib/naming.ts). */
  readonly repositoryName: string;

  /**
   * The tags the environment runs: its configured `imageTag`, which the primary
   * services and the standby's pilot light both name. These images never
   * expire, however many images are pushed after them.
   */
  readonly tagsInUse: readonly string[];

  /**
   * Release images (RELEASE_TAG_PATTERN) kept besides those in use: the
   * newest ones by push time. A rollback redeploys the previous release, which
   * stays as long as fewer than this many releases were pushed after it.
   *
   * @default 20
   */
  readonly releaseImagesKept?: number;

  /**
   * Per-commit builds (COMMIT_TAG_PATTERN) kept besides those in use, newest first.
   *
   * @default 50
   */
  readonly commitImagesKept?: number;

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
 * tested), AES-256 encryption at rest, retained when its stack is deleted.
 *
 * Its lifecycle rules never expire an image an environment runs. ECR applies
 * rules in priority order, and "an image that matches the tagging requirements
 * of a rule cannot be expired by a rule with a lower priority"
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lp_evaluation_rules):
 *
 * 1. one rule per tag in use, first: it matches that one image (tags are
 *    immutable) and keeps it, so no later rule can expire it;
 * 2. releases: the newest `releaseImagesKept`;
 * 3. commit builds: the newest `commitImagesKept` (after releases, so a release
 *    that also carries a `sha-` tag counts as a release);
 * 4. untagged images after `untaggedImageExpirationDays`.
 *
 * No rule selects `tagStatus: any`: counting every image would expire the one
 * in use once enough builds are pushed after it. Tags that are neither releases
 * nor commit builds never expire.
 */
export class ContainerRepository extends Construct {
  /** The repository. */
  public readonly repository: ecr.Repository;

  constructor(scope: Construct, id: string, props: ContainerRepositoryProps) {
    super(scope, id);
    const releases = props.releaseImagesKept ?? 20;
    const commits = props.commitImagesKept ?? 50;
    const untaggedDays = props.untaggedImageExpirationDays ?? 7;
    for (const [name, value] of Object.entries({ releaseImagesKept: releases, commitImagesKept: commits, untaggedImageExpirationDays: untaggedDays })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`ContainerRepository ${this.node.path}: ${name} must be a positive integer, got ${value}`);
      }
    }
    const tagsInUse = [...new Set(props.tagsInUse)];
    if (tagsInUse.length === 0) {
      throw new Error(`ContainerRepository ${this.node.path}: tagsInUse must name at least the tag the environment runs (services.<name>.imageTag), or its image could expire`);
    }
    for (const tag of tagsInUse) {
      if (!ECR_TAG.test(tag)) {
        throw new Error(`ContainerRepository ${this.node.path}: tagsInUse entry '${tag}' is not an image tag (1–128 letters, digits, '.', '_' or '-', starting with a letter or digit)`);
      }
    }

    const inUseRules: ecr.LifecycleRule[] = tagsInUse.map((tag, index) => ({
      rulePriority: index + 1,
      description: `Never expires ${tag}: an environment runs it`,
      tagStatus: ecr.TagStatus.TAGGED,
      tagPatternList: [tag],
      // Tags are immutable, so exactly one image carries this tag: "more than 1" never expires it.
      maxImageCount: 1,
    }));
    const next = inUseRules.length + 1;
    this.repository = new ecr.Repository(this, 'Repository', {
      repositoryName: props.repositoryName,
      imageScanOnPush: true,
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      // AES-256: the images hold code, not customer data, and ECS pulls them with
      // no key policy to maintain; KMS here would add a key per repository.
      encryption: ecr.RepositoryEncryption.AES_256,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [
        ...inUseRules,
        {
          rulePriority: next,
          description: `Keeps the newest ${releases} releases (${RELEASE_TAG_PATTERN})`,
          tagStatus: ecr.TagStatus.TAGGED,
          tagPatternList: [RELEASE_TAG_PATTERN],
          maxImageCount: releases,
        },
        {
          rulePriority: next + 1,
          description: `Keeps the newest ${commits} commit builds (${COMMIT_TAG_PATTERN})`,
          tagStatus: ecr.TagStatus.TAGGED,
          tagPatternList: [COMMIT_TAG_PATTERN],
          maxImageCount: commits,
        },
        {
          rulePriority: next + 2,
          description: `Untagged images expire after ${untaggedDays} days`,
          tagStatus: ecr.TagStatus.UNTAGGED,
          maxImageAge: Duration.days(untaggedDays),
        },
      ],
    });
  }
}
