import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { AlarmTopics } from '../../constructs/alarm-topics';
import { ChatbotNotifications } from '../../constructs/chatbot-notifications';
import { EncryptionKey } from '../../constructs/encryption-key';
import type { EnvironmentConfig } from '../config';
import { alarmNamePrefix, alarmTopicName, keyAlias, resourcePrefix } from '../naming';

export interface AlertingStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/**
 * Where alarms go: the critical and warning SNS topics of an environment (and
 * what delivers them to people). It is deployed first and depends on nothing,
 * so that the alarms of every other stack can publish to it without a cycle.
 */
export class AlertingStack extends Stack {
  /** Encrypts the alarm topics; CloudWatch and EventBridge may publish with it. */
  public readonly topicsKey: EncryptionKey;
  public readonly alarmTopics: AlarmTopics;
  /** Slack delivery through AWS Chatbot, when `slack` is configured. */
  public readonly chatbot?: ChatbotNotifications;

  constructor(scope: Construct, id: string, props: AlertingStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.topicsKey = new EncryptionKey(this, 'TopicsKey', {
      alias: keyAlias(config.name, 'alarm-topics'),
      description: `BodyScript ${config.name}: alarm notification topics`,
      servicePrincipals: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'],
      // Also encrypts the AWS Chatbot log groups when Slack is configured.
      allowCloudWatchLogs: Boolean(config.slack),
    });
    this.alarmTopics = new AlarmTopics(this, 'AlarmTopics', {
      topicNames: { critical: alarmTopicName(config.name, 'critical'), warning: alarmTopicName(config.name, 'warning') },
      encryptionKey: this.topicsKey.key,
      emails: config.alarms.emails,
    });
    if (config.slack) {
      this.chatbot = new ChatbotNotifications(this, 'Chatbot', {
        namePrefix: resourcePrefix(config.name),
        workspaceId: config.slack.workspaceId,
        channelIds: { critical: config.slack.criticalChannelId, warning: config.slack.warningChannelId },
        topics: { critical: this.alarmTopics.critical, warning: this.alarmTopics.warning },
        alarmNamePrefix: alarmNamePrefix(config.name),
        logKey: this.topicsKey.key,
        logRetention: config.logs.retentionDays as logs.RetentionDays,
      });
    }
  }
}
