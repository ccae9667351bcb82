import { Duration, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
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
  /** The region's load balancer the record points at. */
  readonly loadBalancer: elbv2.ILoadBalancerV2;
  /**
   * Path a Route 53 health check requests on the load balancer (HTTPS, with the
   * record name as SNI and Host), which decides when PRIMARY stops answering.
   *
   * @default - no health check: the record relies on the load balancer's target health (EvaluateTargetHealth)
   */
  readonly healthCheckPath?: string;
  /**
   * Alarms of the record's region (single metric, standard resolution, as
   * Route 53 requires) that each say "this part has nothing healthy": the
   * record is healthy while at least one of them is OK. A region whose
   * CloudWatch cannot be reached (insufficient data) counts as unhealthy.
   * For load balancers that only accept another origin (e.g. CloudFront),
   * which a Route 53 health checker could not reach at `healthCheckPath`.
   *
   * @default - no alarm-based health check
   */
  readonly healthCheckAlarms?: cloudwatch.IAlarm[];
}

/**
 * One half of a Route 53 failover pair for a regional endpoint: an alias A
 * record to the region's load balancer with EvaluateTargetHealth, plus (for
 * the PRIMARY) a health check: against the load balancer itself (every 30 s,
 * failing after 3 misses), or calculated from alarms of the region (healthy
 * while one of them is OK) when the load balancer accepts only another origin. The primary region creates the PRIMARY record, the
 * standby region the SECONDARY; neither references the other.
 */
export class FailoverRecord extends Construct {
  public readonly record: route53.ARecord;
  /** The health check of the PRIMARY (undefined without healthCheckPath or healthCheckAlarms). */
  public readonly healthCheck?: route53.HealthCheck;

  constructor(scope: Construct, id: string, props: FailoverRecordProps) {
    super(scope, id);
    if (props.healthCheckPath !== undefined && !props.healthCheckPath.startsWith('/')) {
      throw new Error(`FailoverRecord ${this.node.path}: healthCheckPath must start with '/', got '${props.healthCheckPath}'`);
    }
    const alarms = props.healthCheckAlarms ?? [];
    if (props.healthCheckPath !== undefined && alarms.length > 0) {
      throw new Error(`FailoverRecord ${this.node.path}: give either healthCheckPath or healthCheckAlarms, not both`);
    }
    if (props.role === 'PRIMARY' && props.healthCheckPath === undefined && alarms.length === 0) {
      throw new Error(`FailoverRecord ${this.node.path}: the PRIMARY record needs a healthCheckPath or healthCheckAlarms, or Route 53 never fails over when the application (not the load balancer) is down`);
    }

    if (alarms.length > 0) {
      const region = Stack.of(this).region;
      const children = alarms.map(
        (alarm, index) =>
          new route53.HealthCheck(this, `AlarmHealthCheck${index}`, {
            type: route53.HealthCheckType.CLOUDWATCH_METRIC,
            alarmIdentifier: { name: alarm.alarmName, region },
            insufficientDataHealthStatus: route53.InsufficientDataHealthStatusEnum.UNHEALTHY,
          }),
      );
      this.healthCheck = new route53.HealthCheck(this, 'HealthCheck', {
        type: route53.HealthCheckType.CALCULATED,
        childHealthChecks: children,
        healthThreshold: 1,
      });
    } else if (props.healthCheckPath) {
      this.healthCheck = new route53.HealthCheck(this, 'HealthCheck', {
        type: route53.HealthCheckType.HTTPS,
        fqdn: props.loadBalancer.loadBalancerDnsName,
        resourcePath: props.healthCheckPath,
        enableSNI: true,
        requestInterval: Duration.seconds(30),
        failureThreshold: 3,
      });
    }

    this.record = new route53.ARecord(this, 'Record', {
      zone: props.zone,
      recordName: props.recordName,
      target: route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(props.loadBalancer, { evaluateTargetHealth: true })),
      healthCheck: this.healthCheck,
    });
    // The L2 has no failover routing policy: set it (and the identifier it requires) on the L1.
    const cfnRecord = this.record.node.defaultChild as route53.CfnRecordSet;
    cfnRecord.failover = props.role;
    cfnRecord.setIdentifier = failoverSetIdentifier(props.recordName, props.role);
  }
}

/** Set identifier of one half of a failover pair (the Region switch plan names both halves by it). */
export function failoverSetIdentifier(recordName: string, role: 'PRIMARY' | 'SECONDARY'): string {
  return `${recordName}-${role.toLowerCase()}`;
}
