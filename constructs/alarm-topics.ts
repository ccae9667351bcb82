import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Alarm severities: critical pages someone now, warning is looked at in working hours. */
export const ALARM_SEVERITIES = ['critical', 'warning'] as const;
export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number];

/**
 * Properties of AlarmTopics.
 */
export interface AlarmTopicsProps {
  /** Topic name for each severity (see `alarmTopicName()` in lib/naming.ts). */
  readonly topicNames: Record<AlarmSeverity, string>;
  /** Key that encrypts the topics; it must let CloudWatch publish (see EncryptionKey.servicePrincipals). */
  readonly encryptionKey: kms.IKey;
  /** Addresses that receive every alarm of both severities. */
  readonly emails: readonly string[];
}

/**
 * The two SNS topics every BodyScript alarm publishes to, encrypted, TLS-only,
 * with the on-call e-mail addresses subscribed.
 */
export class AlarmTopics extends Construct {
  /** Pages a person: the service is down or about to be. */
  public readonly critical: sns.Topic;
  /** Needs attention soon, not at night. */
  public readonly warning: sns.Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicsProps) {
    super(scope, id);
    if (props.emails.length === 0) {
      throw new Error(`AlarmTopics ${this.node.path}: emails must list at least one address, or alarms reach nobody`);
    }
    const create = (severity: AlarmSeverity, constructId: string) => {
      const topic = new sns.Topic(this, constructId, {
        topicName: props.topicNames[severity],
        displayName: `BodyScript ${severity} alarms`,
        masterKey: props.encryptionKey,
        enforceSSL: true,
      });
      for (const email of props.emails) topic.addSubscription(new subscriptions.EmailSubscription(email));
      return topic;
    };
    this.critical = create('critical', 'Critical');
    this.warning = create('warning', 'Warning');
  }

  /** The topic of a severity. */
  public topic(severity: AlarmSeverity): sns.Topic {
    return severity === 'critical' ? this.critical : this.warning;
  }
}
