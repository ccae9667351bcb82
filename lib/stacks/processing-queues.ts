import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';
import type { EnvironmentName } from '../config';
import { processingDeadLetterQueueName, processingQueueName } from '../naming';

/**
 * A video takes 15–30 minutes (2–4 an hour per worker); a message stays
 * invisible for longer than the slowest job, so it is not picked up twice. The
 * processing job-failure alarm's window stays shorter (constructs/rollback-alarms.ts).
 */
export const PROCESSING_VISIBILITY_TIMEOUT = Duration.minutes(45);

/**
 * The processing job queue of one region (primary or standby), its dead-letter
 * queue and the EventBridge rule that turns each new upload into a job. Both
 * data stacks build theirs here, so the two regions process videos the same way.
 *
 * The resources are created directly in `scope` with ids prefixed by
 * `idPrefix` (`''` in the primary data stack, `'Standby'` in the standby's):
 * their logical IDs are pinned by test/stateful-resources.test.ts.
 */
export function createProcessingQueues(
  scope: Construct,
  props: {
    readonly idPrefix: '' | 'Standby';
    readonly env: EnvironmentName;
    readonly key: kms.IKey;
    /** How long a job waits to be picked up before SQS drops it. */
    readonly retention: Duration;
    /** The bucket whose Object Created events become jobs. */
    readonly uploadsBucket: s3.IBucket;
    readonly ruleDescription: string;
  },
): { queue: sqs.Queue; deadLetterQueue: sqs.Queue } {
  const stack = Stack.of(scope);
  const deadLetterQueue = new sqs.Queue(scope, `${props.idPrefix}ProcessingDeadLetterQueue`, {
    queueName: processingDeadLetterQueueName(props.env),
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: props.key,
    enforceSSL: true,
    // The longest SQS allows: failed jobs wait here for a person.
    retentionPeriod: Duration.days(14),
    // Only the processing queue may send its failures here. The ARN is built
    // from the name because a reference would make the two queues a cycle.
    redriveAllowPolicy: {
      redrivePermission: sqs.RedrivePermission.BY_QUEUE,
      sourceQueues: [sqs.Queue.fromQueueArn(scope, `${props.idPrefix}ProcessingQueueArn`, stack.formatArn({ service: 'sqs', resource: processingQueueName(props.env) }))],
    },
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const queue = new sqs.Queue(scope, `${props.idPrefix}ProcessingQueue`, {
    queueName: processingQueueName(props.env),
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: props.key,
    enforceSSL: true,
    retentionPeriod: props.retention,
    visibilityTimeout: PROCESSING_VISIBILITY_TIMEOUT,
    receiveMessageWaitTime: Duration.seconds(20),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 3 },
    removalPolicy: RemovalPolicy.RETAIN,
  });
  new events.Rule(scope, `${props.idPrefix}UploadCreatedRule`, {
    description: props.ruleDescription,
    eventPattern: {
      source: ['aws.s3'],
      detailType: ['Object Created'],
      detail: { bucket: { name: [props.uploadsBucket.bucketName] } },
    },
    targets: [new targets.SqsQueue(queue)],
  });
  return { queue, deadLetterQueue };
}

/**
 * Lets Elastic Load Balancing deliver access logs into `bucket`: as the region's
 * ELB account (older regions) or its log-delivery service principal (newer ones).
 */
export function allowLoadBalancerLogDelivery(bucket: s3.IBucket, region: string, account: string): void {
  const elbAccount = RegionInfo.get(region).elbv2Account;
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowLoadBalancerLogDelivery',
      principals: [elbAccount ? new iam.AccountPrincipal(elbAccount) : new iam.ServicePrincipal('logdelivery.elasticloadbalancing.amazonaws.com')],
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects(`*/AWSLogs/${account}/*`)],
    }),
  );
}
