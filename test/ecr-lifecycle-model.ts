/**
 * A model of how Amazon ECR applies a lifecycle policy, written from its
 * documented evaluation rules
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lp_evaluation_rules,
 * properties: https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html):
 *
 * - rules apply in rulePriority order, lowest first;
 * - an image is expired by exactly one or zero rules;
 * - an image that matches the tagging requirements of a rule cannot be expired
 *   by a rule with a lower priority; rules still count images that a higher
 *   priority rule matched or expired;
 * - `tagPatternList` / `tagPrefixList`: an image matches when every pattern
 *   (prefix) matches one of its tags; `*` matches any characters;
 * - `imageCountMoreThan`: images sorted from the youngest push to the oldest,
 *   those after the first `countNumber` expire; `sinceImagePushed`: images
 *   pushed more than `countNumber` days ago expire.
 *
 * The tests check the model against the worked examples of the ECR user guide
 * before they trust it with BodyScript's policies.
 */

export interface LifecycleSelection {
  readonly tagStatus: 'tagged' | 'untagged' | 'any';
  readonly tagPatternList?: readonly string[];
  readonly tagPrefixList?: readonly string[];
  readonly countType: 'imageCountMoreThan' | 'sinceImagePushed';
  readonly countNumber: number;
  readonly countUnit?: 'days';
}
export interface LifecyclePolicyRule {
  readonly rulePriority: number;
  readonly description?: string;
  readonly selection: LifecycleSelection;
  readonly action: { readonly type: 'expire' };
}
export interface LifecyclePolicy {
  readonly rules: readonly LifecyclePolicyRule[];
}

/** An image in a repository: its tags and how many days ago it was pushed. */
export interface RepositoryImage {
  readonly name: string;
  readonly tags: readonly string[];
  readonly pushedDaysAgo: number;
}

function patternMatches(pattern: string, tag: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return regex.test(tag);
}

function selects(selection: LifecycleSelection, image: RepositoryImage): boolean {
  switch (selection.tagStatus) {
    case 'any':
      return true;
    case 'untagged':
      return image.tags.length === 0;
    case 'tagged':
      if (image.tags.length === 0) return false;
      if (selection.tagPatternList) return selection.tagPatternList.every((pattern) => image.tags.some((tag) => patternMatches(pattern, tag)));
      if (selection.tagPrefixList) return selection.tagPrefixList.every((prefix) => image.tags.some((tag) => tag.startsWith(prefix)));
      throw new Error('a tagged rule needs tagPatternList or tagPrefixList (ECR refuses the policy otherwise)');
  }
}

/** The names of the images ECR expires under `policy`. */
export function expiredImages(policy: LifecyclePolicy, images: readonly RepositoryImage[]): string[] {
  const priorities = policy.rules.map((r) => r.rulePriority);
  if (new Set(priorities).size !== priorities.length) throw new Error('rulePriority values must be unique (ECR refuses the policy otherwise)');
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const anyRule = rules.findIndex((r) => r.selection.tagStatus === 'any');
  if (anyRule !== -1 && anyRule !== rules.length - 1) throw new Error('a rule with tagStatus any must have the highest rulePriority (ECR refuses the policy otherwise)');

  const matchedByHigherPriority = new Set<string>();
  const expired = new Set<string>();
  for (const rule of rules) {
    const candidates = images.filter((image) => selects(rule.selection, image));
    let marked: RepositoryImage[];
    if (rule.selection.countType === 'imageCountMoreThan') {
      const youngestFirst = [...candidates].sort((a, b) => a.pushedDaysAgo - b.pushedDaysAgo);
      marked = youngestFirst.slice(rule.selection.countNumber);
    } else {
      marked = candidates.filter((image) => image.pushedDaysAgo > rule.selection.countNumber);
    }
    for (const image of marked) {
      if (!matchedByHigherPriority.has(image.name)) expired.add(image.name);
    }
    for (const image of candidates) matchedByHigherPriority.add(image.name);
  }
  return images.filter((image) => expired.has(image.name)).map((image) => image.name);
}
