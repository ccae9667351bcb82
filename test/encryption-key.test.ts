import { testApp } from './support/synthesize';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { BREAK_GLASS_ROLE_NAME, EncryptionKey, KEY_DESTRUCTION_ACTIONS } from '../constructs/encryption-key';

function newStack() {
  return new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'us-west-2' } });
}

describe('EncryptionKey', () => {
  let template: Template;
  beforeAll(() => {
    const stack = newStack();
    new EncryptionKey(stack, 'Key', {
      alias: 'alias/test/key',
      description: 'test key',
      allowCloudWatchLogs: true,
      servicePrincipals: ['cloudwatch.amazonaws.com'],
    });
    template = Template.fromStack(stack);
  });

  test('rotates, waits 30 days before deletion and is retained', () => {
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: { EnableKeyRotation: true, PendingWindowInDays: 30, Description: 'test key' },
    });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/test/key' });
  });

  test('denies grant creation except by AWS services for AWS resources', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'DenyGrantsExceptForAwsResources',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:CreateGrant',
            Resource: '*',
            Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
          },
        ]),
      },
    });
  });

  test('lets CloudWatch Logs of its own region and account use it', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowCloudWatchLogs',
            Principal: { Service: 'logs.us-west-2.amazonaws.com' },
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': 'arn:aws:logs:us-west-2:111111111111:*' } },
          }),
        ]),
      },
    });
  });

  test('lets a named service use it only on behalf of this account', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'Allowcloudwatch',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' } },
          }),
        ]),
      },
    });
  });

  test('only the break-glass role may schedule deletion or disable it; only it and CloudFormation may change its policy', () => {
    const policy = keyPolicy(template);
    const account = '111111111111';
    const breakGlass = `arn:aws:iam::${account}:role/${BREAK_GLASS_ROLE_NAME}`;
    const cloudFormation = `arn:aws:iam::${account}:role/cdk-hnb659fds-cfn-exec-role-${account}-us-west-2`;
    const administrator = `arn:aws:iam::${account}:role/Administrator`;
    const root = `arn:aws:iam::${account}:root`;
    for (const action of KEY_DESTRUCTION_ACTIONS) {
      expect(decide(policy, { principalArn: breakGlass, account, action })).toBe('allow');
      for (const other of [cloudFormation, administrator, root]) expect(decide(policy, { principalArn: other, account, action })).toBe('deny');
    }
    expect(decide(policy, { principalArn: breakGlass, account, action: 'kms:PutKeyPolicy' })).toBe('allow');
    // The key policy lockout safety check: CloudFormation, which calls PutKeyPolicy with this
    // policy, must be allowed to call it again, or KMS refuses the update.
    expect(decide(policy, { principalArn: cloudFormation, account, action: 'kms:PutKeyPolicy' })).toBe('allow');
    for (const other of [administrator, root]) expect(decide(policy, { principalArn: other, account, action: 'kms:PutKeyPolicy' })).toBe('deny');
    // Everyday use stays with IAM: the account statement still allows it.
    expect(decide(policy, { principalArn: administrator, account, action: 'kms:Decrypt' })).toBe('allow');
  });

  test('a key shared for backup copies lets the other account decrypt and create grants for AWS resources only', () => {
    const stack = newStack();
    new EncryptionKey(stack, 'Key', { alias: 'alias/test/database', description: 'x', backupCopyAccounts: ['333333333333'] });
    const policy = keyPolicy(Template.fromStack(stack));
    const copier = 'arn:aws:iam::333333333333:role/service-role/AWSBackupDefaultServiceRole';
    expect(decide(policy, { principalArn: copier, account: '333333333333', action: 'kms:Decrypt' })).toBe('allow');
    expect(decide(policy, { principalArn: copier, account: '333333333333', action: 'kms:CreateGrant', grantIsForAwsResource: true })).toBe('allow');
    expect(decide(policy, { principalArn: copier, account: '333333333333', action: 'kms:CreateGrant', grantIsForAwsResource: false })).toBe('deny');
    expect(decide(policy, { principalArn: copier, account: '333333333333', action: 'kms:ScheduleKeyDeletion' })).toBe('deny');
    expect(decide(policy, { principalArn: copier, account: '333333333333', action: 'kms:Encrypt' })).toBe('implicit-deny');
  });

  test.each(['12345', '111111111111'])('fails on the backup copy account %s', (account) => {
    expect(() => new EncryptionKey(newStack(), 'K', { alias: 'alias/x', description: 'x', backupCopyAccounts: [account] })).toThrow(
      /backupCopyAccounts entries must be 12-digit account ids other than this key's account \(111111111111\)/,
    );
  });

  test.each(['bodyscript/data', 'alias/aws/s3'])('fails on the alias %s', (alias) => {
    expect(() => new EncryptionKey(newStack(), 'K', { alias, description: 'x' })).toThrow(/alias must start with 'alias\/' and not 'alias\/aws\/'/);
  });
});

interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal: { AWS?: unknown; Service?: unknown } | '*';
  readonly Action: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}

function keyPolicy(template: Template): PolicyStatementJson[] {
  const key = Object.values(template.findResources('AWS::KMS::Key'))[0];
  // Resolve the partition the way CloudFormation does (Fn::Join / Fn::Sub of aws).
  const text = JSON.stringify(key.Properties.KeyPolicy.Statement)
    .replace(/\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":iam::(\d{12}):root"\]\]\}/g, '"arn:aws:iam::$1:root"')
    .replace(/\{"Fn::Sub":"arn:\$\{AWS::Partition\}:([^"]+)"\}/g, '"arn:aws:$1"')
    .replace(/\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":([^"]+)"\]\]\}/g, '"arn:aws:$1"');
  return JSON.parse(text) as PolicyStatementJson[];
}

interface Request {
  readonly principalArn: string;
  readonly account: string;
  readonly action: string;
  readonly grantIsForAwsResource?: boolean;
}

/**
 * IAM's evaluation of a key policy for one request (KMS key policies are the
 * only authority for a key; the account statement delegates to IAM policies,
 * assumed here to allow): an explicit Deny wins, then any Allow, else the
 * implicit deny. Conditions this model does not know make the statement not
 * apply, which for an Allow errs towards refusing.
 */
function decide(policy: PolicyStatementJson[], request: Request): 'allow' | 'deny' | 'implicit-deny' {
  const applies = (statement: PolicyStatementJson) => principalMatches(statement.Principal, request) && actionMatches(statement.Action, request.action) && conditionsHold(statement.Condition, request);
  if (policy.some((statement) => statement.Effect === 'Deny' && applies(statement))) return 'deny';
  if (policy.some((statement) => statement.Effect === 'Allow' && applies(statement))) return 'allow';
  return 'implicit-deny';
}

function principalMatches(principal: PolicyStatementJson['Principal'], request: Request): boolean {
  if (principal === '*') return true;
  const values = ([] as unknown[]).concat(principal.AWS ?? []);
  return values.some((value) => value === '*' || value === `arn:aws:iam::${request.account}:root` || value === request.principalArn);
}

function actionMatches(actions: string | string[], action: string): boolean {
  return ([] as string[]).concat(actions).some((pattern) => new RegExp(`^${pattern.replace(/\*/g, '.*')}$`).test(action));
}

function conditionsHold(conditions: PolicyStatementJson['Condition'], request: Request): boolean {
  for (const [operator, entries] of Object.entries(conditions ?? {})) {
    for (const [key, expected] of Object.entries(entries)) {
      const values = ([] as unknown[]).concat(expected).map(String);
      if (key === 'aws:PrincipalArn' && operator === 'ArnNotEquals') {
        if (values.includes(request.principalArn)) return false;
      } else if (key === 'aws:PrincipalArn' && operator === 'ArnEquals') {
        if (!values.includes(request.principalArn)) return false;
      } else if (key === 'kms:GrantIsForAWSResource' && operator === 'Bool') {
        if (values[0] !== String(request.grantIsForAwsResource ?? false)) return false;
      } else if (key === 'kms:GrantIsForAWSResource' && operator === 'BoolIfExists') {
        if (request.action === 'kms:CreateGrant' && values[0] !== String(request.grantIsForAwsResource ?? false)) return false;
      } else if (key === 'aws:PrincipalIsAWSService' && operator === 'BoolIfExists') {
        if (values[0] !== 'false') return false;
      } else {
        return false;
      }
    }
  }
  return true;
}
