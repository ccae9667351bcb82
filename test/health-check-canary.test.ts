import * as fs from 'node:fs';
import * as http from 'node:http';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CANARY_SCRIPT_FILE, HealthCheckCanary, type HealthCheckCanaryProps } from '../constructs/health-check-canary';
import { CANARY_SILENCE_CATCH_UP_MINUTES, CANARY_SILENCE_MINUTES, CANARY_SILENCE_PERIOD_SECONDS } from '../lib/canary-silence';
import { handler } from '../constructs/health-check-canary-script.cjs';
import { firstAlarm, readAlarms, type ServiceWorld, simulate } from './support/alarm-simulation';
import { testApp } from './support/synthesize';

const env = { account: '111111111111', region: 'us-east-1' };

// The modules that exist only in the Synthetics runtime: the HTTP step makes the
// real request (a plain HTTP one) and hands the response to the script.
jest.mock(
  'Synthetics',
  () => ({
    getCanaryUserAgentString: () => 'test-canary',
    executeHttpStep: (_name: string, options: import('node:http').RequestOptions, validate: (r: import('node:http').IncomingMessage) => Promise<void>) =>
      new Promise<void>((resolve, reject) => {
        jest.requireActual<typeof import('node:http')>('node:http').request({ ...options, protocol: 'http:' }, (response) => validate(response).then(resolve, reject)).on('error', reject).end();
      }),
  }),
  { virtual: true },
);
jest.mock('SyntheticsLogger', () => ({ info: () => undefined }), { virtual: true });

function fixtures() {
  const app = testApp();
  const base = new Stack(app, 'Base', { env });
  const key = new kms.Key(base, 'Key');
  const accessLogs = new s3.Bucket(base, 'AccessLogs', { bucketName: 'bodyscript-staging-access-logs-111111111111-us-east-1' });
  const topic = new sns.Topic(base, 'Topic');
  const vpc = new ec2.Vpc(base, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const stack = new Stack(app, 'Canaries', { env });
  return { app, base, stack, key, accessLogs, topic, vpc };
}

describe('HealthCheckCanary', () => {
  let template: Template;
  let baseTemplate: Template;
  let publicCanary: HealthCheckCanary;
  let internalCanary: HealthCheckCanary;

  beforeAll(() => {
    const { base, stack, key, accessLogs, topic, vpc } = fixtures();
    publicCanary = new HealthCheckCanary(stack, 'Api', {
      canaryName: 'bs-stg-api',
      url: 'https://app.bodyscript.example/api/health',
      expectedBodyPattern: '"status":\\s*"ok"',
      maxLatency: Duration.millis(500),
      requestsPerRun: 3,
      alarmName: 'BodyScript-Staging-Canary-api',
      alarmTopic: topic,
      encryptionKey: key,
      accessLogsBucket: accessLogs,
      route53HealthCheck: { fqdn: 'api.bodyscript.example', resourcePath: '/health' },
    });
    internalCanary = new HealthCheckCanary(stack, 'Processing', {
      canaryName: 'bs-stg-processing',
      url: 'http://internal-processing.example/health',
      expectedStatus: 204,
      maxLatency: Duration.seconds(2),
      vpc,
      alarmName: 'BodyScript-Staging-Canary-processing',
      encryptionKey: key,
      accessLogsBucket: accessLogs,
    });
    template = Template.fromStack(stack);
    baseTemplate = Template.fromStack(base);
  });

  test('runs every minute on the Node.js 22 Synthetics runtime and cleans up what it provisions', () => {
    template.hasResourceProperties('AWS::Synthetics::Canary', {
      Name: 'bs-stg-api',
      RuntimeVersion: 'syn-nodejs-puppeteer-13.0',
      Schedule: { Expression: 'rate(1 minute)' },
      StartCanaryAfterCreation: true,
      ProvisionedResourceCleanup: 'AUTOMATIC',
    });
  });

  test('passes the URL, status, body pattern and latency budget to the script', () => {
    template.hasResourceProperties('AWS::Synthetics::Canary', {
      Name: 'bs-stg-api',
      RunConfig: {
        TimeoutInSeconds: 50,
        EnvironmentVariables: {
          TARGET_URL: 'https://app.bodyscript.example/api/health',
          EXPECTED_STATUS: '200',
          BODY_PATTERN: '"status":\\s*"ok"',
          MAX_LATENCY_MS: '500',
          REQUESTS_PER_RUN: '3',
        },
      },
    });
    template.hasResourceProperties('AWS::Synthetics::Canary', {
      Name: 'bs-stg-processing',
      RunConfig: { EnvironmentVariables: { EXPECTED_STATUS: '204', BODY_PATTERN: '', MAX_LATENCY_MS: '2000', REQUESTS_PER_RUN: '1' } },
    });
    // The least traffic each target sees: what the rollback alarms' low-traffic floor is checked against.
    expect(publicCanary.requestsPerMinute).toBe(3);
    expect(internalCanary.requestsPerMinute).toBe(1);
  });

  describe('the script (constructs/health-check-canary-script.cjs), run against a local server', () => {
    // The clock is the test's: the server moves it forward by the answer's delay
    // instead of waiting, so the latency the script measures is exactly that delay,
    // however loaded the machine is. Real timers, sockets and HTTP otherwise.
    let server: http.Server;
    let port: number;
    const answer = { status: 200, body: '{"status": "ok"}', delayMs: 0 };
    const requests: http.IncomingMessage[] = [];
    const environment = { ...process.env };

    beforeAll(async () => {
      server = http.createServer((request, response) => {
        requests.push(request);
        jest.setSystemTime(Date.now() + answer.delayMs);
        response.writeHead(answer.status).end(answer.body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
      jest.setSystemTime(new Date('2026-12-01T00:00:00Z'));
      requests.length = 0;
    });
    afterEach(() => {
      jest.useRealTimers();
      process.env = { ...environment };
    });

    /** Runs the script's handler with the canary's environment variables. */
    function runCanary(variables: Record<string, string> = {}): Promise<void> {
      Object.assign(process.env, { TARGET_URL: `http://127.0.0.1:${port}/health?deep=1`, EXPECTED_STATUS: '200', BODY_PATTERN: '"status":\\s*"ok"', MAX_LATENCY_MS: '300' }, variables);
      return handler();
    }

    test('is what the canary runs: the template inlines the file as it is', () => {
      template.hasResourceProperties('AWS::Synthetics::Canary', { Name: 'bs-stg-api', Code: { Handler: 'index.handler', Script: fs.readFileSync(CANARY_SCRIPT_FILE, 'utf8') } });
    });
    test('passes a healthy, immediate answer, requesting the path and query with the canary user agent', async () => {
      Object.assign(answer, { status: 200, body: '{"status": "ok"}', delayMs: 0 });
      await expect(runCanary()).resolves.toBeUndefined();
      expect(requests.map((r) => [r.method, r.url, r.headers['user-agent']])).toEqual([['GET', '/health?deep=1', 'test-canary']]);
    });
    test('makes REQUESTS_PER_RUN requests one after the other, and one missing means one', async () => {
      Object.assign(answer, { status: 200, body: '{"status": "ok"}', delayMs: 0 });
      await expect(runCanary({ REQUESTS_PER_RUN: '3' })).resolves.toBeUndefined();
      expect(requests.map((r) => r.url)).toEqual(['/health?deep=1', '/health?deep=1', '/health?deep=1']);
      requests.length = 0;
      delete process.env.REQUESTS_PER_RUN;
      await expect(runCanary()).resolves.toBeUndefined();
      expect(requests).toHaveLength(1);
    });
    test('ends the run at the first failed request of several', async () => {
      Object.assign(answer, { status: 503, body: '{"status": "ok"}', delayMs: 0 });
      await expect(runCanary({ REQUESTS_PER_RUN: '3' })).rejects.toThrow('expected status 200, got 503');
      expect(requests).toHaveLength(1);
    });
    test('refuses a REQUESTS_PER_RUN that is not a whole number of at least 1, requesting nothing', async () => {
      await expect(runCanary({ REQUESTS_PER_RUN: '0' })).rejects.toThrow('REQUESTS_PER_RUN must be a whole number of at least 1, got 0');
      await expect(runCanary({ REQUESTS_PER_RUN: 'two' })).rejects.toThrow(/REQUESTS_PER_RUN must be a whole number/);
      expect(requests).toHaveLength(0);
    });
    test('passes an answer that takes exactly the latency budget', async () => {
      Object.assign(answer, { status: 200, body: '{"status": "ok"}', delayMs: 300 });
      await expect(runCanary()).resolves.toBeUndefined();
    });
    test('fails an answer one millisecond over the latency budget', async () => {
      Object.assign(answer, { status: 200, body: '{"status": "ok"}', delayMs: 301 });
      await expect(runCanary()).rejects.toThrow('took 301 ms, more than the 300 ms allowed');
    });
    test('fails a wrong status', async () => {
      Object.assign(answer, { status: 503, body: '{"status": "ok"}', delayMs: 0 });
      await expect(runCanary()).rejects.toThrow('expected status 200, got 503');
    });
    test('fails a body that does not match', async () => {
      Object.assign(answer, { status: 200, body: '{"status": "degraded"}', delayMs: 0 });
      await expect(runCanary()).rejects.toThrow(/body does not match/);
    });
    test('does not check the body when no pattern is given', async () => {
      Object.assign(answer, { status: 204, body: '', delayMs: 0 });
      await expect(runCanary({ EXPECTED_STATUS: '204', BODY_PATTERN: '' })).resolves.toBeUndefined();
    });
  });

  test('writes artifacts SSE-KMS to its own encrypted, expiring, retained bucket', () => {
    template.hasResourceProperties('AWS::Synthetics::Canary', {
      Name: 'bs-stg-api',
      ArtifactConfig: { S3Encryption: { EncryptionMode: 'SSE_KMS', KmsKeyArn: Match.anyValue() } },
    });
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        BucketName: 'bodyscript-canary-bs-stg-api-111111111111-us-east-1',
        BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) })] },
        LoggingConfiguration: { DestinationBucketName: 'bodyscript-staging-access-logs-111111111111-us-east-1', LogFilePrefix: 'bodyscript-canary-bs-stg-api-111111111111-us-east-1/', TargetObjectKeyFormat: Match.anyValue() },
        LifecycleConfiguration: { Rules: Match.arrayWith([{ Id: 'ExpireCanaryArtifacts', Status: 'Enabled', ExpirationInDays: 30 }]) },
      },
    });
  });

  test('lets S3 deliver the artifacts bucket access logs by literal name, without a reference back to its stack', () => {
    const policies = JSON.stringify(baseTemplate.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toContain('AllowLogDeliverybsstgapi');
    expect(policies).toContain(':s3:::bodyscript-canary-bs-stg-api-111111111111-us-east-1');
    expect(policies).not.toContain('Fn::GetStackOutput');
  });

  test('its role has only a managed policy scoped to its bucket, key and log group', () => {
    const policies = template.findResources('AWS::IAM::ManagedPolicy');
    const api = Object.values(policies).find((p) => JSON.stringify(p).includes('bs-stg-api'))!;
    const statements = (api.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap((s) => s.Action);
    expect(statements).toEqual(
      expect.arrayContaining(['s3:PutObject', 'kms:GenerateDataKey', 'cloudwatch:PutMetricData', 'logs:PutLogEvents']),
    );
    expect(JSON.stringify(api)).toContain('/aws/lambda/cwsyn-bs-stg-api-*');
    expect(JSON.stringify(api)).not.toContain('ec2:CreateNetworkInterface');
    template.resourcePropertiesCountIs('AWS::IAM::Policy', {}, 0);
  });

  test('alarms after two failed one-minute runs in a row (detection within two minutes) and notifies its topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-Canary-api',
      Namespace: 'CloudWatchSynthetics',
      MetricName: 'SuccessPercent',
      Statistic: 'Average',
      Period: 60,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: 100,
      ComparisonOperator: 'LessThanThreshold',
      AlarmActions: [Match.anyValue()],
      OKActions: [Match.anyValue()],
      AlarmDescription: Match.stringLikeRegexp('Runbook: runbooks/rollback.md'),
      // A canary that stops after failing keeps its verdict; silence is the silence alarm's.
      TreatMissingData: 'ignore',
    });
    expect(publicCanary.detectionTime.toSeconds()).toBeLessThanOrEqual(120);
  });

  test('a canary that does not run for ten minutes is in ALARM: no run publishes no SuccessPercent at all', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-Canary-api-Silent',
      Namespace: 'CloudWatchSynthetics',
      MetricName: 'SuccessPercent',
      Dimensions: [{ Name: 'CanaryName', Value: { Ref: Match.stringLikeRegexp('^ApiCanary') } }],
      Statistic: 'SampleCount',
      Period: CANARY_SILENCE_PERIOD_SECONDS,
      EvaluationPeriods: CANARY_SILENCE_MINUTES,
      DatapointsToAlarm: CANARY_SILENCE_MINUTES,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [Match.anyValue()],
      AlarmDescription: Match.stringLikeRegexp(`has not run for ${CANARY_SILENCE_MINUTES} minutes`),
    });
    expect(publicCanary.silenceAlarm).toBeDefined();
  });

  /**
   * The silence alarm run on CloudWatch's documented evaluation
   * (test/support/cloudwatch-model.ts) against a canary that publishes one
   * SuccessPercent datapoint per run, as Synthetics does.
   */
  describe('silence, on CloudWatch’s evaluation rules', () => {
    const silence = () => readAlarms('Canaries', template.toJSON().Resources).find((a) => a.name === 'BodyScript-Staging-Canary-api-Silent')!;
    const canary = (runs: (minute: number) => boolean): ServiceWorld => ({
      requestsPerMinute: 0,
      behaviour: () => 'healthy',
      targets: () => ({ blue: { healthy: 1, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } }),
      failedTasks: () => 0,
      canaryRuns: (minute) => (runs(minute) ? [minute % 7 !== 3] : []),
    });

    test.each([0, 1, 2])('a canary that stops is in ALARM after ten minutes without a run, not before (datapoints %i minute(s) late)', (delay) => {
      // Runs every minute (some of them failing: a failed run is a run) until minute 0, then none.
      const states = simulate(silence(), canary((m) => m < 0), { publicationDelayMinutes: delay, from: 0, to: 60, history: 60 });
      const at = firstAlarm(states)!;
      expect(at).toBeGreaterThanOrEqual(CANARY_SILENCE_MINUTES);
      // CloudWatch retrieves a few datapoints more than the evaluation periods (the model: 2), and the last run's arrives late.
      expect(at).toBeLessThanOrEqual(CANARY_SILENCE_MINUTES + 2 + delay);
      expect([...states.values()].slice(at)).not.toContain('OK');
    });

    test('a canary that runs is never in ALARM, even with a run missing now and then', () => {
      const states = simulate(silence(), canary((m) => m % 4 !== 0), { publicationDelayMinutes: 1, from: 0, to: 120, history: 60 });
      expect(firstAlarm(states)).toBeUndefined();
    });

    test.each([1, 2])('a canary created a moment ago: ALARM until its first run is counted, OK within the catch-up ops verify allows (datapoints %i minute(s) late)', (delay) => {
      // The alarm exists before the canary's first run (minute 0): it has never seen a run.
      const states = simulate(silence(), canary((m) => m >= 0), { publicationDelayMinutes: delay, from: -5, to: 30, history: 0 });
      expect(states.get(-1)).toBe('ALARM');
      const ok = [...states.entries()].find(([minute, state]) => minute >= 0 && state === 'OK')![0];
      expect(ok).toBeLessThanOrEqual(CANARY_SILENCE_CATCH_UP_MINUTES);
      expect([...states.entries()].filter(([minute]) => minute >= ok).map(([, state]) => state)).not.toContain('ALARM');
    });
  });

  test('an internal target is checked from the VPC through its own security group', () => {
    expect(internalCanary.securityGroup).toBeDefined();
    expect(publicCanary.securityGroup).toBeUndefined();
    template.hasResourceProperties('AWS::Synthetics::Canary', {
      Name: 'bs-stg-processing',
      VPCConfig: { VpcId: Match.anyValue(), SubnetIds: Match.anyValue(), SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('ProcessingSecurityGroup'), 'GroupId'] }] },
    });
    template.hasResourceProperties('AWS::Synthetics::Canary', { Name: 'bs-stg-api', VPCConfig: Match.absent() });
    const internalPolicy = Object.values(template.findResources('AWS::IAM::ManagedPolicy')).find((p) => JSON.stringify(p).includes('bs-stg-processing'));
    expect(JSON.stringify(internalPolicy)).toContain('ec2:CreateNetworkInterface');
  });

  test('lets Lambda create the internal canary\'s network interfaces only in its VPC, and manage interfaces of its account and region only (review L3)', () => {
    const internalPolicy = Object.values(template.findResources('AWS::IAM::ManagedPolicy')).find((p) => JSON.stringify(p).includes('bs-stg-processing'))!;
    const statements = internalPolicy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown; Condition?: { ArnEquals?: Record<string, unknown> } }[];
    const actionsOf = (statement: { Action: string | string[] }) => ([] as string[]).concat(statement.Action);
    const ec2 = (type: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:ec2:us-east-1:111111111111:${type}/*`]] });
    const creating = statements.filter((statement) => actionsOf(statement).includes('ec2:CreateNetworkInterface'));
    expect(creating).toEqual([
      { Effect: 'Allow', Action: 'ec2:CreateNetworkInterface', Resource: [ec2('security-group'), ec2('subnet')], Condition: { ArnEquals: { 'ec2:Vpc': expect.anything() } } },
      {
        Effect: 'Allow',
        Action: ['ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:UnassignPrivateIpAddresses'],
        Resource: ec2('network-interface'),
      },
    ]);
    // The canary's own VPC (of the base stack here, so an import of its id).
    expect(JSON.stringify(creating[0].Condition?.ArnEquals?.['ec2:Vpc'])).toMatch(/:ec2:us-east-1:111111111111:vpc\/.*Vpc/);
    // On '*' only the describe that works on nothing narrower.
    const onEverything = statements.filter((statement) => ([] as unknown[]).concat(statement.Resource).includes('*')).flatMap(actionsOf);
    expect(onEverything.filter((action) => action.startsWith('ec2:'))).toEqual(['ec2:DescribeNetworkInterfaces']);
  });

  test('adds a Route 53 HTTPS health check every 30 seconds where a domain exists', () => {
    template.resourceCountIs('AWS::Route53::HealthCheck', 1);
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: { Type: 'HTTPS', FullyQualifiedDomainName: 'api.bodyscript.example', ResourcePath: '/health', Port: 443, RequestInterval: 30, EnableSNI: true },
    });
    expect(publicCanary.route53HealthCheck).toBeDefined();
    expect(internalCanary.route53HealthCheck).toBeUndefined();
  });

  describe('fails when', () => {
    const props = (overrides: Partial<HealthCheckCanaryProps>, f = fixtures()): HealthCheckCanaryProps => ({
      canaryName: 'bs-stg-x',
      url: 'https://example.com/health',
      maxLatency: Duration.millis(500),
      alarmName: 'BodyScript-Staging-Canary-x',
      encryptionKey: f.key,
      accessLogsBucket: f.accessLogs,
      ...overrides,
    });
    test.each<[string, Partial<HealthCheckCanaryProps>, RegExp]>([
      ['the name is too long', { canaryName: 'bs-production-processing-x' }, /canaryName must be 1–21 characters/],
      ['the name has capitals', { canaryName: 'BS-api' }, /canaryName must be 1–21 characters/],
      ['the URL is not http(s)', { url: 'ftp://example.com' }, /url must be an http:\/\/ or https:\/\/ URL, got 'ftp:\/\/example.com'/],
      ['the status is not an HTTP status', { expectedStatus: 42 }, /expectedStatus must be an HTTP status code 100–599, got 42/],
      ['the body pattern does not compile', { expectedBodyPattern: '(' }, /expectedBodyPattern must be a valid regular expression/],
      ['the latency budget is zero', { maxLatency: Duration.millis(0) }, /maxLatency must be more than 0 and at most 20 seconds, got 0 ms/],
      ['the latency budget exceeds the run', { maxLatency: Duration.seconds(30) }, /maxLatency must be more than 0 and at most 20 seconds/],
      ['no request is made a run', { requestsPerRun: 0 }, /requestsPerRun must be a whole number from 1 to 10, got 0/],
      ['a run makes more requests than allowed', { requestsPerRun: 11 }, /requestsPerRun must be a whole number from 1 to 10, got 11/],
      ['requests per run are not whole', { requestsPerRun: 2.5 }, /requestsPerRun must be a whole number from 1 to 10, got 2.5/],
      ['slow but passing requests would outlast the run', { requestsPerRun: 3, maxLatency: Duration.seconds(20) }, /requestsPerRun × maxLatency must fit in the run's 50 s timeout, got 3 × 20000 ms = 60000 ms/],
      ['the Route 53 path is relative', { route53HealthCheck: { fqdn: 'api.example.com', resourcePath: 'health' } }, /route53HealthCheck.resourcePath must start with '\/'/],
    ])('%s', (_name, overrides, error) => {
      const f = fixtures();
      expect(() => new HealthCheckCanary(f.stack, 'C', props(overrides, f))).toThrow(error);
    });

    test('subnets are given without a VPC', () => {
      const f = fixtures();
      expect(() => new HealthCheckCanary(f.stack, 'C', props({ vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } }, f))).toThrow(/vpcSubnets and securityGroups need a vpc/);
    });

    test('the access-log bucket has no physical name', () => {
      const f = fixtures();
      const unnamed = new s3.Bucket(f.base, 'Unnamed');
      expect(() => new HealthCheckCanary(f.stack, 'C', props({ accessLogsBucket: unnamed }, f))).toThrow(/accessLogsBucket must have a physical name/);
    });
  });
});
