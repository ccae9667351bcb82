import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ContainerRepository, type ContainerRepositoryProps } from '../constructs/container-repository';
import { expiredImages, type LifecyclePolicy, type RepositoryImage } from './ecr-lifecycle-model';
import { testApp } from './support/synthesize';

/** The lifecycle policy a ContainerRepository synthesizes. */
function policyOf(props: Partial<ContainerRepositoryProps> = {}): LifecyclePolicy {
  const stack = new Stack(testApp(), 'Repo');
  new ContainerRepository(stack, 'Api', { repositoryName: 'bodyscript/test/api', tagsInUse: ['1.4.0'], ...props });
  const [repository] = Object.values(Template.fromStack(stack).findResources('AWS::ECR::Repository'));
  return JSON.parse(repository.Properties.LifecyclePolicy.LifecyclePolicyText);
}

/** `count` images tagged by `tag(i)`, one pushed every quarter of an hour from `startDaysAgo` days ago on (i = 0 is the oldest). */
function images(count: number, startDaysAgo: number, tag: (i: number) => string[]): RepositoryImage[] {
  return Array.from({ length: count }, (_, i) => ({ name: tag(i).join('+') || `untagged-${startDaysAgo}-${i}`, tags: tag(i), pushedDaysAgo: startDaysAgo - i / 96 }));
}

describe('the ECR lifecycle model (checked against the ECR user guide before it checks our policies)', () => {
  // https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html, "Filtering on multiple rules".
  const prefixRule = (rulePriority: number, tagPrefixList: string[]) => ({
    rulePriority,
    selection: { tagStatus: 'tagged' as const, tagPrefixList, countType: 'imageCountMoreThan' as const, countNumber: 1 },
    action: { type: 'expire' as const },
  });

  test('Example A: only image A expires; B matches the higher-priority prod rule, so the beta rule cannot expire it', () => {
    const repository = [
      { name: 'A', tags: ['beta-1', 'prod-1'], pushedDaysAgo: 10 },
      { name: 'B', tags: ['beta-2', 'prod-2'], pushedDaysAgo: 9 },
      { name: 'C', tags: ['beta-3'], pushedDaysAgo: 8 },
    ];
    expect(expiredImages({ rules: [prefixRule(1, ['prod']), prefixRule(2, ['beta'])] }, repository)).toEqual(['A']);
  });

  test('Example B: images A and B expire (a rule needing both prefixes)', () => {
    const repository = [
      { name: 'A', tags: ['beta-1', 'prod-1'], pushedDaysAgo: 10 },
      { name: 'B', tags: ['beta-2', 'prod-2'], pushedDaysAgo: 9 },
      { name: 'C', tags: ['beta-3', 'prod-3'], pushedDaysAgo: 8 },
    ];
    expect(expiredImages({ rules: [prefixRule(1, ['beta', 'prod']), prefixRule(2, ['beta'])] }, repository)).toEqual(['A', 'B']);
  });

  test('refuses what ECR refuses: a tagStatus any rule that is not last, duplicate priorities', () => {
    const any = { rulePriority: 1, selection: { tagStatus: 'any' as const, countType: 'imageCountMoreThan' as const, countNumber: 1 }, action: { type: 'expire' as const } };
    expect(() => expiredImages({ rules: [any, prefixRule(2, ['beta'])] }, [])).toThrow(/highest rulePriority/);
    expect(() => expiredImages({ rules: [prefixRule(1, ['a']), prefixRule(1, ['b'])] }, [])).toThrow(/unique/);
  });
});

describe('ContainerRepository', () => {
  test('can be created with scan on push, immutable tags, AES-256 and a retain policy', () => {
    const stack = new Stack(testApp(), 'Repo');
    new ContainerRepository(stack, 'Api', { repositoryName: 'bodyscript/test/api', tagsInUse: ['1.0.0'] });
    Template.fromStack(stack).hasResource('AWS::ECR::Repository', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { RepositoryName: 'bodyscript/test/api', ImageScanningConfiguration: { ScanOnPush: true }, ImageTagMutability: 'IMMUTABLE' },
    });
  });

  test('keeps each tag in use first, then the newest releases, then the newest commit builds; untagged images expire by age; no rule selects tagStatus any', () => {
    const policy = policyOf({ tagsInUse: ['1.4.0', 'sha-abc1234'], releaseImagesKept: 5, commitImagesKept: 8, untaggedImageExpirationDays: 3 });
    expect(policy.rules.map((r) => [r.rulePriority, r.selection])).toEqual([
      [1, { tagStatus: 'tagged', tagPatternList: ['1.4.0'], countType: 'imageCountMoreThan', countNumber: 1 }],
      [2, { tagStatus: 'tagged', tagPatternList: ['sha-abc1234'], countType: 'imageCountMoreThan', countNumber: 1 }],
      [3, { tagStatus: 'tagged', tagPatternList: ['*.*.*'], countType: 'imageCountMoreThan', countNumber: 5 }],
      [4, { tagStatus: 'tagged', tagPatternList: ['sha-*'], countType: 'imageCountMoreThan', countNumber: 8 }],
      [5, { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 3, countUnit: 'days' }],
    ]);
  });

  test('never expires the release in use, however many releases and commit builds are pushed after it', () => {
    const policy = policyOf({ tagsInUse: ['1.4.0'] });
    const repository = [
      { name: 'in-use', tags: ['1.4.0'], pushedDaysAgo: 400 },
      ...images(100, 300, (i) => [`2.${i}.0`]),
      ...images(250, 260, (i) => [`sha-${i.toString(16).padStart(7, '0')}`]),
    ];
    expect(expiredImages(policy, repository)).not.toContain('in-use');
  });

  test('keeps the previous release for a rollback while fewer than releaseImagesKept releases were pushed after it', () => {
    const policy = policyOf({ tagsInUse: ['1.5.0'], releaseImagesKept: 20 });
    const repository = [
      { name: 'previous', tags: ['1.4.0'], pushedDaysAgo: 60 },
      { name: 'in-use', tags: ['1.5.0'], pushedDaysAgo: 50 },
      ...images(18, 40, (i) => [`1.6.${i}`]),
      ...images(500, 30, (i) => [`sha-${i}`]),
    ];
    const expired = expiredImages(policy, repository);
    expect(expired).not.toContain('previous');
    expect(expired).not.toContain('in-use');
    // 18 + 1 newer releases are within the 20 kept: no release expires yet; the commit builds beyond 50 do.
    expect(expired.filter((name) => name.startsWith('sha-'))).toHaveLength(450);
    expect(expired.filter((name) => /^\d/.test(name))).toEqual([]);
  });

  test('a release image that also carries a commit tag counts as a release, not as an old commit build', () => {
    const policy = policyOf({ tagsInUse: ['2.0.0'], commitImagesKept: 2 });
    const repository = [
      { name: 'promoted', tags: ['sha-0000001', '1.9.0'], pushedDaysAgo: 30 },
      { name: 'in-use', tags: ['2.0.0'], pushedDaysAgo: 20 },
      ...images(5, 10, (i) => [`sha-${i}`]),
    ];
    expect(expiredImages(policy, repository)).toEqual(['sha-0', 'sha-1', 'sha-2']);
  });

  test('expires untagged images after the given days only', () => {
    const policy = policyOf({ untaggedImageExpirationDays: 7 });
    const repository = [
      { name: 'fresh', tags: [], pushedDaysAgo: 6 },
      { name: 'stale', tags: [], pushedDaysAgo: 8 },
      { name: 'in-use', tags: ['1.4.0'], pushedDaysAgo: 900 },
    ];
    expect(expiredImages(policy, repository)).toEqual(['stale']);
  });

  test('the policy it replaced (keep the last 50 images of any tag) expires the image in use: the lesson this construct encodes', () => {
    const previousPolicy: LifecyclePolicy = {
      rules: [
        { rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 7, countUnit: 'days' }, action: { type: 'expire' } },
        { rulePriority: 2, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 50 }, action: { type: 'expire' } },
      ],
    };
    const repository = [{ name: 'in-use', tags: ['1.0.0'], pushedDaysAgo: 100 }, ...images(50, 90, (i) => [`sha-${i}`])];
    expect(expiredImages(previousPolicy, repository)).toEqual(['in-use']);
  });

  test.each([
    ['releaseImagesKept', { releaseImagesKept: 0 }, /releaseImagesKept must be a positive integer, got 0/],
    ['commitImagesKept', { commitImagesKept: -1 }, /commitImagesKept must be a positive integer, got -1/],
    ['untaggedImageExpirationDays', { untaggedImageExpirationDays: 1.5 }, /untaggedImageExpirationDays must be a positive integer, got 1.5/],
    ['tagsInUse (empty)', { tagsInUse: [] }, /tagsInUse must name at least the tag the environment runs/],
    ['tagsInUse (a pattern)', { tagsInUse: ['1.*'] }, /tagsInUse entry '1\.\*' is not an image tag/],
  ])('fails when %s is not valid', (_name, props, message) => {
    const stack = new Stack(testApp(), 'Repo');
    expect(() => new ContainerRepository(stack, 'Api', { repositoryName: 'bodyscript/test/api', tagsInUse: ['1.0.0'], ...props })).toThrow(message);
  });
});
