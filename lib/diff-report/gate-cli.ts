import * as fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Octokit } from '@octokit/rest';
import { GateApiError } from './allowance';
import { InputError } from './assembly';
import { UsageError } from './cli';
import { type GateCheckOptions, type GateTarget, type Repository, resolveGateTarget, runGateCheck } from './gate';
import { EXIT_INPUT, EXIT_OK } from './run';

/**
 * `npm run stateful-gate -- <target|check> ...`: the command line of the
 * pull-request gate (see gate.ts). The GitHub token comes from GATE_TOKEN (the
 * gate App's installation token in CI, `gh auth token` on a laptop); without
 * one nothing is read or published.
 */

export const GATE_USAGE = [
  'usage: npm run stateful-gate -- target --repository <owner/repo> --event <workflow_run event JSON> [--github-output <file>]',
  '       npm run stateful-gate -- check --repository <owner/repo> --pull-request <n> --head-sha <sha> --base-sha <sha>',
  '                                     (--assembly <dir> --baseline <dir> | --unavailable <reason>)',
  '                                     [--out <file>] [--json <file>] [--publish --bot-login <app-slug>[bot]] [--details-url <url>]',
  '  target   which pull request, commit and ci run a finished workflow run stands for (written as step outputs)',
  '  check    diff the pull request\'s assembly with the base commit\'s, decide the code-owner allowance, and',
  '           with --publish post the check run "stateful-change gate" and the pull-request comment',
  '  GATE_TOKEN (environment) is the GitHub token; the command refuses to run without it.',
].join('\n');

export interface GateCliDependencies {
  readonly environment: NodeJS.ProcessEnv;
  /** Creates the API client once the token is known (tests pass a client whose fetch is mocked). */
  readonly github: (token: string) => Octokit;
  readonly stdout: (text: string) => void;
  readonly stderr: (line: string) => void;
}

export async function runGateCli(argv: readonly string[], deps: GateCliDependencies): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === '--help' || command === '-h' || command === undefined) {
      deps.stdout(`${GATE_USAGE}\n`);
      return command === undefined ? EXIT_INPUT : EXIT_OK;
    }
    const token = deps.environment.GATE_TOKEN?.trim();
    if (command !== 'target' && command !== 'check') throw new UsageError(`unknown command '${command}': expected target or check (see --help)`);
    const values = parse(command, rest);
    if (!token) throw new UsageError('GATE_TOKEN is not set: the gate reads reviews and publishes its verdict with a GitHub token and never runs without one');
    const github = deps.github(token);
    const repository = parseRepository(values.repository);

    if (command === 'target') {
      const event = readEvent(required(values, 'event'));
      const target = await resolveGateTarget(github, repository, event);
      deps.stdout(`${JSON.stringify(target)}\n`);
      if (typeof values['github-output'] === 'string') fs.appendFileSync(values['github-output'], stepOutputs(target));
      return EXIT_OK;
    }
    return await runGateCheck(github, checkOptions(repository, values), { stdout: deps.stdout, stderr: deps.stderr });
  } catch (error) {
    if (error instanceof UsageError || error instanceof InputError || error instanceof GateApiError) {
      deps.stderr(error.message);
      return EXIT_INPUT;
    }
    throw error;
  }
}

type Values = Record<string, string | boolean | undefined>;

function parse(command: 'target' | 'check', argv: readonly string[]): Values {
  const text = { type: 'string' } as const;
  const options: NonNullable<ParseArgsConfig['options']> =
    command === 'target'
      ? { repository: text, event: text, 'github-output': text }
      : {
          repository: text,
          'pull-request': text,
          'head-sha': text,
          'base-sha': text,
          assembly: text,
          baseline: text,
          unavailable: text,
          out: text,
          json: text,
          publish: { type: 'boolean' },
          'bot-login': text,
          'details-url': text,
        };
  for (const [index, arg] of argv.entries()) {
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    const next = argv[index + 1];
    if (name && options[name]?.type === 'string' && (next === undefined || next.startsWith('--'))) {
      throw new UsageError(`--${name} needs a value (see --help)`);
    }
  }
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0]} (see --help)`);
  }
}

function required(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required (see --help)`);
  return value;
}

function parseRepository(value: string | boolean | undefined): Repository {
  const match = /^([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)\/([A-Za-z0-9._-]+)$/.exec(typeof value === 'string' ? value : '');
  if (!match || match[2] === '.' || match[2] === '..') throw new UsageError(`--repository must be <owner>/<repository> as GitHub spells it, got '${String(value ?? '')}'`);
  return { owner: match[1], repo: match[2] };
}

function checkOptions(repository: Repository, values: Values): GateCheckOptions {
  const pullNumber = Number(required(values, 'pull-request'));
  if (!Number.isInteger(pullNumber) || pullNumber < 1) throw new UsageError(`--pull-request must be a pull request number, got '${String(values['pull-request'])}'`);
  const sha = (name: string) => {
    const value = required(values, name);
    if (!/^[0-9a-f]{40}$/.test(value)) throw new UsageError(`--${name} must be a full 40-character commit SHA, got '${value}'`);
    return value;
  };
  const unavailable = typeof values.unavailable === 'string' ? values.unavailable : undefined;
  if (!unavailable && (!values.assembly || !values.baseline)) throw new UsageError('check needs --assembly and --baseline, or --unavailable <reason> (see --help)');
  if (values.publish === true && !values['bot-login']) throw new UsageError('--publish needs --bot-login <app-slug>[bot], so that the gate updates only its own comment');
  return {
    ...repository,
    pullNumber,
    headSha: sha('head-sha'),
    baseSha: sha('base-sha'),
    assemblyDir: values.assembly as string | undefined,
    baselineDir: values.baseline as string | undefined,
    unavailable,
    outFile: (values.out as string | undefined) ?? 'stateful-change-report.md',
    jsonFile: values.json as string | undefined,
    publish: values.publish === true,
    botLogin: values['bot-login'] as string | undefined,
    detailsUrl: values['details-url'] as string | undefined,
  };
}

function readEvent(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InputError(`--event: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/**
 * Step outputs for the workflow. Every value is a number, a SHA, a branch name
 * checked against the protected list, or a reason on one line: nothing an
 * attacker could use to inject a second output.
 */
export function stepOutputs(target: GateTarget): string {
  const lines = [`action=${target.action}`];
  if (target.action !== 'skip') lines.push(`pull-request=${target.pullNumber}`, `head-sha=${target.headSha}`, `base-sha=${target.baseSha}`);
  if (target.action === 'check') lines.push(`base-ref=${target.baseRef}`, `ci-run-id=${target.ciRunId}`);
  if (target.action !== 'check') lines.push(`reason=${target.reason.replace(/[\r\n]+/g, ' ')}`);
  return `${lines.join('\n')}\n`;
}
