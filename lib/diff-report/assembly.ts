import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Reading CloudFormation templates out of a cloud assembly (`cdk.out`) or out
 * of a plain directory of `*.template.json` files, and proving that what was
 * read is one: a safety gate that cannot read its input must not pass it.
 * An empty manifest, a template without `Resources`, another app's stacks or
 * a JSON file that is not a template would otherwise make every stack look
 * new, and a database replacement look like an addition.
 *
 * The manifest is read as JSON rather than through
 * `aws-cdk-lib/cloud-assembly-schema`'s loader: that loader refuses manifests
 * written by a newer CDK, and the baseline assembly of a pull request may come
 * from a different CDK version than the one checked out. The checks below are
 * the parts of the schema this command relies on.
 *
 * In the pull-request gate the assembly under review was uploaded by the pull
 * request's own workflow: it is untrusted data. Files are read only inside the
 * given directory (no absolute paths, no `..`, no symbolic links) and only
 * parsed as JSON.
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
  /** From the manifest; undefined when the source has no manifest (saved templates). */
  readonly terminationProtection?: boolean;
  /** Artifact ids this stack depends on in the manifest (other stacks, asset manifests): what `cdk deploy <stack>` deploys first. */
  readonly dependencies?: readonly string[];
  readonly template: Template;
}

/** A stack as the baseline has it. */
export interface StackBaseline {
  readonly template: Template;
  /** Known when the baseline is a cloud assembly. */
  readonly terminationProtection?: boolean;
}

/** An input that cannot be read: the CLI turns it into exit code 2. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

interface ManifestArtifact {
  readonly type?: unknown;
  readonly dependencies?: unknown;
  readonly environment?: unknown;
  readonly displayName?: unknown;
  readonly properties?: { templateFile?: unknown; stackName?: unknown; directoryName?: unknown; terminationProtection?: unknown };
}

/** What loading had to do that the reader should know (e.g. unwrapping saved get-template output). */
export interface LoadNotes {
  readonly notes: string[];
}

/**
 * Every CloudFormation stack in the assembly at `dir`, in manifest order,
 * including the stacks of nested assemblies (CDK stages).
 * `flag` names the command-line flag the directory came from, for messages.
 */
export function loadAssembly(dir: string, flag: string, log: LoadNotes = { notes: [] }): StackTemplate[] {
  requireDirectory(dir, flag, "expected a cloud assembly (run 'npx cdk synth' first)");
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) {
    throw new InputError(`${flag}: '${dir}' has no manifest.json; expected a cloud assembly written by 'cdk synth'`);
  }
  const stacks = readAssembly(dir, dir, flag, '', log);
  if (stacks.length === 0) throw new InputError(`${flag}: '${dir}' contains no CloudFormation stacks (its manifest lists no aws:cloudformation:stack artifact)`);
  return stacks;
}

function readAssembly(root: string, dir: string, flag: string, displayPrefix: string, log: LoadNotes): StackTemplate[] {
  const manifestPath = inside(root, dir, 'manifest.json', flag);
  const manifest = readJson(manifestPath, flag) as { version?: unknown; artifacts?: unknown };
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new InputError(`${flag}: ${manifestPath} is not a cloud assembly manifest (expected a JSON object with 'version' and 'artifacts')`);
  }
  if (typeof manifest.version !== 'string') throw new InputError(`${flag}: ${manifestPath} is not a cloud assembly manifest (no 'version' string)`);
  if (typeof manifest.artifacts !== 'object' || manifest.artifacts === null || Array.isArray(manifest.artifacts)) {
    throw new InputError(`${flag}: ${manifestPath} is not a cloud assembly manifest (no 'artifacts' object)`);
  }
  const stacks: StackTemplate[] = [];
  for (const [artifactId, raw] of Object.entries(manifest.artifacts as Record<string, unknown>)) {
    if (typeof raw !== 'object' || raw === null || typeof (raw as ManifestArtifact).type !== 'string') {
      throw new InputError(`${flag}: ${manifestPath}: artifact '${artifactId}' has no 'type'`);
    }
    const artifact = raw as ManifestArtifact;
    const properties = artifact.properties ?? {};
    if (artifact.type === 'cdk:cloud-assembly') {
      if (typeof properties.directoryName !== 'string') throw new InputError(`${flag}: ${manifestPath}: nested assembly '${artifactId}' has no 'directoryName'`);
      const nested = inside(root, dir, properties.directoryName, flag);
      const nestedPrefix = `${displayPrefix}${typeof artifact.displayName === 'string' ? artifact.displayName : artifactId}/`;
      stacks.push(...readAssembly(root, nested, flag, nestedPrefix, log));
      continue;
    }
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    if (typeof properties.templateFile !== 'string') throw new InputError(`${flag}: ${manifestPath}: stack '${artifactId}' has no 'templateFile'`);
    const { account, region } = parseEnvironment(typeof artifact.environment === 'string' ? artifact.environment : undefined);
    stacks.push({
      artifactId,
      stackName: typeof properties.stackName === 'string' ? properties.stackName : artifactId,
      displayName: typeof artifact.displayName === 'string' ? artifact.displayName : `${displayPrefix}${artifactId}`,
      account,
      region,
      terminationProtection: properties.terminationProtection === true,
      dependencies: Array.isArray(artifact.dependencies) ? artifact.dependencies.filter((d): d is string => typeof d === 'string') : [],
      template: readTemplate(inside(root, dir, properties.templateFile, flag), flag, log),
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

/** Templates of a baseline, looked up by artifact id or stack name. */
export interface BaselineTemplates {
  readonly description: string;
  find(stack: StackTemplate): StackBaseline | undefined;
  /** Stacks of the baseline that none of `current` matches: removed from the app (cdk deploy leaves them alone). */
  unmatched(current: readonly StackTemplate[]): string[];
  /** What reading the baseline had to do or found unusual, for the report. */
  readonly notes: readonly string[];
}

/**
 * A baseline directory is either a cloud assembly (the base branch's `cdk.out`)
 * or a directory of `<stack>.template.json` files (templates saved by CI or by
 * `aws cloudformation get-template`). It must share at least one stack with
 * the current assembly: a baseline of another app's stacks proves nothing.
 */
export function loadBaselineDirectory(dir: string, current: readonly StackTemplate[], flag = '--baseline'): BaselineTemplates {
  requireDirectory(dir, flag, "expected 'deployed', a cloud assembly directory or a directory of *.template.json files");
  const log: LoadNotes = { notes: [] };
  const byKey = new Map<string, StackBaseline>();
  const entries: Array<{ label: string; keys: string[] }> = [];
  if (fs.existsSync(path.join(dir, 'manifest.json'))) {
    for (const stack of loadAssembly(dir, flag, log)) {
      const baseline = { template: stack.template, terminationProtection: stack.terminationProtection };
      byKey.set(`id:${stack.artifactId}`, baseline);
      byKey.set(`name:${stack.stackName}`, baseline);
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
      const baseline = { template: readTemplate(inside(dir, dir, file, flag), flag, log) };
      byKey.set(`id:${id}`, baseline);
      byKey.set(`name:${id}`, baseline);
      entries.push({ label: id, keys: [`id:${id}`, `name:${id}`] });
    }
  }

  const currentKeys = new Set(current.flatMap((stack) => [`id:${stack.artifactId}`, `name:${stack.stackName}`]));
  const shared = entries.filter((entry) => entry.keys.some((key) => currentKeys.has(key)));
  if (shared.length === 0) {
    throw new InputError(
      `${flag}: '${dir}' is not a baseline of this app: none of its stacks (${entries.map((e) => e.label).join(', ')}) is a stack of the assembly (${current.map((s) => s.displayName).join(', ')})`,
    );
  }
  const find = (stack: StackTemplate) => byKey.get(`id:${stack.artifactId}`) ?? byKey.get(`name:${stack.stackName}`);
  const missing = current.filter((stack) => !find(stack)).map((stack) => stack.displayName);
  if (missing.length > 0) log.notes.push(`Not in the baseline, so every resource of these stacks counts as new: ${missing.join(', ')}.`);
  return {
    description: `templates in \`${dir}\``,
    find,
    unmatched: (stacks) => {
      const keys = new Set(stacks.flatMap((stack) => [`id:${stack.artifactId}`, `name:${stack.stackName}`]));
      return entries.filter((entry) => !entry.keys.some((key) => keys.has(key))).map((entry) => entry.label);
    },
    notes: log.notes,
  };
}

/**
 * A CloudFormation template: a JSON object whose `Resources` is a non-empty
 * object of resources with a `Type`. Output saved from `aws cloudformation
 * get-template` (the template inside `TemplateBody`, as an object or as a
 * JSON string) is unwrapped, and the notes say so; a YAML body is refused.
 */
function readTemplate(file: string, flag: string, log: LoadNotes): Template {
  let template = readJson(file, flag);
  if (typeof template !== 'object' || template === null || Array.isArray(template)) {
    throw new InputError(`${flag}: ${file} is not a CloudFormation template (expected a JSON object with 'Resources')`);
  }
  if ('TemplateBody' in template && !('Resources' in template)) {
    const body = (template as { TemplateBody: unknown }).TemplateBody;
    if (typeof body === 'string') {
      try {
        template = JSON.parse(body);
      } catch {
        throw new InputError(
          `${flag}: ${file} is 'aws cloudformation get-template' output whose TemplateBody is not JSON (YAML?): refused, since this app deploys JSON templates; save the body of a stack this app deployed`,
        );
      }
    } else {
      template = body;
    }
    if (typeof template !== 'object' || template === null || Array.isArray(template)) {
      throw new InputError(`${flag}: ${file} is 'aws cloudformation get-template' output whose TemplateBody is not a template: refused`);
    }
    log.notes.push(`\`${path.basename(file)}\` is saved \`aws cloudformation get-template\` output: its \`TemplateBody\` was used as the template.`);
  }
  const resources = (template as { Resources?: unknown }).Resources;
  if (typeof resources !== 'object' || resources === null || Array.isArray(resources) || Object.keys(resources).length === 0) {
    throw new InputError(`${flag}: ${file} is not a CloudFormation template: it has no 'Resources' object with at least one resource`);
  }
  for (const [logicalId, resource] of Object.entries(resources as Record<string, unknown>)) {
    const type = (resource as { Type?: unknown } | null)?.Type;
    if (typeof type !== 'string' || !/^[A-Za-z0-9]+::[A-Za-z0-9]+(::[A-Za-z0-9]+)?/.test(type)) {
      throw new InputError(`${flag}: ${file} is not a CloudFormation template: resource '${logicalId}' has no valid 'Type'`);
    }
  }
  return template as Template;
}

function requireDirectory(dir: string, flag: string, expected: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new InputError(`${flag}: '${dir}' is not a directory; ${expected}`);
}

/**
 * A path named by a manifest, resolved inside the assembly root: no absolute
 * path, no way out with `..`, no symbolic link (which could point anywhere).
 */
function inside(root: string, dir: string, relative: string, flag: string): string {
  const rootReal = fs.realpathSync(root);
  const resolved = path.resolve(dir, relative);
  if (path.isAbsolute(relative) || !isWithin(path.resolve(root), resolved)) {
    throw new InputError(`${flag}: '${relative}' points outside the assembly '${root}'; refused`);
  }
  if (fs.existsSync(resolved)) {
    if (fs.lstatSync(resolved).isSymbolicLink()) throw new InputError(`${flag}: '${relative}' in '${root}' is a symbolic link; refused`);
    if (!isWithin(rootReal, fs.realpathSync(resolved))) throw new InputError(`${flag}: '${relative}' points outside the assembly '${root}'; refused`);
  }
  return resolved;
}

function isWithin(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
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

/**
 * The stacks `cdk deploy <names…>` would deploy: each named stack (by stack
 * name or display name) and, transitively, every stack it depends on in the
 * manifest, in manifest order. A name the assembly does not have is an
 * InputError that lists the names it has: a plan of the wrong stacks shows nothing.
 */
export function selectStacks(stacks: readonly StackTemplate[], names: readonly string[], flag: string): StackTemplate[] {
  const byArtifact = new Map(stacks.map((stack) => [stack.artifactId, stack]));
  const selected = new Set<string>();
  const visit = (stack: StackTemplate): void => {
    if (selected.has(stack.artifactId)) return;
    selected.add(stack.artifactId);
    for (const dependency of stack.dependencies ?? []) {
      const found = byArtifact.get(dependency);
      if (found) visit(found);
    }
  };
  for (const name of names) {
    const stack = stacks.find((s) => s.stackName === name || s.displayName === name);
    if (!stack) throw new InputError(`${flag}: the assembly has no stack '${name}'; it has ${stacks.map((s) => s.displayName).join(', ')}`);
    visit(stack);
  }
  return stacks.filter((stack) => selected.has(stack.artifactId));
}
