import { Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
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
  workerContractStatements,
} from '../lib/stacks/service-settings';
import { PROCESSING_VISIBILITY_TIMEOUT } from '../lib/stacks/processing-queues';
import type { ReleaseWatch } from './api-service';
import type { ServiceDatabase } from './load-balanced-fargate-service';
import { RollbackAlarms, WORKER_MIN_JOBS_PER_HOUR, type WorkerSignals } from './rollback-alarms';
import { RollingFargateService, type RollingFargateServiceProps } from './rolling-fargate-service';

/**
 * The worker's side of its deployment (runbooks/worker-contract.md): what the
 * processing container must do so that one release takes new jobs at a time
 * and no job is lost. The infrastructure gives it what each step needs (the
 * environment variables, the stop timeout, the permissions) and the tests
 * hold these numbers against the deployment's settings.
 */
export const WORKER_CONTRACT = {
  /**
   * The worker looks up whether its task definition is still the one of the
   * service's PRIMARY deployment (ecs:DescribeServices) at most this long
   * before it takes a job, and this often while a job runs. A release makes
   * its deployment PRIMARY when it starts, so the old release takes no new
   * job more than this long after the new one exists.
   */
  supersededCheckSeconds: 15,
  /** Longest ReceiveMessage long poll: a message received after the worker was superseded is handed back. */
  receiveWaitSeconds: 10,
  /**
   * Task scale-in protection the worker sets (ECS agent endpoint
   * `$ECS_AGENT_URI/task-protection/v1/state`) when it starts a job, renewed
   * while the job runs and cleared when it ends or is handed back: auto
   * scaling never stops a busy worker. Deployments respect it too, which is
   * why a superseded worker hands its job back and clears it at once.
   */
  protectionMinutes: 60,
  /** The worker renews its protection this often while a job runs. */
  protectionRenewMinutes: 15,
  /** After SIGTERM the worker checkpoints and hands its job back within this long (less than the stop timeout). */
  shutdownSeconds: 90,
  /** Longest job (minutes): a worker processes 2–4 videos an hour. */
  longestJobMinutes: 30,
} as const;

/**
 * Properties of a ProcessingService: the worker's rolling-update settings,
 * less what the worker decides itself (an internal load balancer for its
 * health endpoint, reachable by its canary's security group, a large scratch
 * volume, Fargate's longest stop timeout).
 */
export interface ProcessingServiceProps
  extends Omit<RollingFargateServiceProps, 'internetFacing' | 'productionPeers' | 'requiredHeader' | 'desiredCount' | 'ephemeralStorageGiB' | 'stopTimeout'> {
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
 * deployed as a worker by ECS rolling updates (not blue/green: a queue worker
 * has no traffic to shift, and a termination wait would keep two releases on
 * one queue), its health endpoint behind an internal load balancer that only
 * its health canary reaches. It reads uploads, writes results, publishes its
 * own metrics, scales on the backlog per task, and a release is rolled back
 * by the deployment circuit breaker and by the alarms `watchReleases()` adds
 * (job failure rate, unhealthy tasks, its canary). The worker's side of a
 * release is `WORKER_CONTRACT` (runbooks/worker-contract.md); its task role
 * may do what that contract asks.
 *
 * The rolling service is this construct's `Default` child, so its resources
 * keep the logical IDs they had before the composition (the container log
 * group is pinned by test/stateful-resources.test.ts).
 */
export class ProcessingService extends Construct {
  /** Task definition, load balancer, target group and the ECS service, deployed by rolling updates. */
  public readonly worker: RollingFargateService;
  /** Security group of whatever checks the health endpoint (the processing canary): the only production peer. */
  public readonly healthCheckSecurityGroup: ec2.SecurityGroup;
  /** What the task role may do: read uploads, write results, consume the queue, publish metrics. */
  public readonly taskPolicy: iam.ManagedPolicy;
  /** Task count between `minTasks` and `maxTasks`, tracking the backlog per task. */
  public readonly scaling: appscaling.ScalableTarget;
  /** The worker's own signals its rollback alarms watch: job metrics, the queue, its tasks. */
  public readonly workerSignals: WorkerSignals;
  private watched?: RollbackAlarms;

  constructor(scope: Construct, id: string, props: ProcessingServiceProps) {
    super(scope, id);
    if (!Number.isInteger(props.minTasks) || props.minTasks < 1 || !Number.isInteger(props.maxTasks) || props.maxTasks < props.minTasks) {
      throw new Error(`ProcessingService ${this.node.path}: minTasks must be a whole number of at least 1 and maxTasks at least minTasks, got ${props.minTasks} and ${props.maxTasks}`);
    }
    this.healthCheckSecurityGroup = new ec2.SecurityGroup(this, 'HealthCheckSecurityGroup', {
      vpc: props.cluster.vpc,
      description: 'Processing health canary: to the internal processing load balancer, S3 and CloudWatch',
      allowAllOutbound: false,
    });
    // The canary stores its artifacts in S3 and its metrics in CloudWatch (HTTPS); the load balancer rule is below.
    this.healthCheckSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to S3 and CloudWatch');
    const stack = Stack.of(this);
    this.worker = new RollingFargateService(this, 'Default', {
      ...props,
      environment: {
        ...props.environment,
        PROCESSING_QUEUE_URL: props.queue.queueUrl,
        METRICS_NAMESPACE: PROCESSING_METRICS_NAMESPACE,
        // What the worker contract needs to tell whether its release is still the service's PRIMARY deployment.
        ECS_CLUSTER_NAME: props.cluster.clusterName,
        ECS_SERVICE_NAME: props.serviceName,
      },
      ephemeralStorageGiB: PROCESSING_EPHEMERAL_STORAGE_GIB,
      desiredCount: props.minTasks,
      internetFacing: false,
      productionPeers: [this.healthCheckSecurityGroup],
    });
    // A separate rule: the load balancer's group already names this one (ingress), inline rules both ways would be a cycle.
    new ec2.CfnSecurityGroupEgress(this, 'HealthCheckToLoadBalancer', {
      groupId: this.healthCheckSecurityGroup.securityGroupId,
      destinationSecurityGroupId: this.worker.loadBalancerSecurityGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: this.worker.productionPort,
      toPort: this.worker.productionPort,
      description: 'Processing health canary to the internal processing load balancer',
    });
    this.worker.connectToDatabase(props.database);

    // Task ids are known only at run time; the ecs:cluster condition keeps the grant to this cluster's tasks.
    const tasks = `arn:${stack.partition}:ecs:${stack.region}:${stack.account}:task/*`;
    this.taskPolicy = new iam.ManagedPolicy(this, 'TaskPolicy', {
      description: `${props.serviceName}: read uploads, write results, consume the processing queue, follow its own deployment`,
      roles: [this.worker.taskDefinition.taskRole],
      statements: [
        ...processingTaskStatements({ ...props.storage, queueArn: props.queue.queueArn }),
        ...workerContractStatements({
          queueArn: props.queue.queueArn,
          serviceArn: this.worker.service.serviceArn,
          tasks,
          clusterArn: props.cluster.clusterArn,
        }),
      ],
    });
    acknowledge(
      this.taskPolicy,
      [...[props.storage.uploadsObjects, props.storage.resultsObjects, tasks].map((resource) => `AwsSolutions-IAM5[Resource::${resource}]`), 'AwsSolutions-IAM5[Resource::*]'],
      "The worker reads whichever upload a queue message names and writes its result under a key known only at run time (exactly s3:GetObject and s3:PutObject on one bucket each); PutMetricData has no resource-level permission and is limited to the BodyScript/Processing namespace by condition; task scale-in protection is set by the worker on its own task, whose id is known only at run time, within this cluster.",
    );

    this.scaling = new appscaling.ScalableTarget(this, 'Scaling', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${props.cluster.clusterName}/${this.worker.service.serviceName}`,
      minCapacity: props.minTasks,
      maxCapacity: props.maxTasks,
      // The service-linked role Application Auto Scaling uses for ECS (as the api's scaling does).
      role: iam.Role.fromRoleArn(this, 'ScalingRole', ecsScalingRoleArn(stack.partition, stack.account)),
    });
    this.scaling.node.addDependency(this.worker.service);
    processingBacklogPolicy(this, 'BacklogPerTask', {
      policyName: `${props.serviceName}-backlog-per-task`,
      scalingTargetId: this.scaling.scalableTargetId,
      queueName: props.queue.queueName,
      clusterName: props.cluster.clusterName,
      serviceName: this.worker.service.serviceName,
    });

    this.workerSignals = {
      metricsNamespace: PROCESSING_METRICS_NAMESPACE,
      metricsEnvironment: props.metricsEnvironment,
      queue: props.queue,
      visibilityTimeout: PROCESSING_VISIBILITY_TIMEOUT,
      clusterName: props.cluster.clusterName,
      serviceName: this.worker.service.serviceName,
      minimumJobsPerHour: props.minTasks * WORKER_MIN_JOBS_PER_HOUR,
    };
  }

  /** What ECS watches while deploying the worker (after `watchReleases()`). */
  public get rollbackAlarms(): RollbackAlarms {
    if (!this.watched) throw new Error(`ProcessingService ${this.node.path}: call watchReleases() first`);
    return this.watched;
  }

  /**
   * Rolls a deployment back (ECS deployment alarms) on what exists at the
   * worker's traffic: its health endpoint's targets, the processing canary
   * (created by the caller with `healthCheckSecurityGroup`) and the alarms
   * that fit in `watch.deploymentWatch` (ECS's bake time follows the longest
   * alarm); failing tasks, failed jobs and a stalled queue page through the
   * composite alarm when they are slower than that.
   */
  public watchReleases(watch: ReleaseWatch): RollbackAlarms {
    if (this.watched) throw new Error(`ProcessingService ${this.node.path}: watchReleases() may be called once`);
    this.watched = new RollbackAlarms(this, 'RollbackAlarms', {
      alarmNamePrefix: watch.alarmNamePrefix,
      loadBalancer: this.worker.loadBalancer,
      targetGroups: [this.worker.targetGroup],
      // Only the canary calls the health endpoint: no request rate to watch.
      traffic: 'health-checks',
      canaryAlarms: [watch.canaryAlarm],
      failedTasks: watch.failedTasks,
      worker: this.workerSignals,
      deploymentWatch: watch.deploymentWatch,
      alarmTopic: watch.alarmTopic,
    });
    this.worker.addRollbackAlarms(this.watched.alarms);
    return this.watched;
  }
}
