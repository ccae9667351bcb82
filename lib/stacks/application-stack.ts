import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AlarmTopics } from '../../constructs/alarm-topics';
import { EncryptionKey } from '../../constructs/encryption-key';
import type { EnvironmentConfig } from '../config';
import { alarmTopicName, keyAlias } from '../naming';
import type { DataStack } from './data-stack';
import type { NetworkStack } from './network-stack';

export interface ApplicationStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: NetworkStack;
  readonly data: DataStack;
}

/**
 * `BodyScript-<Env>`: what `cdk deploy BodyScript-<Env>` brings up. It depends on
 * the network and data stacks, so that one command deploys the whole
 * environment, and holds what runs and watches it.
 */
export class ApplicationStack extends Stack {
  /** Encrypts the alarm topics; CloudWatch and EventBridge may publish with it. */
  public readonly topicsKey: EncryptionKey;
  public readonly alarmTopics: AlarmTopics;

  constructor(scope: Construct, id: string, props: ApplicationStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.addDependency(props.network, 'the VPC the services run in');
    this.addDependency(props.data, 'the database, buckets and queues the services use');

    this.topicsKey = new EncryptionKey(this, 'TopicsKey', {
      alias: keyAlias(config.name, 'alarm-topics'),
      description: `BodyScript ${config.name}: alarm notification topics`,
      servicePrincipals: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'],
    });
    this.alarmTopics = new AlarmTopics(this, 'AlarmTopics', {
      topicNames: { critical: alarmTopicName(config.name, 'critical'), warning: alarmTopicName(config.name, 'warning') },
      encryptionKey: this.topicsKey.key,
      emails: config.alarms.emails,
    });
  }
}
