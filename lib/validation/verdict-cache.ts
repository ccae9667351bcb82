import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PolicyViolation } from 'aws-cdk-lib';

/**
 * Bump when what an entry holds or what a key covers changes: every entry
 * written before is then a miss, never a wrong verdict.
 */
export const CACHE_FORMAT = 1;

/**
 * Where `cdk synth` keeps verdicts unless told otherwise: under node_modules so
 * that `npm ci` (and so every CI run and every fresh clone) starts cold, and
 * out of cdk.out so that `cdk synth --output` elsewhere still finds it.
 */
export const DEFAULT_CACHE_DIRECTORY = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'bodyscript-validation');

/** Entries no synth has read for this long are deleted (a synth touches what it reads). */
const UNUSED_ENTRY_LIFETIME_MS = 14 * 24 * 3600 * 1000;

/**
 * A SHA-256 over the parts in order, each length-prefixed so that no two
 * different lists of parts hash alike ('ab','c' vs 'a','bc').
 */
export function fingerprint(...parts: readonly (string | Buffer)[]): string {
  const hash = crypto.createHash('sha256');
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    hash.update(`${bytes.length}:`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

/** The SHA-256 of a file's bytes. */
export function fileFingerprint(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Stands for the template's path inside a cached verdict: the path changes from synth to synth, the verdict does not. */
export const TEMPLATE_PLACEHOLDER = '<template>';

/** Copies of `violations` whose resources all point at `templatePath`. */
export function violationsAt(violations: readonly PolicyViolation[], templatePath: string): PolicyViolation[] {
  return violations.map((v) => ({ ...v, violatingResources: v.violatingResources.map((r) => ({ ...r, templatePath })) }));
}

interface Entry<T> {
  readonly format: number;
  readonly validator: string;
  readonly key: string;
  readonly value: T;
}

/**
 * Verdicts of validators, one file per (validator, key). A key must be the
 * fingerprint of everything the verdict depends on (template bytes, rules,
 * validator and binary versions); the cache itself only stores and returns.
 * It fails safe: an entry it cannot read, parse or match to its key is a miss,
 * and a miss means the validator runs.
 */
export class VerdictCache {
  /** Keys read from the cache in this process, per validator. */
  public readonly hits = new Map<string, number>();
  /** Keys looked up and not found in this process, per validator. */
  public readonly misses = new Map<string, number>();
  private readonly pruned = new Set<string>();
  private warned = false;

  constructor(public readonly directory: string) {
    if (!path.isAbsolute(directory)) {
      throw new Error(`validation cache directory must be an absolute path, got '${directory}'`);
    }
  }

  /** The stored value for `key`, or undefined when there is none that can be trusted. */
  public read<T>(validator: string, key: string): T | undefined {
    const file = this.entryFile(validator, key);
    let entry: Entry<T> | undefined;
    try {
      entry = JSON.parse(fs.readFileSync(file, 'utf8')) as Entry<T>;
    } catch {
      entry = undefined;
    }
    if (!entry || entry.format !== CACHE_FORMAT || entry.validator !== validator || entry.key !== key || entry.value === undefined) {
      this.count(this.misses, validator);
      return undefined;
    }
    this.count(this.hits, validator);
    try {
      const now = new Date();
      fs.utimesSync(file, now, now);
    } catch {
      // Only the entry's lifetime depends on it.
    }
    return entry.value;
  }

  /** Stores `value` under `key`; written to a temporary file and renamed, so a reader never sees half an entry. */
  public write<T>(validator: string, key: string, value: T): void {
    const file = this.entryFile(validator, key);
    const entry: Entry<T> = { format: CACHE_FORMAT, validator, key, value };
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
      fs.writeFileSync(temporary, JSON.stringify(entry));
      fs.renameSync(temporary, file);
      this.pruneOnce(validator);
    } catch (error) {
      // A verdict that is not stored is only validated again next time.
      if (!this.warned) {
        this.warned = true;
        console.error(`[validation cache] could not write to ${this.directory}: ${(error as Error).message}; validating without it`);
      }
    }
  }

  /** How many verdicts of `validator` are stored. */
  public entryCount(validator: string): number {
    const dir = this.validatorDirectory(validator);
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.json')).length : 0;
  }

  /** Removes every entry. */
  public clear(): void {
    fs.rmSync(this.directory, { recursive: true, force: true });
  }

  private validatorDirectory(validator: string): string {
    return path.join(this.directory, validator.toLowerCase().replace(/[^a-z0-9]+/g, '-'));
  }

  private entryFile(validator: string, key: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`validation cache key must be a SHA-256 in hex, got '${key}'`);
    return path.join(this.validatorDirectory(validator), `${key}.json`);
  }

  private count(counter: Map<string, number>, validator: string): void {
    counter.set(validator, (counter.get(validator) ?? 0) + 1);
  }

  private pruneOnce(validator: string): void {
    if (this.pruned.has(validator)) return;
    this.pruned.add(validator);
    const dir = this.validatorDirectory(validator);
    const oldest = Date.now() - UNUSED_ENTRY_LIFETIME_MS;
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      try {
        if (fs.statSync(file).mtimeMs < oldest) fs.rmSync(file, { force: true });
      } catch {
        // Another synth removed it first.
      }
    }
  }
}
