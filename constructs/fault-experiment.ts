import * as fis from 'aws-cdk-lib/aws-fis';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';

/** One target of an experiment, as FIS selects it. */
export interface FaultTarget {
  /** FIS resource type, e.g. `aws:ecs:task`, `aws:rds:db`, `aws:ec2:subnet`. */
  readonly resourceType: string;
  /** `ALL`, `COUNT(n)` or `PERCENT(n)`. */
  readonly selectionMode: string;
  /**
   * The resources, by ARN.
   *
   * @default - selected through `parameters` (e.g. an ECS cluster and service)
   */
  readonly resourceArns?: string[];
  /**
   * Resource-type parameters, e.g. `{ cluster, service }` for ECS tasks.
   *
   * @default - none
   */
  readonly parameters?: Record<string, string>;
}

/**
 * Properties of a FaultExperiment.
 */
export interface FaultExperimentProps {
  /** Shown in the FIS console and in the run's log: what happens and what we expect. */
  readonly description: string;
  /** Name tag of the template (FIS templates have no name of their own), e.g. `BodyScript-Staging-ApiTasksStop`. */
  readonly name: string;
  /** The FIS action id, e.g. `aws:ecs:stop-task`. */
  readonly actionId: string;
  /**
   * Action parameters (ISO-8601 durations, flags as strings).
   *
   * @default - none
   */
  readonly actionParameters?: Record<string, string>;
  /** The key the action uses for its target (FIS fixes it per action: `Tasks`, `DBInstances`, `Subnets`). */
  readonly actionTargetKey: string;
  readonly target: FaultTarget;
  /** ARN of the alarm that stops the experiment when it goes into ALARM (the environment's service-health composite alarm). */
  readonly stopConditionAlarmArn: string;
  /** Receives the experiment's log (encrypted log group). */
  readonly logGroup: logs.ILogGroup;
  /** What the action needs on its targets, and nothing more: the role gets these and the log delivery permissions. */
  readonly permissions: iam.PolicyStatement[];
}

/**
 * One AWS FIS experiment template of a game day: a single action on a single
 * target, stopped by the environment's health alarm, logged to an encrypted
 * log group, run with a role of its own limited to its targets.
 */
export class FaultExperiment extends Construct {
  /** The experiment template; start it with `aws fis start-experiment --experiment-template-id <id>`. */
  public readonly template: fis.CfnExperimentTemplate;
  /** The role FIS assumes to act on the targets. */
  public readonly role: iam.Role;
  /** The role's only policy (managed, so that it can be reviewed on its own). */
  public readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: FaultExperimentProps) {
    super(scope, id);
    if (!props.target.resourceArns?.length && !props.target.parameters) {
      throw new Error(`FaultExperiment ${this.node.path}: target needs resourceArns or parameters, or it would select every ${props.target.resourceType} of the account`);
    }
    if (!/^(ALL|COUNT\(\d+\)|PERCENT\((100|[1-9]\d?)\))$/.test(props.target.selectionMode)) {
      throw new Error(`FaultExperiment ${this.node.path}: selectionMode must be ALL, COUNT(n) or PERCENT(1-100), got '${props.target.selectionMode}'`);
    }
    if (props.permissions.length === 0) throw new Error(`FaultExperiment ${this.node.path}: permissions must grant what the action needs on its targets`);

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('fis.amazonaws.com'),
      description: `AWS FIS: ${props.name}`,
    });
    const policy = (this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `AWS FIS ${props.name}: the action on its targets and log delivery`,
      roles: [this.role],
      statements: [
        ...props.permissions,
        // FIS delivers the experiment log through CloudWatch Logs vended delivery.
        new iam.PolicyStatement({
          sid: 'DeliverExperimentLog',
          actions: ['logs:CreateLogDelivery', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups'],
          resources: ['*'],
        }),
      ],
    }));
    acknowledge(
      policy,
      ['AwsSolutions-IAM5[Resource::*]'],
      'Only the CloudWatch Logs vended-delivery actions (and FIS describe calls) use "*": they do not support resource-level permissions; every action that changes a resource is limited to the experiment\'s targets.',
    );

    this.template = new fis.CfnExperimentTemplate(this, 'Template', {
      description: props.description,
      roleArn: this.role.roleArn,
      stopConditions: [{ source: 'aws:cloudwatch:alarm', value: props.stopConditionAlarmArn }],
      targets: {
        Targets: {
          resourceType: props.target.resourceType,
          selectionMode: props.target.selectionMode,
          resourceArns: props.target.resourceArns,
          parameters: props.target.parameters,
        },
      },
      actions: {
        Fault: {
          actionId: props.actionId,
          description: props.description,
          parameters: props.actionParameters,
          targets: { [props.actionTargetKey]: 'Targets' },
        },
      },
      logConfiguration: { logSchemaVersion: 2, cloudWatchLogsConfiguration: { LogGroupArn: props.logGroup.logGroupArn } },
      // A target that resolves to nothing is a broken experiment, not a pass.
      experimentOptions: { accountTargeting: 'single-account', emptyTargetResolutionMode: 'fail' },
      tags: { Name: props.name },
    });
  }
}
