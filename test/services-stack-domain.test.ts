import { Template } from 'aws-cdk-lib/assertions';
import { ENVIRONMENT_FILES, type EnvironmentConfigInput, loadConfig } from '../lib/config';
import { AlertingStack } from '../lib/stacks/alerting-stack';
import { DataStack } from '../lib/stacks/data-stack';
import { NetworkStack } from '../lib/stacks/network-stack';
import { ServicesStack } from '../lib/stacks/services-stack';
import { testApp } from './support/synthesize';

/**
 * The committed environments have no domain; this builds staging's services
 * stack with one (without the compliance gates, which the shared assembly runs).
 */
const DOMAIN = {
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  hostedZoneName: 'bodyscript.example',
  appDomainName: 'app.bodyscript.example',
  apiDomainName: 'api.bodyscript.example',
};

let template: Template;
beforeAll(() => {
  const environments: Record<string, EnvironmentConfigInput> = structuredClone({ ...ENVIRONMENT_FILES });
  (environments.staging as Record<string, unknown>).domain = DOMAIN;
  const config = loadConfig({}, { environments }).environments.staging;
  const app = testApp();
  const env = { account: config.primary.account, region: config.primary.region };
  const alerting = new AlertingStack(app, 'Alerting', { env, config });
  const network = new NetworkStack(app, 'Network', { env, config });
  const data = new DataStack(app, 'Data', { env, config, vpc: network.vpc });
  const services = new ServicesStack(app, 'Services', { env, config, alerting, network, data });
  template = Template.fromStack(services);
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

  test('the frontend and api canaries go to the app name, with Route 53 health checks every 30 seconds', () => {
    const canaries = Object.values(template.findResources('AWS::Synthetics::Canary')).map((c) => c.Properties.RunConfig.EnvironmentVariables.TARGET_URL);
    expect(canaries).toEqual(expect.arrayContaining([`https://${DOMAIN.appDomainName}/`, `https://${DOMAIN.appDomainName}/api/health`]));
    const checks = Object.values(template.findResources('AWS::Route53::HealthCheck')).map((c) => c.Properties.HealthCheckConfig);
    expect(checks.map((c) => [c.FullyQualifiedDomainName, c.ResourcePath, c.RequestInterval]).sort()).toEqual([
      [DOMAIN.appDomainName, '/', 30],
      [DOMAIN.appDomainName, '/api/health', 30],
    ]);
  });
});
