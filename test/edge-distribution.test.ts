import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { EdgeDistribution, type EdgeDistributionProps, FRONTEND_FAILOVER_STATUS_CODES, SPA_ROUTING_FUNCTION } from '../constructs/edge-distribution';
import { WEB_ACL_INCLUDED_CAPACITY } from '../lib/waf-rules';
import { testApp } from './support/synthesize';

/**
 * Builds the construct. `standby` chooses the standby frontend bucket: the
 * replica in us-west-2, none, or (wrongly) the primary bucket itself.
 */
function build(overrides: Partial<EdgeDistributionProps> = {}, standby: 'replica' | 'none' | 'same' = 'replica'): { stack: Stack; edge: EdgeDistribution } {
  const stack = new Stack(testApp(), 'Edge', { env: { account: '111111111111', region: 'us-east-1' } });
  const frontendBucket = s3.Bucket.fromBucketAttributes(stack, 'Frontend', { bucketName: 'frontend', bucketRegionalDomainName: 'frontend.s3.us-east-1.amazonaws.com' });
  const standbyFrontendBucket = {
    replica: s3.Bucket.fromBucketAttributes(stack, 'StandbyFrontend', { bucketName: 'frontend-replica', region: 'us-west-2' }),
    none: undefined,
    same: frontendBucket,
  }[standby];
  // An internal load balancer for the VPC-origin case (used when the override leaves apiOriginDomainName out).
  const apiLoadBalancer =
    'apiOriginDomainName' in overrides && overrides.apiOriginDomainName === undefined && !('apiLoadBalancer' in overrides)
      ? new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 }), internetFacing: false })
      : undefined;
  const edge = new EdgeDistribution(stack, 'Edge', {
    apiLoadBalancer,
    frontendBucket,
    standbyFrontendBucket,
    apiOriginDomainName: 'api.bodyscript.example',
    logBucket: s3.Bucket.fromBucketAttributes(stack, 'Logs', { bucketName: 'cf-logs', bucketRegionalDomainName: 'cf-logs.s3.us-east-1.amazonaws.com' }),
    logPrefix: 'cloudfront/',
    certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:111111111111:certificate/abc'),
    domainNames: ['app.bodyscript.example'],
    hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'bodyscript.example' }),
    webAclName: 'test-edge',
    maxRequestsPerIpPer5Minutes: 500,
    maxApiRequestsPerIpPer5Minutes: 200,
    logKey: new kms.Key(stack, 'Key'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    webAclLogGroupName: 'aws-waf-logs-test',
    ...overrides,
  });
  return { stack, edge };
}

/** Rule ids acknowledged on a construct (Validations.of(x).acknowledge). */
function acknowledgedRules(edge: EdgeDistribution): string[] {
  return edge.distribution.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').flatMap((m) => Object.keys(m.data as Record<string, string>));
}

/** Runs the SPA routing function on a URI, as CloudFront would. */
function route(uri: string): string {
  const handler = new Function(`${SPA_ROUTING_FUNCTION}; return handler;`)() as (e: { request: { uri: string } }) => { uri: string };
  return handler({ request: { uri } }).uri;
}

type Origin = { Id: string; DomainName: string; OriginAccessControlId?: unknown };

describe('EdgeDistribution', () => {
  let built: { stack: Stack; edge: EdgeDistribution };
  let template: Template;
  beforeAll(() => {
    built = build();
    template = Template.fromStack(built.stack);
  });

  test('serves the web app from an origin group: the primary bucket, then the standby replica, both through origin access control', () => {
    const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
    const config = distribution.Properties.DistributionConfig;
    expect(config.OriginGroups.Quantity).toBe(1);
    const [group] = config.OriginGroups.Items;
    expect(config.DefaultCacheBehavior.TargetOriginId).toBe(group.Id);
    expect(group.FailoverCriteria.StatusCodes).toEqual({ Items: [403, 404, 500, 502, 503, 504], Quantity: 6 });
    expect(FRONTEND_FAILOVER_STATUS_CODES).toEqual([403, 404, 500, 502, 503, 504]);
    expect(group.Members.Quantity).toBe(2);
    const [primary, secondary] = group.Members.Items.map((m: { OriginId: string }) => config.Origins.find((o: Origin) => o.Id === m.OriginId) as Origin);
    expect(primary.DomainName).toBe('frontend.s3.us-east-1.amazonaws.com');
    expect(secondary.DomainName).toBe('frontend-replica.s3.us-west-2.amazonaws.com');
    const oacs = Object.keys(template.findResources('AWS::CloudFront::OriginAccessControl'));
    expect(oacs).toHaveLength(2);
    for (const origin of [primary, secondary]) {
      expect(origin).toMatchObject({ S3OriginConfig: { OriginAccessIdentity: '' }, OriginAccessControlId: { 'Fn::GetAtt': [expect.any(String), 'Id'] } });
    }
    expect(new Set([primary, secondary].map((o) => (o.OriginAccessControlId as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]))).toEqual(new Set(oacs));
  });

  test('keeps the SPA routing function and the security headers on the origin-group behavior, and /api/* on its single origin', () => {
    const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
    const config = distribution.Properties.DistributionConfig;
    expect(config.DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: 'redirect-to-https',
      FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [expect.stringMatching(/^EdgeSpaRouting/), 'FunctionARN'] } }],
      ResponseHeadersPolicyId: { Ref: expect.stringMatching(/^EdgeSecurityHeaders/) },
    });
    const api = config.CacheBehaviors.find((b: { PathPattern: string }) => b.PathPattern === '/api/*');
    expect(config.Origins.find((o: Origin) => o.Id === api.TargetOriginId).DomainName).toBe('api.bodyscript.example');
  });

  test('acknowledges the imported-bucket-policy warning of both S3 origins and needs no origin-failover acknowledgement', () => {
    Annotations.fromStack(built.stack).hasNoWarning('*', Match.stringLikeRegexp('Cannot update bucket policy of an imported bucket'));
    expect(acknowledgedRules(built.edge)).not.toContain('cdk-validator-cfnguard::cloudfront_origin_failover_enabled_check');
  });

  test('without a standby bucket serves the web app from the primary bucket alone and acknowledges the missing failover', () => {
    const single = build({}, 'none');
    const [distribution] = Object.values(Template.fromStack(single.stack).findResources('AWS::CloudFront::Distribution'));
    const config = distribution.Properties.DistributionConfig;
    expect(config.OriginGroups).toBeUndefined();
    expect(config.Origins.find((o: Origin) => o.Id === config.DefaultCacheBehavior.TargetOriginId).DomainName).toBe('frontend.s3.us-east-1.amazonaws.com');
    expect(acknowledgedRules(single.edge)).toContain('cdk-validator-cfnguard::cloudfront_origin_failover_enabled_check');
    Annotations.fromStack(single.stack).hasNoWarning('*', Match.stringLikeRegexp('Cannot update bucket policy of an imported bucket'));
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
    const rate = acl.Properties.Rules.find((r: { Name: string }) => r.Name === 'RateLimitPerIp');
    expect(rate).toMatchObject({ Priority: 3, Action: { Block: {} } });
    expect(rate.Statement.RateBasedStatement).toEqual({ Limit: 500, AggregateKeyType: 'IP', EvaluationWindowSec: 300 });
  });

  test('rate-limits each IP on /api/ more tightly, counting only its /api/ requests (review M6)', () => {
    const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL'));
    const rate = acl.Properties.Rules.find((r: { Name: string }) => r.Name === 'RateLimitApiPerIp');
    expect(rate).toMatchObject({ Priority: 4, Action: { Block: {} }, VisibilityConfig: { MetricName: 'RateLimitApiPerIp' } });
    expect(rate.Statement.RateBasedStatement).toEqual({
      Limit: 200,
      AggregateKeyType: 'IP',
      EvaluationWindowSec: 300,
      ScopeDownStatement: { ByteMatchStatement: { FieldToMatch: { UriPath: {} }, PositionalConstraint: 'STARTS_WITH', SearchString: '/api/', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
    });
  });

  test('keeps the web ACL within the capacity a web ACL includes, counting both rate rules and both scope-downs', () => {
    const { edge } = build();
    // 1,175 for the managed groups, 2 for the whole-site rate rule, 2 + 12 for the /api/ one, 12 for Bot Control's scope-down.
    expect(edge.webAclCapacity).toBe(1203);
    expect(edge.webAclCapacity).toBeLessThanOrEqual(WEB_ACL_INCLUDED_CAPACITY);
  });

  test('runs IP reputation, common and known-bad-inputs rules blocking, SQL injection and Bot Control (on /api/ only) counting first', () => {
    const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL'));
    const rules = acl.Properties.Rules as { Name: string; Priority: number; OverrideAction?: Record<string, unknown>; Statement: { ManagedRuleGroupStatement?: Record<string, unknown> } }[];
    expect(rules.map((r) => [r.Priority, r.Name, r.OverrideAction && Object.keys(r.OverrideAction)[0]])).toEqual([
      [0, 'AWSManagedRulesAmazonIpReputationList', 'None'],
      [1, 'AWSManagedRulesCommonRuleSet', 'None'],
      [2, 'AWSManagedRulesKnownBadInputsRuleSet', 'None'],
      [3, 'RateLimitPerIp', undefined],
      [4, 'RateLimitApiPerIp', undefined],
      [5, 'AWSManagedRulesSQLiRuleSet', 'Count'],
      [6, 'AWSManagedRulesBotControlRuleSet', 'Count'],
    ]);
    expect(rules[6].Statement.ManagedRuleGroupStatement).toMatchObject({
      VendorName: 'AWS',
      ManagedRuleGroupConfigs: [{ AWSManagedRulesBotControlRuleSet: { InspectionLevel: 'COMMON' } }],
      ScopeDownStatement: { ByteMatchStatement: { FieldToMatch: { UriPath: {} }, PositionalConstraint: 'STARTS_WITH', SearchString: '/api/' } },
    });
    for (const rule of [...rules.slice(0, 3), rules[5]]) expect(rule.Statement.ManagedRuleGroupStatement?.ScopeDownStatement).toBeUndefined();
  });

  test('can reach the api privately through a VPC origin of an internal load balancer (HTTP inside the AWS network)', () => {
    const { stack } = build({ apiOriginDomainName: undefined, apiVpcOriginName: 'test-api-us-east-1' });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudFront::VpcOrigin', {
      VpcOriginEndpointConfig: { Name: 'test-api-us-east-1', Arn: { Ref: Match.stringLikeRegexp('^Alb') }, HTTPPort: 80, OriginProtocolPolicy: 'http-only' },
    });
    const [distribution] = Object.values(t.findResources('AWS::CloudFront::Distribution'));
    const config = distribution.Properties.DistributionConfig;
    const api = config.Origins.find((o: Origin) => o.Id === config.CacheBehaviors.find((b: { PathPattern: string }) => b.PathPattern === '/api/*').TargetOriginId);
    expect(api).toMatchObject({ VpcOriginConfig: { VpcOriginId: { 'Fn::GetAtt': [expect.stringMatching(/VpcOrigin/), 'Id'] } } });
    expect(api.CustomOriginConfig).toBeUndefined();
  });

  test.each([
    ['neither an api name nor a load balancer', { apiOriginDomainName: undefined, apiLoadBalancer: undefined }, /give exactly one of apiOriginDomainName/],
    ['a VPC origin name without a load balancer', { apiVpcOriginName: 'x' }, /apiVpcOriginName names the VPC origin of apiLoadBalancer/],
  ])('fails with %s', (_case, overrides, message) => {
    expect(() => build(overrides as Partial<EdgeDistributionProps>)).toThrow(message);
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
    ['an /api/ rate limit looser than the whole site\'s', { maxApiRequestsPerIpPer5Minutes: 501 }, /maxApiRequestsPerIpPer5Minutes must be an integer from 10 \(AWS WAF's lowest limit\) to maxRequestsPerIpPer5Minutes \(500: the \/api\/ limit is the tighter one\), got 501/],
    ['an /api/ rate limit below what AWS WAF accepts', { maxApiRequestsPerIpPer5Minutes: 9 }, /maxApiRequestsPerIpPer5Minutes must be an integer from 10 .* got 9/],
    ['an /api/ rate limit that is not a whole number', { maxApiRequestsPerIpPer5Minutes: 100.5 }, /maxApiRequestsPerIpPer5Minutes must be an integer .* got 100\.5/],
  ])('fails with %s', (_case, overrides, message) => {
    expect(() => build(overrides)).toThrow(message);
  });

  test('fails when the standby frontend bucket is the primary bucket itself', () => {
    expect(() => build({}, 'same')).toThrow(/standbyFrontendBucket must be the replica of frontendBucket in another region, not the same bucket 'frontend'/);
  });
});
