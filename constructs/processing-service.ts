import { Duration, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import {
  ecsScalingRoleArn,
  PROCESSING_EPHEMERAL_STORAGE_GIB,
  PROCESSING_METRICS_NAMESPACE,
  processingBacklogPolicy,
  processingTaskStatements,
  type TaskPolicyResources,
} from '../lib/stacks/service-settings';
import type { ReleaseWatch } from './api-service';
import { BlueGreenService, type BlueGreenServiceProps } from './blue-green-service';
import type { ServiceDatabase } from './load-balanced-fargate-service';
import { RollbackAlarms } from './rollback-alarms';

/**
 * Properties of a ProcessingService: the blue/green service's settings, less
 * what the worker decides itself (an internal load balancer for its health
 * endpoint, reachable by its canary's security group, a large scratch volume).
 */
export interface ProcessingServiceProps
  extends Omit<BlueGreenServiceProps, 'internetFacing' | 'productionPeers' | 'requiredHeader' | 'desiredCount' | 'ephemeralStorageGiB'> {
  /** Subnets of the internal load balancer (the application subnet group). */
  readonly loadBalancerSubnets: ec2.SubnetSelection;
  /** The queue of upload events the worker consumes (encrypted with `storage.dataKeyArn`). */
  readonly queue: sqs.IQueue;
  /** Tasks the service starts with and auto scaling keeps at least. */
  readonly minTasks: number;
  /** Tasks auto scaling may run at most. */
  readonly maxTasks: number;
  /** Objects the worker reads (uploads) and writes (results), and the key that encrypts them. */
  readonly storage: TaskPolicyResources;
  /** The database the tasks connect to. */
  readonly database: ServiceDatabase;
  /** Name of the `Environment` dimension of the worker's own metrics (the environment name). */
  readonly metricsEnvironment: string;
}

/**
 * The processing worker: MediaPipe on Fargate, fed by the processing queue,
 * deployed blue/green by CodeDeploy, its health endpoint behind an internal
 * load balancer that only its health canary reaches. It reads uploads, writes
 * results, publishes its own metrics, scales on the backlog per task, and is
 * rolled back by the alarms `watchReleases()` adds (including its job failure
 * rate).
 *
 * The blue/green service is this construct's `Default` child, so its resources
 * keep the logical IDs they had before the composition (the container log
 * group is pinned by test/stateful-resources.test.ts).
 */
export class ProcessingService extends Construct {
  /** Task definition, load balancer, blue and green target groups, CodeDeploy. */
  public readonly blueGreen: BlueGreenService;
  /** Security group of whatever checks the health endpoint (the processing canary): the only production peer. */
  public readonly healthCheckSecurityGroup: ec2.SecurityGroup;
  /** What the task role may do: read uploads, write results, consume the queue, publish metrics. */
  public readonly taskPolicy: iam.ManagedPolicy;
  /** Task count between `minTasks` and `maxTasks`, tracking the backlog per task. */
  public readonly scaling: appscaling.ScalableTarget;
  /** Share of jobs that failed (percent, per minute), from the worker's own metrics. */
  public readonly jobFailureRate: cloudwatch.MathExpression;
  private watched?: RollbackAlarms;

  constructor(scope: Construct, id: string, props: ProcessingServiceProps) {
    super(scope, id);
    if (!Number.isInteger(props.minTasks) || props.minTasks < 1 || !Number.isInteger(props.maxTasks) || props.maxTasks < props.minTasks) {
      throw new Error(`ProcessingService ${this.node.path}: minTasks must be a whole number of at least 1 and maxTasks at least minTasks, got ${props.minTasks} and ${props.maxTasks}`);
    }
    this.healthCheckSecurityGroup = new ec2.SecurityGroup(this, 'HealthCheckSecurityGroup', {
      vpc: props.cluster.vpc,
      description: 'Processing health canary: to the internal processing load balancer, S3 and CloudWatch',
      allowAllOutbound: true,
    });
    this.blueGreen = new BlueGreenService(this, 'Default', {
      ...props,
      environment: { ...props.environment, PROCESSING_QUEUE_URL: props.queue.queueUrl, METRICS_NAMESPACE: PROCESSING_METRICS_NAMESPACE },
      ephemeralStorageGiB: PROCESSING_EPHEMERAL_STORAGE_GIB,
      desiredCount: props.minTasks,
      internetFacing: false,
      productionPeers: [this.healthCheckSecurityGroup],
    });
    this.blueGreen.connectToDatabase(props.database);

    this.taskPolicy = new iam.ManagedPolicy(this, 'TaskPolicy', {
      description: `${props.serviceName}: read uploads, write results, consume the processing queue`,
      roles: [this.blueGreen.taskDefinition.taskRole],
      statements: processingTaskStatements({ ...props.storage, queueArn: props.queue.queueArn }),
    });
    acknowledge(
      this.taskPolicy,
      [...[props.storage.uploadsObjects, props.storage.resultsObjects].map((objects) => `AwsSolutions-IAM5[Resource::${objects}]`), 'AwsSolutions-IAM5[Resource::*]'],
      'The worker reads whichever upload a queue message names and writes its result under a key known only at run time (exactly s3:GetObject and s3:PutObject on one bucket each); PutMetricData has no resource-level permission and is limited to the BodyScript/Processing namespace by condition.',
    );

    const stack = Stack.of(this);
    this.scaling = new appscaling.ScalableTarget(this, 'Scaling', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${props.cluster.clusterName}/${this.blueGreen.service.serviceName}`,
      minCapacity: props.minTasks,
      maxCapacity: props.maxTasks,
      // The service-linked role Application Auto Scaling uses for ECS (as the api's scaling does).
      role: iam.Role.fromRoleArn(this, 'ScalingRole', ecsScalingRoleArn(stack.partition, stack.account)),
    });
    this.scaling.node.addDependency(this.blueGreen.service);
    processingBacklogPolicy(this, 'BacklogPerTask', {
      policyName: `${props.serviceName}-backlog-per-task`,
      scalingTargetId: this.scaling.scalableTargetId,
      queueName: props.queue.queueName,
      clusterName: props.cluster.clusterName,
      serviceName: this.blueGreen.service.serviceName,
    });

    const metric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: PROCESSING_METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { Environment: props.metricsEnvironment },
        statistic: 'Sum',
        period: Duration.minutes(1),
      });
    this.jobFailureRate = new cloudwatch.MathExpression({
      expression: 'IF((processed + failures) > 0, 100 * failures / (processed + failures), 0)',
      usingMetrics: { processed: metric('VideosProcessed'), failures: metric('ProcessingFailures') },
      label: 'Failed jobs (%)',
      period: Duration.minutes(1),
    });
  }

  /** What CodeDeploy watches while deploying the worker (after `watchReleases()`). */
  public get rollbackAlarms(): RollbackAlarms {
    if (!this.watched) throw new Error(`ProcessingService ${this.node.path}: call watchReleases() first`);
    return this.watched;
  }

  /**
   * Rolls a deployment back on the health endpoint's load balancer metrics,
   * the job failure rate and the processing canary (created by the caller with
   * `healthCheckSecurityGroup`).
   */
  public watchReleases(watch: ReleaseWatch): RollbackAlarms {
    if (this.watched) throw new Error(`ProcessingService ${this.node.path}: watchReleases() may be called once`);
    this.watched = new RollbackAlarms(this, 'RollbackAlarms', {
      alarmNamePrefix: watch.alarmNamePrefix,
      loadBalancer: this.blueGreen.loadBalancer,
      targetGroups: [this.blueGreen.blueTargetGroup, this.blueGreen.greenTargetGroup],
      canaryAlarms: [watch.canaryAlarm],
      jobFailureMetric: this.jobFailureRate,
      alarmTopic: watch.alarmTopic,
    });
    this.blueGreen.addRollbackAlarms(this.watched.alarms);
    return this.watched;
  }
}
