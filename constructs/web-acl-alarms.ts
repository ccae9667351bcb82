import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { describeAlarm, missingData } from '../lib/alarm-description';

/**
 * A web ACL blocking more requests than this in 5 minutes, twice in 15, warns (review R11): well above what
 * scanners and the rate rule's usual victims cost a small product, and about as many as one client over the
 * rate limit (2000 in 5 minutes per address) sends; an attack, or a rule that started blocking real users.
 */
export const WAF_BLOCKED_REQUESTS_SURGE = 1000;

/** A WAF web ACL to watch (its metrics, AWS/WAFV2 with Rule=ALL, are in the region of the stack that watches it). */
export interface MonitoredWebAcl {
  /** The web ACL's name (its `WebACL` dimension). */
  readonly name: string;
  /** CLOUDFRONT (metrics without a Region dimension) or REGIONAL (with the web ACL's region). */
  readonly scope: 'CLOUDFRONT' | 'REGIONAL';
  /** What it protects, for the alarm name and description, e.g. `Edge` or `Api`. */
  readonly label: string;
}

/**
 * The alarm on a surge of requests a web ACL blocks: BlockedRequests (Sum, 5 minutes) of the whole ACL
 * (Rule=ALL) above WAF_BLOCKED_REQUESTS_SURGE in 2 of 3 periods; no datapoint means nothing was blocked.
 */
export function blockedRequestsSurgeAlarmProps(options: { readonly acl: MonitoredWebAcl; readonly region: string; readonly alarmName: string; readonly runbook: string }): cloudwatch.AlarmProps {
  const { acl } = options;
  return {
    alarmName: options.alarmName,
    alarmDescription: describeAlarm({
      what: `The web ACL ${acl.name} blocked more than ${WAF_BLOCKED_REQUESTS_SURGE} requests in 5 minutes, twice in 15 minutes: an attack, or a rule that started blocking real users.`,
      action: `Read the WAF log group aws-waf-logs-${acl.name} for the rule and the clients; if real users are blocked, switch that rule to count and tell the platform team.`,
      missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'WAF publishes BlockedRequests only for periods in which it blocked something; none is no block.'),
      runbook: options.runbook,
    }),
    metric: new cloudwatch.Metric({
      namespace: 'AWS/WAFV2',
      metricName: 'BlockedRequests',
      dimensionsMap: { WebACL: acl.name, Rule: 'ALL', ...(acl.scope === 'REGIONAL' ? { Region: options.region } : {}) },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      label: `${acl.label} web ACL: blocked requests`,
    }),
    threshold: WAF_BLOCKED_REQUESTS_SURGE,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  };
}
