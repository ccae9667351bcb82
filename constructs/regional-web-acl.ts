import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { capacityOf, type ManagedRuleGroup, managedRuleGroupRule, REGIONAL_RULE_GROUPS, visibility, WEB_ACL_INCLUDED_CAPACITY } from '../lib/waf-rules';

/**
 * Properties of a RegionalWebAcl.
 */
export interface RegionalWebAclProps {
  /** Name of the web ACL (unique per region and scope). */
  readonly webAclName: string;
  /**
   * The managed rule groups, in evaluation order.
   *
   * @default REGIONAL_RULE_GROUPS (common, known bad inputs, SQL database in count mode)
   */
  readonly ruleGroups?: readonly ManagedRuleGroup[];
  /** Name of the log group of its decisions; AWS WAF requires the `aws-waf-logs-` prefix. */
  readonly logGroupName: string;
  /** Key that encrypts the log group. */
  readonly logKey: kms.IKey;
  /** Retention of the log group. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * An AWS WAF web ACL of REGIONAL scope for an internet-facing load balancer
 * that only CloudFront should reach: the same managed inspection as the edge
 * web ACL (lib/waf-rules.ts), so that a request arriving by any other path
 * (another CloudFront distribution that learnt the origin header) meets the
 * same rules. Logs blocked and counted requests to an encrypted log group
 * (retained: it is audit evidence), with the authorization and cookie headers
 * redacted. A load balancer is put behind it by its `webAcl` property
 * (LoadBalancedFargateService).
 */
export class RegionalWebAcl extends Construct {
  public readonly webAcl: wafv2.CfnWebACL;
  /** Log group of the web ACL's BLOCK and COUNT decisions. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RegionalWebAclProps) {
    super(scope, id);
    if (!props.logGroupName.startsWith('aws-waf-logs-')) {
      throw new Error(`RegionalWebAcl ${this.node.path}: logGroupName must start with 'aws-waf-logs-' (AWS WAF refuses other log groups), got '${props.logGroupName}'`);
    }
    const groups = props.ruleGroups ?? REGIONAL_RULE_GROUPS;
    if (groups.length === 0) {
      throw new Error(`RegionalWebAcl ${this.node.path}: ruleGroups must name at least one managed rule group, or the web ACL inspects nothing`);
    }
    if (capacityOf(groups) > WEB_ACL_INCLUDED_CAPACITY) {
      throw new Error(`RegionalWebAcl ${this.node.path}: ruleGroups use ${capacityOf(groups)} capacity units, more than the ${WEB_ACL_INCLUDED_CAPACITY} a web ACL includes`);
    }
    this.webAcl = new wafv2.CfnWebACL(this, 'Resource', {
      name: props.webAclName,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(props.webAclName),
      rules: groups.map((group, priority) => managedRuleGroupRule(group, priority)),
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: props.logGroupName,
      encryptionKey: props.logKey,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [this.logGroup.logGroupArn],
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
    if (Stack.of(props.logKey) !== Stack.of(this)) {
      acknowledge(
        this.logGroup,
        ['cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check'],
        "KmsKeyId is the environment's logs key from another stack of the same region; the Control Tower rule only recognizes a literal ARN or a key in the same template.",
      );
    }
  }
}
