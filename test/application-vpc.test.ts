import { testApp } from './support/synthesize';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ApplicationVpc } from '../constructs/application-vpc';
import { limitedServiceTrustStatement } from './support/service-role-trust';

describe('ApplicationVpc', () => {
  test('fails when asked for more NAT gateways than availability zones', () => {
    const stack = new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
    expect(
      () =>
        new ApplicationVpc(stack, 'Vpc', {
          cidr: '10.0.0.0/16',
          maxAzs: 2,
          natGateways: 3,
          interfaceEndpoints: false,
          logKey: new kms.Key(stack, 'Key'),
          logRetention: logs.RetentionDays.ONE_YEAR,
        }),
    ).toThrow(/natGateways \(3\) must not exceed maxAzs \(2\)/);
  });
});

describe('ApplicationVpc flow logs', () => {
  test('let only flow logs of this account and region assume the delivery role (confused deputy, review L2)', () => {
    const stack = new Stack(testApp(), 'Network', { env: { account: '111111111111', region: 'us-east-1' } });
    new ApplicationVpc(stack, 'Network', {
      cidr: '10.0.0.0/16',
      maxAzs: 2,
      natGateways: 1,
      interfaceEndpoints: false,
      logKey: new kms.Key(stack, 'Key'),
      logRetention: logs.RetentionDays.ONE_YEAR,
    });
    const roles = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'vpc-flow-logs.amazonaws.com' } }] } } }));
    expect(roles.map((role) => role.Properties.AssumeRolePolicyDocument.Statement)).toEqual([
      [
        limitedServiceTrustStatement('vpc-flow-logs.amazonaws.com', '111111111111', 'arn:aws:ec2:us-east-1:111111111111:vpc-flow-log/*'),
      ],
    ]);
  });
});

describe('ApplicationVpc endpoint policies', () => {
  const stack = new Stack(testApp(), 'Network', { env: { account: '111111111111', region: 'us-east-1' } });
  new ApplicationVpc(stack, 'Network', {
    cidr: '10.0.0.0/16',
    maxAzs: 2,
    natGateways: 1,
    interfaceEndpoints: true,
    logKey: new kms.Key(stack, 'Key'),
    logRetention: logs.RetentionDays.ONE_YEAR,
  });
  const endpoints = Object.values(Template.fromStack(stack).findResources('AWS::EC2::VPCEndpoint'));
  const gateway = endpoints.find((e) => e.Properties.VpcEndpointType === 'Gateway')!;
  const interfaces = endpoints.filter((e) => e.Properties.VpcEndpointType === 'Interface');
  const own = '111111111111';
  const attacker = '999999999999';

  test.each([
    ['a task reads an object of its own bucket', true, { principalAccount: own, resourceAccount: own, action: 's3:GetObject', resource: 'arn:aws:s3:::bodyscript-staging-uploads/video.mp4' }],
    ['a task writes to a bucket of another account (exfiltration)', false, { principalAccount: own, resourceAccount: attacker, action: 's3:PutObject', resource: 'arn:aws:s3:::attacker-drop/loot' }],
    ['attacker credentials used from inside the VPC', false, { principalAccount: attacker, resourceAccount: attacker, action: 's3:PutObject', resource: 'arn:aws:s3:::attacker-drop/loot' }],
    ['ECS pulls an image layer of this region', true, { principalAccount: own, resourceAccount: 'aws', action: 's3:GetObject', resource: 'arn:aws:s3:::prod-us-east-1-starport-layer-bucket/layer' }],
    ['a write to the ECR layer bucket', false, { principalAccount: own, resourceAccount: 'aws', action: 's3:PutObject', resource: 'arn:aws:s3:::prod-us-east-1-starport-layer-bucket/layer' }],
  ] as const)('S3 gateway endpoint: %s → allowed: %s', (_what, allowed, request) => {
    expect(allows(gateway.Properties.PolicyDocument, request)).toBe(allowed);
  });

  test('the interface endpoints (ECR, ECR docker, Logs, Secrets Manager) admit this account\'s principals only', () => {
    expect(interfaces).toHaveLength(4);
    for (const endpoint of interfaces) {
      expect(allows(endpoint.Properties.PolicyDocument, { principalAccount: own, resourceAccount: own, action: 'secretsmanager:GetSecretValue', resource: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:x' })).toBe(true);
      expect(allows(endpoint.Properties.PolicyDocument, { principalAccount: attacker, resourceAccount: attacker, action: 'logs:PutLogEvents', resource: '*' })).toBe(false);
    }
  });
});

interface EndpointRequest {
  readonly principalAccount: string;
  readonly resourceAccount: string;
  readonly action: string;
  readonly resource: string;
}

/**
 * A VPC endpoint policy's verdict (IAM evaluation: no Deny statements here,
 * so a request passes when an Allow statement matches principal, action,
 * resource and every condition; the endpoint refuses everything else).
 * Conditions this model does not know make a statement not match.
 */
function allows(document: { Statement: Array<Record<string, unknown>> }, request: EndpointRequest): boolean {
  const wildcard = (pattern: string, value: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(value);
  const resolve = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value).includes('AWS::Partition') ? JSON.stringify(value).replace(/.*?"arn:",\{"Ref":"AWS::Partition"\},"(.*)"\]\]\}$/, 'arn:aws$1') : String(value));
  const contextValue = (key: string) => ({ 'aws:PrincipalAccount': request.principalAccount, 'aws:ResourceAccount': request.resourceAccount })[key];
  return document.Statement.some((statement) => {
    if (statement.Effect !== 'Allow' || JSON.stringify(statement.Principal) !== '{"AWS":"*"}') return false;
    const actions = ([] as unknown[]).concat(statement.Action).map(String);
    const resources = ([] as unknown[]).concat(statement.Resource).map(resolve);
    if (!actions.some((a) => wildcard(a, request.action)) || !resources.some((r) => wildcard(r, request.resource))) return false;
    return Object.entries((statement.Condition ?? {}) as Record<string, Record<string, string>>).every(
      ([operator, entries]) => operator === 'StringEquals' && Object.entries(entries).every(([key, value]) => contextValue(key) === value),
    );
  });
}
