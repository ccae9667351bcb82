import { code } from './markdown';

/**
 * In-place changes that remove or shorten the protection of data: the
 * resource is neither replaced nor removed, so CloudFormation reports a plain
 * modification, yet the change deletes data now (backups switched off,
 * objects expiring sooner) or arms its deletion (deletion protection off, a
 * vault lock removed, a key disabled).
 *
 * Explicit Deny statements of key policies, vault access policies, bucket
 * policies and secret resource policies (the break-glass guards of issue 16.7
 * and security review L8, TLS only) count as protection too: one removed or
 * changed is reported (denyStatementsLost).
 *
 * Each rule compares the literal values of the old and the new template. A
 * value that is not a literal (an intrinsic function such as `Fn::If` or
 * `Ref`) cannot be judged statically: when the old value protected and the
 * new one is not a literal, the rule reports it as well (fail closed).
 *
 * Defaults are the ones CloudFormation applies when a property is absent,
 * from the CloudFormation and service API references, for example:
 * - RDS `BackupRetentionPeriod` defaults to 1 day; 0 disables automated
 *   backups and with them point-in-time recovery (RDS ModifyDBInstance);
 * - RDS `DeleteAutomatedBackups` defaults to true: the automated backups go
 *   with the instance;
 * - a KMS key is `Enabled` unless set otherwise, its `PendingWindowInDays`
 *   is 30 (7–30); data under a disabled key cannot be decrypted;
 * - a log group without `RetentionInDays` never expires its events; an SQS
 *   queue keeps messages 345600 s (4 days) by default;
 * - an S3 lifecycle rule expires objects only when `Status` is `Enabled`.
 */

type Properties = Readonly<Record<string, unknown>>;

/** What a rule receives: the resource's Properties before and after (absent = {}). */
interface ProtectionRule {
  readonly types: readonly string[];
  /** One sentence per weakening found (Markdown: names in code spans). */
  readonly check: (before: Properties, after: Properties) => string[];
}

/** A value that is not a literal: an intrinsic function or a reference. */
const NOT_LITERAL = Symbol('not a literal');
type Literal = string | number | boolean | undefined | typeof NOT_LITERAL;

function literal(value: unknown): Literal {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return NOT_LITERAL;
}

/** CloudFormation accepts booleans as `true` or `"true"`. */
function bool(value: unknown, absent: boolean): boolean | typeof NOT_LITERAL {
  const v = literal(value);
  if (v === undefined) return absent;
  if (v === NOT_LITERAL) return NOT_LITERAL;
  if (v === true || (typeof v === 'string' && v.toLowerCase() === 'true')) return true;
  if (v === false || (typeof v === 'string' && v.toLowerCase() === 'false')) return false;
  return NOT_LITERAL;
}

/** A number of days (or seconds); `Infinity` for "never expires"; CloudFormation also accepts numeric strings. */
function num(value: unknown, absent: number): number | typeof NOT_LITERAL {
  const v = literal(value);
  if (v === undefined) return absent;
  if (v === NOT_LITERAL || typeof v === 'boolean') return NOT_LITERAL;
  const n = Number(v);
  return Number.isFinite(n) ? n : NOT_LITERAL;
}

const get = (object: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((value, key) => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined), object);

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const describe = (value: number | boolean | string | typeof NOT_LITERAL, unit = ''): string => {
  if (value === NOT_LITERAL) return 'a value decided at deploy time';
  if (value === Infinity) return 'never';
  return `${code(String(value))}${unit}`;
};

/** A protective boolean that turns off (or becomes undecidable). */
function switchedOff(property: string, before: Properties, after: Properties, absent: boolean, consequence: string, path: string[] = [property]): string[] {
  const was = bool(get(before, ...path), absent);
  const now = bool(get(after, ...path), absent);
  if (was !== true || now === true) return [];
  return [`${code(path.join('.'))} changes from ${describe(was)} to ${describe(now)}: ${consequence}.`];
}

/** A protective boolean that turns on (e.g. "delete automated backups") or becomes undecidable. */
function switchedOn(property: string, before: Properties, after: Properties, absent: boolean, consequence: string, path: string[] = [property]): string[] {
  const was = bool(get(before, ...path), absent);
  const now = bool(get(after, ...path), absent);
  if (was !== false || now === false) return [];
  return [`${code(path.join('.'))} changes from ${describe(was)} to ${describe(now)}: ${consequence}.`];
}

/** A retention or window that gets shorter (or undecidable). */
function shortened(label: string, was: number | typeof NOT_LITERAL, now: number | typeof NOT_LITERAL, unit: string, consequence: string): string[] {
  if (was === NOT_LITERAL) return [];
  if (now !== NOT_LITERAL && now >= was) return [];
  return [`${code(label)} shortens from ${describe(was, unit)} to ${describe(now, unit)}: ${consequence}.`];
}

function minDays(a: number | typeof NOT_LITERAL, b: number | typeof NOT_LITERAL): number | typeof NOT_LITERAL {
  return a === NOT_LITERAL || b === NOT_LITERAL ? NOT_LITERAL : Math.min(a, b);
}

/** The shortest expiration of any enabled S3 lifecycle rule, current and noncurrent versions. */
function s3Expirations(properties: Properties): { current: number | typeof NOT_LITERAL; noncurrent: number | typeof NOT_LITERAL } {
  let current: number | typeof NOT_LITERAL = Infinity;
  let noncurrent: number | typeof NOT_LITERAL = Infinity;
  const rules = get(properties, 'LifecycleConfiguration', 'Rules');
  if (rules !== undefined && !Array.isArray(rules)) return { current: NOT_LITERAL, noncurrent: NOT_LITERAL };
  for (const rule of list(rules)) {
    const status = literal(get(rule, 'Status'));
    if (status === 'Disabled') continue;
    if (status !== 'Enabled') {
      current = NOT_LITERAL;
      noncurrent = NOT_LITERAL;
      continue;
    }
    if (get(rule, 'ExpirationInDays') !== undefined) current = minDays(current, num(get(rule, 'ExpirationInDays'), Infinity));
    // An expiration date is an expiration sooner than any number of days we can compare with.
    if (get(rule, 'ExpirationDate') !== undefined) current = minDays(current, 0);
    for (const days of [get(rule, 'NoncurrentVersionExpirationInDays'), get(rule, 'NoncurrentVersionExpiration', 'NoncurrentDays')]) {
      if (days !== undefined) noncurrent = minDays(noncurrent, num(days, Infinity));
    }
  }
  return { current, noncurrent };
}

/** Object Lock default retention in days (Years × 365), and its mode. */
function objectLockRetention(properties: Properties): { days: number | typeof NOT_LITERAL; mode: Literal } {
  const retention = get(properties, 'ObjectLockConfiguration', 'Rule', 'DefaultRetention');
  if (retention === undefined) return { days: 0, mode: undefined };
  const days = get(retention, 'Days') !== undefined ? num(get(retention, 'Days'), 0) : num(get(retention, 'Years'), 0);
  const inDays = days !== NOT_LITERAL && get(retention, 'Days') === undefined ? days * 365 : days;
  return { days: inDays, mode: literal(get(retention, 'Mode')) };
}

/** ECR lifecycle rules keyed by what they select, with their count, from the policy text (JSON). */
function ecrLifecycleRules(properties: Properties): Map<string, { countType: string; countNumber: number }> | typeof NOT_LITERAL {
  const textValue = get(properties, 'LifecyclePolicy', 'LifecyclePolicyText');
  const rules = new Map<string, { countType: string; countNumber: number }>();
  if (textValue === undefined) return rules;
  if (typeof textValue !== 'string') return NOT_LITERAL;
  let policy: unknown;
  try {
    policy = JSON.parse(textValue);
  } catch {
    return NOT_LITERAL;
  }
  for (const rule of list(get(policy, 'rules'))) {
    const selection = get(rule, 'selection') as Record<string, unknown> | undefined;
    if (!selection) return NOT_LITERAL;
    const { countNumber, countType, ...rest } = selection;
    if (typeof countNumber !== 'number' || typeof countType !== 'string') return NOT_LITERAL;
    rules.set(JSON.stringify({ countType, ...rest, action: get(rule, 'action') }), { countType, countNumber });
  }
  return rules;
}

/** A policy document's JSON with object keys sorted, so that two equal statements compare equal whatever the key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The Deny statements of a resource policy (a key policy, a vault access
 * policy) that the new template no longer has word for word: a Deny removed
 * or changed (an exception added, an action dropped) is how a template undoes
 * a guard that the Allow statements cannot (an explicit Deny wins over every
 * Allow, IAM policy evaluation logic), so any change to one is reported. A
 * policy that is not a literal document in the new template (an `Fn::If`)
 * cannot be compared and is reported too; a Deny added is not a weakening.
 */
function denyStatementsLost(property: string, before: Properties, after: Properties, consequence: string): string[] {
  const isIntrinsic = (value: object) => Object.keys(value).some((key) => key === 'Ref' || key.startsWith('Fn::'));
  const statements = (policy: unknown): unknown[] | typeof NOT_LITERAL => {
    if (policy === undefined || policy === null) return [];
    let document = policy;
    if (typeof document === 'string') {
      // CloudFormation also takes a policy as JSON text.
      try {
        document = JSON.parse(document);
      } catch {
        return NOT_LITERAL;
      }
    }
    if (!document || typeof document !== 'object' || Array.isArray(document) || isIntrinsic(document)) return NOT_LITERAL;
    const statement = (document as Record<string, unknown>).Statement;
    if (statement === undefined) return [];
    if (Array.isArray(statement)) return statement;
    return statement && typeof statement === 'object' && !isIntrinsic(statement) ? [statement] : NOT_LITERAL;
  };
  const denies = (policy: unknown) => {
    const all = statements(policy);
    return all === NOT_LITERAL ? NOT_LITERAL : all.filter((statement) => get(statement, 'Effect') === 'Deny');
  };
  const was = denies(before[property]);
  if (was === NOT_LITERAL || was.length === 0) return [];
  const now = denies(after[property]);
  if (now === NOT_LITERAL) return [`${code(property)} becomes a value decided at deploy time: whether its Deny statements stay cannot be judged, and ${consequence}.`];
  const kept = new Set(now.map(canonical));
  return was
    .map((statement, index) => ({ statement, index }))
    .filter(({ statement }) => !kept.has(canonical(statement)))
    .map(({ statement, index }) => {
      const sid = literal(get(statement, 'Sid'));
      const name = typeof sid === 'string' && sid !== '' ? sid : `Deny #${index + 1}`;
      return `${code(property)} loses or changes its Deny statement ${code(name)}: ${consequence}.`;
    });
}

const RULES: readonly ProtectionRule[] = [
  {
    types: ['AWS::RDS::DBInstance', 'AWS::RDS::DBCluster'],
    check: (before, after) => [
      ...switchedOff('DeletionProtection', before, after, false, 'the database can then be deleted by any stack update or API call'),
      ...shortened('BackupRetentionPeriod', num(before.BackupRetentionPeriod, 1), num(after.BackupRetentionPeriod, 1), ' days', 'older automated backups and point-in-time recovery are lost (0 switches them off)'),
      ...switchedOn('DeleteAutomatedBackups', before, after, true, 'the automated backups would be deleted with the database'),
      ...switchedOn('PubliclyAccessible', before, after, false, 'the database gets a public address'),
    ],
  },
  {
    types: ['AWS::S3::Bucket'],
    check: (before, after) => {
      const reasons: string[] = [];
      const was = s3Expirations(before);
      const now = s3Expirations(after);
      reasons.push(...shortened('LifecycleConfiguration (expiration)', was.current, now.current, ' days', 'objects are deleted sooner'));
      reasons.push(...shortened('LifecycleConfiguration (noncurrent version expiration)', was.noncurrent, now.noncurrent, ' days', 'earlier versions, the way back from an overwrite or delete, are deleted sooner'));
      const versioningWas = literal(get(before, 'VersioningConfiguration', 'Status'));
      const versioningNow = literal(get(after, 'VersioningConfiguration', 'Status'));
      if (versioningWas === 'Enabled' && versioningNow !== 'Enabled') {
        reasons.push(`${code('VersioningConfiguration.Status')} changes from ${describe('Enabled')} to ${describe(versioningNow ?? 'absent')}: overwritten and deleted objects are no longer kept.`);
      }
      const lockWas = objectLockRetention(before);
      const lockNow = objectLockRetention(after);
      reasons.push(...shortened('ObjectLockConfiguration (default retention)', lockWas.days, lockNow.days, ' days', 'new objects are protected from deletion for less time'));
      if (lockWas.mode === 'COMPLIANCE' && lockNow.mode !== 'COMPLIANCE') {
        reasons.push(`${code('ObjectLockConfiguration')} mode changes from ${describe('COMPLIANCE')} to ${describe(lockNow.mode ?? 'none')}: privileged users can then delete locked objects.`);
      }
      for (const setting of ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets']) {
        reasons.push(...switchedOff(setting, before, after, false, 'the bucket can be made public', ['PublicAccessBlockConfiguration', setting]));
      }
      if (list(get(before, 'ReplicationConfiguration', 'Rules')).length > list(get(after, 'ReplicationConfiguration', 'Rules')).length) {
        reasons.push(`${code('ReplicationConfiguration')} loses rules: objects stop being copied to the other region.`);
      }
      return reasons;
    },
  },
  {
    types: ['AWS::KMS::Key'],
    check: (before, after) => [
      ...switchedOff('Enabled', before, after, true, 'nothing encrypted with the key can be decrypted while it is disabled'),
      ...shortened('PendingWindowInDays', num(before.PendingWindowInDays, 30), num(after.PendingWindowInDays, 30), ' days', 'a scheduled deletion of the key, which makes its data unreadable for ever, completes sooner'),
      // The guard of issue 16.7 (security review H7): only the break-glass role may schedule deletion, disable or re-permission the key.
      ...denyStatementsLost('KeyPolicy', before, after, 'an action it denied (scheduling the key for deletion, disabling it, rewriting its policy, creating grants) may then be allowed'),
    ],
  },
  {
    types: ['AWS::Backup::BackupVault'],
    check: (before, after) => {
      // The guard of issue 16.7 (security review H7): the vault's access policy denies deleting or shortening a recovery point.
      const accessPolicy = denyStatementsLost('AccessPolicy', before, after, 'recovery points may then be deleted or their retention shortened through the Backup API');
      const lockWas = get(before, 'LockConfiguration');
      const lockNow = get(after, 'LockConfiguration');
      if (lockWas === undefined) return accessPolicy;
      if (lockNow === undefined) return [`${code('LockConfiguration')} is removed: recovery points can be deleted before their retention ends.`, ...accessPolicy];
      return [
        ...accessPolicy,
        ...shortened('LockConfiguration.MinRetentionDays', num(get(lockWas, 'MinRetentionDays'), 0), num(get(lockNow, 'MinRetentionDays'), 0), ' days', 'recovery points can be deleted sooner'),
        ...(get(lockWas, 'ChangeableForDays') !== undefined && get(lockNow, 'ChangeableForDays') === undefined
          ? [`${code('LockConfiguration.ChangeableForDays')} is removed: the lock falls back from compliance to governance mode, which an administrator can delete.`]
          : []),
      ];
    },
  },
  {
    types: ['AWS::Backup::BackupPlan'],
    check: (before, after) => {
      const rules = (properties: Properties) => list(get(properties, 'BackupPlan', 'BackupPlanRule'));
      const reasons: string[] = [];
      // The shortest time any recovery point (or copy) of the plan is kept.
      const keep = (properties: Properties) =>
        rules(properties)
          .flatMap((rule) => [get(rule, 'Lifecycle', 'DeleteAfterDays'), ...list(get(rule, 'CopyActions')).map((c) => get(c, 'Lifecycle', 'DeleteAfterDays'))])
          .filter((value) => value !== undefined)
          .reduce<number | typeof NOT_LITERAL>((days, value) => minDays(days, num(value, Infinity)), Infinity);
      if (rules(after).length < rules(before).length) reasons.push(`${code('BackupPlanRule')} loses a rule: fewer recovery points are taken.`);
      reasons.push(...shortened('Lifecycle.DeleteAfterDays', keep(before), keep(after), ' days', 'recovery points are deleted sooner'));
      const copies = (properties: Properties) => rules(properties).reduce<number>((n, rule) => n + list(get(rule, 'CopyActions')).length, 0);
      if (copies(after) < copies(before)) reasons.push(`${code('CopyActions')} loses a copy: recovery points stop being copied to another vault.`);
      return reasons;
    },
  },
  {
    types: ['AWS::Backup::BackupSelection'],
    check: (before, after) => {
      const resources = (properties: Properties) => list(get(properties, 'BackupSelection', 'Resources')).map((r) => JSON.stringify(r));
      const now = new Set(resources(after));
      const dropped = resources(before).filter((r) => !now.has(r));
      return dropped.length > 0 ? [`${code('BackupSelection.Resources')} no longer includes ${dropped.map((r) => code(r)).join(', ')}: it stops being backed up.`] : [];
    },
  },
  {
    // The bucket policies hold the TLS-only denies and, with an Object Lock default retention, the denies of
    // s3:BypassGovernanceRetention and PutBucketObjectLockConfiguration to all but break glass (constructs/secure-bucket.ts).
    types: ['AWS::S3::BucketPolicy'],
    check: (before, after) =>
      denyStatementsLost('PolicyDocument', before, after, 'what it denied (plain-HTTP access, bypassing or changing the Object Lock retention) may then be allowed'),
  },
  {
    // The secret policies deny DeleteSecret and changing the policy itself to all but break glass (and CloudFormation's
    // execution role for the policy: lib/secret-policy-guard.ts); turning BlockPublicPolicy off lets a later
    // PutResourcePolicy grant the secret to other accounts. Absent counts as off: the CloudFormation reference says
    // Secrets Manager blocks by default, the PutResourcePolicy API reference that it does not; the stricter reading fails closed.
    types: ['AWS::SecretsManager::ResourcePolicy'],
    check: (before, after) => [
      ...denyStatementsLost('ResourcePolicy', before, after, 'what it denied (deleting the secret, rewriting or removing its policy) may then be allowed'),
      ...switchedOff('BlockPublicPolicy', before, after, false, 'a policy that grants the secret to other accounts or to everyone is no longer refused'),
    ],
  },
  {
    types: ['AWS::Logs::LogGroup'],
    check: (before, after) => shortened('RetentionInDays', num(before.RetentionInDays, Infinity), num(after.RetentionInDays, Infinity), ' days', 'log events are deleted sooner'),
  },
  {
    types: ['AWS::SQS::Queue'],
    check: (before, after) => shortened('MessageRetentionPeriod', num(before.MessageRetentionPeriod, 345600), num(after.MessageRetentionPeriod, 345600), ' s', 'unprocessed messages are deleted sooner'),
  },
  {
    types: ['AWS::DynamoDB::Table'],
    check: (before, after) => [
      ...switchedOff('DeletionProtectionEnabled', before, after, false, 'the table can then be deleted'),
      ...switchedOff('PointInTimeRecoveryEnabled', before, after, false, 'point-in-time recovery and its backups are lost', ['PointInTimeRecoverySpecification', 'PointInTimeRecoveryEnabled']),
      ...switchedOn('Enabled', before, after, false, 'items start expiring', ['TimeToLiveSpecification', 'Enabled']),
    ],
  },
  {
    types: ['AWS::SecretsManager::Secret'],
    check: (before, after) => {
      const regions = (properties: Properties) => list(get(properties, 'ReplicaRegions')).map((r) => String(literal(get(r, 'Region')) === NOT_LITERAL ? '?' : get(r, 'Region')));
      const now = new Set(regions(after));
      const dropped = regions(before).filter((r) => !now.has(r));
      return dropped.length > 0 ? [`${code('ReplicaRegions')} no longer includes ${dropped.map((r) => code(r)).join(', ')}: the replica there is deleted.`] : [];
    },
  },
  {
    types: ['AWS::ECR::Repository'],
    check: (before, after) => {
      const reasons: string[] = [];
      if (literal(before.ImageTagMutability) === 'IMMUTABLE' && literal(after.ImageTagMutability) !== 'IMMUTABLE') {
        reasons.push(`${code('ImageTagMutability')} changes from ${describe('IMMUTABLE')} to ${describe(literal(after.ImageTagMutability) ?? 'MUTABLE')}: a released tag can be overwritten.`);
      }
      reasons.push(...switchedOn('EmptyOnDelete', before, after, false, 'the images would be deleted with the repository'));
      const was = ecrLifecycleRules(before);
      const now = ecrLifecycleRules(after);
      if (was !== NOT_LITERAL) {
        if (now === NOT_LITERAL) reasons.push(`${code('LifecyclePolicy')} becomes unreadable here: whether images expire sooner cannot be judged.`);
        else {
          for (const [key, rule] of now) {
            const old = was.get(key);
            if (!old) reasons.push(`${code('LifecyclePolicy')} gains a rule that expires images (${code(rule.countType)} ${code(String(rule.countNumber))}).`);
            else if (rule.countNumber < old.countNumber) reasons.push(`${code('LifecyclePolicy')} expires images sooner (${code(rule.countType)} ${code(String(old.countNumber))} → ${code(String(rule.countNumber))}).`);
          }
        }
      }
      return reasons;
    },
  },
  {
    types: ['AWS::EFS::FileSystem'],
    check: (before, after) => {
      const was = literal(get(before, 'BackupPolicy', 'Status'));
      const now = literal(get(after, 'BackupPolicy', 'Status'));
      return was === 'ENABLED' && now !== 'ENABLED' ? [`${code('BackupPolicy.Status')} changes from ${describe('ENABLED')} to ${describe(now ?? 'absent')}: automatic backups stop.`] : [];
    },
  },
];

/** Resource types that protect data without holding it: their removal stops the protection. */
export const PROTECTION_RESOURCE_TYPES: readonly string[] = ['AWS::Backup::BackupPlan', 'AWS::Backup::BackupSelection', 'AWS::S3::BucketPolicy', 'AWS::SecretsManager::ResourcePolicy'];

/** What stops when a resource of a PROTECTION_RESOURCE_TYPES type is removed, for the report. */
export function protectionLostOnRemoval(type: string): string {
  if (type === 'AWS::S3::BucketPolicy') return 'removed from the template: the bucket loses every statement of its policy, its Deny statements (TLS only, the Object Lock guards) with them.';
  if (type === 'AWS::SecretsManager::ResourcePolicy') {
    return 'removed from the template: CloudFormation deletes the secret\'s policy (DeleteResourcePolicy), its Deny statements (deleting the secret, changing the policy, all but break glass) with it.';
  }
  return 'removed from the template: the backups it takes or the copies it makes stop (recovery points already taken stay in their vault).';
}

/** Every type a rule knows (the tests cover each one). */
export const PROTECTION_RULE_TYPES: readonly string[] = [...new Set(RULES.flatMap((rule) => rule.types))];

/** The ways an in-place change of this resource weakens the protection of its data, one sentence each. */
export function weakenedProtection(type: string, before: Properties | undefined, after: Properties | undefined): string[] {
  return RULES.filter((rule) => rule.types.includes(type)).flatMap((rule) => rule.check(before ?? {}, after ?? {}));
}
