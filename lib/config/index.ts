import { production } from './production';
import { project } from './project';
import {
  ENVIRONMENT_NAMES,
  type EnvironmentConfig,
  type EnvironmentName,
  environmentConfigSchema,
  imageTag,
  type ProjectConfig,
  projectConfigSchema,
} from './schema';
import { staging } from './staging';
import type { EnvironmentConfigInput, ProjectConfigInput } from './types';
import { ConfigError, formatIssues, parseOrThrow } from './validate';

export * from './schema';
export * from './validate';
export type { EnvironmentConfigInput, ProjectConfigInput } from './types';

/** The committed environment files, keyed by environment name. */
export const ENVIRONMENT_FILES: Readonly<Record<EnvironmentName, EnvironmentConfigInput>> = { staging, production };
export const PROJECT_FILE: ProjectConfigInput = project;

/** Values that may be passed at synth time with `-c key=value`. */
export interface SynthOverrides {
  /** Deploy this api image tag instead of the configured one (`-c apiImageTag=...`). */
  readonly apiImageTag?: unknown;
  /** Deploy this processing image tag instead of the configured one (`-c processingImageTag=...`). */
  readonly processingImageTag?: unknown;
}

export interface BodyScriptConfig {
  readonly project: ProjectConfig;
  readonly environments: Readonly<Record<EnvironmentName, EnvironmentConfig>>;
}

/**
 * Validates every environment file and the project file, applying synth-time
 * overrides. Collects the problems of all files before throwing, so one run
 * shows everything that is wrong.
 */
export function loadConfig(
  overrides: SynthOverrides = {},
  files: { environments?: Partial<Record<string, unknown>>; project?: unknown } = {},
): BodyScriptConfig {
  const problems: string[] = [];
  const overrideProblems = checkOverrides(overrides);
  problems.push(...overrideProblems);

  const environmentInputs: Partial<Record<string, unknown>> = files.environments ?? ENVIRONMENT_FILES;
  const environments: Partial<Record<EnvironmentName, EnvironmentConfig>> = {};
  for (const name of ENVIRONMENT_NAMES) {
    const input = environmentInputs[name];
    if (input === undefined) {
      problems.push(`${name}: is required (an environment configuration in lib/config/${name}.ts)`);
      continue;
    }
    try {
      const parsed = parseOrThrow(environmentConfigSchema, overrideProblems.length ? input : applyOverrides(input, overrides), name);
      if (parsed.name !== name) {
        problems.push(`${name}.name: must be '${name}' (the environment this file configures), got '${parsed.name}'`);
        continue;
      }
      environments[name] = parsed;
    } catch (error) {
      if (error instanceof ConfigError) problems.push(...error.problems);
      else throw error;
    }
  }
  problems.push(...crossEnvironmentProblems(environments));
  let projectConfig: ProjectConfig | undefined;
  try {
    projectConfig = parseOrThrow(projectConfigSchema, files.project ?? PROJECT_FILE, 'project');
  } catch (error) {
    if (error instanceof ConfigError) problems.push(...error.problems);
    else throw error;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { project: projectConfig!, environments: environments as Record<EnvironmentName, EnvironmentConfig> };
}

/**
 * What no single environment file can see.
 * - ECR keeps one replication configuration per registry (account and region),
 *   which each environment's Registry stack owns: two environments there would
 *   overwrite each other's.
 * - A domain name serves one environment: CloudFront refuses an alternate domain
 *   name that another distribution already has (CNAMEAlreadyExists, CloudFront
 *   Developer Guide "Move an alternate domain name"), and a hosted zone holds one
 *   alias record of a name, so the second environment's deploy would fail.
 */
function crossEnvironmentProblems(environments: Partial<Record<EnvironmentName, EnvironmentConfig>>): string[] {
  const [first, second] = ENVIRONMENT_NAMES.map((name) => environments[name]);
  if (!first || !second) return [];
  const problems: string[] = [];
  if (first.primary.account === second.primary.account && first.primary.region === second.primary.region) {
    problems.push(
      `${second.name}.primary.account: must differ from ${first.name}.primary.account (ECR has one replication configuration per account and region, which each environment's Registry stack owns), got '${second.primary.account}' for both`,
    );
  }
  const domainFields = ['appDomainName', 'apiDomainName'] as const;
  for (const field of domainFields) {
    const name = second.domain?.[field];
    const taken = domainFields.find((other) => first.domain?.[other] === name);
    if (name !== undefined && taken) {
      problems.push(
        `${second.name}.domain.${field}: must differ from ${first.name}.domain.${taken} (CloudFront serves an alternate domain name from one distribution only, and a hosted zone holds one record of a name), got '${name}' for both`,
      );
    }
  }
  return problems;
}

function checkOverrides(overrides: SynthOverrides): string[] {
  const problems: string[] = [];
  for (const key of ['apiImageTag', 'processingImageTag'] as const) {
    const value = overrides[key];
    if (value === undefined) continue;
    const result = imageTag.safeParse(value, { reportInput: true });
    if (!result.success) problems.push(...formatIssues(result.error.issues, `context.${key}`));
  }
  return problems;
}

function applyOverrides(input: unknown, overrides: SynthOverrides): unknown {
  if (overrides.apiImageTag === undefined && overrides.processingImageTag === undefined) return input;
  const config = structuredClone(input) as { services?: { api?: { imageTag?: unknown }; processing?: { imageTag?: unknown } } };
  if (overrides.apiImageTag !== undefined && config.services?.api) config.services.api.imageTag = overrides.apiImageTag;
  if (overrides.processingImageTag !== undefined && config.services?.processing) {
    config.services.processing.imageTag = overrides.processingImageTag;
  }
  return config;
}
