import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { HttpCodeElb, HttpCodeTarget } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { describeAlarm, missingData } from '../lib/alarm-description';
import { acknowledge } from '../lib/compliance';
import { BAD_REQUEST_FLOOR_RULE, badRequestsAtLeast, LOW_TRAFFIC_RULE, lowTrafficConditionOnCount, MIN_BAD_REQUESTS_PER_MINUTE } from '../lib/low-traffic';

/**
 * A release that fails every request (crashes, hangs, answers 5xx or slowly)
 * is detected within this long by the load balancer and canary alarms; the
 * product tolerates 2–5 minutes for the whole rollback.
 */
export const MAX_DETECTION_TIME = Duration.minutes(2);

/** Tasks that crash or cannot start are detected within this long (two failed tasks in different minutes). */
export const MAX_CRASH_LOOP_DETECTION_TIME = Duration.minutes(3);

/** CodeDeploy watches at most this many alarms per deployment group. */
export const CODEDEPLOY_MAX_ALARMS = 10;

/** How a release can fail; each rollback alarm says which of these it detects. */
export const RELEASE_FAILURES = ['crash', 'hang', 'errors', 'slow', 'failing-jobs', 'stuck-jobs'] as const;
export type ReleaseFailure = (typeof RELEASE_FAILURES)[number];

/** What reaches the service's load balancer. */
export type LoadBalancerTraffic =
  /** Users (through CloudFront) and the service's canary: 5xx rate, p99 latency, unhealthy and missing targets. */
  | 'users'
  /** Only the canary's request to the health endpoint (a queue worker): unhealthy and missing targets; a request rate it never reaches would make a 5xx rate that can never fire. */
  | 'health-checks';

/** An alarm a deployment watches, with what it detects and how fast. */
export interface DeploymentAlarm {
  readonly alarm: cloudwatch.IAlarm;
  /** The release failures it detects at the service's real traffic. */
  readonly detects: readonly ReleaseFailure[];
  /** Longest time from the failure showing in the metric to ALARM: period × evaluation periods. */
  readonly worstCaseDetection: Duration;
}

/** Every minute, two minutes in a row: one bad minute (a lost connection, a garbage collection) does not roll back. */
const MINUTE = Duration.minutes(1);
const FAST = { evaluationPeriods: 2, datapointsToAlarm: 2 } as const;

/**
 * Jobs are counted in 10-minute periods, and two periods of three (30 minutes)
 * where at least half of the jobs that ended failed roll back: a worker ends a
 * job every 15–30 minutes, so a shorter window never sees two failures. The
 * window stays shorter than the queue's visibility timeout, so the retries of
 * one bad video (one failure per receive) never add up to an alarm alone.
 */
export const JOB_FAILURE_PERIOD = Duration.minutes(10);
export const JOB_FAILURE_EVALUATION_PERIODS = 3;
export const JOB_FAILURE_DATAPOINTS_TO_ALARM = 2;
/** Fewest failed jobs the job-failure alarm needs (one per breaching period). */
export const JOB_FAILURES_TO_ALARM = JOB_FAILURE_DATAPOINTS_TO_ALARM;

/** A worker processes 2–4 videos an hour (DESIGN.md): the least it finishes while videos wait. */
export const WORKER_MIN_JOBS_PER_HOUR = 2;

/**
 * A job takes at most 30 minutes (2–4 videos an hour per worker), so running
 * workers that finish no job for three 15-minute periods in a row while
 * uploads wait the whole time are stuck. Waiting uploads are the visible
 * messages: one bad video retried after each visibility timeout is in flight,
 * not visible, so it never looks like a stall by itself.
 */
const QUEUE_STALLED_PERIOD = Duration.minutes(15);
const QUEUE_STALLED_EVALUATION_PERIODS = 3;

/** The worker's own signals, for a service that processes queued jobs. */
export interface WorkerSignals {
  /** Namespace of the worker's metrics (runbooks/metrics.md). */
  readonly metricsNamespace: string;
  /** Value of their `Environment` dimension. */
  readonly metricsEnvironment: string;
  /** The queue the workers consume. */
  readonly queue: sqs.IQueue;
  /** The queue's visibility timeout: the job-failure window must be shorter. */
  readonly visibilityTimeout: Duration;
  /** ECS cluster and service names (ECS/ContainerInsights dimensions). */
  readonly clusterName: string;
  readonly serviceName: string;
  /**
   * Jobs the workers finish per hour at the least while videos wait: the
   * minimum task count × 2 (DESIGN.md: 2–4 videos an hour per worker). The
   * job-failure alarm is handed to the deployment only where it can see
   * JOB_FAILURES_TO_ALARM failures within its window at this rate.
   */
  readonly minimumJobsPerHour: number;
}

/**
 * Properties of RollbackAlarms.
 */
export interface RollbackAlarmsProps {
  /** Prefix of every alarm name, e.g. `BodyScript-Staging-api-` (it must start with `alarmNamePrefix(env)`). */
  readonly alarmNamePrefix: string;
  /** The service's load balancer (its listeners carry production and test traffic). */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The blue and green target groups (one when the service has a single target group); each attached to a listener of `loadBalancer`. */
  readonly targetGroups: elbv2.IApplicationTargetGroup[];
  /**
   * What reaches the load balancer, which decides the alarms on it.
   *
   * @default 'users'
   */
  readonly traffic?: LoadBalancerTraffic;
  /**
   * The fewest requests a minute that reach the load balancer: its health-check
   * canary's (HealthCheckCanary.requestsPerMinute), when no user calls. Required
   * for 'users' traffic and at least MIN_BAD_REQUESTS_PER_MINUTE: the latency
   * alarm counts a minute only with that many slow responses in it (one slow
   * cold request is no trend), so a release that slows every request is seen at
   * night only if that many requests arrive every minute.
   *
   * @default - none; refused for 'users' traffic
   */
  readonly quietestRequestsPerMinute?: number;
  /**
   * Alarms of the health-check canaries of this service (see HealthCheckCanary.failureAlarm).
   *
   * @default - none
   */
  readonly canaryAlarms?: cloudwatch.IAlarm[];
  /**
   * Tasks of this service that stopped because a container exited, failed to
   * start, or failed its health checks (see FailedTasks.metric), per minute.
   *
   * @default - no crash-loop alarm
   */
  readonly failedTasks?: cloudwatch.IMetric;
  /**
   * The worker's own signals (processing): job failures and a stalled queue.
   *
   * @default - none
   */
  readonly worker?: WorkerSignals;
  /**
   * How long a deployment watches its alarms once it starts (CodeDeploy:
   * traffic shift and termination wait; ECS: the bake time). An alarm that
   * needs longer to detect its failure is not handed to the deployment (it
   * still pages through the composite alarm).
   *
   * @default - every alarm is handed to the deployment
   */
  readonly deploymentWatch?: Duration;
  /**
   * 99th percentile target response time above which the release is rolled back.
   *
   * @default Duration.millis(500) - the product's API latency objective
   */
  readonly maxP99Latency?: Duration;
  /**
   * Share of requests (percent) answered with a 5xx (by the targets or by the load balancer) above which the release is rolled back.
   *
   * @default 5
   */
  readonly max5xxRatePercent?: number;
  /**
   * Topic notified when the composite alarm changes state.
   *
   * @default - no notification (CodeDeploy still watches the alarms)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Runbook named in every alarm description.
   *
   * @default 'runbooks/rollback.md'
   */
  readonly runbook?: string;
}

/**
 * The alarms that decide whether a release of one service is healthy, each
 * able to fire at the service's real traffic (a canary request a minute at
 * night), with no FILL in their math: a late newest datapoint stays missing,
 * and CloudWatch then evaluates the newest datapoints that exist.
 *
 * - On the load balancer, as users see it: the 5xx rate counting the
 *   load balancer's own 502/503/504 over requests including those that found
 *   no target; no healthy target while requests arrive; p99 latency; an
 *   unhealthy target in either colour. The 5xx rate and the latency judge a
 *   minute only with at least 3 bad requests in it (the 5xx rate also when
 *   every request failed; lib/low-traffic.ts). A worker whose load balancer only
 *   serves its health endpoint keeps the last two.
 * - Tasks that crash or cannot start, from ECS task state changes.
 * - The service's health-check canaries.
 * - For a worker: job failures, and a queue that stalls while workers run.
 *
 * `alarms` is what the deployment watches (what can fire within
 * `deploymentWatch`); `compositeAlarm` is in ALARM when any alarm is.
 */
export class RollbackAlarms extends Construct {
  /** The alarms a deployment watches (at most CODEDEPLOY_MAX_ALARMS). */
  public readonly alarms: cloudwatch.IAlarm[];
  /** `alarms` with what each detects and how fast. */
  public readonly deploymentAlarms: DeploymentAlarm[];
  /** Alarms that page through the composite but are too slow to hand to the deployment. */
  public readonly pageOnlyAlarms: DeploymentAlarm[];
  /** In ALARM when any of these alarms is: one state for dashboards, the service-health alarm and people. */
  public readonly compositeAlarm: cloudwatch.CompositeAlarm;
  /** Longest detection time of the alarms handed to the deployment. */
  public readonly worstCaseDetectionTime: Duration;
  /** Users get a 5xx (from the targets or the load balancer) for more than `max5xxRatePercent` of requests ('users' traffic). */
  public readonly serverErrorRate?: cloudwatch.Alarm;
  /** p99 target response time above `maxP99Latency` ('users' traffic). */
  public readonly latency?: cloudwatch.Alarm;
  /** A target in either target group fails its health check. */
  public readonly unhealthyHosts: cloudwatch.Alarm;
  /** Requests arrive while no target of either colour is healthy. */
  public readonly noHealthyTargets: cloudwatch.Alarm;
  /** Tasks keep crashing or failing to start, when `failedTasks` is given. */
  public readonly tasksFailing?: cloudwatch.Alarm;
  /** At least half of the jobs that ended failed, in two of three 10-minute periods, when `worker` is given. */
  public readonly jobFailureRate?: cloudwatch.Alarm;
  /** Workers run but finish no job while uploads wait, when `worker` is given. */
  public readonly queueStalled?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: RollbackAlarmsProps) {
    super(scope, id);
    const where = `RollbackAlarms ${this.node.path}`;
    const traffic = props.traffic ?? 'users';
    const maxLatency = props.maxP99Latency ?? Duration.millis(500);
    const max5xx = props.max5xxRatePercent ?? 5;
    const runbook = props.runbook ?? 'runbooks/rollback.md';

    if (!props.alarmNamePrefix) throw new Error(`${where}: alarmNamePrefix must not be empty`);
    if (props.targetGroups.length < 1 || props.targetGroups.length > 2) {
      throw new Error(`${where}: targetGroups must list the blue and green target groups (1–2), got ${props.targetGroups.length}`);
    }
    if (maxLatency.toMilliseconds() <= 0) throw new Error(`${where}: maxP99Latency must be more than 0, got ${maxLatency.toMilliseconds()} ms`);
    if (!(max5xx > 0 && max5xx <= 100)) throw new Error(`${where}: max5xxRatePercent must be more than 0 and at most 100 (percent), got ${max5xx}`);
    if (traffic === 'health-checks' && (props.maxP99Latency !== undefined || props.max5xxRatePercent !== undefined)) {
      throw new Error(`${where}: maxP99Latency and max5xxRatePercent apply to 'users' traffic only; a load balancer that only serves health checks has no 5xx rate or latency to watch`);
    }
    if (traffic === 'users') {
      const quietest = props.quietestRequestsPerMinute;
      if (quietest === undefined || !(quietest >= MIN_BAD_REQUESTS_PER_MINUTE)) {
        throw new Error(
          `${where}: quietestRequestsPerMinute must be at least ${MIN_BAD_REQUESTS_PER_MINUTE} (the health-check canary's requests a minute, HealthCheckCanary.requestsPerRun), got ${quietest}: ` +
            `the latency alarm counts a minute only with ${MIN_BAD_REQUESTS_PER_MINUTE} slow responses, so with fewer requests a release that slows every one of them would never roll back at night`,
        );
      }
    }
    if (props.worker) validateWorker(where, props.worker);

    const name = (suffix: string) => `${props.alarmNamePrefix}${suffix}`;
    const lb = props.loadBalancer.metrics;
    const sum = { period: MINUTE, statistic: cloudwatch.Stats.SUM };
    const groups = props.targetGroups.map((tg, i) => ({ tg, i }));
    const total = (prefix: string) => groups.map(({ i }) => `${prefix}${i}`).join(' + ');
    const fast: DeploymentAlarm[] = [];

    if (traffic === 'users') {
      // The users' view is the whole load balancer: blue and green share it, and the
      // load balancer's own 502/503/504 (a crashed, hung or missing target) exist only
      // per load balancer (usersServerErrorRate). A minute counts by the low-traffic
      // rule: one 5xx among the canary's requests at night is no failed release, a
      // release that fails every request is one at any traffic.
      this.serverErrorRate = new cloudwatch.Alarm(this, 'ServerErrorRate', {
        alarmName: name('5xxRate'),
        alarmDescription: describeAlarm({
          what: `More than ${max5xx}% of requests got a 5xx, from the service's targets or from the load balancer itself (502/503/504: a crashed, hung or missing target), for two minutes in a row. ${LOW_TRAFFIC_RULE}`,
          action: "During a deployment CodeDeploy rolls the release back; otherwise look at the service's error logs and Sentry for the failing endpoint, and at its task count.",
          missingData: missingData(
            cloudwatch.TreatMissingData.NOT_BREACHING,
            'The load balancer publishes these counts only for minutes with requests; a minute without requests is no evidence against the release, and the canary sends requests every minute.',
          ),
          runbook,
        }),
        metric: usersServerErrorRate(props.loadBalancer),
        threshold: max5xx,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...FAST,
      });
      fast.push({ alarm: this.serverErrorRate, detects: ['crash', 'hang', 'errors'], worstCaseDetection: detection(this.serverErrorRate) });

      // The p99 as a share: more than 1 % of responses slower than the objective is p99 above it,
      // and the share comes with its count (SampleCount of the same metric). A minute counts
      // only with at least MIN_BAD_REQUESTS_PER_MINUTE slow responses, whatever the traffic (review
      // R14: at one request a minute, one slow cold request in each of two minutes rolled back);
      // the canary's own requests (quietestRequestsPerMinute) keep a slow release countable.
      const objective = maxLatency.toMilliseconds() / 1000;
      this.latency = new cloudwatch.Alarm(this, 'Latency', {
        alarmName: name('LatencyP99'),
        alarmDescription: describeAlarm({
          what:
            `More than 1 % of the responses of the service's targets were slower than ${maxLatency.toMilliseconds()} ms, the API's latency objective (its p99 above it), for two minutes in a row. ` +
            BAD_REQUEST_FLOOR_RULE,
          action: 'During a deployment CodeDeploy rolls the release back; otherwise check database CPU and slow queries in Performance Insights.',
          missingData: missingData(
            cloudwatch.TreatMissingData.NOT_BREACHING,
            'Response times exist only for requests a target answered; a release that answers nothing is caught by the 5xx rate and the no-healthy-target alarm.',
          ),
          runbook,
        }),
        metric: new cloudwatch.MathExpression({
          expression: `IF(${badRequestsAtLeast('answered', '(100 - fast)')}, 100 - fast, 0)`,
          usingMetrics: {
            answered: lb.targetResponseTime({ period: MINUTE, statistic: cloudwatch.Stats.SAMPLE_COUNT }),
            fast: lb.targetResponseTime({ period: MINUTE, statistic: cloudwatch.Stats.percentileRank(objective) }),
          },
          period: MINUTE,
          label: `responses slower than ${maxLatency.toMilliseconds()} ms (%)`,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...FAST,
      });
      fast.push({ alarm: this.latency, detects: ['slow'], worstCaseDetection: detection(this.latency) });
    }

    // Minimum: AWS recommends it for alarming on host counts (Maximum is a single load balancer node's view).
    const unhealthyMetrics: Record<string, cloudwatch.IMetric> = {};
    for (const { tg, i } of groups) unhealthyMetrics[`unhealthy${i}`] = tg.metrics.unhealthyHostCount({ period: MINUTE, statistic: cloudwatch.Stats.MINIMUM });
    this.unhealthyHosts = new cloudwatch.Alarm(this, 'UnhealthyHosts', {
      alarmName: name('UnhealthyHosts'),
      alarmDescription: describeAlarm({
        what: 'A task of the service failed its load balancer health check (/health) for two minutes in a row.',
        action: 'During a deployment CodeDeploy rolls the release back; otherwise ECS replaces the task: look at its stopped reason and logs.',
        missingData: missingData(
          cloudwatch.TreatMissingData.NOT_BREACHING,
          'A target group publishes host counts only while targets are registered; a colour without targets has none to be unhealthy, and a service with none at all is the no-healthy-target alarm.',
        ),
        runbook,
      }),
      metric: groups.length === 1 ? unhealthyMetrics.unhealthy0 : new cloudwatch.MathExpression({ expression: total('unhealthy'), usingMetrics: unhealthyMetrics, period: MINUTE, label: 'Unhealthy targets, both colours' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...FAST,
    });
    fast.push({ alarm: this.unhealthyHosts, detects: ['crash', 'hang'], worstCaseDetection: detection(this.unhealthyHosts) });

    // Requests that arrive (answered by a target, or refused by the load balancer
    // with a 5xx) while neither colour has a healthy target. HealthyHostCount is not
    // published at all when no target is registered, so the healthy sum is anchored
    // on the request timestamps (0 × arrivals) to read as 0 there instead of missing.
    const arrivals = '(requests + elb5xx)';
    const healthyMetrics: Record<string, cloudwatch.IMetric> = {};
    for (const { tg, i } of groups) healthyMetrics[`healthy${i}`] = tg.metrics.healthyHostCount({ period: MINUTE, statistic: cloudwatch.Stats.MINIMUM });
    this.noHealthyTargets = new cloudwatch.Alarm(this, 'NoHealthyTargets', {
      alarmName: name('NoHealthyTargetForRequests'),
      alarmDescription: describeAlarm({
        what: `Requests arrived while neither target group had a healthy target, for two minutes in a row: ${traffic === 'users' ? 'users' : 'the health canary'} got 5xx answers from the load balancer.`,
        action: "During a deployment CodeDeploy rolls the release back; otherwise look at the service's running and stopped tasks (image, secrets, health check) and its events in the ECS console.",
        missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'No datapoint means no request arrived, so nobody met the missing targets; the canary sends one every minute.'),
        runbook,
      }),
      metric: new cloudwatch.MathExpression({
        expression: `IF(${arrivals} > 0 AND (${total('healthy')} + 0 * ${arrivals}) < 1, 1, 0)`,
        usingMetrics: { requests: lb.requestCount(sum), elb5xx: lb.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, sum), ...healthyMetrics },
        period: MINUTE,
        label: 'Requests with no healthy target (1 = yes)',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...FAST,
    });
    fast.push({ alarm: this.noHealthyTargets, detects: ['crash', 'hang'], worstCaseDetection: detection(this.noHealthyTargets) });

    if (props.failedTasks) {
      // Two of three minutes: one task killed by a rare error (an out-of-memory
      // video) is not a crash loop, and ECS may deliver one task's event twice.
      this.tasksFailing = new cloudwatch.Alarm(this, 'TasksFailing', {
        alarmName: name('TasksFailing'),
        alarmDescription: describeAlarm({
          what: 'Tasks of the service stopped because a container exited, could not start (image, secrets, network) or failed its health checks, in two of the last three minutes: a crash loop.',
          action: "During a deployment CodeDeploy rolls the release back; otherwise read the stopped tasks' reasons in the service's failed-task log group and the container logs.",
          missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'EventBridge publishes a datapoint only for minutes in which a task failed; no datapoint is no failed task.'),
          runbook,
        }),
        metric: props.failedTasks,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      fast.push({ alarm: this.tasksFailing, detects: ['crash'], worstCaseDetection: detection(this.tasksFailing) });
    }

    const canaries: DeploymentAlarm[] = (props.canaryAlarms ?? []).map((alarm) => {
      const seconds = detectionTimeSeconds(alarm);
      return { alarm, detects: ['crash', 'hang', 'errors', 'slow'], worstCaseDetection: Duration.seconds(seconds ?? MAX_DETECTION_TIME.toSeconds()) };
    });

    const slow: DeploymentAlarm[] = [];
    if (props.worker) {
      const worker = props.worker;
      const metric = (metricName: string) =>
        new cloudwatch.Metric({ namespace: worker.metricsNamespace, metricName, dimensionsMap: { Environment: worker.metricsEnvironment }, statistic: cloudwatch.Stats.SUM, period: JOB_FAILURE_PERIOD });
      this.jobFailureRate = new cloudwatch.Alarm(this, 'JobFailureRate', {
        alarmName: name('JobFailureRate'),
        alarmDescription: describeAlarm({
          what: `At least half of the processing jobs that ended failed, in ${JOB_FAILURE_DATAPOINTS_TO_ALARM} of the last ${JOB_FAILURE_EVALUATION_PERIODS} ${JOB_FAILURE_PERIOD.toMinutes()}-minute periods: the worker fails videos, not one bad upload.`,
          action: "During a deployment the release is rolled back; otherwise look at the worker's logs and Sentry for the failing step; failed jobs are retried and end in the dead-letter queue.",
          missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'The worker publishes only when a job ends; a period without jobs is no evidence against it.'),
          runbook,
        }),
        // Division by zero (no job ended) drops the datapoint: a missing, not breaching, period.
        metric: new cloudwatch.MathExpression({
          expression: '100 * failures / (failures + processed)',
          usingMetrics: { failures: metric('ProcessingFailures'), processed: metric('VideosProcessed') },
          period: JOB_FAILURE_PERIOD,
          label: 'Failed jobs (%)',
        }),
        threshold: 50,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: JOB_FAILURE_EVALUATION_PERIODS,
        datapointsToAlarm: JOB_FAILURE_DATAPOINTS_TO_ALARM,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      const jobFailure: DeploymentAlarm = { alarm: this.jobFailureRate, detects: ['failing-jobs'], worstCaseDetection: detection(this.jobFailureRate) };
      const jobsInWindow = (worker.minimumJobsPerHour * jobFailure.worstCaseDetection.toMinutes()) / 60;
      // Handed to the deployment only where it can see enough failures within its window at the least traffic.
      (jobsInWindow >= JOB_FAILURES_TO_ALARM ? fast : slow).push(jobFailure);

      this.queueStalled = new cloudwatch.Alarm(this, 'QueueStalled', {
        alarmName: name('QueueStalled'),
        alarmDescription: describeAlarm({
          what: `Uploads waited for ${QUEUE_STALLED_PERIOD.toMinutes() * QUEUE_STALLED_EVALUATION_PERIODS} minutes while workers ran and none of them finished a job, longer than the slowest video takes: the workers are stuck.`,
          action: "Look at the worker's logs for the job each task is on; roll back a recent release with 'npm run ops -- rollback'; stop stuck tasks so ECS replaces them.",
          missingData: missingData(
            cloudwatch.TreatMissingData.NOT_BREACHING,
            'SQS publishes nothing for a queue nobody touched for six hours; workers poll it all the time, so silence means no workers, which the canary and the task alarms see.',
          ),
          runbook,
        }),
        metric: new cloudwatch.MathExpression({
          expression: 'IF(waiting >= 1 AND deleted < 1 AND tasks >= 1, 1, 0)',
          usingMetrics: {
            waiting: worker.queue.metricApproximateNumberOfMessagesVisible({ period: QUEUE_STALLED_PERIOD, statistic: cloudwatch.Stats.MINIMUM }),
            deleted: worker.queue.metricNumberOfMessagesDeleted({ period: QUEUE_STALLED_PERIOD, statistic: cloudwatch.Stats.SUM }),
            tasks: new cloudwatch.Metric({
              namespace: 'ECS/ContainerInsights',
              metricName: 'RunningTaskCount',
              dimensionsMap: { ClusterName: worker.clusterName, ServiceName: worker.serviceName },
              statistic: cloudwatch.Stats.MINIMUM,
              period: QUEUE_STALLED_PERIOD,
            }),
          },
          period: QUEUE_STALLED_PERIOD,
          label: 'Workers run, uploads wait, no job finished (1 = yes)',
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: QUEUE_STALLED_EVALUATION_PERIODS,
        datapointsToAlarm: QUEUE_STALLED_EVALUATION_PERIODS,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      slow.push({ alarm: this.queueStalled, detects: ['stuck-jobs'], worstCaseDetection: detection(this.queueStalled) });
    }

    const candidates = [...fast, ...canaries];
    const watch = props.deploymentWatch;
    this.deploymentAlarms = watch ? candidates.filter((a) => a.worstCaseDetection.toSeconds() <= watch.toSeconds()) : candidates;
    this.pageOnlyAlarms = [...slow, ...candidates.filter((a) => !this.deploymentAlarms.includes(a))];
    this.alarms = this.deploymentAlarms.map((a) => a.alarm);
    if (this.alarms.length > CODEDEPLOY_MAX_ALARMS) {
      throw new Error(`${where}: CodeDeploy watches at most ${CODEDEPLOY_MAX_ALARMS} alarms per deployment group, got ${this.alarms.length}; pass fewer canaryAlarms`);
    }
    validateDetection(where, this.deploymentAlarms, traffic);
    this.worstCaseDetectionTime = Duration.seconds(Math.max(...this.deploymentAlarms.map((a) => a.worstCaseDetection.toSeconds())));

    const every = [...this.deploymentAlarms, ...this.pageOnlyAlarms].map((a) => a.alarm);
    const watched = [
      ...(traffic === 'users' ? ['5xx rate', 'p99 latency'] : []),
      'unhealthy or missing targets',
      ...(props.failedTasks ? ['failing tasks'] : []),
      ...(canaries.length ? ['canary'] : []),
      ...(props.worker ? ['failed jobs', 'stalled queue'] : []),
    ];
    this.compositeAlarm = new cloudwatch.CompositeAlarm(this, 'Composite', {
      compositeAlarmName: name('Rollback'),
      alarmDescription:
        `At least one rollback alarm of this service is in ALARM (${watched.join(', ')}): ` +
        `the current release is failing its users. A deployment rolls back on it; outside a deployment, open the alarm that fired. Runbook: ${runbook}`,
      alarmRule: cloudwatch.AlarmRule.anyOf(...every.map((alarm) => cloudwatch.AlarmRule.fromAlarm(alarm, cloudwatch.AlarmState.ALARM))),
    });
    if (props.alarmTopic) {
      this.compositeAlarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
      this.compositeAlarm.addOkAction(new actions.SnsAction(props.alarmTopic));
    }
    for (const alarm of this.node.children.filter((c): c is cloudwatch.Alarm => c instanceof cloudwatch.Alarm)) {
      acknowledge(
        alarm,
        ['NIST.800.53.R5-CloudWatchAlarmAction', 'HIPAA.Security-CloudWatchAlarmAction', 'cdk-validator-cfnguard::cloudwatch_alarm_action_check'],
        "This rollback alarm acts through the deployment, which watches it and rolls a release back; people are notified once through the service's composite rollback alarm instead of once per alarm.",
      );
    }
    if (!props.alarmTopic) {
      acknowledge(
        this.compositeAlarm,
        ['NIST.800.53.R5-CloudWatchAlarmAction', 'HIPAA.Security-CloudWatchAlarmAction', 'cdk-validator-cfnguard::cloudwatch_alarm_action_check'],
        'This composite rollback alarm has no topic of its own here: it feeds the environment service-health composite alarm, which notifies the on-call topics.',
      );
    }
  }
}

/**
 * The share of requests (percent) a load balancer's users got a 5xx for,
 * minute by minute: the targets' 5xx and the load balancer's own 502/503/504
 * over the requests, to which the load balancer's 5xx are added because
 * RequestCount counts only requests that found a target. A minute counts only
 * by the low-traffic rule (lib/low-traffic.ts), on the 5xx count itself; any
 * other minute reads 0. Every input is published only when nonzero or while
 * requests flow, and CloudWatch reads a missing one as 0 beside the others, so
 * a minute with requests and no 5xx is 0 and a minute without requests has no
 * datapoint.
 */
export function usersServerErrorRate(loadBalancer: elbv2.IApplicationLoadBalancer): cloudwatch.MathExpression {
  const lb = loadBalancer.metrics;
  const sum = { period: MINUTE, statistic: cloudwatch.Stats.SUM };
  const elb5xx = lb.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, sum);
  const bad = new cloudwatch.MathExpression({
    expression: 'target5xx + elb5xx',
    usingMetrics: { target5xx: lb.httpCodeTarget(HttpCodeTarget.TARGET_5XX_COUNT, sum), elb5xx },
    period: MINUTE,
    label: '5xx answers, targets and load balancer (count)',
  });
  const rate = new cloudwatch.MathExpression({
    expression: '100 * bad / (requests + elb5xx)',
    usingMetrics: { bad, requests: lb.requestCount(sum), elb5xx },
    period: MINUTE,
    label: '5xx answers, targets and load balancer (%)',
  });
  return new cloudwatch.MathExpression({
    expression: `IF(${lowTrafficConditionOnCount('bad', 'rate')}, rate, 0)`,
    usingMetrics: { bad, rate },
    period: MINUTE,
    label: `5xx answers (%), minutes with at least ${MIN_BAD_REQUESTS_PER_MINUTE} or only 5xx`,
  });
}

function validateWorker(where: string, worker: WorkerSignals): void {
  if (!(worker.minimumJobsPerHour > 0)) throw new Error(`${where}: worker.minimumJobsPerHour must be more than 0 (minimum tasks × 2 videos an hour), got ${worker.minimumJobsPerHour}`);
  const window = JOB_FAILURE_PERIOD.toMinutes() * JOB_FAILURE_EVALUATION_PERIODS;
  if (worker.visibilityTimeout.toMinutes() <= window) {
    throw new Error(
      `${where}: worker.visibilityTimeout (${worker.visibilityTimeout.toMinutes()} min) must be longer than the job-failure window (${window} min), or the retries of one bad video alone would roll back a release`,
    );
  }
}

/**
 * Every failure a user sees (errors, hangs, slowness) is detected within
 * MAX_DETECTION_TIME by every alarm that claims it, and a crash by at least
 * one alarm within MAX_DETECTION_TIME and by every alarm within
 * MAX_CRASH_LOOP_DETECTION_TIME.
 */
function validateDetection(where: string, alarms: DeploymentAlarm[], traffic: LoadBalancerTraffic): void {
  const limit = (failure: ReleaseFailure) =>
    failure === 'crash' ? MAX_CRASH_LOOP_DETECTION_TIME : failure === 'failing-jobs' || failure === 'stuck-jobs' ? undefined : MAX_DETECTION_TIME;
  const slow = alarms.filter((a) => a.detects.some((f) => limit(f) !== undefined && a.worstCaseDetection.toSeconds() > limit(f)!.toSeconds()));
  if (slow.length) {
    throw new Error(
      `${where}: every rollback alarm must detect a bad release within ${MAX_DETECTION_TIME.toSeconds()} s (crash loops within ${MAX_CRASH_LOOP_DETECTION_TIME.toSeconds()} s) (period × evaluation periods), got ${slow.map((a) => `${a.worstCaseDetection.toSeconds()} s for ${a.alarm.node.path}`).join(', ')}`,
    );
  }
  const required: ReleaseFailure[] = traffic === 'users' ? ['crash', 'hang', 'errors', 'slow'] : ['crash', 'hang'];
  const missing = required.filter((f) => !alarms.some((a) => a.detects.includes(f) && a.worstCaseDetection.toSeconds() <= MAX_DETECTION_TIME.toSeconds()));
  if (missing.length) throw new Error(`${where}: no rollback alarm detects ${missing.join(', ')} within ${MAX_DETECTION_TIME.toSeconds()} s`);
}

function detection(alarm: cloudwatch.Alarm): Duration {
  const seconds = detectionTimeSeconds(alarm);
  if (seconds === undefined) throw new Error(`RollbackAlarms ${alarm.node.path}: its period and evaluation periods must be known at synth time`);
  return Duration.seconds(seconds);
}

/**
 * Period × evaluation periods of an alarm created in this app (its CloudFormation
 * properties are readable), or undefined for an imported alarm.
 */
export function detectionTimeSeconds(alarm: cloudwatch.IAlarm): number | undefined {
  const resource = alarm.node.defaultChild;
  if (!(resource instanceof cloudwatch.CfnAlarm)) return undefined;
  const evaluationPeriods = resource.evaluationPeriods;
  let period: unknown = resource.period;
  if (period === undefined && Array.isArray(resource.metrics)) {
    // Metric math: the period of the expression (or of its metrics when the expression has none).
    const periods = (resource.metrics as cloudwatch.CfnAlarm.MetricDataQueryProperty[])
      .map((query) => query.period ?? (query.metricStat as cloudwatch.CfnAlarm.MetricStatProperty | undefined)?.period)
      .filter((p): p is number => typeof p === 'number');
    period = periods.length ? Math.max(...periods) : undefined;
  }
  if (typeof period !== 'number' || typeof evaluationPeriods !== 'number' || Token.isUnresolved(period)) return undefined;
  return period * evaluationPeriods;
}
