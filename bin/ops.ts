#!/usr/bin/env node
/**
 * The operator CLI: `npm run ops -- <command> --env <staging|production> ...`.
 * Only wiring lives here (real AWS clients, the system clock, the console);
 * the commands are in lib/ops and are tested with mocked clients.
 * See lib/ops/README.md for the commands and exit codes.
 */
import { createAwsClients } from '../lib/ops/clients';
import { runCli } from '../lib/ops/cli';
import { consoleOutput, systemClock } from '../lib/ops/progress';

runCli(process.argv.slice(2), { out: consoleOutput, clock: systemClock, createClients: createAwsClients, environment: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);
