import { TestEnvironment } from 'jest-environment-node';
import { SHARED_CLOUDFORMATION_VALIDATE_GLOBAL, sharedCloudFormationValidate } from './shared-cloudformation-validate';

/**
 * jest's node environment, plus the worker's shared CloudFormation validator
 * engine (test/support/shared-cloudformation-validate.ts) on each test file's
 * global. The engine is built on first use, so a file that never synthesizes
 * pays nothing.
 */
export default class BodyScriptTestEnvironment extends TestEnvironment {
  constructor(...args: ConstructorParameters<typeof TestEnvironment>) {
    super(...args);
    Object.defineProperty(this.global, SHARED_CLOUDFORMATION_VALIDATE_GLOBAL, { get: sharedCloudFormationValidate, configurable: true });
  }
}
