/**
 * `npm run stateful-gate -- <target|check> ...`: the pull-request gate that
 * .github/workflows/stateful-change-gate.yml runs from the default branch.
 *
 * Wiring only: the logic and its tests live in lib/diff-report/ (gate.ts,
 * allowance.ts, gate-cli.ts).
 */
import { exitWith, githubClient } from '../lib/github-cli';
import { runGateCli } from '../lib/diff-report/gate-cli';

exitWith(
  runGateCli(process.argv.slice(2), {
    environment: process.env,
    github: (token) => githubClient(token, 'bodyscript-stateful-change-gate'),
    stdout: (text) => process.stdout.write(text),
    stderr: (line) => console.error(line),
  }),
);
