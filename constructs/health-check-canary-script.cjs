// @ts-check
/**
 * The script of every HealthCheckCanary: constructs/health-check-canary.ts inlines
 * this file, as it is, into the canary at synth. It runs on the CloudWatch
 * Synthetics Node.js runtime, which provides the `Synthetics` and
 * `SyntheticsLogger` modules (their types: constructs/synthetics-runtime.d.ts).
 * What it checks comes from environment variables, so the script never changes
 * when a URL does (a changed script would restart every canary):
 * TARGET_URL, EXPECTED_STATUS, BODY_PATTERN (may be empty), MAX_LATENCY_MS and
 * REQUESTS_PER_RUN (how many times a run requests the URL, one after the other;
 * missing means one). Any request that fails fails the run.
 */
const synthetics = require('Synthetics');
const log = require('SyntheticsLogger');

exports.handler = async () => {
  const target = new URL(/** @type {string} */ (process.env.TARGET_URL));
  const expectedStatus = Number(process.env.EXPECTED_STATUS);
  const bodyPattern = process.env.BODY_PATTERN ? new RegExp(process.env.BODY_PATTERN) : undefined;
  const maxLatencyMs = Number(process.env.MAX_LATENCY_MS);
  const requestsPerRun = Number(process.env.REQUESTS_PER_RUN || '1');
  if (!Number.isInteger(requestsPerRun) || requestsPerRun < 1) {
    throw new Error('REQUESTS_PER_RUN must be a whole number of at least 1, got ' + process.env.REQUESTS_PER_RUN);
  }
  const requestOptions = {
    hostname: target.hostname,
    method: 'GET',
    path: target.pathname + target.search,
    port: target.port || (target.protocol === 'https:' ? 443 : 80),
    protocol: target.protocol,
    headers: { 'User-Agent': synthetics.getCanaryUserAgentString() },
    // Give up well before the canary's own timeout so the failure says why.
    timeout: Math.max(maxLatencyMs * 4, 5000),
  };
  /** One request, a Synthetics step of its own (each step has its own line in the run's report). */
  const checkOnce = async (/** @type {string} */ stepName) => {
    const started = Date.now();
    await synthetics.executeHttpStep(stepName, requestOptions, (response) => new Promise((resolve, reject) => {
      let body = '';
      response.on('data', (chunk) => { body += chunk; });
      response.on('error', reject);
      response.on('end', () => {
        const latencyMs = Date.now() - started;
        log.info('status ' + response.statusCode + ', ' + latencyMs + ' ms, ' + body.length + ' bytes');
        if (response.statusCode !== expectedStatus) {
          return reject(new Error('expected status ' + expectedStatus + ', got ' + response.statusCode));
        }
        if (bodyPattern && !bodyPattern.test(body)) {
          return reject(new Error('body does not match /' + bodyPattern.source + '/: ' + body.slice(0, 200)));
        }
        if (latencyMs > maxLatencyMs) {
          return reject(new Error('took ' + latencyMs + ' ms, more than the ' + maxLatencyMs + ' ms allowed'));
        }
        resolve();
      });
    }));
  };
  // One after the other: the first failure ends the run, and says which request it was.
  for (let request = 1; request <= requestsPerRun; request++) {
    await checkOnce(requestsPerRun === 1 ? 'GET ' + target.pathname : 'GET ' + target.pathname + ' (' + request + ' of ' + requestsPerRun + ')');
  }
};
