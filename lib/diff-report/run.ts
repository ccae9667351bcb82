import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BaselineTemplates, InputError, loadAssembly, loadBaselineDirectory } from './assembly';
import { parseDiffReportArgs, USAGE, UsageError } from './cli';
import { type AwsClients, loadDeployedBaseline } from './deployed';
import { diffStack } from './diff';
import { ALLOW_ENV, ALLOW_FLAG, ALLOW_LABEL, dangerousChanges, describeAllowance, type DiffReport, isBlocking, renderMarkdown, toJsonSummary } from './render';

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

export interface DiffReportDependencies {
  readonly environment: NodeJS.ProcessEnv;
  /** Receives the Markdown report. */
  readonly stdout: (text: string) => void;
  /** Receives one-line diagnostics. */
  readonly stderr: (line: string) => void;
  /** Only used with `--baseline deployed`. */
  readonly aws?: AwsClients;
}

export async function runDiffReport(argv: readonly string[], deps: DiffReportDependencies): Promise<number> {
  try {
    const options = parseDiffReportArgs(argv, deps.environment);
    if (options.help) {
      deps.stdout(`${USAGE}\n`);
      return EXIT_OK;
    }
    const stacks = loadAssembly(options.assemblyDir, '--assembly');
    if (stacks.length === 0) throw new InputError(`--assembly: '${options.assemblyDir}' contains no CloudFormation stacks`);

    let baseline: BaselineTemplates;
    if (options.baseline.kind === 'deployed') {
      if (!deps.aws) throw new InputError('--baseline deployed: no AWS clients available');
      baseline = await loadDeployedBaseline(stacks, deps.aws);
    } else {
      baseline = loadBaselineDirectory(options.baseline.dir);
    }

    const report: DiffReport = {
      baseline: baseline.description,
      stacks: stacks.map((stack) => diffStack(stack, baseline.find(stack))),
      stacksOnlyInBaseline: baseline.unmatched(stacks),
      allowance: options.allowance,
    };
    const markdown = renderMarkdown(report);
    writeOutput(options.outFile, markdown, '--out');
    if (options.jsonFile) writeOutput(options.jsonFile, `${JSON.stringify(toJsonSummary(report), null, 2)}\n`, '--json');
    deps.stdout(markdown);

    const dangerous = dangerousChanges(report);
    if (isBlocking(report)) {
      deps.stderr(
        `🛑 ${dangerous.length} stateful resource change(s) would replace or remove data: ${dangerous.map((d) => `${d.stack}/${d.logicalId}`).join(', ')}. ` +
          `If intended, add the PR label '${ALLOW_LABEL}' (${ALLOW_ENV}=true) or pass ${ALLOW_FLAG}.`,
      );
      return EXIT_DANGEROUS;
    }
    if (dangerous.length > 0 && options.allowance) {
      deps.stderr(`⚠️ ${dangerous.length} stateful resource change(s) explicitly allowed by ${describeAllowance(options.allowance).replace(/`/g, '')}.`);
    }
    return EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError || error instanceof InputError) {
      deps.stderr(error.message);
      return EXIT_INPUT;
    }
    throw error;
  }
}

function writeOutput(file: string, content: string, flag: string): void {
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, content);
  } catch (error) {
    throw new InputError(`${flag}: cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
