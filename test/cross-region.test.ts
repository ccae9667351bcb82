import { regionalRecordName } from '../constructs/failover-record';
import { ENVIRONMENT_NAMES, loadConfig } from '../lib/config';
import { clusterName, databaseInstanceArn, ecsServiceName, SERVICE_NAMES, stackNames } from '../lib/naming';
import { stacks, templateJson } from './support/assembly';

/**
 * No strong references between regions. CloudFormation can only express them as
 * exports (or CDK's SSM-based cross-region references), and an export blocks any
 * update of the exporting stack that would change it: one region's deployment
 * would then wait on the other's, which is exactly what a disaster-recovery
 * standby must never do. The stacks in one region name the other region's
 * resources through config and lib/naming.ts instead.
 *
 * A weak read of another region (`Fn::GetStackOutput`, resolved when the reader
 * is deployed) is allowed only in one direction: a primary-region stack may read
 * a standby-region stack, never the other way round, because the standby stacks
 * must deploy while the primary region is down. Whether such a read can go stale
 * is test/cross-stack-references.test.ts's business.
 */

type Json = unknown;
interface StackTemplate {
  readonly name: string;
  readonly region: string;
  readonly template: Record<string, Json>;
}

/** Every node of a template with the path that leads to it. */
function* walk(node: Json, path: string[] = []): Generator<[string[], Json]> {
  yield [path, node];
  if (Array.isArray(node)) for (const [i, child] of node.entries()) yield* walk(child, [...path, String(i)]);
  else if (node && typeof node === 'object') for (const [key, child] of Object.entries(node)) yield* walk(child, [...path, key]);
}

/** What a stack imports from another region: one line per problem. A stack in one of `standbyRegions` may not read another region at all. */
export function crossRegionReads(all: readonly StackTemplate[], standbyRegions: ReadonlySet<string> = new Set()): string[] {
  const exportRegion = new Map<string, string>();
  for (const stack of all) {
    const outputs = (stack.template.Outputs ?? {}) as Record<string, { Export?: { Name?: Json } }>;
    for (const output of Object.values(outputs)) {
      if (typeof output.Export?.Name === 'string') exportRegion.set(output.Export.Name, stack.region);
    }
  }
  const problems: string[] = [];
  for (const stack of all) {
    for (const [path, node] of walk(stack.template.Resources ?? {})) {
      if (!node || typeof node !== 'object' || Array.isArray(node)) continue;
      const where = `${stack.name} (${stack.region}) at ${path.join('.')}`;
      const record = node as Record<string, Json>;
      if ('Fn::ImportValue' in record) {
        const name = record['Fn::ImportValue'];
        const region = typeof name === 'string' ? exportRegion.get(name) : undefined;
        if (region !== stack.region) problems.push(`${where}: Fn::ImportValue ${JSON.stringify(name)} is exported by ${region ?? 'no stack of this app in this region'}`);
      }
      if ('Fn::GetStackOutput' in record) {
        const ref = record['Fn::GetStackOutput'] as { StackName?: string; Region?: string; OutputName?: string };
        if (ref.Region !== undefined && ref.Region !== stack.region && standbyRegions.has(stack.region)) {
          problems.push(`${where}: Fn::GetStackOutput reads ${ref.StackName}.${ref.OutputName} from ${ref.Region}, which may be down when this standby stack must deploy`);
        }
      }
      if (typeof record.Type === 'string' && /CrossRegion(Export|Import)?(Reader|Writer)/.test(record.Type)) {
        problems.push(`${where}: ${record.Type} is a CDK cross-region reference (crossRegionReferences)`);
      }
    }
  }
  return problems;
}

/** Strings of a template that mention `region`, except the allowed ones (config-derived names and ARNs). */
export function mentionsOfRegion(stack: StackTemplate, region: string, allowed: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const [path, node] of walk(stack.template.Resources ?? {})) {
    if (typeof node === 'string' && node.includes(region) && !allowed.has(node)) found.push(`${stack.name} at ${path.join('.')}: '${node}'`);
  }
  return found;
}

function assemblyTemplates(): StackTemplate[] {
  return stacks().map((s) => ({
    name: s.displayName,
    region: s.environment.split('/').pop()!,
    template: templateJson(s.id) as unknown as Record<string, Json>,
  }));
}

describe('cross-region references', () => {
  test('the app has stacks in both regions (otherwise this test proves nothing)', () => {
    const regions = new Set(assemblyTemplates().map((s) => s.region));
    expect(regions).toEqual(new Set(['us-east-1', 'us-west-2']));
  });

  test('no stack imports a value from another region, and no standby stack reads one', () => {
    const standbyRegions = new Set(ENVIRONMENT_NAMES.map((env) => loadConfig().environments[env].standby.region));
    expect(crossRegionReads(assemblyTemplates(), standbyRegions)).toEqual([]);
  });

  test.each(ENVIRONMENT_NAMES)('the %s standby stacks name the primary region only through config-derived ARNs', (env) => {
    const config = loadConfig().environments[env];
    const { account, region } = config.primary;
    // The Region switch plan names the primary's side of the failover (its region, and the
    // primary's cluster and services, which it reads and matches), and the api's failover pair
    // the primary's regional record: all from config, none referenced.
    const ecsArn = (resource: string) => `arn:aws:ecs:${region}:${account}:${resource}`;
    const allowed = new Set([
      databaseInstanceArn(env, config.primary),
      region,
      ecsArn(`cluster/${clusterName(env)}`),
      ...SERVICE_NAMES.map((service) => ecsArn(`service/${clusterName(env)}/${ecsServiceName(env, service)}`)),
      // With a domain, the PRIMARY half of the api's failover pair aliases the primary region's
      // own record by its name in the same hosted zone (Route 53 resolves it; nothing is referenced).
      ...(config.domain ? [regionalRecordName(config.domain.apiDomainName, region)] : []),
    ]);
    const standbyStacks = assemblyTemplates().filter((s) => s.name === stackNames.standby(env) || s.name === stackNames.standbyData(env));
    expect(standbyStacks).toHaveLength(2);
    for (const stack of standbyStacks) expect(stack.region).toBe(config.standby.region);
    // Descriptions are prose for people ("fail over from us-east-1 to us-west-2"), not references.
    const mentions = standbyStacks.flatMap((s) => mentionsOfRegion(s, region, allowed)).filter((m) => !/\.Description: '/.test(m));
    expect(mentions).toEqual([]);
  });
});

describe('the cross-region checks themselves', () => {
  const east = (resources: Record<string, Json>, outputs: Record<string, Json> = {}): StackTemplate => ({ name: 'East', region: 'us-east-1', template: { Resources: resources, Outputs: outputs } });
  const west = (resources: Record<string, Json>): StackTemplate => ({ name: 'West', region: 'us-west-2', template: { Resources: resources } });

  test('flag an import of an export from another region', () => {
    const exporter = east({}, { KeyArn: { Value: 'x', Export: { Name: 'East:KeyArn' } } });
    const importer = west({ Bucket: { Type: 'AWS::S3::Bucket', Properties: { Key: { 'Fn::ImportValue': 'East:KeyArn' } } } });
    expect(crossRegionReads([exporter, importer])).toEqual([expect.stringContaining("Fn::ImportValue \"East:KeyArn\" is exported by us-east-1")]);
  });

  test('flag a stack output a standby stack reads from another region, but not one from its own region', () => {
    const reader = west({
      A: { Type: 'AWS::S3::Bucket', Properties: { Key: { 'Fn::GetStackOutput': { StackName: 'East', Region: 'us-east-1', OutputName: 'KeyArn' } } } },
      B: { Type: 'AWS::S3::Bucket', Properties: { Key: { 'Fn::GetStackOutput': { StackName: 'West2', Region: 'us-west-2', OutputName: 'KeyArn' } } } },
    });
    expect(crossRegionReads([reader], new Set(['us-west-2']))).toEqual([expect.stringContaining('West (us-west-2) at A.Properties.Key: Fn::GetStackOutput reads East.KeyArn from us-east-1')]);
  });

  test('let a primary-region stack read a standby-region output weakly', () => {
    const reader = east({ A: { Type: 'AWS::RDS::DBInstance', Properties: { Key: { 'Fn::GetStackOutput': { StackName: 'West', Region: 'us-west-2', OutputName: 'KeyArn' } } } } });
    expect(crossRegionReads([reader], new Set(['us-west-2']))).toEqual([]);
  });

  test("flag CDK's SSM-based cross-region reference readers", () => {
    expect(crossRegionReads([west({ Reader: { Type: 'Custom::CrossRegionExportReader', Properties: {} } })])).toHaveLength(1);
  });

  test('flag a mention of the other region unless it is an allowed config-derived ARN', () => {
    const stack = west({ R: { Type: 'AWS::RDS::DBInstance', Properties: { Source: 'arn:aws:rds:us-east-1:1:db:a', Other: 'arn:aws:sns:us-east-1:1:topic' } } });
    expect(mentionsOfRegion(stack, 'us-east-1', new Set(['arn:aws:rds:us-east-1:1:db:a']))).toEqual(["West at R.Properties.Other: 'arn:aws:sns:us-east-1:1:topic'"]);
  });
});
