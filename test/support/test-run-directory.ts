import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Every jest run gets a temporary directory of its own, and everything the run
 * starts uses it as its temporary directory: the global setup points TMPDIR
 * (which os.tmpdir() reads on every call, in jest's workers, the shared synth,
 * the CDK CLI and cfn-guard alike) into it, and the global teardown removes it
 * whole. A test file that forgets to remove what it made (or is killed before
 * it can) leaves nothing behind on the machine, and concurrent runs never
 * share a temporary file.
 */
export const TEST_RUN_DIRECTORY_ENV = 'BODYSCRIPT_TEST_RUN_DIR';

const PREFIX = 'bodyscript-test-run-';

/** Makes this run's directory under the current temporary directory and makes it the temporary directory of this process and its children. */
export function enterTestRunDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  env[TEST_RUN_DIRECTORY_ENV] = directory;
  env.TMPDIR = directory;
  return directory;
}

/**
 * Removes this run's directory with everything in it. It only ever removes a
 * directory this module made (named `bodyscript-test-run-*`): the path comes
 * from the environment, and a recursive removal must not trust it blindly.
 */
export function removeTestRunDirectory(env: NodeJS.ProcessEnv = process.env): void {
  const directory = env[TEST_RUN_DIRECTORY_ENV];
  if (!directory) return;
  if (!path.isAbsolute(directory) || !path.basename(directory).startsWith(PREFIX)) {
    throw new Error(`${TEST_RUN_DIRECTORY_ENV} must be an absolute path to a '${PREFIX}*' directory made by the global setup, got '${directory}'`);
  }
  // The shared synth may still be exiting after the teardown's SIGTERM: retry while it lets go of its files.
  fs.rmSync(directory, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}
