import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';

/**
 * The Slack step of deploy-production.yml, run as GitHub runs it (bash, jq)
 * with curl replaced by a stub that keeps the payload (security review L5).
 * Slack reads `text` as mrkdwn: `<url|label>` is a link and `&`, `<`, `>`
 * must be sent as `&amp;`, `&lt;`, `&gt;` ("Formatting text for app
 * surfaces", "Escaping text"). A ref name is chosen by whoever pushes it.
 */
interface Step {
  readonly name?: string;
  readonly env?: Record<string, string>;
  readonly run?: string;
}

const WORKFLOW = path.join(__dirname, '..', '.github', 'workflows', 'deploy-production.yml');

function slackStep(): Step {
  const workflow = parse(fs.readFileSync(WORKFLOW, 'utf8')) as { jobs: Record<string, { steps?: Step[] }> };
  const steps = workflow.jobs.notify.steps ?? [];
  const step = steps.find((s) => s.run?.includes('SLACK_WEBHOOK_URL'));
  if (!step?.run) throw new Error('deploy-production.yml: the notify job has no step that posts to SLACK_WEBHOOK_URL');
  return step;
}

/** Runs the step's script; returns the JSON body it posted, or undefined when it posted nothing. */
function post(env: Record<string, string>): { text: string } | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-slack-'));
  try {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    const capture = path.join(dir, 'payload.json');
    // curl ... --data @- <url>: keep what it would have sent.
    fs.writeFileSync(path.join(bin, 'curl'), `#!/bin/bash\ncat > ${JSON.stringify(capture)}\n`, { mode: 0o755 });
    execFileSync('bash', ['-e', '-o', 'pipefail', '-c', slackStep().run!], {
      cwd: dir,
      env: { PATH: `${bin}:${process.env.PATH}`, ...env },
      encoding: 'utf8',
    });
    return fs.existsSync(capture) ? (JSON.parse(fs.readFileSync(capture, 'utf8')) as { text: string }) : undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const RUN_URL = 'https://github.com/bodyscript/bodyscript-infrastructure/actions/runs/42';
const base = { SLACK_WEBHOOK_URL: 'https://hooks.slack.invalid/T/B/x', RESULT: 'success', SENTRY_RESULT: 'success', RUN_URL, GITHUB_REF_NAME: 'main', GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567' };

/** The links of a mrkdwn text: every `<…>` Slack would render. */
const links = (text: string) => [...text.matchAll(/<([^>]*)>/g)].map((m) => m[1]);

describe('the production deploy message to Slack', () => {
  test('says which ref, commit and result, with the run as its only link', () => {
    const payload = post(base)!;
    expect(payload.text).toBe(`:white_check_mark: BodyScript production deploy of main (0123456789ab): success (Sentry: success) <${RUN_URL}|run>`);
    expect(links(payload.text)).toEqual([`${RUN_URL}|run`]);
  });

  test('escapes &, < and > of the ref name, so a ref cannot add a link or a mention', () => {
    const ref = 'main<https://evil.invalid/login|Approve the deploy>&<!channel>';
    const payload = post({ ...base, GITHUB_REF_NAME: ref, RESULT: 'failure' })!;
    expect(payload.text).toContain('deploy of main&lt;https://evil.invalid/login|Approve the deploy&gt;&amp;&lt;!channel&gt; (0123456789ab): failure');
    expect(links(payload.text)).toEqual([`${RUN_URL}|run`]);
    expect(payload.text.startsWith(':rotating_light:')).toBe(true);
  });

  test('escapes an ampersand once (an already escaped &lt; stays visible as typed)', () => {
    expect(post({ ...base, GITHUB_REF_NAME: 'a&lt;b' })!.text).toContain('deploy of a&amp;lt;b (');
  });

  test('posts nothing, and succeeds, without the webhook secret', () => {
    expect(post({ ...base, SLACK_WEBHOOK_URL: '' })).toBeUndefined();
  });
});
