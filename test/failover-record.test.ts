import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
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
    expect(() => build('PRIMARY', { healthCheckPath: undefined })).toThrow(/PRIMARY record needs a healthCheckPath or healthCheckAlarms/);
  });

  test('can be created as a PRIMARY whose health is calculated from alarms (healthy while one is OK, unreachable CloudWatch is unhealthy)', () => {
    const stack = new Stack(testApp(), 'TestAlarms', { env: { account: '111111111111', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
    const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'LoadBalancer', { vpc, internetFacing: true });
    new FailoverRecord(stack, 'Api', {
      zone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: DOMAIN.hostedZoneId, zoneName: DOMAIN.hostedZoneName }),
      recordName: DOMAIN.apiDomainName,
      role: 'PRIMARY',
      loadBalancer,
      healthCheckAlarms: [cloudwatch.Alarm.fromAlarmName(stack, 'Blue', 'blue-down'), cloudwatch.Alarm.fromAlarmName(stack, 'Green', 'green-down')],
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Route53::HealthCheck', 3);
    for (const name of ['blue-down', 'green-down']) {
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: { Type: 'CLOUDWATCH_METRIC', AlarmIdentifier: { Name: name, Region: 'us-east-1' }, InsufficientDataHealthStatus: 'Unhealthy' },
      });
    }
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: { Type: 'CALCULATED', HealthThreshold: 1, ChildHealthChecks: [{ Ref: Match.stringLikeRegexp('^ApiAlarmHealthCheck0') }, { Ref: Match.stringLikeRegexp('^ApiAlarmHealthCheck1') }] },
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', { Failover: 'PRIMARY', HealthCheckId: { Ref: Match.stringLikeRegexp('^ApiHealthCheck') } });
  });

  test('fails when given both a health check path and alarms', () => {
    expect(() => build('PRIMARY', { healthCheckAlarms: [cloudwatch.Alarm.fromAlarmName(new Stack(), 'A', 'a')] })).toThrow(/either healthCheckPath or healthCheckAlarms, not both/);
  });
});
