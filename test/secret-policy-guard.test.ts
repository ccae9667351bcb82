import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { guardSecretResourcePolicy } from '../lib/secret-policy-guard';
import { testApp } from './support/synthesize';

describe('guardSecretResourcePolicy', () => {
  const stack = () => new Stack(testApp(), 'Secrets', { env: { account: '111111111111', region: 'eu-west-1' } });

  test('denies policy changes to all but the break-glass role and CloudFormation, and deletion only when asked', () => {
    const scope = stack();
    guardSecretResourcePolicy(new secretsmanager.Secret(scope, 'Kept'), { denyDeletion: true });
    guardSecretResourcePolicy(new secretsmanager.Secret(scope, 'Deletable'), { denyDeletion: false, breakGlassRoleName: 'OtherBreakGlass' });
    const policies = Object.values(Template.fromStack(scope).findResources('AWS::SecretsManager::ResourcePolicy')).map((p) => p.Properties.ResourcePolicy.Statement);
    expect(policies.map((statements) => statements.map((s: { Sid: string }) => s.Sid))).toEqual([
      ['DenyPolicyChangesExceptBreakGlassAndCloudFormation', 'DenyDeletionExceptBreakGlass'],
      ['DenyPolicyChangesExceptBreakGlassAndCloudFormation'],
    ]);
    expect(policies[1][0].Condition.ArnNotEquals['aws:PrincipalArn']).toEqual([
      'arn:aws:iam::111111111111:role/OtherBreakGlass',
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::111111111111:role/cdk-hnb659fds-cfn-exec-role-111111111111-eu-west-1' },
    ]);
  });

  test('fails on an imported secret, whose policy this app does not own', () => {
    const scope = stack();
    const imported = secretsmanager.Secret.fromSecretNameV2(scope, 'Imported', 'someone/else');
    expect(() => guardSecretResourcePolicy(imported, { denyDeletion: true })).toThrow(/Secrets\/Imported has no resource policy of its own/);
  });
});
