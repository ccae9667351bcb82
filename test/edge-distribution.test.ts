import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { EdgeDistribution, type EdgeDistributionProps, SPA_ROUTING_FUNCTION } from '../constructs/edge-distribution';
import { testApp } from './support/synthesize';

function build(overrides: Partial<EdgeDistributionProps> = {}): Stack {
  const stack = new Stack(testApp(), 'Edge', { env: { account: '111111111111', region: 'us-east-1' } });
  new EdgeDistribution(stack, 'Edge', {
    frontendBucket: s3.Bucket.fromBucketAttributes(stack, 'Frontend', { bucketName: 'frontend', bucketRegionalDomainName: 'frontend.s3.us-east-1.amazonaws.com' }),
    apiOriginDomainName: 'api.bodyscript.example',
    apiOriginProtocol: 'https',
    logBucket: s3.Bucket.fromBucketAttributes(stack, 'Logs', { bucketName: 'cf-logs', bucketRegionalDomainName: 'cf-logs.s3.us-east-1.amazonaws.com' }),
    logPrefix: 'cloudfront/',
    certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:111111111111:certificate/abc'),
    domainNames: ['app.bodyscript.example'],
    hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'bodyscript.example' }),
    webAclName: 'test-edge',
    maxRequestsPerIpPer5Minutes: 500,
    logKey: new kms.Key(stack, 'Key'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    webAclLogGroupName: 'aws-waf-logs-test',
    ...overrides,
  });
  return stack;
}

/** Runs the SPA routing function on a URI, as CloudFront would. */
function route(uri: string): string {
  const handler = new Function(`${SPA_ROUTING_FUNCTION}; return handler;`)() as (e: { request: { uri: string } }) => { uri: string };
  return handler({ request: { uri } }).uri;
}

describe('EdgeDistribution', () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(build());
  });

  test('can be created with a custom certificate, TLSv1.2_2021, HTTP/2 and HTTP/3, and alias records', () => {
    const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
    expect(distribution.Properties.DistributionConfig).toMatchObject({
      Aliases: ['app.bodyscript.example'],
      HttpVersion: 'http2and3',
      ViewerCertificate: { AcmCertificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/abc', MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
      Logging: { Bucket: 'cf-logs.s3.us-east-1.amazonaws.com', Prefix: 'cloudfront/' },
    });
    template.resourcePropertiesCountIs('AWS::Route53::RecordSet', { Name: 'app.bodyscript.example.', Type: 'A' }, 1);
    template.resourcePropertiesCountIs('AWS::Route53::RecordSet', { Name: 'app.bodyscript.example.', Type: 'AAAA' }, 1);
  });

  test('reaches an https api origin with TLS 1.2 only', () => {
    const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
    const api = distribution.Properties.DistributionConfig.Origins.find((o: { DomainName: string }) => o.DomainName === 'api.bodyscript.example');
    expect(api.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', HTTPSPort: 443, OriginSSLProtocols: ['TLSv1.2'] });
  });

  test('rate-limits each IP to the given number of requests in five minutes', () => {
    const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL'));
    expect(acl.Properties.Rules[2].Statement.RateBasedStatement).toEqual({ Limit: 500, AggregateKeyType: 'IP', EvaluationWindowSec: 300 });
  });

  test.each([
    ['/', '/index.html'],
    ['/videos/42', '/index.html'],
    ['/assets/app.3f9a.js', '/assets/app.3f9a.js'],
    ['/favicon.ico', '/favicon.ico'],
  ])('routes %s to %s', (uri, expected) => {
    expect(route(uri)).toBe(expected);
  });

  test.each([
    ['domain names without a certificate', { certificate: undefined }, /domainNames need a certificate/],
    ['a hosted zone without domain names', { domainNames: undefined, certificate: undefined }, /hostedZone is only used for alias records of domainNames/],
    ['a WAF log group without the aws-waf-logs- prefix', { webAclLogGroupName: '/waf/test' }, /webAclLogGroupName must start with 'aws-waf-logs-'/],
    ['a rate limit below what AWS WAF accepts', { maxRequestsPerIpPer5Minutes: 5 }, /maxRequestsPerIpPer5Minutes must be an integer 10–2000000000/],
  ])('fails with %s', (_case, overrides, message) => {
    expect(() => build(overrides)).toThrow(message);
  });
});
