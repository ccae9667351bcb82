import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { StandbyDashboard, type StandbyDashboardProps } from '../constructs/standby-dashboard';
import { loadConfig } from '../lib/config';
import { ENVIRONMENT_NAMES } from '../lib/config/schema';
import { stackNames, standbyDashboardName } from '../lib/naming';
import { stacks, templateJson } from './support/assembly';
import { testApp } from './support/synthesize';

type Row = (string | Record<string, unknown>)[];
interface Widget {
  readonly type: string;
  readonly properties: { title?: string; region?: string; metrics?: Row[]; alarms?: unknown[]; yAxis?: { left?: { label?: string } } };
}

/** The dashboard JSON with each reference replaced by a placeholder, as CloudWatch receives it after resolution. */
function widgetsOf(body: unknown): Widget[] {
  const text = typeof body === 'string' ? body : (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'REF')).join('');
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}

function fixtures(region = 'us-west-2') {
  const stack = new Stack(testApp(), 'Standby', { env: { account: '111111111111', region } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const service = (id: string) => {
    const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, `${id}Lb`, { vpc });
    const targetGroup = new elbv2.ApplicationTargetGroup(stack, `${id}Tg`, { vpc, port: 8000, targetType: elbv2.TargetType.IP });
    loadBalancer.addListener(`${id}Listener`, { port: 80, defaultTargetGroups: [targetGroup] });
    return { serviceName: `bodyscript-staging-${id.toLowerCase()}`, loadBalancer, targetGroup };
  };
  const alarm = new cloudwatch.Alarm(stack, 'ReplicaLag', {
    metric: new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName: 'ReplicaLag', dimensionsMap: { DBInstanceIdentifier: 'replica' } }),
    threshold: 300,
    evaluationPeriods: 10,
  });
  const props: StandbyDashboardProps = {
    dashboardName: 'BodyScript-Staging-Standby',
    environment: 'staging',
    clusterName: 'bodyscript-staging',
    api: service('Api'),
    processing: service('Processing'),
    databaseInstanceIdentifier: 'bodyscript-staging-postgres-replica',
    queue: new sqs.Queue(stack, 'Queue'),
    deadLetterQueue: new sqs.Queue(stack, 'DeadLetters'),
    processingMetrics: { namespace: 'BodyScript/Processing', environment: 'staging' },
    alarms: [alarm],
  };
  return { stack, props };
}

describe('StandbyDashboard', () => {
  const { stack, props } = fixtures();
  new StandbyDashboard(stack, 'Dashboard', props);
  const [dashboard] = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard')) as { Properties: { DashboardName: string; DashboardBody: unknown } }[];
  const widgets = widgetsOf(dashboard.Properties.DashboardBody);
  const metricRows = widgets.filter((w) => w.type === 'metric').flatMap((w) => (w.properties.metrics ?? []).map((row) => ({ w, row })));
  const metricNames = metricRows.map(({ row }) => row.filter((x): x is string => typeof x === 'string').slice(0, 2).join(' '));

  test('is named as given, with the standby alarms by state and every graph reading the standby region', () => {
    expect(dashboard.Properties.DashboardName).toBe('BodyScript-Staging-Standby');
    expect(widgets.find((w) => w.type === 'alarm')?.properties.alarms).toHaveLength(1);
    const graphs = widgets.filter((w) => w.type === 'metric');
    expect(graphs.length).toBeGreaterThanOrEqual(10);
    for (const w of graphs) expect({ title: w.properties.title, region: w.properties.region }).toEqual({ title: w.properties.title, region: 'us-west-2' });
  });

  test('shows the api and worker, their load balancer, the promoted database, the queues and the jobs', () => {
    // Expression rows name no metric (the bytes drawn as GiB, below).
    expect(new Set(metricNames.filter((name) => name !== ''))).toEqual(
      new Set([
        'AWS/ApplicationELB RequestCount',
        'AWS/ApplicationELB HTTPCode_Target_5XX_Count',
        'AWS/ApplicationELB HTTPCode_ELB_5XX_Count',
        'AWS/ApplicationELB TargetResponseTime',
        'AWS/ApplicationELB HealthyHostCount',
        'AWS/ApplicationELB UnHealthyHostCount',
        'ECS/ContainerInsights RunningTaskCount',
        'ECS/ContainerInsights DesiredTaskCount',
        'AWS/ECS CPUUtilization',
        'AWS/ECS MemoryUtilization',
        'BodyScript/Processing VideosProcessed',
        'BodyScript/Processing ProcessingFailures',
        'AWS/SQS ApproximateNumberOfMessagesVisible',
        'AWS/SQS NumberOfMessagesDeleted',
        'AWS/SQS ApproximateAgeOfOldestMessage',
        'AWS/RDS CPUUtilization',
        'AWS/RDS FreeStorageSpace',
        'AWS/RDS FreeableMemory',
        'AWS/RDS DatabaseConnections',
        'AWS/RDS ReplicaLag',
        'AWS/RDS ReadLatency',
        'AWS/RDS WriteLatency',
      ]),
    );
  });

  test('draws bytes as GiB (the raw bytes hidden), gauges never summed, seconds on a seconds axis', () => {
    const optionsOf = (row: Row) => (typeof row[row.length - 1] === 'object' ? row[row.length - 1] : {}) as { stat?: string; visible?: boolean; expression?: string };
    const storage = widgets.find((w) => w.properties.title === 'database: free storage and freeable memory')!;
    expect(storage.properties.yAxis?.left?.label).toBe('GiB');
    for (const row of storage.properties.metrics!) {
      const options = optionsOf(row);
      if (options.expression) expect(options.expression).toMatch(/^\w+ \/ 1073741824$/);
      else expect({ row: row[1], visible: options.visible, stat: options.stat }).toEqual({ row: row[1], visible: false, stat: 'Minimum' });
    }
    const gauges = ['DatabaseConnections', 'CPUUtilization', 'MemoryUtilization', 'RunningTaskCount', 'HealthyHostCount', 'ApproximateNumberOfMessagesVisible', 'ReplicaLag'];
    for (const { row } of metricRows.filter(({ row }) => gauges.includes(String(row[1])))) expect({ metric: row[1], stat: optionsOf(row).stat }).not.toEqual({ metric: row[1], stat: 'Sum' });
    const latency = widgets.find((w) => w.properties.title === 'database: replica lag (until promoted) and I/O latency')!;
    expect(latency.properties.yAxis?.left?.label).toBe('s');
  });

  describe('fails when', () => {
    test.each<[string, Partial<StandbyDashboardProps>, RegExp]>([
      ['the name has characters PutDashboard refuses', { dashboardName: 'BodyScript Staging/Standby' }, /dashboardName must be 1–255 letters, digits, '-' or '_', got 'BodyScript Staging\/Standby'/],
      ['no alarm is shown', { alarms: [] }, /alarms must list the standby's alarms/],
    ])('%s', (_name, overrides, error) => {
      const f = fixtures();
      expect(() => new StandbyDashboard(f.stack, 'D', { ...f.props, ...overrides })).toThrow(error);
    });

    test('the stack has no explicit region: a graph would read whichever region the console is in', () => {
      const app = testApp();
      const agnostic = new Stack(app, 'Agnostic');
      const f = fixtures();
      expect(() => new StandbyDashboard(agnostic, 'D', f.props)).toThrow(/the stack needs an explicit region/);
    });
  });
});

describe('the standby dashboards of the app', () => {
  const config = loadConfig({});

  test.each(ENVIRONMENT_NAMES)('%s: BodyScript-<Env>-Standby graphs the standby region only', (env) => {
    const resources = templateJson(`${stackNames.application(env)}-Standby`).Resources as Record<string, { Type: string; Properties?: { DashboardName?: string; DashboardBody?: unknown } }>;
    const dashboards = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    expect(dashboards.map((d) => d.Properties!.DashboardName)).toEqual([standbyDashboardName(env)]);
    const regions = new Set(widgetsOf(dashboards[0].Properties!.DashboardBody).filter((w) => w.type === 'metric').map((w) => w.properties.region));
    expect([...regions]).toEqual([config.environments[env].standby.region]);
  });

  test('every dashboard name is unique within its account: CloudWatch dashboards are global, not per region (AWS::CloudWatch::Dashboard)', () => {
    const seen = new Map<string, string>();
    const clashes: string[] = [];
    for (const s of stacks()) {
      for (const r of Object.values(templateJson(s.id).Resources as Record<string, { Type: string; Properties?: { DashboardName?: unknown } }>)) {
        if (r.Type !== 'AWS::CloudWatch::Dashboard') continue;
        // `aws://<account>/<region>`: the name must be unique per account, whatever the region.
        const key = `${s.environment.split('/')[2]}/${JSON.stringify(r.Properties?.DashboardName)}`;
        if (seen.has(key)) clashes.push(`${key} in ${seen.get(key)} and ${s.displayName}`);
        seen.set(key, s.displayName);
      }
    }
    expect(seen.size).toBeGreaterThanOrEqual(4);
    expect(clashes).toEqual([]);
  });
});
