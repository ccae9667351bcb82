import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * The states of AWS Backup jobs that leave a day without its recovery point or
 * its copy: a backup job that FAILED, was ABORTED or EXPIRED (it never started
 * within its start window), and a copy job that FAILED (AWS Backup User Guide,
 * "Monitoring AWS Backup events using Amazon EventBridge": Backup Job State
 * Change and Copy Job State Change events, `detail.state`).
 */
export const FAILED_BACKUP_JOB_STATES = ['FAILED', 'ABORTED', 'EXPIRED'] as const;
export const FAILED_COPY_JOB_STATES = ['FAILED'] as const;

/**
 * Properties of BackupJobFailures.
 */
export interface BackupJobFailuresProps {
  /** Name of the EventBridge rule (1–64 of [.\-_A-Za-z0-9]); its name is the metric's `RuleName` dimension. */
  readonly ruleName: string;
  /** Encrypts the log group of the failed jobs' events. */
  readonly logKey: kms.IKey;
  /** How long the events are kept. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * Counts the AWS Backup jobs of this account and region that did not produce a
 * recovery point or its copy (review R11: nothing watched them). AWS Backup
 * sends a state-change event for every backup and copy job (best effort, every
 * 5 minutes); an EventBridge rule matches the failed ones, keeps each event in
 * a log group under `/aws/events/` (the job id, resource and status message the
 * person on call needs) and its `Invocations` are the metric. One environment
 * per account and region (the config refuses two), so every job here is this
 * environment's: its daily plan and its copies to the standby region and the
 * backup account, which run in this region.
 */
export class BackupJobFailures extends Construct {
  /** The rule matching failed backup and copy jobs. */
  public readonly rule: events.Rule;
  /** The matched events, one JSON event per failed job. */
  public readonly logGroup: logs.LogGroup;
  /** Failed backup and copy jobs per 5 minutes (Sum); EventBridge publishes it only for periods with a failure. */
  public readonly metric: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: BackupJobFailuresProps) {
    super(scope, id);
    if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(props.ruleName)) {
      throw new Error(`BackupJobFailures ${this.node.path}: ruleName must be 1–64 characters of letters, digits, '.', '-' or '_', got '${props.ruleName}'`);
    }
    this.logGroup = new logs.LogGroup(this, 'Events', {
      // EventBridge writes to CloudWatch Logs groups under /aws/events/.
      logGroupName: `/aws/events/${props.ruleName}`,
      encryptionKey: props.logKey,
      retention: props.logRetention,
      // Kept when removed, like every log group (test/stateful-resources.test.ts pins it).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.rule = new events.Rule(this, 'Rule', {
      ruleName: props.ruleName,
      description: 'AWS Backup jobs that failed, were aborted or expired, and copy jobs that failed',
      // Copy jobs know no ABORTED or EXPIRED state, so one list of states serves both kinds.
      eventPattern: {
        source: ['aws.backup'],
        detailType: ['Backup Job State Change', 'Copy Job State Change'],
        detail: { state: [...new Set([...FAILED_BACKUP_JOB_STATES, ...FAILED_COPY_JOB_STATES])] },
      },
    });
    const stack = Stack.of(this);
    // A native resource policy rather than the events-targets helper, which writes it through a Lambda-backed custom resource.
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
      bind: () => ({ arn: stack.formatArn({ service: 'logs', resource: 'log-group', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: this.logGroup.logGroupName }) }),
    });
    // Invocations counts every matched event, delivered or not.
    this.metric = new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName: 'Invocations',
      dimensionsMap: { RuleName: props.ruleName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      label: 'failed backup and copy jobs',
    });
  }
}
