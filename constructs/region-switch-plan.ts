import { Arn, ArnFormat, Duration, Fn, Stack, Token } from 'aws-cdk-lib';
import * as arc from 'aws-cdk-lib/aws-arcregionswitch';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { FAILBACK_STEP_NAMES, PLAN_STEP_NAMES, raiseStepName } from '../lib/disaster-recovery';

/** One ECS service of the application: where it runs in each region. */
export interface RegionSwitchService {
  /** Short name, used in the step name (`raiseStepName()`), e.g. `api`. */
  readonly name: string;
  /** Cluster and service ARNs in the primary region: the capacity the plan matches. */
  readonly primary: RegionSwitchServiceLocation;
  /** Cluster and service ARNs in the recovery region: the service the plan raises. */
  readonly recovery: RegionSwitchServiceLocation;
}

/** An ECS service by ARN (the other region's resources cannot be referenced, only named). */
export interface RegionSwitchServiceLocation {
  /** `arn:aws:ecs:<region>:<account>:cluster/<cluster>` */
  readonly clusterArn: string;
  /** `arn:aws:ecs:<region>:<account>:service/<cluster>/<service>` */
  readonly serviceArn: string;
}

/** The Route 53 failover pair whose health checks the plan flips. */
export interface RegionSwitchDns {
  readonly hostedZoneId: string;
  /** The record name of the failover pair, e.g. `api.example.com`. */
  readonly recordName: string;
  /** Set identifier of the record that points at the primary region. */
  readonly primarySetIdentifier: string;
  /** Set identifier of the record that points at the recovery region. */
  readonly recoverySetIdentifier: string;
}

/**
 * Properties of a RegionSwitchPlan.
 */
export interface RegionSwitchPlanProps {
  /** Plan name: 1–32 letters, digits and hyphens, starting and ending with a letter or digit (see `regionSwitchPlanName()`). */
  readonly planName: string;
  /** What the plan recovers, shown in the ARC console. */
  readonly description: string;
  /** Where the application runs today. */
  readonly primaryRegion: string;
  /** Where the plan activates the application: the region of this stack, so that the plan and its role survive the primary. */
  readonly recoveryRegion: string;
  /** Target time from the start of an execution to a recovered application; ARC reports each execution against it. */
  readonly recoveryTimeObjective: Duration;
  /** The database: the primary instance and its cross-region read replica, which the plan promotes. */
  readonly database: {
    /** `arn:aws:rds:<primary region>:<account>:db:<id>` */
    readonly primaryInstanceArn: string;
    /** `arn:aws:rds:<recovery region>:<account>:db:<id>` */
    readonly replicaInstanceArn: string;
  };
  /** How long the promotion step may take (RDS: typically 5–15 minutes, the instance reboots). */
  readonly promoteTimeout: Duration;
  /** The ECS services the plan raises in the recovery region, in parallel, after the promotion. */
  readonly services: readonly RegionSwitchService[];
  /** How long raising the services may take. */
  readonly scaleTimeout: Duration;
  /**
   * The Route 53 failover pair the plan switches after the services are up,
   * and switches back in its failback workflow.
   *
   * @default - no traffic step and no failback workflow: the plan cannot move traffic that no DNS record carries
   */
  readonly dns?: RegionSwitchDns;
  /**
   * How long the traffic switch may take.
   *
   * @default - 10 minutes
   */
  readonly dnsTimeout?: Duration;
  /**
   * Alarms ARC watches after an execution (application health); they must be
   * in the recovery region to be readable during an outage of the primary.
   *
   * @default - none
   */
  readonly applicationHealthAlarms?: readonly cloudwatch.IAlarm[];
  /** Receives the plan's evaluation warnings (ARC re-checks the plan every 30 minutes). */
  readonly evaluationWarningsTopic: sns.ITopic;
}

/** What ARC's ECS block matches: the most tasks the primary service ran in the last 24 hours (no extra cost; stored in every region of the plan). */
export const ECS_CAPACITY_MONITORING = 'sampledMaxInLast24Hours';

const PLAN_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$/;

/**
 * The ordered failover of an application as an AWS ARC Region switch plan
 * (active/passive): promote the database's cross-region read replica, raise the
 * ECS services of the recovery region to the capacity the primary ran (every
 * service in parallel), and, with a DNS failover pair, flip the Route 53 health
 * checks that move traffic. ARC runs it from the recovery region with the
 * data-plane APIs only, and evaluates it every 30 minutes; the evaluation's
 * warnings go to `evaluationWarningsTopic`.
 *
 * With a DNS failover pair the plan has a second workflow, the failback: it
 * activates the primary region with one step that sets the same health checks
 * the other way round, so that moving the api back is one execution
 * (`ops dr failback --move-traffic`). Only traffic: the database goes back by
 * hand first, and the primary's services need no raising.
 *
 * The execution role may do exactly that: promote and modify the one replica,
 * update the recovery region's services, read (never change) the primary's.
 *
 * What the plan does not do (the operator CLI covers it, see
 * runbooks/disaster-recovery.md): open the recovery services' scaling bounds,
 * which their pilot light keeps at 0..0, before the ECS step; set Multi-AZ
 * and backup retention on the promoted database when the primary region cannot
 * be read; and move traffic that no DNS record carries.
 */
export class RegionSwitchPlan extends Construct {
  /** The plan. */
  public readonly plan: arc.CfnPlan;
  /** The role ARC runs the plan's steps with. */
  public readonly executionRole: iam.Role;
  /** ARN of the plan (`arn:aws:arc-region-switch::<account>:plan/<name>:<suffix>`). */
  public readonly planArn: string;
  /** The rules that route evaluation warnings to the topic. */
  public readonly evaluationWarningRules: events.Rule[];
  private readonly hasTrafficStep: boolean;

  constructor(scope: Construct, id: string, props: RegionSwitchPlanProps) {
    super(scope, id);
    const where = `RegionSwitchPlan ${this.node.path}`;
    const stack = Stack.of(this);
    validate(where, stack, props);
    const rto = props.recoveryTimeObjective.toMinutes();
    const minutes = (d: Duration) => d.toMinutes();

    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('arc-region-switch.amazonaws.com'),
      description: `ARC Region switch plan ${props.planName}: promote the replica, raise the ${props.recoveryRegion} services${props.dns ? ', switch traffic' : ''}`,
    });
    const recoveryServiceArns = props.services.map((s) => s.recovery.serviceArn);
    const allServiceArns = props.services.flatMap((s) => [s.primary.serviceArn, s.recovery.serviceArn]);
    const clusterArns = [...new Set(props.services.flatMap((s) => [s.primary.clusterArn, s.recovery.clusterArn]))];
    const statements = [
      new iam.PolicyStatement({
        sid: 'PromoteTheReplica',
        actions: ['rds:PromoteReadReplica', 'rds:ModifyDBInstance'],
        resources: [props.database.replicaInstanceArn],
      }),
      new iam.PolicyStatement({
        sid: 'ReadTheDatabases',
        actions: ['rds:DescribeDBInstances'],
        resources: [props.database.primaryInstanceArn, props.database.replicaInstanceArn],
      }),
      new iam.PolicyStatement({
        sid: 'RaiseTheRecoveryServices',
        actions: ['ecs:UpdateService'],
        resources: recoveryServiceArns,
      }),
      new iam.PolicyStatement({
        sid: 'ReadTheServicesOfBothRegions',
        actions: ['ecs:DescribeServices'],
        resources: allServiceArns,
      }),
      new iam.PolicyStatement({ sid: 'ReadTheClusters', actions: ['ecs:DescribeClusters'], resources: clusterArns }),
      new iam.PolicyStatement({
        sid: 'ListTheServicesOfTheClusters',
        actions: ['ecs:ListServices'],
        resources: ['*'],
        conditions: { ArnEquals: { 'ecs:cluster': clusterArns } },
      }),
      // Application Auto Scaling has no resource-level permissions (a scalable
      // target's ARN holds an id AWS assigns); registering is limited to ECS.
      new iam.PolicyStatement({
        sid: 'RegisterEcsScalableTargets',
        actions: ['application-autoscaling:RegisterScalableTarget'],
        resources: ['*'],
        conditions: { StringEquals: { 'application-autoscaling:service-namespace': 'ecs' } },
      }),
      new iam.PolicyStatement({
        sid: 'ReadsWithoutResourceLevelPermissions',
        actions: ['application-autoscaling:DescribeScalableTargets', 'cloudwatch:GetMetricStatistics', 'cloudwatch:DescribeAlarms'],
        resources: ['*'],
      }),
    ];
    if (props.dns) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'ReadTheFailoverRecords',
          actions: ['route53:ListResourceRecordSets'],
          resources: [`arn:${stack.partition}:route53:::hostedzone/${props.dns.hostedZoneId}`],
        }),
      );
    }
    const policy = new iam.ManagedPolicy(this, 'ExecutionPolicy', {
      description: `What the Region switch plan ${props.planName} may do, and nothing more`,
      roles: [this.executionRole],
      statements,
    });
    acknowledge(
      policy,
      ['AwsSolutions-IAM5[Resource::*]'],
      'Only calls without resource-level permissions use "*": ListServices (limited to the two clusters by the ecs:cluster condition), RegisterScalableTarget (limited to the ECS namespace; a scalable target ARN holds an id AWS assigns), and the read-only DescribeScalableTargets, GetMetricStatistics and DescribeAlarms. Every change is limited to the named replica and recovery-region services.',
    );

    const ecsStep = (service: RegionSwitchService): arc.CfnPlan.StepProperty => ({
      name: raiseStepName(service.name),
      description: `Raise ${service.name} in ${props.recoveryRegion} to the task count it ran in ${props.primaryRegion} (highest in the last 24 hours)`,
      executionBlockType: 'ECSServiceScaling',
      executionBlockConfiguration: {
        ecsCapacityIncreaseConfig: {
          // ARC requires exactly two: the service in each region of the plan.
          services: [service.primary, service.recovery].map((s) => ({ clusterArn: s.clusterArn, serviceArn: s.serviceArn })),
          targetPercent: 100,
          capacityMonitoringApproach: ECS_CAPACITY_MONITORING,
          timeoutMinutes: minutes(props.scaleTimeout),
        },
      },
    });
    const steps: arc.CfnPlan.StepProperty[] = [
      {
        name: PLAN_STEP_NAMES.promote,
        description: `Promote the read replica in ${props.recoveryRegion} to a standalone, writable database`,
        executionBlockType: 'RdsPromoteReadReplica',
        executionBlockConfiguration: {
          rdsPromoteReadReplicaConfig: {
            dbInstanceArnMap: { [props.primaryRegion]: props.database.primaryInstanceArn, [props.recoveryRegion]: props.database.replicaInstanceArn },
            timeoutMinutes: minutes(props.promoteTimeout),
          },
        },
      },
      {
        name: PLAN_STEP_NAMES.raise,
        description: `Raise ${props.services.map((s) => s.name).join(' and ')} in ${props.recoveryRegion}, in parallel`,
        executionBlockType: 'Parallel',
        executionBlockConfiguration: { parallelConfig: { steps: props.services.map(ecsStep) } },
      },
    ];
    if (props.dns) {
      steps.push({
        name: PLAN_STEP_NAMES.traffic,
        description: `Move ${props.dns.recordName} to ${props.recoveryRegion}: ARC sets the health checks of its failover records`,
        ...route53HealthCheckBlock(props, props.dns),
      });
    }
    const workflows: arc.CfnPlan.WorkflowProperty[] = [
      {
        workflowTargetAction: 'activate',
        workflowTargetRegion: props.recoveryRegion,
        workflowDescription: `Fail over to ${props.recoveryRegion}: ${steps.map((s) => s.name).join(' → ')}`,
        steps,
      },
    ];
    if (props.dns) {
      // ARC's health checks stay as the last execution set them (the failover leaves the
      // primary's unhealthy) until an execution that activates the primary region sets
      // them back, and an execution runs the workflow of its target region: "for a plan
      // that you configure to have an active/passive approach, you create either one
      // workflow that can be used to activate either of your Regions, or separate
      // activation workflows, one for each Region" (ARC developer guide, Region switch
      // components). A separate one, because the failover's promotion and raising must
      // not run on the way back. Its step names the same record and record sets as the
      // failover's, so it sets the same two checks: steps of the two workflows on one
      // record share each region's check (hashicorp/terraform-provider-aws,
      // internal/service/arcregionswitch/route53_health_checks_data_source_test.go: an
      // active/passive plan with one such step per workflow has exactly two checks), and
      // healthCheckIds() keeps selecting them.
      workflows.push({
        workflowTargetAction: 'activate',
        workflowTargetRegion: props.primaryRegion,
        // Prose without the primary's name: a standby template names the primary region only in config-derived ARNs (test/cross-region.test.ts).
        workflowDescription: `Fail back to the primary region: ${FAILBACK_STEP_NAMES.traffic} (traffic only; the database goes back by hand first, npm run ops -- dr failback)`,
        steps: [
          {
            name: FAILBACK_STEP_NAMES.traffic,
            description: `Move ${props.dns.recordName} back to ${props.primaryRegion}: ARC sets the health checks of its failover records`,
            ...route53HealthCheckBlock(props, props.dns),
          },
        ],
      });
    }

    const alarms = props.applicationHealthAlarms ?? [];
    this.plan = new arc.CfnPlan(this, 'Resource', {
      name: props.planName,
      description: props.description,
      executionRole: this.executionRole.roleArn,
      recoveryApproach: 'activePassive',
      primaryRegion: props.primaryRegion,
      regions: [props.primaryRegion, props.recoveryRegion],
      recoveryTimeObjectiveMinutes: rto,
      associatedAlarms: alarms.length
        ? Object.fromEntries(alarms.map((alarm, i) => [`ApplicationHealth${i + 1}`, { alarmType: 'applicationHealth', resourceIdentifier: alarm.alarmArn }]))
        : undefined,
      workflows,
    });
    // ARC checks the role when the plan is created or evaluated: the policy must be attached first.
    this.plan.node.addDependency(policy);
    this.planArn = this.plan.attrArn;
    this.hasTrafficStep = props.dns !== undefined;

    // An evaluation warning is emitted when one appears and once a day while it lasts
    // (resources: the plan ARN). The EventBridge reference lists it as "ARC Region
    // Switch Plan Evaluation"; the ARC guide's example shows it as a Plan Execution
    // event with detail.metadata.warning: both are routed.
    const target = new targets.SnsTopic(props.evaluationWarningsTopic);
    this.evaluationWarningRules = [
      new events.Rule(this, 'EvaluationWarnings', {
        description: `Plan evaluation warnings of ${props.planName}: the failover would not run as planned. Runbook: runbooks/disaster-recovery.md`,
        eventPattern: { source: ['aws.arc-region-switch'], detailType: ['ARC Region Switch Plan Evaluation'], resources: [this.planArn] },
        targets: [target],
      }),
      new events.Rule(this, 'EvaluationWarningsAsExecutionEvents', {
        description: `Plan evaluation warnings of ${props.planName} delivered as execution events. Runbook: runbooks/disaster-recovery.md`,
        eventPattern: {
          source: ['aws.arc-region-switch'],
          detailType: ['ARC Region Switch Plan Execution'],
          resources: [this.planArn],
          detail: { metadata: { warning: [{ exists: true }] } },
        },
        targets: [target],
      }),
    ];
  }

  /**
   * The ids of the Route 53 health checks that the plan's traffic steps create
   * and set (the failover's and the failback's name the same record, so they
   * share them), one per region: each belongs in the `HealthCheckId` of that
   * region's failover record, in this stack (ARC creates the checks with the
   * plan). ARC's Route53HealthCheck block "creates Amazon Route 53 health
   * checks, which you then attach to Route 53 DNS records" (ARC developer guide,
   * Route 53 health check execution block); an execution sets their state, and
   * Route 53 moves the traffic.
   *
   * Read from the plan's `Route53HealthChecks` attribute, whose `HealthCheckIds`
   * parallel its `Regions`. CloudFormation cannot look an id up by region, so
   * they are selected in the order of the plan's own `Regions` (primary,
   * recovery); that order is not documented, so `ops dr status` checks each
   * record against ARC's own per-region list (ListRoute53HealthChecksInRegion)
   * and fails on a record that carries another region's check.
   */
  public healthCheckIds(): RegionSwitchPlanHealthChecks {
    if (!this.hasTrafficStep) {
      throw new Error(`RegionSwitchPlan ${this.node.path}: healthCheckIds() needs the plan's traffic step: pass dns (the failover pair) so that ARC creates its Route 53 health checks`);
    }
    const ids = Token.asList(this.plan.getAtt('Route53HealthChecks.HealthCheckIds'));
    return { primary: Fn.select(0, ids), recovery: Fn.select(1, ids) };
  }
}

/** The Route 53 health checks of a plan's traffic step, by the region of the record they belong on. */
export interface RegionSwitchPlanHealthChecks {
  /** Attach to `dns.primarySetIdentifier`'s record (the primary region). */
  readonly primary: string;
  /** Attach to `dns.recoverySetIdentifier`'s record (the recovery region). */
  readonly recovery: string;
}

/** How long the traffic step may wait for Route 53 by default. */
export const DEFAULT_DNS_TIMEOUT = Duration.minutes(10);

function validate(where: string, stack: Stack, props: RegionSwitchPlanProps): void {
  if (!PLAN_NAME.test(props.planName)) {
    throw new Error(`${where}: planName must be 1–32 letters, digits or hyphens, starting and ending with a letter or digit, got '${props.planName}'`);
  }
  if (props.primaryRegion === props.recoveryRegion) {
    throw new Error(`${where}: recoveryRegion must differ from primaryRegion, got '${props.recoveryRegion}' for both`);
  }
  if (!Token.isUnresolved(stack.region) && stack.region !== props.recoveryRegion) {
    throw new Error(
      `${where}: the plan must be deployed in its recovery region ${props.recoveryRegion} (its role, alarms and warning rules must survive the primary), but the stack is in ${stack.region}`,
    );
  }
  for (const [name, d] of [
    ['recoveryTimeObjective', props.recoveryTimeObjective],
    ['promoteTimeout', props.promoteTimeout],
    ['scaleTimeout', props.scaleTimeout],
    ['dnsTimeout', props.dnsTimeout],
  ] as const) {
    if (d === undefined) continue;
    const m = d.toMinutes({ integral: false });
    if (!Number.isInteger(m) || m < 1) throw new Error(`${where}: ${name} must be a whole number of minutes, at least 1, got ${m}`);
  }
  const rdsArn = (field: string, arn: string, region: string) => {
    if (!/^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:db:[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$/.test(arn)) {
      throw new Error(`${where}: ${field} must be an RDS instance ARN such as arn:aws:rds:${region}:123456789012:db:name, got '${arn}'`);
    }
    const r = Arn.split(arn, ArnFormat.COLON_RESOURCE_NAME).region;
    if (r !== region) throw new Error(`${where}: ${field} must be in ${region}, got an instance in ${r}`);
  };
  rdsArn('database.primaryInstanceArn', props.database.primaryInstanceArn, props.primaryRegion);
  rdsArn('database.replicaInstanceArn', props.database.replicaInstanceArn, props.recoveryRegion);
  if (props.services.length === 0) throw new Error(`${where}: services must name at least one ECS service to raise`);
  const names = new Set<string>();
  for (const service of props.services) {
    if (!/^[a-z][a-z0-9-]{0,40}$/.test(service.name)) throw new Error(`${where}: services[].name must be lower-case letters, digits and hyphens, got '${service.name}'`);
    if (names.has(service.name)) throw new Error(`${where}: services[].name must be unique, got '${service.name}' twice`);
    names.add(service.name);
    for (const [side, region] of [
      ['primary', props.primaryRegion],
      ['recovery', props.recoveryRegion],
    ] as const) {
      const { clusterArn, serviceArn } = service[side];
      const cluster = /^arn:aws[a-z-]*:ecs:([a-z0-9-]+):\d{12}:cluster\/([A-Za-z0-9_-]+)$/.exec(clusterArn);
      const svc = /^arn:aws[a-z-]*:ecs:([a-z0-9-]+):\d{12}:service\/([A-Za-z0-9_-]+)\/[A-Za-z0-9_-]+$/.exec(serviceArn);
      if (!cluster || !svc) {
        throw new Error(`${where}: services '${service.name}' ${side} must be ECS cluster and service ARNs (arn:aws:ecs:${region}:<account>:service/<cluster>/<service>), got '${clusterArn}' and '${serviceArn}'`);
      }
      if (cluster[1] !== region || svc[1] !== region) throw new Error(`${where}: services '${service.name}' ${side} must be in ${region}, got ${cluster[1]} and ${svc[1]}`);
      if (cluster[2] !== svc[2]) throw new Error(`${where}: services '${service.name}' ${side}: the service ARN names cluster '${svc[2]}', not '${cluster[2]}'`);
    }
  }
  if (props.dns) {
    if (!/^Z[A-Z0-9]{1,31}$/.test(props.dns.hostedZoneId)) throw new Error(`${where}: dns.hostedZoneId must be a Route 53 hosted zone id, got '${props.dns.hostedZoneId}'`);
    if (props.dns.primarySetIdentifier === props.dns.recoverySetIdentifier) {
      throw new Error(`${where}: dns.primarySetIdentifier and dns.recoverySetIdentifier must differ (one record per region), got '${props.dns.primarySetIdentifier}' for both`);
    }
  }
}

/**
 * The step that sets ARC's Route 53 health checks of the api's failover pair. The
 * failover and the failback workflows must name the same record and record sets,
 * because that is what makes them share each region's check (see the failback
 * workflow's comment), so both build it here.
 */
function route53HealthCheckBlock(props: RegionSwitchPlanProps, dns: RegionSwitchDns): Pick<arc.CfnPlan.StepProperty, 'executionBlockType' | 'executionBlockConfiguration'> {
  return {
    executionBlockType: 'Route53HealthCheck',
    executionBlockConfiguration: {
      route53HealthCheckConfig: {
        hostedZoneId: dns.hostedZoneId,
        recordName: dns.recordName,
        recordSets: [
          { recordSetIdentifier: dns.primarySetIdentifier, region: props.primaryRegion },
          { recordSetIdentifier: dns.recoverySetIdentifier, region: props.recoveryRegion },
        ],
        timeoutMinutes: (props.dnsTimeout ?? DEFAULT_DNS_TIMEOUT).toMinutes(),
      },
    },
  };
}
