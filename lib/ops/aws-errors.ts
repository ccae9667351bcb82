import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExitCode } from './exit-codes';

/**
 * Translation of AWS SDK errors into one clear line for an operator.
 *
 * The SDK throws service exceptions whose `name` is the AWS error code. We
 * classify by name (not by class) because the same condition has a different
 * class in every client (DBInstanceNotFoundFault, ClusterNotFoundException,
 * NoSuchBucket, ...) and because tests throw plain errors with those names.
 */

export type OpsErrorKind =
  | 'usage'
  | 'unhealthy'
  | 'conflict'
  | 'timeout'
  | 'access-denied'
  | 'credentials'
  | 'not-found'
  | 'throttled'
  | 'network'
  | 'aws';

const EXIT_BY_KIND: Record<OpsErrorKind, ExitCode> = {
  usage: ExitCode.USAGE,
  unhealthy: ExitCode.UNHEALTHY,
  /** What exists in AWS is not what the command may take over (e.g. another release's snapshot): refused, nothing changed. */
  conflict: ExitCode.UNHEALTHY,
  timeout: ExitCode.TIMEOUT,
  'access-denied': ExitCode.AWS_ERROR,
  credentials: ExitCode.AWS_ERROR,
  'not-found': ExitCode.AWS_ERROR,
  throttled: ExitCode.AWS_ERROR,
  network: ExitCode.AWS_ERROR,
  aws: ExitCode.AWS_ERROR,
};

/** An error the CLI reports as one line and turns into an exit code. */
export class OpsError extends Error {
  readonly kind: OpsErrorKind;
  readonly exitCode: ExitCode;
  constructor(kind: OpsErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OpsError';
    this.kind = kind;
    this.exitCode = EXIT_BY_KIND[kind];
  }
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ThrottledException',
  'SlowDown',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
]);

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnauthorizedException',
  'AuthorizationError',
  'AuthorizationErrorException',
  'NotAuthorized',
  'Forbidden',
]);

/** Missing, expired or invalid credentials: never to be confused with an empty (healthy-looking) answer. */
const CREDENTIALS = new Set([
  'CredentialsProviderError',
  'TokenProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
]);

const NETWORK = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'NetworkingError']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH']);

export function errorName(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { name?: unknown; Code?: unknown; code?: unknown };
    // Some services put the AWS code in `Code` and leave `name` as a generic class name.
    if (typeof e.Code === 'string' && e.Code) return e.Code;
    if (typeof e.name === 'string' && e.name && e.name !== 'Error') return e.name;
    if (typeof e.code === 'string' && e.code) return e.code;
  }
  return 'Error';
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function isThrottling(error: unknown): boolean {
  if (THROTTLING.has(errorName(error))) return true;
  const retryable = (error as { $retryable?: { throttling?: boolean } } | undefined)?.$retryable;
  return retryable?.throttling === true;
}

export function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  return (
    /NotFound(Fault|Exception|Error)?$/.test(name) ||
    /DoesNotExist(Exception)?$/.test(name) ||
    name.startsWith('NoSuch') ||
    name === 'ObjectNotFoundException' ||
    (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode === 404
  );
}

/** What an AWS call was trying to do, so that a failure message can name it. */
export interface CallDescription {
  /** IAM action, e.g. `rds:PromoteReadReplica`: what a policy would need to allow. */
  readonly action: string;
  /** The resource in words, e.g. `DB instance bodyscript-staging-postgres-replica`. */
  readonly resource: string;
  /** Region the call went to. */
  readonly region: string;
  /** Account the environment lives in, used to suggest which credentials to use. */
  readonly account: string;
}

/** Turns an AWS SDK error into an OpsError whose message says what failed and what to do about it. */
export function toOpsError(error: unknown, call: CallDescription, credentials: CredentialEnvironment = processCredentialEnvironment()): OpsError {
  if (error instanceof OpsError) return error;
  const name = errorName(error);
  const said = errorMessage(error);
  const where = `${call.resource} (${call.region})`;
  if (CREDENTIALS.has(name)) {
    const source = describeCredentialSource(credentials);
    return new OpsError(
      'credentials',
      `no AWS credentials found, or they are expired or invalid (${name}: ${oneLine(said)}) while calling ${call.action} on ${where}. ` +
        `Tried ${source.tried}. ${source.fix}, for account ${call.account}, and run again`,
      { cause: error },
    );
  }
  if (ACCESS_DENIED.has(name)) {
    return new OpsError(
      'access-denied',
      `access denied: ${call.action} on ${where} was refused for the current credentials (${said}). ` +
        `Use an operator or administrator role of account ${call.account} that allows ${call.action}; ` +
        `check who you are with 'aws sts get-caller-identity'`,
      { cause: error },
    );
  }
  if (isNotFound(error)) {
    return new OpsError(
      'not-found',
      `missing resource: ${call.action} found no ${where} (${name}: ${said}). ` +
        `Is the stack deployed in account ${call.account}, region ${call.region}?`,
      { cause: error },
    );
  }
  if (isThrottling(error)) {
    return new OpsError('throttled', `throttled: ${call.action} on ${where} was still throttled after the retries (${name}); wait a minute and run again`, {
      cause: error,
    });
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (NETWORK.has(name) || (typeof code === 'string' && NETWORK_CODES.has(code))) {
    return new OpsError('network', `could not reach AWS for ${call.action} on ${where} (${name}: ${said}); check the network or proxy and run again`, {
      cause: error,
    });
  }
  return new OpsError('aws', `${call.action} on ${where} failed: ${name}: ${said}`, { cause: error });
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

// --- Where the credentials came from ----------------------------------------

/**
 * What the SDK's default credential chain reads: the variables and the shared
 * config and credentials files. Injected so that tests never depend on the
 * machine they run on.
 */
export interface CredentialEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a file, or returns undefined when it does not exist. */
  readonly readFile: (file: string) => string | undefined;
  readonly homeDir: string;
}

export function processCredentialEnvironment(): CredentialEnvironment {
  return {
    env: process.env,
    readFile: (file) => {
      try {
        return fs.readFileSync(file, 'utf8');
      } catch {
        return undefined;
      }
    },
    homeDir: os.homedir(),
  };
}

/** Sections of an AWS shared config or credentials file: `[profile x]`, `[sso-session y]`, `[default]`, each with its `key = value` pairs. */
export function parseSharedIni(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    // Indented lines are sub-properties (e.g. `s3 =` blocks) and comments start with # or ;.
    if (/^\s/.test(raw) || /^[#;]/.test(raw) || raw.trim() === '') continue;
    const section = /^\[\s*([^\]]+?)\s*\]/.exec(raw);
    if (section) {
      current = {};
      sections.set(section[1].replace(/\s+/g, ' '), current);
      continue;
    }
    const pair = /^([^=]+?)\s*=\s*(.*)$/.exec(raw);
    if (pair && current) current[pair[1].trim()] = pair[2].trim();
  }
  return sections;
}

/** What was tried, and what to do about it, in the operator's words. */
export interface CredentialSource {
  readonly tried: string;
  readonly fix: string;
}

/**
 * Describes the source the SDK's default chain used (AWS_PROFILE first, then
 * the AWS_ACCESS_KEY_ID variables, web identity, container credentials, the
 * default profile), so that a mistyped profile or an expired SSO session is
 * named instead of a generic "no credentials".
 */
export function describeCredentialSource(credentials: CredentialEnvironment): CredentialSource {
  const { env } = credentials;
  const configFile = env.AWS_CONFIG_FILE || path.join(credentials.homeDir, '.aws', 'config');
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE || path.join(credentials.homeDir, '.aws', 'credentials');
  const config = parseSharedIni(credentials.readFile(configFile) ?? '');
  const credentialFile = parseSharedIni(credentials.readFile(credentialsFile) ?? '');

  if (env.AWS_PROFILE) {
    const ignoredKeys = env.AWS_ACCESS_KEY_ID ? '; AWS_ACCESS_KEY_ID is set too but AWS_PROFILE takes precedence' : '';
    return describeProfile(env.AWS_PROFILE, 'AWS_PROFILE', { config, credentialFile, configFile, credentialsFile, suffix: ignoredKeys });
  }
  if (env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY) {
    const set = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'].filter((v) => env[v]);
    const missing = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].filter((v) => !env[v]);
    const temporary = env.AWS_ACCESS_KEY_ID?.startsWith('ASIA') || env.AWS_SESSION_TOKEN;
    const keyId = env.AWS_ACCESS_KEY_ID ? ` (key ${env.AWS_ACCESS_KEY_ID.slice(0, 4)}…${env.AWS_ACCESS_KEY_ID.slice(-4)})` : '';
    return {
      tried: `the variables ${set.join(', ')}${keyId}${missing.length ? `, without ${missing.join(' and ')}` : ''}`,
      fix: missing.length
        ? `Set ${missing.join(' and ')} as well, or unset the variables and use AWS_PROFILE`
        : temporary
          ? 'They are temporary credentials of an assumed role and expire (an hour for the pipeline roles): assume the role again (in GitHub Actions, re-run the job)'
          : 'Check or rotate the access key, or unset the variables and use AWS_PROFILE',
    };
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_ROLE_ARN) {
    return {
      tried: `web identity: the token in AWS_WEB_IDENTITY_TOKEN_FILE (${env.AWS_WEB_IDENTITY_TOKEN_FILE ?? 'not set'}) for the role in AWS_ROLE_ARN (${env.AWS_ROLE_ARN ?? 'not set'})`,
      fix: 'Check that both are set, the token file is fresh and the role trusts this identity provider',
    };
  }
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
    return {
      tried: 'container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / AWS_CONTAINER_CREDENTIALS_FULL_URI)',
      fix: 'Check the task role of the container this runs in',
    };
  }
  const fallback = describeProfile('default', 'no AWS_PROFILE or AWS_ACCESS_KEY_ID, so the default profile', {
    config,
    credentialFile,
    configFile,
    credentialsFile,
    suffix: ', then the instance metadata service',
  });
  return { tried: fallback.tried, fix: `${fallback.fix} (or export AWS_PROFILE=<profile> after 'aws sso login --profile <profile>')` };
}

interface ProfileFiles {
  readonly config: Map<string, Record<string, string>>;
  readonly credentialFile: Map<string, Record<string, string>>;
  readonly configFile: string;
  readonly credentialsFile: string;
  readonly suffix: string;
}

function describeProfile(profile: string, from: string, files: ProfileFiles): CredentialSource {
  const { config, credentialFile, configFile, credentialsFile, suffix } = files;
  const inConfig = config.get(profile === 'default' ? 'default' : `profile ${profile}`) ?? (profile === 'default' ? config.get('profile default') : undefined);
  const inCredentials = credentialFile.get(profile);
  const named = from === 'AWS_PROFILE' ? `profile '${profile}' (AWS_PROFILE)` : from;
  if (!inConfig && !inCredentials) {
    const known = [
      ...[...config.keys()].filter((s) => s === 'default' || s.startsWith('profile ')).map((s) => s.replace(/^profile /, '')),
      ...credentialFile.keys(),
    ];
    const list = [...new Set(known)].sort();
    return {
      tried: `${named}, which is in neither ${configFile} nor ${credentialsFile}${list.length ? ` (profiles there: ${list.join(', ')})` : ' (no profiles there)'}${suffix}`,
      fix: list.length ? `Check the spelling of the profile, or set AWS_PROFILE to one of ${list.join(', ')}` : `Create the profile with 'aws configure sso --profile ${profile}'`,
    };
  }
  const settings = { ...inCredentials, ...inConfig };
  if (settings.sso_session) {
    const session = config.get(`sso-session ${settings.sso_session}`);
    const url = session?.sso_start_url ? ` (start URL ${session.sso_start_url})` : ' (no [sso-session] section for it)';
    return {
      tried: `${named}, which signs in through SSO session '${settings.sso_session}'${url}${suffix}`,
      fix: `Sign in again with 'aws sso login --sso-session ${settings.sso_session}'`,
    };
  }
  if (settings.sso_start_url) {
    return { tried: `${named}, which signs in through SSO at ${settings.sso_start_url}${suffix}`, fix: `Sign in again with 'aws sso login --profile ${profile}'` };
  }
  if (settings.role_arn) {
    const via = settings.source_profile ? `source profile '${settings.source_profile}'` : settings.credential_source ? `credential source ${settings.credential_source}` : 'no source profile';
    return {
      tried: `${named}, which assumes role ${settings.role_arn} with ${via}${suffix}`,
      fix: settings.source_profile ? `Check that profile '${settings.source_profile}' has valid credentials and may assume ${settings.role_arn}` : `Check how ${settings.role_arn} is assumed`,
    };
  }
  if (settings.credential_process) {
    return { tried: `${named}, whose credential_process is '${settings.credential_process}'${suffix}`, fix: 'Run that command by hand to see why it gives no valid credentials' };
  }
  if (settings.aws_access_key_id) {
    return { tried: `${named}, with static keys in ${inCredentials?.aws_access_key_id ? credentialsFile : configFile}${suffix}`, fix: 'Check or rotate those keys' };
  }
  return { tried: `${named}, which has no credential settings${suffix}`, fix: `Add sso_session, role_arn or keys to the profile ('aws configure sso --profile ${profile}')` };
}
