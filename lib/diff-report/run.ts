import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BaselineTemplates, InputError, loadAssembly, loadBaselineDirectory, selectStacks } from './assembly';
import { type Baseline, parseDiffReportArgs, USAGE, UsageError } from './cli';
import { type AwsClients, loadDeployedBaseline } from './deployed';
import { diffStack } from './diff';
import { ALLOW_FLAG, allowedBy, dangerousChanges, type DiffReport, isBlocking, renderMarkdown, toJsonSummary, undeployableChanges } from './render';
import { listUndeployable } from './undeployable';

/**
 * The whole `diff-report` command as a function of its inputs, returning the
 * exit code; bin/diff-report.ts only supplies the real process and AWS clients.
 */

/** 0: nothing dangerous, or explicitly allowed. */
export const EXIT_OK = 0;
/** 1: a stateful resource would be replaced or removed and nobody allowed it. */
export const EXIT_DANGEROUS = 1;
/** 2: the command could not run: bad arguments, unreadable assembly or baseline, AWS credentials. */
export const EXIT_INPUT = 2;
/** 3: an update AWS refuses (undeployable.ts): the deploy would fail and roll back; no allowance changes that. Wins over 1. */
export const EXIT_UNDEPLOYABLE = 3;

export interface DiffReportDependencies {
  /** Receives the Markdown report. */
  readonly stdout: (text: string) => void;
  /** Receives one-line diagnostics. */
  readonly stderr: (line: string) => void;
  /** Only used with `--baseline deployed`. */
  readonly aws?: AwsClients;
}

export async function runDiffReport(argv: readonly string[], deps: DiffReportDependencies): Promise<number> {
  try {
    const options = parseDiffReportArgs(argv);
    if (options.help) {
      deps.stdout(`${USAGE}\n`);
      return EXIT_OK;
    }
    const report: DiffReport = { ...(await compareAssemblies(options.assemblyDir, options.baseline, deps.aws, options.stacks)), allowance: options.allowance };
    const markdown = writeReport(report, options.outFile, options.jsonFile);
    deps.stdout(markdown);

    const undeployable = undeployableChanges(report);
    if (undeployable.length > 0) {
      deps.stderr(
        `⛔ ${undeployable.length} update(s) that AWS refuses: ${listUndeployable(undeployable)}. ` +
          'The deploy would fail and roll the stack back; no allowance changes that (see the report).',
      );
    }
    const dangerous = dangerousChanges(report);
    if (isBlocking(report)) {
      deps.stderr(
        `🛑 ${dangerous.length} dangerous stateful change(s) would replace, remove or weaken the protection of data: ${dangerous.map((d) => `${d.stack}/${d.logicalId}`).join(', ')}. ` +
          `If intended: in a pull request, a code owner of the data stacks approves the commit; on a laptop, pass ${ALLOW_FLAG}.`,
      );
      return undeployable.length > 0 ? EXIT_UNDEPLOYABLE : EXIT_DANGEROUS;
    }
    if (dangerous.length > 0 && options.allowance) {
      deps.stderr(`⚠️ ${dangerous.length} dangerous stateful change(s) explicitly allowed by ${allowedBy(options.allowance)}.`);
    }
    return undeployable.length > 0 ? EXIT_UNDEPLOYABLE : EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError || error instanceof InputError) {
      deps.stderr(error.message);
      return EXIT_INPUT;
    }
    throw error;
  }
}

/**
 * The assembly compared with its baseline: every stack's changes and dangerous
 * changes. Throws InputError on anything it cannot read (exit 2).
 */
export async function compareAssemblies(
  assemblyDir: string,
  baselineSource: Baseline,
  aws?: AwsClients,
  stackNames: readonly string[] = [],
): Promise<Omit<DiffReport, 'allowance' | 'refusal'>> {
  const log = { notes: [] as string[] };
  const all = loadAssembly(assemblyDir, '--assembly', log);
  // Only what `cdk deploy <stacks>` would deploy: the deployed baseline is then read in those stacks' account only.
  const stacks = stackNames.length > 0 ? selectStacks(all, stackNames, '--stack') : all;
  if (stackNames.length > 0) log.notes.push(`Only ${stacks.map((s) => s.displayName).join(', ')}: what \`cdk deploy ${stackNames.join(' ')}\` deploys.`);

  let baseline: BaselineTemplates;
  if (baselineSource.kind === 'deployed') {
    if (!aws) throw new InputError('--baseline deployed: no AWS clients available');
    baseline = await loadDeployedBaseline(stacks, aws);
  } else {
    baseline = loadBaselineDirectory(baselineSource.dir, stacks);
  }
  return {
    baseline: baseline.description,
    stacks: stacks.map((stack) => diffStack(stack, baseline.find(stack))),
    // Against every stack of the assembly: a stack left out by --stack is not one that only the baseline has.
    stacksOnlyInBaseline: baseline.unmatched(all),
    notes: [...log.notes, ...baseline.notes],
  };
}

/** Writes the Markdown report (and the JSON summary when asked) and returns the Markdown. */
export function writeReport(report: DiffReport, outFile: string, jsonFile: string | undefined): string {
  const markdown = renderMarkdown(report);
  writeOutput(outFile, markdown, '--out');
  if (jsonFile) writeOutput(jsonFile, `${JSON.stringify(toJsonSummary(report), null, 2)}\n`, '--json');
  return markdown;
}

function writeOutput(file: string, content: string, flag: string): void {
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, content);
  } catch (error) {
    throw new InputError(`${flag}: cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
