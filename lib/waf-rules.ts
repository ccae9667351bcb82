import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';

/**
 * The AWS managed rule groups BodyScript's web ACLs run, and in which mode.
 *
 * `block` applies the group's own actions. `count` only labels and logs what
 * the group would block (the web ACL logs keep COUNT decisions): for groups
 * that could block real users, until their logs show they do not. Switching a
 * group to `block` is a reviewed change of this table.
 */
export type RuleGroupMode = 'block' | 'count';

/** One AWS managed rule group of a web ACL. */
export interface ManagedRuleGroup {
  /** The group's name (vendor AWS). */
  readonly name: string;
  readonly mode: RuleGroupMode;
  /** Why this mode, for the README's table and the reader of this file. */
  readonly reason: string;
  /** Web ACL capacity units the group uses (AWS's published figure), to stay within the 1,500 a web ACL includes. */
  readonly capacity: number;
}

/** AWS threat-intelligence lists of IP addresses (bots, scanners, DDoS sources). */
export const IP_REPUTATION: ManagedRuleGroup = {
  name: 'AWSManagedRulesAmazonIpReputationList',
  mode: 'block',
  reason: 'Addresses Amazon threat intelligence lists as sources of bots, reconnaissance and DDoS; a real user is rarely behind one.',
  capacity: 25,
};

/** The core rule set (OWASP-style: XSS, LFI, size restrictions, bad user agents). */
export const COMMON: ManagedRuleGroup = {
  name: 'AWSManagedRulesCommonRuleSet',
  mode: 'block',
  reason: 'Blocking since the first release; the app sends small JSON bodies and no unusual headers.',
  capacity: 700,
};

/** Request patterns of known exploits (Log4j, Java deserialization, localhost Host headers). */
export const KNOWN_BAD_INPUTS: ManagedRuleGroup = {
  name: 'AWSManagedRulesKnownBadInputsRuleSet',
  mode: 'block',
  reason: 'Patterns of known exploits that no legitimate request carries.',
  capacity: 200,
};

/** SQL injection patterns in the query string, body, cookies and URI (the database is PostgreSQL). */
export const SQL_DATABASE: ManagedRuleGroup = {
  name: 'AWSManagedRulesSQLiRuleSet',
  mode: 'count',
  reason: "Count first: users type free text (titles, notes) into JSON bodies, which can look like SQL; switch to block once the WAF logs show no real user's request among its matches.",
  capacity: 200,
};

/** Bot Control at the common inspection level (self-identified bots, scrapers, HTTP libraries). */
export const BOT_CONTROL: ManagedRuleGroup = {
  name: 'AWSManagedRulesBotControlRuleSet',
  mode: 'count',
  reason:
    'Count first: it labels HTTP libraries and headless browsers, which include integrations calling the api and the health-check canaries; blocking needs exceptions the logs will show. Scoped to /api/ (its requests are charged; static assets are cached).',
  capacity: 50,
};

/** What the edge (CloudFront) web ACL runs, in evaluation order. */
export const EDGE_RULE_GROUPS: readonly ManagedRuleGroup[] = [IP_REPUTATION, COMMON, KNOWN_BAD_INPUTS, SQL_DATABASE, BOT_CONTROL];

/**
 * What a regional web ACL on an api load balancer runs. Its requests came
 * through a CloudFront distribution, so their source address is CloudFront's:
 * IP reputation and per-IP rate limits can only work at the edge. Bot Control
 * is left to the edge too (it is charged per request).
 */
export const REGIONAL_RULE_GROUPS: readonly ManagedRuleGroup[] = [COMMON, KNOWN_BAD_INPUTS, SQL_DATABASE];

/** A web ACL may use this many capacity units before AWS charges more (and at most 5,000). */
export const WEB_ACL_INCLUDED_CAPACITY = 1500;

/**
 * Capacity of a rate-based rule: "2, as a base cost", plus its scope-down
 * statement (AWS WAF Developer Guide, "Using rate-based rule statements").
 */
export const RATE_BASED_RULE_CAPACITY = 2;

/**
 * Capacity of `pathPrefixStatement`: a string match that starts with a string
 * costs 2, and each text transformation adds 10 (counted for its one NONE, to
 * stay on the safe side of the budget) (AWS WAF Developer Guide, "Using match
 * rule statements").
 */
export const PATH_PREFIX_MATCH_CAPACITY = 2 + 10;

/**
 * Default per-IP limit of the edge web ACL's `/api/` rate rule, per five
 * minutes: half the whole-site default (2000), whose count includes the web
 * app's static files; about three api requests a second, sustained for five
 * minutes, from one address (users behind one NAT share it).
 */
export const API_RATE_LIMIT_PER_IP_PER_5_MINUTES = 1000;

/** AWS WAF's bounds of a rate-based rule's limit (RateBasedStatement Limit). */
export const RATE_LIMIT_BOUNDS = { min: 10, max: 2_000_000_000 } as const;

/** Requests whose path starts with `prefix` (case-sensitive, no transformation). */
export function pathPrefixStatement(prefix: string): wafv2.CfnWebACL.StatementProperty {
  return {
    byteMatchStatement: {
      fieldToMatch: { uriPath: {} },
      positionalConstraint: 'STARTS_WITH',
      searchString: prefix,
      textTransformations: [{ priority: 0, type: 'NONE' }],
    },
  };
}

/** CloudWatch metrics and sampled requests for a rule or a web ACL. */
export function visibility(metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true };
}

/**
 * The rules of a group, at the given priority. Bot Control needs its
 * inspection level, and looks only at `scopeDownPathPrefix` when given.
 */
export function managedRuleGroupRule(group: ManagedRuleGroup, priority: number, scopeDownPathPrefix?: string): wafv2.CfnWebACL.RuleProperty {
  const statement: wafv2.CfnWebACL.ManagedRuleGroupStatementProperty = {
    vendorName: 'AWS',
    name: group.name,
    managedRuleGroupConfigs: group === BOT_CONTROL ? [{ awsManagedRulesBotControlRuleSet: { inspectionLevel: 'COMMON' } }] : undefined,
    scopeDownStatement: scopeDownPathPrefix === undefined ? undefined : pathPrefixStatement(scopeDownPathPrefix),
  };
  return {
    name: group.name,
    priority,
    overrideAction: group.mode === 'count' ? { count: {} } : { none: {} },
    statement: { managedRuleGroupStatement: statement },
    visibilityConfig: visibility(group.name),
  };
}

/** Total capacity of the groups plus `extra` (e.g. a rate-based rule, 2 units). */
export function capacityOf(groups: readonly ManagedRuleGroup[], extra = 0): number {
  return groups.reduce((sum, group) => sum + group.capacity, extra);
}
