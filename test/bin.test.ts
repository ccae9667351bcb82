import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '..');

/**
 * Runs the CDK app entry point the way the CDK CLI does: context in
 * CDK_CONTEXT_JSON, the output directory created beforehand, and CDK_ERROR_FILE
 * pointing into it (aws-cdk-lib writes the code of every error it constructs there).
 */
function runApp(context: Record<string, unknown>) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-bin-'));
  const result = spawnSync(path.join(root, 'node_modules', '.bin', 'tsx'), ['bin/bodyscript.ts'], {
    cwd: root,
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_ERROR_FILE: path.join(outdir, 'error.txt') },
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

  test("rejects a mistyped -c key with the known keys, accepts CDK's own keys beside it, exits 1 and writes nothing", () => {
    const result = runApp({
      apiImagetag: '2.0.0',
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:bundling-stacks': ['**'],
      '@aws-cdk/core:failSynthOnValidationErrors': false,
      '@aws-cdk/aws-s3:publicAccessBlockedByDefault': true,
      'availability-zones:account=111111111111:region=us-east-1': ['us-east-1a'],
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'Invalid BodyScript configuration (1 problem):',
      "  context.apiImagetag: is not a BodyScript context key; did you mean apiImageTag? known keys: apiImageTag (deploy this api image tag instead of services.api.imageTag), processingImageTag (deploy this processing image tag instead of services.processing.imageTag) (CDK's aws:cdk:* and @aws-cdk/* keys, cdk.json settings and cdk.context.json lookups are accepted too)",
    ]);
    expect(fs.readdirSync(result.outdir)).toEqual([]);
  });
});
