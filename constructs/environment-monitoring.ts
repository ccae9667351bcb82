import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { HttpCodeElb, HttpCodeTarget } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as synthetics from 'aws-cdk-lib/aws-synthetics';
import {
  DefaultDashboardFactory,
  GraphWidgetType,
  MonitoringFacade,
  SnsAlarmActionStrategy,
  type CustomMetricGroup,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import type { EnvironmentName } from '../lib/config';
import { alarmNamePrefix, codeDeployApplicationName, deploymentGroupName, environmentTitle, serviceHealthAlarmName, type ServiceName } from '../lib/naming';

/** Namespace of the processing worker's own metrics (runbooks/metrics.md). */
export const PROCESSING_NAMESPACE = 'BodyScript/Processing';
/** Namespace of the metrics the api log group's metric filters publish (runbooks/metrics.md). */
export const API_LOG_NAMESPACE = 'BodyScript/Api';

/**
 * A worker processes 2–4 videos an hour, i.e. at worst 30 minutes a video, and
 * auto scaling keeps at most two waiting videos per worker. The oldest message
 * in a healthy queue is therefore at most 2 × 30 minutes of waiting plus its
 * own 30 minutes in progress = 90 minutes. Older means scaling is not keeping
 * up (at maximum tasks, or workers stuck): users wait longer than promised.
 */
export const QUEUE_AGE_WARNING = Duration.minutes(90);
/** Twice the healthy worst case: uploads are now hours behind. */
export const QUEUE_AGE_CRITICAL = Duration.minutes(180);

/** CloudFront answering more than this share of requests with a 5xx pages someone. */
export const EDGE_5XX_RATE_PERCENT = 5;

/** Where every environment alarm description sends the paged person. */
export const ALARMS_RUNBOOK = 'runbooks/alarms.md';

/** A blue/green service to monitor. */
export interface MonitoredService {
  /** The ECS service (CPU, memory, running tasks). */
  readonly service: ecs.FargateService;
  /** Its load balancer (requests, latency, 5xx over both colours). */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** Blue and green target groups (healthy hosts). */
  readonly targetGroups: elbv2.IApplicationTargetGroup[];
  /**
   * The service's composite rollback alarm (RollbackAlarms.compositeAlarm): part of service health.
   *
   * @default - not part of service health
   */
  readonly rollbackAlarm?: cloudwatch.IAlarm;
}

/** A health-check canary to show (HealthCheckCanary fits). */
export interface MonitoredCanary {
  readonly canary: synthetics.Canary;
  /** Its failure alarm: part of service health. */
  readonly failureAlarm: cloudwatch.IAlarm;
}

/** The cross-region read replica of the database, shown beside the primary. */
export interface DatabaseReplica {
  /** RDS instance identifier (see `replicaInstanceIdentifier()` in lib/naming.ts). */
  readonly instanceIdentifier: string;
  /** Region of the replica. */
  readonly region: string;
}

/**
 * Properties of EnvironmentMonitoring.
 */
export interface EnvironmentMonitoringProps {
  readonly environment: EnvironmentName;
  /** Pages a person. */
  readonly critical: sns.ITopic;
  /** Looked at in working hours. */
  readonly warning: sns.ITopic;
  readonly database: rds.IDatabaseInstance;
  readonly processingQueue: sqs.IQueue;
  readonly processingDeadLetterQueue: sqs.IQueue;
  /**
   * The api service.
   *
   * @default - no api section
   */
  readonly api?: MonitoredService;
  /**
   * The api's container log group; metric filters count its ERROR lines and 5xx responses.
   *
   * @default - no metric filters
   */
  readonly apiLogGroup?: logs.ILogGroup;
  /**
   * The processing service.
   *
   * @default - the processing section shows the queue and the worker's own metrics only
   */
  readonly processing?: MonitoredService;
  /**
   * The CloudFront distribution in front of the web app and the api.
   *
   * @default - no edge section and no edge alarm
   */
  readonly distribution?: cloudfront.IDistribution;
  /**
   * The health-check canaries.
   *
   * @default - none
   */
  readonly canaries?: MonitoredCanary[];
  /**
   * Further alarms that mean the service is unhealthy (e.g. the database running out of storage).
   *
   * @default - none
   */
  readonly serviceHealthAlarms?: cloudwatch.IAlarm[];
  /**
   * The database's cross-region read replica (also addable later with `addDatabaseReplica`).
   *
   * @default - no replica widgets
   */
  readonly databaseReplica?: DatabaseReplica;
  /**
   * Turn on CloudFront's additional metrics (cache hit rate, origin latency) for the distribution.
   *
   * @default true
   */
  readonly enableCloudFrontAdditionalMetrics?: boolean;
}

/**
 * What watches one BodyScript environment: one CloudWatch dashboard with an edge,
 * api, processing, database, canaries and deployments section, the environment
 * alarms that are not already a service's rollback alarm (CloudFront 5xx rate,
 * processing queue age, api error lines) wired to the critical or warning topic,
 * metric filters on the api logs, and the composite service-health alarm.
 */
export class EnvironmentMonitoring extends Construct {
  /** The facade that built the dashboard and the facade alarms. */
  public readonly facade: MonitoringFacade;
  /** The environment's dashboard, named `BodyScript-<Env>`. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** `serviceHealthAlarmName(env)`: in ALARM when users are affected (FIS stop condition, DR status). */
  public readonly serviceHealth: cloudwatch.CompositeAlarm;
  /** Every metric alarm this construct created (through the facade or directly). */
  public readonly alarms: cloudwatch.AlarmBase[];
  /** ERROR lines of the api, when `apiLogGroup` is given. */
  public readonly apiErrorLinesMetric?: cloudwatch.Metric;
  /** 5xx responses logged by the api, when `apiLogGroup` is given. */
  public readonly apiServerErrorsMetric?: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: EnvironmentMonitoringProps) {
    super(scope, id);
    const env = props.environment;
    const title = environmentTitle(env);
    const region = Stack.of(this).region;
    // The facade joins its prefix and each alarm's name with '-', so every name starts with alarmNamePrefix(env).
    const facadePrefix = alarmNamePrefix(env).replace(/-$/, '');

    this.facade = new MonitoringFacade(this, 'Facade', {
      alarmFactoryDefaults: {
        alarmNamePrefix: facadePrefix,
        actionsEnabled: true,
        disambiguatorAction: {
          Critical: new SnsAlarmActionStrategy({ onAlarmTopic: props.critical, onOkTopic: props.critical }),
          Warning: new SnsAlarmActionStrategy({ onAlarmTopic: props.warning, onOkTopic: props.warning }),
        },
      },
      metricFactoryDefaults: {},
      dashboardFactory: new DefaultDashboardFactory(this, 'Dashboards', {
        dashboardNamePrefix: `BodyScript-${title}`,
        createDashboard: true,
        createSummaryDashboard: false,
        createAlarmDashboard: false,
      }),
    });
    const f = this.facade;

    // --- Edge ---------------------------------------------------------------
    f.addLargeHeader('Edge: CloudFront');
    let edgeAlarms: cloudwatch.IAlarm[] = [];
    if (props.distribution) {
      const before = f.createdAlarms().length;
      if (props.enableCloudFrontAdditionalMetrics ?? true) {
        // The cache hit rate is one of CloudFront's additional metrics, off unless subscribed.
        new cloudfront.CfnMonitoringSubscription(this, 'CloudFrontAdditionalMetrics', {
          distributionId: props.distribution.distributionId,
          monitoringSubscription: { realtimeMetricsSubscriptionConfig: { realtimeMetricsSubscriptionStatus: 'Enabled' } },
        });
      }
      f.monitorCloudFrontDistribution({
        distribution: props.distribution,
        alarmFriendlyName: 'Edge',
        humanReadableName: 'CloudFront (web app and /api/*)',
        additionalMetricsEnabled: props.enableCloudFrontAdditionalMetrics ?? true,
        addFault5xxRate: {
          Critical: {
            maxErrorRate: EDGE_5XX_RATE_PERCENT,
            period: Duration.minutes(1),
            evaluationPeriods: 5,
            datapointsToAlarm: 3,
            alarmDescriptionOverride:
              `CloudFront answered more than ${EDGE_5XX_RATE_PERCENT}% of requests with a 5xx in 3 of the last 5 minutes: users cannot load the app or call the api. ` +
              `Check the api rollback alarms and the origin (load balancer, frontend bucket). Runbook: ${ALARMS_RUNBOOK}`,
          },
        },
      });
      edgeAlarms = f.createdAlarms().slice(before).map((a) => a.alarm);
    }

    // --- api ----------------------------------------------------------------
    f.addLargeHeader('api');
    if (props.api) this.monitorService('api', props.api);
    if (props.apiLogGroup) {
      const errorLines = new logs.MetricFilter(this, 'ApiErrorLines', {
        logGroup: props.apiLogGroup,
        filterName: `${facadePrefix}-api-error-lines`,
        filterPattern: logs.FilterPattern.any(logs.FilterPattern.stringValue('$.level', '=', 'ERROR'), logs.FilterPattern.stringValue('$.level', '=', 'CRITICAL')),
        metricNamespace: API_LOG_NAMESPACE,
        metricName: 'ErrorLogLines',
        metricValue: '1',
        unit: cloudwatch.Unit.COUNT,
      });
      const serverErrors = new logs.MetricFilter(this, 'ApiServerErrors', {
        logGroup: props.apiLogGroup,
        filterName: `${facadePrefix}-api-5xx-responses`,
        filterPattern: logs.FilterPattern.numberValue('$.status', '>=', 500),
        metricNamespace: API_LOG_NAMESPACE,
        metricName: 'ServerErrorResponses',
        metricValue: '1',
        unit: cloudwatch.Unit.COUNT,
      });
      this.apiErrorLinesMetric = errorLines.metric({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) });
      this.apiServerErrorsMetric = serverErrors.metric({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) });
      f.monitorCustom({
        alarmFriendlyName: 'api-Logs',
        humanReadableName: 'api logs (metric filters)',
        metricGroups: [
          {
            title: 'ERROR lines and 5xx responses logged',
            metrics: [
              {
                metric: this.apiErrorLinesMetric,
                alarmFriendlyName: 'ErrorLines',
                addAlarm: {
                  Warning: {
                    threshold: 50,
                    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluationPeriods: 2,
                    datapointsToAlarm: 2,
                    alarmDescriptionOverride:
                      `The api logged more than 50 ERROR lines in each of two 5-minute periods: something fails repeatedly even if users still get answers. ` +
                      `Open Sentry for the environment and the api log group. Runbook: ${ALARMS_RUNBOOK}`,
                  },
                },
              },
              this.apiServerErrorsMetric.with({ label: '5xx responses' }),
            ],
          },
        ],
      });
    }

    // --- processing ---------------------------------------------------------
    f.addLargeHeader('processing');
    f.monitorSqsQueueWithDlq({
      queue: props.processingQueue,
      deadLetterQueue: props.processingDeadLetterQueue,
      alarmFriendlyName: 'Processing',
      humanReadableName: 'Processing queue (uploads waiting) and its dead-letter queue',
      addQueueMaxMessageAgeAlarm: {
        Warning: {
          maxAgeInSeconds: QUEUE_AGE_WARNING.toSeconds(),
          alarmDescriptionOverride:
            `The oldest upload has waited more than ${QUEUE_AGE_WARNING.toMinutes()} minutes for processing, longer than 2–4 videos an hour per worker allows with the backlog auto scaling keeps. ` +
            `Check whether processing runs at its maximum task count or its workers are stuck. Runbook: ${ALARMS_RUNBOOK}`,
        },
        Critical: {
          maxAgeInSeconds: QUEUE_AGE_CRITICAL.toSeconds(),
          alarmDescriptionOverride:
            `The oldest upload has waited more than ${QUEUE_AGE_CRITICAL.toMinutes()} minutes: users' videos are hours behind. ` +
            `Raise processing's maximum task count or fix the stuck workers now. Runbook: ${ALARMS_RUNBOOK}`,
        },
      },
      // DataAlarms already alarms on the first dead-letter message; the facade only draws it.
    });
    const processingMetric = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace: PROCESSING_NAMESPACE, metricName, dimensionsMap: { Environment: env }, statistic, period: Duration.minutes(5), label });
    const jobGroups: CustomMetricGroup[] = [
      {
        title: 'Videos processed and failed',
        graphWidgetType: GraphWidgetType.BAR,
        metrics: [processingMetric('VideosProcessed', cloudwatch.Stats.SUM, 'Processed'), processingMetric('ProcessingFailures', cloudwatch.Stats.SUM, 'Failed')],
      },
      {
        title: 'Processing duration (s)',
        metrics: [
          processingMetric('ProcessingDurationSeconds', cloudwatch.Stats.p(50), 'p50'),
          processingMetric('ProcessingDurationSeconds', cloudwatch.Stats.p(95), 'p95'),
          processingMetric('ProcessingDurationSeconds', cloudwatch.Stats.MAXIMUM, 'max'),
        ],
      },
    ];
    f.monitorCustom({ alarmFriendlyName: 'Processing-Jobs', humanReadableName: `Processing jobs (${PROCESSING_NAMESPACE})`, metricGroups: jobGroups });
    if (props.processing) this.monitorService('processing', props.processing);

    // --- database -----------------------------------------------------------
    f.addLargeHeader('database');
    // DataAlarms alarms on CPU, free storage and connections; the facade only draws them.
    f.monitorRdsInstance({ instance: props.database, alarmFriendlyName: 'Database', humanReadableName: 'PostgreSQL (primary)' });
    if (props.databaseReplica) this.addDatabaseReplica(props.databaseReplica);

    // --- canaries -----------------------------------------------------------
    const canaries = props.canaries ?? [];
    if (canaries.length) {
      f.addLargeHeader('canaries');
      f.monitorCustom({
        alarmFriendlyName: 'Canaries',
        humanReadableName: 'Health-check canaries (one run a minute)',
        metricGroups: [
          { title: 'Success (%)', metrics: canaries.map((c) => c.canary.metricSuccessPercent({ period: Duration.minutes(1), label: c.canary.canaryName })), graphWidgetAxis: { min: 0, max: 100 } },
          { title: 'Duration (ms)', metrics: canaries.map((c) => c.canary.metricDuration({ period: Duration.minutes(1), label: c.canary.canaryName })) },
        ],
      });
    }

    // --- service health -----------------------------------------------------
    const healthInputs = uniqueAlarms([
      ...[props.api, props.processing].flatMap((s) => (s?.rollbackAlarm ? [s.rollbackAlarm] : [])),
      ...canaries.map((c) => c.failureAlarm),
      ...edgeAlarms,
      ...(props.serviceHealthAlarms ?? []),
    ]);
    if (healthInputs.length === 0) {
      throw new Error(`EnvironmentMonitoring ${this.node.path}: service health needs at least one alarm (a distribution, a service with a rollback alarm, a canary or serviceHealthAlarms)`);
    }
    this.serviceHealth = new cloudwatch.CompositeAlarm(this, 'ServiceHealth', {
      compositeAlarmName: serviceHealthAlarmName(env),
      alarmDescription:
        `BodyScript ${env} service health: users are affected because at least one of these is in ALARM: a service's rollback alarm, a health-check canary, the CloudFront 5xx rate or the database storage. ` +
        `Open the dashboard BodyScript-${title} to see which. Fault-injection experiments stop on this alarm. Runbook: ${ALARMS_RUNBOOK}`,
      alarmRule: cloudwatch.AlarmRule.anyOf(...healthInputs.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
    });
    this.serviceHealth.addAlarmAction(new actions.SnsAction(props.critical));
    this.serviceHealth.addOkAction(new actions.SnsAction(props.critical));

    // --- deployments --------------------------------------------------------
    f.addLargeHeader('deployments');
    const consoleLink = (service: ServiceName) =>
      `[${service}](https://${region}.console.aws.amazon.com/codesuite/codedeploy/applications/${codeDeployApplicationName(env, service)}/deployment-groups/${deploymentGroupName(env, service)}?region=${region})`;
    f.addWidget(
      new cloudwatch.TextWidget({
        width: 8,
        height: 6,
        markdown: [
          '### Blue/green deployments',
          `CodeDeploy deployment groups: ${consoleLink('api')} · ${consoleLink('processing')}.`,
          'A deployment rolls back by itself when a rollback alarm on the right fires.',
          'Roll back by hand with `npm run ops -- rollback --env ' + env + '`; see runbooks/README.md.',
        ].join('\n\n'),
      }),
    );
    f.addWidget(
      new cloudwatch.AlarmStatusWidget({
        title: 'Service health and rollback alarms',
        width: 16,
        height: 6,
        alarms: [this.serviceHealth, ...healthInputs],
      }),
    );
    const dashboard = (this.facade.dashboardFactory as DefaultDashboardFactory).dashboard;
    if (!dashboard) throw new Error(`EnvironmentMonitoring ${this.node.path}: the dashboard factory created no dashboard`);
    this.dashboard = dashboard;
    this.alarms = this.facade.createdAlarms().map((a) => a.alarm);
  }

  /**
   * Shows the cross-region read replica's lag, IOPS and CPU beside the primary.
   * The standby stack owns the replica's alarms (an alarm must live in its metric's region).
   */
  public addDatabaseReplica(replica: DatabaseReplica): void {
    const metric = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName, dimensionsMap: { DBInstanceIdentifier: replica.instanceIdentifier }, region: replica.region, statistic, period: Duration.minutes(1), label });
    this.facade.monitorCustom({
      alarmFriendlyName: 'Database-Replica',
      humanReadableName: `PostgreSQL replica ${replica.instanceIdentifier} (${replica.region})`,
      metricGroups: [
        { title: 'Replica lag (s)', metrics: [metric('ReplicaLag', cloudwatch.Stats.MAXIMUM, 'lag')] },
        { title: 'Replica CPU (%)', metrics: [metric('CPUUtilization', cloudwatch.Stats.AVERAGE, 'CPU')] },
      ],
    });
  }

  private monitorService(name: ServiceName, service: MonitoredService): void {
    const lb = service.loadBalancer.metrics;
    const minute = { period: Duration.minutes(1) };
    this.facade.monitorCustom({
      alarmFriendlyName: `${name}-LoadBalancer`,
      humanReadableName: `${name}: load balancer (both colours)`,
      metricGroups: [
        { title: 'Requests', metrics: [lb.requestCount({ ...minute, statistic: cloudwatch.Stats.SUM, label: 'requests' })] },
        {
          title: 'Target response time (s)',
          metrics: [50, 95, 99].map((p) => lb.targetResponseTime({ ...minute, statistic: cloudwatch.Stats.p(p), label: `p${p}` })),
          horizontalAnnotations: [{ value: 0.5, label: 'p99 objective 500 ms' }],
        },
        {
          title: '5xx',
          metrics: [
            lb.httpCodeTarget(HttpCodeTarget.TARGET_5XX_COUNT, { ...minute, statistic: cloudwatch.Stats.SUM, label: 'target 5xx' }),
            lb.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, { ...minute, statistic: cloudwatch.Stats.SUM, label: 'load balancer 5xx' }),
          ],
        },
        {
          title: 'Healthy / unhealthy targets',
          metrics: service.targetGroups.flatMap((tg, i) => [
            tg.metrics.healthyHostCount({ ...minute, statistic: cloudwatch.Stats.MINIMUM, label: `healthy (${i === 0 ? 'blue' : 'green'})` }),
            tg.metrics.unhealthyHostCount({ ...minute, statistic: cloudwatch.Stats.MAXIMUM, label: `unhealthy (${i === 0 ? 'blue' : 'green'})` }),
          ]),
        },
      ],
    });
    // CPU, memory and running tasks; the rollback alarms and ECS replace unhealthy tasks, so no alarms here.
    this.facade.monitorSimpleFargateService({ fargateService: service.service, alarmFriendlyName: `${name}-Tasks`, humanReadableName: `${name}: tasks (CPU, memory, count)` });
  }
}

function uniqueAlarms(alarms: cloudwatch.IAlarm[]): cloudwatch.IAlarm[] {
  return alarms.filter((alarm, index) => alarms.indexOf(alarm) === index);
}
