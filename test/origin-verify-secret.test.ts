import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { OriginVerifySecret } from '../constructs/origin-verify-secret';
import { testApp } from './support/synthesize';

describe('OriginVerifySecret', () => {
  const stack = new Stack(testApp(), 'Edge', { env: { account: '111111111111', region: 'us-east-1' } });
  const secret = new OriginVerifySecret(stack, 'OriginVerifySecret', {
    secretName: 'test/origin-verify',
    headerName: 'X-Origin-Verify',
    encryptionKey: new kms.Key(stack, 'Key'),
    replica: { region: 'us-west-2', encryptionKey: kms.Key.fromKeyArn(stack, 'StandbyKey', 'arn:aws:kms:us-west-2:111111111111:alias/test/standby') },
  });
  const template = Template.fromStack(stack);

  test('can be created as a random 48-character value without punctuation, replicated to the standby region, retained', () => {
    template.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Name: 'test/origin-verify',
        GenerateSecretString: { ExcludePunctuation: true, PasswordLength: 48 },
        ReplicaRegions: [{ Region: 'us-west-2', KmsKeyId: 'arn:aws:kms:us-west-2:111111111111:alias/test/standby' }],
      },
    });
  });

  test('keeps the logical ID of a secret created directly as `OriginVerifySecret` (its Default child)', () => {
    const reference = new Stack(testApp(), 'Reference');
    const direct = new secretsmanager.Secret(reference, 'OriginVerifySecret');
    expect(stack.getLogicalId(secret.secret.node.defaultChild as secretsmanager.CfnSecret)).toBe(reference.getLogicalId(direct.node.defaultChild as secretsmanager.CfnSecret));
  });

  test('lets only the break-glass role delete it, and only it and CloudFormation change its resource policy (review L8)', () => {
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: { Ref: stack.getLogicalId(secret.secret.node.defaultChild as secretsmanager.CfnSecret) },
      ResourcePolicy: {
        Statement: [
          {
            Sid: 'DenyPolicyChangesExceptBreakGlassAndCloudFormation',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: ['secretsmanager:DeleteResourcePolicy', 'secretsmanager:PutResourcePolicy'],
            Resource: '*',
            Condition: {
              ArnNotEquals: {
                'aws:PrincipalArn': [
                  'arn:aws:iam::111111111111:role/BodyScriptBreakGlass',
                  { 'Fn::Sub': 'arn:${AWS::Partition}:iam::111111111111:role/cdk-hnb659fds-cfn-exec-role-111111111111-us-east-1' },
                ],
              },
            },
          },
          {
            Sid: 'DenyDeletionExceptBreakGlass',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'secretsmanager:DeleteSecret',
            Resource: '*',
            Condition: { ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws:iam::111111111111:role/BodyScriptBreakGlass' } },
          },
        ],
      },
    });
  });

  test('hands out the value as a dynamic reference, never the value itself', () => {
    expect(stack.resolve(secret.headerValue)).toEqual({ 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: expect.stringMatching(/^OriginVerifySecret/) }, ':SecretString:::}}']] });
  });
});
