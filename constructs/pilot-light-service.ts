import { Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { LoadBalancedFargateService, type LoadBalancedFargateServiceProps } from './load-balanced-fargate-service';

/**
 * Properties of a PilotLightService.
 */
export interface PilotLightServiceProps extends LoadBalancedFargateServiceProps {
  /** Most tasks auto scaling may run once a failover has raised the service (the primary's `maxTasks`). */
  readonly maxTasks: number;
}

/**
 * Bounds of the pilot light's scalable target, the same for every environment
 * and config: CloudFormation re-applies a scalable target only when one of its
 * properties changes, so bounds that never change are never re-applied, and a
 * deploy cannot undo the bounds a failover set (RegisterScalableTarget moves
 * the current capacity into the registered range).
 */
export const PILOT_LIGHT_CAPACITY = { min: 0, max: 0 } as const;

/**
 * A standby copy of a service, built by the same code as the primary's
 * (`LoadBalancedFargateService`), that runs no task until a failover: the ECS
 * rolling-deployment controller (there is no traffic to shift and no CodeDeploy
 * in the standby), one target group behind the production listener, and a
 * scalable target held at 0..0.
 *
 * The template owns no running capacity after creation. It states no
 * DesiredCount: CloudFormation sends a stated DesiredCount with every update of
 * the service (a new image tag is one), which after a failover would scale the
 * live standby back to its pilot light. Without it ECS starts a new service
 * with one task, and the scalable target registered right after it (0..0)
 * brings it to zero: the first creation of the standby runs one task of each
 * service for a few minutes. The failover raises the bounds (`ops dr failover`
 * opens them to `maxTasks` before the Region switch plan raises the services,
 * and sets the primary's `minTasks` afterwards); a deploy leaves them alone
 * because they never change (PILOT_LIGHT_CAPACITY).
 *
 * Scaling policies (CPU, queue backlog) are attached to `scalableTarget` by
 * the caller; within 0..0 they cannot start a task from the pilot light (the
 * standby queue holds messages the primary already processed).
 */
export class PilotLightService extends LoadBalancedFargateService {
  /** The only target group: the tasks register here once the service runs. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** Task count held at PILOT_LIGHT_CAPACITY until a failover raises it. */
  public readonly scalableTarget: appscaling.ScalableTarget;
  /** Most tasks a failover lets auto scaling run (the primary's `maxTasks`); not in the template. */
  public readonly maxTasks: number;

  constructor(scope: Construct, id: string, props: PilotLightServiceProps) {
    if (!Number.isInteger(props.maxTasks) || props.maxTasks < 1) {
      throw new Error(`PilotLightService ${scope.node.path}/${id}: maxTasks must be a whole number of at least 1, got ${props.maxTasks}`);
    }
    super(scope, id, props, {
      controller: ecs.DeploymentControllerType.ECS,
      // No desiredCount: the template must not own the running capacity (see above).
      targetGroupId: 'TargetGroup',
      listenersDescription: 'production listener (pilot light)',
      // After a failover a task definition that cannot start must fail the deployment, not retry for hours.
      circuitBreaker: { enable: true, rollback: true },
    });
    this.targetGroup = this.primaryTargetGroup;
    this.maxTasks = props.maxTasks;
    this.service.node.addDependency(this.productionListener);

    const stack = Stack.of(this);
    this.scalableTarget = new appscaling.ScalableTarget(this, 'Scaling', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${props.cluster.clusterName}/${this.service.serviceName}`,
      minCapacity: PILOT_LIGHT_CAPACITY.min,
      maxCapacity: PILOT_LIGHT_CAPACITY.max,
      // The service-linked role Application Auto Scaling uses for ECS, as in the primary region.
      role: iam.Role.fromRoleArn(
        this,
        'ScalingRole',
        `arn:${stack.partition}:iam::${stack.account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`,
      ),
    });
    this.scalableTarget.node.addDependency(this.service);

    this.acknowledgeServiceFindings(
      props,
      [this.productionListener],
      props.internetFacing
        ? 'Without a domain there is no certificate for the standby load balancer: it accepts only CloudFront (origin-facing prefix list plus the secret origin header), and viewers reach CloudFront over HTTPS. A configured domain switches the listener to HTTPS.'
        : 'Internal standby load balancer for health checks inside the standby VPC only; there is no name a certificate could cover and the traffic never leaves the VPC.',
      'Internal standby load balancer that is not reachable from the internet; only health checks inside the standby VPC reach it.',
    );
  }
}
