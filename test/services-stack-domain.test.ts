import { Match, type Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../lib/config';
import { template as assemblyTemplate } from './support/assembly';

/**
 * Production is configured with a domain (required there): its services stack
 * and its standby, from the shared assembly.
 */
const DOMAIN = loadConfig().environments.production.domain!;

let template: Template;
let standby: Template;
beforeAll(() => {
  template = assemblyTemplate('BodyScript-Production-Services');
  standby = assemblyTemplate('BodyScript-Production-Standby');
});

/** Logical ID of the certificate for `name`. */
function certificateId(name: string): string {
  const [id] = Object.keys(template.findResources('AWS::CertificateManager::Certificate', { Properties: { DomainName: name } }));
  return id;
}

describe('the services stack with a domain', () => {
  test('has DNS-validated certificates for the api (load balancer) and the app (CloudFront, us-east-1) in the configured zone', () => {
    for (const name of [DOMAIN.apiDomainName, DOMAIN.appDomainName]) {
      template.hasResourceProperties('AWS::CertificateManager::Certificate', {
        DomainName: name,
        ValidationMethod: 'DNS',
        DomainValidationOptions: [{ DomainName: name, HostedZoneId: DOMAIN.hostedZoneId }],
      });
    }
  });

  test('the api production listener is HTTPS on 443 with the api certificate and a TLS 1.2+ policy; the test listener HTTPS on 8443', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      Certificates: [{ CertificateArn: { Ref: certificateId(DOMAIN.apiDomainName) } }],
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { ContentType: 'text/plain', MessageBody: 'Forbidden', StatusCode: '403' } }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 8443, Protocol: 'HTTPS' });
  });

  test('CloudFront serves the app name with the app certificate and TLSv1.2_2021, and reaches the api over HTTPS by its name', () => {
    const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
    const config = distribution.Properties.DistributionConfig;
    expect(config.Aliases).toEqual([DOMAIN.appDomainName]);
    expect(config.ViewerCertificate).toEqual({ AcmCertificateArn: { Ref: certificateId(DOMAIN.appDomainName) }, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' });
    const api = config.Origins.find((o: { DomainName: unknown }) => o.DomainName === DOMAIN.apiDomainName);
    expect(api.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', HTTPSPort: 443, OriginSSLProtocols: ['TLSv1.2'] });
  });

  test('has alias records: the app name (A and AAAA) to CloudFront, us-east-1.<api name> to its load balancer; the failover pair is not here', () => {
    const records = Object.values(template.findResources('AWS::Route53::RecordSet')).map((r) => r.Properties);
    const summary = records.map((r) => `${r.Type} ${r.Name} ${JSON.stringify(r.AliasTarget.DNSName).includes('Distribution') ? 'cloudfront' : 'load-balancer'}`).sort();
    expect(summary).toEqual([`A ${DOMAIN.appDomainName}. cloudfront`, `A us-east-1.${DOMAIN.apiDomainName}. load-balancer`, `AAAA ${DOMAIN.appDomainName}. cloudfront`]);
    for (const record of records) {
      expect(record.HostedZoneId).toBe(DOMAIN.hostedZoneId);
      expect(record.Failover).toBeUndefined();
    }
    template.hasResourceProperties('AWS::Route53::RecordSet', { Name: `us-east-1.${DOMAIN.apiDomainName}.`, AliasTarget: Match.objectLike({ EvaluateTargetHealth: true }) });
    // No alarm-calculated health check and no NoHealthyTargets alarms: the Region switch plan's checks decide.
    expect(Object.values(template.findResources('AWS::Route53::HealthCheck')).filter((c) => c.Properties.HealthCheckConfig.Type !== 'HTTPS')).toEqual([]);
    // (The rollback alarms' NoHealthyTargetForRequests stays: it watches requests, not Route 53.)
    const alarmNames = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmName as string);
    expect(alarmNames).toContain('BodyScript-Production-api-NoHealthyTargetForRequests');
    expect(alarmNames.filter((name) => /-NoHealthyTargets(-Blue|-Green)?$/.test(name))).toEqual([]);
    expect(Object.keys(template.findResources('AWS::CloudWatch::CompositeAlarm')).filter((id) => id.includes('ApiFailover'))).toEqual([]);
  });

  test("the standby holds the failover pair of the api name with the Region switch plan's health checks, and its own us-west-2 record", () => {
    const records = Object.values(standby.findResources('AWS::Route53::RecordSet')).map((r) => r.Properties);
    const pair = records
      .filter((r) => r.Name === `${DOMAIN.apiDomainName}.`)
      .map((r) => [r.Failover, r.SetIdentifier, r.AliasTarget.DNSName, r.AliasTarget.EvaluateTargetHealth, JSON.stringify(r.HealthCheckId)])
      .sort();
    expect(pair).toEqual([
      ['PRIMARY', `${DOMAIN.apiDomainName}-primary`, `us-east-1.${DOMAIN.apiDomainName}`, true, expect.stringMatching(/"Fn::Select":\[0,.*Route53HealthChecks\.HealthCheckIds/)],
      ['SECONDARY', `${DOMAIN.apiDomainName}-secondary`, `us-west-2.${DOMAIN.apiDomainName}`, true, expect.stringMatching(/"Fn::Select":\[1,.*Route53HealthChecks\.HealthCheckIds/)],
    ]);
    standby.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: `us-west-2.${DOMAIN.apiDomainName}.`,
      HostedZoneId: DOMAIN.hostedZoneId,
      AliasTarget: Match.objectLike({ EvaluateTargetHealth: true, DNSName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiLoadBalancer'), 'DNSName'] }])]) }) }),
    });
    standby.resourceCountIs('AWS::Route53::HealthCheck', 0);
  });

  test('the standby api listener is HTTPS with its own us-west-2 certificate of the api name, still behind the origin header', () => {
    standby.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: DOMAIN.apiDomainName,
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: DOMAIN.apiDomainName, HostedZoneId: DOMAIN.hostedZoneId }],
    });
    standby.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      DefaultActions: [Match.objectLike({ Type: 'fixed-response' })],
    });
  });

  test('the frontend and api canaries go to the app name, with Route 53 health checks every 30 seconds', () => {
    const canaries = Object.values(template.findResources('AWS::Synthetics::Canary')).map((c) => c.Properties.RunConfig.EnvironmentVariables.TARGET_URL);
    expect(canaries).toEqual(expect.arrayContaining([`https://${DOMAIN.appDomainName}/`, `https://${DOMAIN.appDomainName}/api/health`]));
    const checks = Object.values(template.findResources('AWS::Route53::HealthCheck'))
      .map((c) => c.Properties.HealthCheckConfig)
      .filter((c) => c.Type === 'HTTPS');
    expect(checks.map((c) => [c.FullyQualifiedDomainName, c.ResourcePath, c.RequestInterval]).sort()).toEqual([
      [DOMAIN.appDomainName, '/', 30],
      [DOMAIN.appDomainName, '/api/health', 30],
    ]);
  });
});
