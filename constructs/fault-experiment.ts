import { Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
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
  /**
   * The fewest resources the target can identify when the experiment starts
   * (an ECS service's configured `minTasks`, say). FIS rounds a PERCENT
   * selection down and cannot select less than one resource, so the selection
   * is checked against it: it must select at least one resource and leave
   * `spareAtLeast` untouched.
   *
   * @default - the ARNs given (`resourceArns.length`); required with `parameters`
   */
  readonly fewestResources?: number;
  /**
   * Resources the experiment must leave alone so that it tests recovery rather
   * than causing an outage (one healthy api task, say).
   *
   * @default 0
   */
  readonly spareAtLeast?: number;
}

/** FIS accepts at most this many stop conditions per experiment template. */
export const MAX_STOP_CONDITIONS = 5;

/** How many resources FIS selects from `identified` with `selectionMode` (PERCENT rounds down, as FIS documents). */
export function selectedCount(selectionMode: string, identified: number): number {
  if (selectionMode === 'ALL') return identified;
  const count = /^COUNT\((\d+)\)$/.exec(selectionMode);
  if (count) return Math.min(Number(count[1]), identified);
  const percent = /^PERCENT\((\d+)\)$/.exec(selectionMode);
  if (percent) return Math.floor((identified * Number(percent[1])) / 100);
  throw new Error(`selectionMode must be ALL, COUNT(n) or PERCENT(n), got '${selectionMode}'`);
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
  /**
   * Alarms that stop the experiment when any goes into ALARM (1–5): customer
   * impact beyond what the fault is meant to cause.
   */
  readonly stopConditions: cloudwatch.IAlarm[];
  /**
   * Alarms the fault sets off by design (the unhealthy-hosts alarm of tasks it
   * stops, say). No stop condition may be one of them or a composite alarm
   * whose rule includes one: the experiment would stop itself within minutes.
   *
   * @default - none
   */
  readonly designedSymptoms?: cloudwatch.IAlarm[];
  /** Receives the experiment's log (encrypted log group). */
  readonly logGroup: logs.ILogGroup;
  /** What the action needs on its targets, and nothing more: the role gets these and the log delivery permissions. */
  readonly permissions: iam.PolicyStatement[];
}

/**
 * One AWS FIS experiment template of a game day: a single action on a single
 * target whose selection is checked against the fewest resources it can find,
 * stopped by alarms of customer impact beyond the fault's intent (never by the
 * symptom it causes by design), logged to an encrypted log group, run with a
 * role of its own limited to its targets.
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
    validateSelection(this.node.path, props.target);
    if (props.stopConditions.length === 0 || props.stopConditions.length > MAX_STOP_CONDITIONS) {
      throw new Error(`FaultExperiment ${this.node.path}: stopConditions must name 1–${MAX_STOP_CONDITIONS} alarms (FIS's limit), got ${props.stopConditions.length}`);
    }
    // Checked when the app is synthesized, when every composite alarm's rule is complete.
    this.node.addValidation({ validate: () => designedSymptomsInStopConditions(props.stopConditions, props.designedSymptoms ?? []) });

    const { account, partition } = Stack.of(this);
    this.role = new iam.Role(this, 'Role', {
      // Only FIS experiments of this account may assume the role (confused deputy, security review L2): AWS's
      // execution-role trust policy for FIS carries aws:SourceAccount and aws:SourceArn arn:aws:fis:*:<account>:experiment/*
      // (AWS Resilience Hub User Guide, "Single-account execution role"; IAM User Guide, "The confused deputy problem").
      assumedBy: new iam.ServicePrincipal('fis.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': `arn:${partition}:fis:*:${account}:experiment/*` },
        },
      }),
      description: `AWS FIS: ${props.name}`,
    });
    const policy = (this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `AWS FIS ${props.name}: the action on its targets and log delivery`,
      roles: [this.role],
      statements: [
        ...props.permissions,
        // FIS delivers the experiment log through CloudWatch Logs vended delivery, which
        // needs these four to set up delivery to a log group. CreateLogDelivery has no
        // resource; the other three are limited to this account and region as CloudWatch
        // Logs documents ("set the ARN of its Resource line to use a * wildcard, instead of
        // specifying only a single log group name. For example, arn:aws:logs:us-east-1:
        // 111122223333:log-group:*", "Logs sent to CloudWatch Logs"; security review L3).
        // The log resource policy PutResourcePolicy writes is still one of the account and
        // region, not of the experiment's log group: CloudWatch Logs has no narrower form.
        new iam.PolicyStatement({
          sid: 'DeliverExperimentLog',
          actions: ['logs:CreateLogDelivery'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'AllowLogDeliveryToLogGroupsOfThisRegion',
          actions: ['logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups'],
          resources: [`arn:${partition}:logs:${Stack.of(this).region}:${account}:log-group:*`],
        }),
      ],
    }));
    acknowledge(
      policy,
      ['AwsSolutions-IAM5[Resource::*]', `AwsSolutions-IAM5[Resource::arn:${Token.isUnresolved(partition) ? '<AWS::Partition>' : partition}:logs:${Stack.of(this).region}:${account}:log-group:*]`],
      'Only logs:CreateLogDelivery (and FIS describe calls) use "*": they do not support resource-level permissions; the log resource policy actions vended delivery needs are limited to the log groups of this account and region, the form CloudWatch Logs documents for them; every action that changes a resource is limited to the experiment\'s targets.',
    );

    this.template = new fis.CfnExperimentTemplate(this, 'Template', {
      description: props.description,
      roleArn: this.role.roleArn,
      stopConditions: props.stopConditions.map((alarm) => ({ source: 'aws:cloudwatch:alarm', value: alarm.alarmArn })),
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

function validateSelection(path: string, target: FaultTarget): void {
  const where = `FaultExperiment ${path}`;
  if (!/^(ALL|COUNT\(\d+\)|PERCENT\((100|[1-9]\d?)\))$/.test(target.selectionMode)) {
    throw new Error(`${where}: selectionMode must be ALL, COUNT(n) or PERCENT(1-100), got '${target.selectionMode}'`);
  }
  const fewest = target.fewestResources ?? target.resourceArns?.length;
  if (fewest === undefined) {
    throw new Error(`${where}: target.fewestResources is required when the target is found by parameters: the selection '${target.selectionMode}' must be checked against the fewest resources it can find`);
  }
  if (!Number.isInteger(fewest) || fewest < 1) throw new Error(`${where}: target.fewestResources must be a whole number of at least 1, got ${fewest}`);
  const spare = target.spareAtLeast ?? 0;
  const selected = selectedCount(target.selectionMode, fewest);
  if (selected < 1) {
    throw new Error(`${where}: selectionMode '${target.selectionMode}' selects no resource when the target finds ${fewest} (FIS rounds a percentage down and the experiment fails on an empty target); use COUNT(n)`);
  }
  if (fewest - selected < spare) {
    throw new Error(
      `${where}: selectionMode '${target.selectionMode}' acts on ${selected} of ${fewest} resources, leaving ${fewest - selected}; target.spareAtLeast requires ${spare} untouched (the experiment would cause the outage it should survive)`,
    );
  }
}

/** Alarms a stop condition stands for: itself and, for a composite in this app, every alarm its rule names (recursively). */
function alarmsBehind(alarm: cloudwatch.IAlarm, byArn: Map<string, cloudwatch.IAlarm>, seen = new Set<cloudwatch.IAlarm>()): Set<cloudwatch.IAlarm> {
  if (seen.has(alarm)) return seen;
  seen.add(alarm);
  if (alarm instanceof cloudwatch.CompositeAlarm) {
    const rule = (alarm.node.defaultChild as cloudwatch.CfnCompositeAlarm).alarmRule;
    for (const [arn, child] of byArn) if (rule.includes(arn)) alarmsBehind(child, byArn, seen);
  }
  return seen;
}

function designedSymptomsInStopConditions(stopConditions: cloudwatch.IAlarm[], symptoms: cloudwatch.IAlarm[]): string[] {
  if (symptoms.length === 0) return [];
  const root = stopConditions[0].node.root;
  const byArn = new Map<string, cloudwatch.IAlarm>();
  for (const c of root.node.findAll()) if (c instanceof cloudwatch.AlarmBase) byArn.set(c.alarmArn, c);
  const errors: string[] = [];
  for (const stop of stopConditions) {
    const behind = alarmsBehind(stop, byArn);
    for (const symptom of symptoms) {
      if (behind.has(symptom)) {
        errors.push(
          `stop condition ${stop.node.path} ${stop === symptom ? 'is' : 'includes'} ${symptom.node.path}, which this fault sets off by design: the experiment would stop itself. Stop on customer impact beyond the fault's intent instead.`,
        );
      }
    }
  }
  return errors;
}
