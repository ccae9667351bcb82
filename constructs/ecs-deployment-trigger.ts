import * as path from 'node:path';
import { CustomResource, Duration } from 'aws-cdk-lib';
import type * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { EcsAppSpec } from '@cdklabs/cdk-ecs-codedeploy';
import { Construct } from 'constructs';
import { acknowledgeDeploymentTimeFunctions, encryptFunctionLogs } from '../lib/deployment-time-functions';

/** The handler's code: one CommonJS file run by the Lambda Node.js runtime with the AWS SDK v3 it ships. */
export const TRIGGER_HANDLER_DIRECTORY = path.join(__dirname, '..', 'lambda', 'ecs-deployment-trigger');

/** The CloudFormation resource type of the trigger. */
export const TRIGGER_RESOURCE_TYPE = 'Custom::EcsDeploymentTrigger';

/** CloudFormation waits at most an hour for a custom resource. */
const MAX_TIMEOUT = Duration.hours(1);

/** The CodeDeploy events on which a deployment the trigger starts rolls back. */
export interface TriggerAutoRollback {
  /** Roll back when the deployment fails. */
  readonly failedDeployment: boolean;
  /** Roll back when the deployment is stopped (by `ops rollback` or by the trigger itself). */
  readonly stoppedDeployment: boolean;
  /** Roll back when a rollback alarm of the deployment group goes into ALARM. */
  readonly deploymentInAlarm: boolean;
}

/**
 * Properties of an EcsDeploymentTrigger.
 */
export interface EcsDeploymentTriggerProps {
  /** The deployment group of the service. */
  readonly deploymentGroup: codedeploy.IEcsDeploymentGroup;
  /** The CODE_DEPLOY service the deployment group deploys. */
  readonly service: ecs.IBaseService;
  /** The task definition to deploy; a new revision updates this resource. */
  readonly taskDefinition: ecs.ITaskDefinition;
  /** Container and port the load balancer sends traffic to. */
  readonly containerName: string;
  readonly containerPort: number;
  /** Description of the deployments it starts, e.g. `api release 1.4.0, started by cdk deploy`. */
  readonly description: string;
  /** When the deployments it starts roll back. */
  readonly autoRollback: TriggerAutoRollback;
  /**
   * How long CloudFormation waits for the release to be live (traffic moved)
   * before failing the stack update; at most an hour.
   */
  readonly timeout: Duration;
  /**
   * How often the handler looks at the deployment.
   *
   * @default Duration.seconds(15)
   */
  readonly queryInterval?: Duration;
  /** Key of the handler's log groups. */
  readonly logKey: kms.IKey;
  /** Retention of the handler's log groups. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * The resource that releases a new task definition of a CodeDeploy blue/green
 * ECS service when `cdk deploy` changes it, and reports the release done when
 * production traffic has moved to it (not when the original task set is
 * terminated). Its handler (lambda/ecs-deployment-trigger/index.cjs) reconciles
 * on every poll: it starts a deployment only when the service does not already
 * run the task definition, so a CloudFormation rollback after CodeDeploy has
 * rolled back finishes at once; during another deployment it stops that
 * deployment with auto-rollback when the wanted task definition is still its
 * original task set, ends a previous release's termination wait with
 * ContinueDeployment, or waits for a deployment still shifting traffic.
 *
 * It replaces @cdklabs/cdk-ecs-codedeploy's `EcsDeployment` (whose handler
 * starts a deployment on every Create and Update and waits for the end of the
 * termination wait) and keeps that library's AppSpec (`EcsAppSpec`).
 */
export class EcsDeploymentTrigger extends Construct {
  /** The custom resource. */
  public readonly resource: CustomResource;
  /** The role both handler functions run as. */
  public readonly role: iam.Role;
  /** The provider (Lambda functions and the Step Functions waiter of the CDK provider framework). */
  public readonly provider: cr.Provider;

  constructor(scope: Construct, id: string, props: EcsDeploymentTriggerProps) {
    super(scope, id);
    const where = `EcsDeploymentTrigger ${this.node.path}`;
    if (props.timeout.toSeconds() > MAX_TIMEOUT.toSeconds() || props.timeout.toSeconds() < 60) {
      throw new Error(`${where}: timeout must be 1–60 minutes (CloudFormation waits at most an hour for a custom resource), got ${props.timeout.toHumanString()}`);
    }
    const interval = props.queryInterval ?? Duration.seconds(15);
    if (interval.toSeconds() < 5 || interval.toSeconds() > 300) {
      throw new Error(`${where}: queryInterval must be 5–300 seconds, got ${interval.toSeconds()} seconds`);
    }
    const group = props.deploymentGroup;

    this.role = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Starts and follows CodeDeploy deployments of ${group.deploymentGroupName} for CloudFormation`,
    });
    // Written out rather than AWSLambdaBasicExecutionRole: the function's own log group only.
    const policy = new iam.ManagedPolicy(this, 'HandlerPolicy', {
      description: `Deploy ${group.deploymentGroupName} from CloudFormation: CodeDeploy on this group only, read its ECS service, write its own logs`,
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'DeployThisGroup',
          actions: [
            'codedeploy:CreateDeployment',
            'codedeploy:GetDeployment',
            'codedeploy:StopDeployment',
            'codedeploy:ContinueDeployment',
            'codedeploy:ListDeployments',
            'codedeploy:BatchGetDeployments',
            'codedeploy:ListDeploymentTargets',
            'codedeploy:BatchGetDeploymentTargets',
          ],
          resources: [group.deploymentGroupArn],
        }),
        new iam.PolicyStatement({
          sid: 'CreateDeploymentReadsItsApplicationAndConfig',
          actions: ['codedeploy:GetApplicationRevision', 'codedeploy:RegisterApplicationRevision'],
          resources: [group.application.applicationArn],
        }),
        new iam.PolicyStatement({ sid: 'ReadTheDeploymentConfig', actions: ['codedeploy:GetDeploymentConfig'], resources: [group.deploymentConfig.deploymentConfigArn] }),
        new iam.PolicyStatement({ sid: 'ReadTheService', actions: ['ecs:DescribeServices'], resources: [props.service.serviceArn] }),
      ],
    });

    const code = lambda.Code.fromAsset(TRIGGER_HANDLER_DIRECTORY);
    const handler = (handlerId: string, entry: 'onEvent' | 'isComplete', purpose: string) => {
      const logGroup = new logs.LogGroup(this, `${handlerId}Logs`, { encryptionKey: props.logKey, retention: props.logRetention });
      const fn = new lambda.Function(this, handlerId, {
        description: `${purpose} (${group.deploymentGroupName})`,
        runtime: lambda.determineLatestNodeRuntime(this),
        code,
        handler: `index.${entry}`,
        role: this.role,
        // Each call reads a few CodeDeploy and ECS APIs; a minute is ample and bounded.
        timeout: Duration.seconds(60),
        memorySize: 256,
        logGroup,
      });
      logGroup.grantWrite(this.role);
      return fn;
    };
    const onEvent = handler('OnEvent', 'onEvent', 'Takes the first step of a release when CloudFormation creates or updates the trigger');
    const isComplete = handler('IsComplete', 'isComplete', 'Takes the next step of a release on every poll until production traffic has moved');

    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: onEvent,
      isCompleteHandler: isComplete,
      queryInterval: interval,
      totalTimeout: props.timeout,
    });

    const events = [
      ...(props.autoRollback.deploymentInAlarm ? ['DEPLOYMENT_STOP_ON_ALARM'] : []),
      ...(props.autoRollback.failedDeployment ? ['DEPLOYMENT_FAILURE'] : []),
      ...(props.autoRollback.stoppedDeployment ? ['DEPLOYMENT_STOP_ON_REQUEST'] : []),
    ];
    const appSpec = new EcsAppSpec({ taskDefinition: props.taskDefinition, containerName: props.containerName, containerPort: props.containerPort });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.provider.serviceToken,
      resourceType: TRIGGER_RESOURCE_TYPE,
      properties: {
        ApplicationName: group.application.applicationName,
        DeploymentGroupName: group.deploymentGroupName,
        DeploymentConfigName: group.deploymentConfig.deploymentConfigName,
        Cluster: props.service.cluster.clusterName,
        Service: props.service.serviceName,
        TaskDefinition: props.taskDefinition.taskDefinitionArn,
        AppSpec: appSpec.toString(),
        Description: props.description,
        AutoRollbackEvents: events.join(','),
      },
    });
    // The deployment group must exist (and so the service) before a deployment can start.
    this.resource.node.addDependency(group, policy);

    // The provider framework's own log groups follow the environment's key and retention.
    encryptFunctionLogs(this, props.logKey, props.logRetention);
    acknowledgeDeploymentTimeFunctions(
      this,
      'Deployment-time provider (CDK provider framework): it runs only during cdk deploy, calls nothing but CodeDeploy for this deployment group and DescribeServices for this service, holds no data, and its failures surface as the failed stack update.',
      { waiterStateMachine: true },
    );
  }
}
