import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diffStack } from '../lib/diff-report/diff';
import { STATEFUL_RESOURCE_TYPES } from '../lib/diff-report/stateful';
import { stacks, templateJson } from './support/assembly';
import { synthesizeBodyScript } from './support/synthesize';

/**
 * What a release does to the templates: the pipeline synthesizes with
 * `-c apiImageTag=<tag>`, and that must change the api's task definition and
 * its deployment trigger (so `cdk deploy` releases it through CodeDeploy) and
 * nothing that holds data.
 */
type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string }> };

/** What the pipeline's diff report guards is what must not change here. */
const STATEFUL_TYPES = new Set(STATEFUL_RESOURCE_TYPES);

const NEW_TAG = 'sha-0123abc';
let outdir: string;
const released = (stackName: string): Template => JSON.parse(fs.readFileSync(path.join(outdir, `${stackName}.template.json`), 'utf8')) as Template;

beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-image-tag-'));
  // Only the templates are compared here; the gates run on the shared assembly
  // (and in the pipeline's CLI synth with the tag), and cost ten times this synth.
  synthesizeBodyScript(outdir, { apiImageTag: NEW_TAG }, { gates: [] });
  if (fs.existsSync(path.join(outdir, 'synth-error.txt'))) throw new Error(fs.readFileSync(path.join(outdir, 'synth-error.txt'), 'utf8'));
});

afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

describe.each(['Staging', 'Production'])('a new api image tag in %s', (env) => {
  const services = `BodyScript-${env}-Services`;
  const resourcesOf = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);

  test('changes the api task definition: the image and SENTRY_RELEASE', () => {
    const [[id, before]] = resourcesOf(templateJson(services), 'AWS::ECS::TaskDefinition').filter(([i]) => i.startsWith('ApiTaskDefinition'));
    const after = released(services).Resources[id];
    const containerOf = (r: typeof before) => (r.Properties!.ContainerDefinitions as { Image: unknown; Environment: { Name: string; Value: unknown }[] }[])[0];
    expect(JSON.stringify(containerOf(before).Image)).toContain(':1.0.0"');
    expect(JSON.stringify(containerOf(after).Image)).toContain(`:${NEW_TAG}"`);
    expect(containerOf(after).Environment).toContainEqual({ Name: 'SENTRY_RELEASE', Value: NEW_TAG });
  });

  test('changes the api deployment trigger, and not the processing task definition', () => {
    const triggers = (t: Template) => Object.fromEntries(resourcesOf(t, 'Custom::EcsDeploymentTrigger').map(([id, r]) => [id, r.Properties]));
    const before = triggers(templateJson(services));
    const after = triggers(released(services));
    const api = Object.keys(before).find((id) => id.startsWith('ApiRelease'))!;
    expect(Object.keys(before)).toEqual([api]);
    expect(after[api]).not.toEqual(before[api]);
    expect(after[api]?.Description).toContain(`release ${NEW_TAG}`);
    const processingTask = resourcesOf(templateJson(services), 'AWS::ECS::TaskDefinition').find(([i]) => i.startsWith('ProcessingTaskDefinition'))!;
    expect(released(services).Resources[processingTask[0]]).toEqual(processingTask[1]);
  });

  test('is an update AWS accepts: nothing ECS refuses on the CODE_DEPLOY api service (the diff report would exit 3)', () => {
    const diff = diffStack({ artifactId: services, stackName: services, displayName: services, template: released(services) }, { template: templateJson(services) });
    expect(diff.counts.changed).toBeGreaterThan(0);
    expect(diff.undeployable).toEqual([]);
  });

  test('does not touch the data stack', () => {
    expect(released(`BodyScript-${env}-Data`)).toEqual(templateJson(`BodyScript-${env}-Data`));
  });

  test('keeps the new image in the registry for as long as it runs: the api repository never expires the new tag (lifecycle policy, updated in place)', () => {
    const registry = `BodyScript-${env}-Registry`;
    const [[id]] = resourcesOf(templateJson(registry), 'AWS::ECR::Repository').filter(([i]) => i.startsWith('ApiRepository'));
    const policyOf = (t: Template) => JSON.parse((t.Resources[id].Properties!.LifecyclePolicy as { LifecyclePolicyText: string }).LifecyclePolicyText) as { rules: { selection: { tagPatternList?: string[] } }[] };
    expect(policyOf(templateJson(registry)).rules[0].selection.tagPatternList).toEqual(['1.0.0']);
    expect(policyOf(released(registry)).rules[0].selection.tagPatternList).toEqual([NEW_TAG]);
  });
});

/**
 * A repository's lifecycle policy names the tag in use (ContainerRepository), and
 * CloudFormation updates it in place (no interruption): the only stateful change a
 * release may make.
 */
function withoutLifecyclePolicy(resource: Template['Resources'][string] | undefined): string {
  if (resource?.Type !== 'AWS::ECR::Repository') return JSON.stringify(resource);
  const { LifecyclePolicy: _policy, ...properties } = resource.Properties ?? {};
  return JSON.stringify({ ...resource, Properties: properties });
}

test('changes no stateful resource in any stack, except the lifecycle policy of the api repositories', () => {
  const changed: string[] = [];
  const lifecycleChanged: string[] = [];
  for (const stack of stacks()) {
    const before = templateJson(stack.id) as Template;
    const after = released(stack.id);
    for (const [id, resource] of Object.entries(before.Resources)) {
      if (!STATEFUL_TYPES.has(resource.Type)) continue;
      if (withoutLifecyclePolicy(after.Resources[id]) !== withoutLifecyclePolicy(resource)) changed.push(`${stack.displayName}/${id}`);
      else if (JSON.stringify(after.Resources[id]) !== JSON.stringify(resource)) lifecycleChanged.push(`${stack.displayName}/${id}`);
    }
    for (const [id, resource] of Object.entries(after.Resources)) {
      if (STATEFUL_TYPES.has(resource.Type) && !before.Resources[id]) changed.push(`${stack.displayName}/${id} (new)`);
    }
  }
  expect(changed).toEqual([]);
  expect(lifecycleChanged.sort()).toEqual([
    expect.stringMatching(/^BodyScript-Production-Registry\/ApiRepository/),
    expect.stringMatching(/^BodyScript-Staging-Registry\/ApiRepository/),
  ]);
});
