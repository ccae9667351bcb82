import { type CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { type BaselineTemplates, InputError, type StackBaseline, type StackTemplate, type Template } from './assembly';

/**
 * The deployed templates as the baseline (`--baseline deployed`): what
 * `cdk diff` compares with, fetched with CloudFormation GetTemplate in each
 * stack's own account and region (from the manifest).
 */

export interface AwsClients {
  /** One client per region; injected so tests mock it with aws-sdk-client-mock. */
  readonly cloudFormation: (region: string) => CloudFormationClient;
  /** Used to check that the credentials belong to the stacks' account. */
  readonly sts: (region: string) => STSClient;
}

/** Error names that mean "these credentials cannot be used", not "the stack is missing". */
const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'AccessDeniedException',
  'TokenRefreshRequired',
  'InvalidAccessKeyId',
]);

export async function loadDeployedBaseline(stacks: readonly StackTemplate[], clients: AwsClients): Promise<BaselineTemplates> {
  for (const stack of stacks) {
    if (!stack.region) {
      throw new InputError(
        `--baseline deployed: stack ${stack.displayName} has no region in the manifest (environment-agnostic); give it an explicit env or use --baseline <dir>`,
      );
    }
  }
  await checkAccount(stacks, clients);

  const templates = new Map<string, StackBaseline | undefined>();
  for (const stack of stacks) {
    const template = await fetchTemplate(stack, clients.cloudFormation(stack.region!));
    // Termination protection is not in the template (DescribeStacks has it); not judged against a deployed baseline.
    templates.set(stack.artifactId, template && { template });
  }
  const missing = stacks.filter((stack) => !templates.get(stack.artifactId)).map((stack) => stack.displayName);
  return {
    description: 'the deployed stacks (CloudFormation GetTemplate)',
    find: (stack) => templates.get(stack.artifactId),
    // Deployed stacks that the app no longer defines are not discoverable by name; nothing to report.
    unmatched: () => [],
    notes: missing.length > 0 ? [`Not deployed yet, so every resource of these stacks counts as new: ${missing.join(', ')}.`] : [],
  };
}

/**
 * With credentials for the wrong account every stack would look "not deployed
 * yet", i.e. all new, and a replacement would pass unnoticed. Comparing the
 * caller's account with the manifest closes that hole.
 */
async function checkAccount(stacks: readonly StackTemplate[], clients: AwsClients): Promise<void> {
  const accounts = [...new Set(stacks.map((s) => s.account).filter((a): a is string => a !== undefined && /^\d{12}$/.test(a)))];
  if (accounts.length === 0) return;
  let caller: string | undefined;
  try {
    caller = (await clients.sts(stacks[0].region!).send(new GetCallerIdentityCommand({}))).Account;
  } catch (error) {
    throw awsInputError(error, 'cannot identify the AWS caller (STS GetCallerIdentity)', accounts[0]);
  }
  const foreign = stacks.filter((s) => s.account !== undefined && /^\d{12}$/.test(s.account) && s.account !== caller);
  if (foreign.length > 0) {
    throw new InputError(
      `--baseline deployed: the AWS credentials are for account ${caller ?? 'unknown'}, but ${foreign.map((s) => `${s.displayName} is in ${s.account}`).join(', ')}; use credentials for that account (e.g. its deploy role)`,
    );
  }
}

async function fetchTemplate(stack: StackTemplate, client: CloudFormationClient): Promise<Template | undefined> {
  let body: string | undefined;
  try {
    // 'Original' is the template as submitted, the form the assembly holds (before transforms).
    const response = await client.send(new GetTemplateCommand({ StackName: stack.stackName, TemplateStage: 'Original' }));
    body = response.TemplateBody;
  } catch (error) {
    if (isStackMissing(error)) return undefined;
    throw awsInputError(error, `cannot read the deployed template of ${stack.stackName}`, stack.account, stack.region);
  }
  if (body === undefined || body.trim() === '') return undefined;
  try {
    return JSON.parse(body) as Template;
  } catch {
    // CDK always deploys JSON; a YAML template means the stack was not deployed by this app.
    throw new InputError(`--baseline deployed: the deployed template of ${stack.stackName} is not JSON, so it was not deployed by this CDK app`);
  }
}

function isStackMissing(error: unknown): boolean {
  const { name, message } = errorParts(error);
  return name === 'ValidationError' && /does not exist/i.test(message);
}

function awsInputError(error: unknown, what: string, account?: string, region?: string): InputError {
  const { name, message } = errorParts(error);
  const where = [account && `account ${account}`, region && `region ${region}`].filter(Boolean).join(', ');
  if (CREDENTIAL_ERRORS.has(name)) {
    return new InputError(
      `--baseline deployed: ${what}${where ? ` (${where})` : ''}: ${name}: ${message}. ` +
        'Use AWS credentials that may call cloudformation:GetTemplate and sts:GetCallerIdentity there (e.g. AWS_PROFILE or the CI deploy role), or compare with --baseline <dir> instead.',
    );
  }
  return new InputError(`--baseline deployed: ${what}${where ? ` (${where})` : ''}: ${name}: ${message}`);
}

function errorParts(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}
