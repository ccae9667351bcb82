import { z } from 'zod';
import { describeValue } from './schema';

/**
 * Thrown when configuration is invalid. `problems` holds one line per problem,
 * each `<path>: <what is allowed>, got <value>`; the message joins them.
 */
export class ConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(`Invalid BodyScript configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Checks `input` against `schema` and returns the typed value, or throws a
 * ConfigError whose lines are prefixed with `prefix` (the environment name).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, prefix: string): z.infer<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw new ConfigError(formatIssues(result.error.issues, prefix));
}

/** Turns zod issues into `prefix.path: message` lines, one per problem, in a stable order. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: string): string[] {
  const lines = issues.flatMap((issue) => formatIssue(issue, prefix));
  return [...new Set(lines)];
}

function formatIssue(issue: z.core.$ZodIssue, prefix: string): string[] {
  const at = (path: readonly PropertyKey[]) => [prefix, ...path.map(String)].filter((p) => p !== '').join('.');
  switch (issue.code) {
    case 'invalid_type':
      // A schema that words its own message (e.g. "must be a list of e-mail addresses") keeps it.
      if (!issue.message.startsWith('Invalid input')) return [`${at(issue.path)}: ${issue.message}`];
      if (issue.expected === 'boolean' && issue.input !== undefined) {
        return [`${at(issue.path)}: must be true or false, got ${describeValue(issue.input)}`];
      }
      if (issue.input === undefined) {
        return [`${at(issue.path)}: is required (${article(issue.expected)} ${issue.expected})`];
      }
      return [`${at(issue.path)}: must be ${article(issue.expected)} ${issue.expected}, got ${describeValue(issue.input)}`];
    case 'unrecognized_keys': {
      return issue.keys.map((key) => `${at([...issue.path, key])}: is not a known field; check its spelling against lib/config/schema.ts`);
    }
    case 'invalid_value':
      return [`${at(issue.path)}: must be one of ${issue.values.map((v) => describeValue(v)).join(', ')}, got ${describeValue(issue.input)}`];
    case 'invalid_union':
      return [`${at(issue.path)}: ${issue.message}`];
    default:
      return [`${at(issue.path)}: ${issue.message}`];
  }
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}
