import { type ChangedAttribute, type DangerKind, type DangerousChange, isMetadataOnly, type ResourceChangeRow, type StackDiff } from './diff';

/**
 * Markdown for the pull-request comment and the JSON summary the CI reads.
 * Reviewers skim: the stateful warning must be the first thing they see, and
 * everything else is one section per stack.
 */

/** Who allowed stateful changes; shown in the banner so the decision is traceable. */
export type Allowance = { readonly source: 'flag' } | { readonly source: 'env'; readonly value: string };

export interface DiffReport {
  /** Human description of what the assembly was compared with. */
  readonly baseline: string;
  readonly stacks: readonly StackDiff[];
  /** Baseline stacks the assembly no longer contains: `cdk deploy` does not delete them. */
  readonly stacksOnlyInBaseline: readonly string[];
  readonly allowance?: Allowance;
}

export const ALLOW_LABEL = 'allow-stateful-change';
export const ALLOW_FLAG = '--allow-stateful-changes';
export const ALLOW_ENV = 'ALLOW_STATEFUL_CHANGES';

export function dangerousChanges(report: DiffReport): DangerousChange[] {
  return report.stacks.flatMap((stack) => stack.dangerous);
}

/** True when the report must fail the pipeline. */
export function isBlocking(report: DiffReport): boolean {
  return dangerousChanges(report).length > 0 && report.allowance === undefined;
}

export function describeAllowance(allowance: Allowance): string {
  return allowance.source === 'flag'
    ? `the \`${ALLOW_FLAG}\` flag`
    : `\`${ALLOW_ENV}=${allowance.value}\` (set by CI when the pull request carries the label \`${ALLOW_LABEL}\`)`;
}

const DANGER_LABEL: Record<DangerKind, string> = {
  replace: 'REPLACE',
  'may-replace': 'MAY REPLACE',
  remove: 'REMOVE',
  'logical-id-change': 'REPLACE (logical ID change)',
  'policy-weakened': 'RETENTION WEAKENED',
};

export function renderMarkdown(report: DiffReport): string {
  const lines: string[] = [];
  const dangerous = dangerousChanges(report);
  if (dangerous.length > 0) lines.push(...renderBanner(dangerous, report.allowance), '');

  lines.push('# Infrastructure diff', '', `Compared with ${report.baseline}.`, '');
  lines.push(...renderSummary(report), '');
  if (report.stacksOnlyInBaseline.length > 0) {
    lines.push(
      '> [!NOTE]',
      `> No longer in the app: ${report.stacksOnlyInBaseline.map(code).join(', ')}. \`cdk deploy\` leaves such stacks in place; deleting one is a separate, manual decision.`,
      '',
    );
  }
  for (const stack of report.stacks) lines.push(...renderStack(stack), '');
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

function renderBanner(dangerous: readonly DangerousChange[], allowance: Allowance | undefined): string[] {
  const count = dangerous.length;
  const noun = count === 1 ? 'change' : 'changes';
  const lines = [
    '> [!CAUTION]',
    allowance
      ? `> **🛑 ${count} dangerous stateful ${noun}: explicitly allowed**`
      : `> **🛑 ${count} dangerous stateful ${noun}: this would replace or remove data**`,
    '>',
  ];
  lines.push(
    allowance
      ? `> Allowed by ${describeAllowance(allowance)}. The pipeline will **not** stop this deployment: make sure every line below is intended and that a restorable backup exists.`
      : '> Deploying this loses or detaches the data of the resources below. The pipeline refuses it until a person explicitly allows it.',
    '>',
    '> | Stack | Resource | Type | Change | What happens |',
    '> |---|---|---|---|---|',
  );
  for (const change of dangerous) {
    lines.push(
      `> | ${cell(code(change.stack))} | ${cell(resourceName(change.logicalId, change.path))} | ${cell(change.type)} | **${DANGER_LABEL[change.kind]}** | ${cell(change.reason)} |`,
    );
  }
  if (!allowance) {
    lines.push(
      '>',
      `> If this is intended, add the label \`${ALLOW_LABEL}\` to the pull request (CI then sets \`${ALLOW_ENV}=true\`), or run with \`${ALLOW_FLAG}\`. Otherwise revert the change; a renamed construct can keep its old logical ID with \`overrideLogicalId\`.`,
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
  const heading = stack.stackName === stack.stack ? `## ${stack.stack}` : `## ${stack.stack} (stack \`${stack.stackName}\`)`;
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
      lines.push(`| ${marker}${cell(resourceName(row.logicalId, row.path))} | ${cell(row.type)} | ${changeLabel(row)} | ${cell(attributeList(row.attributes))} |`);
    }
    lines.push('');
  }
  if (stack.counts.metadataOnly > 0) {
    const n = stack.counts.metadataOnly;
    lines.push(`_${n} resource${n === 1 ? '' : 's'} changed only ${n === 1 ? 'its' : 'their'} Metadata (construct paths, cdk-nag suppressions); CloudFormation does not touch ${n === 1 ? 'it' : 'them'}._`, '');
  }
  if (stack.iamStatements.length > 0) {
    lines.push('### IAM statement changes', '', '| | Resource | Effect | Action | Principal | Condition |', '|---|---|---|---|---|---|');
    for (const row of stack.iamStatements) lines.push(`| ${row.map((value, i) => cell(i === 0 ? value : codeLines(value))).join(' | ')} |`);
    lines.push('');
  }
  if (stack.managedPolicies.length > 0) {
    lines.push('### Managed policy changes', '', '| | Resource | Managed policy ARN |', '|---|---|---|');
    for (const row of stack.managedPolicies) lines.push(`| ${row.map((value, i) => cell(i === 0 ? value : codeLines(value))).join(' | ')} |`);
    lines.push('');
  }
  if (stack.securityGroupRules.length > 0) {
    lines.push('### Security group rule changes', '', '| | Group | Direction | Protocol | Peer |', '|---|---|---|---|---|');
    for (const row of stack.securityGroupRules) lines.push(`| ${row.map((value, i) => cell(i === 0 || i === 2 ? value : codeLines(value))).join(' | ')} |`);
    lines.push('');
  }
  if (stack.otherChanges.length > 0) {
    lines.push('### Other template changes', '', ...stack.otherChanges.map((line) => `- ${line}`), '');
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
      const name = a.isProperty ? a.name : `_${a.name}_`;
      if (a.replacement === 'always') return `${name} (replaces)`;
      if (a.replacement === 'conditional') return `${name} (may replace)`;
      return name;
    })
    .join(', ');
}

function resourceName(logicalId: string, path: string | undefined): string {
  return path ? `${code(logicalId)}<br><sub>${escapeHtml(path)}</sub>` : code(logicalId);
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

/** Multi-line values (several actions or resources) as one code span per line. */
function codeLines(text: string): string {
  if (text === '') return '';
  return text
    .split('\n')
    .map((line) => (line.trim() === '' ? '' : code(line.trim())))
    .filter((line) => line !== '')
    .join('<br>');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A table cell cannot hold a pipe or a newline. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
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
  readonly dangerousChanges: readonly DangerousChange[];
}

export function toJsonSummary(report: DiffReport): JsonSummary {
  return {
    baseline: report.baseline,
    blocking: isBlocking(report),
    allowed: report.allowance !== undefined,
    allowedBy: report.allowance === undefined ? null : report.allowance.source === 'flag' ? ALLOW_FLAG : `${ALLOW_ENV}=${report.allowance.value}`,
    stacks: report.stacks.map((stack) => ({
      stack: stack.stack,
      stackName: stack.stackName,
      baselineFound: stack.baselineFound,
      ...stack.counts,
      iamChanges: stack.iamStatements.length + stack.managedPolicies.length,
      securityGroupChanges: stack.securityGroupRules.length,
    })),
    stacksOnlyInBaseline: report.stacksOnlyInBaseline,
    dangerousChanges: dangerousChanges(report),
  };
}
