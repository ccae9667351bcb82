import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';

/**
 * Properties of a FailoverRecord.
 */
export interface FailoverRecordProps {
  readonly zone: route53.IHostedZone;
  /** The name clients use, e.g. `api.bodyscript.example`. */
  readonly recordName: string;
  /** PRIMARY answers while healthy; SECONDARY answers when PRIMARY is not. */
  readonly role: 'PRIMARY' | 'SECONDARY';
  /** What the record answers with: an alias (a regional record of the same zone, a load balancer), evaluated for health. */
  readonly target: route53.IAliasRecordTarget;
  /**
   * An existing Route 53 health check that decides whether this half answers
   * (e.g. one of an ARC Region switch plan, which the plan's execution flips).
   *
   * @default - none: the record relies on its alias target's health (EvaluateTargetHealth)
   */
  readonly healthCheckId?: string;
}

/**
 * One half of a Route 53 failover pair: an alias A record with
 * EvaluateTargetHealth, the failover role and its set identifier, and
 * optionally a health check given by id. Route 53 answers these records from
 * its data plane in every region, so moving traffic needs no control-plane call.
 */
export class FailoverRecord extends Construct {
  public readonly record: route53.ARecord;

  constructor(scope: Construct, id: string, props: FailoverRecordProps) {
    super(scope, id);
    if (props.role === 'PRIMARY' && props.healthCheckId === undefined) {
      throw new Error(`FailoverRecord ${this.node.path}: the PRIMARY record needs a healthCheckId, or Route 53 never fails over while the primary region's load balancer still answers`);
    }
    const target = props.target;
    this.record = new route53.ARecord(this, 'Record', {
      zone: props.zone,
      recordName: props.recordName,
      target: route53.RecordTarget.fromAlias({ bind: (record, zone) => ({ ...target.bind(record, zone), evaluateTargetHealth: true }) }),
    });
    // The L2 has no failover routing policy and takes health checks only as constructs: set them on the L1.
    const cfnRecord = this.record.node.defaultChild as route53.CfnRecordSet;
    cfnRecord.failover = props.role;
    cfnRecord.setIdentifier = failoverSetIdentifier(props.recordName, props.role);
    cfnRecord.healthCheckId = props.healthCheckId;
  }
}

/** Set identifier of one half of a failover pair (the Region switch plan names both halves by it). */
export function failoverSetIdentifier(recordName: string, role: 'PRIMARY' | 'SECONDARY'): string {
  return `${recordName}-${role.toLowerCase()}`;
}

/**
 * The name of a region's own record of the api, e.g. `us-east-1.api.bodyscript.example`:
 * an alias to that region's load balancer, created by that region's stack, and
 * the target of one half of the failover pair.
 */
export function regionalRecordName(recordName: string, region: string): string {
  return `${region}.${recordName}`;
}

/** An alias target that is another record of the same hosted zone, by name. */
export function recordInZone(zone: route53.IHostedZone, name: string): route53.IAliasRecordTarget {
  return { bind: () => ({ dnsName: name, hostedZoneId: zone.hostedZoneId }) };
}
