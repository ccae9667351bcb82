import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as synthetics from 'aws-cdk-lib/aws-synthetics';
import { EnvironmentMonitoring, type EnvironmentMonitoringProps, QUEUE_AGE_CRITICAL, QUEUE_AGE_WARNING } from '../constructs/environment-monitoring';
import { alarmDatapoint, firstAlarm, readAlarms, type ServiceWorld, simulate, trafficWorld } from './support/alarm-simulation';
import { testApp } from './support/synthesize';

const env = { account: '111111111111', region: 'us-east-1' };

/** Stand-ins for what the alerting, data and services stacks provide. */
function fixtures() {
  const app = testApp();
  const base = new Stack(app, 'Base', { env });
  const vpc = new ec2.Vpc(base, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const critical = new sns.Topic(base, 'Critical');
  const warning = new sns.Topic(base, 'Warning');
  const database = new rds.DatabaseInstance(base, 'Db', { engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }), vpc });
  const processingDeadLetterQueue = new sqs.Queue(base, 'Dlq');
  const processingQueue = new sqs.Queue(base, 'Queue', { deadLetterQueue: { queue: processingDeadLetterQueue, maxReceiveCount: 3 } });
  const cluster = new ecs.Cluster(base, 'Cluster', { vpc });
  const service = (id: string) => {
    const taskDefinition = new ecs.FargateTaskDefinition(base, `${id}Task`);
    taskDefinition.addContainer('app', { image: ecs.ContainerImage.fromRegistry('app'), portMappings: [{ containerPort: 8000 }] });
    const fargate = new ecs.FargateService(base, `${id}Service`, { cluster, taskDefinition, deploymentController: { type: ecs.DeploymentControllerType.CODE_DEPLOY } });
    const loadBalancer = new elbv2.ApplicationLoadBalancer(base, `${id}Lb`, { vpc });
    const blue = new elbv2.ApplicationTargetGroup(base, `${id}Blue`, { vpc, port: 8000, targetType: elbv2.TargetType.IP });
    const green = new elbv2.ApplicationTargetGroup(base, `${id}Green`, { vpc, port: 8000, targetType: elbv2.TargetType.IP });
    loadBalancer.addListener(`${id}Production`, { port: 80, defaultTargetGroups: [blue] });
    loadBalancer.addListener(`${id}Test`, { port: 8080, defaultTargetGroups: [green] });
    const rollbackAlarm = new cloudwatch.Alarm(base, `${id}Rollback`, { alarmName: `BodyScript-Staging-${id}-Rollback`, metric: blue.metrics.unhealthyHostCount(), threshold: 0, evaluationPeriods: 1 });
    const failedTasks = new cloudwatch.Metric({ namespace: 'AWS/Events', metricName: 'Invocations', dimensionsMap: { RuleName: `${id}-failed-tasks` }, statistic: 'Sum' });
    return { clusterName: cluster.clusterName, serviceName: fargate.serviceName, loadBalancer, targetGroups: [blue, green], rollbackAlarm, failedTasks };
  };
  const apiLogGroup = new logs.LogGroup(base, 'ApiLogs');
  const distribution = new cloudfront.Distribution(base, 'Cdn', { defaultBehavior: { origin: new origins.HttpOrigin('origin.example.com') } });
  const canary = new synthetics.Canary(base, 'Canary', {
    canaryName: 'bs-stg-frontend',
    runtime: synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_13_0,
    test: synthetics.Test.custom({ code: synthetics.Code.fromInline('exports.handler = async () => {};'), handler: 'index.handler' }),
  });
  const failureAlarm = new cloudwatch.Alarm(base, 'CanaryAlarm', { alarmName: 'BodyScript-Staging-frontend-Canary', metric: canary.metricSuccessPercent(), threshold: 100, evaluationPeriods: 2 });
  const stack = new Stack(app, 'Monitoring', { env });
  const props: EnvironmentMonitoringProps = {
    environment: 'staging',
    critical,
    warning,
    database,
    databaseStorage: { allocatedStorageGiB: 20, maxAllocatedStorageGiB: 100 },
    databaseConnectionsAlarmThreshold: 360,
    processingQueue,
    processingDeadLetterQueue,
    api: service('Api'),
    apiLogGroup,
    processing: service('Processing'),
    distribution,
    canaries: [{ canary, failureAlarm }],
    databaseReplica: { instanceIdentifier: 'bodyscript-staging-postgres-replica', region: 'us-west-2' },
    webAcls: [
      { name: 'bodyscript-staging-edge', scope: 'CLOUDFRONT', label: 'Edge' },
      { name: 'bodyscript-staging-api', scope: 'REGIONAL', label: 'Api' },
    ],
  };
  return { stack, props, base };
}

type Resource = { Properties: Record<string, unknown> };

describe('EnvironmentMonitoring', () => {
  let template: Template;
  let monitoring: EnvironmentMonitoring;
  let dashboardBody: string;
  let dashboardJson: () => string;

  beforeAll(() => {
    const { stack, props } = fixtures();
    monitoring = new EnvironmentMonitoring(stack, 'Monitoring', props);
    template = Template.fromStack(stack);
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Resource[];
    dashboardBody = JSON.stringify(dashboard.Properties.DashboardBody);
    // The body with its references replaced, parseable as the dashboard JSON CloudWatch receives.
    dashboardJson = () => {
      const body = dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
      return body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'REF')).join('');
    };
  });

  test('creates one dashboard named after the environment', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'BodyScript-Staging' });
  });

  test.each([
    ['edge', ['# Edge: CloudFront', 'AWS/CloudFront', 'Requests', '4xxErrorRate', '5xxErrorRate', 'CacheHitRate']],
    ['api', ['# api', 'TargetResponseTime', 'p50', 'p95', 'p99', 'HTTPCode_Target_5XX_Count', 'HTTPCode_ELB_5XX_Count', 'HealthyHostCount', 'CPUUtilization', 'MemoryUtilization', 'Api-failed-tasks']],
    ['processing', ['# processing', 'ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', 'VideosProcessed', 'ProcessingDurationSeconds', 'ProcessingFailures', 'RunningTaskCount', 'DesiredTaskCount']],
    ['database', ['# database', 'DBInstanceIdentifier', 'DatabaseConnections', 'FreeStorageSpace', 'FreeableMemory', 'ReadLatency', 'WriteLatency', 'ReadIOPS', 'ReplicaLag', 'us-west-2']],
    ['canaries', ['# canaries', 'SuccessPercent', 'Duration', 'SampleCount']],
    ['deployments', ['# deployments', 'codedeploy/applications/BodyScript-Staging-api/deployment-groups/BodyScript-Staging-api', 'ecs/v2/clusters/', 'Service health and rollback alarms', 'MonitoringServiceHealth', 'ApiRollback']],
  ])('the dashboard has the %s section', (_section, needles) => {
    for (const needle of needles) expect(dashboardBody).toContain(needle);
  });

  test('the dead-letter queue shows what waits there, not NumberOfMessagesSent (SQS does not count the messages it moves there)', () => {
    const widgets = (JSON.parse(dashboardJson()) as { widgets: { properties: { title?: string; metrics?: unknown[] } }[] }).widgets;
    const dlq = widgets.filter((w) => w.properties.title?.startsWith('Dead-letter queue'));
    expect(dlq.map((w) => w.properties.title)).toEqual(['Dead-letter queue: failed videos waiting (count)', 'Dead-letter queue: oldest failed video (hours)']);
    expect(JSON.stringify(dlq)).not.toContain('NumberOfMessagesSent');
  });

  test('the database graphs draw bytes in GiB on their own axis, the connection gauge as Maximum and Average, and latency in seconds', () => {
    const widgets = (JSON.parse(dashboardJson()) as { widgets: { properties: { title?: string; metrics?: unknown[]; yAxis?: { left?: { label?: string } } } }[] }).widgets;
    const byTitle = (title: string) => widgets.find((w) => w.properties.title === title)!;
    expect(byTitle('Free storage (GiB)').properties.yAxis?.left?.label).toBe('GiB');
    expect(JSON.stringify(byTitle('Free storage (GiB)').properties.metrics)).toContain('/ 1073741824');
    expect(JSON.stringify(byTitle('Connections (count)').properties.metrics)).not.toContain('"Sum"');
    expect(JSON.stringify(byTitle('Connections (count)').properties.metrics)).toContain('Maximum');
    expect(byTitle('Read and write latency (s)').properties.yAxis?.left?.label).toBe('s');
    expect(JSON.stringify(byTitle('CPU (%)'))).not.toContain('FreeStorageSpace');
  });

  test('no ECS graph uses a percentile (AWS/ECS publishes none)', () => {
    expect(dashboardJson()).not.toMatch(/AWS\/ECS[^\]]*"stat":"p\d/);
  });

  test('processing metrics are read from BodyScript/Processing with the environment as dimension', () => {
    expect(dashboardBody).toMatch(/BodyScript\/Processing\\",\\"VideosProcessed\\",\\"Environment\\",\\"staging/);
  });

  test('turns on CloudFront additional metrics so the cache hit ratio exists', () => {
    template.hasResourceProperties('AWS::CloudFront::MonitoringSubscription', {
      MonitoringSubscription: { RealtimeMetricsSubscriptionConfig: { RealtimeMetricsSubscriptionStatus: 'Enabled' } },
    });
  });

  test('pages the critical topic when CloudFront answers more than 5% with a 5xx in 3 of 5 minutes, counting a minute by the low-traffic rule (review R13)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-Edge-5xxRate',
      Threshold: 5,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      AlarmActions: [{ 'Fn::ImportValue': Match.stringLikeRegexp('Critical') }],
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF((rate >= 100 || requests * rate / 100 >= 2.5), rate, 0)', ReturnData: true }),
        Match.objectLike({ Id: 'requests', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Requests' }), Stat: 'Sum', Period: 60 }) }),
        Match.objectLike({ Id: 'rate', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: '5xxErrorRate' }), Stat: 'Average', Period: 60 }) }),
      ]),
    });
  });

  describe('the alarms of review R11 and R13 can fire, and do not on one bad request at night (the CloudWatch evaluation model, test/support)', () => {
    const alarm = (name: string) => readAlarms('Monitoring', template.toJSON().Resources).find((a) => a.name === name)!;
    const quiet: Omit<ServiceWorld, 'metrics'> = { requestsPerMinute: 0, behaviour: () => 'healthy', targets: () => ({ blue: { healthy: 1, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } }), failedTasks: () => 0, canaryRuns: () => [] };
    const fires = (name: string, metrics: ServiceWorld['metrics']) => firstAlarm(simulate(alarm(name), { ...quiet, metrics }, { publicationDelayMinutes: 1, from: 0, to: 120 }));
    /** CloudFront at `requests` a minute, of which `failed(minute)` get a 5xx. */
    const edge = (requests: number, failed: (minute: number) => number): ServiceWorld['metrics'] => ({
      'AWS/CloudFront/Requests': () => [requests],
      'AWS/CloudFront/5xxErrorRate': (m) => [(failed(m) / requests) * 100],
    });

    test('the CloudFront 5xx rate: one failed canary request a minute out of two does not page; an outage does, at night too', () => {
      expect(fires('BodyScript-Staging-Edge-5xxRate', edge(2, () => 1))).toBeUndefined();
      expect(fires('BodyScript-Staging-Edge-5xxRate', edge(2, (m) => (m >= 0 ? 2 : 0)))).toBeLessThanOrEqual(4);
      expect(fires('BodyScript-Staging-Edge-5xxRate', edge(600, (m) => (m >= 0 ? 60 : 0)))).toBeLessThanOrEqual(4);
      expect(fires('BodyScript-Staging-Edge-5xxRate', edge(600, () => 20))).toBeUndefined();
    });

    // How CloudFront computes the share it publishes is not documented: every order of the arithmetic, and a rounded share.
    test.each<[string, (bad: number, requests: number) => number]>([
      ['bad / requests × 100', (bad, requests) => (bad / requests) * 100],
      ['100 × bad / requests', (bad, requests) => (100 * bad) / requests],
      ['100 − 100 × good / requests', (bad, requests) => 100 - (100 * (requests - bad)) / requests],
      ['rounded to two decimals', (bad, requests) => Math.round((bad / requests) * 10000) / 100],
    ])('a minute with 3 failed requests counts at any traffic and one with 2 never, the share published as %s (the count is rebuilt from it)', (_form, share) => {
      const edge5xx = alarm('BodyScript-Staging-Edge-5xxRate');
      const minute = (bad: number, requests: number) => alarmDatapoint(edge5xx, trafficWorld({ requests: () => requests, bad: () => bad, share }), 0);
      const requests = Array.from({ length: 298 }, (_, i) => i + 3);
      expect(requests.filter((n) => minute(3, n) !== share(3, n))).toEqual([]);
      expect(requests.filter((n) => minute(2, n) !== 0)).toEqual([]);
      // Nothing but failed requests counts at one or two a minute; one failed of two does not.
      expect([minute(1, 1), minute(2, 2), minute(1, 2)]).toEqual([100, 100, 0]);
    });

    test('3 failed of 9 requests rebuilds to 2.999… from a share of 33.33…%: the rule allows half a request of slack, as counts are whole', () => {
      expect((9 * ((3 / 9) * 100)) / 100).toBeLessThan(3);
      expect(fires('BodyScript-Staging-Edge-5xxRate', edge(9, (m) => (m >= 0 ? 3 : 0)))).toBeLessThanOrEqual(4);
    });

    test('origin latency warns after 15 slow minutes, not on one slow period', () => {
      const name = 'BodyScript-Staging-Edge-OriginLatencyHigh';
      expect(fires(name, { 'AWS/CloudFront/OriginLatency': (m) => [m >= 0 ? 1500 : 80] })).toBeLessThanOrEqual(20);
      expect(fires(name, { 'AWS/CloudFront/OriginLatency': (m) => [m >= 0 && m < 5 ? 1500 : 80] })).toBeUndefined();
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: name, AlarmActions: [{ 'Fn::ImportValue': Match.stringLikeRegexp('Warning') }] });
    });

    test.each([
      ['Edge', { WebACL: 'bodyscript-staging-edge', Rule: 'ALL' }],
      ['Api', { WebACL: 'bodyscript-staging-api', Rule: 'ALL', Region: 'us-east-1' }],
    ])('a surge of requests the %s web ACL blocks warns; a scanner does not', (label, dimensions) => {
      const name = `BodyScript-Staging-${label}-WebAcl-BlockedRequestsSurge`;
      expect(alarm(name).queries[0].metric).toMatchObject({ namespace: 'AWS/WAFV2', metricName: 'BlockedRequests', dimensions, stat: 'Sum', period: 300 });
      expect(fires(name, { 'AWS/WAFV2/BlockedRequests': (m) => (m >= 0 ? [500] : [2]) })).toBeLessThanOrEqual(15);
      expect(fires(name, { 'AWS/WAFV2/BlockedRequests': () => [20] })).toBeUndefined();
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: name, AlarmActions: [{ 'Fn::ImportValue': Match.stringLikeRegexp('Warning') }] });
    });
  });

  test('warns at 90 minutes of queue age and pages at 180, as 2–4 videos an hour per worker allows', () => {
    expect(QUEUE_AGE_WARNING.toMinutes()).toBe(90);
    expect(QUEUE_AGE_CRITICAL.toMinutes()).toBe(180);
    for (const [threshold, topic] of [[5400, 'Warning'], [10800, 'Critical']] as const) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: Match.stringLikeRegexp(`^BodyScript-Staging-Processing-Queue-Message-Age-Max-${topic}$`),
        Metrics: Match.arrayWith([Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ApproximateAgeOfOldestMessage' }) }) })]),
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ 'Fn::ImportValue': Match.stringLikeRegexp(topic) }],
      });
    }
  });

  test('counts ERROR lines and 5xx responses of the api logs with metric filters that publish 0 where nothing matched', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ ($.level = "ERROR") || ($.level = "CRITICAL") }',
      MetricTransformations: [{ MetricNamespace: 'BodyScript/Api', MetricName: 'ErrorLogLines', MetricValue: '1', DefaultValue: 0, Unit: 'Count' }],
    });
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.status >= 500 }',
      MetricTransformations: [{ MetricNamespace: 'BodyScript/Api', MetricName: 'ServerErrorResponses', MetricValue: '1', DefaultValue: 0, Unit: 'Count' }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ErrorLogLines', Namespace: 'BodyScript/Api', Threshold: 50, TreatMissingData: 'notBreaching' });
  });

  test('addSection appends a header and widgets at the end of the dashboard (e.g. delivery metrics)', () => {
    const { stack, props } = fixtures();
    const extra = new EnvironmentMonitoring(stack, 'WithDelivery', { ...props, environment: 'production' });
    extra.addSection('delivery', [new cloudwatch.TextWidget({ markdown: 'lead time', width: 24, height: 2 })]);
    const body = JSON.stringify(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard', { Properties: { DashboardName: 'BodyScript-Production' } }));
    expect(body.indexOf('# delivery')).toBeGreaterThan(body.indexOf('# deployments'));
    expect(() => extra.addSection(' ', [])).toThrow(/addSection needs a header/);
  });

  test('the service-health composite is named for the FIS stop condition and combines rollback, canary and edge alarms', () => {
    const [health] = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm', { Properties: { AlarmName: 'BodyScript-Staging-ServiceHealth' } })) as Resource[];
    const rule = JSON.stringify(health.Properties.AlarmRule);
    for (const part of ['ApiRollback', 'ProcessingRollback', 'CanaryAlarm', 'EdgeFaultRate']) expect(rule).toContain(part);
    // Warnings (origin latency, WAF) are not users being affected now.
    for (const part of ['OriginLatency', 'WebAcl']) expect(rule).not.toContain(part);
    expect(health.Properties.AlarmActions).toEqual([{ 'Fn::ImportValue': expect.stringMatching(/Critical/) }]);
    expect(monitoring.serviceHealth).toBeDefined();
  });

  test('every alarm starts with the environment prefix, notifies a topic and names its runbook', () => {
    const alarms = [...Object.values(template.findResources('AWS::CloudWatch::Alarm')), ...Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm'))] as Resource[];
    // Edge 5xx rate, origin latency, two web ACL surges, service health, and the facade's queue-age pair.
    expect(alarms.length).toBe(8);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmName).toMatch(/^BodyScript-Staging-/);
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
      expect(alarm.Properties.AlarmDescription).toMatch(/\. Runbook: runbooks\/alarms\.md$/);
      if (alarm.Properties.TreatMissingData) expect(alarm.Properties.AlarmDescription).toContain(`Missing data (${alarm.Properties.TreatMissingData}): `);
    }
  });

  test('fails when there is nothing to judge service health by', () => {
    const { stack, props } = fixtures();
    expect(
      () => new EnvironmentMonitoring(stack, 'Empty', { ...props, api: undefined, processing: undefined, distribution: undefined, canaries: [], apiLogGroup: undefined }),
    ).toThrow(/service health needs at least one alarm/);
  });
});
