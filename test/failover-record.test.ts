import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { FailoverRecord, type FailoverRecordProps, failoverSetIdentifier, recordInZone, regionalRecordName } from '../constructs/failover-record';
import { testApp } from './support/synthesize';

const DOMAIN = { hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'bodyscript.example', apiDomainName: 'api.bodyscript.example' };

function build(role: 'PRIMARY' | 'SECONDARY', overrides: Partial<FailoverRecordProps> = {}) {
  const stack = new Stack(testApp(), `Test${role}`, { env: { account: '111111111111', region: 'us-west-2' } });
  const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: DOMAIN.hostedZoneId, zoneName: DOMAIN.hostedZoneName });
  new FailoverRecord(stack, 'Api', {
    zone,
    recordName: DOMAIN.apiDomainName,
    role,
    target: recordInZone(zone, regionalRecordName(DOMAIN.apiDomainName, role === 'PRIMARY' ? 'us-east-1' : 'us-west-2')),
    healthCheckId: role === 'PRIMARY' ? 'hc-primary' : 'hc-recovery',
    ...overrides,
  });
  return Template.fromStack(stack);
}

describe('FailoverRecord', () => {
  test('can be created as the PRIMARY alias of a regional record of the zone, with the given health check and target health', () => {
    build('PRIMARY').hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'api.bodyscript.example.',
      Type: 'A',
      HostedZoneId: DOMAIN.hostedZoneId,
      Failover: 'PRIMARY',
      SetIdentifier: 'api.bodyscript.example-primary',
      HealthCheckId: 'hc-primary',
      AliasTarget: { DNSName: 'us-east-1.api.bodyscript.example', HostedZoneId: DOMAIN.hostedZoneId, EvaluateTargetHealth: true },
    });
  });

  test('can be created as the SECONDARY, with or without a health check of its own', () => {
    build('SECONDARY').hasResourceProperties('AWS::Route53::RecordSet', {
      Failover: 'SECONDARY',
      SetIdentifier: 'api.bodyscript.example-secondary',
      HealthCheckId: 'hc-recovery',
      AliasTarget: Match.objectLike({ DNSName: 'us-west-2.api.bodyscript.example', EvaluateTargetHealth: true }),
    });
    build('SECONDARY', { healthCheckId: undefined }).hasResourceProperties('AWS::Route53::RecordSet', { Failover: 'SECONDARY', HealthCheckId: Match.absent() });
  });

  test('fails when the PRIMARY has no health check (it would never fail over while its load balancer answers)', () => {
    expect(() => build('PRIMARY', { healthCheckId: undefined })).toThrow(/the PRIMARY record needs a healthCheckId/);
  });

  test('names the halves and the regional records the way the Region switch plan and ops dr status read them', () => {
    expect(failoverSetIdentifier('api.bodyscript.example', 'PRIMARY')).toBe('api.bodyscript.example-primary');
    expect(failoverSetIdentifier('api.bodyscript.example', 'SECONDARY')).toBe('api.bodyscript.example-secondary');
    expect(regionalRecordName('api.bodyscript.example', 'us-west-2')).toBe('us-west-2.api.bodyscript.example');
  });
});
