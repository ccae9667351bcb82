import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { enterTestRunDirectory, removeTestRunDirectory, TEST_RUN_DIRECTORY_ENV } from './support/test-run-directory';

describe("the jest run's own temporary directory", () => {
  test('is the temporary directory of every test file: what a file forgets to remove goes with the run', () => {
    const runDirectory = process.env[TEST_RUN_DIRECTORY_ENV];
    expect(runDirectory).toMatch(/\/bodyscript-test-run-[^/]+$/);
    expect(os.tmpdir()).toBe(runDirectory);
    expect(fs.statSync(runDirectory!).isDirectory()).toBe(true);
    // The shared assembly is in it too, so the teardown's one removal takes everything.
    expect(path.dirname(process.env.BODYSCRIPT_TEST_ASSEMBLY!)).toBe(runDirectory);
  });

  test("the AWS SDK's Node 22 warning is off in the test run only (the suite runs on Node 20 by choice)", () => {
    expect(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('true');
  });

  test('enter makes a fresh directory the temporary directory of the process; remove takes it with everything in it', () => {
    const env: NodeJS.ProcessEnv = {};
    const directory = enterTestRunDirectory(env);
    try {
      expect(env).toEqual({ [TEST_RUN_DIRECTORY_ENV]: directory, TMPDIR: directory });
      expect(path.dirname(directory)).toBe(os.tmpdir());
      fs.mkdirSync(path.join(directory, 'left-by-a-test', 'nested'), { recursive: true });
      fs.writeFileSync(path.join(directory, 'left-by-a-test', 'nested', 'template.json'), '{}');
      removeTestRunDirectory(env);
      expect(fs.existsSync(directory)).toBe(false);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });

  test('remove refuses a directory it did not make, and removes nothing', () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'someone-elses-'));
    try {
      for (const value of [other, 'bodyscript-test-run-relative', '/']) {
        expect(() => removeTestRunDirectory({ [TEST_RUN_DIRECTORY_ENV]: value })).toThrow(
          `${TEST_RUN_DIRECTORY_ENV} must be an absolute path to a 'bodyscript-test-run-*' directory made by the global setup, got '${value}'`,
        );
      }
      expect(fs.existsSync(other)).toBe(true);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  test('remove does nothing when no run directory was made', () => {
    expect(() => removeTestRunDirectory({})).not.toThrow();
  });
});
