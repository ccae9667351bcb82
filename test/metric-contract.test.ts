import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENT_NAMES } from '../lib/config/schema';
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
