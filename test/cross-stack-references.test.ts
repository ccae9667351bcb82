import { ENVIRONMENT_NAMES } from '../lib/config';
import { stackNames } from '../lib/naming';
import { stacks, templateJson } from './support/assembly';

/**
 * No consumer keeps a stale value of another stack (README, "Cross-stack
 * references"). A weak reference (`Fn::GetStackOutput`) "is resolved at stack
 * create or update time. If the referenced stack or output is later deleted or
 * modified, the consuming stack is not automatically updated or notified"
 * (CloudFormation template reference, intrinsic-function-reference-getstackoutput),
 * and `cdk deploy` skips a consumer whose template did not change. A strong one
 * (`Fn::ImportValue`) cannot go stale: "you can't modify or remove an output
 * value that is referenced by another stack" (intrinsic-function-reference-importvalue),
 * so a producer whose value would change fails its own update instead.
 *
 * So: names (lib/naming.ts) where a name is enough, strong references within a
 * region, and weak ones only across regions (CloudFormation has no cross-region
 * import) and only to a resource that is retained when deleted or replaced, so
 * that the value the consumer holds still names an existing resource.
 */

type Json = unknown;
interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}
export interface ReferencedTemplate {
  readonly name: string;
  readonly region: string;
  readonly resources: Record<string, Resource>;
  readonly outputs: Record<string, { Value: Json; Export?: { Name?: Json } }>;
}
export interface CrossStackReference {
  readonly consumer: string;
  readonly path: string;
  readonly strength: 'strong' | 'weak';
  readonly producer?: string;
  readonly crossRegion: boolean;
  /** The producer resource whose attribute the output carries (undefined: no such output or export). */
  readonly resource?: { readonly logicalId: string } & Resource;
  readonly what: string;
}

function* walk(node: Json, path: string[] = []): Generator<[string[], Json]> {
  yield [path, node];
  if (Array.isArray(node)) for (const [i, child] of node.entries()) yield* walk(child, [...path, String(i)]);
  else if (node && typeof node === 'object') for (const [key, child] of Object.entries(node)) yield* walk(child, [...path, key]);
}

/** The resource an output's value is an attribute of (`Ref` or `Fn::GetAtt`, possibly inside Fn::Join). */
function producingResource(template: ReferencedTemplate, value: Json): ({ logicalId: string } & Resource) | undefined {
  for (const [, node] of walk(value)) {
    if (!node || typeof node !== 'object' || Array.isArray(node)) continue;
    const record = node as Record<string, Json>;
    const logicalId = typeof record.Ref === 'string' ? record.Ref : Array.isArray(record['Fn::GetAtt']) ? (record['Fn::GetAtt'] as string[])[0] : undefined;
    if (logicalId && template.resources[logicalId]) return { logicalId, ...template.resources[logicalId] };
  }
  return undefined;
}

/** Every `Fn::GetStackOutput` and `Fn::ImportValue` in the resources of `all`, with what it reads. */
export function crossStackReferences(all: readonly ReferencedTemplate[]): CrossStackReference[] {
  const found: CrossStackReference[] = [];
  for (const consumer of all) {
    for (const [path, node] of walk(consumer.resources)) {
      if (!node || typeof node !== 'object' || Array.isArray(node)) continue;
      const record = node as Record<string, Json>;
      if ('Fn::GetStackOutput' in record) {
        const ref = record['Fn::GetStackOutput'] as { StackName: string; Region?: string; OutputName: string };
        const region = ref.Region ?? consumer.region;
        const producer = all.find((t) => t.name === ref.StackName && t.region === region);
        const output = producer?.outputs[ref.OutputName];
        found.push({
          consumer: consumer.name,
          path: path.join('.'),
          strength: 'weak',
          producer: producer?.name,
          crossRegion: region !== consumer.region,
          resource: producer && output ? producingResource(producer, output.Value) : undefined,
          what: `${ref.StackName}.${ref.OutputName} (${region})`,
        });
      }
      if ('Fn::ImportValue' in record) {
        const name = record['Fn::ImportValue'];
        const producer = all.find((t) => t.region === consumer.region && Object.values(t.outputs).some((o) => o.Export?.Name === name));
        const output = producer && Object.values(producer.outputs).find((o) => o.Export?.Name === name);
        found.push({
          consumer: consumer.name,
          path: path.join('.'),
          strength: 'strong',
          producer: producer?.name,
          crossRegion: false,
          resource: producer && output ? producingResource(producer, output.Value) : undefined,
          what: `export ${JSON.stringify(name)}`,
        });
      }
    }
  }
  return found;
}

const keptWhenGone = (resource: Resource) => resource.DeletionPolicy === 'Retain' && resource.UpdateReplacePolicy === 'Retain';

/** References that would let a replaced or deleted producer leave a consumer pointing at nothing, one line each. */
export function staleReferenceProblems(references: readonly CrossStackReference[]): string[] {
  const problems: string[] = [];
  for (const ref of references) {
    const where = `${ref.consumer} at ${ref.path} reads ${ref.what}`;
    if (!ref.producer) {
      problems.push(`${where}, which no stack of this app has`);
    } else if (ref.strength === 'weak' && !ref.crossRegion) {
      problems.push(`${where} weakly within one region: when the producer replaces ${ref.resource?.logicalId ?? 'it'}, this stays stale until the consumer happens to be updated; use a name from lib/naming.ts or a strong reference`);
    } else if (ref.strength === 'weak' && !ref.resource) {
      problems.push(`${where} weakly, and the output is no attribute of a resource this check can see: it cannot tell whether the value outlives a replacement`);
    } else if (ref.strength === 'weak' && ref.resource && !keptWhenGone(ref.resource)) {
      problems.push(
        `${where} weakly across regions, but ${ref.producer}/${ref.resource.logicalId} (${ref.resource.Type}) is not retained when deleted or replaced (DeletionPolicy ${ref.resource.DeletionPolicy ?? 'Delete'}, UpdateReplacePolicy ${ref.resource.UpdateReplacePolicy ?? 'Delete'}): a replacement would leave this consumer pointing at nothing`,
      );
    }
  }
  return problems;
}

function assemblyTemplates(): ReferencedTemplate[] {
  return stacks().map((s) => {
    const template = templateJson(s.id) as unknown as { Resources: Record<string, Resource>; Outputs?: ReferencedTemplate['outputs'] };
    return { name: s.displayName, region: s.environment.split('/').pop()!, resources: template.Resources, outputs: template.Outputs ?? {} };
  });
}

describe('cross-stack references of the app', () => {
  const references = crossStackReferences(assemblyTemplates());

  test('there are references to check (otherwise this test proves nothing)', () => {
    expect(references.filter((r) => r.strength === 'strong').length).toBeGreaterThan(100);
    expect(references.filter((r) => r.strength === 'weak').length).toBeGreaterThan(0);
  });

  test('no reference can leave a consumer pointing at nothing when its producer is replaced', () => {
    expect(staleReferenceProblems(references)).toEqual([]);
  });

  test.each(ENVIRONMENT_NAMES)('%s: the only weak reference is the data stack reading the standby database key ARN for its replicated backups (RDS takes a key ARN, not an alias)', (env) => {
    const weak = references.filter((r) => r.strength === 'weak' && (r.consumer.includes(`-${env === 'staging' ? 'Staging' : 'Production'}`)));
    expect(weak.map((r) => [r.consumer, r.path, r.producer, r.resource?.Type])).toEqual([
      [stackNames.data(env), expect.stringMatching(/^DatabaseInstance[0-9A-F]{8}\.Properties\.AutomaticBackupReplicationKmsKeyId$/), stackNames.standbyData(env), 'AWS::KMS::Key'],
    ]);
  });
});

describe('the stale-reference check itself', () => {
  const template = (name: string, region: string, resources: Record<string, Resource>, outputs: ReferencedTemplate['outputs'] = {}): ReferencedTemplate => ({ name, region, resources, outputs });
  const producer = (region: string) =>
    template(
      'Producer',
      region,
      {
        SecurityGroup: { Type: 'AWS::EC2::SecurityGroup' },
        Key: { Type: 'AWS::KMS::Key', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' },
      },
      {
        GroupId: { Value: { 'Fn::GetAtt': ['SecurityGroup', 'GroupId'] }, Export: { Name: 'Producer:GroupId' } },
        KeyArn: { Value: { 'Fn::GetAtt': ['Key', 'Arn'] } },
      },
    );
  const consumer = (region: string, value: Json) => template('Consumer', region, { Rule: { Type: 'AWS::EC2::SecurityGroupIngress', Properties: { GroupId: value } } });

  test('flags a weak reference within one region, the layout main had for every reference (cdk.json "weak")', () => {
    const problems = staleReferenceProblems(crossStackReferences([producer('us-east-1'), consumer('us-east-1', { 'Fn::GetStackOutput': { StackName: 'Producer', Region: 'us-east-1', OutputName: 'GroupId' } })]));
    expect(problems).toEqual([expect.stringContaining('weakly within one region: when the producer replaces SecurityGroup, this stays stale')]);
  });

  test('flags a weak reference across regions to a resource that is not retained', () => {
    const problems = staleReferenceProblems(crossStackReferences([producer('us-west-2'), consumer('us-east-1', { 'Fn::GetStackOutput': { StackName: 'Producer', Region: 'us-west-2', OutputName: 'GroupId' } })]));
    expect(problems).toEqual([expect.stringContaining('Producer/SecurityGroup (AWS::EC2::SecurityGroup) is not retained when deleted or replaced')]);
  });

  test('accepts a weak reference across regions to a retained resource, and a strong one within a region', () => {
    const weak = crossStackReferences([producer('us-west-2'), consumer('us-east-1', { 'Fn::GetStackOutput': { StackName: 'Producer', Region: 'us-west-2', OutputName: 'KeyArn' } })]);
    const strong = crossStackReferences([producer('us-east-1'), consumer('us-east-1', { 'Fn::ImportValue': 'Producer:GroupId' })]);
    expect(weak.map((r) => r.resource?.logicalId)).toEqual(['Key']);
    expect(strong.map((r) => r.resource?.logicalId)).toEqual(['SecurityGroup']);
    expect(staleReferenceProblems([...weak, ...strong])).toEqual([]);
  });

  test('flags a reference to an output or export no stack has', () => {
    const problems = staleReferenceProblems(
      crossStackReferences([
        producer('us-east-1'),
        consumer('us-east-1', { 'Fn::ImportValue': 'Producer:Gone' }),
        template('Other', 'us-east-1', { R: { Type: 'AWS::SNS::Topic', Properties: { X: { 'Fn::GetStackOutput': { StackName: 'Missing', Region: 'us-west-2', OutputName: 'A' } } } } }),
      ]),
    );
    expect(problems).toEqual([expect.stringContaining('export "Producer:Gone", which no stack of this app has'), expect.stringContaining('Missing.A (us-west-2), which no stack of this app has')]);
  });
});
