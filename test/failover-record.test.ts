import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { FailoverRecord, type FailoverRecordProps } from '../constructs/failover-record';
import { testApp } from './support/synthesize';

/** A config with a domain: the path the committed environments (no domain) never synthesize. */
const DOMAIN = { hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'bodyscript.example', apiDomainName: 'api.bodyscript.example' };

function build(role: 'PRIMARY' | 'SECONDARY', overrides: Partial<FailoverRecordProps> = {}) {
  const stack = new Stack(testApp(), `Test${role}`, { env: { account: '111111111111', region: role === 'PRIMARY' ? 'us-east-1' : 'us-west-2' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'LoadBalancer', { vpc, internetFacing: true });
  new FailoverRecord(stack, 'Api', {
    zone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: DOMAIN.hostedZoneId, zoneName: DOMAIN.hostedZoneName }),
    recordName: DOMAIN.apiDomainName,
    role,
    loadBalancer,
    healthCheckPath: role === 'PRIMARY' ? '/health' : undefined,
    ...overrides,
  });
  return Template.fromStack(stack);
}

describe('FailoverRecord', () => {
  test('can be created as the PRIMARY alias of the api, with a health check of its load balancer', () => {
    const template = build('PRIMARY');
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: Match.objectLike({ Type: 'HTTPS', ResourcePath: '/health', RequestInterval: 30, FailureThreshold: 3, EnableSNI: true }),
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'api.bodyscript.example.',
      Type: 'A',
      HostedZoneId: DOMAIN.hostedZoneId,
      Failover: 'PRIMARY',
      SetIdentifier: 'api.bodyscript.example-primary',
      HealthCheckId: { Ref: Match.stringLikeRegexp('^ApiHealthCheck') },
      AliasTarget: Match.objectLike({ EvaluateTargetHealth: true }),
    });
  });

  test('can be created as the SECONDARY alias, relying on its load balancer target health', () => {
    const template = build('SECONDARY');
    template.resourceCountIs('AWS::Route53::HealthCheck', 0);
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'api.bodyscript.example.',
      Failover: 'SECONDARY',
      SetIdentifier: 'api.bodyscript.example-secondary',
      AliasTarget: Match.objectLike({ EvaluateTargetHealth: true }),
    });
  });

  test('fails when the PRIMARY has no health check (it would never fail over)', () => {
    expect(() => build('PRIMARY', { healthCheckPath: undefined })).toThrow(/PRIMARY record needs a healthCheckPath/);
  });
});
