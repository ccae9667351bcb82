/**
 * `npm run stateful-gate -- <target|check> ...`: the pull-request gate that
 * .github/workflows/stateful-change-gate.yml runs from the default branch.
 *
 * Wiring only: the logic and its tests live in lib/diff-report/ (gate.ts,
 * allowance.ts, gate-cli.ts).
 */
import { Octokit } from '@octokit/rest';
import { runGateCli } from '../lib/diff-report/gate-cli';

runGateCli(process.argv.slice(2), {
  environment: process.env,
  github: (token) =>
    new Octokit({
      auth: token,
      userAgent: 'bodyscript-stateful-change-gate',
      // The gate reports every answer it cannot use itself; a 404 for "not a team member" is an answer, not an error.
      log: { debug: () => undefined, info: () => undefined, warn: console.warn, error: () => undefined },
    }),
  stdout: (text) => process.stdout.write(text),
  stderr: (line) => console.error(line),
})
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 2;
  });
