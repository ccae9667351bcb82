import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '..');

/** Runs the CDK app entry point the way the CDK CLI does, with context in CDK_CONTEXT_JSON. */
function runApp(context: Record<string, unknown>) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-bin-'));
  const result = spawnSync(path.join(root, 'node_modules', '.bin', 'tsx'), ['bin/bodyscript.ts'], {
    cwd: root,
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
    encoding: 'utf8',
    timeout: 60000,
  });
  return { ...result, outdir };
}

describe('bin/bodyscript.ts', () => {
  test('stops on an invalid synth-time override with the field, what is allowed, a non-zero exit and nothing written', () => {
    const result = runApp({ apiImageTag: 'not a tag', processingImageTag: '' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid BodyScript configuration (2 problems):');
    expect(result.stderr).toContain("context.apiImageTag: must be an image tag of 1–128 letters, digits, '.', '_' or '-' starting with a letter or digit, got 'not a tag'");
    expect(result.stderr).toContain("context.processingImageTag: must be an image tag");
    // Nothing half-written: no manifest, no template.
    expect(fs.readdirSync(result.outdir)).toEqual([]);
  });
});
