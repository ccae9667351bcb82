import { Stack, Token } from 'aws-cdk-lib';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { FailoverRecord, recordInZone, regionalRecordName } from './failover-record';

/**
 * Properties of an ApiFailover.
 */
export interface ApiFailoverProps {
  readonly zone: route53.IHostedZone;
  /** The api's name, e.g. `api.bodyscript.example` (CloudFront connects to it; both load balancers' certificates cover it). */
  readonly recordName: string;
  /** The primary region; its stack holds the regional record `<primaryRegion>.<recordName>` of its load balancer. */
  readonly primaryRegion: string;
  /** This (the standby) region's api load balancer. */
  readonly loadBalancer: elbv2.ILoadBalancerV2;
  /**
   * The health checks that decide which half answers: those of the ARC Region
   * switch plan's traffic step (RegionSwitchPlan.healthCheckIds()), which the
   * plan's execution flips from the recovery region.
   */
  readonly healthCheckIds: { readonly primary: string; readonly standby: string };
}

/**
 * The api's Route 53 failover pair, in the standby region's stack beside the
 * ARC Region switch plan whose health checks it carries:
 *
 * - `<region>.<recordName>`: an alias to this region's api load balancer (the
 *   primary's stack has the same record for its own);
 * - `<recordName>` PRIMARY: an alias to `<primaryRegion>.<recordName>`, with the
 *   plan's primary health check;
 * - `<recordName>` SECONDARY: an alias to `<region>.<recordName>`, with the
 *   plan's recovery health check.
 *
 * CloudFront reaches the api by `<recordName>`, so traffic moves when the plan
 * flips its health checks: a Route 53 data-plane change, made from the
 * recovery region, with nothing to call in the failed one (no CloudFront
 * change). The regional records keep the region in their names, which the
 * plan's traffic step and `ops dr status` can map.
 */
export class ApiFailover extends Construct {
  /** This region's own record of the api. */
  public readonly regionalRecord: route53.ARecord;
  /** The PRIMARY half of the pair. */
  public readonly primary: FailoverRecord;
  /** The SECONDARY half of the pair. */
  public readonly secondary: FailoverRecord;

  constructor(scope: Construct, id: string, props: ApiFailoverProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    if (region === props.primaryRegion) {
      throw new Error(`ApiFailover ${this.node.path}: belongs in the standby region's stack (beside the Region switch plan), got the primary region ${region}`);
    }
    this.regionalRecord = new route53.ARecord(this, 'RegionalRecord', {
      zone: props.zone,
      recordName: regionalRecordName(props.recordName, region),
      target: route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(props.loadBalancer, { evaluateTargetHealth: true })),
    });
    const half = (role: 'PRIMARY' | 'SECONDARY', region: string, healthCheckId: string) =>
      new FailoverRecord(this, role === 'PRIMARY' ? 'Primary' : 'Secondary', {
        zone: props.zone,
        recordName: props.recordName,
        role,
        target: recordInZone(props.zone, regionalRecordName(props.recordName, region)),
        healthCheckId,
      });
    this.primary = half('PRIMARY', props.primaryRegion, props.healthCheckIds.primary);
    this.secondary = half('SECONDARY', region, props.healthCheckIds.standby);
    // The SECONDARY aliases this region's record, which must exist first.
    this.secondary.node.addDependency(this.regionalRecord);
    for (const [record, healthCheckId] of [[this.primary, props.healthCheckIds.primary], [this.secondary, props.healthCheckIds.standby]] as const) {
      if (Token.isUnresolved(healthCheckId)) {
        acknowledge(
          record.record,
          ['CloudFormation-Validate::E9004'],
          "The health check id is read from the Region switch plan's Route53HealthChecks.HealthCheckIds attribute, which aws-cdk-lib's CfnPlan declares (attrRoute53HealthChecks) but the validator's bundled schema no longer lists (it marks Route53HealthChecks deprecated). `npm run ops -- dr status` compares each record's HealthCheckId with ARC's per-region list (ListRoute53HealthChecksInRegion) and fails on a mismatch; the first standby deploy in a real account must confirm the attribute resolves.",
        );
      }
    }
  }
}
