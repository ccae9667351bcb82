import { fullDiff, ResourceImpact, type ResourceDifference, type TemplateDiff } from '@aws-cdk/cloudformation-diff';
import type { StackBaseline, StackTemplate, Template } from './assembly';
import { code } from './markdown';
import { PROTECTION_RESOURCE_TYPES, protectionLostOnRemoval, weakenedProtection } from './protection';
import { effectivePolicy, isProtectivePolicy, isStatefulType } from './stateful';
import { findUndeployableChanges, type UndeployableChange } from './undeployable';

/**
 * Turns a template pair into the facts the report needs: what changes per
 * resource, IAM and security-group changes, and which changes would lose data.
 * All semantic decisions (replacement, orphaning) come from
 * @aws-cdk/cloudformation-diff, the same engine as `cdk diff`.
 */

export type ChangeKind = 'add' | 'modify' | 'replace' | 'may-replace' | 'remove';

export interface ChangedAttribute {
  /** Property name, or a resource attribute such as DeletionPolicy or Metadata. */
  readonly name: string;
  readonly isProperty: boolean;
  /** Whether changing it makes CloudFormation replace the resource. */
  readonly replacement?: 'always' | 'conditional';
}

export interface ResourceChangeRow {
  readonly logicalId: string;
  readonly type: string;
  readonly change: ChangeKind;
  readonly attributes: readonly ChangedAttribute[];
  /** The construct path (aws:cdk:path metadata), which reviewers recognise more easily than logical ids. */
  readonly path?: string;
  /** Removed, but kept in the account because its DeletionPolicy retains it. */
  readonly orphaned?: boolean;
}

export type DangerKind = 'replace' | 'may-replace' | 'remove' | 'logical-id-change' | 'policy-weakened' | 'protection-weakened' | 'conditional-deletion';

export interface DangerousChange {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  readonly kind: DangerKind;
  /** One sentence saying what happens to the data. */
  readonly reason: string;
  readonly path?: string;
}

export interface StackDiff {
  readonly stack: string;
  readonly stackName: string;
  /** False when the baseline has no such stack: everything counts as new. */
  readonly baselineFound: boolean;
  readonly counts: {
    readonly added: number;
    /** Resources whose properties or policies change (replacements included). */
    readonly changed: number;
    readonly replaced: number;
    readonly removed: number;
    /** Resources whose only change is their Metadata (construct path, cdk-nag suppressions): CloudFormation leaves them untouched. */
    readonly metadataOnly: number;
  };
  readonly resources: readonly ResourceChangeRow[];
  /** Rows of [+/-, resource, effect, action, principal, condition]. */
  readonly iamStatements: readonly (readonly string[])[];
  /** Rows of [+/-, resource, managed policy ARN]. */
  readonly managedPolicies: readonly (readonly string[])[];
  /** Rows of [+/-, group, direction, protocol, peer]. */
  readonly securityGroupRules: readonly (readonly string[])[];
  /** Changes outside Resources (outputs, parameters, conditions...). */
  readonly otherChanges: readonly OtherChange[];
  readonly dangerous: readonly DangerousChange[];
  /** Updates the deploy would send that AWS refuses (undeployable.ts): the deploy fails whoever allows it. */
  readonly undeployable: readonly UndeployableChange[];
}

/** A change outside Resources: a parameter, output, condition, mapping or another top-level section. */
export interface OtherChange {
  readonly section: string;
  readonly id: string;
  readonly change: 'added' | 'removed' | 'changed';
}

const PATH_METADATA = 'aws:cdk:path';

/**
 * `baseline` is the stack as it was (undefined: the stack is new). Its
 * termination protection is known when the baseline is a cloud assembly.
 */
export function diffStack(stack: StackTemplate, baseline: StackBaseline | undefined): StackDiff {
  const diff = fullDiff(baseline?.template ?? {}, stack.template);
  const resources: ResourceChangeRow[] = [];
  diff.resources.forEachDifference((logicalId, change) => {
    resources.push(toRow(logicalId, change));
  });
  const counts = {
    added: resources.filter((r) => r.change === 'add').length,
    changed: resources.filter((r) => r.change !== 'add' && r.change !== 'remove' && !isMetadataOnly(r)).length,
    replaced: resources.filter((r) => r.change === 'replace' || r.change === 'may-replace').length,
    removed: resources.filter((r) => r.change === 'remove').length,
    metadataOnly: resources.filter(isMetadataOnly).length,
  };
  return {
    stack: stack.displayName,
    stackName: stack.stackName,
    baselineFound: baseline !== undefined,
    counts,
    resources,
    iamStatements: diff.iamChanges.statements.hasChanges ? withoutHeader(diff.iamChanges.summarizeStatements()) : [],
    managedPolicies: diff.iamChanges.managedPolicies.hasChanges ? withoutHeader(diff.iamChanges.summarizeManagedPolicies()) : [],
    securityGroupRules: diff.securityGroupChanges.hasChanges ? withoutHeader(diff.securityGroupChanges.summarize()) : [],
    otherChanges: otherChanges(diff),
    dangerous: [
      ...stackProtection(stack, baseline),
      ...findDangerousChanges(stack.displayName, diff),
      ...redefinedConditions(stack.displayName, baseline?.template, stack.template),
    ],
    undeployable: findUndeployableChanges(stack.displayName, diff, stack.template),
  };
}

/** A change reviewers need not read: only the resource's Metadata differs. */
export function isMetadataOnly(row: ResourceChangeRow): boolean {
  return row.change === 'modify' && row.attributes.length > 0 && row.attributes.every((a) => !a.isProperty && a.name === 'Metadata');
}

function toRow(logicalId: string, change: ResourceDifference): ResourceChangeRow {
  const type = change.newResourceType ?? change.oldResourceType ?? 'unknown';
  const path = metadataPath(change);
  if (change.isAddition) return { logicalId, type, change: 'add', attributes: [], path };
  if (change.isRemoval) {
    return { logicalId, type, change: 'remove', attributes: [], path, orphaned: change.changeImpact === ResourceImpact.WILL_ORPHAN };
  }
  const attributes: ChangedAttribute[] = [];
  change.forEachDifference((kind, name, difference) => {
    const impact = 'changeImpact' in difference ? (difference.changeImpact as ResourceImpact | undefined) : undefined;
    attributes.push({
      name,
      isProperty: kind === 'Property',
      replacement: impact === ResourceImpact.WILL_REPLACE ? 'always' : impact === ResourceImpact.MAY_REPLACE ? 'conditional' : undefined,
    });
  });
  if (change.resourceTypeChanged) {
    attributes.push({ name: `Type (${change.oldResourceType} → ${change.newResourceType})`, isProperty: false, replacement: 'always' });
  }
  return { logicalId, type, change: kindOf(change.changeImpact), attributes, path };
}

function kindOf(impact: ResourceImpact): ChangeKind {
  switch (impact) {
    case ResourceImpact.WILL_REPLACE:
      return 'replace';
    case ResourceImpact.MAY_REPLACE:
      return 'may-replace';
    default:
      return 'modify';
  }
}

function metadataPath(change: ResourceDifference): string | undefined {
  const fromNew = change.newValue?.Metadata?.[PATH_METADATA];
  const fromOld = change.oldValue?.Metadata?.[PATH_METADATA];
  const value = fromNew ?? fromOld;
  return typeof value === 'string' ? value : undefined;
}

/** The library's summary tables colour their cells for terminals; Markdown and JSON need plain text. */
function withoutHeader(rows: string[][]): string[][] {
  const ansi = /\u001b\[[0-9;]*m/g;
  return rows.slice(1).map((row) => row.map((cell) => cell.replace(ansi, '')));
}

function otherChanges(diff: TemplateDiff): OtherChange[] {
  const changes: OtherChange[] = [];
  const sections = [
    ['Parameter', diff.parameters],
    ['Output', diff.outputs],
    ['Condition', diff.conditions],
    ['Mapping', diff.mappings],
  ] as const;
  for (const [section, collection] of sections) {
    collection.forEachDifference((id, change) => {
      changes.push({ section, id, change: change.isAddition ? 'added' : change.isRemoval ? 'removed' : 'changed' });
    });
  }
  diff.unknown.forEachDifference((id) => changes.push({ section: 'Section', id, change: 'changed' }));
  return changes;
}

/**
 * Every change that would destroy or detach the data of a stateful resource,
 * or weaken what protects it:
 * - replacement, certain or conditional (`MAY_REPLACE` is flagged too: for a
 *   database "may" is not a risk worth taking without a person looking);
 * - removal, including removals whose DeletionPolicy retains the resource,
 *   because the stack then stops managing (and backing up) it;
 * - a logical-id change, which the diff sees as a removal plus an addition of
 *   the same type: reported as one replacement naming both ids;
 * - a DeletionPolicy or UpdateReplacePolicy weakened from Retain/Snapshot, which
 *   loses nothing today but arms the next removal or replacement;
 * - a `Condition` added to the resource, or its condition redefined: on an
 *   update CloudFormation deletes a resource whose condition is false
 *   (Resources section, "Condition" attribute; Conditions section reference);
 * - an in-place change that removes or shortens its protection (protection.ts:
 *   deletion protection off, backups shortened, a key disabled, a lock removed...);
 * - for what protects data without holding it (backup plans and selections, bucket policies):
 *   removal, and any change that protects less, even through a replacement.
 */
export function findDangerousChanges(stack: string, diff: TemplateDiff): DangerousChange[] {
  const dangerous: DangerousChange[] = [];
  const additions = new Map<string, ResourceDifference>();
  diff.resources.forEachDifference((logicalId, change) => {
    if (change.isAddition && isGuardedType(change.newResourceType)) additions.set(logicalId, change);
  });

  diff.resources.forEachDifference((logicalId, change) => {
    const oldType = change.oldResourceType;
    if (!isGuardedType(oldType) || change.isAddition) return;
    const type = oldType!;
    const path = metadataPath(change);
    const entry = (kind: DangerKind, reason: string) => dangerous.push({ stack, logicalId, type, kind, reason, path });

    if (PROTECTION_RESOURCE_TYPES.includes(type)) {
      // Replacing a backup plan or selection loses no data; protecting less does.
      if (change.isRemoval) {
        const successor = pairRemoval(change, additions);
        if (successor === undefined) {
          // A bucket policy removed with its bucket, a secret's policy with its secret: the holder's removal is the finding.
          if (type === 'AWS::S3::BucketPolicy' && holderRemovedToo(change, 'Bucket', diff)) return;
          if (type === 'AWS::SecretsManager::ResourcePolicy' && holderRemovedToo(change, 'SecretId', diff)) return;
          entry('remove', protectionLostOnRemoval(type));
          return;
        }
        const replacement = additions.get(successor)!;
        additions.delete(successor);
        for (const reason of weakenedProtection(type, change.oldValue?.Properties, replacement.newValue?.Properties)) entry('protection-weakened', reason);
        return;
      }
      for (const reason of weakenedProtection(type, change.oldValue?.Properties, change.newValue?.Properties)) entry('protection-weakened', reason);
      return;
    }

    if (change.isRemoval) {
      const fate = removalFate(change.oldValue!);
      const successor = pairRemoval(change, additions);
      if (successor !== undefined) {
        additions.delete(successor);
        entry(
          'logical-id-change',
          `logical ID changes to ${code(successor)}: CloudFormation creates a new, empty ${code(type)} and the old one ${fate}.`,
        );
      } else {
        entry('remove', `removed from the template: the resource ${fate}.`);
      }
      return;
    }

    const impact = change.changeImpact;
    const replaced = impact === ResourceImpact.WILL_REPLACE || impact === ResourceImpact.MAY_REPLACE;
    if (replaced) {
      const causes = replacementCauses(change);
      const fate = replacementFate(change.oldValue!);
      entry(
        impact === ResourceImpact.WILL_REPLACE ? 'replace' : 'may-replace',
        impact === ResourceImpact.WILL_REPLACE
          ? `replaced because ${causes} requires a new resource; the old one ${fate}.`
          : `may be replaced: ${causes} requires replacement in some cases; if so the old one ${fate}.`,
      );
    }

    for (const attribute of ['DeletionPolicy', 'UpdateReplacePolicy'] as const) {
      const before = effectivePolicy(attribute, change.oldValue!);
      const after = effectivePolicy(attribute, change.newValue!);
      if (isProtectivePolicy(before) && !isProtectivePolicy(after)) {
        entry(
          'policy-weakened',
          `${attribute} changes from ${code(before)} to ${code(after)}: the next ${attribute === 'DeletionPolicy' ? 'removal' : 'replacement'} deletes the data.`,
        );
      }
    }

    const conditionBefore = conditionName(change.oldValue?.Condition);
    const conditionAfter = conditionName(change.newValue?.Condition);
    if (conditionAfter !== undefined && conditionAfter !== conditionBefore) {
      entry('conditional-deletion', `gains the condition ${code(conditionAfter)}: when it is false, CloudFormation removes the resource from the stack and it ${removalFate(change.newValue!)}.`);
    }

    // A certain replacement is reported as such (the new resource's settings are its own); a possible one may well be an update.
    if (impact !== ResourceImpact.WILL_REPLACE) for (const reason of weakenedProtection(type, change.oldValue?.Properties, change.newValue?.Properties)) entry('protection-weakened', reason);
  });
  return dangerous;
}

type TemplateResource = { Type?: string; Condition?: unknown; DeletionPolicy?: unknown; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };

/**
 * A guarded resource whose condition keeps its name but whose definition in
 * the Conditions section changes: the resource itself shows no difference, yet
 * it is deleted if the new definition is false.
 */
function redefinedConditions(stack: string, before: Template | undefined, after: Template): DangerousChange[] {
  const section = (template: Template | undefined) => (template?.Conditions && typeof template.Conditions === 'object' ? (template.Conditions as Record<string, unknown>) : {});
  const resources = (template: Template | undefined) => (template?.Resources && typeof template.Resources === 'object' ? (template.Resources as Record<string, TemplateResource>) : {});
  const old = resources(before);
  const dangerous: DangerousChange[] = [];
  for (const [logicalId, resource] of Object.entries(resources(after))) {
    const name = conditionName(resource.Condition);
    if (name === undefined || !isGuardedType(resource.Type) || old[logicalId] === undefined || conditionName(old[logicalId].Condition) !== name) continue;
    if (JSON.stringify(section(before)[name]) === JSON.stringify(section(after)[name])) continue;
    const path = resource.Metadata?.[PATH_METADATA];
    dangerous.push({
      stack,
      logicalId,
      type: resource.Type!,
      kind: 'conditional-deletion',
      reason: `its condition ${code(name)} is redefined: if it becomes false, CloudFormation removes the resource from the stack and it ${removalFate(resource)}.`,
      path: typeof path === 'string' ? path : undefined,
    });
  }
  return dangerous;
}


/** A resource's `Condition` attribute (a condition name); anything else is shown as JSON. */
function conditionName(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Stateful resources, and the resources that protect them (backup plans and selections). */
/** Whether a removed bucket policy's bucket (by `Ref`) is removed from the template as well. */
/** Whether the resource a policy names by `Ref` in `property` (its bucket, its secret) is removed in the same diff. */
function holderRemovedToo(change: ResourceDifference, property: string, diff: TemplateDiff): boolean {
  const holder = change.oldValue?.Properties?.[property] as { Ref?: unknown } | undefined;
  if (typeof holder?.Ref !== 'string') return false;
  return diff.resources.get(holder.Ref)?.isRemoval === true;
}

function isGuardedType(type: string | undefined): boolean {
  return isStatefulType(type) || (type !== undefined && PROTECTION_RESOURCE_TYPES.includes(type));
}

/**
 * Termination protection of the stack, which the manifest (not the template)
 * carries: losing it lets a stack deletion delete everything not retained.
 */
function stackProtection(stack: StackTemplate, baseline: StackBaseline | undefined): DangerousChange[] {
  if (baseline?.terminationProtection !== true || stack.terminationProtection === true) return [];
  return [
    {
      stack: stack.displayName,
      logicalId: '(stack)',
      type: 'AWS::CloudFormation::Stack',
      kind: 'protection-weakened',
      reason: 'the stack loses termination protection: `cdk destroy` or a stack deletion would then delete it with everything it does not retain.',
    },
  ];
}

/**
 * Picks the added resource that most likely is the removed one under a new
 * logical id: same type, and the most identical properties (a renamed
 * construct keeps its configuration). Unrelated additions score lower.
 */
function pairRemoval(removed: ResourceDifference, additions: Map<string, ResourceDifference>): string | undefined {
  let best: { id: string; score: number } | undefined;
  const oldProperties = removed.oldValue?.Properties ?? {};
  for (const [id, added] of additions) {
    if (added.newResourceType !== removed.oldResourceType) continue;
    const newProperties = added.newValue?.Properties ?? {};
    const keys = new Set([...Object.keys(oldProperties), ...Object.keys(newProperties)]);
    let score = 0;
    for (const key of keys) if (JSON.stringify(oldProperties[key]) === JSON.stringify(newProperties[key])) score++;
    if (best === undefined || score > best.score) best = { id, score };
  }
  return best?.id;
}

function replacementCauses(change: ResourceDifference): string {
  const names: string[] = [];
  if (change.resourceTypeChanged) names.push('the resource type');
  for (const [name, difference] of Object.entries(change.propertyUpdates)) {
    if (difference.changeImpact === ResourceImpact.WILL_REPLACE || difference.changeImpact === ResourceImpact.MAY_REPLACE) {
      names.push(code(name));
    }
  }
  if (names.length === 0) return 'a change';
  return names.length === 1 ? `changing ${names[0]}` : `changing ${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function removalFate(resource: Parameters<typeof effectivePolicy>[1]): string {
  return fateUnder(effectivePolicy('DeletionPolicy', resource));
}

function replacementFate(resource: Parameters<typeof effectivePolicy>[1]): string {
  return fateUnder(effectivePolicy('UpdateReplacePolicy', resource));
}

function fateUnder(policy: string): string {
  switch (policy) {
    case 'Retain':
    case 'RetainExceptOnCreate':
      return `is kept but no longer managed by the stack (${policy})`;
    case 'Snapshot':
      return 'is deleted after a final snapshot (Snapshot)';
    case 'conditional':
      return 'is deleted or kept depending on a condition';
    default:
      return 'is DELETED with its data (policy Delete)';
  }
}
