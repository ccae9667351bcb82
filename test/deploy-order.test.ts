import { ENVIRONMENT_NAMES } from '../lib/config';
import { stackNames } from '../lib/naming';
import { stacks, templateJson } from './support/assembly';

/**
 * A first deploy works on an empty account only in this order: the repository,
 * then the image pushed into it, then the service that pulls it. ECS keeps
 * starting tasks that cannot pull (CannotPullContainerError), and a service with
 * the CODE_DEPLOY controller has no circuit breaker: CloudFormation waits for
 * hours and rolls back, keeping every retained resource, so the retry fails on
 * "already exists". These checks read the synthesized assembly (nothing is
 * deployed): no stack that creates an ECS service creates the repository it
 * pulls from, and the stack that creates it is deployed first.
 */

type Json = unknown;
interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}
export interface OrderedStack {
  readonly name: string;
  readonly account: string;
  readonly region: string;
  readonly resources: Record<string, Resource>;
  /** Stacks deployed before this one (direct dependencies). */
  readonly dependencies: readonly string[];
}
export interface ImagePull {
  readonly stack: string;
  readonly resource: string;
  /** `<account>/<region>/<repository>` of a private ECR image, or undefined when the image cannot be read. */
  readonly repository?: string;
  readonly image: string;
}

/** A template value as text: Fn::Join of literals and `AWS::URLSuffix`, anything else as `<token>`. */
function text(value: Json): string {
  if (typeof value === 'string') return value;
  const record = value as Record<string, Json>;
  if (record && typeof record === 'object' && 'Fn::Join' in record) {
    const [separator, parts] = record['Fn::Join'] as [string, Json[]];
    return parts.map(text).join(separator);
  }
  if (record && typeof record === 'object' && record.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
  return '<token>';
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([a-z0-9._/-]+)[:@].+$/;

/** Every container image a stack's task definitions name. */
export function imagePulls(stack: OrderedStack): ImagePull[] {
  const pulls: ImagePull[] = [];
  for (const [logicalId, resource] of Object.entries(stack.resources)) {
    if (resource.Type !== 'AWS::ECS::TaskDefinition') continue;
    for (const container of (resource.Properties?.ContainerDefinitions ?? []) as { Image?: Json }[]) {
      const image = text(container.Image);
      const match = ECR_IMAGE.exec(image);
      pulls.push({ stack: stack.name, resource: logicalId, image, repository: match ? `${match[1]}/${match[2]}/${match[3]}` : undefined });
    }
  }
  return pulls;
}

/** Which stack makes each `<account>/<region>/<repository>` exist: its creator, or the creator's registry replication. */
export function repositoryCreators(all: readonly OrderedStack[]): Map<string, string> {
  const creators = new Map<string, string>();
  const created: { stack: OrderedStack; name: string }[] = [];
  for (const stack of all) {
    for (const resource of Object.values(stack.resources)) {
      if (resource.Type !== 'AWS::ECR::Repository') continue;
      const name = resource.Properties?.RepositoryName;
      if (typeof name === 'string') {
        creators.set(`${stack.account}/${stack.region}/${name}`, stack.name);
        created.push({ stack, name });
      }
    }
  }
  for (const stack of all) {
    for (const resource of Object.values(stack.resources)) {
      if (resource.Type !== 'AWS::ECR::ReplicationConfiguration') continue;
      const rules = ((resource.Properties?.ReplicationConfiguration as { Rules?: Json[] })?.Rules ?? []) as {
        Destinations: { Region: string; RegistryId: string }[];
        RepositoryFilters?: { Filter: string; FilterType: string }[];
      }[];
      for (const rule of rules) {
        const replicated = created.filter(
          ({ stack: creator, name }) =>
            creator.account === stack.account &&
            creator.region === stack.region &&
            (rule.RepositoryFilters ?? []).some((f) => f.FilterType === 'PREFIX_MATCH' && name.startsWith(f.Filter)),
        );
        for (const destination of rule.Destinations) {
          for (const { stack: creator, name } of replicated) {
            // The replica exists once both the repository and the replication rule do.
            creators.set(`${destination.RegistryId}/${destination.Region}/${name}`, [creator.name, stack.name].join(' + '));
          }
        }
      }
    }
  }
  return creators;
}

function dependenciesOf(all: readonly OrderedStack[], name: string, seen = new Set<string>()): Set<string> {
  for (const dependency of all.find((s) => s.name === name)?.dependencies ?? []) {
    if (seen.has(dependency)) continue;
    seen.add(dependency);
    dependenciesOf(all, dependency, seen);
  }
  return seen;
}

/** What breaks a first deploy on an empty account, one line per problem. */
export function deployOrderProblems(all: readonly OrderedStack[]): string[] {
  const problems: string[] = [];
  const creators = repositoryCreators(all);
  for (const stack of all) {
    const types = new Set(Object.values(stack.resources).map((r) => r.Type));
    if (types.has('AWS::ECS::Service') && types.has('AWS::ECR::Repository')) {
      problems.push(`${stack.name} creates an ECS service and a container repository: nothing can be pushed into the repository before the service starts pulling`);
    }
    for (const pull of imagePulls(stack)) {
      if (!pull.repository) {
        problems.push(`${stack.name}/${pull.resource} pulls '${pull.image}', which is not an image of a private ECR repository this check can place`);
        continue;
      }
      const creator = creators.get(pull.repository);
      if (!creator) {
        problems.push(`${stack.name}/${pull.resource} pulls from ${pull.repository}, which no stack of this app creates or replicates`);
        continue;
      }
      const earlier = dependenciesOf(all, stack.name);
      for (const needed of creator.split(' + ')) {
        if (needed === stack.name) problems.push(`${stack.name}/${pull.resource} pulls from ${pull.repository}, which the same stack creates`);
        else if (!earlier.has(needed)) problems.push(`${stack.name}/${pull.resource} pulls from ${pull.repository}, but ${needed} (which makes it exist) is not deployed before it`);
      }
    }
  }
  return problems;
}

function assemblyStacks(): OrderedStack[] {
  return stacks().map((s) => {
    const [account, region] = s.environment.replace('aws://', '').split('/');
    return { name: s.displayName, account, region, resources: templateJson(s.id).Resources as Record<string, Resource>, dependencies: s.dependencies };
  });
}

describe('the deploy order of a new account', () => {
  test('every image the app pulls comes from a repository created (or replicated) by a stack deployed before the stack that pulls it', () => {
    expect(deployOrderProblems(assemblyStacks())).toEqual([]);
  });

  test.each(ENVIRONMENT_NAMES)('%s: the primary services and the standby pilot light pull from the registry stack (and its us-west-2 replication); checked pulls are not vacuous', (env) => {
    const all = assemblyStacks();
    const pulls = all.filter((s) => s.name === stackNames.services(env) || s.name === stackNames.standby(env)).flatMap(imagePulls);
    expect(pulls.map((p) => `${p.stack}: ${p.repository?.split('/').slice(1).join('/')}`).sort()).toEqual([
      // The api service and the migrations task (same image).
      `${stackNames.services(env)}: us-east-1/bodyscript/${env}/api`,
      `${stackNames.services(env)}: us-east-1/bodyscript/${env}/api`,
      `${stackNames.services(env)}: us-east-1/bodyscript/${env}/processing`,
      `${stackNames.standby(env)}: us-west-2/bodyscript/${env}/api`,
      `${stackNames.standby(env)}: us-west-2/bodyscript/${env}/processing`,
    ]);
    const creators = repositoryCreators(all);
    for (const pull of pulls) expect(creators.get(pull.repository!)).toContain(stackNames.registry(env));
  });

  test.each(ENVIRONMENT_NAMES)('%s: one `cdk deploy BodyScript-<Env>` still deploys the registry (a dependency), and the registry depends on nothing that pulls images', (env) => {
    const all = assemblyStacks();
    expect(dependenciesOf(all, stackNames.application(env))).toContain(stackNames.registry(env));
    const beforeRegistry = [...dependenciesOf(all, stackNames.registry(env))];
    expect(beforeRegistry.flatMap((name) => imagePulls(all.find((s) => s.name === name)!))).toEqual([]);
  });
});

describe('the deploy-order check itself', () => {
  const image = (account: string, region: string, repository: string) => ({ 'Fn::Join': ['', [`${account}.dkr.ecr.${region}.`, { Ref: 'AWS::URLSuffix' }, `/${repository}:1.0.0`]] });
  const taskDefinition = (img: Json): Resource => ({ Type: 'AWS::ECS::TaskDefinition', Properties: { ContainerDefinitions: [{ Image: img }] } });
  const service: Resource = { Type: 'AWS::ECS::Service', Properties: {} };
  const repository = (name: string): Resource => ({ Type: 'AWS::ECR::Repository', Properties: { RepositoryName: name } });
  const replication = (prefix: string, region: string, account: string): Resource => ({
    Type: 'AWS::ECR::ReplicationConfiguration',
    Properties: { ReplicationConfiguration: { Rules: [{ Destinations: [{ Region: region, RegistryId: account }], RepositoryFilters: [{ Filter: prefix, FilterType: 'PREFIX_MATCH' }] }] } },
  });
  const stack = (name: string, resources: Record<string, Resource>, dependencies: string[] = [], region = 'us-east-1'): OrderedStack => ({ name, account: '111111111111', region, resources, dependencies });

  test('flags a stack that creates a service and the repository it pulls from (the layout before issue 9)', () => {
    const services = stack('Services', { Repo: repository('app/api'), Task: taskDefinition(image('111111111111', 'us-east-1', 'app/api')), Service: service });
    expect(deployOrderProblems([services])).toEqual([
      expect.stringContaining('Services creates an ECS service and a container repository'),
      expect.stringContaining('Services/Task pulls from 111111111111/us-east-1/app/api, which the same stack creates'),
    ]);
  });

  test('flags a puller deployed without a dependency on the registry, and passes with one (also transitively)', () => {
    const registry = stack('Registry', { Repo: repository('app/api') });
    const pulls = { Task: taskDefinition(image('111111111111', 'us-east-1', 'app/api')), Service: service };
    expect(deployOrderProblems([registry, stack('Services', pulls)])).toEqual([expect.stringContaining('but Registry (which makes it exist) is not deployed before it')]);
    expect(deployOrderProblems([registry, stack('Network', {}, ['Registry']), stack('Services', pulls, ['Network'])])).toEqual([]);
  });

  test('places an image in another region through the registry replication, which must cover the repository and that region', () => {
    const registry = stack('Registry', { Repo: repository('app/api'), Replication: replication('app/', 'us-west-2', '111111111111') });
    const standby = stack('Standby', { Task: taskDefinition(image('111111111111', 'us-west-2', 'app/api')) }, ['Registry'], 'us-west-2');
    expect(deployOrderProblems([registry, standby])).toEqual([]);
    const notReplicated = stack('Registry', { Repo: repository('app/api'), Replication: replication('other/', 'us-west-2', '111111111111') });
    expect(deployOrderProblems([notReplicated, standby])).toEqual([expect.stringContaining('which no stack of this app creates or replicates')]);
  });

  test('fails closed on an image it cannot place', () => {
    const services = stack('Services', { Task: taskDefinition({ 'Fn::GetAtt': ['Somewhere', 'Uri'] }) });
    expect(deployOrderProblems([services])).toEqual([expect.stringContaining("pulls '<token>'")]);
  });
});
