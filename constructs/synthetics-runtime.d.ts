/**
 * The modules that the CloudWatch Synthetics Node.js runtime gives a canary
 * script, as far as constructs/health-check-canary-script.cjs uses them
 * ("Library functions available for Node.js canary", Amazon CloudWatch User Guide,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Library_function_Nodejs.html).
 * They exist only inside the runtime; the test stands in for them.
 */
declare module 'Synthetics' {
  import type { IncomingMessage, RequestOptions } from 'node:http';

  /** The User-Agent that Synthetics puts on a canary's requests. */
  export function getCanaryUserAgentString(): string;
  /**
   * Makes the request as a step of the run (recorded in its report) and hands the
   * response to `callback`; the step, and the run, fail if the callback's promise rejects.
   */
  export function executeHttpStep(stepName: string, requestOptions: RequestOptions, callback?: (response: IncomingMessage) => Promise<void>, stepConfig?: Record<string, unknown>): Promise<void>;
}

declare module 'SyntheticsLogger' {
  /** Writes a line to the canary run's log. */
  export function info(message: string): void;
}
