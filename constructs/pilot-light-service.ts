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
 * A standby copy of a service, built by the same code as the primary's
 * (`LoadBalancedFargateService`), that runs no task until a failover: desired
 * count 0, the ECS rolling-deployment controller (there is no traffic to shift
 * and no CodeDeploy in the standby), one target group behind the production
 * listener, and a scalable target with minimum 0 whose dynamic scaling is
 * suspended. `ops dr failover` raises it: RegisterScalableTarget with the
 * primary's minimum and maximum and scaling resumed, then UpdateService.
 *
 * Scaling policies (CPU, queue backlog) are attached to `scalableTarget` by
 * the caller; while suspended they cannot start tasks from the pilot light
 * (the standby queue holds messages the primary already processed).
 */
export class PilotLightService extends LoadBalancedFargateService {
  /** The only target group: the tasks register here once the service runs. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** Task count between 0 and `maxTasks`, dynamic scaling suspended until a failover resumes it. */
  public readonly scalableTarget: appscaling.ScalableTarget;

  constructor(scope: Construct, id: string, props: PilotLightServiceProps) {
    if (!Number.isInteger(props.maxTasks) || props.maxTasks < 1) {
      throw new Error(`PilotLightService ${scope.node.path}/${id}: maxTasks must be a whole number of at least 1, got ${props.maxTasks}`);
    }
    super(scope, id, props, {
      controller: ecs.DeploymentControllerType.ECS,
      // Pilot light: everything exists, nothing runs (nor costs) until a failover.
      desiredCount: 0,
      targetGroupId: 'TargetGroup',
      listenersDescription: 'production listener (pilot light)',
      // After a failover a task definition that cannot start must fail the deployment, not retry for hours.
      circuitBreaker: { enable: true, rollback: true },
    });
    this.targetGroup = this.primaryTargetGroup;
    this.service.node.addDependency(this.productionListener);

    const stack = Stack.of(this);
    this.scalableTarget = new appscaling.ScalableTarget(this, 'Scaling', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${props.cluster.clusterName}/${this.service.serviceName}`,
      minCapacity: 0,
      maxCapacity: props.maxTasks,
      // The service-linked role Application Auto Scaling uses for ECS, as in the primary region.
      role: iam.Role.fromRoleArn(
        this,
        'ScalingRole',
        `arn:${stack.partition}:iam::${stack.account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`,
      ),
    });
    this.scalableTarget.node.addDependency(this.service);
    // Not in the L2: a pilot light must not be scaled out by a policy (the
    // standby queue's backlog would do it). `dr failover` resumes scaling.
    (this.scalableTarget.node.defaultChild as appscaling.CfnScalableTarget).suspendedState = {
      dynamicScalingInSuspended: true,
      dynamicScalingOutSuspended: true,
      scheduledScalingSuspended: true,
    };

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
