import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * cdk.json settings that hold for everyone who runs the CDK CLI in this
 * repository (laptops, CI, the pipeline).
 */
const ROOT = path.join(__dirname, '..');
const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

describe('CDK CLI telemetry', () => {
  // The CLI reports usage to an AWS endpoint unless told not to
  // (https://docs.aws.amazon.com/cdk/v2/guide/cli-telemetry.html); CI machines
  // here have no network, and the team does not send it.
  test('is off in cdk.json', () => {
    expect(cdkJson.context['cli-telemetry']).toBe(false);
  });

  test('is off as the CLI itself reads it, whatever the user or the environment says', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-cdk-home-'));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    delete env.CDK_DISABLE_CLI_TELEMETRY;
    const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'cdk'), ['cli-telemetry', '--status', '--no-notices'], { cwd: ROOT, env, encoding: 'utf8' });
    fs.rmSync(home, { recursive: true, force: true });
    expect(`${result.stdout}${result.stderr}`).toContain('CLI Telemetry is disabled');
    expect(result.status).toBe(0);
  });
});
