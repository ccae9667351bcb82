import { Annotations, Duration } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import {
  API_RATE_LIMIT_PER_IP_PER_5_MINUTES,
  BOT_CONTROL,
  capacityOf,
  EDGE_RULE_GROUPS,
  managedRuleGroupRule,
  PATH_PREFIX_MATCH_CAPACITY,
  pathPrefixStatement,
  RATE_BASED_RULE_CAPACITY,
  RATE_LIMIT_BOUNDS,
  visibility,
  WEB_ACL_INCLUDED_CAPACITY,
} from '../lib/waf-rules';

/** Path pattern that CloudFront sends to the api instead of the frontend bucket. */
export const API_PATH_PATTERN = '/api/*';

/** The api's requests start with this path (the prefix of API_PATH_PATTERN). */
export const API_PATH_PREFIX = '/api/';

/** Sources the web app may talk to besides itself: Sentry's ingest and Google Analytics. */
export const SENTRY_INGEST = 'https://*.ingest.sentry.io';
export const GOOGLE_ANALYTICS = ['https://www.googletagmanager.com', 'https://www.google-analytics.com'];

/**
 * Rewrites a request for an application route (a path without a file
 * extension, e.g. `/videos/42`) to `/index.html`, so the React router handles
 * it. Done here on the frontend behavior only, rather than with
 * distribution-wide 403/404 error responses, which would also turn the api's
 * own 403/404 answers into a 200 with the HTML page.
 */
export const SPA_ROUTING_FUNCTION = `function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}`;

/**
 * Answers of the primary frontend bucket on which CloudFront retries the
 * request on the standby replica. 403 and 404 included: with origin access
 * control and no s3:ListBucket, S3 answers 403 for a missing object, so an
 * object the primary lost (or has not yet received) is fetched from the replica.
 */
export const FRONTEND_FAILOVER_STATUS_CODES = [403, 404, 500, 502, 503, 504];

/**
 * Properties of an EdgeDistribution.
 */
export interface EdgeDistributionProps {
  /**
   * Bucket with the built web app. Pass a reference imported by name when the
   * bucket lives in another stack: its bucket policy must then allow
   * `cloudfront.amazonaws.com` itself (origin access control), because a
   * policy naming this distribution would make the two stacks a cycle.
   */
  readonly frontendBucket: s3.IBucket;
  /**
   * Replica of `frontendBucket` in the standby region, the web app's second
   * origin: CloudFront asks it when the primary answers one of
   * FRONTEND_FAILOVER_STATUS_CODES or cannot be reached. Import it by name and
   * region (`s3.Bucket.fromBucketAttributes`), never by a cross-region
   * reference; its bucket policy must allow `cloudfront.amazonaws.com` through
   * origin access control, like the primary's.
   *
   * @default - the web app has one origin and no origin failover
   */
  readonly standbyFrontendBucket?: s3.IBucket;
  /**
   * Name CloudFront connects to for `/api/*` over HTTPS (TLS 1.2): the api's
   * own domain name, which Route 53 answers with the load balancer of the
   * region in service and whose certificate each of them holds. Give this or
   * `apiLoadBalancer`.
   *
   * @default - the api is reached through a VPC origin of `apiLoadBalancer`
   */
  readonly apiOriginDomainName?: string;
  /**
   * Internal load balancer of the api, reached through a CloudFront VPC origin
   * (HTTP on port 80 inside the AWS network; the load balancer has no public
   * address at all). Give this or `apiOriginDomainName`.
   *
   * @default - the api is reached at `apiOriginDomainName`
   */
  readonly apiLoadBalancer?: elbv2.IApplicationLoadBalancer;
  /**
   * Name of the VPC origin of `apiLoadBalancer` (unique in the account), by
   * which operators find it.
   *
   * @default - a name CloudFormation generates
   */
  readonly apiVpcOriginName?: string;
  /**
   * Headers CloudFront adds to every api request, e.g. the secret origin header
   * the load balancer requires.
   *
   * @default - none
   */
  readonly apiOriginHeaders?: Record<string, string>;
  /** Bucket of the standard access logs (ACLs enabled: CloudFront writes its logs with an ACL). */
  readonly logBucket: s3.IBucket;
  /** Key prefix of the access logs. */
  readonly logPrefix: string;
  /**
   * Certificate (in us-east-1) for `domainNames`.
   *
   * @default - the CloudFront default certificate and domain (*.cloudfront.net)
   */
  readonly certificate?: acm.ICertificate;
  /**
   * Names users type, e.g. `app.bodyscript.example`; requires `certificate`.
   *
   * @default - none
   */
  readonly domainNames?: string[];
  /**
   * Hosted zone in which to create alias (A and AAAA) records for `domainNames`.
   *
   * @default - no records
   */
  readonly hostedZone?: route53.IHostedZone;
  /** Name of the web ACL. */
  readonly webAclName: string;
  /**
   * Requests one IP address may make in five minutes before it is blocked.
   *
   * @default 2000
   */
  readonly maxRequestsPerIpPer5Minutes?: number;
  /**
   * Requests to `/api/` one IP address may make in five minutes before its api
   * requests are blocked: tighter than `maxRequestsPerIpPer5Minutes`, which
   * counts the web app's static files too, and every api request reaches the
   * tasks and the database (security review M6). At most that limit.
   *
   * @default API_RATE_LIMIT_PER_IP_PER_5_MINUTES (1000)
   */
  readonly maxApiRequestsPerIpPer5Minutes?: number;
  /**
   * Further origins the web app may call, fetch media from and show images from
   * (e.g. presigned S3 upload and download hosts), as `https://host` sources.
   *
   * @default - none
   */
  readonly additionalConnectSources?: string[];
  /** Key that encrypts the WAF log group. */
  readonly logKey: kms.IKey;
  /** Retention of the WAF log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Name of the WAF log group; AWS WAF requires the `aws-waf-logs-` prefix.
   */
  readonly webAclLogGroupName: string;
}

/**
 * The CloudFront distribution in front of BodyScript: the web app from a
 * private bucket through origin access control (with SPA routing), failing
 * over to the bucket's standby-region replica when one is given, `/api/*`
 * to the api load balancer, HTTP/2 and HTTP/3, compression, TLS 1.2 (2021
 * policy) with a custom certificate, standard access logs, a response headers
 * policy (HSTS, frame options DENY, nosniff, referrer policy, Content Security
 * Policy), and an AWS WAF web ACL (AWS managed common and known-bad-inputs
 * rules, rate limits per IP on everything and, tighter, on `/api/`) that logs to an
 * encrypted log group.
 */
export class EdgeDistribution extends Construct {
  /** The distribution. */
  public readonly distribution: cloudfront.Distribution;
  /** The web ACL (scope CLOUDFRONT, so it must be in us-east-1). */
  public readonly webAcl: wafv2.CfnWebACL;
  /** Web ACL capacity units its rules use (AWS's published figures, lib/waf-rules.ts); at most WEB_ACL_INCLUDED_CAPACITY. */
  public readonly webAclCapacity: number;
  /** Log group of the web ACL's decisions. */
  public readonly webAclLogGroup: logs.LogGroup;
  /** Security headers on every response. */
  public readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;
  /** The SPA routing function of the frontend behavior. */
  public readonly spaRoutingFunction: cloudfront.Function;
  /** The Content-Security-Policy header value. */
  public readonly contentSecurityPolicy: string;

  constructor(scope: Construct, id: string, props: EdgeDistributionProps) {
    super(scope, id);
    if ((props.apiOriginDomainName === undefined) === (props.apiLoadBalancer === undefined)) {
      throw new Error(`EdgeDistribution ${this.node.path}: give exactly one of apiOriginDomainName (HTTPS to the api's own name) and apiLoadBalancer (a VPC origin of an internal load balancer)`);
    }
    if (props.apiVpcOriginName !== undefined && !props.apiLoadBalancer) {
      throw new Error(`EdgeDistribution ${this.node.path}: apiVpcOriginName names the VPC origin of apiLoadBalancer; give apiLoadBalancer too`);
    }
    if (props.domainNames?.length && !props.certificate) {
      throw new Error(`EdgeDistribution ${this.node.path}: domainNames need a certificate that covers them`);
    }
    if (props.hostedZone && !props.domainNames?.length) {
      throw new Error(`EdgeDistribution ${this.node.path}: hostedZone is only used for alias records of domainNames; give domainNames too`);
    }
    if (props.standbyFrontendBucket && props.standbyFrontendBucket.bucketName === props.frontendBucket.bucketName) {
      throw new Error(`EdgeDistribution ${this.node.path}: standbyFrontendBucket must be the replica of frontendBucket in another region, not the same bucket '${props.frontendBucket.bucketName}'`);
    }
    if (!props.webAclLogGroupName.startsWith('aws-waf-logs-')) {
      throw new Error(`EdgeDistribution ${this.node.path}: webAclLogGroupName must start with 'aws-waf-logs-' (AWS WAF refuses other log groups), got '${props.webAclLogGroupName}'`);
    }
    const rateLimit = props.maxRequestsPerIpPer5Minutes ?? 2000;
    if (!Number.isInteger(rateLimit) || rateLimit < RATE_LIMIT_BOUNDS.min || rateLimit > RATE_LIMIT_BOUNDS.max) {
      throw new Error(`EdgeDistribution ${this.node.path}: maxRequestsPerIpPer5Minutes must be an integer 10–2000000000 (AWS WAF's bounds), got ${rateLimit}`);
    }
    const apiRateLimit = props.maxApiRequestsPerIpPer5Minutes ?? API_RATE_LIMIT_PER_IP_PER_5_MINUTES;
    if (!Number.isInteger(apiRateLimit) || apiRateLimit < RATE_LIMIT_BOUNDS.min || apiRateLimit > rateLimit) {
      throw new Error(
        `EdgeDistribution ${this.node.path}: maxApiRequestsPerIpPer5Minutes must be an integer from ${RATE_LIMIT_BOUNDS.min} (AWS WAF's lowest limit) to maxRequestsPerIpPer5Minutes (${rateLimit}: the /api/ limit is the tighter one), got ${apiRateLimit}`,
      );
    }

    // --- Web ACL ---------------------------------------------------------
    // Managed groups in the modes lib/waf-rules.ts states (count first where
    // they could block real users), the rate limit after the cheap IP lists.
    const [ipReputation, ...inspection] = EDGE_RULE_GROUPS;
    const rateLimitRule: wafv2.CfnWebACL.RuleProperty = {
      name: 'RateLimitPerIp',
      priority: 3,
      action: { block: {} },
      statement: { rateBasedStatement: { limit: rateLimit, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
      visibilityConfig: visibility('RateLimitPerIp'),
    };
    // Every api request reaches the tasks and the database: a tighter limit there,
    // counted only on /api/ (an IP that loads the app's files is not charged for them).
    const apiRateLimitRule: wafv2.CfnWebACL.RuleProperty = {
      name: 'RateLimitApiPerIp',
      priority: 4,
      action: { block: {} },
      statement: { rateBasedStatement: { limit: apiRateLimit, aggregateKeyType: 'IP', evaluationWindowSec: 300, scopeDownStatement: pathPrefixStatement(API_PATH_PREFIX) } },
      visibilityConfig: visibility('RateLimitApiPerIp'),
    };
    const groupRules = [ipReputation, ...inspection].map((group, index) =>
      managedRuleGroupRule(group, index < 3 ? index : index + 2, group === BOT_CONTROL ? API_PATH_PREFIX : undefined),
    );
    const capacity =
      capacityOf(EDGE_RULE_GROUPS) + PATH_PREFIX_MATCH_CAPACITY /* Bot Control's scope-down */ + RATE_BASED_RULE_CAPACITY + (RATE_BASED_RULE_CAPACITY + PATH_PREFIX_MATCH_CAPACITY);
    if (capacity > WEB_ACL_INCLUDED_CAPACITY) {
      throw new Error(`EdgeDistribution ${this.node.path}: the web ACL's rules use ${capacity} capacity units, more than the ${WEB_ACL_INCLUDED_CAPACITY} a web ACL includes`);
    }
    this.webAclCapacity = capacity;
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: props.webAclName,
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(props.webAclName),
      rules: [...groupRules.slice(0, 3), rateLimitRule, apiRateLimitRule, ...groupRules.slice(3)],
    });
    this.webAclLogGroup = new logs.LogGroup(this, 'WebAclLogs', {
      logGroupName: props.webAclLogGroupName,
      encryptionKey: props.logKey,
      retention: props.logRetention,
    });
    new wafv2.CfnLoggingConfiguration(this, 'WebAclLogging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [this.webAclLogGroup.logGroupArn.replace(/:\*$/, '')],
      // Only blocked and counted requests: allowed ones are in the CloudFront access logs already.
      loggingFilter: {
        DefaultBehavior: 'DROP',
        Filters: [
          {
            Behavior: 'KEEP',
            Requirement: 'MEETS_ANY',
            Conditions: [{ ActionCondition: { Action: 'BLOCK' } }, { ActionCondition: { Action: 'COUNT' } }],
          },
        ],
      },
      redactedFields: [{ singleHeader: { Name: 'authorization' } }, { singleHeader: { Name: 'cookie' } }],
    });

    // --- Response headers ------------------------------------------------
    const extra = props.additionalConnectSources ?? [];
    this.contentSecurityPolicy = [
      "default-src 'self'",
      `script-src 'self' ${GOOGLE_ANALYTICS[0]}`,
      `connect-src 'self' ${SENTRY_INGEST} ${GOOGLE_ANALYTICS.join(' ')} https://*.google-analytics.com${extra.map((s) => ` ${s}`).join('')}`,
      `img-src 'self' data: ${GOOGLE_ANALYTICS.join(' ')}${extra.map((s) => ` ${s}`).join('')}`,
      `media-src 'self' blob:${extra.map((s) => ` ${s}`).join('')}`,
      "style-src 'self'",
      "font-src 'self'",
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; ');
    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'BodyScript security headers: HSTS, frame options, nosniff, referrer policy, CSP',
      securityHeadersBehavior: {
        // Decided (security review L9): includeSubDomains binds only the subdomains of the host that sends the header
        // (RFC 6797, 6.1.2), here app.<zone> or the distribution's cloudfront.net name, never the zone apex's other
        // hosts; `preload` does nothing until the registrable domain itself serves the header and its owner submits it
        // to the browsers' preload list. Serving the app from the zone apex would change that: decide again then.
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, preload: true, override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
        contentSecurityPolicy: { contentSecurityPolicy: this.contentSecurityPolicy, override: true },
      },
    });

    // --- Distribution ----------------------------------------------------
    this.spaRoutingFunction = new cloudfront.Function(this, 'SpaRouting', {
      comment: 'Application routes without a file extension are served /index.html',
      code: cloudfront.FunctionCode.fromInline(SPA_ROUTING_FUNCTION),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
    });
    const bucketOrigin = (bucket: s3.IBucket) => origins.S3BucketOrigin.withOriginAccessControl(bucket, { originAccessLevels: [cloudfront.AccessLevel.READ] });
    // With a standby replica the web app survives the loss of the primary
    // region's S3 without a person: CloudFront fails over per request (GET and
    // HEAD, all the web app uses) and keeps asking the primary first.
    const frontendOrigin = props.standbyFrontendBucket
      ? new origins.OriginGroup({
          primaryOrigin: bucketOrigin(props.frontendBucket),
          fallbackOrigin: bucketOrigin(props.standbyFrontendBucket),
          fallbackStatusCodes: FRONTEND_FAILOVER_STATUS_CODES,
        })
      : bucketOrigin(props.frontendBucket);
    // The api: by its own name over HTTPS, which Route 53 moves between the
    // regions' load balancers; or privately, through a VPC origin.
    const apiOrigin = props.apiLoadBalancer
      ? origins.VpcOrigin.withApplicationLoadBalancer(props.apiLoadBalancer, {
          vpcOriginName: props.apiVpcOriginName,
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
          httpPort: 80,
          customHeaders: props.apiOriginHeaders,
          readTimeout: Duration.seconds(30),
        })
      : new origins.HttpOrigin(props.apiOriginDomainName!, {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          httpsPort: 443,
          originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
          customHeaders: props.apiOriginHeaders,
          readTimeout: Duration.seconds(30),
        });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'BodyScript web app and api',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: frontendOrigin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        compress: true,
        responseHeadersPolicy: this.responseHeadersPolicy,
        functionAssociations: [{ function: this.spaRoutingFunction, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: {
        [API_PATH_PATTERN]: {
          origin: apiOrigin,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          // The api answers per user: nothing is cached, everything but Host is forwarded.
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          compress: true,
          responseHeadersPolicy: this.responseHeadersPolicy,
        },
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      certificate: props.certificate,
      domainNames: props.domainNames,
      minimumProtocolVersion: props.certificate ? cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
      enableIpv6: true,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: props.logPrefix,
      logIncludesCookies: false,
      webAclId: this.webAcl.attrArn,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
    });

    if (props.hostedZone) {
      const target = route53.RecordTarget.fromAlias(new route53Targets.CloudFrontTarget(this.distribution));
      for (const [index, name] of (props.domainNames ?? []).entries()) {
        new route53.ARecord(this, `AliasA${index}`, { zone: props.hostedZone, recordName: name, target });
        new route53.AaaaRecord(this, `AliasAaaa${index}`, { zone: props.hostedZone, recordName: name, target });
      }
    }

    this.acknowledgeFindings(props);
  }

  private acknowledgeFindings(props: EdgeDistributionProps): void {
    // The frontend buckets are imported: their policies are written by
    // FrontendBucketAccess beside this distribution (the data stacks cannot
    // name it) and allow cloudfront.amazonaws.com for this distribution only.
    // Acknowledged on each S3 origin's scope (the one holding its origin
    // access control), where the warning is raised.
    for (const origin of this.distribution.node.children.filter((child) => child.node.tryFindChild('S3OriginAccessControl'))) {
      Annotations.of(origin).acknowledgeWarning(
        '@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac',
        "The imported frontend bucket's policy is written by FrontendBucketAccess in the distribution's stack (primary: AWS::S3::BucketPolicy; us-west-2 replica: PutBucketPolicy by a custom resource) and allows cloudfront.amazonaws.com with origin access control for this distribution only.",
      );
    }
    if (!props.standbyFrontendBucket) {
      acknowledge(
        this.distribution,
        ['cdk-validator-cfnguard::cloudfront_origin_failover_enabled_check'],
        'Built without a standby frontend bucket, so the web app has a single origin and there is nothing to fail over to; give standbyFrontendBucket (the replica in the standby region) to get an origin group.',
      );
    }
    acknowledge(
      this.webAclLogGroup,
      ['cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check'],
      'KmsKeyId is the environment logs key of the data stack; the Control Tower rule only recognizes a literal ARN or a key in the same template, not a cross-stack reference.',
    );
    acknowledge(
      this.distribution,
      ['AwsSolutions-CFR1'],
      'BodyScript serves users worldwide and has no legal restriction by country; the WAF rate limit and managed rules are the abuse controls.',
    );
    if (!props.certificate) {
      acknowledge(
        this.distribution,
        ['AwsSolutions-CFR4', 'cdk-validator-cfnguard::cloudfront_custom_ssl_certificate_check', 'cdk-validator-cfnguard::cloudfront_security_policy_check', 'cdk-validator-cfnguard::cloudfront_sni_enabled_check'],
        'Without a configured domain the distribution can only use the CloudFront default certificate (*.cloudfront.net), with which CloudFront fixes the security policy itself; configuring domain in the environment file switches to an ACM certificate with TLSv1.2_2021.',
      );
    }
    if (props.apiLoadBalancer) {
      acknowledge(
        this.distribution,
        ['AwsSolutions-CFR5', 'cdk-validator-cfnguard::cloudfront_traffic_to_origin_encrypted_check'],
        "The api is a VPC origin: CloudFront reaches its internal load balancer (no public address) over AWS's private network, on HTTP because without a domain there is no name a certificate could cover. A configured domain switches the api origin to HTTPS with TLS 1.2.",
      );
    }
  }
}
