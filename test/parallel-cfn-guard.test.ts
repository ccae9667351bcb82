import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ParallelCfnGuardValidator, PARALLEL_GUARD_SCRIPT } from '../lib/compliance';

const guardBinary = (new ParallelCfnGuardValidator({}) as unknown as { realGuardBinary: string }).realGuardBinary;
const rules = path.join(path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json')), 'rules', 'control-tower', 'cfn-guard');

function writeTemplates(): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-guard-'));
  const bucket = (properties: Record<string, unknown>) => ({ Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: properties } } });
  const files: [string, unknown][] = [
    ['plain.template.json', bucket({})],
    ['versioned.template.json', bucket({ VersioningConfiguration: { Status: 'Enabled' } })],
    ['queue.template.json', { Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: {} } } }],
  ];
  return files.map(([name, body]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(body));
    return file;
  });
}

function byName(output: string) {
  return (JSON.parse(output) as { name: string }[]).sort((a, b) => a.name.localeCompare(b.name));
}

describe('parallel-cfn-guard', () => {
  const templates = writeTemplates();
  const args = ['validate', '--rules', rules, ...templates.flatMap((t) => ['--data', t]), '--output-format', 'json', '--show-summary', 'none', '--structured'];

  test('gives exactly the results and exit code of one cfn-guard run over all templates', () => {
    const direct = spawnSync(guardBinary, args, { encoding: 'utf8' });
    const parallel = spawnSync(PARALLEL_GUARD_SCRIPT, args, { encoding: 'utf8', env: { ...process.env, BODYSCRIPT_CFN_GUARD_BINARY: guardBinary } });
    expect(parallel.status).toBe(direct.status);
    expect(direct.status).toBe(19); // the plain bucket and the queue break Control Tower rules
    expect(byName(parallel.stdout)).toEqual(byName(direct.stdout));
    expect(byName(parallel.stdout)).toHaveLength(3);
  });

  test('refuses to run without the real binary named', () => {
    const env = { ...process.env };
    delete env.BODYSCRIPT_CFN_GUARD_BINARY;
    const result = spawnSync(PARALLEL_GUARD_SCRIPT, args, { encoding: 'utf8', env });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('BODYSCRIPT_CFN_GUARD_BINARY must name the cfn-guard binary');
  });
});
