import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import { HttpCodeElb, HttpCodeTarget, type IApplicationLoadBalancer, type IApplicationTargetGroup } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { describeAlarm, missingData } from '../lib/alarm-description';
import { freeStorageAlarmProps, REPLICA_LAG_ALARM_SECONDS, replicaLagAlarmProps } from './data-alarms';

export { REPLICA_LAG_ALARM_SECONDS };

/** A raised standby service warns above this share of 5xx answers (percent, over 5 minutes). */
export const STANDBY_MAX_5XX_PERCENT = 5;

/** A standby service's load balancer and its only target group. */
export interface StandbyServiceTarget {
  readonly loadBalancer: IApplicationLoadBalancer;
  readonly targetGroup: IApplicationTargetGroup;
}

/**
 * Properties of StandbyAlarms.
 */
export interface StandbyAlarmsProps {
  /** Prefix of every alarm name, e.g. `BodyScript-Staging-Standby-`. */
  readonly alarmNamePrefix: string;
  /** RDS identifier of the cross-region read replica. */
  readonly replicaInstanceIdentifier: string;
  /**
   * The replica's storage: its first allocation (the source's, which it is
   * created with) and the maximum its own storage autoscaling grows it to.
   */
  readonly replicaStorage: { readonly allocatedStorageGiB: number; readonly maxAllocatedStorageGiB: number };
  /** The pilot-light services, by name (`api`, `processing`). */
  readonly services: Readonly<Record<string, StandbyServiceTarget>>;
  /**
   * Services whose load balancer only ever serves health checks (the worker):
   * load balancer metrics exclude health checks, so a request-based alarm on
   * them could never fire; they keep the unhealthy-target alarm only.
   *
   * @default - every service serves requests
   */
  readonly servicesWithoutRequests?: readonly string[];
  /** The standby region's own critical topic (the primary's may be down with its region). */
  readonly alarmTopic: sns.ITopic;
  /**
   * The standby region's own warning topic, for what needs attention within
   * the day (the replica's storage not growing).
   *
   * @default - alarmTopic
   */
  readonly warningTopic?: sns.ITopic;
  /** Environment name, for the commands in the descriptions. */
  readonly environment: string;
  /** Runbook named in every description. */
  readonly runbook: string;
}

/**
 * What watches the standby region: the read replica's lag (one that an idle
 * primary never fires, and missing data breaching: RDS stops publishing
 * ReplicaLag when replication breaks), its free storage against its own
 * autoscaling (as the primary's: a routine autoscale never pages), and per pilot-light service the 5xx
 * rate as users see it (target and load balancer 5xx over requests, including
 * those that found no target), requests arriving with no healthy target, and
 * unhealthy targets. The service alarms are silent at zero tasks: no requests
 * and no targets publish no data, which is not breaching. No rollback: there
 * is no CodeDeploy in the standby. Every alarm pages the standby's own
 * critical topic.
 */
export class StandbyAlarms extends Construct {
  /** ReplicaLag above REPLICA_LAG_ALARM_SECONDS for ten minutes (never on an idle primary), or no ReplicaLag at all. */
  public readonly replicaLag: cloudwatch.Alarm;
  /** The replica's free storage below 5 % of its first allocation, which its own autoscaling (at 10 % of the current one) stays above: critical. */
  public readonly replicaFreeStorage: cloudwatch.Alarm;
  /** The replica's free storage below its autoscaling trigger for 30 minutes: autoscaling is not growing it (warning). */
  public readonly replicaStorageNotGrowing: cloudwatch.Alarm;
  /** The 5xx-rate, no-healthy-target and unhealthy-target alarms of the services. */
  public readonly serviceAlarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: StandbyAlarmsProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    for (const name of props.servicesWithoutRequests ?? []) {
      if (!props.services[name]) throw new Error(`StandbyAlarms ${this.node.path}: servicesWithoutRequests names '${name}', which is not one of the services (${Object.keys(props.services).join(', ')})`);
    }
    this.replicaLag = new cloudwatch.Alarm(
      this,
      'ReplicaLag',
      replicaLagAlarmProps({
        alarmName: `${props.alarmNamePrefix}Database-ReplicaLag`,
        replicaInstanceIdentifier: props.replicaInstanceIdentifier,
        region,
        statusCommand: `npm run ops -- dr status --env ${props.environment}`,
        runbook: props.runbook,
      }),
    );

    // The replica's own volume: when it fills up, replication stops and the standby falls behind.
    const replicaStorage = freeStorageAlarmProps({
      metric: new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName: 'FreeStorageSpace', dimensionsMap: { DBInstanceIdentifier: props.replicaInstanceIdentifier } }),
      databaseLabel: `The standby replica in ${region}`,
      pageAlarmName: `${props.alarmNamePrefix}Database-FreeStorageLow`,
      stalledAlarmName: `${props.alarmNamePrefix}Database-StorageNotGrowing`,
      allocatedStorageGiB: props.replicaStorage.allocatedStorageGiB,
      maxAllocatedStorageGiB: props.replicaStorage.maxAllocatedStorageGiB,
      runbook: props.runbook,
    });
    this.replicaFreeStorage = new cloudwatch.Alarm(this, 'ReplicaFreeStorage', replicaStorage.page);
    this.replicaStorageNotGrowing = new cloudwatch.Alarm(this, 'ReplicaStorageNotGrowing', replicaStorage.stalled);

    const quiet = missingData(
      cloudwatch.TreatMissingData.NOT_BREACHING,
      'The load balancer publishes only while requests flow or targets are registered; the standby has neither until a failover.',
    );
    const minute = Duration.minutes(1);
    const sum = { statistic: cloudwatch.Stats.SUM, period: minute };
    this.serviceAlarms = [];
    for (const [service, { loadBalancer, targetGroup }] of Object.entries(props.services)) {
      const title = `${service.charAt(0).toUpperCase()}${service.slice(1)}`;
      if (!(props.servicesWithoutRequests ?? []).includes(service)) {
        this.serviceAlarms.push(
          new cloudwatch.Alarm(this, `${title}5xxRate`, {
            alarmName: `${props.alarmNamePrefix}${service}-5xxRate`,
            alarmDescription: describeAlarm({
              what: `More than ${STANDBY_MAX_5XX_PERCENT}% of requests to the standby ${service} in ${region} got a 5xx, from its targets or from the load balancer (no target, or a crashed one), for 5 minutes.`,
              action: `It only has traffic after a failover: check the service's tasks and logs in ${region} and the promoted database.`,
              missingData: quiet,
              runbook: props.runbook,
            }),
            // RequestCount counts only requests that found a target: the 503s of "no target" join the denominator.
            metric: new cloudwatch.MathExpression({
              expression: '100 * (target5xx + elb5xx) / (requests + elb5xx)',
              usingMetrics: {
                requests: loadBalancer.metrics.requestCount(sum),
                target5xx: loadBalancer.metrics.httpCodeTarget(HttpCodeTarget.TARGET_5XX_COUNT, sum),
                elb5xx: loadBalancer.metrics.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, sum),
              },
              period: minute,
              label: '5xx answers, targets and load balancer (%)',
            }),
            threshold: STANDBY_MAX_5XX_PERCENT,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 5,
            datapointsToAlarm: 5,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
          // HealthyHostCount is not published while no target is registered: anchored on the request timestamps.
          new cloudwatch.Alarm(this, `${title}NoHealthyTarget`, {
            alarmName: `${props.alarmNamePrefix}${service}-NoHealthyTargetForRequests`,
            alarmDescription: describeAlarm({
              what: `Requests reached the standby ${service} in ${region} for 3 minutes while it had no healthy target: after a failover, users get 503s.`,
              action: `Raise the standby (its scaling is resumed by 'npm run ops -- dr failover --env ${props.environment}') and look at its stopped tasks (image replica, secrets, database) in ${region}.`,
              missingData: quiet,
              runbook: props.runbook,
            }),
            metric: new cloudwatch.MathExpression({
              expression: 'IF((requests + elb5xx) > 0 AND (healthy + 0 * (requests + elb5xx)) < 1, 1, 0)',
              usingMetrics: {
                requests: loadBalancer.metrics.requestCount(sum),
                elb5xx: loadBalancer.metrics.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, sum),
                healthy: targetGroup.metrics.healthyHostCount({ statistic: cloudwatch.Stats.MINIMUM, period: minute }),
              },
              period: minute,
              label: 'Requests with no healthy target (1 = yes)',
            }),
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluationPeriods: 3,
            datapointsToAlarm: 3,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
        );
      }
      this.serviceAlarms.push(
        new cloudwatch.Alarm(this, `${title}UnhealthyHosts`, {
          alarmName: `${props.alarmNamePrefix}${service}-UnhealthyHosts`,
          alarmDescription: describeAlarm({
            what: `A task of the standby ${service} in ${region} failed its load balancer health check (/health) for 3 minutes.`,
            action: "ECS replaces it: look at the stopped task's reason and logs, and at the promoted database and the secret replicas it reads.",
            missingData: quiet,
            runbook: props.runbook,
          }),
          // Minimum: what every load balancer node sees (AWS's recommendation for host-count alarms).
          metric: targetGroup.metrics.unhealthyHostCount({ statistic: cloudwatch.Stats.MINIMUM, period: minute }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          datapointsToAlarm: 3,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    for (const alarm of [this.replicaLag, this.replicaFreeStorage, ...this.serviceAlarms]) {
      alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
      alarm.addOkAction(new actions.SnsAction(props.alarmTopic));
    }
    const warningTopic = props.warningTopic ?? props.alarmTopic;
    this.replicaStorageNotGrowing.addAlarmAction(new actions.SnsAction(warningTopic));
    this.replicaStorageNotGrowing.addOkAction(new actions.SnsAction(warningTopic));
  }
}
