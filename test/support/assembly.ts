import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { testAssemblyDir } from './synthesize';

/** One cloud-assembly stack artifact as the manifest lists it. */
export interface AssemblyStack {
  readonly id: string;
  readonly displayName: string;
  readonly templateFile: string;
  readonly environment: string;
  readonly terminationProtection: boolean;
  readonly dependencies: string[];
}

/** A finding of a validation plugin (cdk-nag pack or cfn-guard). */
export interface Violation {
  readonly plugin: string;
  readonly rule: string;
  readonly paths: string[];
}

function read<T>(file: string): T {
  const full = path.join(testAssemblyDir(), file);
  if (!fs.existsSync(full)) {
    const error = path.join(testAssemblyDir(), 'synth-error.txt');
    throw new Error(`${full} is missing: the shared synth failed${fs.existsSync(error) ? `:\n${fs.readFileSync(error, 'utf8')}` : ''}`);
  }
  return JSON.parse(fs.readFileSync(full, 'utf8')) as T;
}

const templates = new Map<string, Template>();

/** The synthesized template of a stack (by stack name), parsed once per test file. */
export function template(stackName: string): Template {
  let parsed = templates.get(stackName);
  if (!parsed) {
    parsed = Template.fromJSON(read(`${stackName}.template.json`), { skipCyclicalDependenciesCheck: true });
    templates.set(stackName, parsed);
  }
  return parsed;
}

/** The raw template JSON of a stack. */
export function templateJson(stackName: string): { Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>; [key: string]: unknown } {
  return read(`${stackName}.template.json`);
}

/** Every stack in the assembly. */
export function stacks(): AssemblyStack[] {
  const manifest = read<{ artifacts: Record<string, { type: string; environment?: string; displayName?: string; dependencies?: string[]; properties?: { templateFile: string; terminationProtection?: boolean } }> }>('manifest.json');
  return Object.entries(manifest.artifacts)
    .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
    .map(([id, artifact]) => ({
      id,
      displayName: artifact.displayName ?? id,
      templateFile: artifact.properties!.templateFile,
      environment: artifact.environment!,
      terminationProtection: artifact.properties!.terminationProtection ?? false,
      dependencies: (artifact.dependencies ?? []).filter((d) => !d.endsWith('.assets')),
    }));
}

/** Findings of every validation plugin that were not acknowledged. */
export function violations(): Violation[] {
  const report = read<{ pluginReports: { pluginName: string; violations: { ruleName: string; violatingConstructs?: { constructPath?: string }[]; violatingResources?: { resourceLogicalId: string; templatePath: string }[] }[] }[] }>('validation-report.json');
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map((v) => ({
      plugin: plugin.pluginName,
      rule: v.ruleName,
      paths: [
        ...(v.violatingConstructs ?? []).map((c) => c.constructPath ?? '?'),
        ...(v.violatingResources ?? []).map((r) => `${path.basename(r.templatePath)}#${r.resourceLogicalId}`),
      ],
    })),
  );
}

/** Names of the validation plugins that ran. */
export function validationPlugins(): string[] {
  const report = read<{ pluginReports: { pluginName: string }[] }>('validation-report.json');
  return report.pluginReports.map((p) => p.pluginName);
}

/** An acknowledgement recorded with Validations.of(x).acknowledge(). */
export interface Acknowledgement {
  readonly constructPath: string;
  readonly ruleId: string;
  readonly reason: string;
}

/** Every acknowledgement in every stack, from the assembly's construct metadata. */
export function acknowledgements(): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  for (const stack of stacks()) {
    const metadataFile = `${stack.id}.metadata.json`;
    if (!fs.existsSync(path.join(testAssemblyDir(), metadataFile))) continue;
    const metadata = read<Record<string, { type: string; data: Record<string, string> }[]>>(metadataFile);
    for (const [constructPath, entries] of Object.entries(metadata)) {
      for (const entry of entries.filter((e) => e.type === 'aws:cdk:acknowledged-rules')) {
        for (const [ruleId, reason] of Object.entries(entry.data)) found.push({ constructPath, ruleId, reason });
      }
    }
  }
  return found;
}

/** Resources of a template whose type matches, as [logicalId, resource]. */
export function resourcesOfType(stackName: string, type: string) {
  return Object.entries(templateJson(stackName).Resources).filter(([, r]) => r.Type === type);
}
