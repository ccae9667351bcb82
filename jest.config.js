const ESM_ONLY_PACKAGES = '(@octokit|before-after-hook|universal-user-agent)';

/** @type {import('jest').Config} */
module.exports = {
  // jest's node environment plus one CloudFormation validator engine per worker,
  // shared by its test files (test/support/shared-cloudformation-validate.ts).
  testEnvironment: '<rootDir>/test/support/test-environment.ts',
  moduleNameMapper: { '^@aws/cloudformation-validate$': '<rootDir>/test/support/cloudformation-validate-shim.cjs' },
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['@swc/jest'],
    // @octokit/rest and its dependencies ship only ES modules, which jest's
    // CommonJS runtime cannot load on Node 20: compile them like our own code.
    [`/node_modules/${ESM_ONLY_PACKAGES}/.+\\.js$`]: ['@swc/jest'],
  },
  transformIgnorePatterns: [`/node_modules/(?!${ESM_ONLY_PACKAGES}/)`],
  // The whole app is synthesized once per run (with cdk-nag and cfn-guard) into
  // test/.assembly and shared by every test file through test/support/assembly.ts.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  testTimeout: 120000,
  maxWorkers: 2,
  // How long a jest worker may take to exit after its last file before jest kills it and prints "A worker process has
  // failed to exit gracefully" (default 500 ms). A worker that holds the shared CloudFormation validator engine
  // (test/support/shared-cloudformation-validate.ts) takes longer than that to exit, with nothing left open: a process
  // that built the engine took 1.4-1.8 s to exit at load 12-13, one that did not 0.04-0.27 s
  // (`node bench/validator-exit-time.cjs`). A worker that does not exit at all is still killed, and reported, after this.
  workerGracefulExitTimeout: 10000,
};
