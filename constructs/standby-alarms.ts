import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import { HttpCodeElb, type IApplicationLoadBalancer, type IApplicationTargetGroup } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { describeAlarm, missingData } from '../lib/alarm-description';
import { LOW_TRAFFIC_RULE } from '../lib/low-traffic';
import { freeStorageAlarmProps, REPLICA_LAG_ALARM_SECONDS, replicaLagAlarmProps } from './data-alarms';
import { usersServerErrorRate } from './rollback-alarms';
import { blockedRequestsSurgeAlarmProps } from './web-acl-alarms';

export { REPLICA_LAG_ALARM_SECONDS };

/** The standby queue's oldest message, while workers run, may wait this share of the queue's retention before it warns. */
export const STANDBY_QUEUE_AGE_SHARE_OF_RETENTION = 0.75;

/** A raised standby service warns above this share of 5xx answers (percent, over 5 minutes). */
export const STANDBY_MAX_5XX_PERCENT = 5;

/** A standby service's load balancer and its only target group. */
export interface StandbyServiceTarget {
  readonly loadBalancer: IApplicationLoadBalancer;
  readonly targetGroup: IApplicationTargetGroup;
}

/** The standby worker's queues and the ECS service that consumes them. */
export interface StandbyProcessingQueues {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** Cluster and service name of the standby worker (ECS/ContainerInsights dimensions). */
  readonly clusterName: string;
  readonly serviceName: string;
  /** How long the queue keeps a message: the age alarm fires well before a waiting upload would expire unprocessed. */
  readonly retention: Duration;
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
  /**
   * The standby processing queue, its dead-letter queue and the standby
   * worker that consumes them after a failover (review R11).
   *
   * @default - the queues are not watched
   */
  readonly processingQueues?: StandbyProcessingQueues;
  /**
   * The regional web ACL of the standby api's internet-facing load balancer (with a domain), watched for a surge
   * of blocked requests like the primary's (review R11).
   *
   * @default - none
   */
  readonly apiWebAclName?: string;
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
 * those that found no target, a minute counting by the low-traffic rule of
 * lib/low-traffic.ts), requests arriving with no healthy target, and
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
  /** A standby job in the dead-letter queue (with `processingQueues`). */
  public readonly deadLetterQueueNotEmpty?: cloudwatch.Alarm;
  /** The standby queue falling behind while its workers run (with `processingQueues`). */
  public readonly queueBehind?: cloudwatch.Alarm;
  /** A surge of requests the standby api's web ACL blocks (with `apiWebAclName`). */
  public readonly apiWebAclBlockedSurge?: cloudwatch.Alarm;

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
              what: `More than ${STANDBY_MAX_5XX_PERCENT}% of requests to the standby ${service} in ${region} got a 5xx, from its targets or from the load balancer (no target, or a crashed one), for 5 minutes. ${LOW_TRAFFIC_RULE}`,
              action: `It only has traffic after a failover: check the service's tasks and logs in ${region} and the promoted database.`,
              missingData: quiet,
              runbook: props.runbook,
            }),
            // As the primary's: target and load balancer 5xx over the requests including those that found no target,
            // a minute counting by the low-traffic rule (after a failover at night, the canary is most of the traffic).
            metric: usersServerErrorRate(loadBalancer),
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
    /** What warns (the warning topic), not pages. */
    const queueAlarms: cloudwatch.Alarm[] = [];
    if (props.processingQueues) {
      const q = props.processingQueues;
      // Replicated uploads fill the queue while the pilot light runs no worker, and expire unprocessed (their results
      // were written in the primary): only a message a worker dead-lettered, or one waiting while workers run, is news.
      this.deadLetterQueueNotEmpty = new cloudwatch.Alarm(this, 'ProcessingDeadLetterQueueNotEmpty', {
        alarmName: `${props.alarmNamePrefix}Processing-DeadLetterQueueNotEmpty`,
        alarmDescription: describeAlarm({
          what: "A standby processing job failed three times and is in the standby dead-letter queue; the user's video is not being analysed.",
          action: 'Inspect the message and the standby worker logs, then redrive or delete it.',
          missingData: missingData(
            cloudwatch.TreatMissingData.IGNORE,
            'SQS stops publishing for a queue nobody touched for six hours while the message still waits, so silence keeps the last state.',
          ),
          runbook: props.runbook,
        }),
        metric: q.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      });
      const maxAge = Duration.minutes(Math.floor(q.retention.toMinutes() * STANDBY_QUEUE_AGE_SHARE_OF_RETENTION));
      this.queueBehind = new cloudwatch.Alarm(this, 'ProcessingQueueBehind', {
        alarmName: `${props.alarmNamePrefix}Processing-QueueBehind`,
        alarmDescription: describeAlarm({
          what:
            `While the standby worker runs (after a failover), the oldest upload in the standby queue has waited more than ${maxAge.toMinutes()} minutes for 15 minutes; ` +
            `at ${q.retention.toMinutes()} minutes SQS drops it and the video is never analysed.`,
          action: `Raise the standby worker's desired count (in ${Stack.of(this).region}) or look for stuck tasks in its logs.`,
          missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'Without running workers or messages there is nothing to be behind on.'),
          runbook: props.runbook,
        }),
        metric: new cloudwatch.MathExpression({
          expression: 'IF(running > 0, age, 0)',
          usingMetrics: {
            age: q.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
            running: new cloudwatch.Metric({
              namespace: 'ECS/ContainerInsights',
              metricName: 'RunningTaskCount',
              dimensionsMap: { ClusterName: q.clusterName, ServiceName: q.serviceName },
              statistic: cloudwatch.Stats.MAXIMUM,
              period: Duration.minutes(5),
            }),
          },
          period: Duration.minutes(5),
          label: 'oldest message while workers run (s)',
        }),
        threshold: maxAge.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      queueAlarms.push(this.deadLetterQueueNotEmpty, this.queueBehind);
    }
    if (props.apiWebAclName) {
      this.apiWebAclBlockedSurge = new cloudwatch.Alarm(
        this,
        'ApiWebAclBlockedSurge',
        blockedRequestsSurgeAlarmProps({
          acl: { name: props.apiWebAclName, scope: 'REGIONAL', label: 'Api' },
          region: Stack.of(this).region,
          alarmName: `${props.alarmNamePrefix}Api-WebAcl-BlockedRequestsSurge`,
          runbook: props.runbook,
        }),
      );
      queueAlarms.push(this.apiWebAclBlockedSurge);
    }
    const queueTopic = props.warningTopic ?? props.alarmTopic;
    for (const alarm of queueAlarms) {
      alarm.addAlarmAction(new actions.SnsAction(queueTopic));
      alarm.addOkAction(new actions.SnsAction(queueTopic));
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
