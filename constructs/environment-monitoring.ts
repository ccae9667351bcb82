import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { HttpCodeElb, HttpCodeTarget } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as synthetics from 'aws-cdk-lib/aws-synthetics';
import { DefaultDashboardFactory, GraphWidgetType, MonitoringFacade, SnsAlarmActionStrategy, type CustomMetricGroup } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { describeAlarm, missingData } from '../lib/alarm-description';
import { LOW_TRAFFIC_RULE, lowTrafficCondition } from '../lib/low-traffic';
import type { EnvironmentName } from '../lib/config';
import { alarmNamePrefix, codeDeployApplicationName, deploymentGroupName, environmentTitle, serviceHealthAlarmName, type ServiceName } from '../lib/naming';
import { freeStorageThresholds } from './data-alarms';
import { blockedRequestsSurgeAlarmProps, type MonitoredWebAcl } from './web-acl-alarms';

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

/**
 * CloudFront waiting longer than this on average for its origins (3 periods of 5 minutes in a row) warns: the
 * api's latency objective is 500 ms at its load balancer, so twice that at the edge is a slow origin, not noise.
 */
export const ORIGIN_LATENCY_WARNING = Duration.millis(1000);

/** Where every environment alarm description sends the paged person. */
export const ALARMS_RUNBOOK = 'runbooks/alarms.md';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/** A load-balanced service to monitor. */
export interface MonitoredService {
  /** Its cluster's name and the ECS service's name (the AWS/ECS and ECS/ContainerInsights dimensions). */
  readonly clusterName: string;
  readonly serviceName: string;
  /** Its load balancer (requests, latency, 5xx over both colours). */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** Blue and green target groups (healthy hosts). */
  readonly targetGroups: elbv2.IApplicationTargetGroup[];
  /**
   * Tasks that crashed, could not start or failed health checks, per minute (FailedTasks.metric).
   *
   * @default - not shown
   */
  readonly failedTasks?: cloudwatch.IMetric;
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

/** The storage the primary database was created with and may grow to (for the free-storage thresholds drawn). */
export interface DatabaseStorage {
  readonly allocatedStorageGiB: number;
  readonly maxAllocatedStorageGiB: number;
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
  /**
   * The primary database's storage, to draw the free-storage alarm thresholds.
   *
   * @default - no thresholds drawn
   */
  readonly databaseStorage?: DatabaseStorage;
  /**
   * Connections at which the connections alarm fires, drawn on the connections graph.
   *
   * @default - none drawn
   */
  readonly databaseConnectionsAlarmThreshold?: number;
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
   * Web ACLs whose blocked requests are watched for a surge.
   *
   * @default - none
   */
  readonly webAcls?: readonly MonitoredWebAcl[];
  /**
   * Turn on CloudFront's additional metrics (cache hit rate, origin latency) for the distribution.
   *
   * @default true
   */
  readonly enableCloudFrontAdditionalMetrics?: boolean;
}

/**
 * What watches one BodyScript environment: one CloudWatch dashboard with an
 * edge, api, processing, database, canaries and deployments section (more
 * sections with `addSection()`), the environment alarms that are not already a
 * service's rollback alarm (CloudFront 5xx rate, processing queue age, api error
 * lines) wired to the critical or warning topic, metric filters on the api
 * logs, and the composite service-health alarm.
 *
 * cdk-monitoring-constructs builds the edge section, the processing queue's
 * widgets and the alarms on them, where its widgets use the right statistics
 * and units. The load balancer, ECS, dead-letter queue, database and canary
 * widgets are built here instead (README, "Dashboard"): its RDS widget draws
 * bytes on a percent axis and sums the connection gauge, its ECS widgets use
 * p100 on a namespace without percentiles, and its dead-letter queue widget
 * draws NumberOfMessagesSent, which SQS does not count for dead-lettered messages.
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

    // --- Edge (cdk-monitoring-constructs) --------------------------------------
    f.addLargeHeader('Edge: CloudFront');
    let edgeAlarms: cloudwatch.IAlarm[] = [];
    /** Alarms built here rather than by the facade (part of `alarms`). */
    const ownAlarms: cloudwatch.AlarmBase[] = [];
    /** Those of them that warn. */
    const warnings: cloudwatch.Alarm[] = [];
    if (props.distribution) {
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
      });
      // Not the facade's 5xx-rate alarm: its 1-minute Average reads 50 % on one failed request out of the
      // night's two canary requests (review R13). The rate counts a minute only by the low-traffic rule.
      const edgeMetric = (metricName: string, statistic: string) =>
        new cloudwatch.Metric({ namespace: 'AWS/CloudFront', metricName, dimensionsMap: { DistributionId: props.distribution!.distributionId, Region: 'Global' }, statistic, period: MINUTE });
      const edgeFaultRate = new cloudwatch.Alarm(this, 'EdgeFaultRate', {
        alarmName: `${facadePrefix}-Edge-5xxRate`,
        alarmDescription: describeAlarm({
          what: `CloudFront answered more than ${EDGE_5XX_RATE_PERCENT}% of requests with a 5xx in 3 of the last 5 minutes: users cannot load the app or call the api. ${LOW_TRAFFIC_RULE}`,
          action: 'Check the api rollback alarms and the origins (load balancer, frontend bucket).',
          missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'CloudFront publishes the rate only for minutes with requests; no request is no failure.'),
          runbook: ALARMS_RUNBOOK,
        }),
        metric: new cloudwatch.MathExpression({
          expression: `IF(${lowTrafficCondition('requests', 'rate')}, rate, 0)`,
          usingMetrics: { requests: edgeMetric('Requests', cloudwatch.Stats.SUM), rate: edgeMetric('5xxErrorRate', cloudwatch.Stats.AVERAGE) },
          period: MINUTE,
          label: '5xx answers (%), minutes with enough failed requests',
        }),
        threshold: EDGE_5XX_RATE_PERCENT,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      edgeFaultRate.addAlarmAction(new actions.SnsAction(props.critical));
      edgeFaultRate.addOkAction(new actions.SnsAction(props.critical));
      ownAlarms.push(edgeFaultRate);
      edgeAlarms = [edgeFaultRate];

      // Review R11: OriginLatency is an additional metric (Average, milliseconds), already paid for by the subscription.
      if (props.enableCloudFrontAdditionalMetrics ?? true) {
        const originLatency = new cloudwatch.Alarm(this, 'EdgeOriginLatency', {
          alarmName: `${facadePrefix}-Edge-OriginLatencyHigh`,
          alarmDescription: describeAlarm({
            what: `CloudFront waited more than ${ORIGIN_LATENCY_WARNING.toMilliseconds()} ms on average for its origins (api load balancer, frontend bucket) for 15 minutes: users wait for every uncached answer.`,
            action: 'Compare with the api latency on this dashboard: a slow api points at the database or the tasks; a slow bucket origin at S3 or the origin access control.',
            missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'CloudFront publishes origin latency only for periods with requests to an origin; none is nothing slow.'),
            runbook: ALARMS_RUNBOOK,
          }),
          metric: edgeMetric('OriginLatency', cloudwatch.Stats.AVERAGE).with({ period: FIVE_MINUTES }),
          threshold: ORIGIN_LATENCY_WARNING.toMilliseconds(),
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
        warnings.push(originLatency);
      }
    }

    // Review R11: a surge of blocked requests is an attack or a rule blocking real users.
    for (const acl of props.webAcls ?? []) {
      warnings.push(
        new cloudwatch.Alarm(
          this,
          `${acl.label}WebAclBlockedSurge`,
          blockedRequestsSurgeAlarmProps({ acl, region, alarmName: `${facadePrefix}-${acl.label}-WebAcl-BlockedRequestsSurge`, runbook: ALARMS_RUNBOOK }),
        ),
      );
    }
    for (const alarm of warnings) {
      alarm.addAlarmAction(new actions.SnsAction(props.warning));
      alarm.addOkAction(new actions.SnsAction(props.warning));
    }
    ownAlarms.push(...warnings);

    // --- api ----------------------------------------------------------------
    f.addLargeHeader('api');
    if (props.api) this.monitorService('api', props.api);
    if (props.apiLogGroup) {
      // Default value 0: CloudWatch Logs then publishes 0 for every minute in which the
      // api logged lines and none matched (the canary's request logs one a minute), so a
      // healthy api has datapoints instead of a gap (CountingLogEventsExample).
      const errorLines = new logs.MetricFilter(this, 'ApiErrorLines', {
        logGroup: props.apiLogGroup,
        filterName: `${facadePrefix}-api-error-lines`,
        filterPattern: logs.FilterPattern.any(logs.FilterPattern.stringValue('$.level', '=', 'ERROR'), logs.FilterPattern.stringValue('$.level', '=', 'CRITICAL')),
        metricNamespace: API_LOG_NAMESPACE,
        metricName: 'ErrorLogLines',
        metricValue: '1',
        defaultValue: 0,
        unit: cloudwatch.Unit.COUNT,
      });
      const serverErrors = new logs.MetricFilter(this, 'ApiServerErrors', {
        logGroup: props.apiLogGroup,
        filterName: `${facadePrefix}-api-5xx-responses`,
        filterPattern: logs.FilterPattern.numberValue('$.status', '>=', 500),
        metricNamespace: API_LOG_NAMESPACE,
        metricName: 'ServerErrorResponses',
        metricValue: '1',
        defaultValue: 0,
        unit: cloudwatch.Unit.COUNT,
      });
      this.apiErrorLinesMetric = errorLines.metric({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES });
      this.apiServerErrorsMetric = serverErrors.metric({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES, label: '5xx responses' });
      f.monitorCustom({
        alarmFriendlyName: 'api-Logs',
        humanReadableName: 'api logs (metric filters)',
        metricGroups: [
          {
            title: 'ERROR lines and 5xx responses logged (count per 5 min)',
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
                    treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
                    alarmDescriptionOverride: describeAlarm({
                      what: 'The api logged more than 50 ERROR lines in each of two 5-minute periods: something fails repeatedly even if users still get answers.',
                      action: 'Open Sentry for the environment and the api log group.',
                      missingData: missingData(
                        cloudwatch.TreatMissingData.NOT_BREACHING,
                        'The filter publishes 0 for every period in which the api logged anything; a period without a single log line has no error line either, and the rollback alarms see an api that is down.',
                      ),
                      runbook: ALARMS_RUNBOOK,
                    }),
                  },
                },
              },
              this.apiServerErrorsMetric,
            ],
            graphWidgetAxis: { min: 0, label: 'count' },
          },
        ],
      });
    }

    // --- processing ---------------------------------------------------------
    f.addLargeHeader('processing');
    // The main queue: the facade's widgets are right for it (S3 upload events are sent to it).
    f.monitorSqsQueue({
      queue: props.processingQueue,
      alarmFriendlyName: 'Processing',
      humanReadableName: 'Processing queue (uploads waiting)',
      addQueueMaxMessageAgeAlarm: {
        Warning: {
          maxAgeInSeconds: QUEUE_AGE_WARNING.toSeconds(),
          treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescriptionOverride: describeAlarm({
            what: `The oldest upload has waited more than ${QUEUE_AGE_WARNING.toMinutes()} minutes for processing, longer than 2–4 videos an hour per worker allows with the backlog auto scaling keeps.`,
            action: 'Check whether processing runs at its maximum task count or its workers are stuck.',
            missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'SQS publishes the age only while the queue holds a message; an empty queue has no old upload.'),
            runbook: ALARMS_RUNBOOK,
          }),
        },
        Critical: {
          maxAgeInSeconds: QUEUE_AGE_CRITICAL.toSeconds(),
          treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescriptionOverride: describeAlarm({
            what: `The oldest upload has waited more than ${QUEUE_AGE_CRITICAL.toMinutes()} minutes: users' videos are hours behind.`,
            action: "Raise processing's maximum task count or fix the stuck workers now.",
            missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'SQS publishes the age only while the queue holds a message; an empty queue has no old upload.'),
            runbook: ALARMS_RUNBOOK,
          }),
        },
      },
    });
    // The dead-letter queue by hand: SQS does not count messages it moves there in
    // NumberOfMessagesSent, so only what is visible and its age mean anything.
    // DataAlarms alarms on the first dead-letter message.
    const dlq = props.processingDeadLetterQueue;
    f.addWidget(
      graph('Dead-letter queue: failed videos waiting (count)', [dlq.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: FIVE_MINUTES, label: 'visible' })], 'count'),
    );
    f.addWidget(
      graph(
        'Dead-letter queue: oldest failed video (hours)',
        [hours(dlq.metricApproximateAgeOfOldestMessage({ statistic: cloudwatch.Stats.MAXIMUM, period: FIVE_MINUTES }), 'age', 'age')],
        'hours',
      ),
    );
    const processingMetric = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace: PROCESSING_NAMESPACE, metricName, dimensionsMap: { Environment: env }, statistic, period: FIVE_MINUTES, label });
    const jobGroups: CustomMetricGroup[] = [
      {
        title: 'Videos processed and failed (count per 5 min)',
        graphWidgetType: GraphWidgetType.BAR,
        metrics: [processingMetric('VideosProcessed', cloudwatch.Stats.SUM, 'processed'), processingMetric('ProcessingFailures', cloudwatch.Stats.SUM, 'failed')],
        graphWidgetAxis: { min: 0, label: 'count' },
      },
      {
        // Percentiles of a custom metric: the worker publishes one value per job (runbooks/metrics.md), not statistic sets.
        title: 'Processing duration (s)',
        metrics: [
          processingMetric('ProcessingDurationSeconds', cloudwatch.Stats.p(50), 'p50'),
          processingMetric('ProcessingDurationSeconds', cloudwatch.Stats.p(95), 'p95'),
          processingMetric('ProcessingDurationSeconds', cloudwatch.Stats.MAXIMUM, 'max'),
        ],
        graphWidgetAxis: { min: 0, label: 's' },
      },
    ];
    f.monitorCustom({ alarmFriendlyName: 'Processing-Jobs', humanReadableName: `Processing jobs (${PROCESSING_NAMESPACE})`, metricGroups: jobGroups });
    if (props.processing) this.monitorService('processing', props.processing);

    // --- database -----------------------------------------------------------
    f.addLargeHeader('database');
    this.monitorDatabase(props);
    if (props.databaseReplica) this.addDatabaseReplica(props.databaseReplica);

    // --- canaries -----------------------------------------------------------
    const canaries = props.canaries ?? [];
    if (canaries.length) {
      f.addLargeHeader('canaries');
      f.addWidget(
        graph(
          'Canary runs that passed (%)',
          canaries.map((c) => c.canary.metricSuccessPercent({ period: MINUTE, statistic: cloudwatch.Stats.AVERAGE, label: c.canary.canaryName })),
          '%',
          { max: 100 },
        ),
      );
      f.addWidget(
        graph(
          'Canary run duration (ms)',
          canaries.map((c) => c.canary.metricDuration({ period: MINUTE, statistic: cloudwatch.Stats.AVERAGE, label: c.canary.canaryName })),
          'ms',
        ),
      );
      // SampleCount of SuccessPercent is the number of runs: a silent canary shows 0 here.
      f.addWidget(
        graph(
          'Canary runs (count per 5 min)',
          canaries.map((c) => c.canary.metricSuccessPercent({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SAMPLE_COUNT, label: c.canary.canaryName })),
          'count',
        ),
      );
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
    const codeDeployLink = (service: ServiceName) =>
      `[${service}](https://${region}.console.aws.amazon.com/codesuite/codedeploy/applications/${codeDeployApplicationName(env, service)}/deployment-groups/${deploymentGroupName(env, service)}?region=${region})`;
    // The worker has no CodeDeploy deployment group: ECS rolls it (deployment alarms, circuit breaker).
    const worker = props.processing;
    const ecsDeploymentsLink = worker ? `[processing](https://${region}.console.aws.amazon.com/ecs/v2/clusters/${worker.clusterName}/services/${worker.serviceName}/deployments?region=${region})` : 'processing';
    f.addWidget(
      new cloudwatch.TextWidget({
        width: 8,
        height: 6,
        markdown: [
          '### Deployments',
          `api: CodeDeploy blue/green, ${codeDeployLink('api')} · processing: ECS rolling update, ${ecsDeploymentsLink}.`,
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
    this.alarms = [...this.facade.createdAlarms().map((a) => a.alarm), ...ownAlarms];
  }

  /**
   * Adds a section at the end of the dashboard: a header and its widgets. The
   * place for further sections such as delivery metrics; their alarms are
   * checked by test/alarm-contract.test.ts like every other alarm.
   */
  public addSection(header: string, widgets: cloudwatch.IWidget[]): void {
    if (!header.trim()) throw new Error(`EnvironmentMonitoring ${this.node.path}: addSection needs a header`);
    this.facade.addLargeHeader(header);
    for (const widget of widgets) this.facade.addWidget(widget);
  }

  /**
   * Shows the cross-region read replica's lag, CPU and free storage beside the
   * primary. The standby stack owns the replica's alarms (an alarm must live in
   * its metric's region).
   */
  public addDatabaseReplica(replica: DatabaseReplica): void {
    // The widgets live in the replica's region: its metrics and the math on them are read there.
    const metric = (metricName: string, statistic: string, label: string, period = MINUTE) =>
      new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName, dimensionsMap: { DBInstanceIdentifier: replica.instanceIdentifier }, region: replica.region, statistic, period, label });
    const inRegion = { region: replica.region };
    this.facade.addWidget(new cloudwatch.TextWidget({ width: 24, height: 1, markdown: `### PostgreSQL replica ${replica.instanceIdentifier} (${replica.region})` }));
    this.facade.addWidget(
      graph('Replica lag (s)', [metric('ReplicaLag', cloudwatch.Stats.MAXIMUM, 'max'), metric('ReplicaLag', cloudwatch.Stats.MINIMUM, 'min (alarm)')], 's', inRegion, 8),
    );
    this.facade.addWidget(graph('Replica CPU (%)', [metric('CPUUtilization', cloudwatch.Stats.AVERAGE, 'average')], '%', { ...inRegion, max: 100 }, 8));
    this.facade.addWidget(
      graph('Replica free storage (GiB)', [gib(metric('FreeStorageSpace', cloudwatch.Stats.MINIMUM, 'free', FIVE_MINUTES), 'replicaFree', 'free')], 'GiB', inRegion, 8),
    );
  }

  /**
   * The primary database, by hand (units and statistics of rds-metrics): CPU in
   * percent, free storage and freeable memory in GiB on their own graphs, the
   * connection gauge as Maximum and Average (never Sum), latency in seconds,
   * IOPS and throughput each on their own axis.
   */
  private monitorDatabase(props: EnvironmentMonitoringProps): void {
    const db = props.database;
    const m = (metricName: string, statistic: string, label: string, period = FIVE_MINUTES) => db.metric(metricName, { statistic, period, label });
    const storageAnnotations: cloudwatch.HorizontalAnnotation[] = [];
    if (props.databaseStorage) {
      const thresholds = freeStorageThresholds(props.databaseStorage.allocatedStorageGiB, props.databaseStorage.maxAllocatedStorageGiB);
      storageAnnotations.push(
        { value: thresholds.stalledBelowBytes / GIB, label: 'autoscaling should have grown it (warning after 30 min)', color: cloudwatch.Color.ORANGE },
        { value: thresholds.pageBelowBytes / GIB, label: 'page', color: cloudwatch.Color.RED },
      );
    }
    this.facade.addWidget(new cloudwatch.TextWidget({ width: 24, height: 1, markdown: '### PostgreSQL (primary)' }));
    this.facade.addWidget(graph('CPU (%)', [m('CPUUtilization', cloudwatch.Stats.AVERAGE, 'average'), m('CPUUtilization', cloudwatch.Stats.MAXIMUM, 'max')], '%', { max: 100 }, 8));
    this.facade.addWidget(
      graph('Free storage (GiB)', [gib(m('FreeStorageSpace', cloudwatch.Stats.MINIMUM, 'free'), 'freeStorage', 'free storage')], 'GiB', { annotations: storageAnnotations }, 8),
    );
    this.facade.addWidget(graph('Freeable memory (GiB)', [gib(m('FreeableMemory', cloudwatch.Stats.MINIMUM, 'freeable'), 'freeableMemory', 'freeable memory')], 'GiB', undefined, 8));
    this.facade.addWidget(
      graph(
        'Connections (count)',
        [m('DatabaseConnections', cloudwatch.Stats.MAXIMUM, 'max'), m('DatabaseConnections', cloudwatch.Stats.AVERAGE, 'average')],
        'count',
        { annotations: props.databaseConnectionsAlarmThreshold ? [{ value: props.databaseConnectionsAlarmThreshold, label: 'alarm', color: cloudwatch.Color.ORANGE }] : [] },
        6,
      ),
    );
    this.facade.addWidget(
      graph(
        'Read and write latency (s)',
        [m('ReadLatency', cloudwatch.Stats.AVERAGE, 'read'), m('WriteLatency', cloudwatch.Stats.AVERAGE, 'write'), m('WriteLatency', cloudwatch.Stats.MAXIMUM, 'write max')],
        's',
        undefined,
        6,
      ),
    );
    this.facade.addWidget(graph('IOPS (per second)', [m('ReadIOPS', cloudwatch.Stats.AVERAGE, 'read'), m('WriteIOPS', cloudwatch.Stats.AVERAGE, 'write')], 'per second', undefined, 6));
    this.facade.addWidget(
      graph(
        'Throughput (MiB/s)',
        [mib(m('ReadThroughput', cloudwatch.Stats.AVERAGE, 'read'), 'readThroughput', 'read'), mib(m('WriteThroughput', cloudwatch.Stats.AVERAGE, 'write'), 'writeThroughput', 'write')],
        'MiB/s',
        undefined,
        6,
      ),
    );
  }

  private monitorService(name: ServiceName, service: MonitoredService): void {
    const f = this.facade;
    const lb = service.loadBalancer.metrics;
    const sum = { period: MINUTE, statistic: cloudwatch.Stats.SUM };
    const colour = (i: number) => (i === 0 ? 'blue' : 'green');
    f.addWidget(new cloudwatch.TextWidget({ width: 24, height: 1, markdown: `### ${name}: load balancer (both colours) and tasks` }));
    f.addWidget(graph('Requests (count per minute)', [lb.requestCount({ ...sum, label: 'requests' })], 'count', undefined, 6));
    f.addWidget(
      graph(
        'Target response time (s)',
        [50, 95, 99].map((p) => lb.targetResponseTime({ period: MINUTE, statistic: cloudwatch.Stats.p(p), label: `p${p}` })),
        's',
        { annotations: [{ value: 0.5, label: 'p99 objective 500 ms' }] },
        6,
      ),
    );
    f.addWidget(
      graph(
        '5xx answers (count per minute)',
        [lb.httpCodeTarget(HttpCodeTarget.TARGET_5XX_COUNT, { ...sum, label: 'target 5xx' }), lb.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, { ...sum, label: 'load balancer 5xx' })],
        'count',
        undefined,
        6,
      ),
    );
    f.addWidget(
      graph(
        'Healthy / unhealthy targets (count)',
        service.targetGroups.flatMap((tg, i) => [
          tg.metrics.healthyHostCount({ period: MINUTE, statistic: cloudwatch.Stats.MINIMUM, label: `healthy (${colour(i)})` }),
          tg.metrics.unhealthyHostCount({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM, label: `unhealthy (${colour(i)})` }),
        ]),
        'count',
        undefined,
        6,
      ),
    );
    // AWS/ECS publishes no percentiles: Average and Maximum.
    const ecsMetric = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/ECS', metricName, dimensionsMap: { ClusterName: service.clusterName, ServiceName: service.serviceName }, statistic, period: MINUTE, label });
    const insights = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace: 'ECS/ContainerInsights', metricName, dimensionsMap: { ClusterName: service.clusterName, ServiceName: service.serviceName }, statistic, period: MINUTE, label });
    f.addWidget(graph('CPU (%)', [ecsMetric('CPUUtilization', cloudwatch.Stats.AVERAGE, 'average'), ecsMetric('CPUUtilization', cloudwatch.Stats.MAXIMUM, 'max')], '%', undefined, 6));
    f.addWidget(graph('Memory (%)', [ecsMetric('MemoryUtilization', cloudwatch.Stats.AVERAGE, 'average'), ecsMetric('MemoryUtilization', cloudwatch.Stats.MAXIMUM, 'max')], '%', undefined, 6));
    f.addWidget(
      graph(
        'Tasks (count)',
        [
          insights('RunningTaskCount', cloudwatch.Stats.MINIMUM, 'running (min)'),
          insights('DesiredTaskCount', cloudwatch.Stats.MAXIMUM, 'desired'),
          insights('PendingTaskCount', cloudwatch.Stats.MAXIMUM, 'pending'),
        ],
        'count',
        undefined,
        6,
      ),
    );
    if (service.failedTasks) {
      f.addWidget(graph('Failed tasks (count per minute)', [service.failedTasks], 'count', undefined, 6));
    }
  }
}

/** A line graph whose left axis states its unit (and starts at 0). */
function graph(
  title: string,
  metrics: cloudwatch.IMetric[],
  unit: string,
  options: { readonly max?: number; readonly annotations?: cloudwatch.HorizontalAnnotation[]; readonly region?: string } = {},
  width = 12,
): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title,
    region: options.region,
    left: metrics,
    leftYAxis: { min: 0, max: options.max, label: unit, showUnits: false },
    leftAnnotations: options.annotations?.length ? options.annotations : undefined,
    width,
    height: 6,
  });
}

/** A bytes metric drawn in GiB. */
function gib(bytes: cloudwatch.IMetric, id: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({ expression: `${id} / ${GIB}`, usingMetrics: { [id]: bytes }, label });
}

/** A bytes-per-second metric drawn in MiB/s. */
function mib(bytesPerSecond: cloudwatch.IMetric, id: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({ expression: `${id} / ${MIB}`, usingMetrics: { [id]: bytesPerSecond }, label });
}

/** A seconds metric drawn in hours. */
function hours(seconds: cloudwatch.IMetric, id: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({ expression: `${id} / 3600`, usingMetrics: { [id]: seconds }, label });
}

function uniqueAlarms(alarms: cloudwatch.IAlarm[]): cloudwatch.IAlarm[] {
  return alarms.filter((alarm, index) => alarms.indexOf(alarm) === index);
}
