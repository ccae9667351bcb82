import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DataAlarms } from '../../constructs/data-alarms';
import type { EnvironmentConfig } from '../config';
import { alarmNamePrefix } from '../naming';
import type { AlertingStack } from './alerting-stack';
import type { DataStack } from './data-stack';
import type { NetworkStack } from './network-stack';

export interface ApplicationStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly alerting: AlertingStack;
  readonly network: NetworkStack;
  readonly data: DataStack;
}

/**
 * `BodyScript-<Env>`: what `cdk deploy BodyScript-<Env>` brings up. It depends on
 * every other stack of the environment, so that one command deploys the whole
 * environment, and holds what sits in front of and watches it (edge, dashboards,
 * environment-wide alarms).
 */
export class ApplicationStack extends Stack {
  public readonly dataAlarms: DataAlarms;

  constructor(scope: Construct, id: string, props: ApplicationStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.addStackDependency(props.alerting, 'the alarm topics');
    this.addStackDependency(props.network, 'the VPC the services run in');
    this.addStackDependency(props.data, 'the database, buckets and queues the services use');

    this.dataAlarms = new DataAlarms(this, 'DataAlarms', {
      alarmNamePrefix: alarmNamePrefix(config.name),
      database: props.data.database.instance,
      allocatedStorageGiB: config.database.allocatedStorageGiB,
      deadLetterQueue: props.data.processingDeadLetterQueue,
      critical: props.alerting.alarmTopics.critical,
      warning: props.alerting.alarmTopics.warning,
      runbook: 'runbooks/README.md',
    });
  }
}
