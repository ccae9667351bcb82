import * as fs from 'node:fs';
import * as path from 'node:path';
import { canarySilenceAlarmName } from '../lib/canary-silence';
import type { EnvironmentName } from '../lib/config';
import { ENVIRONMENT_NAMES } from '../lib/config/schema';
import { alarmNamePrefix, stackNames } from '../lib/naming';
import { stacks, templateJson } from './support/assembly';

/**
 * runbooks/metrics.md is the contract the application teams implement: the
 * worker's metrics (namespace, names, units, exactly one dimension) and the
 * api's metric filters. The alarms, SLOs and graphs of every synthesized
 * template must read exactly what it promises (observability review R9: any
 * other dimension set, "each unique combination of dimensions", is another
 * metric, and the alarm and graphs stay empty), and the contract must promise
 * nothing the templates do not read. A metric, unit or dimension renamed on one
 * side only fails here.
 */

const CONTRACT = fs.readFileSync(path.join(__dirname, '..', 'runbooks', 'metrics.md'), 'utf8');

/** The lines of the `## ` section whose heading contains `heading`. */
function section(heading: string): string[] {
  const lines = CONTRACT.split('\n');
  const start = lines.findIndex((l) => l.startsWith('## ') && l.includes(heading));
  if (start < 0) throw new Error(`runbooks/metrics.md has no section '## …${heading}…'`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** Cells of a markdown table row, split on unescaped pipes, with `\|` read as `|` and surrounding backquotes removed. */
const cells = (row: string): string[] =>
  row
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|').replace(/^`(.*)`$/, '$1'));

/** Rows of the table whose header row starts with `firstHeader`, as records keyed by the header cells. */
function table(lines: string[], firstHeader: string): Record<string, string>[] {
  const start = lines.findIndex((l) => l.trim().startsWith('|') && cells(l)[0] === firstHeader);
  if (start < 0) throw new Error(`runbooks/metrics.md: no table with a '${firstHeader}' column in that section`);
  const header = cells(lines[start]);
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.trim().startsWith('|')) break;
    rows.push(Object.fromEntries(cells(line).map((c, i) => [header[i], c])));
  }
  return rows;
}

const namespaceOf = (lines: string[], heading: string) => {
  const match = /namespace `([^`]+)`/.exec(heading);
  if (!match) throw new Error(`section '${heading}' names no namespace`);
  return { namespace: match[1], lines };
};
const PROCESSING = namespaceOf(section('Processing worker'), CONTRACT.split('\n').find((l) => l.startsWith('## Processing worker'))!);
const API = namespaceOf(section('api logs'), CONTRACT.split('\n').find((l) => l.startsWith('## api logs'))!);

const processingMetrics = table(PROCESSING.lines, 'metric').map((r) => ({ name: r.metric, unit: r.unit }));
const processingDimensions = table(PROCESSING.lines, 'dimension').map((r) => r.dimension);
const apiFilters = table(API.lines, 'metric').map((r) => ({ name: r.metric, pattern: r['filter pattern'], unit: r.unit }));

type Json = unknown;
type Resource = { Type: string; Properties?: Record<string, Json> };

function* walk(node: Json): Generator<Record<string, Json>> {
  if (Array.isArray(node)) for (const child of node) yield* walk(child);
  else if (node && typeof node === 'object') {
    yield node as Record<string, Json>;
    for (const child of Object.values(node)) yield* walk(child);
  }
}

/** The environment a stack belongs to (BodyScript-Staging…, BodyScript-Production…), or undefined. */
const environmentOf = (stackName: string) => ENVIRONMENT_NAMES.find((env) => stackName === `BodyScript-${env.charAt(0).toUpperCase()}${env.slice(1)}` || stackName.startsWith(`BodyScript-${env.charAt(0).toUpperCase()}${env.slice(1)}-`));

interface MetricRead {
  readonly where: string;
  readonly env?: string;
  readonly namespace: string;
  readonly metricName: string;
  /** Dimension name → value; a value that is not a plain string (a reference) is 'REF'. */
  readonly dimensions: Record<string, string>;
}

const templates = () => stacks().map((s) => ({ name: s.displayName, env: environmentOf(s.displayName), resources: templateJson(s.id).Resources as Record<string, Resource> }));

/** Every metric an alarm or SLO reads (any object with Namespace and MetricName), and every metric row of every dashboard. */
function metricReads(): MetricRead[] {
  const reads: MetricRead[] = [];
  for (const t of templates()) {
    for (const [id, resource] of Object.entries(t.resources)) {
      const where = `${t.name}/${id}`;
      if (resource.Type === 'AWS::CloudWatch::Dashboard') {
        for (const row of dashboardRows(resource.Properties!.DashboardBody)) reads.push({ where, env: t.env, ...row });
        continue;
      }
      for (const node of walk(resource.Properties)) {
        if (typeof node.Namespace !== 'string' || typeof node.MetricName !== 'string') continue;
        const dimensions = Object.fromEntries(((node.Dimensions as { Name: string; Value: Json }[] | undefined) ?? []).map((d) => [d.Name, typeof d.Value === 'string' ? d.Value : 'REF']));
        reads.push({ where, env: t.env, namespace: node.Namespace, metricName: node.MetricName, dimensions });
      }
    }
  }
  return reads;
}

/** Metric rows of a dashboard body (a string, or Fn::Join of strings and references, each reference read as 'REF'). */
function dashboardRows(body: Json): Omit<MetricRead, 'where' | 'env'>[] {
  const text = typeof body === 'string' ? body : ((body as { 'Fn::Join': [string, Json[]] })['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'REF')).join(''));
  const widgets = (JSON.parse(text) as { widgets: { properties: { metrics?: Json[][] } }[] }).widgets;
  return widgets.flatMap((w) =>
    (w.properties.metrics ?? [])
      .filter((row) => typeof row[0] === 'string')
      .map((row) => {
        const strings = row.filter((x): x is string => typeof x === 'string');
        if (strings[0] === '.' || strings[0] === '...') throw new Error('shorthand dashboard rows are not read by this test');
        const [namespace, metricName, ...pairs] = strings;
        const dimensions: Record<string, string> = {};
        for (let i = 0; i + 1 < pairs.length; i += 2) dimensions[pairs[i]] = pairs[i + 1];
        return { namespace, metricName, dimensions };
      }),
  );
}

describe('runbooks/metrics.md, the metric contract', () => {
  test('names the worker namespace, its metrics with units, and exactly one dimension; the api namespace and its two filters', () => {
    expect(PROCESSING.namespace).toBe('BodyScript/Processing');
    expect(processingDimensions).toEqual(['Environment']);
    expect(processingMetrics.length).toBeGreaterThan(0);
    for (const m of processingMetrics) expect(m.unit).toMatch(/^(Count|Seconds)$/);
    expect(API.namespace).toBe('BodyScript/Api');
    expect(apiFilters.map((f) => f.name).sort()).toEqual(['ErrorLogLines', 'ServerErrorResponses']);
  });

  test('its embedded-metric-format example is one valid EMF line with exactly the contract: namespace, the one dimension, names and units', () => {
    const examples = PROCESSING.lines.filter((l) => l.trim().startsWith('{"_aws"'));
    expect(examples).toHaveLength(1);
    const emf = JSON.parse(examples[0]) as {
      _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
    } & Record<string, Json>;
    expect(Number.isInteger(emf._aws.Timestamp)).toBe(true);
    expect(emf._aws.CloudWatchMetrics).toHaveLength(1);
    const [directive] = emf._aws.CloudWatchMetrics;
    expect(directive.Namespace).toBe(PROCESSING.namespace);
    expect(directive.Dimensions).toEqual([processingDimensions]);
    expect(ENVIRONMENT_NAMES).toContain(emf.Environment);
    for (const metric of directive.Metrics) {
      expect({ metric: metric.Name, unit: metric.Unit }).toEqual({ metric: metric.Name, unit: processingMetrics.find((m) => m.name === metric.Name)?.unit });
      expect(typeof emf[metric.Name]).toBe('number');
    }
  });

  const reads = () => metricReads();

  test('every worker metric an alarm, SLO or graph reads is in the contract, with exactly the Environment dimension of its own environment', () => {
    const worker = reads().filter((r) => r.namespace === PROCESSING.namespace);
    expect(worker.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const r of worker) {
      if (!processingMetrics.some((m) => m.name === r.metricName)) problems.push(`${r.where}: reads ${r.metricName}, which runbooks/metrics.md does not promise`);
      if (!r.env) problems.push(`${r.where}: a worker metric in a stack of no environment`);
      const expected = Object.fromEntries(processingDimensions.map((d) => [d, r.env]));
      if (JSON.stringify(r.dimensions) !== JSON.stringify(expected)) problems.push(`${r.where}: ${r.metricName} with dimensions ${JSON.stringify(r.dimensions)}, the worker publishes ${JSON.stringify(expected)}`);
    }
    expect(problems).toEqual([]);
  });

  test('promises nothing that nothing reads: every worker metric of the contract is read in every environment', () => {
    const worker = reads().filter((r) => r.namespace === PROCESSING.namespace);
    for (const env of ENVIRONMENT_NAMES) {
      const read = new Set(worker.filter((r) => r.env === env).map((r) => r.metricName));
      expect({ env, unread: processingMetrics.map((m) => m.name).filter((n) => !read.has(n)) }).toEqual({ env, unread: [] });
    }
  });

  test("the worker is told the contract's namespace and the environment it reports as its dimension, and may publish to that namespace only", () => {
    const problems: string[] = [];
    let workers = 0;
    for (const t of templates()) {
      for (const [id, resource] of Object.entries(t.resources).filter(([, r]) => r.Type === 'AWS::ECS::TaskDefinition')) {
        for (const container of (resource.Properties!.ContainerDefinitions as { Name: string; Environment?: { Name: string; Value: Json }[] }[]) ?? []) {
          const variables = Object.fromEntries((container.Environment ?? []).map((e) => [e.Name, e.Value]));
          if (!('METRICS_NAMESPACE' in variables)) continue;
          workers++;
          const where = `${t.name}/${id}/${container.Name}`;
          if (variables.METRICS_NAMESPACE !== PROCESSING.namespace) problems.push(`${where}: METRICS_NAMESPACE ${JSON.stringify(variables.METRICS_NAMESPACE)}, the contract's is ${PROCESSING.namespace}`);
          if (variables.SENTRY_ENVIRONMENT !== t.env) problems.push(`${where}: SENTRY_ENVIRONMENT ${JSON.stringify(variables.SENTRY_ENVIRONMENT)} is the Environment dimension the worker reports, the alarms read ${t.env}`);
        }
      }
      const hasWorker = Object.values(t.resources).some((r) => r.Type === 'AWS::ECS::TaskDefinition' && JSON.stringify(r.Properties).includes('"METRICS_NAMESPACE"'));
      if (!hasWorker) continue;
      const publish = [...walk(Object.values(t.resources).filter((r) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy').map((r) => r.Properties))].filter(
        (node) => node.Effect === 'Allow' && JSON.stringify(node.Action ?? '').includes('cloudwatch:PutMetricData') && JSON.stringify(node.Condition ?? {}).includes(PROCESSING.namespace),
      );
      if (publish.length === 0) problems.push(`${t.name}: the worker's role has no cloudwatch:PutMetricData limited to ${PROCESSING.namespace}`);
    }
    expect(workers).toBeGreaterThanOrEqual(ENVIRONMENT_NAMES.length * 2);
    expect(problems).toEqual([]);
  });

  test('the api metric filters are the contract: name, pattern, unit, a default of 0, and what reads them asks for no dimension', () => {
    const problems: string[] = [];
    const seen = new Map<string, Set<string>>();
    for (const t of templates()) {
      for (const [id, resource] of Object.entries(t.resources).filter(([, r]) => r.Type === 'AWS::Logs::MetricFilter')) {
        const p = resource.Properties as { FilterPattern: string; MetricTransformations: { MetricNamespace: string; MetricName: string; Unit?: string; DefaultValue?: number; Dimensions?: Json[] }[] };
        for (const m of p.MetricTransformations.filter((x) => x.MetricNamespace === API.namespace)) {
          const promised = apiFilters.find((f) => f.name === m.MetricName);
          const where = `${t.name}/${id}`;
          if (!promised) problems.push(`${where}: ${m.MetricName} is not in runbooks/metrics.md`);
          else if (promised.pattern !== p.FilterPattern || promised.unit !== m.Unit) problems.push(`${where}: ${m.MetricName} '${p.FilterPattern}' ${m.Unit}, the contract says '${promised.pattern}' ${promised.unit}`);
          if (m.DefaultValue !== 0) problems.push(`${where}: ${m.MetricName} has no default value of 0, which the contract promises`);
          if (m.Dimensions?.length) problems.push(`${where}: ${m.MetricName} has dimensions; the contract's metric filters have none`);
          if (t.env) seen.set(t.env, new Set([...(seen.get(t.env) ?? []), m.MetricName]));
        }
      }
    }
    for (const r of reads().filter((x) => x.namespace === API.namespace)) {
      if (!apiFilters.some((f) => f.name === r.metricName)) problems.push(`${r.where}: reads ${r.metricName}, which runbooks/metrics.md does not promise`);
      if (Object.keys(r.dimensions).length) problems.push(`${r.where}: reads ${r.metricName} with dimensions ${JSON.stringify(r.dimensions)}; a metric filter publishes it with none`);
    }
    for (const env of ENVIRONMENT_NAMES) expect({ env, filters: [...(seen.get(env) ?? [])].sort() }).toEqual({ env, filters: apiFilters.map((f) => f.name).sort() });
    expect(problems).toEqual([]);
  });
});

/**
 * Metrics that exist only while their producer runs, by namespace: the
 * metric names and the dimension that names the producer. A Synthetics canary
 * publishes SuccessPercent and Duration once per run, passed or failed
 * (CloudWatch_Synthetics_Canaries_metrics), so a canary that stopped or cannot
 * start publishes nothing, and an alarm on them that reads missing data as
 * anything but breaching (notBreaching: OK; ignore: the last state, OK for a
 * canary that stopped after passing; missing: INSUFFICIENT_DATA, which
 * `ops verify` and a composite take as not in ALARM) says nothing when the
 * canary stops (observability review R12). The worker's metrics are not here:
 * they are one datapoint per job (runbooks/metrics.md), whose absence means no
 * job ended, and a stopped worker shows in the queue's age, which SQS
 * publishes whether or not anything consumes.
 */
const PRODUCER_DRIVEN: Record<string, { readonly metrics: readonly string[]; readonly producer: string }> = {
  CloudWatchSynthetics: { metrics: ['SuccessPercent', 'Duration'], producer: 'CanaryName' },
};

type AlarmProperties = Record<string, Json>;
interface StackTemplate {
  readonly name: string;
  readonly env?: string;
  readonly resources: Record<string, Resource>;
  readonly outputs: Record<string, { Value: Json; Export?: { Name: Json } }>;
}
const stackTemplates = (): StackTemplate[] =>
  stacks().map((s) => {
    const t = templateJson(s.id) as { Resources: Record<string, Resource>; Outputs?: StackTemplate['outputs'] };
    return { name: s.displayName, env: environmentOf(s.displayName), resources: t.Resources, outputs: t.Outputs ?? {} };
  });

/**
 * The producer a dimension value names: a canary's name, whether the value is
 * the name itself, a Ref to the canary, or the import of another stack's
 * export of that Ref; anything else as its JSON.
 */
function producerOf(stack: string, value: Json, all: readonly StackTemplate[]): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, Json>;
  const template = all.find((t) => t.name === stack);
  if (typeof v.Ref === 'string' && template) {
    const resource = template.resources[v.Ref];
    const name = resource?.Type === 'AWS::Synthetics::Canary' ? resource.Properties?.Name : undefined;
    return typeof name === 'string' ? name : `${stack}/${v.Ref}`;
  }
  if (typeof v['Fn::ImportValue'] === 'string') {
    for (const t of all) for (const output of Object.values(t.outputs)) if (output.Export?.Name === v['Fn::ImportValue']) return producerOf(t.name, output.Value, all);
  }
  return JSON.stringify(value);
}

interface MetricStat {
  readonly namespace: string;
  readonly metricName: string;
  readonly stat: string;
  /** The producer it reads (producerOf), for a producer-driven metric. */
  readonly producer?: string;
}

/** The metrics an alarm reads (one, or every MetricStat of its math). */
function alarmMetrics(stack: string, p: AlarmProperties, all: readonly StackTemplate[]): MetricStat[] {
  const read = (namespace: Json, metricName: Json, dimensions: Json, stat: Json): MetricStat => {
    const spec = PRODUCER_DRIVEN[namespace as string];
    const producer = spec && ((dimensions as { Name: string; Value: Json }[] | undefined) ?? []).find((d) => d.Name === spec.producer)?.Value;
    return { namespace: namespace as string, metricName: metricName as string, stat: stat as string, producer: producer === undefined ? undefined : producerOf(stack, producer, all) };
  };
  if (Array.isArray(p.Metrics)) {
    return (p.Metrics as { MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: Json }; Stat: string } }[]).flatMap((q) =>
      q.MetricStat ? [read(q.MetricStat.Metric.Namespace, q.MetricStat.Metric.MetricName, q.MetricStat.Metric.Dimensions, q.MetricStat.Stat)] : [],
    );
  }
  return [read(p.Namespace, p.MetricName, p.Dimensions, p.Statistic ?? p.ExtendedStatistic)];
}

const isProducerDriven = (m: MetricStat) => PRODUCER_DRIVEN[m.namespace]?.metrics.includes(m.metricName) ?? false;

/**
 * Alarms on a producer-driven metric whose producer can stop without any alarm
 * of their environment going to ALARM, one line each. An alarm is safe when it
 * treats missing data as breaching itself, or when its environment has a
 * silence alarm for the same producer: SampleCount of one of its metrics (the
 * runs), below 1, missing data breaching, named `<environment prefix>…`
 * (ops verify reads every alarm of that prefix) and notifying someone.
 */
function silentProducerProblems(all: readonly StackTemplate[]): string[] {
  const alarms = all.flatMap((t) =>
    Object.entries(t.resources)
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
      .map(([id, r]) => ({ stack: t.name, env: t.env, id, p: r.Properties as AlarmProperties, metrics: alarmMetrics(t.name, r.Properties as AlarmProperties, all) })),
  );
  const isSilenceAlarmOf = (producer: string, namespace: string, env: string | undefined) => (a: (typeof alarms)[number]) => {
    const [m, ...more] = a.metrics;
    const prefix = env ? alarmNamePrefix(env as EnvironmentName) : undefined;
    return (
      a.env === env &&
      more.length === 0 &&
      m.namespace === namespace &&
      isProducerDriven(m) &&
      m.producer === producer &&
      m.stat === 'SampleCount' &&
      a.p.TreatMissingData === 'breaching' &&
      a.p.ComparisonOperator === 'LessThanThreshold' &&
      (a.p.Threshold as number) > 0 &&
      (a.p.Threshold as number) <= 1 &&
      prefix !== undefined &&
      typeof a.p.AlarmName === 'string' &&
      a.p.AlarmName.startsWith(prefix) &&
      Array.isArray(a.p.AlarmActions) &&
      a.p.AlarmActions.length > 0
    );
  };
  const problems: string[] = [];
  for (const a of alarms) {
    if (a.p.TreatMissingData === 'breaching') continue;
    for (const m of a.metrics.filter(isProducerDriven)) {
      const where = `${a.stack}/${a.id} (${m.namespace} ${m.metricName} ${m.stat}, missing data ${String(a.p.TreatMissingData ?? 'missing')})`;
      if (m.producer === undefined) problems.push(`${where}: names no ${PRODUCER_DRIVEN[m.namespace].producer}, so no silence alarm can be matched to it`);
      else if (!alarms.some(isSilenceAlarmOf(m.producer, m.namespace, a.env))) problems.push(`${where}: reads a producer that stops as healthy, and no silence alarm of ${m.producer} in its environment goes to ALARM when it does`);
    }
  }
  return [...new Set(problems)];
}

describe('alarms on metrics that exist only while their producer runs (observability review R12)', () => {
  /** Every template, with the staging Services template changed as `change` says. */
  const withStagingServices = (change: (resources: Record<string, Resource>) => void): StackTemplate[] =>
    stackTemplates().map((t) => {
      if (t.name !== stackNames.services('staging')) return t;
      const resources = structuredClone(t.resources);
      change(resources);
      return { ...t, resources };
    });
  const servicesResources = (env: EnvironmentName) => stackTemplates().find((t) => t.name === stackNames.services(env))!.resources;

  test('every one goes to ALARM when its producer stops: it reads missing data as breaching, or a silence alarm of the same producer does', () => {
    const all = stackTemplates();
    expect(silentProducerProblems(all)).toEqual([]);
    // It checked something: in each environment the three canaries' failure alarms (missing data ignored) and the
    // web app SLO's failure counts in the environment's own stack (notBreaching: no run is no failure), matched across stacks.
    for (const env of ENVIRONMENT_NAMES) {
      const checked = all
        .filter((t) => t.env === env)
        .flatMap((t) => Object.values(t.resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties!.TreatMissingData !== 'breaching' && JSON.stringify(r.Properties).includes('"CloudWatchSynthetics"')));
      expect({ env, checked: checked.length >= 6 }).toEqual({ env, checked: true });
    }
  });

  test.each<[string, (resources: Record<string, Resource>) => void]>([
    ['the silence alarm is gone', (r) => delete r[silenceAlarmId(r, 'api')]],
    ['the silence alarm averages the runs instead of counting them', (r) => (r[silenceAlarmId(r, 'api')].Properties!.Statistic = 'Average')],
    ['the silence alarm tells nobody', (r) => delete r[silenceAlarmId(r, 'api')].Properties!.AlarmActions],
    ['the silence alarm is named outside the environment (ops verify does not read it)', (r) => (r[silenceAlarmId(r, 'api')].Properties!.AlarmName = 'Canary-api-Silent')],
    ['the silence alarm counts another canary', (r) => (r[silenceAlarmId(r, 'api')].Properties!.Dimensions = r[silenceAlarmId(r, 'frontend')].Properties!.Dimensions)],
  ])('fails when %s', (_, change) => {
    expect(silentProducerProblems(withStagingServices(change))).toEqual([expect.stringMatching(/^BodyScript-Staging-Services\/ApiCanaryFailureAlarm\w+ .*reads a producer that stops as healthy, and no silence alarm of bs-stg-api/)]);
  });

  test('fails when the silence alarm reads missing data as OK: then it is blind itself', () => {
    const problems = silentProducerProblems(withStagingServices((r) => (r[silenceAlarmId(r, 'api')].Properties!.TreatMissingData = 'notBreaching')));
    expect(problems).toEqual([expect.stringMatching(/\/ApiCanaryFailureAlarm\w+ .*missing data ignore\): reads a producer/), expect.stringMatching(/\/ApiCanarySilenceAlarm\w+ .*missing data notBreaching\): reads a producer/)]);
  });

  test('fails on a failure alarm that reads a stopped canary as OK (notBreaching, the R12 finding) when no silence alarm covers it, and on the SLO’s failure counts when the web app canary has none', () => {
    const problems = silentProducerProblems(
      withStagingServices((r) => {
        delete r[silenceAlarmId(r, 'api')];
        r[failureAlarmId(r, 'api')].Properties!.TreatMissingData = 'notBreaching';
        delete r[silenceAlarmId(r, 'frontend')];
      }),
    );
    expect(problems).toContainEqual(expect.stringMatching(/\/ApiCanaryFailureAlarm\w+ .*missing data notBreaching\): reads a producer that stops as healthy/));
    // The SLO alarms read the canary through an export of the Services stack: matched to it all the same.
    expect(problems).toContainEqual(expect.stringMatching(/^BodyScript-Staging\/ServiceLevelObjectives\w+ .*no silence alarm of bs-stg-frontend/));
    expect(problems.every((p) => p.startsWith('BodyScript-Staging'))).toBe(true);
  });

  test('each canary’s silence alarm is named as ops verify looks for it, and no composite alarm waits on one (verify judges them alone: lib/canary-silence.ts)', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const names = Object.values(servicesResources(env))
        .filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties!.Statistic === 'SampleCount' && r.Properties!.MetricName === 'SuccessPercent')
        .map((r) => r.Properties!.AlarmName)
        .sort();
      expect(names).toEqual(['api', 'frontend', 'processing'].map((target) => canarySilenceAlarmName(env, target)).sort());
    }
    const composites = stackTemplates().flatMap((t) => Object.values(t.resources).filter((r) => r.Type === 'AWS::CloudWatch::CompositeAlarm'));
    expect(composites.length).toBeGreaterThan(0);
    for (const composite of composites) expect(JSON.stringify(composite.Properties!.AlarmRule)).not.toMatch(/SilenceAlarm|-Silent/);
  });
});

/** Logical ID of the silence alarm (SampleCount of SuccessPercent) of a canary of a Services template. */
function silenceAlarmId(resources: Record<string, Resource>, target: string): string {
  return canaryAlarmId(resources, target, 'SampleCount');
}
function failureAlarmId(resources: Record<string, Resource>, target: string): string {
  return canaryAlarmId(resources, target, 'Average');
}
function canaryAlarmId(resources: Record<string, Resource>, target: string, statistic: string): string {
  const id = Object.keys(resources).find((k) => {
    const p = resources[k].Properties ?? {};
    return resources[k].Type === 'AWS::CloudWatch::Alarm' && p.MetricName === 'SuccessPercent' && p.Statistic === statistic && JSON.stringify(p.Dimensions).includes(`${target.charAt(0).toUpperCase()}${target.slice(1)}Canary`);
  });
  if (!id) throw new Error(`no ${statistic} SuccessPercent alarm of the ${target} canary`);
  return id;
}
