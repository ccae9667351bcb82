import { fullDiff, ResourceImpact, type ResourceDifference, type TemplateDiff } from '@aws-cdk/cloudformation-diff';
import type { StackTemplate, Template } from './assembly';
import { code } from './markdown';
import { effectivePolicy, isProtectivePolicy, isStatefulType } from './stateful';

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

export type DangerKind = 'replace' | 'may-replace' | 'remove' | 'logical-id-change' | 'policy-weakened';

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
}

/** A change outside Resources: a parameter, output, condition, mapping or another top-level section. */
export interface OtherChange {
  readonly section: string;
  readonly id: string;
  readonly change: 'added' | 'removed' | 'changed';
}

const PATH_METADATA = 'aws:cdk:path';

export function diffStack(stack: StackTemplate, baseline: Template | undefined): StackDiff {
  const diff = fullDiff(baseline ?? {}, stack.template);
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
    dangerous: findDangerousChanges(stack.displayName, diff),
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
 * Every change that would destroy or detach the data of a stateful resource:
 * - replacement, certain or conditional (`MAY_REPLACE` is flagged too: for a
 *   database "may" is not a risk worth taking without a person looking);
 * - removal, including removals whose DeletionPolicy retains the resource,
 *   because the stack then stops managing (and backing up) it;
 * - a logical-id change, which the diff sees as a removal plus an addition of
 *   the same type: reported as one replacement naming both ids;
 * - a DeletionPolicy or UpdateReplacePolicy weakened from Retain/Snapshot, which
 *   loses nothing today but arms the next removal or replacement.
 */
export function findDangerousChanges(stack: string, diff: TemplateDiff): DangerousChange[] {
  const dangerous: DangerousChange[] = [];
  const additions = new Map<string, ResourceDifference>();
  diff.resources.forEachDifference((logicalId, change) => {
    if (change.isAddition && isStatefulType(change.newResourceType)) additions.set(logicalId, change);
  });

  diff.resources.forEachDifference((logicalId, change) => {
    const oldType = change.oldResourceType;
    if (!isStatefulType(oldType) || change.isAddition) return;
    const type = oldType!;
    const path = metadataPath(change);
    const entry = (kind: DangerKind, reason: string) => dangerous.push({ stack, logicalId, type, kind, reason, path });

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
    if (impact === ResourceImpact.WILL_REPLACE || impact === ResourceImpact.MAY_REPLACE) {
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
  });
  return dangerous;
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
