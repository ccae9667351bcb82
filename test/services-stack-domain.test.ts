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

  test('has alias records: the app name (A and AAAA) to CloudFront, the api name to its load balancer', () => {
    const records = Object.values(template.findResources('AWS::Route53::RecordSet')).map((r) => r.Properties);
    const summary = records.map((r) => `${r.Type} ${r.Name} ${JSON.stringify(r.AliasTarget.DNSName).includes('Distribution') ? 'cloudfront' : 'load-balancer'}`).sort();
    expect(summary).toEqual([`A ${DOMAIN.apiDomainName}. load-balancer`, `A ${DOMAIN.appDomainName}. cloudfront`, `AAAA ${DOMAIN.appDomainName}. cloudfront`]);
    for (const record of records) expect(record.HostedZoneId).toBe(DOMAIN.hostedZoneId);
  });

  test('the api record is the PRIMARY of a failover pair, with a health check calculated from the blue and green target groups', () => {
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: `${DOMAIN.apiDomainName}.`,
      Type: 'A',
      Failover: 'PRIMARY',
      SetIdentifier: `${DOMAIN.apiDomainName}-primary`,
      HealthCheckId: { Ref: Match.stringLikeRegexp('^ApiFailoverRecordHealthCheck') },
      AliasTarget: Match.objectLike({ EvaluateTargetHealth: true }),
    });
    const checks = Object.entries(template.findResources('AWS::Route53::HealthCheck')).map(([id, c]) => [id, c.Properties.HealthCheckConfig]);
    const calculated = checks.filter(([, c]) => c.Type === 'CALCULATED');
    expect(calculated).toHaveLength(1);
    expect(calculated[0][1]).toMatchObject({ HealthThreshold: 1, ChildHealthChecks: [{ Ref: expect.stringMatching(/^ApiFailoverRecordAlarmHealthCheck0/) }, { Ref: expect.stringMatching(/^ApiFailoverRecordAlarmHealthCheck1/) }] });
    const alarmChecks = checks.filter(([, c]) => c.Type === 'CLOUDWATCH_METRIC').map(([, c]) => c);
    expect(alarmChecks).toHaveLength(2);
    for (const [index, colour] of ['Blue', 'Green'].entries()) {
      // Region unreachable (insufficient data) counts as unhealthy: that is the regional outage.
      expect(alarmChecks[index]).toEqual({
        Type: 'CLOUDWATCH_METRIC',
        AlarmIdentifier: { Name: { Ref: expect.stringMatching(new RegExp(`^ApiFailoverNoHealthyTargets${colour}`)) }, Region: 'us-east-1' },
        InsufficientDataHealthStatus: 'Unhealthy',
        Inverted: false,
      });
    }
  });

  test('the health-check alarms are single-metric (as Route 53 requires) and the api-down composite pages the critical topic', () => {
    for (const colour of ['Blue', 'Green']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `BodyScript-Production-api-NoHealthyTargets-${colour}`,
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'HealthyHostCount',
        Statistic: 'Minimum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmName: 'BodyScript-Production-api-NoHealthyTargets',
      AlarmDescription: Match.stringLikeRegexp('Runbook: runbooks/disaster-recovery.md'),
      AlarmActions: [Match.anyValue()],
    });
  });

  test('the standby holds the SECONDARY record of the api name, pointing at its own api load balancer', () => {
    standby.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: `${DOMAIN.apiDomainName}.`,
      Type: 'A',
      HostedZoneId: DOMAIN.hostedZoneId,
      Failover: 'SECONDARY',
      SetIdentifier: `${DOMAIN.apiDomainName}-secondary`,
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
