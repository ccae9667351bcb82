/**
 * Exit codes of `npm run ops`. They are part of the interface: CI jobs and
 * runbooks branch on them, so a new meaning gets a new number and existing
 * numbers never change meaning.
 */
export const ExitCode = {
  /** Healthy / done / dry run printed. */
  OK: 0,
  /** Checked and found unhealthy, or an operation finished in a failed state (deployment failed, step failed). */
  UNHEALTHY: 1,
  /** Bad arguments, invalid configuration or a confirmation mismatch: nothing was done. */
  USAGE: 2,
  /** A bounded wait ran out before the expected state was reached. */
  TIMEOUT: 3,
  /** AWS refused or failed a call: access denied, missing resource, no credentials, throttling that outlasted the retries. */
  AWS_ERROR: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
