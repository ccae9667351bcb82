import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Construct } from 'constructs';
import { FARGATE_MAX_STOP_TIMEOUT, LoadBalancedFargateService, type LoadBalancedFargateServiceProps } from './load-balanced-fargate-service';

/**
 * A worker's health endpoint serves nothing a user waits for: its target is
 * dropped at once, so ECS sends SIGTERM to a replaced task without waiting.
 */
export const WORKER_DEREGISTRATION_DELAY = Duration.seconds(5);

/** ECS deployment alarms: at most this many per service (as CodeDeploy's deployment groups). */
export const MAX_DEPLOYMENT_ALARMS = 10;

/**
 * Properties of a RollingFargateService.
 */
export interface RollingFargateServiceProps extends LoadBalancedFargateServiceProps {
  /** Tasks the service starts with; auto scaling moves it between its bounds later. */
  readonly desiredCount: number;
  /**
   * Time between SIGTERM and SIGKILL: what the worker has to hand its job back
   * (at most 120 s on Fargate).
   *
   * @default FARGATE_MAX_STOP_TIMEOUT (120 s)
   */
  readonly stopTimeout?: Duration;
}

/**
 * A Fargate service deployed by ECS rolling updates, for queue workers: a
 * queue worker has no traffic to shift, and CodeDeploy blue/green would keep
 * two releases polling one queue for the whole termination wait. A release
 * starts the new tasks next to the old ones (100 % minimum healthy, 200 %
 * maximum), then ECS stops each old task (SIGTERM, then SIGKILL after
 * `stopTimeout`, Fargate's maximum of 120 s by default). The deployment
 * circuit breaker rolls back a release whose tasks do not start or stay
 * unhealthy, and the alarms given to `addRollbackAlarms()` roll it back
 * while it deploys and during ECS's bake time after it. Replaced task
 * definitions stay ACTIVE so that `ops rollback` can deploy one again.
 *
 * Its health endpoint sits behind the internal load balancer of
 * `LoadBalancedFargateService` (one target group), which its canary checks.
 */
export class RollingFargateService extends LoadBalancedFargateService {
  /** The only target group: the worker's health endpoint. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** What ECS gives a stopped task before SIGKILL. */
  public readonly stopTimeout: Duration;
  private readonly rollbackAlarmNames: string[] = [];

  constructor(scope: Construct, id: string, props: RollingFargateServiceProps) {
    if (!Number.isInteger(props.desiredCount) || props.desiredCount < 1) {
      throw new Error(`RollingFargateService ${scope.node.path}/${id}: desiredCount must be a whole number of at least 1, got ${props.desiredCount}`);
    }
    const stopTimeout = props.stopTimeout ?? FARGATE_MAX_STOP_TIMEOUT;
    super(scope, id, props, {
      controller: ecs.DeploymentControllerType.ECS,
      desiredCount: props.desiredCount,
      targetGroupId: 'TargetGroup',
      listenersDescription: 'production listener (worker health endpoint)',
      // A release whose tasks cannot start or stay healthy is rolled back, not retried for hours.
      circuitBreaker: { enable: true, rollback: true },
      stopTimeout,
      deregistrationDelay: WORKER_DEREGISTRATION_DELAY,
      retainReplacedTaskDefinitions: true,
    });
    this.stopTimeout = stopTimeout;
    this.targetGroup = this.primaryTargetGroup;
    this.service.node.addDependency(this.productionListener);

    this.node.addValidation({
      validate: () =>
        this.rollbackAlarmNames.length === 0
          ? [`RollingFargateService ${this.node.path}: call addRollbackAlarms() with at least one alarm (e.g. RollbackAlarms.alarms), or a bad release is never rolled back on the worker's own signals`]
          : this.rollbackAlarmNames.length > MAX_DEPLOYMENT_ALARMS
            ? [`RollingFargateService ${this.node.path}: at most ${MAX_DEPLOYMENT_ALARMS} deployment alarms, got ${this.rollbackAlarmNames.length}`]
            : [],
    });
    this.acknowledgeServiceFindings(
      props,
      [this.productionListener],
      props.internetFacing
        ? 'Without a domain there is no certificate for the load balancer: it accepts only CloudFront, and viewers reach CloudFront over HTTPS.'
        : 'Internal load balancer for the worker health endpoint inside the VPC only (its canary); there is no name a certificate could cover and the traffic never leaves the VPC.',
      'Internal load balancer that is not reachable from the internet; only the health canary inside the VPC reaches it.',
    );
  }

  /**
   * Metric alarms that fail and roll back a deployment (ECS deployment
   * alarms): ECS watches them from the first new task until the end of the
   * bake time it derives from their periods. Called once, with every alarm.
   */
  public addRollbackAlarms(alarms: readonly cloudwatch.IAlarm[]): void {
    if (this.rollbackAlarmNames.length > 0) {
      // aws-cdk-lib 2.276's enableDeploymentAlarms() drops the names of a second call (its concat result is discarded).
      throw new Error(`RollingFargateService ${this.node.path}: addRollbackAlarms() may be called once, with every alarm`);
    }
    if (alarms.length === 0) return;
    const names = alarms.map(literalAlarmName);
    this.rollbackAlarmNames.push(...names);
    this.service.enableDeploymentAlarms(names, { behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM });
  }
}

/**
 * The alarm's name as a literal when the app named it: a reference (`Ref`)
 * from the service to an alarm whose metric names the service would make
 * the two depend on each other.
 */
function literalAlarmName(alarm: cloudwatch.IAlarm): string {
  const resource = alarm.node.defaultChild;
  if (resource instanceof cloudwatch.CfnAlarm && typeof resource.alarmName === 'string' && !Token.isUnresolved(resource.alarmName)) return resource.alarmName;
  return alarm.alarmName;
}
