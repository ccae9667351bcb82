import { Aws, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import type { AlarmSeverity } from './alarm-topics';

/**
 * Properties of ChatbotNotifications.
 */
export interface ChatbotNotificationsProps {
  /** Prefix of the channel configuration names, e.g. `bodyscript-staging`. */
  readonly namePrefix: string;
  /** Slack workspace id as AWS Chatbot shows it (starts with T). */
  readonly workspaceId: string;
  /** Slack channel id for each severity. */
  readonly channelIds: Record<AlarmSeverity, string>;
  /** The alarm topic of each severity. */
  readonly topics: Record<AlarmSeverity, sns.ITopic>;
  /** Prefix of the alarms people may look up from Slack (`alarmNamePrefix(env)`). */
  readonly alarmNamePrefix: string;
  /** Encrypts the Chatbot log groups; it must let CloudWatch Logs use it. */
  readonly logKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Delivers the critical and warning alarm topics to their Slack channels through
 * AWS Chatbot. The channels can read the environment's alarms and nothing else:
 * the channel role has no permissions and the guardrail allows only describing
 * the environment's alarms, so nobody can change AWS from Slack.
 */
export class ChatbotNotifications extends Construct {
  /** One channel configuration per severity. */
  public readonly channels: Record<AlarmSeverity, chatbot.SlackChannelConfiguration>;
  /** Chatbot's log groups, created here so they have a retention and encryption. */
  public readonly logGroups: Record<AlarmSeverity, logs.LogGroup>;
  /** The most any person in the channels may do: describe this environment's alarms. */
  public readonly guardrail: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ChatbotNotificationsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (!/^T[A-Z0-9]{8,11}$/.test(props.workspaceId)) {
      throw new Error(`ChatbotNotifications ${this.node.path}: workspaceId must be a Slack workspace id such as T012ABCDEFG, got '${props.workspaceId}'`);
    }
    for (const [severity, channel] of Object.entries(props.channelIds)) {
      if (!/^[CG][A-Z0-9]{8,11}$/.test(channel)) {
        throw new Error(`ChatbotNotifications ${this.node.path}: channelIds.${severity} must be a Slack channel id such as C012ABCDEFG, got '${channel}'`);
      }
    }

    const alarmArns = `arn:${Aws.PARTITION}:cloudwatch:${stack.region}:${stack.account}:alarm:${props.alarmNamePrefix}*`;
    this.guardrail = new iam.ManagedPolicy(this, 'Guardrail', {
      description: `Most that people in the ${props.namePrefix} alarm channels may do from Slack: describe the environment's alarms`,
      statements: [new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmHistory'], resources: [alarmArns] })],
    });
    acknowledge(
      this.guardrail,
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:${stack.region}:${stack.account}:alarm:${props.alarmNamePrefix}*]`],
      "The guardrail names the environment's alarms by their common prefix (every alarm name starts with it) and allows only reading them.",
    );
    // Chatbot needs a role to assume; this one may do nothing: the channels only receive notifications.
    const role = new iam.Role(this, 'ChannelRole', {
      assumedBy: new iam.ServicePrincipal('chatbot.amazonaws.com'),
      description: `AWS Chatbot channels of ${props.namePrefix}: notifications only, no permissions`,
    });

    const create = (severity: AlarmSeverity, constructId: string) => {
      const name = `${props.namePrefix}-${severity}`;
      const logGroup = new logs.LogGroup(this, `${constructId}Logs`, {
        // AWS Chatbot writes to this fixed name in us-east-1.
        logGroupName: `/aws/chatbot/${name}`,
        retention: props.logRetention,
        encryptionKey: props.logKey,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const channel = new chatbot.SlackChannelConfiguration(this, constructId, {
        slackChannelConfigurationName: name,
        slackWorkspaceId: props.workspaceId,
        slackChannelId: props.channelIds[severity],
        notificationTopics: [props.topics[severity]],
        role,
        guardrailPolicies: [this.guardrail],
        loggingLevel: chatbot.LoggingLevel.ERROR,
        userRoleRequired: false,
      });
      channel.node.addDependency(logGroup);
      return { channel, logGroup };
    };
    const critical = create('critical', 'Critical');
    const warning = create('warning', 'Warning');
    this.channels = { critical: critical.channel, warning: warning.channel };
    this.logGroups = { critical: critical.logGroup, warning: warning.logGroup };
  }
}
