import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { SUBNET_GROUPS } from '../../constructs/application-vpc';
import { acknowledge } from '../compliance';
import { EncryptionKey } from '../../constructs/encryption-key';
import { FaultExperiment } from '../../constructs/fault-experiment';
import type { EnvironmentConfig } from '../config';
import { alarmArn, clusterName, databaseInstanceArn, ecsServiceName, environmentTitle, keyAlias, partitionOf, serviceHealthAlarmName } from '../naming';

export interface FaultInjectionStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  /** The primary VPC: the AZ experiment disrupts its application subnets in one AZ. */
  readonly vpc: ec2.IVpc;
}

/** Share of the api tasks the task experiment stops. */
export const API_TASKS_STOPPED_PERCENT = 50;
/** How long the AZ experiment cuts the subnets off. */
export const AZ_DISRUPTION_DURATION = 'PT5M';

/**
 * `BodyScript-<Env>-FaultInjection`: the game-day experiments (AWS FIS) against
 * the primary region. Deployed after `BodyScript-<Env>`, whose composite alarm
 * `serviceHealthAlarmName(env)` stops every experiment as soon as users are
 * affected; that alarm, the cluster, service and database are named (naming +
 * config), the subnets referenced from the network stack of the same region.
 *
 * - stop API_TASKS_STOPPED_PERCENT % of the api tasks (ECS must replace them, the ALB route around them);
 * - reboot the database with a forced Multi-AZ failover (only where the database is Multi-AZ: production);
 * - cut the application subnets of one AZ off the network (the other AZs must carry the load).
 */
export class FaultInjectionStack extends Stack {
  public readonly logGroup: logs.LogGroup;
  public readonly experiments: Record<string, FaultExperiment> = {};

  constructor(scope: Construct, id: string, props: FaultInjectionStackProps) {
    super(scope, id, props);
    const { config } = props;
    const env = config.name;
    const partition = partitionOf(this.region);
    const title = environmentTitle(env);
    const stopConditionAlarmArn = alarmArn(serviceHealthAlarmName(env), config.primary);

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
    this.experiments.apiTasks = new FaultExperiment(this, 'ApiTasksStop', {
      name: `BodyScript-${title}-ApiTasksStop`,
      description: `Stop ${API_TASKS_STOPPED_PERCENT}% of the ${ecsServiceName(env, 'api')} tasks: ECS replaces them and the load balancer routes around them; service health must stay OK.`,
      actionId: 'aws:ecs:stop-task',
      actionTargetKey: 'Tasks',
      target: {
        resourceType: 'aws:ecs:task',
        selectionMode: `PERCENT(${API_TASKS_STOPPED_PERCENT})`,
        parameters: { cluster, service: ecsServiceName(env, 'api') },
      },
      stopConditionAlarmArn,
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

    if (config.database.multiAz) {
      const database = databaseInstanceArn(env, config.primary);
      this.experiments.databaseFailover = new FaultExperiment(this, 'DatabaseFailover', {
        name: `BodyScript-${title}-DatabaseFailover`,
        description: 'Reboot the PostgreSQL instance with a forced failover to its Multi-AZ standby: connections drop for about a minute and the api must reconnect by itself.',
        actionId: 'aws:rds:reboot-db-instances',
        actionParameters: { forceFailover: 'true' },
        actionTargetKey: 'DBInstances',
        target: { resourceType: 'aws:rds:db', selectionMode: 'ALL', resourceArns: [database] },
        stopConditionAlarmArn,
        logGroup: this.logGroup,
        permissions: [new iam.PolicyStatement({ sid: 'RebootTheDatabase', actions: ['rds:RebootDBInstance', 'rds:DescribeDBInstances'], resources: [database] })],
      });
    }

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
      stopConditionAlarmArn,
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
