import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DataAlarms, estimatedMaxConnections } from '../../constructs/data-alarms';
import { DeliveryMetrics } from '../../constructs/delivery-metrics';
import { ALARMS_RUNBOOK, EnvironmentMonitoring } from '../../constructs/environment-monitoring';
import { ServiceLevelObjectives } from '../../constructs/service-level-objectives';
import type { EnvironmentConfig } from '../config';
import { alarmName, alarmNamePrefix, apiWebAclName, clusterName, ecsServiceName, replicaInstanceIdentifier, webAclName } from '../naming';
import { PRODUCT_TARGET_MINUTES, releaseBudget } from '../release-budget';
import type { AlertingStack } from './alerting-stack';
import type { DataStack } from './data-stack';
import type { NetworkStack } from './network-stack';
import type { ServicesStack } from './services-stack';

export interface ApplicationStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly alerting: AlertingStack;
  readonly network: NetworkStack;
  readonly data: DataStack;
  /** The services, load balancers, canaries and distribution it monitors. */
  readonly services: ServicesStack;
}

/**
 * `BodyScript-<Env>`: what `cdk deploy BodyScript-<Env>` brings up. It depends on
 * every other stack of the environment, so that one command deploys the whole
 * environment, and holds what watches it: the dashboard, the environment-wide
 * alarms and the service-health alarm.
 */
export class ApplicationStack extends Stack {
  /** Database storage (past what autoscaling absorbs), CPU and connections, and the dead-letter queue. */
  public readonly dataAlarms: DataAlarms;
  /** The dashboard, the edge and queue alarms, the api log metric filters and the service-health alarm. */
  public readonly monitoring: EnvironmentMonitoring;
  /** The pipeline's delivery metrics on the dashboard, and the alarm when a release is over its budget. */
  public readonly delivery: DeliveryMetrics;
  /** The SLOs with error budgets, their burn-rate alerts and their dashboard section (runbooks/slo.md). */
  public readonly serviceLevelObjectives: ServiceLevelObjectives;

  constructor(scope: Construct, id: string, props: ApplicationStackProps) {
    super(scope, id, props);
    const { config, data, services } = props;
    const topics = props.alerting.alarmTopics;
    this.addStackDependency(props.alerting, 'the alarm topics');
    this.addStackDependency(props.network, 'the VPC the services run in');
    this.addStackDependency(props.data, 'the database, buckets and queues the services use');
    this.addStackDependency(services, 'the services, canaries and distribution it monitors');

    this.dataAlarms = new DataAlarms(this, 'DataAlarms', {
      alarmNamePrefix: alarmNamePrefix(config.name),
      database: data.database.instance,
      allocatedStorageGiB: config.database.allocatedStorageGiB,
      maxAllocatedStorageGiB: config.database.maxAllocatedStorageGiB,
      maxConnections: estimatedMaxConnections(config.database.instanceClass),
      deadLetterQueue: data.processingDeadLetterQueue,
      backupJobFailures: data.backupJobFailures.metric,
      critical: topics.critical,
      warning: topics.warning,
      runbook: ALARMS_RUNBOOK,
    });

    this.monitoring = new EnvironmentMonitoring(this, 'Monitoring', {
      environment: config.name,
      critical: topics.critical,
      warning: topics.warning,
      database: data.database.instance,
      databaseStorage: { allocatedStorageGiB: config.database.allocatedStorageGiB, maxAllocatedStorageGiB: config.database.maxAllocatedStorageGiB },
      databaseConnectionsAlarmThreshold: this.dataAlarms.databaseConnectionsThreshold,
      processingQueue: data.processingQueue,
      processingDeadLetterQueue: data.processingDeadLetterQueue,
      api: {
        clusterName: clusterName(config.name),
        serviceName: ecsServiceName(config.name, 'api'),
        failedTasks: services.failedTasks.api.metric,
        loadBalancer: services.api.blueGreen.loadBalancer,
        targetGroups: [services.api.blueGreen.blueTargetGroup, services.api.blueGreen.greenTargetGroup],
        rollbackAlarm: services.api.rollbackAlarms.compositeAlarm,
      },
      apiLogGroup: services.api.blueGreen.logGroup,
      processing: {
        clusterName: clusterName(config.name),
        serviceName: ecsServiceName(config.name, 'processing'),
        failedTasks: services.failedTasks.processing.metric,
        loadBalancer: services.processing.worker.loadBalancer,
        targetGroups: [services.processing.worker.targetGroup],
        rollbackAlarm: services.processing.rollbackAlarms.compositeAlarm,
      },
      distribution: services.edge.distribution,
      // The CloudFront web ACL, and with a domain the api load balancer's regional one (lib/stacks/services-stack.ts).
      webAcls: [
        { name: webAclName(config.name), scope: 'CLOUDFRONT', label: 'Edge' },
        ...(config.domain ? [{ name: apiWebAclName(config.name), scope: 'REGIONAL' as const, label: 'Api' }] : []),
      ],
      canaries: [services.canaries.frontend, services.canaries.api, services.canaries.processing],
      // Users are affected when the database can no longer write.
      serviceHealthAlarms: [this.dataAlarms.databaseFreeStorage],
      // The standby stack's read replica; its lag alarm lives there, in the replica's region.
      databaseReplica: { instanceIdentifier: replicaInstanceIdentifier(config.name), region: config.standby.region },
    });

    this.serviceLevelObjectives = new ServiceLevelObjectives(this, 'ServiceLevelObjectives', {
      environment: config.name,
      objectives: config.serviceLevelObjectives,
      apiLoadBalancer: services.api.blueGreen.loadBalancer,
      webAppCanary: services.canaries.frontend.canary,
      critical: topics.critical,
      warning: topics.warning,
    });
    this.monitoring.dashboard.addWidgets(...this.serviceLevelObjectives.widgets);

    this.delivery = new DeliveryMetrics(this, 'Delivery', {
      environment: config.name,
      alarmName: alarmName(config.name, 'Delivery', 'ReleaseOverBudget'),
      budgetMinutes: releaseBudget(config).minutes,
      productTargetMinutes: PRODUCT_TARGET_MINUTES[config.name],
      warningTopic: topics.warning,
    });
    this.monitoring.dashboard.addWidgets(...this.delivery.widgets);
  }
}
