import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Runs `build` (the construction of the app) so that a failure leaves the
 * output directory as it found it. Construction stages assets into the output
 * directory as it goes; a throw half-way would leave them behind as a
 * half-written `cdk.out`. Only entries this run added are removed, and the
 * directory itself only if this run created it.
 */
export function buildWithoutResidue<T>(outdir: string | undefined, build: () => T): T {
  const before = outdir && fs.existsSync(outdir) ? new Set(fs.readdirSync(outdir)) : undefined;
  try {
    return build();
  } catch (error) {
    if (outdir && fs.existsSync(outdir)) {
      for (const entry of fs.readdirSync(outdir)) {
        if (!before?.has(entry)) fs.rmSync(path.join(outdir, entry), { recursive: true, force: true });
      }
      if (!before && fs.readdirSync(outdir).length === 0) fs.rmdirSync(outdir);
    }
    throw error;
  }
}
