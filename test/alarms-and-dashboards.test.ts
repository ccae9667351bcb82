import { MAX_ALARM_DESCRIPTION_LENGTH, statedMissingData } from '../lib/alarm-description';
import { stacks, templateJson } from './support/assembly';

/**
 * Every alarm and every dashboard row of every synthesized template, checked
 * against what AWS publishes (the metric catalogue below, from each service's
 * CloudWatch metrics page): namespace, metric, dimension set, statistic and
 * unit; every alarm's missing-data choice and its stated reason; no FILL in an
 * alarm. The next alarm or graph added anywhere is checked too: a metric the
 * catalogue does not know fails until it is added here with its documentation.
 */

type Unit = 'Count' | 'Percent' | 'Seconds' | 'Milliseconds' | 'Bytes' | 'Bytes/Second' | 'Count/Second' | 'None';
/** counter: only Sum is meaningful; gauge: a sampled value (Average, Minimum, Maximum; never Sum). */
type Kind = 'counter' | 'gauge' | 'rate';
interface MetricSpec {
  readonly unit: Unit;
  readonly kind: Kind;
  readonly dimensions: readonly (readonly string[])[];
  /** Statistics beyond those of its kind. */
  readonly alsoStatistics?: readonly string[];
}

const ALB_LB = [['LoadBalancer'], ['AvailabilityZone', 'LoadBalancer'], ['LoadBalancer', 'TargetGroup'], ['AvailabilityZone', 'LoadBalancer', 'TargetGroup']];
const ALB_TG = [['LoadBalancer', 'TargetGroup'], ['AvailabilityZone', 'LoadBalancer', 'TargetGroup']];
const ELB_ONLY_LB = [['LoadBalancer'], ['AvailabilityZone', 'LoadBalancer']];
const RDS = [['DBInstanceIdentifier']];
const SQS = [['QueueName']];
const ECS_SERVICE = [['ClusterName', 'ServiceName']];
const CLOUDFRONT = [['DistributionId', 'Region']];
const REPLICATION = [['DestinationBucket', 'RuleId', 'SourceBucket']];

/** What AWS (and the application, runbooks/metrics.md) publishes; sources in each namespace's comment. */
const CATALOGUE: Record<string, Record<string, MetricSpec>> = {
  // elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics: HTTPCode_ELB_* exist per load balancer only.
  'AWS/ApplicationELB': {
    RequestCount: { unit: 'Count', kind: 'counter', dimensions: ALB_LB },
    HTTPCode_ELB_5XX_Count: { unit: 'Count', kind: 'counter', dimensions: ELB_ONLY_LB },
    HTTPCode_Target_5XX_Count: { unit: 'Count', kind: 'counter', dimensions: ALB_LB },
    // One value per request: SampleCount counts them (the latency SLO's requests, and review R14's alarm weighs the share of slow ones by it).
    TargetResponseTime: { unit: 'Seconds', kind: 'gauge', dimensions: ALB_LB, alsoStatistics: ['SampleCount'] },
    HealthyHostCount: { unit: 'Count', kind: 'gauge', dimensions: ALB_TG },
    UnHealthyHostCount: { unit: 'Count', kind: 'gauge', dimensions: ALB_TG },
  },
  // AmazonCloudFront monitoring-using-cloudwatch: Region=Global; rates are Average percentages.
  'AWS/CloudFront': {
    Requests: { unit: 'Count', kind: 'counter', dimensions: CLOUDFRONT },
    BytesDownloaded: { unit: 'Bytes', kind: 'counter', dimensions: CLOUDFRONT },
    BytesUploaded: { unit: 'Bytes', kind: 'counter', dimensions: CLOUDFRONT },
    '4xxErrorRate': { unit: 'Percent', kind: 'rate', dimensions: CLOUDFRONT },
    '5xxErrorRate': { unit: 'Percent', kind: 'rate', dimensions: CLOUDFRONT },
    CacheHitRate: { unit: 'Percent', kind: 'rate', dimensions: CLOUDFRONT },
    // An additional metric (the monitoring subscription); each CloudFront metric has one valid statistic, Average here.
    OriginLatency: { unit: 'Milliseconds', kind: 'rate', dimensions: CLOUDFRONT },
  },
  // waf monitoring-cloudwatch: per web ACL with Rule=ALL; REGIONAL web ACLs add Region, CloudFront ones have none.
  'AWS/WAFV2': {
    BlockedRequests: { unit: 'Count', kind: 'counter', dimensions: [['Rule', 'WebACL'], ['Region', 'Rule', 'WebACL']] },
  },
  // AmazonECS cloudwatch-metrics (service utilization).
  'AWS/ECS': {
    CPUUtilization: { unit: 'Percent', kind: 'gauge', dimensions: [...ECS_SERVICE, ['ClusterName']] },
    MemoryUtilization: { unit: 'Percent', kind: 'gauge', dimensions: [...ECS_SERVICE, ['ClusterName']] },
  },
  // AmazonCloudWatch Container-Insights-metrics-ECS.
  'ECS/ContainerInsights': {
    RunningTaskCount: { unit: 'Count', kind: 'gauge', dimensions: ECS_SERVICE },
    DesiredTaskCount: { unit: 'Count', kind: 'gauge', dimensions: ECS_SERVICE },
    PendingTaskCount: { unit: 'Count', kind: 'gauge', dimensions: ECS_SERVICE },
  },
  // eventbridge eb-monitoring: Invocations per rule, only when nonzero.
  'AWS/Events': { Invocations: { unit: 'Count', kind: 'counter', dimensions: [['RuleName']] } },
  // AmazonRDS rds-metrics: units as sent to CloudWatch (latency in seconds, storage and memory in bytes).
  'AWS/RDS': {
    CPUUtilization: { unit: 'Percent', kind: 'gauge', dimensions: RDS },
    DatabaseConnections: { unit: 'Count', kind: 'gauge', dimensions: RDS },
    FreeStorageSpace: { unit: 'Bytes', kind: 'gauge', dimensions: RDS },
    FreeableMemory: { unit: 'Bytes', kind: 'gauge', dimensions: RDS },
    ReadIOPS: { unit: 'Count/Second', kind: 'gauge', dimensions: RDS },
    WriteIOPS: { unit: 'Count/Second', kind: 'gauge', dimensions: RDS },
    ReadLatency: { unit: 'Seconds', kind: 'gauge', dimensions: RDS },
    WriteLatency: { unit: 'Seconds', kind: 'gauge', dimensions: RDS },
    ReadThroughput: { unit: 'Bytes/Second', kind: 'gauge', dimensions: RDS },
    WriteThroughput: { unit: 'Bytes/Second', kind: 'gauge', dimensions: RDS },
    ReplicaLag: { unit: 'Seconds', kind: 'gauge', dimensions: RDS },
  },
  // AmazonS3 metrics-dimensions (replication metrics of a rule with Replication Time Control).
  'AWS/S3': {
    OperationsFailedReplication: { unit: 'Count', kind: 'counter', dimensions: REPLICATION },
    ReplicationLatency: { unit: 'Seconds', kind: 'gauge', dimensions: REPLICATION },
  },
  // SQSDeveloperGuide sqs-available-cloudwatch-metrics.
  'AWS/SQS': {
    ApproximateAgeOfOldestMessage: { unit: 'Seconds', kind: 'gauge', dimensions: SQS },
    ApproximateNumberOfMessagesVisible: { unit: 'Count', kind: 'gauge', dimensions: SQS },
    NumberOfMessagesDeleted: { unit: 'Count', kind: 'counter', dimensions: SQS },
    NumberOfMessagesSent: { unit: 'Count', kind: 'counter', dimensions: SQS },
    SentMessageSize: { unit: 'Bytes', kind: 'gauge', dimensions: SQS },
  },
  // runbooks/metrics.md: the api's metric filters (no dimension) and the worker's metrics (one value per job).
  'BodyScript/Api': {
    ErrorLogLines: { unit: 'Count', kind: 'counter', dimensions: [[]] },
    ServerErrorResponses: { unit: 'Count', kind: 'counter', dimensions: [[]] },
  },
  'BodyScript/Processing': {
    VideosProcessed: { unit: 'Count', kind: 'counter', dimensions: [['Environment']] },
    ProcessingFailures: { unit: 'Count', kind: 'counter', dimensions: [['Environment']] },
    ProcessingDurationSeconds: { unit: 'Seconds', kind: 'gauge', dimensions: [['Environment']] },
    // One value per video ready (the freshness SLO): SampleCount counts the videos.
    VideoReadySeconds: { unit: 'Seconds', kind: 'gauge', dimensions: [['Environment']], alsoStatistics: ['SampleCount'] },
  },
  // AmazonCloudWatch CloudWatch-ServiceLevelObjectives: Application Signals publishes each SLO's attainment
  // (percent) and one burn rate per BurnRateConfiguration (a ratio to the budget, no unit).
  'AWS/ApplicationSignals': {
    AttainmentRate: { unit: 'Percent', kind: 'gauge', dimensions: [['SloName']] },
    BurnRate: { unit: 'None', kind: 'gauge', dimensions: [['BurnRateWindowMinutes', 'SloName']] },
  },
  // lib/delivery-metrics.ts: published by `ops delivery` once per release run (one value per datapoint).
  'BodyScript/Delivery': {
    ReleaseDuration: { unit: 'Seconds', kind: 'gauge', dimensions: [['Environment']] },
    LeadTime: { unit: 'Seconds', kind: 'gauge', dimensions: [['Environment']] },
    TimeToRestore: { unit: 'Seconds', kind: 'gauge', dimensions: [['Environment']] },
    StepDuration: { unit: 'Seconds', kind: 'gauge', dimensions: [['Environment', 'Step']] },
    Deployments: { unit: 'Count', kind: 'counter', dimensions: [['Environment']] },
    DeploymentAttempts: { unit: 'Count', kind: 'counter', dimensions: [['Environment']] },
    FailedDeployments: { unit: 'Count', kind: 'counter', dimensions: [['Environment']] },
  },
  // AmazonCloudWatch CloudWatch_Synthetics_Canaries_metrics: one SuccessPercent datapoint per run.
  CloudWatchSynthetics: {
    // SampleCount is the runs, Sum / 100 the runs that passed (each run is 0 or 100): the canary SLO's counts.
    SuccessPercent: { unit: 'Percent', kind: 'rate', dimensions: [['CanaryName']], alsoStatistics: ['SampleCount', 'Sum'] },
    Duration: { unit: 'Milliseconds', kind: 'gauge', dimensions: [['CanaryName']] },
  },
};

/**
 * Namespaces whose metrics support percentiles: CloudWatch lists API Gateway,
 * Application Load Balancer, EC2, ELB, Kinesis, Lambda and RDS (cloudwatch_concepts,
 * Percentiles), and custom metrics published as single values.
 */
const PERCENTILE_NAMESPACES = new Set(['AWS/ApplicationELB', 'AWS/RDS', 'BodyScript/Processing', 'BodyScript/Delivery']);

function statisticProblem(namespace: string, spec: MetricSpec, stat: string): string | undefined {
  if (spec.alsoStatistics?.includes(stat)) return undefined;
  // A trimmed count TC(a:b) counts the values in a range (Statistics-definitions): where percentiles exist, so do these.
  if (/^TC\([\d.]*:[\d.]*\)$/.test(stat)) return PERCENTILE_NAMESPACES.has(namespace) && spec.kind === 'gauge' ? undefined : `trimmed count ${stat} on ${namespace}, which keeps no distribution for it`;
  // Percentile rank (PR) needs what percentiles need: the metric's samples (CloudWatch statistics definitions).
  if (/^(p\d|PR\()/.test(stat)) return PERCENTILE_NAMESPACES.has(namespace) && spec.kind === 'gauge' ? undefined : `percentile ${stat} on ${namespace}, which publishes no percentiles for it`;
  const allowed = spec.kind === 'counter' ? ['Sum'] : spec.kind === 'rate' ? ['Average'] : ['Average', 'Minimum', 'Maximum'];
  return allowed.includes(stat) ? undefined : `statistic ${stat} on a ${spec.kind} (use ${allowed.join(' or ')})`;
}

/** Unit of a row's values: SampleCount counts datapoints whatever the metric. */
const unitOf = (spec: MetricSpec, stat: string): string => (stat === 'SampleCount' ? 'Count' : stat.startsWith('PR(') ? 'Percent' : spec.unit);

function checkMetric(where: string, namespace: string, metricName: string, dimensions: string[], stat: string): { problems: string[]; unit?: string } {
  const spec = CATALOGUE[namespace]?.[metricName];
  if (!spec) return { problems: [`${where}: ${namespace} ${metricName} is not in the metric catalogue of this test; add it with the AWS page that documents it`] };
  const problems: string[] = [];
  const sorted = [...dimensions].sort().join(',');
  if (!spec.dimensions.some((d) => [...d].sort().join(',') === sorted)) problems.push(`${where}: ${namespace} ${metricName} is not published with dimensions [${sorted}]`);
  const problem = statisticProblem(namespace, spec, stat);
  if (problem) problems.push(`${where}: ${metricName}: ${problem}`);
  return { problems, unit: unitOf(spec, stat) };
}

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Outputs = Record<string, { Value: unknown; Export?: { Name?: unknown } }>;
const all = () =>
  stacks().map((s) => {
    const json = templateJson(s.id);
    return { name: s.displayName, resources: json.Resources as Record<string, Resource>, outputs: (json.Outputs ?? {}) as Outputs };
  });

/**
 * Tells whether a QueueName, as a template writes it, names a dead-letter queue:
 * a queue that another queue's RedrivePolicy sends its failed messages to. The
 * name may be the queue's literal QueueName, `Fn::GetAtt [queue, QueueName]`
 * in the queue's own stack, or `Fn::ImportValue` of that stack's export of it
 * (how the monitoring stacks read it), so a graph or alarm on a dead-letter
 * queue is found whatever the name it was given.
 */
function deadLetterQueueNames(): (stack: string, queueName: unknown) => boolean {
  const literal = new Set<string>();
  const inStack = new Map<string, Set<string>>();
  const exported = new Set<string>();
  for (const t of all()) {
    const queues = Object.entries(t.resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue');
    const targets = queues.flatMap(([, r]) => {
      const arn = (r.Properties?.RedrivePolicy as { deadLetterTargetArn?: unknown } | undefined)?.deadLetterTargetArn as { 'Fn::GetAtt'?: [string, string] } | undefined;
      return arn?.['Fn::GetAtt']?.[1] === 'Arn' ? [arn['Fn::GetAtt'][0]] : [];
    });
    for (const id of targets) {
      const name = t.resources[id]?.Properties?.QueueName;
      if (typeof name === 'string') literal.add(name);
      inStack.set(t.name, new Set([...(inStack.get(t.name) ?? []), id]));
      for (const output of Object.values(t.outputs)) {
        const value = output.Value as { 'Fn::GetAtt'?: [string, string] };
        if (value?.['Fn::GetAtt']?.[0] === id && value['Fn::GetAtt'][1] === 'QueueName' && typeof output.Export?.Name === 'string') exported.add(output.Export.Name);
      }
    }
  }
  return (stack, queueName) => {
    if (typeof queueName === 'string') return literal.has(queueName);
    const ref = queueName as { 'Fn::ImportValue'?: unknown; 'Fn::GetAtt'?: [string, string] } | undefined;
    if (typeof ref?.['Fn::ImportValue'] === 'string') return exported.has(ref['Fn::ImportValue']);
    return ref?.['Fn::GetAtt']?.[1] === 'QueueName' && (inStack.get(stack)?.has(ref['Fn::GetAtt'][0]) ?? false);
  };
}
const dimensionNames = (list: unknown) => ((list as { Name: string }[] | undefined) ?? []).map((d) => d.Name);

/** The QueueName dimension values (as written in the template) of every AWS/SQS metric an alarm reads. */
function sqsQueueNames(p: Record<string, unknown>): unknown[] {
  type Metric = { Namespace?: unknown; Dimensions?: { Name: string; Value: unknown }[] };
  const metrics: Metric[] = Array.isArray(p.Metrics) ? (p.Metrics as { MetricStat?: { Metric: Metric } }[]).flatMap((q) => (q.MetricStat ? [q.MetricStat.Metric] : [])) : [p as Metric];
  return metrics.filter((m) => m.Namespace === 'AWS/SQS').flatMap((m) => (m.Dimensions ?? []).filter((d) => d.Name === 'QueueName').map((d) => d.Value));
}

describe('every alarm of every template', () => {
  const alarms = () =>
    all().flatMap((stack) =>
      Object.entries(stack.resources)
        .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
        .map(([id, r]) => ({ where: `${stack.name}/${id}`, stack: stack.name, p: r.Properties ?? {} })),
    );

  test('there are alarms to check', () => {
    expect(alarms().length).toBeGreaterThan(40);
  });

  test('states TreatMissingData explicitly, and its description says why in a "Missing data (<treatment>): <reason>." sentence that matches', () => {
    const problems: string[] = [];
    for (const { where, p } of alarms()) {
      const description = p.AlarmDescription;
      if (!['breaching', 'notBreaching', 'ignore', 'missing'].includes(p.TreatMissingData as string)) problems.push(`${where}: TreatMissingData not stated (CloudWatch's default 'missing' is never chosen silently)`);
      if (typeof description !== 'string') {
        problems.push(`${where}: AlarmDescription must be a plain string to be read`);
        continue;
      }
      const stated = statedMissingData(description);
      if (!stated) problems.push(`${where}: no 'Missing data (<treatment>): <reason>.' sentence in its description`);
      else if (stated.treatment !== p.TreatMissingData) problems.push(`${where}: the description says missing data is '${stated.treatment}', TreatMissingData is '${p.TreatMissingData}'`);
      if (description.length > MAX_ALARM_DESCRIPTION_LENGTH) problems.push(`${where}: description of ${description.length} characters, CloudWatch accepts ${MAX_ALARM_DESCRIPTION_LENGTH}`);
    }
    expect(problems).toEqual([]);
  });

  test('reads metrics AWS publishes, with their dimensions and a statistic that means something for them', () => {
    const problems: string[] = [];
    for (const { where, p } of alarms()) {
      if (Array.isArray(p.Metrics)) {
        for (const q of p.Metrics as { MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: unknown }; Stat: string } }[]) {
          if (q.MetricStat) problems.push(...checkMetric(where, q.MetricStat.Metric.Namespace, q.MetricStat.Metric.MetricName, dimensionNames(q.MetricStat.Metric.Dimensions), q.MetricStat.Stat).problems);
        }
      } else {
        problems.push(...checkMetric(where, p.Namespace as string, p.MetricName as string, dimensionNames(p.Dimensions), (p.ExtendedStatistic ?? p.Statistic) as string).problems);
      }
    }
    expect(problems).toEqual([]);
  });

  test('metric math is valid for an alarm: lower-case ids that exist, one result, one period, at most 10 metrics, no FILL and no function CloudWatch warns about in alarms', () => {
    const problems: string[] = [];
    for (const { where, p } of alarms().filter((a) => Array.isArray(a.p.Metrics))) {
      const queries = p.Metrics as { Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Period: number } }[];
      const ids = new Set(queries.map((q) => q.Id));
      if (queries.filter((q) => q.ReturnData !== false).length !== 1) problems.push(`${where}: exactly one query must return data`);
      if (queries.filter((q) => q.MetricStat).length > 10) problems.push(`${where}: more than 10 metrics`);
      if (new Set(queries.filter((q) => q.MetricStat).map((q) => q.MetricStat!.Period)).size > 1) problems.push(`${where}: metrics of different periods`);
      for (const q of queries) {
        if (!/^[a-z][A-Za-z0-9_]*$/.test(q.Id)) problems.push(`${where}: id '${q.Id}' must start with a lower-case letter`);
        if (!q.Expression) continue;
        // FILL turns a late newest datapoint into its fill value (using-metric-math, FILL); these act differently when the alarm requests extra data.
        if (/\bFILL\s*\(/.test(q.Expression)) problems.push(`${where}: FILL in an alarm hides a late datapoint: '${q.Expression}'`);
        const windowFunction = /\b(AVG|MAX|MIN|SUM|STDDEV|DATAPOINT_COUNT|REMOVE_EMPTY|RUNNING_SUM)\s*\(/.exec(q.Expression);
        if (windowFunction) problems.push(`${where}: ${windowFunction[1]} is not recommended in alarms: '${q.Expression}'`);
        for (const id of q.Expression.match(/\b[a-z][A-Za-z0-9_]*\b/g) ?? []) if (!ids.has(id)) problems.push(`${where}: '${q.Expression}' references unknown id '${id}'`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('evaluate within what CloudWatch allows (period × evaluation periods ≤ one day, datapoints to alarm ≤ evaluation periods)', () => {
    const problems: string[] = [];
    for (const { where, p } of alarms()) {
      const period = (p.Period as number | undefined) ?? Math.max(...((p.Metrics as { MetricStat?: { Period: number } }[]) ?? []).map((q) => q.MetricStat?.Period ?? 0));
      if (period * (p.EvaluationPeriods as number) > 86400) problems.push(`${where}: evaluates more than a day`);
      if (((p.DatapointsToAlarm as number | undefined) ?? 0) > (p.EvaluationPeriods as number)) problems.push(`${where}: DatapointsToAlarm above EvaluationPeriods`);
    }
    expect(problems).toEqual([]);
  });

  test('lessons of the observability review hold everywhere', () => {
    const problems: string[] = [];
    const isDeadLetterQueue = deadLetterQueueNames();
    for (const { where, stack, p } of alarms()) {
      const metrics = Array.isArray(p.Metrics)
        ? (p.Metrics as { MetricStat?: { Metric: { Namespace: string; MetricName: string }; Stat: string } }[]).flatMap((q) => (q.MetricStat ? [{ ns: q.MetricStat.Metric.Namespace, name: q.MetricStat.Metric.MetricName, stat: q.MetricStat.Stat }] : []))
        : [{ ns: p.Namespace as string, name: p.MetricName as string, stat: (p.Statistic ?? p.ExtendedStatistic) as string }];
      const names = metrics.map((m) => m.name);
      // W1/W2: the users' 5xx include the load balancer's own 502/503/504.
      if (names.includes('HTTPCode_Target_5XX_Count') && !names.includes('HTTPCode_ELB_5XX_Count')) problems.push(`${where}: a 5xx alarm without HTTPCode_ELB_5XX_Count`);
      // R7: AWS recommends Minimum for alarms on host counts.
      for (const m of metrics.filter((x) => x.name === 'UnHealthyHostCount' || x.name === 'HealthyHostCount')) if (m.stat !== 'Minimum') problems.push(`${where}: ${m.name} alarm on ${m.stat}, not Minimum`);
      // R12 (a canary that stops running must not read healthy) is checked in test/metric-contract.test.ts for every
      // alarm on a metric that exists only while its producer runs: breaching itself, or covered by a silence alarm.
      // R8: AWS asks replication latency alarms to ignore missing data.
      if (names.includes('ReplicationLatency') && p.TreatMissingData !== 'ignore') problems.push(`${where}: replication latency alarm must ignore missing data`);
      // R3: SQS stops publishing for a queue idle six hours; an alarm on a dead-letter queue (found by its queue, or named so) must keep its state.
      const onDeadLetterQueue = sqsQueueNames(p).some((queue) => isDeadLetterQueue(stack, queue)) || /DeadLetter/.test(String(p.AlarmName));
      if (onDeadLetterQueue && p.TreatMissingData !== 'ignore' && p.TreatMissingData !== 'breaching') problems.push(`${where}: dead-letter alarm clears itself when SQS stops publishing`);
    }
    expect(problems).toEqual([]);
  });
});

/**
 * The dashboard JSON as CloudWatch receives it after resolution, each reference
 * replaced by the placeholder `REF#<n>`; `refs[n]` is the reference itself
 * (what a dimension value names).
 */
function dashboardJson(body: unknown): { widgets: Widget[]; refs: unknown[] } {
  const refs: unknown[] = [];
  const text =
    typeof body === 'string'
      ? body
      : (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : `REF#${refs.push(part) - 1}`)).join('');
  return { widgets: (JSON.parse(text) as { widgets: Widget[] }).widgets, refs };
}
type Row = (string | Record<string, unknown>)[];
interface Widget {
  readonly type: string;
  readonly properties: { title?: string; region?: string; metrics?: Row[]; stat?: string; yAxis?: { left?: { label?: string }; right?: { label?: string } } };
}

/** The unit each axis label stands for. "Rate" is cdk-monitoring-constructs' label of per-second rates and of CloudFront's error-rate percentages. */
const AXIS_UNITS: Record<string, string[]> = {
  '%': ['Percent'],
  count: ['Count'],
  Count: ['Count'],
  s: ['Seconds'],
  sec: ['Seconds'],
  ms: ['Milliseconds'],
  bytes: ['Bytes'],
  GiB: ['GiB'],
  'MiB/s': ['MiB/s'],
  hours: ['Hours'],
  'per second': ['Count/Second'],
  Rate: ['Count/Second', 'Percent'],
  'burn rate': ['None'],
};

/** The unit of an expression row, from the forms this project draws. */
function expressionUnit(expression: string, unitOfId: (id: string) => string | undefined): string | undefined {
  const divided = /^(\w+) \/ (\d+)$/.exec(expression.trim());
  if (divided) {
    const input = unitOfId(divided[1]);
    const conversion: Record<string, [string, string]> = { [String(1024 ** 3)]: ['Bytes', 'GiB'], [String(1024 ** 2)]: ['Bytes/Second', 'MiB/s'], '3600': ['Seconds', 'Hours'] };
    const [from, to] = conversion[divided[2]] ?? [];
    return input === from ? to : undefined;
  }
  if (/\/\s*PERIOD\(\w+\)\)?$/.test(expression.trim())) return 'Count/Second';
  // A share of two counts: IF(total > 0, 100 * part / total, 0).
  if (/^IF\((\w+) > 0, 100 \* (\w+) \/ \1, 0\)$/.test(expression.trim())) return 'Percent';
  if (/^\(\w+ \/ \(\w+ - \w+\)\) \* \(PERIOD\(\w+\)\)$/.test(expression.trim())) return 'Seconds';
  // The share of an error budget left: 100 * (attainment - goal) / (100 - goal), attainment in percent.
  const budget = /^100 \* \((\w+) - ([\d.]+)\) \/ \(100 - \2\)$/.exec(expression.trim());
  if (budget) return unitOfId(budget[1]) === 'Percent' ? 'Percent' : undefined;
  return undefined;
}

describe('every dashboard row of every template', () => {
  const widgets = () =>
    all().flatMap((stack) =>
      Object.entries(stack.resources)
        .filter(([, r]) => r.Type === 'AWS::CloudWatch::Dashboard')
        .flatMap(([id, r]) => {
          const { widgets: parsed, refs } = dashboardJson(r.Properties!.DashboardBody);
          // A dimension value as the template writes it: a literal, or the reference its placeholder stands for.
          const valueOf = (v: string) => (/^REF#\d+$/.test(v) ? refs[Number(v.slice(4))] : v);
          return parsed.map((w, i) => ({ where: `${stack.name}/${id} widget ${i} '${w.properties.title ?? ''}'`, stack: stack.name, valueOf, w }));
        }),
    );

  test('there are graphs to check', () => {
    expect(widgets().filter(({ w }) => w.type === 'metric').length).toBeGreaterThan(40);
  });

  test('reads metrics AWS publishes with their dimensions, a statistic that means something for them, no percentile where none exist, and an axis in their unit', () => {
    const problems: string[] = [];
    const isDeadLetterQueue = deadLetterQueueNames();
    for (const { where, stack, valueOf, w } of widgets().filter(({ w }) => w.type === 'metric' && w.properties.metrics?.length)) {
      if (!w.properties.region) problems.push(`${where}: no region`);
      const units = new Map<string, string | undefined>();
      const rows: { unit?: string; axis: 'left' | 'right'; visible: boolean; label: string }[] = [];
      const optionsOf = (row: Row) => (typeof row[row.length - 1] === 'object' ? row[row.length - 1] : {}) as { id?: string; stat?: string; expression?: string; yAxis?: 'left' | 'right'; visible?: boolean; label?: string };
      // Metric rows first: an expression row names the ids of metric rows that may come after it.
      for (const row of w.properties.metrics!.filter((r) => !optionsOf(r).expression)) {
        const options = optionsOf(row);
        const strings = row.filter((x): x is string => typeof x === 'string');
        if (strings[0] === '.' || strings[0] === '...') throw new Error(`${where}: shorthand rows are not read by this test`);
        const [namespace, metricName, ...pairs] = strings;
        const dimensions = pairs.filter((_, i) => i % 2 === 0);
        const stat = options.stat ?? w.properties.stat ?? 'Average';
        const checked = checkMetric(where, namespace, metricName, dimensions, stat);
        problems.push(...checked.problems);
        // B3: SQS does not count in NumberOfMessagesSent the messages it moves to a dead-letter queue
        // (found by its queue, whether the row names it literally or by reference, or named so).
        const queues = pairs.filter((_, i) => i % 2 === 1 && pairs[i - 1] === 'QueueName');
        if (metricName === 'NumberOfMessagesSent' && queues.some((v) => isDeadLetterQueue(stack, valueOf(v)) || /dead-?letter|dlq/i.test(v))) {
          problems.push(`${where}: NumberOfMessagesSent of a dead-letter queue is always empty`);
        }
        if (options.id) units.set(options.id, checked.unit);
        rows.push({ unit: checked.unit, axis: options.yAxis ?? 'left', visible: options.visible !== false, label: `${namespace} ${metricName}` });
      }
      for (const row of w.properties.metrics!.filter((r) => optionsOf(r).expression)) {
        const options = optionsOf(row);
        rows.push({ unit: expressionUnit(options.expression!, (id) => units.get(id)), axis: options.yAxis ?? 'left', visible: options.visible !== false, label: options.expression! });
      }
      for (const axis of ['left', 'right'] as const) {
        const drawn = rows.filter((r) => r.visible && r.axis === axis);
        if (!drawn.length) continue;
        const label = w.properties.yAxis?.[axis]?.label;
        if (!label) {
          problems.push(`${where}: its ${axis} axis has no unit label`);
          continue;
        }
        const accepted = AXIS_UNITS[label];
        if (!accepted) problems.push(`${where}: axis label '${label}' is not a unit this test knows`);
        for (const row of drawn) {
          if (!row.unit) problems.push(`${where}: cannot tell the unit of ${row.label}; draw it in one of the forms expressionUnit() knows`);
          else if (accepted && !accepted.includes(row.unit)) problems.push(`${where}: ${row.label} is in ${row.unit}, drawn on an axis labelled '${label}'`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
