import * as fs from 'node:fs';
import { TEST_ASSEMBLY_ENV, testValidationCacheDir } from './synthesize';

/** Removes this run's shared assembly and validation cache. */
export default function globalTeardown(): void {
  const dir = process.env[TEST_ASSEMBLY_ENV];
  if (dir && !process.env.BODYSCRIPT_KEEP_TEST_ASSEMBLY) {
    fs.rmSync(testValidationCacheDir(), { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
