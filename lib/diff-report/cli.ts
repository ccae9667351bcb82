import { parseArgs } from 'node:util';
import { ALLOW_ENV, ALLOW_FLAG, type Allowance } from './render';

/** Command-line parsing for `npm run diff-report`; no file system access here. */

export const USAGE = [
  'usage: npm run diff-report -- --baseline <dir>|deployed [--assembly <dir>] [--out <file>] [--json <file>] [--allow-stateful-changes]',
  '  --baseline <dir>          a cloud assembly (e.g. the base branch\'s cdk.out) or a directory of <stack>.template.json files',
  '  --baseline deployed       the templates currently deployed (CloudFormation GetTemplate; needs AWS credentials)',
  '  --assembly <dir>          the synthesized assembly to check (default cdk.out)',
  '  --out <file>              Markdown report (default diff-report.md; also printed to stdout)',
  '  --json <file>             machine-readable summary for CI',
  `  ${ALLOW_FLAG}  exit 0 even if a stateful resource is replaced or removed (also ${ALLOW_ENV}=true)`,
].join('\n');

export type Baseline = { readonly kind: 'deployed' } | { readonly kind: 'directory'; readonly dir: string };

export interface DiffReportOptions {
  readonly assemblyDir: string;
  readonly baseline: Baseline;
  readonly outFile: string;
  readonly jsonFile?: string;
  readonly allowance?: Allowance;
  readonly help: boolean;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const TRUE_VALUES = ['true', '1', 'yes'];
const FALSE_VALUES = ['false', '0', 'no', ''];

export function parseDiffReportArgs(argv: readonly string[], environment: NodeJS.ProcessEnv = {}): DiffReportOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        assembly: { type: 'string' },
        baseline: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'string' },
        'allow-stateful-changes': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0]} (see --help)`);
  }
  const help = values.help === true;
  const baselineText = values.baseline as string | undefined;
  if (!help && (baselineText === undefined || baselineText.trim() === '')) {
    throw new UsageError("--baseline is required: 'deployed', a cloud assembly directory or a directory of *.template.json files");
  }
  for (const flag of ['assembly', 'out', 'json'] as const) {
    if (values[flag] !== undefined && String(values[flag]).trim() === '') throw new UsageError(`--${flag} must not be empty`);
  }

  // A misspelt value ("ture") must not silently block or silently allow: reject it.
  const envValue = environment[ALLOW_ENV];
  let allowance: Allowance | undefined;
  if (values['allow-stateful-changes'] === true) {
    allowance = { source: 'flag' };
  } else if (envValue !== undefined) {
    const normalized = envValue.trim().toLowerCase();
    if (TRUE_VALUES.includes(normalized)) allowance = { source: 'env', value: envValue.trim() };
    else if (!FALSE_VALUES.includes(normalized)) {
      throw new UsageError(`${ALLOW_ENV} must be true or false, got '${envValue}'`);
    }
  }

  return {
    assemblyDir: (values.assembly as string | undefined) ?? 'cdk.out',
    baseline: baselineText === 'deployed' ? { kind: 'deployed' } : { kind: 'directory', dir: baselineText ?? '' },
    outFile: (values.out as string | undefined) ?? 'diff-report.md',
    jsonFile: values.json as string | undefined,
    allowance,
    help,
  };
}
