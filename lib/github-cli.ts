import { Octokit } from '@octokit/rest';

/**
 * The GitHub REST client of the repository's command-line tools (stateful-gate,
 * github-settings). Octokit's own logging is off except warnings: the tools
 * report every answer they cannot use themselves, and a 404 for "not a team
 * member" or "no such ruleset" is an answer, not an error.
 */
export function githubClient(token: string, userAgent: string): Octokit {
  return new Octokit({ auth: token, userAgent, log: { debug: () => undefined, info: () => undefined, warn: console.warn, error: () => undefined } });
}

/** Sets the process's exit code from a CLI's result; anything it throws is printed and exits 2 (bad input or a bug, never a pass). */
export function exitWith(result: Promise<number>): void {
  result
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exitCode = 2;
    });
}
