import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Reading CloudFormation templates out of a cloud assembly (`cdk.out`) or out
 * of a plain directory of `*.template.json` files.
 *
 * The manifest is read as JSON rather than through
 * `aws-cdk-lib/cloud-assembly-schema`'s loader: that loader refuses manifests
 * written by a newer CDK, and the baseline assembly of a pull request may come
 * from a different CDK version than the one checked out.
 */

export type Template = Record<string, unknown>;

export interface StackTemplate {
  /** Artifact id in the manifest (also the template file's base name). */
  readonly artifactId: string;
  /** The CloudFormation stack name (what `cdk deploy` creates). */
  readonly stackName: string;
  /** What people see in `cdk ls`: the stack name, or `Stage/Stack` in a stage. */
  readonly displayName: string;
  /** Undefined when the stack is environment-agnostic. */
  readonly account?: string;
  readonly region?: string;
  readonly template: Template;
}

/** An input that cannot be read: the CLI turns it into exit code 2. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

interface ManifestArtifact {
  readonly type?: string;
  readonly environment?: string;
  readonly displayName?: string;
  readonly properties?: { templateFile?: string; stackName?: string; directoryName?: string };
}

/**
 * Every CloudFormation stack in the assembly at `dir`, in manifest order,
 * including the stacks of nested assemblies (CDK stages).
 * `flag` names the command-line flag the directory came from, for messages.
 */
export function loadAssembly(dir: string, flag: string): StackTemplate[] {
  const manifestPath = path.join(dir, 'manifest.json');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new InputError(`${flag}: '${dir}' is not a directory; expected a cloud assembly (run 'npx cdk synth' first)`);
  }
  if (!fs.existsSync(manifestPath)) {
    throw new InputError(`${flag}: '${dir}' has no manifest.json; expected a cloud assembly written by 'cdk synth'`);
  }
  return readAssembly(dir, flag, '');
}

function readAssembly(dir: string, flag: string, displayPrefix: string): StackTemplate[] {
  const manifestPath = path.join(dir, 'manifest.json');
  const manifest = readJson(manifestPath, flag) as { artifacts?: Record<string, ManifestArtifact> };
  if (typeof manifest !== 'object' || manifest === null || (manifest.artifacts !== undefined && typeof manifest.artifacts !== 'object')) {
    throw new InputError(`${flag}: ${manifestPath} is not a cloud assembly manifest (no 'artifacts' object)`);
  }
  const stacks: StackTemplate[] = [];
  for (const [artifactId, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      const nestedPrefix = `${displayPrefix}${artifact.displayName ?? artifactId}/`;
      stacks.push(...readAssembly(path.join(dir, artifact.properties.directoryName), flag, nestedPrefix));
      continue;
    }
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const templateFile = artifact.properties?.templateFile ?? `${artifactId}.template.json`;
    const { account, region } = parseEnvironment(artifact.environment);
    stacks.push({
      artifactId,
      stackName: artifact.properties?.stackName ?? artifactId,
      displayName: artifact.displayName ?? `${displayPrefix}${artifactId}`,
      account,
      region,
      template: readTemplate(path.join(dir, templateFile), flag),
    });
  }
  return stacks;
}

/** `aws://123456789012/us-east-1` → its parts; the `unknown-*` placeholders of env-agnostic stacks become undefined. */
export function parseEnvironment(environment: string | undefined): { account?: string; region?: string } {
  const match = /^aws:\/\/([^/]+)\/([^/]+)$/.exec(environment ?? '');
  if (!match) return {};
  return {
    account: match[1] === 'unknown-account' ? undefined : match[1],
    region: match[2] === 'unknown-region' ? undefined : match[2],
  };
}

/** Templates of a baseline directory, looked up by artifact id or stack name. */
export interface BaselineTemplates {
  readonly description: string;
  find(stack: StackTemplate): Template | undefined;
  /** Stacks of the baseline that none of `current` matches: removed from the app (cdk deploy leaves them alone). */
  unmatched(current: readonly StackTemplate[]): string[];
}

/**
 * A baseline directory is either a cloud assembly (the base branch's `cdk.out`)
 * or a directory of `<stack>.template.json` files (templates saved by CI).
 */
export function loadBaselineDirectory(dir: string, flag = '--baseline'): BaselineTemplates {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new InputError(`${flag}: '${dir}' is not a directory; expected 'deployed', a cloud assembly directory or a directory of *.template.json files`);
  }
  const byKey = new Map<string, Template>();
  const entries: Array<{ label: string; keys: string[] }> = [];
  if (fs.existsSync(path.join(dir, 'manifest.json'))) {
    for (const stack of loadAssembly(dir, flag)) {
      byKey.set(`id:${stack.artifactId}`, stack.template);
      byKey.set(`name:${stack.stackName}`, stack.template);
      entries.push({ label: stack.displayName, keys: [`id:${stack.artifactId}`, `name:${stack.stackName}`] });
    }
  } else {
    const files = fs.readdirSync(dir).filter((file) => file.endsWith('.template.json'));
    if (files.length === 0) {
      throw new InputError(`${flag}: '${dir}' has neither a manifest.json nor any *.template.json file`);
    }
    for (const file of files.sort()) {
      // Saved templates are named after the artifact id or the stack name; accept either.
      const id = file.slice(0, -'.template.json'.length);
      const template = readTemplate(path.join(dir, file), flag);
      byKey.set(`id:${id}`, template);
      byKey.set(`name:${id}`, template);
      entries.push({ label: id, keys: [`id:${id}`, `name:${id}`] });
    }
  }
  return {
    description: `templates in \`${dir}\``,
    find: (stack) => byKey.get(`id:${stack.artifactId}`) ?? byKey.get(`name:${stack.stackName}`),
    unmatched: (current) => {
      const currentKeys = new Set(current.flatMap((stack) => [`id:${stack.artifactId}`, `name:${stack.stackName}`]));
      return entries.filter((entry) => !entry.keys.some((key) => currentKeys.has(key))).map((entry) => entry.label);
    },
  };
}

function readTemplate(file: string, flag: string): Template {
  const template = readJson(file, flag);
  if (typeof template !== 'object' || template === null || Array.isArray(template)) {
    throw new InputError(`${flag}: ${file} is not a CloudFormation template (expected a JSON object)`);
  }
  return template as Template;
}

function readJson(file: string, flag: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`${flag}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${flag}: ${file} is not valid JSON: ${(error as Error).message}`);
  }
}
