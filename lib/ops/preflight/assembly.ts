import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EnvironmentConfig, EnvironmentName } from '../../config';
import { stackNames } from '../../naming';
import { OpsError } from '../aws-errors';

/**
 * What `ops preflight` reads from the synthesized cloud assembly (`cdk.out`):
 * the stacks of one environment, where they deploy, the bootstrap version
 * each of them requires and the bootstrap roles the CDK CLI will assume for
 * them. Reading the assembly (not config alone) checks exactly what the
 * pipeline is about to deploy.
 */

/** An account and region that stacks of the environment deploy to, with what its bootstrap must provide. */
export interface BootstrapEnvironment {
  readonly account: string;
  readonly region: string;
  /** The highest `requiresBootstrapStackVersion` of any stack, lookup role or asset manifest there. */
  readonly requiredVersion: number;
  /** The SSM parameter that holds the bootstrap version (`/cdk-bootstrap/<qualifier>/version`). */
  readonly versionParameter: string;
  /** Role names the CDK CLI assumes there, by purpose (file publishing only where there are file assets). */
  readonly roles: Readonly<Partial<Record<BootstrapRolePurpose, string>>>;
}

export const BOOTSTRAP_ROLE_PURPOSES = ['deploy', 'file-publishing', 'lookup'] as const;
export type BootstrapRolePurpose = (typeof BOOTSTRAP_ROLE_PURPOSES)[number];

export interface EnvironmentAssembly {
  readonly dir: string;
  /** Stack names of the environment in deploy order (dependencies first). */
  readonly stacks: readonly AssemblyStackInfo[];
  readonly bootstrap: readonly BootstrapEnvironment[];
}

export interface AssemblyStackInfo {
  readonly name: string;
  readonly account: string;
  readonly region: string;
  readonly dependencies: readonly string[];
}

interface Artifact {
  readonly type: string;
  readonly environment?: string;
  readonly displayName?: string;
  readonly dependencies?: string[];
  readonly properties?: {
    readonly file?: string;
    readonly assumeRoleArn?: string;
    readonly requiresBootstrapStackVersion?: number;
    readonly bootstrapStackVersionSsmParameter?: string;
    readonly lookupRole?: { readonly arn?: string; readonly requiresBootstrapStackVersion?: number };
  };
}

interface AssetManifest {
  readonly files?: Record<string, { readonly destinations: Record<string, { readonly assumeRoleArn?: string }> }>;
  readonly dockerImages?: Record<string, { readonly destinations: Record<string, { readonly assumeRoleArn?: string }> }>;
}

function usage(message: string): OpsError {
  return new OpsError('usage', message);
}

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw usage(`cannot read ${what} ${file} (${error instanceof Error ? error.message : String(error)}): run 'npx cdk synth --quiet' first, or pass --assembly DIR`);
  }
}

/** `arn:${AWS::Partition}:iam::111111111111:role/cdk-hnb659fds-deploy-role-111111111111-us-east-1` → the role name. */
function roleName(arn: string | undefined, what: string): string {
  const name = arn?.split(':role/')[1];
  if (!name) throw usage(`the cloud assembly names no ${what} role (got ${arn ?? 'nothing'}): synthesize with the default stack synthesizer`);
  return name;
}

function parseEnvironment(value: string | undefined, stack: string): { account: string; region: string } {
  const match = /^aws:\/\/(\d{12})\/([a-z0-9-]+)$/.exec(value ?? '');
  if (!match) throw usage(`stack ${stack} in the cloud assembly has no concrete environment (got '${value ?? ''}'): every stack needs an explicit env`);
  return { account: match[1], region: match[2] };
}

/** The environment's stacks (`BodyScript-<Env>` and `BodyScript-<Env>-*`) with what their bootstrap must provide. */
export function readEnvironmentAssembly(dir: string, env: EnvironmentName, config: EnvironmentConfig): EnvironmentAssembly {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) throw usage(`no cloud assembly in ${dir} (${manifestFile} is missing): run 'npx cdk synth --quiet' first, or pass --assembly DIR`);
  const manifest = readJson<{ artifacts?: Record<string, Artifact> }>(manifestFile, 'the cloud assembly manifest');
  const artifacts = manifest.artifacts ?? {};
  const prefix = stackNames.application(env);
  // BodyScript-<Env>-BackupVault lives in the separate backup account and is deployed by a person there, never by the pipeline.
  const ids = Object.keys(artifacts).filter(
    (id) => artifacts[id].type === 'aws:cloudformation:stack' && (id === prefix || id.startsWith(`${prefix}-`)) && id !== stackNames.backupVault(env),
  );
  if (!ids.includes(prefix)) throw usage(`the cloud assembly in ${dir} has no stack ${prefix}: synthesize the app again ('npx cdk synth --quiet')`);

  const stacks: AssemblyStackInfo[] = ids.map((id) => {
    const { account, region } = parseEnvironment(artifacts[id].environment, id);
    const expected = [config.primary, config.standby].find((l) => l.region === region);
    if (!expected || expected.account !== account) {
      throw usage(
        `stack ${id} in the cloud assembly deploys to aws://${account}/${region}, but lib/config says ${env} lives in ` +
          `aws://${config.primary.account}/${config.primary.region} and aws://${config.standby.account}/${config.standby.region}: synthesize again`,
      );
    }
    const dependencies = (artifacts[id].dependencies ?? []).filter((d) => artifacts[d]?.type === 'aws:cloudformation:stack');
    return { name: artifacts[id].displayName ?? id, account, region, dependencies };
  });

  const byEnvironment = new Map<string, { account: string; region: string; versions: number[]; parameters: Set<string>; roles: Partial<Record<BootstrapRolePurpose, string>> }>();
  const slot = (account: string, region: string) => {
    const key = `${account}/${region}`;
    let entry = byEnvironment.get(key);
    if (!entry) byEnvironment.set(key, (entry = { account, region, versions: [], parameters: new Set(), roles: {} }));
    return entry;
  };
  for (const id of ids) {
    const artifact = artifacts[id];
    const { account, region } = parseEnvironment(artifact.environment, id);
    const entry = slot(account, region);
    const properties = artifact.properties ?? {};
    entry.versions.push(properties.requiresBootstrapStackVersion ?? 0, properties.lookupRole?.requiresBootstrapStackVersion ?? 0);
    if (properties.bootstrapStackVersionSsmParameter) entry.parameters.add(properties.bootstrapStackVersionSsmParameter);
    entry.roles.deploy ??= roleName(properties.assumeRoleArn, 'deploy');
    entry.roles.lookup ??= roleName(properties.lookupRole?.arn, 'lookup');
    for (const dependency of artifact.dependencies ?? []) {
      const assets = artifacts[dependency];
      if (assets?.type !== 'cdk:asset-manifest') continue;
      const assetProperties = assets.properties ?? {};
      entry.versions.push(assetProperties.requiresBootstrapStackVersion ?? 0);
      if (assetProperties.bootstrapStackVersionSsmParameter) entry.parameters.add(assetProperties.bootstrapStackVersionSsmParameter);
      const assetManifest = readJson<AssetManifest>(path.join(dir, assetProperties.file ?? `${dependency}.json`), 'the asset manifest');
      for (const asset of Object.values(assetManifest.files ?? {})) {
        for (const destination of Object.values(asset.destinations)) entry.roles['file-publishing'] ??= roleName(destination.assumeRoleArn, 'file-publishing');
      }
    }
  }

  const bootstrap = [...byEnvironment.values()].map((entry) => {
    if (entry.parameters.size !== 1) {
      throw usage(`stacks in aws://${entry.account}/${entry.region} name ${entry.parameters.size} bootstrap version parameters (${[...entry.parameters].join(', ')}): one qualifier per environment is expected`);
    }
    return {
      account: entry.account,
      region: entry.region,
      requiredVersion: Math.max(...entry.versions),
      versionParameter: [...entry.parameters][0],
      // Always in the same order, so reports compare line by line.
      roles: Object.fromEntries(BOOTSTRAP_ROLE_PURPOSES.filter((p) => entry.roles[p]).map((p) => [p, entry.roles[p]])),
    };
  });
  // The primary region first, then the standby.
  bootstrap.sort((a, b) => Number(b.region === config.primary.region) - Number(a.region === config.primary.region) || a.region.localeCompare(b.region));
  return { dir, stacks: orderByDependencies(stacks), bootstrap };
}

/** Dependencies first, as the CDK CLI deploys them. */
function orderByDependencies(stacks: AssemblyStackInfo[]): AssemblyStackInfo[] {
  const byName = new Map(stacks.map((s) => [s.name, s]));
  const ordered: AssemblyStackInfo[] = [];
  const seen = new Set<string>();
  const visit = (stack: AssemblyStackInfo) => {
    if (seen.has(stack.name)) return;
    seen.add(stack.name);
    for (const dependency of stack.dependencies) {
      const found = byName.get(dependency);
      if (found) visit(found);
    }
    ordered.push(stack);
  };
  [...stacks].sort((a, b) => a.name.localeCompare(b.name)).forEach(visit);
  return ordered;
}

/** The stacks `cdk deploy <names>` deploys: the names and everything they depend on, in deploy order. */
export function deployClosure(assembly: EnvironmentAssembly, names: readonly string[]): AssemblyStackInfo[] {
  const byName = new Map(assembly.stacks.map((s) => [s.name, s]));
  const wanted = new Set<string>();
  const visit = (name: string) => {
    if (wanted.has(name)) return;
    const stack = byName.get(name);
    if (!stack) throw usage(`the cloud assembly has no stack ${name}`);
    wanted.add(name);
    stack.dependencies.forEach(visit);
  };
  names.forEach(visit);
  return assembly.stacks.filter((s) => wanted.has(s.name));
}
