// @ts-check
'use strict';
/**
 * One worker thread of lib/validation/cfn-guard-run.ts: runs the library's
 * CfnGuardValidator (its public validate(), which runs the cfn-guard binary once)
 * for each of its runs in turn, posts the reports on its port, then wakes the
 * main thread, which waits synchronously because a CDK validation plugin is
 * synchronous. Any failure fails the whole worker: no partial answer.
 * Plain CommonJS: a worker thread does not get the TypeScript loader under jest.
 */
const { workerData } = require('node:worker_threads');

/** @type {{ port: import('node:worker_threads').MessagePort, done: Int32Array, runs: { templatePaths: string[], validatorProps: object }[] }} */
const { port, done, runs } = workerData;
try {
  const { CfnGuardValidator } = require('@cdklabs/cdk-validator-cfnguard');
  const reports = runs.map(({ templatePaths, validatorProps }) => new CfnGuardValidator(validatorProps).validate(/** @type {never} */ ({ templatePaths })));
  port.postMessage({ reports });
} catch (error) {
  port.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
} finally {
  Atomics.add(done, 0, 1);
  Atomics.notify(done, 0);
}
