import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { SUBNET_GROUPS } from '../../constructs/application-vpc';
import { describeAlarm, missingData } from '../alarm-description';
import { acknowledge } from '../compliance';
import { EncryptionKey } from '../../constructs/encryption-key';
import { FaultExperiment } from '../../constructs/fault-experiment';
import type { RollbackAlarms } from '../../constructs/rollback-alarms';
import type { EnvironmentConfig } from '../config';
import { LOW_TRAFFIC_RULE } from '../low-traffic';
import { alarmName, clusterName, databaseInstanceArn, ecsServiceName, environmentTitle, keyAlias, partitionOf } from '../naming';

/**
 * The alarms game days stop on or expect. The experiments stop on customer
 * impact beyond the fault's intent, never on the environment's service-health
 * composite: it includes the rollback composites, which include the
 * unhealthy-hosts alarms every one of these faults sets off within a minute.
 */
export interface GameDayAlarms {
  /** The api's release alarms: 5xx rate and p99 latency (customer impact), unhealthy hosts (a symptom of stopped tasks). */
  readonly api: RollbackAlarms;
  /** The worker's release alarms: its unhealthy hosts are a symptom of the AZ fault. */
  readonly processing: RollbackAlarms;
  /** The web app canary through CloudFront fails: customers cannot load the app. */
  readonly frontendCanary: cloudwatch.IAlarm;
  /** The api health canary fails: customers' api calls fail. */
  readonly apiCanary: cloudwatch.IAlarm;
  /** Where a game-day alarm of this stack pages. */
  readonly critical: sns.ITopic;
}

export interface FaultInjectionStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  /** The primary VPC: the AZ experiment disrupts its application subnets in one AZ. */
  readonly vpc: ec2.IVpc;
  /** What stops the experiments, and what they set off by design. */
  readonly alarms: GameDayAlarms;
}

/** How long the AZ experiment cuts the subnets off. */
export const AZ_DISRUPTION_DURATION = 'PT5M';

/**
 * A forced Multi-AZ failover drops connections for about a minute, so the api's
 * 1-minute 5xx alarms fire by design; more than this many minutes of 5xx in five
 * is beyond the fault's intent.
 */
export const DATABASE_FAILOVER_TOLERATED_ERROR_MINUTES = 2;

/** The game days an environment's task counts allow, and why the others are left out. */
export interface GameDayPlan {
  /** Stop this many api tasks (COUNT(n)), or undefined when the api runs fewer than two. */
  readonly apiTasksToStop?: number;
  /** Whether one AZ may be cut off: every service keeps a task in another AZ. */
  readonly availabilityZone: boolean;
  /** Whether the database can fail over (Multi-AZ). */
  readonly databaseFailover: boolean;
  /** Why each experiment left out is left out. */
  readonly skipped: string[];
}

/**
 * Decides from config which experiments are valid: a fault must leave the
 * service able to serve, or the game day is an outage by design. Stopping
 * tasks stops half of the api's minimum (rounded down) and needs two; cutting
 * an AZ off needs every service to run at least two tasks (Fargate spreads a
 * service's tasks over the AZs, so two tasks are in two AZs).
 */
export function gameDayPlan(config: EnvironmentConfig): GameDayPlan {
  const { api } = config.services;
  const skipped: string[] = [];
  const apiTasksToStop = api.minTasks >= 2 ? Math.floor(api.minTasks / 2) : undefined;
  if (apiTasksToStop === undefined) skipped.push(`ApiTasksStop: services.api.minTasks is ${api.minTasks}; stopping a task of a one-task api is an outage, not a game day (raise it to 2 to run it)`);
  const singleTask = (['api', 'processing'] as const).filter((s) => config.services[s].minTasks < 2);
  const availabilityZone = singleTask.length === 0;
  if (!availabilityZone) skipped.push(`AzNetworkDisruption: ${singleTask.map((s) => `services.${s}.minTasks is ${config.services[s].minTasks}`).join(', ')}; a one-task service may sit in the disrupted AZ`);
  if (!config.database.multiAz) skipped.push('DatabaseFailover: database.multiAz is false; there is no standby instance to fail over to');
  return { apiTasksToStop, availabilityZone, databaseFailover: config.database.multiAz, skipped };
}

/**
 * `BodyScript-<Env>-FaultInjection`: the game-day experiments (AWS FIS) against
 * the primary region, deployed after `BodyScript-<Env>`. Each stops on customer
 * impact beyond its intent (GameDayAlarms), and only the experiments the
 * environment's task counts allow exist (gameDayPlan):
 *
 * - stop half the api's minimum tasks, rounded down, as COUNT(n) (ECS must replace them, the ALB route around them);
 * - reboot the database with a forced Multi-AZ failover (only where the database is Multi-AZ);
 * - cut the application subnets of one AZ off the network (the other AZs must carry the load).
 */
export class FaultInjectionStack extends Stack {
  public readonly logGroup: logs.LogGroup;
  public readonly experiments: Record<string, FaultExperiment> = {};
  /** What config allows (and why the rest is left out). */
  public readonly plan: GameDayPlan;
  /** With a database failover experiment: 5xx beyond the failover's designed minute (its stop condition). */
  public readonly databaseFailoverErrorsAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: FaultInjectionStackProps) {
    super(scope, id, props);
    const { config } = props;
    const env = config.name;
    const partition = partitionOf(this.region);
    const title = environmentTitle(env);
    const { alarms } = props;
    this.plan = gameDayPlan(config);
    // Customer impact a stopped task or a lost AZ must not cause: errors, slow answers, failing canaries.
    // The api's RollbackAlarms has both (a service that serves requests); the worker's has neither.
    const { serverErrorRate: apiErrors, latency: apiLatency } = alarms.api;
    if (!apiErrors || !apiLatency) {
      throw new Error(`FaultInjectionStack ${this.node.path}: alarms.api must have serverErrorRate and latency (the api's RollbackAlarms): the game days stop on them`);
    }
    const customerImpact = [apiErrors, apiLatency, alarms.apiCanary, alarms.frontendCanary];

    const logsKey = new EncryptionKey(this, 'FaultInjectionLogsKey', {
      alias: keyAlias(env, 'fault-injection-logs'),
      description: `BodyScript ${env}: AWS FIS experiment logs`,
      allowCloudWatchLogs: true,
    });
    this.logGroup = new logs.LogGroup(this, 'ExperimentLogs', {
      logGroupName: `/bodyscript/${env}/fault-injection`,
      encryptionKey: logsKey.key,
      retention: config.logs.retentionDays as logs.RetentionDays,
      // The log of a game day is its evidence.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const cluster = clusterName(env);
    const clusterArn = `arn:${partition}:ecs:${this.region}:${this.account}:cluster/${cluster}`;
    const apiTasks = this.plan.apiTasksToStop;
    if (apiTasks !== undefined) {
      this.experiments.apiTasks = new FaultExperiment(this, 'ApiTasksStop', {
        name: `BodyScript-${title}-ApiTasksStop`,
        description: `Stop ${apiTasks} of the ${ecsServiceName(env, 'api')} tasks (half its minimum of ${config.services.api.minTasks}): ECS replaces them and the load balancer routes around them; no customer may see errors.`,
        actionId: 'aws:ecs:stop-task',
        actionTargetKey: 'Tasks',
        target: {
          resourceType: 'aws:ecs:task',
          // COUNT, not PERCENT: FIS rounds a percentage down, and auto scaling changes what it is a percentage of.
          selectionMode: `COUNT(${apiTasks})`,
          parameters: { cluster, service: ecsServiceName(env, 'api') },
          fewestResources: config.services.api.minTasks,
          spareAtLeast: Math.ceil(config.services.api.minTasks / 2),
        },
        stopConditions: customerImpact,
        designedSymptoms: [alarms.api.unhealthyHosts],
        logGroup: this.logGroup,
        permissions: [
          new iam.PolicyStatement({
            sid: 'FindApiTasks',
            actions: ['ecs:ListTasks'],
            resources: ['*'],
            conditions: { ArnEquals: { 'ecs:cluster': clusterArn } },
          }),
          new iam.PolicyStatement({
            sid: 'StopApiTasks',
            actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
            resources: [`arn:${partition}:ecs:${this.region}:${this.account}:task/${cluster}/*`],
            conditions: { ArnEquals: { 'ecs:cluster': clusterArn } },
          }),
        ],
      });
      acknowledge(
        this.experiments.apiTasks.policy,
        [`AwsSolutions-IAM5[Resource::arn:${partition}:ecs:${this.region}:${this.account}:task/${cluster}/*]`],
        `Task ARNs change with every deployment, so the stop permission names the tasks of the ${cluster} cluster by pattern, further limited to that cluster by the ecs:cluster condition; FIS selects only tasks of the api service.`,
      );
    }

    if (this.plan.databaseFailover) {
      const database = databaseInstanceArn(env, config.primary);
      // The failover's minute of dropped connections sets off the api's 1-minute alarms and
      // canary by design; errors for longer than that are beyond its intent.
      this.databaseFailoverErrorsAlarm = new cloudwatch.Alarm(this, 'DatabaseFailoverErrorsAlarm', {
        alarmName: alarmName(env, 'GameDay', 'DatabaseFailover-ErrorsBeyondFailover'),
        alarmDescription: describeAlarm({
          what: `The api answered errors (its 5xx-rate alarm's measure) in more than ${DATABASE_FAILOVER_TOLERATED_ERROR_MINUTES} of the last 5 minutes: longer than the minute a Multi-AZ failover drops connections. It stops the DatabaseFailover game day. ${LOW_TRAFFIC_RULE}`,
          action: 'Check that the api reconnects to the database.',
          missingData: missingData(cloudwatch.TreatMissingData.NOT_BREACHING, 'No requests is not an error: the canaries watch silence.'),
          runbook: 'runbooks/disaster-recovery.md',
        }),
        metric: apiErrors.metric,
        threshold: (apiErrors.node.defaultChild as cloudwatch.CfnAlarm).threshold!,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: DATABASE_FAILOVER_TOLERATED_ERROR_MINUTES + 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.databaseFailoverErrorsAlarm.addAlarmAction(new actions.SnsAction(alarms.critical));
      this.databaseFailoverErrorsAlarm.addOkAction(new actions.SnsAction(alarms.critical));
      this.experiments.databaseFailover = new FaultExperiment(this, 'DatabaseFailover', {
        name: `BodyScript-${title}-DatabaseFailover`,
        description: 'Reboot the PostgreSQL instance with a forced failover to its Multi-AZ standby: connections drop for about a minute and the api must reconnect by itself.',
        actionId: 'aws:rds:reboot-db-instances',
        actionParameters: { forceFailover: 'true' },
        actionTargetKey: 'DBInstances',
        target: { resourceType: 'aws:rds:db', selectionMode: 'ALL', resourceArns: [database] },
        stopConditions: [this.databaseFailoverErrorsAlarm, alarms.frontendCanary],
        designedSymptoms: [apiErrors, apiLatency, alarms.apiCanary],
        logGroup: this.logGroup,
        permissions: [new iam.PolicyStatement({ sid: 'RebootTheDatabase', actions: ['rds:RebootDBInstance', 'rds:DescribeDBInstances'], resources: [database] })],
      });
    }

    if (this.plan.availabilityZone) this.availabilityZoneExperiment(props, customerImpact);
  }

  /** Cuts the application subnets of the VPC's first AZ off the network for AZ_DISRUPTION_DURATION. */
  private availabilityZoneExperiment(props: FaultInjectionStackProps, customerImpact: cloudwatch.IAlarm[]): void {
    const env = props.config.name;
    const title = environmentTitle(env);
    const partition = partitionOf(this.region);
    const zone = props.vpc.availabilityZones[0];
    const subnets = props.vpc.selectSubnets({ subnetGroupName: SUBNET_GROUPS.application, availabilityZones: [zone] }).subnetIds;
    const subnetArns = subnets.map((subnetId) => `arn:${partition}:ec2:${this.region}:${this.account}:subnet/${subnetId}`);
    const networkAcls = `arn:${partition}:ec2:${this.region}:${this.account}:network-acl/*`;
    this.experiments.availabilityZone = new FaultExperiment(this, 'AzNetworkDisruption', {
      name: `BodyScript-${title}-AzNetworkDisruption`,
      description: `Cut the application subnets of ${zone} off all traffic for 5 minutes (a lost AZ): tasks there fail their health checks and the other AZs must carry the load.`,
      actionId: 'aws:network:disrupt-connectivity',
      actionParameters: { duration: AZ_DISRUPTION_DURATION, scope: 'all' },
      actionTargetKey: 'Subnets',
      target: { resourceType: 'aws:ec2:subnet', selectionMode: 'ALL', resourceArns: subnetArns },
      stopConditions: customerImpact,
      designedSymptoms: [props.alarms.api.unhealthyHosts, props.alarms.processing.unhealthyHosts],
      logGroup: this.logGroup,
      // FIS swaps the subnets' network ACL for a deny-all one it creates and tags, then restores it.
      permissions: [
        new iam.PolicyStatement({
          sid: 'DescribeNetwork',
          actions: ['ec2:DescribeSubnets', 'ec2:DescribeNetworkAcls', 'ec2:DescribeVpcs', 'ec2:DescribeManagedPrefixLists'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'CreateTaggedNetworkAcl',
          actions: ['ec2:CreateNetworkAcl'],
          resources: [networkAcls, `arn:${partition}:ec2:${this.region}:${this.account}:vpc/${props.vpc.vpcId}`],
          conditions: { StringEquals: { 'aws:RequestTag/managedByFIS': 'true' } },
        }),
        new iam.PolicyStatement({
          sid: 'TagNetworkAclOnCreation',
          actions: ['ec2:CreateTags'],
          resources: [networkAcls],
          conditions: { StringEquals: { 'ec2:CreateAction': 'CreateNetworkAcl' } },
        }),
        new iam.PolicyStatement({
          sid: 'ChangeOnlyFisNetworkAcls',
          actions: ['ec2:CreateNetworkAclEntry', 'ec2:DeleteNetworkAcl'],
          resources: [networkAcls],
          conditions: { StringEquals: { 'ec2:ResourceTag/managedByFIS': 'true' } },
        }),
        new iam.PolicyStatement({
          sid: 'SwapAclOfTargetSubnets',
          actions: ['ec2:ReplaceNetworkAclAssociation'],
          resources: [...subnetArns, networkAcls],
        }),
        new iam.PolicyStatement({
          sid: 'ReadPrefixLists',
          actions: ['ec2:GetManagedPrefixListEntries'],
          resources: [`arn:${partition}:ec2:${this.region}:aws:prefix-list/*`],
        }),
      ],
    });
    acknowledge(
      this.experiments.availabilityZone.policy,
      [
        `AwsSolutions-IAM5[Resource::arn:${partition}:ec2:${this.region}:${this.account}:network-acl/*]`,
        `AwsSolutions-IAM5[Resource::arn:${partition}:ec2:${this.region}:aws:prefix-list/*]`,
      ],
      'FIS creates the deny-all network ACL during the experiment, so its ARN is unknown beforehand: creating requires the managedByFIS request tag and changing or deleting requires that tag on the ACL; AWS-managed prefix lists are only read.',
    );
  }
}
