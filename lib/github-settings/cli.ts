import { parseArgs } from 'node:util';
import type { Octokit } from '@octokit/rest';
import type { DesiredSettings } from './desired';
import { applyFindings, type Finding, inspectSettings, SettingsApiError } from './settings';

/**
 * `npm run github-settings -- [--check | --apply] [--gate-app-id <id>]`: the
 * repository settings the pipeline relies on (lib/github-settings/desired.ts),
 * compared with what GitHub reports.
 *
 * - no flag: a dry run; prints each difference and what --apply would do; exit 0.
 * - `--check`: the same, exit 1 when anything differs (for a person or a schedule).
 * - `--apply`: makes the changes it can, re-reads everything and exits 1 when
 *   something is still different (secrets: only a person can set their values).
 *
 * GITHUB_TOKEN is a token of a repository administrator (`gh auth token`); the
 * tool refuses to run without one. Exit 2: bad arguments or a GitHub refusal.
 */

export const EXIT_SETTINGS_OK = 0;
export const EXIT_SETTINGS_DIFFER = 1;
export const EXIT_SETTINGS_INPUT = 2;

export const SETTINGS_USAGE = [
  'usage: npm run github-settings -- [--check | --apply] [--gate-app-id <id>]',
  '  (no flag)      dry run: show each setting that differs and what --apply would do (exit 0)',
  '  --check        exit 1 when any setting differs',
  '  --apply        change what differs, then check again (exit 1 when something still differs)',
  '  --gate-app-id  the numeric id of the stateful-change gate GitHub App (to create or repair the ruleset)',
  '  GITHUB_TOKEN (environment): a token of a repository administrator, e.g. $(gh auth token)',
].join('\n');

export interface SettingsCliDependencies {
  readonly environment: NodeJS.ProcessEnv;
  readonly desired: DesiredSettings;
  readonly github: (token: string) => Octokit;
  readonly stdout: (text: string) => void;
  readonly stderr: (line: string) => void;
}

class UsageError extends Error {}

export async function runSettingsCli(argv: readonly string[], deps: SettingsCliDependencies): Promise<number> {
  try {
    const options = parse(argv);
    if (options.help) {
      deps.stdout(`${SETTINGS_USAGE}\n`);
      return EXIT_SETTINGS_OK;
    }
    const token = deps.environment.GITHUB_TOKEN?.trim();
    if (!token) throw new UsageError('GITHUB_TOKEN is not set: give a repository administrator’s token, e.g. GITHUB_TOKEN=$(gh auth token) npm run github-settings -- --check');
    const github = deps.github(token);
    const target = `${deps.desired.owner}/${deps.desired.repo}`;

    const findings = await inspectSettings(github, deps.desired, { gateAppId: options.gateAppId });
    if (!options.apply) {
      deps.stdout(render(target, findings, options.check ? 'check' : 'dry run'));
      return options.check && findings.length > 0 ? EXIT_SETTINGS_DIFFER : EXIT_SETTINGS_OK;
    }
    const applied = await applyFindings(github, findings);
    const remaining = await inspectSettings(github, deps.desired, { gateAppId: options.gateAppId });
    deps.stdout(`${applied.map((summary) => `applied: ${summary}\n`).join('')}${render(target, remaining, 'after --apply')}`);
    return remaining.length > 0 ? EXIT_SETTINGS_DIFFER : EXIT_SETTINGS_OK;
  } catch (error) {
    if (error instanceof UsageError || error instanceof SettingsApiError) {
      deps.stderr(error.message);
      return EXIT_SETTINGS_INPUT;
    }
    throw error;
  }
}

function render(target: string, findings: readonly Finding[], mode: string): string {
  if (findings.length === 0) return `${target}: every setting the pipeline relies on is as lib/github-settings/desired.ts says (${mode}).\n`;
  const lines = [`${target}: ${findings.length} setting(s) differ (${mode}):`];
  for (const f of findings) {
    lines.push(`- ${f.setting}: expected ${f.expected}; found ${f.actual}.`, `    why: ${f.why}`);
    lines.push(f.change ? `    --apply: ${f.change.summary}` : `    by hand: ${f.manual ?? 'see runbooks/deployment-guide.md'}`);
  }
  return `${lines.join('\n')}\n`;
}

function parse(argv: readonly string[]): { check: boolean; apply: boolean; help: boolean; gateAppId?: number } {
  for (const [index, arg] of argv.entries()) {
    if (arg === '--gate-app-id' && (argv[index + 1] === undefined || argv[index + 1].startsWith('--'))) throw new UsageError('--gate-app-id needs a value (see --help)');
  }
  let values: { check?: boolean; apply?: boolean; help?: boolean; 'gate-app-id'?: string };
  try {
    values = parseArgs({
      args: [...argv],
      options: { check: { type: 'boolean' }, apply: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, 'gate-app-id': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0]} (see --help)`);
  }
  if (values.check && values.apply) throw new UsageError('--check and --apply exclude each other: --check only reads, --apply changes (see --help)');
  const raw = values['gate-app-id'];
  if (raw !== undefined && (!/^[1-9]\d{0,15}$/.test(raw) || raw === '15368')) {
    throw new UsageError(`--gate-app-id must be the numeric id of the gate's own GitHub App (not GitHub Actions, 15368), got '${raw}'`);
  }
  return { check: values.check ?? false, apply: values.apply ?? false, help: values.help ?? false, gateAppId: raw === undefined ? undefined : Number(raw) };
}
