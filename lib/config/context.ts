import * as fs from 'node:fs';
import { ContextProvider } from 'aws-cdk-lib/cloud-assembly-schema';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { type BodyScriptConfig, loadConfig, type SynthOverrides } from './index';
import { ConfigError } from './validate';

/**
 * Synth-time context (`npx cdk synth -c key=value`): which keys are ours, which
 * belong to CDK, and reading them before anything is built.
 *
 * The app receives one merged context: the CDK CLI joins `-c` values, cdk.json's
 * "context", cdk.context.json, ~/.cdk.json and its own settings into
 * CDK_CONTEXT_JSON, so the origin of a key cannot be seen. What can be told
 * apart reliably is the key itself: CDK owns its namespaces, lookups are named
 * `<context provider>:...`, and the project's own files list theirs. Anything
 * else is a typo (`-c apiImagetag=2.0.0`) that would otherwise be ignored.
 */

/** The keys BodyScript reads, with what each does (shown when a key is unknown). */
export const BODYSCRIPT_CONTEXT_KEYS: Readonly<Record<keyof SynthOverrides, string>> = {
  apiImageTag: 'deploy this api image tag instead of services.api.imageTag',
  processingImageTag: 'deploy this processing image tag instead of services.processing.imageTag',
};

/** Namespaces reserved by the CDK: framework and CLI settings (`aws:cdk:*`) and feature flags. */
export const CDK_CONTEXT_NAMESPACES = ['aws:cdk:', '@aws-cdk/', '@aws-cdk-containers/'] as const;

/** Keys the CDK CLI itself stores in cdk.context.json or cdk.json (`cdk acknowledge`, `cdk cli-telemetry`). */
export const CDK_CLI_CONTEXT_KEYS = ['acknowledged-issue-numbers', 'cli-telemetry'] as const;

/** Context lookups are cached under `<provider>:<query>`, e.g. `availability-zones:account=…:region=…`. */
const LOOKUP_PROVIDERS: readonly string[] = Object.values(ContextProvider);

export function isCdkContextKey(key: string): boolean {
  return (
    CDK_CONTEXT_NAMESPACES.some((namespace) => key.startsWith(namespace)) ||
    (CDK_CLI_CONTEXT_KEYS as readonly string[]).includes(key) ||
    LOOKUP_PROVIDERS.some((provider) => key.startsWith(`${provider}:`))
  );
}

/**
 * The context the CDK CLI hands the app, read exactly where `App` reads it
 * (CDK_CONTEXT_JSON, or the overflow file when it is too large for the
 * environment), so it can be checked before `new App()` creates the output directory.
 */
export function readCliContext(environment: NodeJS.ProcessEnv, readFile: (file: string) => string = (f) => fs.readFileSync(f, 'utf8')): Record<string, unknown> {
  const problems: string[] = [];
  const parse = (text: string, where: string): Record<string, unknown> => {
    try {
      const value: unknown = JSON.parse(text);
      if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
      problems.push(`context: ${where} must hold a JSON object of context values, got ${Array.isArray(value) ? 'an array' : typeof value}`);
    } catch (error) {
      problems.push(`context: ${where} must hold a JSON object of context values (${(error as Error).message})`);
    }
    return {};
  };
  const inline = environment[cxapi.CONTEXT_ENV];
  const overflow = environment[cxapi.CONTEXT_OVERFLOW_LOCATION_ENV];
  const context = {
    ...(inline ? parse(inline, cxapi.CONTEXT_ENV) : {}),
    ...(overflow ? parse(readFile(overflow), `${cxapi.CONTEXT_OVERFLOW_LOCATION_ENV} file ${overflow}`) : {}),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return context;
}

/**
 * One line per context key that is neither ours, nor CDK's, nor in one of the
 * project's own context files (`projectKeys`: the keys of cdk.json "context"
 * and cdk.context.json).
 */
export function unknownContextKeyProblems(context: Readonly<Record<string, unknown>>, projectKeys: ReadonlySet<string>): string[] {
  const ours = Object.keys(BODYSCRIPT_CONTEXT_KEYS);
  const known = ours.map((key) => `${key} (${BODYSCRIPT_CONTEXT_KEYS[key as keyof SynthOverrides]})`).join(', ');
  return Object.keys(context)
    .filter((key) => !ours.includes(key) && !isCdkContextKey(key) && !projectKeys.has(key))
    .sort()
    .map((key) => {
      const meant = ours.find((candidate) => candidate.toLowerCase() === key.toLowerCase());
      const hint = meant ? `did you mean ${meant}? ` : '';
      return `context.${key}: is not a BodyScript context key; ${hint}known keys: ${known} (CDK's aws:cdk:* and @aws-cdk/* keys, cdk.json settings and cdk.context.json lookups are accepted too)`;
    });
}

/** The keys of cdk.json's "context" and of cdk.context.json, read with `readFile`; a missing file has none. */
export function projectContextKeys(cdkJsonPath: string, cdkContextJsonPath: string, readFile: (file: string) => string = (f) => fs.readFileSync(f, 'utf8')): Set<string> {
  const read = (file: string): Record<string, unknown> => {
    try {
      return JSON.parse(readFile(file)) as Record<string, unknown>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new ConfigError([`context: ${file} must be valid JSON (${(error as Error).message})`]);
    }
  };
  const cdkJson = read(cdkJsonPath);
  const fromCdkJson = cdkJson.context && typeof cdkJson.context === 'object' ? Object.keys(cdkJson.context) : [];
  return new Set([...fromCdkJson, ...Object.keys(read(cdkContextJsonPath))]);
}

/**
 * Checks the context keys and loads the configuration with the context's
 * overrides; every problem of both is reported in one ConfigError.
 */
export function loadConfigFromContext(context: Readonly<Record<string, unknown>>, projectKeys: ReadonlySet<string>): BodyScriptConfig {
  const problems = unknownContextKeyProblems(context, projectKeys);
  try {
    const config = loadConfig({ apiImageTag: context.apiImageTag, processingImageTag: context.processingImageTag });
    if (problems.length === 0) return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  throw new ConfigError(problems);
}
