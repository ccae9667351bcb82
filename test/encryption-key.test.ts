import { testApp } from './support/synthesize';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EncryptionKey } from '../constructs/encryption-key';

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

  test.each(['bodyscript/data', 'alias/aws/s3'])('fails on the alias %s', (alias) => {
    expect(() => new EncryptionKey(newStack(), 'K', { alias, description: 'x' })).toThrow(/alias must start with 'alias\/' and not 'alias\/aws\/'/);
  });
});
