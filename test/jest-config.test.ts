import * as path from 'node:path';

/**
 * jest.config.js, for what a jest run cannot show by itself.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const config = require(path.join(__dirname, '..', 'jest.config.js')) as { workerGracefulExitTimeout?: number; maxWorkers?: number };

test('gives a jest worker longer to exit than one holding the shared validator engine needs (jest kills it after 500 ms by default, and says it failed to exit gracefully)', () => {
  // A process that built the CloudFormation validator's engine took up to 1.8 s to exit at load 12-13 (`node bench/validator-exit-time.cjs`).
  expect(config.workerGracefulExitTimeout).toBeGreaterThanOrEqual(5000);
});
