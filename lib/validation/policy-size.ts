/**
 * Size quotas that AWS enforces on policy documents when CloudFormation
 * creates or updates them, and an upper bound of a template's policy size
 * before deployment. None of them is checked by CloudFormation's schema, by
 * cdk-nag or by Control Tower's rules: a policy one statement too long
 * synthesizes and then fails the deploy (IAM: "LimitExceeded: Cannot exceed
 * quota for PolicySize: 6144"), halfway through a release.
 *
 * Sources (read 2026-12-02):
 * - IAM and AWS STS quotas (IAM User Guide, reference_iam-quotas): managed
 *   policy size 6,144 characters, not adjustable; the inline policies of a
 *   role 10,240 characters together; a role's trust policy 2,048 characters
 *   by default (adjustable through Service Quotas; a new account has the
 *   default). "IAM doesn't count white space when calculating the size of a
 *   policy against these limits."
 * - S3 bucket policy: 20 KB. SQS queue policy: 8,192 bytes (SQS policy
 *   quotas). KMS key policy: 32 KB. SNS topic policy: 30 KB. Secrets Manager
 *   resource policy: 20 KB. CloudWatch Logs resource policy: 5,120
 *   characters (the Step Functions guide, "Avoiding CloudWatch Logs resource
 *   policy size restrictions").
 */

/** The policy-document property of each resource type with a size quota, and its quota. */
export const POLICY_SIZE_QUOTAS: Readonly<Record<string, { readonly property: string; readonly quota: number; readonly what: string }>> = {
  'AWS::IAM::ManagedPolicy': { property: 'PolicyDocument', quota: 6144, what: 'IAM managed policy (6,144 characters, not adjustable)' },
  'AWS::S3::BucketPolicy': { property: 'PolicyDocument', quota: 20 * 1024, what: 'S3 bucket policy (20 KB)' },
  'AWS::SQS::QueuePolicy': { property: 'PolicyDocument', quota: 8192, what: 'SQS queue policy (8,192 bytes)' },
  'AWS::KMS::Key': { property: 'KeyPolicy', quota: 32 * 1024, what: 'KMS key policy (32 KB)' },
  'AWS::SNS::TopicPolicy': { property: 'PolicyDocument', quota: 30 * 1024, what: 'SNS topic policy (30 KB)' },
  'AWS::SecretsManager::ResourcePolicy': { property: 'ResourcePolicy', quota: 20 * 1024, what: 'Secrets Manager resource policy (20 KB)' },
  'AWS::Logs::ResourcePolicy': { property: 'PolicyDocument', quota: 5120, what: 'CloudWatch Logs resource policy (5,120 characters)' },
};

/** The inline policies of one role together (AWS::IAM::Policy attached to it and its own Policies). */
export const ROLE_INLINE_POLICIES_QUOTA = 10240;
/** A role's trust policy, at the default quota a new account has. */
export const ROLE_TRUST_POLICY_QUOTA = 2048;

/**
 * What an intrinsic function may resolve to, at most, in characters: the
 * longest ARN or name this app refers to is well under it (a role ARN is at
 * most 95 characters, a Lambda function ARN 140, a bucket ARN 76), and a
 * bound too small would let an oversized policy pass.
 */
export const INTRINSIC_VALUE_BOUND = 256;

/** The longest value of each pseudo parameter (a partition is at most `aws-iso-b`/`aws-us-gov`, a Region at most 14 characters). */
const PSEUDO_PARAMETER_BOUNDS: Readonly<Record<string, number>> = {
  'AWS::AccountId': 12,
  'AWS::Region': 14,
  'AWS::Partition': 10,
  'AWS::URLSuffix': 16,
  'AWS::NoValue': 0,
  'AWS::StackName': 128,
};

const withoutWhitespace = (text: string) => text.replace(/\s/g, '');

function isIntrinsic(value: object): value is Record<string, unknown> {
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}

/** An upper bound of the length of the string an intrinsic function resolves to (no quotes). */
function resolvedLengthBound(value: unknown): number {
  if (typeof value === 'string') return withoutWhitespace(JSON.stringify(value)).length - 2;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !isIntrinsic(value)) return INTRINSIC_VALUE_BOUND;
  const [name, argument] = Object.entries(value)[0] as [string, unknown];
  if (name === 'Ref') return PSEUDO_PARAMETER_BOUNDS[argument as string] ?? INTRINSIC_VALUE_BOUND;
  if (name === 'Fn::Join' && Array.isArray(argument) && Array.isArray(argument[1])) {
    const [separator, parts] = argument as [string, unknown[]];
    return parts.reduce<number>((sum, part) => sum + resolvedLengthBound(part), 0) + withoutWhitespace(separator).length * Math.max(0, parts.length - 1);
  }
  if (name === 'Fn::Sub') {
    const text = typeof argument === 'string' ? argument : String((argument as unknown[])[0]);
    const variables = text.match(/\$\{[^}]*\}/g) ?? [];
    return withoutWhitespace(text.replace(/\$\{[^}]*\}/g, '')).length + variables.length * INTRINSIC_VALUE_BOUND;
  }
  if (name === 'Fn::If' && Array.isArray(argument)) return Math.max(resolvedLengthBound(argument[1]), resolvedLengthBound(argument[2]));
  // Fn::GetAtt, Fn::ImportValue, Fn::GetStackOutput, Fn::Select of a computed list, …: one value.
  return INTRINSIC_VALUE_BOUND;
}

/**
 * An upper bound of a policy document's size as AWS counts it: its JSON
 * without white space, every intrinsic function replaced by the longest
 * value it may resolve to. Exact for a document without intrinsics. A
 * document given as a string (as some resources accept) is counted as it is.
 */
export function policySizeBound(document: unknown): number {
  if (typeof document === 'string') return withoutWhitespace(document).length;
  if (typeof document === 'object' && document !== null && !Array.isArray(document) && isIntrinsic(document)) return resolvedLengthBound(document);
  return jsonSizeBound(document);
}

function jsonSizeBound(value: unknown): number {
  if (typeof value === 'string') return withoutWhitespace(JSON.stringify(value)).length;
  if (typeof value !== 'object' || value === null) return String(value).length;
  if (Array.isArray(value)) return 2 + value.reduce<number>((sum, item) => sum + jsonSizeBound(item), 0) + Math.max(0, value.length - 1);
  // An intrinsic in the document becomes a JSON string (quoted) once resolved.
  if (isIntrinsic(value)) return 2 + resolvedLengthBound(value);
  const entries = Object.entries(value);
  return 2 + entries.reduce((sum, [key, item]) => sum + withoutWhitespace(JSON.stringify(key)).length + 1 + jsonSizeBound(item), 0) + Math.max(0, entries.length - 1);
}

/** A template resource as CloudFormation reads it. */
interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** One policy of a template that AWS would refuse, or that is closer to its quota than the margin allows. */
export interface PolicySizeFinding {
  readonly logicalId: string;
  readonly what: string;
  readonly size: number;
  readonly quota: number;
}

/**
 * Every policy of a template whose size bound exceeds `share` of its quota
 * (1 = AWS's refusal itself): managed and resource policies, each role's
 * trust policy, and each role's inline policies together.
 */
export function oversizedPolicies(template: { Resources?: Record<string, TemplateResource> }, share = 1): PolicySizeFinding[] {
  const findings: PolicySizeFinding[] = [];
  const inlineByRole = new Map<string, number>();
  const check = (logicalId: string, what: string, size: number, quota: number) => {
    if (size > quota * share) findings.push({ logicalId, what, size, quota });
  };
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const quota = POLICY_SIZE_QUOTAS[resource.Type];
    if (quota && resource.Properties?.[quota.property] !== undefined) check(logicalId, quota.what, policySizeBound(resource.Properties[quota.property]), quota.quota);
    if (resource.Type === 'AWS::IAM::Role') {
      if (resource.Properties?.AssumeRolePolicyDocument !== undefined) check(logicalId, 'IAM role trust policy (2,048 characters by default)', policySizeBound(resource.Properties.AssumeRolePolicyDocument), ROLE_TRUST_POLICY_QUOTA);
      for (const policy of (resource.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) {
        inlineByRole.set(logicalId, (inlineByRole.get(logicalId) ?? 0) + policySizeBound(policy.PolicyDocument));
      }
    }
    if (resource.Type === 'AWS::IAM::Policy') {
      for (const role of (resource.Properties?.Roles as unknown[] | undefined) ?? []) {
        // A role of this template by Ref; a role named literally (or imported) is keyed by its name.
        const key = typeof role === 'object' && role !== null && 'Ref' in role ? String((role as { Ref: unknown }).Ref) : JSON.stringify(role);
        inlineByRole.set(key, (inlineByRole.get(key) ?? 0) + policySizeBound(resource.Properties?.PolicyDocument));
      }
    }
  }
  for (const [role, size] of inlineByRole) check(role, 'inline policies of one IAM role together (10,240 characters)', size, ROLE_INLINE_POLICIES_QUOTA);
  return findings;
}
