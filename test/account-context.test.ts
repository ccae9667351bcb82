import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildBodyScriptApp } from '../lib/app';
import { enableComplianceChecks } from '../lib/compliance';
import { ENVIRONMENT_FILES, type EnvironmentConfigInput, loadConfig, PROJECT_FILE, type ProjectConfigInput } from '../lib/config';
import { testAssemblyDir } from './support/synthesize';

/**
 * Synth is offline: every lookup the app makes (availability zones, the
 * CloudFront origin-facing prefix list, …) is answered by cdk.context.json, keyed
 * by account and region. When real account ids go into lib/config, the README's
 * account step says which entries to add; these tests fail when an entry is
 * missing for a configured account, and when the app makes a lookup the README
 * does not document.
 */

interface MissingContext {
  readonly key: string;
  readonly provider: string;
  readonly props: { readonly account?: string; readonly region?: string };
}

const README = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
const COMMITTED_CONTEXT = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.context.json'), 'utf8')) as Record<string, unknown>;
const CDK_JSON_CONTEXT = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

/** The README section a newcomer follows to point the app at real accounts. */
function accountStep(): string {
  const start = README.indexOf('### Point the config at your AWS accounts');
  if (start === -1) throw new Error('README.md has no "### Point the config at your AWS accounts" section');
  const end = README.indexOf('\n## ', start);
  return README.slice(start, end === -1 ? undefined : end);
}

/**
 * The lookups the whole app would make against AWS with `context`, without the
 * compliance gates and aws-cdk-lib's built-in template validation (nothing else
 * differs: validation reads templates, lookups happen while building them).
 */
function missingContext(config: ReturnType<typeof loadConfig>, context: Record<string, unknown>): MissingContext[] {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-context-'));
  try {
    const app = new App({ outdir, context: { ...context, ...CDK_JSON_CONTEXT }, builtinCloudFormationValidation: false });
    enableComplianceChecks(app, { gates: [] });
    buildBodyScriptApp(app, config);
    return (app.synth().manifest.missing ?? []) as MissingContext[];
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** A key with its account and region replaced by placeholders, as the README writes it. */
function template(entry: MissingContext): string {
  return entry.key.replace(`account=${entry.props.account}`, 'account=<account>').replace(`region=${entry.props.region}`, 'region=<region>');
}

/** The committed config with every account id replaced: what a newcomer has after step 1. */
function configWithNewAccounts(): ReturnType<typeof loadConfig> {
  const accounts: Record<string, string> = { '111111111111': '333333333333', '222222222222': '444444444444' };
  const swap = <T>(input: T): T => JSON.parse(JSON.stringify(input).replace(/\b(111111111111|222222222222)\b/g, (id) => accounts[id])) as T;
  const environments = swap(structuredClone({ ...ENVIRONMENT_FILES })) as Record<string, EnvironmentConfigInput>;
  return loadConfig({}, { environments, project: swap(structuredClone(PROJECT_FILE)) as ProjectConfigInput });
}

describe('account-keyed context', () => {
  test('the committed cdk.context.json answers every lookup of the configured accounts (the shared synth asked AWS for nothing)', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(testAssemblyDir(), 'manifest.json'), 'utf8')) as { missing?: MissingContext[] };
    expect((manifest.missing ?? []).map((m) => m.key)).toEqual([]);
  });

  describe('with new account ids in the config (README account step, step 1)', () => {
    let missing: MissingContext[];
    beforeAll(() => {
      missing = missingContext(configWithNewAccounts(), COMMITTED_CONTEXT);
    });

    test('synth needs an entry for every lookup of each account and region it uses, and nothing is looked up in the old accounts', () => {
      expect(missing.length).toBeGreaterThan(0);
      expect(new Set(missing.map((m) => m.props.account))).toEqual(new Set(['333333333333', '444444444444']));
      // Every account/region pair of the environments is looked up at least once (availability zones).
      expect(new Set(missing.map((m) => `${m.props.account}/${m.props.region}`))).toEqual(new Set(['333333333333/us-east-1', '333333333333/us-west-2', '444444444444/us-east-1', '444444444444/us-west-2']));
    });

    test('every kind of entry it needs is written out in the README account step, with <account> and <region> placeholders', () => {
      const documented = accountStep();
      const undocumented = [...new Set(missing.map(template))].filter((key) => !documented.includes(key));
      expect(undocumented).toEqual([]);
    });

    test('the committed entries of the placeholder accounts, moved to the new accounts, answer every lookup (the README step is enough)', () => {
      const moved: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(COMMITTED_CONTEXT)) {
        moved[key.replace('account=111111111111', 'account=333333333333').replace('account=222222222222', 'account=444444444444')] = value;
      }
      expect(missingContext(configWithNewAccounts(), moved).map((m) => m.key)).toEqual([]);
    });
  });
});
