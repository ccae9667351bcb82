import type { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { limitServiceRoleTrust } from '../lib/service-role-trust';
import { EcsDeploymentTrigger } from './ecs-deployment-trigger';
import { LoadBalancedFargateService, type LoadBalancedFargateServiceProps } from './load-balanced-fargate-service';

export { CONTAINER_USER, type RequiredHeader, TARGET_HEALTH_CHECK_INTERVAL } from './load-balanced-fargate-service';

/**
 * Properties of a BlueGreenService.
 */
export interface BlueGreenServiceProps extends LoadBalancedFargateServiceProps {
  /** The release being deployed (the image tag); it names the CodeDeploy deployment that `cdk deploy` starts. */
  readonly release: string;
  /** Tasks the service starts with; auto scaling moves it between its bounds later. */
  readonly desiredCount: number;
  /** Who may reach the test listener (which serves the green task set during a deployment). */
  readonly testPeers: ec2.IPeer[];

  /** CodeDeploy application name (see `codeDeployApplicationName()` in lib/naming.ts). */
  readonly applicationName: string;
  /** CodeDeploy deployment group name (see `deploymentGroupName()` in lib/naming.ts). */
  readonly deploymentGroupName: string;
  /** How CodeDeploy shifts traffic to the green task set. */
  readonly deploymentConfig: codedeploy.IEcsDeploymentConfig;
  /** How long the blue task set keeps running after the switch, so a rollback is instant. */
  readonly terminationWait: Duration;
  /**
   * A release started by `cdk deploy` fails the stack update when its traffic
   * has not moved after this long (CloudFormation waits at most an hour for
   * the deployment resource).
   */
  readonly deploymentTimeout: Duration;
}

/**
 * An ECS Fargate service that CodeDeploy deploys blue/green: everything of a
 * `LoadBalancedFargateService` (task definition, load balancer, production
 * listener, the service) with the CODE_DEPLOY controller, plus a test listener,
 * the green target group, the CodeDeploy application and deployment group
 * (rollback on failure, on stop and on alarm), and the deployment trigger
 * (`EcsDeploymentTrigger`) that starts a CodeDeploy deployment whenever
 * `cdk deploy` changes the task definition, completes once production traffic
 * has moved (the original task set stays for the termination wait, so a
 * rollback during it is instant), and fails the stack update when CodeDeploy
 * rolls back. The task definition a release replaces stays ACTIVE, so that a
 * rollback after the wait can deploy it again.
 *
 * Rollback alarms are added with `addRollbackAlarms()` once the caller has
 * built them from the target groups exposed here.
 */
export class BlueGreenService extends LoadBalancedFargateService {
  /** Listener of test traffic: the green task set during a deployment. */
  public readonly testListener: elbv2.ApplicationListener;
  /** Target group of the task set in service when the stack is created. */
  public readonly blueTargetGroup: elbv2.ApplicationTargetGroup;
  /** Target group of the replacement task set of the first deployment. */
  public readonly greenTargetGroup: elbv2.ApplicationTargetGroup;
  /** The CodeDeploy application. */
  public readonly application: codedeploy.EcsApplication;
  /** The CodeDeploy deployment group. */
  public readonly deploymentGroup: codedeploy.EcsDeploymentGroup;
  /** The resource that starts a CodeDeploy deployment when the task definition changes. */
  public readonly deployment: EcsDeploymentTrigger;
  /** Port of the test listener. */
  public readonly testPort: number;

  constructor(scope: Construct, id: string, props: BlueGreenServiceProps) {
    if (props.deploymentTimeout.toMinutes() > 60) {
      throw new Error(`BlueGreenService ${scope.node.path}/${id}: deploymentTimeout must be at most 60 minutes (CloudFormation waits at most an hour for a custom resource), got ${props.deploymentTimeout.toMinutes()} minutes`);
    }
    super(scope, id, props, {
      controller: ecs.DeploymentControllerType.CODE_DEPLOY,
      desiredCount: props.desiredCount,
      targetGroupId: 'BlueTargetGroup',
      listenersDescription: 'production and test listeners',
      retainReplacedTaskDefinitions: true,
    });
    this.blueTargetGroup = this.primaryTargetGroup;

    // --- Test listener and green target group ---------------------------
    this.testPort = props.certificate ? 8443 : 8080;
    for (const peer of props.testPeers) {
      this.loadBalancerSecurityGroup.addIngressRule(peer, ec2.Port.tcp(this.testPort), `test listener from ${peer.uniqueId}`);
    }
    this.greenTargetGroup = this.newTargetGroup('GreenTargetGroup', props.containerPort);
    this.testListener = this.addListener('TestListener', this.testPort, props.certificate, this.greenTargetGroup);
    // CodeDeploy registers the green task set itself; the load balancer must
    // still be allowed to reach it, which the blue registration already
    // opened (same security group, same port).
    this.service.node.addDependency(this.productionListener, this.testListener);

    // --- CodeDeploy ------------------------------------------------------
    this.application = new codedeploy.EcsApplication(this, 'Application', { applicationName: props.applicationName });
    this.deploymentGroup = new codedeploy.EcsDeploymentGroup(this, 'DeploymentGroup', {
      application: this.application,
      deploymentGroupName: props.deploymentGroupName,
      service: this.service,
      deploymentConfig: props.deploymentConfig,
      blueGreenDeploymentConfig: {
        blueTargetGroup: this.blueTargetGroup,
        greenTargetGroup: this.greenTargetGroup,
        listener: this.productionListener,
        testListener: this.testListener,
        terminationWaitTime: props.terminationWait,
      },
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    // Only CodeDeploy deploying this deployment group may assume its service role
    // (security review L2): the group's ARN from its names (the group names the role).
    limitServiceRoleTrust(this.deploymentGroup.role, 'codedeploy.amazonaws.com', { resourceName: `${props.applicationName}/${props.deploymentGroupName}` });
    this.deployment = new EcsDeploymentTrigger(this, 'Release', {
      deploymentGroup: this.deploymentGroup,
      service: this.service,
      taskDefinition: this.taskDefinition,
      containerName: props.containerName,
      containerPort: props.containerPort,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
      // Any change of the task definition replaces it, and its new ARN in the
      // AppSpec updates this resource, which starts a CodeDeploy deployment.
      description: `${props.serviceName} release ${props.release}, started by cdk deploy`,
      timeout: props.deploymentTimeout,
      logKey: props.logKey,
      logRetention: props.logRetention,
    });

    // A deployment nothing watches would never roll back on its own.
    this.node.addValidation({
      validate: () =>
        this.rollbackAlarmCount === 0
          ? [`BlueGreenService ${this.node.path}: call addRollbackAlarms() with at least one alarm (e.g. RollbackAlarms.alarms), or a bad release is never rolled back`]
          : this.rollbackAlarmCount > 10
            ? [`BlueGreenService ${this.node.path}: CodeDeploy watches at most 10 alarms, got ${this.rollbackAlarmCount}`]
            : [],
    });
    this.acknowledgeServiceFindings(
      props,
      [this.productionListener, this.testListener],
      props.internetFacing
        ? 'Without a domain there is no certificate for the load balancer: it accepts only CloudFront (origin-facing prefix list plus a secret origin header), and viewers reach CloudFront over HTTPS; the test listener is open to the VPC only. A configured domain switches both listeners to HTTPS.'
        : 'Internal load balancer for health checks inside the VPC only (canary and CodeDeploy test traffic); there is no name a certificate could cover and the traffic never leaves the VPC.',
      'Internal load balancer that is not reachable from the internet; only the health canary and CodeDeploy test traffic inside the VPC reach it.',
    );
    acknowledge(
      this.deploymentGroup.role,
      ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSCodeDeployRoleForECS]'],
      'AWSCodeDeployRoleForECS is the service-role policy AWS documents for CodeDeploy ECS blue/green; the role can only be assumed by codedeploy.amazonaws.com and AWS keeps the policy in step with the service.',
    );
  }

  /** Alarms that make CodeDeploy stop and roll back a deployment (at most 10). */
  public addRollbackAlarms(alarms: readonly cloudwatch.IAlarm[]): void {
    for (const alarm of alarms) this.deploymentGroup.addAlarm(alarm);
    this.rollbackAlarmCount += alarms.length;
  }

  private rollbackAlarmCount = 0;
}
