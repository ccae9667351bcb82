import { Duration, Stack, ArnFormat, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';

/**
 * Why ECS stops a task that BodyScript counts as failed: an essential
 * container exited by itself, the task could not start (image pull, secrets,
 * network), or ECS stopped it for failing its load balancer or container health
 * checks (stop code ServiceSchedulerInitiated, stopped reason "Task failed …").
 * Tasks that ECS or CodeDeploy stop for a deployment or a scale-in have other
 * stop codes and reasons and are not counted.
 */
export const FAILED_TASK_STOP_CODES = ['EssentialContainerExited', 'TaskFailedToStart'] as const;
export const FAILED_TASK_STOPPED_REASON_PREFIX = 'Task failed';

/**
 * Properties of FailedTasks.
 */
export interface FailedTasksProps {
  /** The cluster the service runs in. */
  readonly cluster: ecs.ICluster;
  /** The ECS service name (literal: it is matched in the events' `group`, `service:<name>`). */
  readonly serviceName: string;
  /** Name of the EventBridge rule (1–64 of [.\-_A-Za-z0-9]); its name is the metric's `RuleName` dimension. */
  readonly ruleName: string;
  /** Encrypts the log group of the failed tasks' events. */
  readonly logKey: kms.IKey;
  /** How long the events are kept. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * Counts the tasks of one ECS service that fail: an EventBridge rule on ECS
 * task state changes (STOPPED with a failure's stop code or reason) whose
 * matches are `metric` (AWS/Events `Invocations` of the rule, per minute), and
 * whose events are kept in a log group under `/aws/events/` so that the paged
 * person reads each task's stopped reason. ECS publishes no metric of stopped
 * tasks, and a task that never starts never reaches the load balancer: this is
 * what sees a crash loop, for a blue/green deployment and an ECS rolling one alike.
 */
export class FailedTasks extends Construct {
  /** The rule matching the service's failed tasks. */
  public readonly rule: events.Rule;
  /** The matched events (one JSON event per failed task: stop code, stopped reason, containers' exit codes). */
  public readonly logGroup: logs.LogGroup;
  /** Failed tasks per minute (Sum); EventBridge publishes it only for minutes with a failed task. */
  public readonly metric: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: FailedTasksProps) {
    super(scope, id);
    if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(props.ruleName)) {
      throw new Error(`FailedTasks ${this.node.path}: ruleName must be 1–64 characters of letters, digits, '.', '-' or '_', got '${props.ruleName}'`);
    }
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(props.serviceName)) {
      throw new Error(`FailedTasks ${this.node.path}: serviceName must be a literal ECS service name (letters, digits, '-', '_'), got '${props.serviceName}'`);
    }
    this.logGroup = new logs.LogGroup(this, 'Events', {
      // EventBridge writes to CloudWatch Logs groups under /aws/events/.
      logGroupName: `/aws/events/${props.ruleName}`,
      encryptionKey: props.logKey,
      retention: props.logRetention,
      // Kept when removed, like every log group (test/stateful-resources.test.ts pins it).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    if (Stack.of(props.logKey) !== Stack.of(this)) {
      acknowledge(
        this.logGroup,
        ['cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check'],
        'KmsKeyId is the environment logs key of the data stack; the Control Tower rule only recognizes a literal ARN or a key in the same template, not a cross-stack reference.',
      );
    }
    this.rule = new events.Rule(this, 'Rule', {
      ruleName: props.ruleName,
      description: `Tasks of ${props.serviceName} that crashed, could not start or failed their health checks`,
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          clusterArn: [props.cluster.clusterArn],
          group: [`service:${props.serviceName}`],
          lastStatus: ['STOPPED'],
          $or: [{ stopCode: [...FAILED_TASK_STOP_CODES] }, { stoppedReason: [{ prefix: FAILED_TASK_STOPPED_REASON_PREFIX }] }],
        },
      },
    });
    const stack = Stack.of(this);
    // A native resource policy rather than the events-targets helper, which
    // writes it through a Lambda-backed custom resource.
    new logs.ResourcePolicy(this, 'EventsDelivery', {
      resourcePolicyName: `${props.ruleName}-events`,
      policyStatements: [
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          principals: [new iam.ServicePrincipal('events.amazonaws.com'), new iam.ServicePrincipal('delivery.logs.amazonaws.com')],
          resources: [this.logGroup.logGroupArn],
        }),
      ],
    });
    this.rule.addTarget({
      bind: () => ({
        arn: stack.formatArn({ service: 'logs', resource: 'log-group', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: this.logGroup.logGroupName }),
      }),
    });
    // Invocations counts every matched event delivered or not, so the count
    // does not depend on the log delivery succeeding.
    this.metric = new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName: 'Invocations',
      dimensionsMap: { RuleName: props.ruleName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(1),
      label: `${props.serviceName}: failed tasks`,
    });
  }
}
