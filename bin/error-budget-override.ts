/**
 * `npm run error-budget-override -- --repository O/R --commit SHA --github-output FILE`:
 * the production workflow's error-budget-override job (deploy-production.yml).
 *
 * Wiring only: the logic and its tests live in lib/error-budget-override.ts.
 */
import * as fs from 'node:fs';
import { runErrorBudgetOverrideCli } from '../lib/error-budget-override';
import { exitWith, githubClient } from '../lib/github-cli';

exitWith(
  runErrorBudgetOverrideCli(process.argv.slice(2), {
    environment: process.env,
    github: (token) => githubClient(token, 'bodyscript-error-budget-override'),
    stdout: (line) => console.log(line),
    stderr: (line) => console.error(line),
    appendFile: (file, text) => fs.appendFileSync(file, text),
  }),
);
