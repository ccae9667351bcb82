import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import { HttpCodeElb, HttpCodeTarget, type IApplicationLoadBalancer, type IApplicationTargetGroup } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** ReplicaLag above this for a minute pages: the database RPO is one minute. */
export const REPLICA_LAG_ALARM_SECONDS = 30;

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
  /** The pilot-light services, by name (`api`, `processing`). */
  readonly services: Readonly<Record<string, StandbyServiceTarget>>;
  /** The standby region's own critical topic (the primary's may be down with its region). */
  readonly alarmTopic: sns.ITopic;
  /** Environment name, for the commands in the descriptions. */
  readonly environment: string;
  /** Runbook named in every description. */
  readonly runbook: string;
}

/**
 * What watches the standby region: the read replica's lag (missing data is an
 * outage of the standby: RDS stops publishing ReplicaLag when replication
 * breaks), and per pilot-light service a 5xx rate and an unhealthy-target alarm.
 * The service alarms are silent at zero tasks: no requests and no targets
 * publish no data, which is not breaching. No rollback: there is no CodeDeploy
 * in the standby. Every alarm pages the standby's own critical topic.
 */
export class StandbyAlarms extends Construct {
  /** ReplicaLag above REPLICA_LAG_ALARM_SECONDS for a minute, or no ReplicaLag at all. */
  public readonly replicaLag: cloudwatch.Alarm;
  /** The 5xx-rate and unhealthy-target alarms of the services. */
  public readonly serviceAlarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: StandbyAlarmsProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    this.replicaLag = new cloudwatch.Alarm(this, 'ReplicaLag', {
      alarmName: `${props.alarmNamePrefix}Database-ReplicaLag`,
      alarmDescription: `The ${region} read replica is more than ${REPLICA_LAG_ALARM_SECONDS}s behind the primary, or reports no lag at all (replication stopped): a failover now would lose more than the one-minute RPO. Check the replica's replication state with 'npm run ops -- dr status --env ${props.environment}'. Runbook: ${props.runbook}`,
      metric: new cloudwatch.Metric({
        namespace: 'AWS/RDS',
        metricName: 'ReplicaLag',
        dimensionsMap: { DBInstanceIdentifier: props.replicaInstanceIdentifier },
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      threshold: REPLICA_LAG_ALARM_SECONDS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    this.serviceAlarms = [];
    for (const [service, { loadBalancer, targetGroup }] of Object.entries(props.services)) {
      const title = `${service.charAt(0).toUpperCase()}${service.slice(1)}`;
      const sum = { statistic: cloudwatch.Stats.SUM, period: Duration.minutes(1) };
      const serverErrors = new cloudwatch.Alarm(this, `${title}5xxRate`, {
        alarmName: `${props.alarmNamePrefix}${service}-5xxRate`,
        alarmDescription:
          `More than ${STANDBY_MAX_5XX_PERCENT}% of requests to the standby ${service} in ${region} answered 5xx (targets or the load balancer) for 5 minutes. ` +
          `It only has traffic after a failover: check the service's tasks and logs in ${region} and the promoted database. Runbook: ${props.runbook}`,
        metric: new cloudwatch.MathExpression({
          expression: 'IF(requests >= 10, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)',
          usingMetrics: {
            requests: loadBalancer.metrics.requestCount(sum),
            target5xx: loadBalancer.metrics.httpCodeTarget(HttpCodeTarget.TARGET_5XX_COUNT, sum),
            elb5xx: loadBalancer.metrics.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, sum),
          },
          period: Duration.minutes(1),
          label: '5xx rate (%)',
        }),
        threshold: STANDBY_MAX_5XX_PERCENT,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      const unhealthy = new cloudwatch.Alarm(this, `${title}UnhealthyHosts`, {
        alarmName: `${props.alarmNamePrefix}${service}-UnhealthyHosts`,
        alarmDescription:
          `A task of the standby ${service} in ${region} failed its load balancer health check (/health) for 3 minutes. ` +
          `ECS replaces it: look at the stopped task's reason and logs, and at the promoted database and the secret replicas it reads. Runbook: ${props.runbook}`,
        metric: targetGroup.metrics.unhealthyHostCount({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.serviceAlarms.push(serverErrors, unhealthy);
    }
    for (const alarm of [this.replicaLag, ...this.serviceAlarms]) {
      alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
      alarm.addOkAction(new actions.SnsAction(props.alarmTopic));
    }
  }
}
