/**
 * Reading IAM policy documents as IAM returns them. GetRole returns the trust
 * policy URL-encoded ("Policies returned by this operation are URL-encoded
 * compliant with RFC 3986", IAM API reference, GetRole); the JavaScript SDK
 * does not decode it.
 */

export interface PolicyStatement {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly Principal?: string | { readonly AWS?: string | string[]; readonly Federated?: string | string[]; readonly Service?: string | string[] };
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  readonly Statement: PolicyStatement[];
}

/** IAM stores a role named in a trust policy by its unique id and shows the id when the role no longer exists. */
export const UNIQUE_ROLE_ID = /^AROA[A-Z0-9]{12,}$/;

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Parses a policy document, URL-encoded (as GetRole returns it) or plain JSON. Throws on anything else. */
export function decodePolicyDocument(text: string | undefined): PolicyDocument {
  if (!text) throw new Error('the role has no trust policy document');
  const json = text.trimStart().startsWith('{') ? text : decodeURIComponent(text);
  const parsed = JSON.parse(json) as { Statement?: PolicyStatement | PolicyStatement[] };
  return { Statement: asList(parsed.Statement) };
}

/** Every `Principal.AWS` value of the allowing statements: ARNs, account ids, or unique ids of deleted principals. */
export function awsPrincipals(document: PolicyDocument): string[] {
  return document.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => (typeof s.Principal === 'object' ? asList(s.Principal.AWS) : []));
}

/** Federated principals (OIDC and SAML providers) of the allowing statements. */
export function federatedPrincipals(document: PolicyDocument): string[] {
  return document.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => (typeof s.Principal === 'object' ? asList(s.Principal.Federated) : []));
}

function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return regex.test(action);
}

/** The account of an IAM ARN (`arn:aws:iam::123456789012:role/x` → `123456789012`). */
export function accountOfArn(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];
}

/**
 * Whether the trust policy allows `action` to a caller: a session of role
 * `callerRoleArn`, or (without it) any principal of `callerAccount` that its
 * own policies allow, which a trust naming the account root or id grants.
 * Deny statements win. Conditions are not evaluated: a statement with one
 * counts as allowing (the bootstrap roles' ExternalId condition holds for
 * callers that pass none).
 */
export function allowsAction(document: PolicyDocument, action: string, caller: { readonly account: string; readonly roleArn?: string }): boolean {
  const matchesCaller = (statement: PolicyStatement) => {
    if (statement.Principal === '*') return true;
    if (typeof statement.Principal !== 'object') return false;
    return asList(statement.Principal.AWS).some(
      (p) => p === '*' || p === caller.account || p === `arn:aws:iam::${caller.account}:root` || (caller.roleArn !== undefined && p === caller.roleArn),
    );
  };
  const relevant = document.Statement.filter((s) => matchesCaller(s) && asList(s.Action).some((a) => actionMatches(a, action)));
  return relevant.some((s) => s.Effect === 'Allow') && !relevant.some((s) => s.Effect === 'Deny');
}
