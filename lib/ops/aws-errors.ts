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

function errorName(error: unknown): string {
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
export function toOpsError(error: unknown, call: CallDescription): OpsError {
  if (error instanceof OpsError) return error;
  const name = errorName(error);
  const said = errorMessage(error);
  const where = `${call.resource} (${call.region})`;
  if (CREDENTIALS.has(name)) {
    return new OpsError(
      'credentials',
      `no AWS credentials found, or they are expired or invalid (${name}) while calling ${call.action} on ${where}: ` +
        `sign in for account ${call.account} (e.g. 'aws sso login --profile <profile>' and AWS_PROFILE=<profile>) and run again`,
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
