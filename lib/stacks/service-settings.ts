import { Duration } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { SUBNET_GROUPS } from '../../constructs/application-vpc';
import { S3_SIGNING_ENVIRONMENT } from '../browser-access';
import type { DeploymentStrategy, EnvironmentConfig } from '../config';
import { codeDeployApplicationName, deploymentGroupName, ecsServiceName, type ServiceName, serviceLogGroupName, taskFamilyName } from '../naming';

/**
 * What the primary's blue/green services and the standby's pilot light share:
 * ports, header names, scaling targets, task policies and the task settings
 * taken from config. Both regions build their services from these, so that a
 * failover runs what the primary ran.
 */

/** Port both application containers listen on. */
export const CONTAINER_PORT = 8000;

/** Header CloudFront adds to api requests; the load balancer forwards only requests that carry the secret value. */
export const ORIGIN_VERIFY_HEADER = 'X-Origin-Verify';

/** Managed prefix list of CloudFront's origin-facing addresses (looked up once, answer committed in cdk.context.json). */
export const CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = 'com.amazonaws.global.cloudfront.origin-facing';

/**
 * Processing backlog (queued videos) per running worker that auto scaling
 * keeps. A worker processes 2–4 videos an hour (15–30 minutes each), so two
 * waiting videos per worker means a new upload starts within about an hour
 * at worst, without starting a task for every single upload.
 */
export const PROCESSING_BACKLOG_PER_TASK = 2;

/** The api scales out above this average CPU. */
export const API_TARGET_CPU_PERCENT = 60;

/** Namespace and names of the processing worker's own metrics (see runbooks/metrics.md). */
export const PROCESSING_METRICS_NAMESPACE = 'BodyScript/Processing';

/** Videos and MediaPipe's intermediate frames are written to /tmp: the worker's ephemeral storage (GiB). */
export const PROCESSING_EPHEMERAL_STORAGE_GIB = 50;

/** How CodeDeploy shifts traffic, per configured strategy. */
export const DEPLOYMENT_CONFIGS: Record<DeploymentStrategy, codedeploy.IEcsDeploymentConfig> = {
  'all-at-once': codedeploy.EcsDeploymentConfig.ALL_AT_ONCE,
  'canary-10-percent-5-minutes': codedeploy.EcsDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  'linear-10-percent-every-1-minute': codedeploy.EcsDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTES,
};

/** How CodeDeploy deploys a service of the primary region: its names and the configured strategy, wait and timeout. */
export function blueGreenDeploymentSettings(config: EnvironmentConfig, service: ServiceName) {
  const env = config.name;
  return {
    applicationName: codeDeployApplicationName(env, service),
    deploymentGroupName: deploymentGroupName(env, service),
    deploymentConfig: DEPLOYMENT_CONFIGS[config.deployment.strategy],
    terminationWait: Duration.minutes(config.deployment.terminationWaitMinutes),
    deploymentTimeout: Duration.minutes(config.deployment.timeoutMinutes),
  };
}

/** The ARN of the service-linked role Application Auto Scaling uses for ECS services. */
export function ecsScalingRoleArn(partition: string, account: string): string {
  return `arn:${partition}:iam::${account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`;
}

/** Resources a service's task role is granted: object ARNs (`<bucket ARN>/*`), the data key, the queue. */
export interface TaskPolicyResources {
  readonly uploadsObjects: string;
  readonly resultsObjects: string;
  readonly dataKeyArn: string;
  /** Region of the buckets, the queue and the data key (the services' own): the key is used only through S3 and SQS there. */
  readonly region: string;
}

/**
 * The data key, only as S3 and SQS use it on the task's behalf (security review
 * L7): a task encrypts and decrypts objects and messages, never arbitrary data
 * with the key itself. `kms:ViaService` "limits use of a KMS key to requests
 * from specified AWS services", named `<service>.<region>.amazonaws.com`
 * (AWS KMS Developer Guide, condition keys, kms:ViaService; S3 and SQS are in
 * its table of services that support it). S3 calls KMS with the requester's
 * permissions for SSE-KMS objects, also for requests signed by presigned URLs;
 * SQS for the messages of an SSE-KMS queue.
 */
function useDataKeyThrough(r: TaskPolicyResources, services: readonly ('s3' | 'sqs')[]): iam.PolicyStatement {
  const via = services.map((service) => `${service}.${r.region}.amazonaws.com`);
  return new iam.PolicyStatement({
    sid: 'UseDataKey',
    actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
    resources: [r.dataKeyArn],
    conditions: { StringEquals: { 'kms:ViaService': via.length === 1 ? via[0] : via } },
  });
}

/** The api signs upload URLs into the uploads bucket and download URLs of results (primary and standby alike). */
export function apiTaskStatements(r: TaskPolicyResources): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ sid: 'PutUploads', actions: ['s3:PutObject'], resources: [r.uploadsObjects] }),
    new iam.PolicyStatement({ sid: 'GetResults', actions: ['s3:GetObject'], resources: [r.resultsObjects] }),
    useDataKeyThrough(r, ['s3']),
  ];
}

/**
 * Least privilege of the processing worker (primary and standby alike): read
 * uploads, write results, consume the queue, use the data key for those,
 * publish its own metrics; nothing else.
 */
export function processingTaskStatements(r: TaskPolicyResources & { readonly queueArn: string }): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ sid: 'ReadUploads', actions: ['s3:GetObject'], resources: [r.uploadsObjects] }),
    new iam.PolicyStatement({ sid: 'WriteResults', actions: ['s3:PutObject'], resources: [r.resultsObjects] }),
    new iam.PolicyStatement({
      sid: 'ConsumeQueue',
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      resources: [r.queueArn],
    }),
    // The queue is encrypted with the data key too (lib/stacks/processing-queues.ts): receiving decrypts, handing a job back encrypts.
    useDataKeyThrough(r, ['s3', 'sqs']),
    new iam.PolicyStatement({
      sid: 'PublishProcessingMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': PROCESSING_METRICS_NAMESPACE } },
    }),
  ];
}

/**
 * What the processing worker's deployment contract (runbooks/worker-contract.md)
 * needs on top of `processingTaskStatements`: read its own service to tell
 * whether its release is still the PRIMARY deployment, set task scale-in
 * protection on its own task while a job runs, and hand a job back to the
 * queue as a fresh message (SendMessage, then DeleteMessage of the one it
 * received) so that a release never counts against the dead-letter limit.
 */
export function workerContractStatements(r: { readonly queueArn: string; readonly serviceArn: string; readonly tasks: string; readonly clusterArn: string }): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ sid: 'HandJobsBack', actions: ['sqs:SendMessage'], resources: [r.queueArn] }),
    new iam.PolicyStatement({ sid: 'FollowOwnDeployment', actions: ['ecs:DescribeServices'], resources: [r.serviceArn] }),
    new iam.PolicyStatement({
      sid: 'ProtectOwnTaskWhileBusy',
      actions: ['ecs:GetTaskProtection', 'ecs:UpdateTaskProtection'],
      resources: [r.tasks],
      conditions: { ArnEquals: { 'ecs:cluster': r.clusterArn } },
    }),
  ];
}

/**
 * Target tracking of the processing worker on its backlog per task: queued
 * videos divided by running workers (primary and standby alike).
 */
export function processingBacklogPolicy(
  scope: Construct,
  id: string,
  props: { readonly policyName: string; readonly scalingTargetId: string; readonly queueName: string; readonly clusterName: string; readonly serviceName: string },
): appscaling.CfnScalingPolicy {
  return new appscaling.CfnScalingPolicy(scope, id, {
    policyName: props.policyName,
    policyType: 'TargetTrackingScaling',
    scalingTargetId: props.scalingTargetId,
    targetTrackingScalingPolicyConfiguration: {
      targetValue: PROCESSING_BACKLOG_PER_TASK,
      // A worker is busy for 15–30 minutes per video: no need to react within seconds.
      scaleOutCooldown: 60,
      scaleInCooldown: 600,
      customizedMetricSpecification: {
        metrics: [
          {
            id: 'visible',
            returnData: false,
            metricStat: {
              metric: {
                namespace: 'AWS/SQS',
                metricName: 'ApproximateNumberOfMessagesVisible',
                dimensions: [{ name: 'QueueName', value: props.queueName }],
              },
              stat: 'Sum',
            },
          },
          {
            id: 'tasks',
            returnData: false,
            metricStat: {
              metric: {
                namespace: 'ECS/ContainerInsights',
                metricName: 'RunningTaskCount',
                dimensions: [
                  { name: 'ClusterName', value: props.clusterName },
                  { name: 'ServiceName', value: props.serviceName },
                ],
              },
              stat: 'Average',
            },
          },
          { id: 'backlogPerTask', label: 'Queued videos per running worker', expression: 'visible / IF(tasks > 0, tasks, 1)', returnData: true },
        ],
      },
    },
  });
}

/**
 * What a service's task, log group and load balancer take from config, in
 * either region: the primary's blue/green services and the standby's pilot
 * light are built from the same settings.
 */
export function serviceSettings(config: EnvironmentConfig, service: ServiceName) {
  const env = config.name;
  return {
    serviceName: ecsServiceName(env, service),
    family: taskFamilyName(env, service),
    containerName: service,
    cpu: config.services[service].cpu,
    memoryMiB: config.services[service].memoryMiB,
    containerPort: CONTAINER_PORT,
    healthCheckPath: '/health',
    taskSubnets: { subnetGroupName: SUBNET_GROUPS.application },
    logGroupName: serviceLogGroupName(env, service),
    logRetention: config.logs.retentionDays as logs.RetentionDays,
    deletionProtection: env === 'production',
    accessLogsPrefix: service,
  };
}

/** The plain environment of a service's container, with the buckets of its region. */
export function serviceEnvironment(config: EnvironmentConfig, service: ServiceName, buckets: { readonly uploads: string; readonly results: string }): Record<string, string> {
  return {
    BODYSCRIPT_ENVIRONMENT: config.name,
    SENTRY_ENVIRONMENT: config.name,
    SENTRY_RELEASE: config.services[service].imageTag,
    UPLOADS_BUCKET: buckets.uploads,
    RESULTS_BUCKET: buckets.results,
    // Presigned URLs name the regional host the CSP and the buckets' CORS rules expect.
    ...S3_SIGNING_ENVIRONMENT,
  };
}

/** Where and as whom a service's tasks log in to the database. */
export interface DatabaseLogin {
  /** Endpoint address of the instance (the primary, or in the standby the replica that a failover promotes). */
  readonly host: string;
  readonly port: number;
  readonly databaseName: string;
  /** The service's own database role (SERVICE_DATABASE_ROLES). */
  readonly user: string;
  /** Region the IAM authentication token is signed for: the instance's. */
  readonly region: string;
}

/**
 * The database part of a service's environment: no password anywhere. The
 * application signs a 15-minute IAM authentication token for DB_USERNAME
 * with its task role's credentials and sends it as the password, over TLS
 * (runbooks/database-access.md is the contract).
 */
export function databaseEnvironment(login: DatabaseLogin): Record<string, string> {
  return {
    DB_HOST: login.host,
    DB_PORT: String(login.port),
    DB_NAME: login.databaseName,
    DB_USERNAME: login.user,
    DB_AUTH: 'iam',
    DB_REGION: login.region,
    DB_SSLMODE: 'verify-full',
  };
}

/** The secrets of a service's container: only the Sentry DSN (the database takes an IAM token, not a password). */
export function serviceSecrets(sentryDsn: secretsmanager.ISecret): Record<string, ecs.Secret> {
  return { SENTRY_DSN: ecs.Secret.fromSecretsManager(sentryDsn) };
}
