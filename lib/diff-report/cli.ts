import { parseArgs } from 'node:util';
import { ALLOW_FLAG, type Allowance } from './render';

/** Command-line parsing for `npm run diff-report`; no file system access here. */

export const USAGE = [
  'usage: npm run diff-report -- --baseline <dir>|deployed [--assembly <dir>] [--stack <name>]... [--out <file>] [--json <file>] [--allow-stateful-changes]',
  '  --baseline <dir>          a cloud assembly (e.g. the base branch\'s cdk.out) or a directory of <stack>.template.json files',
  '  --baseline deployed       the templates currently deployed (CloudFormation GetTemplate; needs AWS credentials)',
  '  --assembly <dir>          the synthesized assembly to check (default cdk.out)',
  '  --stack <name>            only this stack and the stacks it depends on, as `cdk deploy <name>` deploys them (repeatable; default every stack)',
  '  --out <file>              Markdown report (default diff-report.md; also printed to stdout)',
  '  --json <file>             machine-readable summary for CI',
  `  ${ALLOW_FLAG}  exit 0 even if a stateful resource is replaced, removed or loses protection (an operator's decision on a laptop;`,
  '                            the pull-request gate accepts only a code owner\'s approval, see npm run stateful-gate)',
].join('\n');

export type Baseline = { readonly kind: 'deployed' } | { readonly kind: 'directory'; readonly dir: string };

export interface DiffReportOptions {
  readonly assemblyDir: string;
  readonly baseline: Baseline;
  /** Stacks to compare (with their dependencies); empty = every stack of the assembly. */
  readonly stacks: readonly string[];
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

/** What each flag that takes a value expects, for the message when the value is missing. */
const VALUE_FLAGS: Record<string, string> = {
  '--baseline': "'deployed', a cloud assembly directory or a directory of *.template.json files",
  '--assembly': 'a cloud assembly directory (default cdk.out)',
  '--stack': 'a stack name of the assembly',
  '--out': 'a file for the Markdown report',
  '--json': 'a file for the JSON summary',
};

export function parseDiffReportArgs(argv: readonly string[]): DiffReportOptions {
  // node's parser would call `--baseline --assembly x` "ambiguous"; say what is missing instead.
  argv.forEach((arg, index) => {
    const expected = VALUE_FLAGS[arg];
    const next = argv[index + 1];
    if (expected && (next === undefined || next.startsWith('--'))) throw new UsageError(`${arg} needs a value: ${expected}`);
  });
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        assembly: { type: 'string' },
        baseline: { type: 'string' },
        stack: { type: 'string', multiple: true },
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

  // No environment variable allows anything: CI once set one from a pull-request label that the author could add.
  const allowance: Allowance | undefined = values['allow-stateful-changes'] === true ? { source: 'flag' } : undefined;

  return {
    assemblyDir: (values.assembly as string | undefined) ?? 'cdk.out',
    baseline: baselineText === 'deployed' ? { kind: 'deployed' } : { kind: 'directory', dir: baselineText ?? '' },
    stacks: (values.stack as string[] | undefined) ?? [],
    outFile: (values.out as string | undefined) ?? 'diff-report.md',
    jsonFile: values.json as string | undefined,
    allowance,
    help,
  };
}
