/**
 * `npm run sentry-release -- --env staging|production --version <release> ...`
 *
 * Wiring only: the logic and its tests live in lib/sentry/release.ts.
 */
import { SentryCli } from '@sentry/cli';
import { loadConfig } from '../lib/config';
import { runSentryRelease } from '../lib/sentry/release';

runSentryRelease(process.argv.slice(2), {
  environment: process.env,
  loadConfig: () => loadConfig(),
  // Explicit options win over any sentry.properties/.sentryclirc on the runner,
  // so org and project always come from the validated config.
  createCli: ({ authToken, org, project }) => new SentryCli(null, { authToken, org, project }),
  log: (line) => console.log(line),
  error: (line) => console.error(line),
  now: () => new Date(),
})
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  });
