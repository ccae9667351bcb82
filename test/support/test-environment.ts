import * as path from 'node:path';
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import { TestEnvironment } from 'jest-environment-node';
import { SHARED_CLOUDFORMATION_VALIDATE_GLOBAL, sharedCloudFormationValidate } from './shared-cloudformation-validate';
import { FileCpuMeter, recordTiming } from './test-timing';

/**
 * jest's node environment, plus the worker's shared CloudFormation validator
 * engine (test/support/shared-cloudformation-validate.ts) on each test file's
 * global. The engine is built on first use, so a file that never synthesizes
 * pays nothing. Stack traces are as deep as Node's default (TEST_STACK_TRACE_LIMIT).
 *
 * With BODYSCRIPT_TEST_TIMING set, it also records each test file's CPU time
 * (the worker's user + system time from the file's environment to its
 * teardown, with the processes it ran, such as cfn-guard and CLI synths:
 * module loading, synths, assertions; not the time spent waiting for the
 * shared synth, which sleeps; nor the shared synth's own CPU when the file
 * runs in band in the process that reaps the synth: FileCpuMeter) for the
 * global teardown's table (test/support/test-timing.ts). jest itself reports
 * only wall time, which on a shared machine says more about the neighbours
 * than about the file.
 */
/**
 * Node's default depth of a stack trace, which `cdk synth` runs with.
 *
 * Why not jest's 100: aws-cdk-lib records a stack trace for every
 * CloudFormation resource it creates and for every acknowledgement, and in a
 * test file each frame of it goes through jest's source-map support (a copy of
 * every call site). With 100 frames that was about a third of the CPU of a file
 * that builds the app (test/config.test.ts: 61 s against 42 s with 10, one run
 * each at load 5-11). No test reads those traces; a failing test's own trace
 * starts at the failing line, so 10 frames still show where it failed.
 */
export const TEST_STACK_TRACE_LIMIT = 10;

export default class BodyScriptTestEnvironment extends TestEnvironment {
  private readonly testPath: string;
  private readonly cpu = new FileCpuMeter();
  private readonly wallAtStart = process.hrtime.bigint();

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.testPath = path.relative(config.globalConfig.rootDir, context.testPath);
    // jest's node environment sets 100 on the file's global (see TEST_STACK_TRACE_LIMIT).
    this.global.Error.stackTraceLimit = TEST_STACK_TRACE_LIMIT;
    Object.defineProperty(this.global, SHARED_CLOUDFORMATION_VALIDATE_GLOBAL, { get: sharedCloudFormationValidate, configurable: true });
  }

  override async teardown(): Promise<void> {
    await super.teardown();
    recordTiming({ file: this.testPath, cpuMs: this.cpu.cpuMs(), wallMs: Number((process.hrtime.bigint() - this.wallAtStart) / 1_000_000n) });
  }
}
