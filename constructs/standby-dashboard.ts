import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { HttpCodeElb, HttpCodeTarget } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** A load-balanced service of the standby, as the dashboard reads it. */
export interface StandbyDashboardService {
  /** ECS service name (Container Insights and AWS/ECS dimensions). */
  readonly serviceName: string;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  readonly targetGroup: elbv2.IApplicationTargetGroup;
}

/**
 * Properties of a StandbyDashboard.
 */
export interface StandbyDashboardProps {
  /**
   * Dashboard name. CloudWatch dashboards are global to the account, not to a
   * region, so it must differ from the primary's (`BodyScript-<Env>`) in the
   * same account.
   */
  readonly dashboardName: string;
  /** Environment name, shown in the header. */
  readonly environment: string;
  /** ECS cluster of the standby services. */
  readonly clusterName: string;
  /** The api: its load balancer serves users after failover. */
  readonly api: StandbyDashboardService;
  /** The worker: its load balancer serves health checks only; its work is the queue. */
  readonly processing: StandbyDashboardService;
  /** The read replica that the failover promotes (DBInstanceIdentifier). */
  readonly databaseInstanceIdentifier: string;
  /** The standby processing queue and its dead-letter queue. */
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** Namespace and `Environment` dimension of the worker's own metrics (runbooks/metrics.md). */
  readonly processingMetrics: { readonly namespace: string; readonly environment: string };
  /** The standby's alarms, shown by state at the top. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /**
   * Runbook named in the header.
   *
   * @default 'runbooks/disaster-recovery.md'
   */
  readonly runbook?: string;
}

const MINUTE = Duration.minutes(1);
const GIB = 1024 ** 3;
const WIDTH = 8;
const HEIGHT = 6;

/**
 * The environment as it runs in the standby region after `ops dr failover`:
 * the standby api and worker (requests, 5xx, response time, targets, tasks,
 * CPU and memory), the promoted database, the processing queues and the
 * worker's jobs, with the standby alarms on top. Every graph reads the
 * standby region (set on each widget), so on-call sees the recovered system
 * in the region that is alive; the primary's dashboard graphs us-east-1.
 *
 * Built by hand rather than by cdk-monitoring-constructs, whose RDS widgets
 * draw bytes on a percent axis and sum the connection gauge (review W4, W5):
 * bytes are drawn in GiB, gauges as Average/Minimum/Maximum, seconds as
 * seconds, and no percentile of a namespace that keeps none.
 */
export class StandbyDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: StandbyDashboardProps) {
    super(scope, id);
    const where = `StandbyDashboard ${this.node.path}`;
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(props.dashboardName)) {
      // PutDashboard: "can contain only alphanumerics, dash (-), and underscore (_)".
      throw new Error(`${where}: dashboardName must be 1–255 letters, digits, '-' or '_', got '${props.dashboardName}'`);
    }
    if (props.alarms.length === 0) throw new Error(`${where}: alarms must list the standby's alarms (StandbyAlarms), or the dashboard shows no state`);
    const region = Stack.of(this).region;
    if (Token.isUnresolved(region)) throw new Error(`${where}: the stack needs an explicit region: every graph must read the standby region, whatever console region opens it`);
    const runbook = props.runbook ?? 'runbooks/disaster-recovery.md';

    const graph = (title: string, left: cloudwatch.IMetric[], label: string, right?: { metrics: cloudwatch.IMetric[]; label: string }) =>
      new cloudwatch.GraphWidget({
        title,
        region,
        left,
        leftYAxis: { label, showUnits: false, min: 0 },
        right: right?.metrics,
        rightYAxis: right ? { label: right.label, showUnits: false, min: 0 } : undefined,
        width: WIDTH,
        height: HEIGHT,
        period: MINUTE,
      });
    const opts = (statistic: string, label: string): cloudwatch.MetricOptions => ({ statistic, period: MINUTE, label, region });
    const ecsService = (namespace: string, metricName: string, statistic: string, service: StandbyDashboardService, label: string) =>
      new cloudwatch.Metric({ namespace, metricName, dimensionsMap: { ClusterName: props.clusterName, ServiceName: service.serviceName }, statistic, period: MINUTE, label, region });
    const rds = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName, dimensionsMap: { DBInstanceIdentifier: props.databaseInstanceIdentifier }, statistic, period: MINUTE, label, region });
    // Bytes as GiB: the raw gauge stays hidden, the expression is what is drawn.
    const gib = (id: string, metricName: string, label: string) =>
      new cloudwatch.MathExpression({ expression: `${id} / ${GIB}`, usingMetrics: { [id]: rds(metricName, cloudwatch.Stats.MINIMUM, metricName) }, label, period: MINUTE });
    const worker = (metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: props.processingMetrics.namespace,
        metricName,
        dimensionsMap: { Environment: props.processingMetrics.environment },
        statistic: cloudwatch.Stats.SUM,
        period: MINUTE,
        label,
        region,
      });
    const sum = cloudwatch.Stats.SUM;
    const { api, processing } = props;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown:
              `# BodyScript ${props.environment}: the standby in ${region}, after failover\n` +
              `What runs here once \`ops dr failover\` has promoted the replica and raised the services. Before a failover the services run no task and their graphs are empty, ` +
              `and the database is a read replica (its lag is drawn until it is promoted). Every graph reads ${region}. Runbook: ${runbook}.`,
            width: 24,
            height: 2,
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: `Standby alarms (${region})`, alarms: [...props.alarms], width: 24, height: 4 })],
        [
          graph(
            'api: requests and 5xx answers (per minute)',
            [
              api.loadBalancer.metrics.requestCount(opts(sum, 'requests that reached a target')),
              api.loadBalancer.metrics.httpCodeTarget(HttpCodeTarget.TARGET_5XX_COUNT, opts(sum, '5xx from the api')),
              api.loadBalancer.metrics.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, opts(sum, '5xx from the load balancer (no, crashed or hung target)')),
            ],
            'count',
          ),
          graph(
            'api: response time of the targets',
            [api.loadBalancer.metrics.targetResponseTime(opts('p50', 'p50')), api.loadBalancer.metrics.targetResponseTime(opts('p99', 'p99 (objective 0.5 s)'))],
            's',
          ),
          graph(
            'api and worker: targets',
            [
              api.targetGroup.metrics.healthyHostCount(opts(cloudwatch.Stats.MINIMUM, 'api healthy')),
              api.targetGroup.metrics.unhealthyHostCount(opts(cloudwatch.Stats.MAXIMUM, 'api unhealthy')),
              processing.targetGroup.metrics.healthyHostCount(opts(cloudwatch.Stats.MINIMUM, 'worker healthy')),
              processing.targetGroup.metrics.unhealthyHostCount(opts(cloudwatch.Stats.MAXIMUM, 'worker unhealthy')),
            ],
            'count',
          ),
        ],
        [
          graph(
            'Tasks: running and desired',
            [
              ecsService('ECS/ContainerInsights', 'RunningTaskCount', cloudwatch.Stats.MINIMUM, api, 'api running'),
              ecsService('ECS/ContainerInsights', 'DesiredTaskCount', cloudwatch.Stats.MAXIMUM, api, 'api desired'),
              ecsService('ECS/ContainerInsights', 'RunningTaskCount', cloudwatch.Stats.MINIMUM, processing, 'worker running'),
              ecsService('ECS/ContainerInsights', 'DesiredTaskCount', cloudwatch.Stats.MAXIMUM, processing, 'worker desired'),
            ],
            'count',
          ),
          graph(
            'Tasks: CPU and memory (average of the service)',
            [
              ecsService('AWS/ECS', 'CPUUtilization', cloudwatch.Stats.AVERAGE, api, 'api CPU'),
              ecsService('AWS/ECS', 'MemoryUtilization', cloudwatch.Stats.AVERAGE, api, 'api memory'),
              ecsService('AWS/ECS', 'CPUUtilization', cloudwatch.Stats.AVERAGE, processing, 'worker CPU'),
              ecsService('AWS/ECS', 'MemoryUtilization', cloudwatch.Stats.AVERAGE, processing, 'worker memory'),
            ],
            '%',
          ),
          graph(
            'worker: jobs ended (per minute)',
            [worker('VideosProcessed', 'videos processed'), worker('ProcessingFailures', 'jobs failed')],
            'count',
          ),
        ],
        [
          graph(
            'queue: uploads waiting and dead letters',
            [
              props.queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: MINUTE, label: 'waiting', region }),
              props.queue.metricNumberOfMessagesDeleted({ statistic: sum, period: MINUTE, label: 'done (deleted)', region }),
              props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: MINUTE, label: 'dead letters', region }),
            ],
            'count',
          ),
          graph('queue: age of the oldest upload', [props.queue.metricApproximateAgeOfOldestMessage({ statistic: cloudwatch.Stats.MAXIMUM, period: MINUTE, label: 'oldest', region })], 's'),
          graph('database: CPU', [rds('CPUUtilization', cloudwatch.Stats.AVERAGE, 'average'), rds('CPUUtilization', cloudwatch.Stats.MAXIMUM, 'maximum')], '%'),
        ],
        [
          graph('database: free storage and freeable memory', [gib('storage', 'FreeStorageSpace', 'free storage (minimum)'), gib('memory', 'FreeableMemory', 'freeable memory (minimum)')], 'GiB'),
          graph('database: connections', [rds('DatabaseConnections', cloudwatch.Stats.MAXIMUM, 'connections (maximum)')], 'count'),
          graph(
            'database: replica lag (until promoted) and I/O latency',
            [rds('ReplicaLag', cloudwatch.Stats.MAXIMUM, 'replica lag'), rds('ReadLatency', cloudwatch.Stats.AVERAGE, 'read latency'), rds('WriteLatency', cloudwatch.Stats.AVERAGE, 'write latency')],
            's',
          ),
        ],
      ],
    });
  }
}
