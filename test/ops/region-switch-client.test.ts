import { createHash, createHmac } from 'node:crypto';
import { isNotFound, toOpsError } from '../../lib/ops/aws-errors';
import { dataPlaneEndpoint, type Fetch, RegionSwitchClient } from '../../lib/ops/dr/region-switch-client';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' };
const NOW = new Date('2025-06-01T12:00:00Z');

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A fetch that records the request and answers with `status` and `body`. */
function fakeFetch(answers: { status: number; body: unknown; headers?: Record<string, string> }[]): { fetch: Fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetch: Fetch = async (url, init) => {
    sent.push({ url, headers: init.headers, body: init.body });
    const answer = answers[Math.min(sent.length - 1, answers.length - 1)];
    return {
      status: answer.status,
      headers: { get: (name: string) => answer.headers?.[name.toLowerCase()] ?? null },
      text: async () => (typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body)),
    };
  };
  return { fetch, sent };
}

function client(answers: Parameters<typeof fakeFetch>[0]) {
  const { fetch, sent } = fakeFetch(answers);
  return { api: new RegionSwitchClient({ region: 'us-west-2', credentials: CREDENTIALS, fetch, now: () => NOW }), sent };
}

/** Signature Version 4, computed independently of @smithy/signature-v4 from the AWS reference algorithm. */
function expectedSignature(sent: Sent, signedHeaders: string[]): string {
  const hash = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
  const hmac = (key: string | Buffer, s: string) => createHmac('sha256', key).update(s, 'utf8').digest();
  const amzDate = '20250601T120000Z';
  const scope = '20250601/us-west-2/arc-region-switch/aws4_request';
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${sent.headers[h].trim()}\n`).join('');
  const canonicalRequest = ['POST', '/', '', canonicalHeaders, signedHeaders.join(';'), hash(sent.body)].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, hash(canonicalRequest)].join('\n');
  let key: Buffer = hmac(`AWS4${CREDENTIALS.secretAccessKey}`, '20250601');
  for (const part of ['us-west-2', 'arc-region-switch', 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

describe('RegionSwitchClient (hand-signed ARC Region switch data plane)', () => {
  test('the data-plane endpoint of a region is arc-region-switch.<region>.api.aws, as the SDK endpoint rules say; other partitions are refused', () => {
    expect(dataPlaneEndpoint('us-west-2')).toBe('https://arc-region-switch.us-west-2.api.aws');
    expect(() => dataPlaneEndpoint('us-gov-west-1')).toThrow(/not a region of the aws partition/);
  });

  test('StartPlanExecution is an AWS JSON 1.0 POST to the regional endpoint, signed with SigV4 for arc-region-switch', async () => {
    const { api, sent } = client([{ status: 200, body: { executionId: 'e-1', planVersion: '3', activateRegion: 'us-west-2' } }]);
    const out = await api.startPlanExecution({ planArn: 'arn:aws:arc-region-switch::111111111111:plan/p:abc123', targetRegion: 'us-west-2', action: 'activate', mode: 'ungraceful', comment: 'drill' });
    expect(out).toEqual({ executionId: 'e-1', planVersion: '3', activateRegion: 'us-west-2', deactivateRegion: undefined });
    const [request] = sent;
    expect(request.url).toBe('https://arc-region-switch.us-west-2.api.aws/');
    expect(JSON.parse(request.body)).toEqual({ planArn: 'arn:aws:arc-region-switch::111111111111:plan/p:abc123', targetRegion: 'us-west-2', action: 'activate', mode: 'ungraceful', comment: 'drill' });
    expect(request.headers).toMatchObject({
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'ArcRegionSwitch.StartPlanExecution',
      host: 'arc-region-switch.us-west-2.api.aws',
      'x-amz-date': '20250601T120000Z',
      'x-amz-security-token': 'session-token',
    });
    const authorization = /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20250601\/us-west-2\/arc-region-switch\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(request.headers.authorization);
    expect(authorization).not.toBeNull();
    const signedHeaders = authorization![1].split(';');
    expect(signedHeaders).toEqual(expect.arrayContaining(['content-type', 'host', 'x-amz-date', 'x-amz-target']));
    expect(authorization![2]).toBe(expectedSignature(request, signedHeaders));
  });

  test('GetPlanExecution follows nextToken through every page of step states and turns epoch seconds into dates', async () => {
    const { api, sent } = client([
      { status: 200, body: { planArn: 'p', executionId: 'e', executionState: 'inProgress', startTime: 1748779200, stepStates: [{ name: 'promote-replica', status: 'completed', startTime: 1748779200, endTime: 1748779500 }], nextToken: 't2' } },
      { status: 200, body: { stepStates: [{ name: 'raise-api', status: 'running', startTime: 1748779500 }] } },
    ]);
    const execution = await api.getPlanExecution('p', 'e');
    expect(sent.map((s) => JSON.parse(s.body))).toEqual([
      { planArn: 'p', executionId: 'e', maxResults: 100 },
      { planArn: 'p', executionId: 'e', maxResults: 100, nextToken: 't2' },
    ]);
    expect(sent.map((s) => s.headers['x-amz-target'])).toEqual(['ArcRegionSwitch.GetPlanExecution', 'ArcRegionSwitch.GetPlanExecution']);
    expect(execution.executionState).toBe('inProgress');
    expect(execution.startTime).toEqual(new Date('2025-06-01T12:00:00Z'));
    expect(execution.stepStates).toEqual([
      { name: 'promote-replica', status: 'completed', stepMode: undefined, startTime: new Date('2025-06-01T12:00:00Z'), endTime: new Date('2025-06-01T12:05:00Z') },
      { name: 'raise-api', status: 'running', stepMode: undefined, startTime: new Date('2025-06-01T12:05:00Z'), endTime: undefined },
    ]);
  });

  test('ListPlanExecutionEvents, ListPlansInRegion, GetPlanInRegion and GetPlanEvaluationStatus read their answers, nested Parallel steps included', async () => {
    const events = client([{ status: 200, body: { items: [{ eventId: '1', type: 'stepFailed', stepName: 'raise-api', error: 'no capacity', timestamp: 1748779200 }] } }]);
    expect(await events.api.listPlanExecutionEvents('p', 'e')).toEqual([expect.objectContaining({ eventId: '1', type: 'stepFailed', error: 'no capacity', timestamp: new Date('2025-06-01T12:00:00Z') })]);
    expect(events.sent[0].headers['x-amz-target']).toBe('ArcRegionSwitch.ListPlanExecutionEvents');

    const plans = client([{ status: 200, body: { plans: [{ arn: 'a', name: 'bodyscript-staging-failover', recoveryTimeObjectiveMinutes: 30 }] } }]);
    expect(await plans.api.listPlansInRegion()).toEqual([expect.objectContaining({ arn: 'a', name: 'bodyscript-staging-failover', recoveryTimeObjectiveMinutes: 30 })]);

    const plan = client([
      {
        status: 200,
        body: {
          plan: {
            arn: 'a',
            name: 'n',
            workflows: [
              {
                workflowTargetAction: 'activate',
                workflowTargetRegion: 'us-west-2',
                steps: [{ name: 'raise-services', executionBlockType: 'Parallel', executionBlockConfiguration: { parallelConfig: { steps: [{ name: 'raise-api', executionBlockType: 'ECSServiceScaling' }] } } }],
              },
            ],
          },
        },
      },
    ]);
    const got = await plan.api.getPlanInRegion('a');
    expect(JSON.parse(plan.sent[0].body)).toEqual({ arn: 'a' });
    expect(got.workflows[0].steps[0]).toEqual({ name: 'raise-services', executionBlockType: 'Parallel', description: undefined, steps: [{ name: 'raise-api', executionBlockType: 'ECSServiceScaling', description: undefined, steps: undefined }] });

    const evaluation = client([{ status: 200, body: { evaluationState: 'actionRequired', lastEvaluationTime: 1748779200, warnings: [{ stepName: 'raise-api', warningMessage: 'gone', warningStatus: 'active' }] } }]);
    expect(await evaluation.api.getPlanEvaluationStatus('p')).toMatchObject({ evaluationState: 'actionRequired', lastEvaluationTime: new Date('2025-06-01T12:00:00Z'), warnings: [{ stepName: 'raise-api', warningMessage: 'gone' }] });
  });

  test.each([
    [404, { __type: 'com.amazonaws.arcregionswitch#ResourceNotFoundException', message: 'plan not found' }, {}, 'ResourceNotFoundException', 'not-found'],
    [403, { message: 'User is not authorized' }, { 'x-amzn-errortype': 'AccessDeniedException:http://internal.amazon.com/' }, 'AccessDeniedException', 'access-denied'],
    [400, { __type: 'IllegalStateException', message: 'an execution is active' }, {}, 'IllegalStateException', 'aws'],
    [400, { __type: 'ThrottlingException', message: 'Rate exceeded' }, {}, 'ThrottlingException', 'throttled'],
    [400, { __type: 'com.amazon.coral.service#UnrecognizedClientException', message: 'The security token included in the request is invalid.' }, {}, 'UnrecognizedClientException', 'credentials'],
    [502, '<html>Bad Gateway</html>', {}, 'Http502', 'aws'],
  ])('HTTP %i is thrown as the AWS error the SDK would throw, and classified like one', async (status, body, headers, name, kind) => {
    const { api } = client([{ status, body, headers }]);
    const error = await api.getPlanExecution('p', 'e').catch((e: unknown) => e);
    expect(error).toMatchObject({ name, $metadata: { httpStatusCode: status } });
    expect(toOpsError(error, { action: 'arc-region-switch:GetPlanExecution', resource: 'execution e', region: 'us-west-2', account: '111111111111' }).kind).toBe(kind);
    if (kind === 'not-found') expect(isNotFound(error)).toBe(true);
  });

  test('an unreachable endpoint is a network error with its code, not a crash', async () => {
    const fetch: Fetch = async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND arc-region-switch.us-west-2.api.aws' } });
    };
    const api = new RegionSwitchClient({ region: 'us-west-2', credentials: CREDENTIALS, fetch, now: () => NOW });
    const error = await api.listPlansInRegion().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'NetworkingError', code: 'ENOTFOUND' });
    expect(toOpsError(error, { action: 'arc-region-switch:ListPlansInRegion', resource: 'plans', region: 'us-west-2', account: '111111111111' }).kind).toBe('network');
  });

  test("ListRoute53HealthChecksInRegion asks for one record's checks by plan ARN, zone and name, through every page", async () => {
    const arn = 'arn:aws:arc-region-switch::111111111111:plan/bodyscript-production-failover:abc123';
    const { api, sent } = client([
      { status: 200, body: { healthChecks: [{ hostedZoneId: 'Z1', recordName: 'api.example.com', region: 'us-east-1', healthCheckId: 'hc-east', status: 'healthy' }], nextToken: 't2' } },
      { status: 200, body: { healthChecks: [{ hostedZoneId: 'Z1', recordName: 'api.example.com', region: 'us-west-2', status: 'unknown' }] } },
    ]);
    const checks = await api.listRoute53HealthChecksInRegion(arn, { hostedZoneId: 'Z1', recordName: 'api.example.com' });
    expect(checks).toEqual([
      { hostedZoneId: 'Z1', recordName: 'api.example.com', region: 'us-east-1', healthCheckId: 'hc-east', status: 'healthy' },
      { hostedZoneId: 'Z1', recordName: 'api.example.com', region: 'us-west-2', healthCheckId: undefined, status: 'unknown' },
    ]);
    expect(sent.map((r) => r.headers['x-amz-target'])).toEqual(['ArcRegionSwitch.ListRoute53HealthChecksInRegion', 'ArcRegionSwitch.ListRoute53HealthChecksInRegion']);
    expect(sent.map((r) => JSON.parse(r.body))).toEqual([
      { arn, hostedZoneId: 'Z1', recordName: 'api.example.com', maxResults: 100 },
      { arn, hostedZoneId: 'Z1', recordName: 'api.example.com', maxResults: 100, nextToken: 't2' },
    ]);
  });
});
