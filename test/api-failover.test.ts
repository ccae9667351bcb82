import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { ApiFailover } from '../constructs/api-failover';
import { testApp } from './support/synthesize';

function build(region = 'us-west-2') {
  const stack = new Stack(testApp(), 'Standby', { env: { account: '111111111111', region } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'LoadBalancer', { vpc, internetFacing: true });
  new ApiFailover(stack, 'ApiFailover', {
    zone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z123', zoneName: 'example.com' }),
    recordName: 'api.example.com',
    primaryRegion: 'us-east-1',
    loadBalancer,
    healthCheckIds: { primary: 'hc-primary', standby: 'hc-recovery' },
  });
  return Template.fromStack(stack);
}

describe('ApiFailover', () => {
  const template = build();
  const records = () => Object.values(template.findResources('AWS::Route53::RecordSet')).map((r) => r.Properties);

  test("creates this region's record of the api: an alias to its load balancer, evaluated for target health", () => {
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'us-west-2.api.example.com.',
      Type: 'A',
      Failover: Match.absent(),
      AliasTarget: Match.objectLike({ EvaluateTargetHealth: true, DNSName: Match.objectLike({ 'Fn::Join': Match.anyValue() }) }),
    });
  });

  test("creates the pair of the api name with the plan's health checks: PRIMARY to us-east-1's record, SECONDARY to this region's", () => {
    const pair = records()
      .filter((r) => r.Name === 'api.example.com.')
      .map((r) => [r.Failover, r.SetIdentifier, r.HealthCheckId, r.AliasTarget.DNSName, r.AliasTarget.HostedZoneId, r.AliasTarget.EvaluateTargetHealth])
      .sort();
    expect(pair).toEqual([
      ['PRIMARY', 'api.example.com-primary', 'hc-primary', 'us-east-1.api.example.com', 'Z123', true],
      ['SECONDARY', 'api.example.com-secondary', 'hc-recovery', 'us-west-2.api.example.com', 'Z123', true],
    ]);
  });

  test('creates no health check and no alarm of its own: the plan owns the checks (no alarm-calculated check any more)', () => {
    template.resourceCountIs('AWS::Route53::HealthCheck', 0);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
  });

  test('the SECONDARY waits for the regional record it aliases', () => {
    const [[, secondary]] = Object.entries(template.findResources('AWS::Route53::RecordSet', { Properties: { Failover: 'SECONDARY' } }));
    expect(secondary.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^ApiFailoverRegionalRecord/)]));
  });

  test("refuses the primary region's stack", () => {
    expect(() => build('us-east-1')).toThrow(/belongs in the standby region's stack/);
  });
});
