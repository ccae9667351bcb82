'use strict';
/**
 * What `require('@aws/cloudformation-validate')` gives aws-cdk-lib inside a
 * test file (jest.config.js moduleNameMapper): the jest worker's shared engine
 * module (test/support/shared-cloudformation-validate.ts), or, when the file
 * runs without the project's test environment, the real package, found
 * through its package.json (which the mapper does not redirect).
 */
const shared = globalThis.__bodyscriptSharedCloudFormationValidate;
if (shared) {
  module.exports = shared;
} else {
  const path = require('node:path');
  const awsCdkLib = path.dirname(require.resolve('aws-cdk-lib/package.json'));
  const packageJson = require.resolve('@aws/cloudformation-validate/package.json', { paths: [awsCdkLib] });
  module.exports = require(path.join(path.dirname(packageJson), require(packageJson).main || 'index.js'));
}
