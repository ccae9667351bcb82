import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildWithoutResidue } from '../lib/output-directory';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-outdir-'));
}

describe('buildWithoutResidue', () => {
  test('a construction that throws half-way leaves the output directory as it was', () => {
    const outdir = tempDir();
    fs.writeFileSync(path.join(outdir, 'synth.lock'), '');
    expect(() =>
      buildWithoutResidue(outdir, () => {
        fs.mkdirSync(path.join(outdir, 'asset.0123abcd'));
        fs.writeFileSync(path.join(outdir, 'asset.0123abcd', 'index.js'), 'handler');
        throw new Error('construction failed');
      }),
    ).toThrow('construction failed');
    expect(fs.readdirSync(outdir)).toEqual(['synth.lock']);
  });

  test('an output directory the construction created is removed with what it holds', () => {
    const outdir = path.join(tempDir(), 'cdk.out');
    expect(() =>
      buildWithoutResidue(outdir, () => {
        fs.mkdirSync(outdir);
        fs.writeFileSync(path.join(outdir, 'asset.txt'), 'x');
        throw new Error('construction failed');
      }),
    ).toThrow('construction failed');
    expect(fs.existsSync(outdir)).toBe(false);
  });

  test('a construction that succeeds keeps everything and returns its result', () => {
    const outdir = tempDir();
    const result = buildWithoutResidue(outdir, () => {
      fs.writeFileSync(path.join(outdir, 'asset.txt'), 'x');
      return 42;
    });
    expect(result).toBe(42);
    expect(fs.readdirSync(outdir)).toEqual(['asset.txt']);
  });
});
