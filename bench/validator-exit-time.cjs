#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * `node bench/validator-exit-time.cjs [rounds]`: how long a process takes to exit once it has nothing left to do,
 * with and without a built CloudFormation validator engine (aws-cdk-lib's @aws/cloudformation-validate), as a jest
 * worker that holds the shared engine (test/support/shared-cloudformation-validate.ts) exits after its last file:
 * jest asks it to stop listening and kills it if it has not exited after `workerGracefulExitTimeout`
 * (jest.config.js says why that is not jest's 500 ms). Each child loads aws-cdk-lib, builds the engine or not,
 * and stops listening when told, as jest-worker's child does; the time is from that message to the child's exit.
 * Timings belong here, never in tests.
 */
const { fork } = require('node:child_process');
const path = require('node:path');

if (process.argv[2] === 'child') {
  const awsCdkLib = path.dirname(require.resolve('aws-cdk-lib/package.json'));
  require('aws-cdk-lib');
  if (process.argv[3] === 'engine') {
    const validate = require(require.resolve('@aws/cloudformation-validate', { paths: [path.join(awsCdkLib, 'core', 'lib', 'validation')] }));
    Object.assign(globalThis, { engine: new validate.CompositeEngine({}) });
  }
  /** @param {unknown} message */
  const listener = (message) => {
    if (message === 'end') process.removeListener('message', listener);
  };
  process.on('message', listener);
  process.send?.('ready');
} else {
  const rounds = Number(process.argv[2] ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
    console.error(`usage: node bench/validator-exit-time.cjs [rounds 1-20], got '${process.argv[2]}'`);
    process.exit(2);
  }
  /** @param {string} mode @returns {Promise<number>} */
  const exitTime = (mode) =>
    new Promise((resolve) => {
      const child = fork(__filename, ['child', mode]);
      let asked = 0n;
      child.on('message', () => {
        asked = process.hrtime.bigint();
        child.send('end');
      });
      child.on('exit', () => resolve(Number(process.hrtime.bigint() - asked) / 1e6));
    });
  (async () => {
    const times = { engine: /** @type {number[]} */ ([]), none: /** @type {number[]} */ ([]) };
    for (let round = 0; round < rounds; round++) {
      for (const mode of /** @type {const} */ (['engine', 'none'])) times[mode].push(await exitTime(mode));
    }
    const load = require('node:os').loadavg().map((l) => l.toFixed(1)).join(' ');
    console.log(`time to exit after the last message (ms), ${rounds} round(s), load ${load}`);
    console.log(`  with a built validator engine: ${times.engine.map((t) => t.toFixed(0)).join(', ')}`);
    console.log(`  without:                       ${times.none.map((t) => t.toFixed(0)).join(', ')}`);
  })();
}
