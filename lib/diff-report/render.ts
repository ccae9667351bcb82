import type { AllowanceDecision, CountedApproval } from './allowance';
import { type ChangedAttribute, type DangerKind, type DangerousChange, isMetadataOnly, type ResourceChangeRow, type StackDiff } from './diff';
import { cell, code, codeLines, text } from './markdown';
import type { UndeployableChange } from './undeployable';

/**
 * Markdown for the pull-request comment and the JSON summary the CI reads.
 * Reviewers skim: the stateful warning must be the first thing they see, and
 * everything else is one section per stack.
 */

/**
 * Who allowed stateful changes; shown in the banner so the decision is traceable.
 * - `flag`: an operator ran the command with --allow-stateful-changes (a laptop, never the pipeline);
 * - `code-owner-approval`: the pull-request gate found approvals of the checked commit by code owners of the data stacks.
 */
export type Allowance =
  | { readonly source: 'flag' }
  | { readonly source: 'code-owner-approval'; readonly headSha: string; readonly approvals: readonly CountedApproval[] };

export interface DiffReport {
  /** Human description of what the assembly was compared with. */
  readonly baseline: string;
  readonly stacks: readonly StackDiff[];
  /** Baseline stacks the assembly no longer contains: `cdk deploy` does not delete them. */
  readonly stacksOnlyInBaseline: readonly string[];
  /** What reading the inputs had to do or found (Markdown): unwrapped saved templates, stacks absent from the baseline. */
  readonly notes?: readonly string[];
  readonly allowance?: Allowance;
  /** The pull-request gate's decision when it did not allow the changes: why, and which reviews did not count. */
  readonly refusal?: AllowanceDecision;
}

export const ALLOW_FLAG = '--allow-stateful-changes';

export function dangerousChanges(report: DiffReport): DangerousChange[] {
  return report.stacks.flatMap((stack) => stack.dangerous);
}

/** Updates AWS refuses, over every stack (undeployable.ts): the deploy fails whatever is allowed. */
export function undeployableChanges(report: DiffReport): UndeployableChange[] {
  return report.stacks.flatMap((stack) => stack.undeployable);
}

/** True when the report must fail the pipeline. */
export function isBlocking(report: DiffReport): boolean {
  return dangerousChanges(report).length > 0 && report.allowance === undefined;
}

/** Markdown naming who allowed the changes. */
export function describeAllowance(allowance: Allowance): string {
  if (allowance.source === 'flag') return `the \`${ALLOW_FLAG}\` flag`;
  const who = allowance.approvals.map((a) => `${a.url ? `[@${text(a.login)}](${a.url})` : `@${text(a.login)}`} (code owner as ${text(a.as)})`);
  return `the approval of commit ${code(allowance.headSha.slice(0, 12))} by ${who.join(', ')}`;
}

/** The same as plain text, for logs and the JSON summary. */
export function allowedBy(allowance: Allowance): string {
  if (allowance.source === 'flag') return ALLOW_FLAG;
  return `code owner approval of ${allowance.headSha.slice(0, 12)} by ${allowance.approvals.map((a) => `@${a.login} (as ${a.as})`).join(', ')}`;
}

const DANGER_LABEL: Record<DangerKind, string> = {
  replace: 'REPLACE',
  'may-replace': 'MAY REPLACE',
  remove: 'REMOVE',
  'logical-id-change': 'REPLACE (logical ID change)',
  'policy-weakened': 'RETENTION WEAKENED',
  'protection-weakened': 'PROTECTION WEAKENED',
  'conditional-deletion': 'MAY BE DELETED (condition)',
};

export function renderMarkdown(report: DiffReport): string {
  const lines: string[] = [];
  const undeployable = undeployableChanges(report);
  if (undeployable.length > 0) lines.push(...renderUndeployable(undeployable), '');
  const dangerous = dangerousChanges(report);
  if (dangerous.length > 0) lines.push(...renderBanner(report, dangerous), '');

  lines.push('# Infrastructure diff', '', `Compared with ${report.baseline}.`, '');
  lines.push(...renderSummary(report), '');
  if (report.stacksOnlyInBaseline.length > 0) {
    lines.push(
      '> [!NOTE]',
      `> No longer in the app: ${report.stacksOnlyInBaseline.map((name) => code(name)).join(', ')}. \`cdk deploy\` leaves such stacks in place; deleting one is a separate, manual decision.`,
      '',
    );
  }
  if ((report.notes ?? []).length > 0) lines.push('> [!NOTE]', ...(report.notes ?? []).map((note) => `> - ${note}`), '');
  for (const stack of report.stacks) lines.push(...renderStack(stack), '');
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

function renderUndeployable(changes: readonly UndeployableChange[]): string[] {
  const count = changes.length;
  return [
    '> [!WARNING]',
    `> **⛔ ${count} ${count === 1 ? 'update' : 'updates'} that AWS refuses: this deploy would fail**`,
    '>',
    '> CloudFormation would send the changes below to an API that refuses them, fail the stack update and roll the stack back. No approval or flag changes that: change the template instead.',
    '>',
    '> | Stack | Resource | Refused properties | Why |',
    '> |---|---|---|---|',
    ...changes.map(
      (change) =>
        `> | ${cell(code(change.stack))} | ${cell(resourceName(change.logicalId, change.path))} | ${cell(change.properties.map((p) => code(p)).join(', '))} | ${cell(change.reason)} |`,
    ),
  ];
}

function renderBanner(report: DiffReport, dangerous: readonly DangerousChange[]): string[] {
  const { allowance, refusal } = report;
  const count = dangerous.length;
  const noun = count === 1 ? 'change' : 'changes';
  const lines = [
    '> [!CAUTION]',
    allowance
      ? `> **🛑 ${count} dangerous stateful ${noun}: explicitly allowed**`
      : `> **🛑 ${count} dangerous stateful ${noun}: this would replace, remove or weaken the protection of data**`,
    '>',
  ];
  lines.push(
    allowance
      ? `> Allowed by ${describeAllowance(allowance)}. The pipeline will **not** stop this deployment: make sure every line below is intended and that a restorable backup exists.`
      : '> Deploying this loses, detaches or weakens the protection of the data of the resources below. The pipeline refuses it until a code owner of the data stacks approves this exact commit.',
    '>',
    '> | Stack | Resource | Type | Change | What happens |',
    '> |---|---|---|---|---|',
  );
  for (const change of dangerous) {
    lines.push(
      `> | ${cell(code(change.stack))} | ${cell(resourceName(change.logicalId, change.path))} | ${cell(code(change.type))} | **${DANGER_LABEL[change.kind]}** | ${cell(change.reason)} |`,
    );
  }
  if (refusal) {
    lines.push('>', `> **Not allowed:** ${text(refusal.reason ?? 'no allowance')}.`);
    for (const review of refusal.ignored) lines.push(`> - the approval of @${text(review.login)} does not count: ${text(review.reason)}`);
  }
  if (!allowance) {
    lines.push(
      '>',
      refusal
        ? `> If this is intended, a code owner of the data stacks (${refusal.owners.map(text).join(', ') || 'see CODEOWNERS'}) approves the pull request at this commit; the gate runs again on the review. A new push needs a new approval. Otherwise revert the change; a renamed construct can keep its old logical ID with \`overrideLogicalId\`.`
        : `> If this is intended, a code owner of the data stacks approves the pull request at this commit (the pull-request gate), or an operator runs with \`${ALLOW_FLAG}\`. Otherwise revert the change; a renamed construct can keep its old logical ID with \`overrideLogicalId\`.`,
    );
  }
  return lines;
}

function renderSummary(report: DiffReport): string[] {
  const lines = ['| Stack | Baseline | Added | Changed | Replaced | Removed | IAM | Security groups |', '|---|---|---:|---:|---:|---:|---:|---:|'];
  for (const stack of report.stacks) {
    const { added, changed, replaced, removed } = stack.counts;
    const iam = stack.iamStatements.length + stack.managedPolicies.length;
    lines.push(
      `| ${cell(code(stack.stack))}${stack.dangerous.length > 0 ? ' 🛑' : ''} | ${stack.baselineFound ? 'found' : 'none (all new)'} | ${added} | ${changed} | ${replaced} | ${removed} | ${iam} | ${stack.securityGroupRules.length} |`,
    );
  }
  return lines;
}

function renderStack(stack: StackDiff): string[] {
  const heading = stack.stackName === stack.stack ? `## ${code(stack.stack)}` : `## ${code(stack.stack)} (stack ${code(stack.stackName)})`;
  const lines = [heading, ''];
  if (!stack.baselineFound) lines.push('_Not in the baseline: every resource is new._', '');
  const { added, changed, replaced, removed } = stack.counts;
  if (stack.resources.length === 0 && stack.otherChanges.length === 0) {
    lines.push('No changes.');
    return lines;
  }
  lines.push(`**${added}** added, **${changed}** changed (${replaced} replaced), **${removed}** removed.`, '');

  // Metadata-only changes (construct paths, cdk-nag suppressions) can be
  // hundreds of rows that deploy nothing; one line keeps the real changes visible.
  const rows = stack.resources.filter((row) => !isMetadataOnly(row));
  if (rows.length > 0) {
    const dangerousIds = new Set(stack.dangerous.map((d) => d.logicalId));
    lines.push('| Resource | Type | Change | Properties |', '|---|---|---|---|');
    for (const row of rows) {
      const marker = dangerousIds.has(row.logicalId) ? '🛑 ' : '';
      lines.push(`| ${marker}${cell(resourceName(row.logicalId, row.path))} | ${cell(code(row.type))} | ${changeLabel(row)} | ${cell(attributeList(row.attributes))} |`);
    }
    lines.push('');
  }
  if (stack.counts.metadataOnly > 0) {
    const n = stack.counts.metadataOnly;
    lines.push(`_${n} resource${n === 1 ? '' : 's'} changed only ${n === 1 ? 'its' : 'their'} Metadata (construct paths, cdk-nag suppressions); CloudFormation does not touch ${n === 1 ? 'it' : 'them'}._`, '');
  }
  if (stack.iamStatements.length > 0) {
    lines.push('### IAM statement changes', '', '| | Resource | Effect | Action | Principal | Condition |', '|---|---|---|---|---|---|');
    for (const row of stack.iamStatements) lines.push(`| ${row.map((value, i) => cell(i === 0 ? text(value) : codeLines(value))).join(' | ')} |`);
    lines.push('');
  }
  if (stack.managedPolicies.length > 0) {
    lines.push('### Managed policy changes', '', '| | Resource | Managed policy ARN |', '|---|---|---|');
    for (const row of stack.managedPolicies) lines.push(`| ${row.map((value, i) => cell(i === 0 ? text(value) : codeLines(value))).join(' | ')} |`);
    lines.push('');
  }
  if (stack.securityGroupRules.length > 0) {
    lines.push('### Security group rule changes', '', '| | Group | Direction | Protocol | Peer |', '|---|---|---|---|---|');
    for (const row of stack.securityGroupRules) lines.push(`| ${row.map((value, i) => cell(i === 0 || i === 2 ? text(value) : codeLines(value))).join(' | ')} |`);
    lines.push('');
  }
  if (stack.otherChanges.length > 0) {
    lines.push('### Other template changes', '', ...stack.otherChanges.map((change) => `- ${change.section} ${code(change.id)}: ${change.change}`), '');
  }
  return lines;
}

function changeLabel(row: ResourceChangeRow): string {
  switch (row.change) {
    case 'add':
      return 'add';
    case 'modify':
      return 'modify';
    case 'replace':
      return '**REPLACE**';
    case 'may-replace':
      return '**MAY REPLACE**';
    case 'remove':
      return row.orphaned ? 'remove (retained, orphaned)' : 'remove';
  }
}

function attributeList(attributes: readonly ChangedAttribute[]): string {
  return attributes
    .map((a) => {
      const name = a.isProperty ? code(a.name) : `_${code(a.name)}_`;
      if (a.replacement === 'always') return `${name} (replaces)`;
      if (a.replacement === 'conditional') return `${name} (may replace)`;
      return name;
    })
    .join(', ');
}

function resourceName(logicalId: string, path: string | undefined): string {
  return path ? `${code(logicalId)}<br><sub>${code(path)}</sub>` : code(logicalId);
}

export interface JsonSummary {
  readonly baseline: string;
  /** True when the pipeline must stop: dangerous changes and no allowance. */
  readonly blocking: boolean;
  readonly allowed: boolean;
  readonly allowedBy: string | null;
  readonly stacks: ReadonlyArray<{
    readonly stack: string;
    readonly stackName: string;
    readonly baselineFound: boolean;
    readonly added: number;
    readonly changed: number;
    readonly replaced: number;
    readonly removed: number;
    readonly metadataOnly: number;
    readonly iamChanges: number;
    readonly securityGroupChanges: number;
  }>;
  readonly stacksOnlyInBaseline: readonly string[];
  readonly notes: readonly string[];
  readonly dangerousChanges: readonly DangerousChange[];
  /** Updates AWS refuses: the deploy would fail (exit 3). */
  readonly undeployableChanges: readonly UndeployableChange[];
}

export function toJsonSummary(report: DiffReport): JsonSummary {
  return {
    baseline: report.baseline,
    blocking: isBlocking(report),
    allowed: report.allowance !== undefined,
    allowedBy: report.allowance === undefined ? null : allowedBy(report.allowance),
    stacks: report.stacks.map((stack) => ({
      stack: stack.stack,
      stackName: stack.stackName,
      baselineFound: stack.baselineFound,
      ...stack.counts,
      iamChanges: stack.iamStatements.length + stack.managedPolicies.length,
      securityGroupChanges: stack.securityGroupRules.length,
    })),
    stacksOnlyInBaseline: report.stacksOnlyInBaseline,
    notes: report.notes ?? [],
    dangerousChanges: dangerousChanges(report),
    undeployableChanges: undeployableChanges(report),
  };
}
