import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';

/** The one scalable dimension the role may register: an ECS service's desired count (what `ops dr failover` scales). */
export const ECS_SERVICE_DESIRED_COUNT = 'ecs:service:DesiredCount';

/** An account and region the role may act in. */
export interface OperationsRegion {
  readonly account: string;
  readonly region: string;
}

/**
 * Properties of an OperationsRole.
 */
export interface OperationsRoleProps {
  /** Role name (see `operationsRoleName()` in lib/naming.ts); the pipeline assumes it by name. */
  readonly roleName: string;
  /** ARNs of the roles that may assume this one (the environment's GitHub deploy role). */
  readonly trustedRoleArns: readonly string[];
  /** Primary database: the only instance a release snapshot may be taken of. */
  readonly primaryDatabase: { readonly identifier: string; readonly where: OperationsRegion };
  /** Prefix of release snapshot names (`<prefix>-pre-<release>`). */
  readonly snapshotPrefix: string;
  /** The read replica that the Region switch plan promotes and `dr failover` then configures (Multi-AZ, backups). */
  readonly replica: { readonly identifier: string; readonly where: OperationsRegion };
  /**
   * What `dr failover` and `dr failback` drive: the Region switch plan (IAM
   * resource pattern: its ARN ends in a suffix AWS chooses) and the
   * failed-over marker (SSM parameter ARN in the standby region).
   */
  readonly failover: { readonly planArnPattern: string; readonly markerArn: string };
  /** CodeDeploy application and deployment-group names of the blue/green services, in the primary region. */
  readonly deployments: readonly { readonly application: string; readonly group: string }[];
  /** ECS cluster name (the same in both regions) and its service names. */
  readonly cluster: string;
  readonly services: readonly string[];
  /**
   * Services deployed by ECS rolling updates, which `ops rollback` rolls back
   * through ECS service deployments (primary region).
   *
   * @default - none
   */
  readonly rollingServices?: readonly string[];
  /**
   * CloudWatch namespace the pipeline's delivery metrics are published in (`ops delivery`).
   *
   * @default - the role publishes no metrics
   */
  readonly deliveryMetricsNamespace?: string;
  /** Regions whose ECS services the role may scale (primary for rollback, standby for failover). */
  readonly serviceRegions: readonly OperationsRegion[];
  /** Buckets whose replication configuration `dr status` reads. */
  readonly replicatedBucketNames: readonly string[];
  /** Route 53 hosted zone of the failover records, when a domain is configured. */
  readonly hostedZoneId?: string;
  /**
   * Names of the environment's SLOs (lib/service-level-objectives.ts), in the
   * primary region, whose budget report `ops verify` (run by `ops rollback`)
   * and the DR drill report read.
   */
  readonly serviceLevelObjectiveNames: readonly string[];
}

/**
 * The role the operator CLI's changing commands (`snapshot`, `rollback`,
 * `dr failover`, `dr deploy-check`, `delivery`) run as from the pipeline, with
 * the reads they make (`rollback` ends with `verify`, which like the drill
 * report reads the SLOs' budgets). Every write is limited to the named
 * database, replica, deployment groups and services of one environment; reads
 * that AWS does not scope by resource are listed separately.
 */
export class OperationsRole extends Construct {
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: OperationsRoleProps) {
    super(scope, id);
    if (props.trustedRoleArns.length === 0) {
      throw new Error(`OperationsRole ${this.node.path}: trustedRoleArns must name at least one role, or nobody can use it`);
    }
    if (props.serviceLevelObjectiveNames.length === 0) {
      // An IAM statement without a resource is refused; and ops verify and the drill report read every SLO.
      throw new Error(`OperationsRole ${this.node.path}: serviceLevelObjectiveNames must name the environment's SLOs (lib/service-level-objectives.ts), whose budgets ops verify and the DR drill read`);
    }
    const partition = Stack.of(this).partition;
    const rdsArn = (where: OperationsRegion, resource: string) => `arn:${partition}:rds:${where.region}:${where.account}:${resource}`;

    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      description: 'BodyScript operator CLI from the pipeline: release snapshots, CodeDeploy rollback, DR failover',
      // The pipeline reaches this role by chaining from its GitHub deploy role
      // with aws-actions/configure-aws-credentials, which tags every session it
      // does not get by web identity (repository, workflow, actor, commit: who
      // did what, in CloudTrail). A chained AssumeRole with tags is refused
      // unless the trust policy also allows sts:TagSession.
      assumedBy: new iam.CompositePrincipal(...props.trustedRoleArns.map((arn) => new iam.SessionTagsPrincipal(new iam.ArnPrincipal(arn)))),
      // A chained session lasts at most an hour whatever this says (IAM role chaining).
      maxSessionDuration: Duration.hours(1),
    });

    const statements: iam.PolicyStatement[] = [
      new iam.PolicyStatement({
        sid: 'ReleaseSnapshotOfThePrimaryDatabase',
        actions: ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'],
        resources: [
          rdsArn(props.primaryDatabase.where, `db:${props.primaryDatabase.identifier}`),
          rdsArn(props.primaryDatabase.where, `snapshot:${props.snapshotPrefix}-pre-*`),
        ],
      }),
      new iam.PolicyStatement({
        // `ops snapshot` prunes release snapshots by the retention rule; no other snapshot can be deleted.
        sid: 'DeleteOnlyReleaseSnapshots',
        actions: ['rds:DeleteDBSnapshot'],
        resources: [rdsArn(props.primaryDatabase.where, `snapshot:${props.snapshotPrefix}-pre-*`)],
      }),
      new iam.PolicyStatement({
        sid: 'ReadTheDatabases',
        actions: ['rds:DescribeDBInstances', 'rds:DescribeDBSnapshots', 'rds:ListTagsForResource'],
        resources: [
          rdsArn(props.primaryDatabase.where, `db:${props.primaryDatabase.identifier}`),
          rdsArn(props.primaryDatabase.where, `snapshot:${props.snapshotPrefix}-pre-*`),
          rdsArn(props.replica.where, `db:${props.replica.identifier}`),
        ],
      }),
      // The Region switch plan promotes the replica with its own role; the CLI then sets Multi-AZ and backups.
      new iam.PolicyStatement({
        sid: 'ConfigureThePromotedReplica',
        actions: ['rds:ModifyDBInstance'],
        resources: [rdsArn(props.replica.where, `db:${props.replica.identifier}`)],
      }),
      new iam.PolicyStatement({
        sid: 'RunTheRegionSwitchPlan',
        actions: [
          'arc-region-switch:GetPlanInRegion',
          'arc-region-switch:GetPlanEvaluationStatus',
          'arc-region-switch:StartPlanExecution',
          'arc-region-switch:GetPlanExecution',
          'arc-region-switch:ListPlanExecutionEvents',
        ],
        resources: [props.failover.planArnPattern],
      }),
      new iam.PolicyStatement({
        sid: 'TheFailedOverMarker',
        actions: ['ssm:GetParameter', 'ssm:PutParameter', 'ssm:DeleteParameter'],
        resources: [props.failover.markerArn],
      }),
      new iam.PolicyStatement({
        sid: 'RollBackThroughCodeDeploy',
        actions: [
          'codedeploy:GetDeploymentGroup',
          'codedeploy:ListDeployments',
          'codedeploy:CreateDeployment',
          'codedeploy:GetDeployment',
          'codedeploy:StopDeployment',
          'codedeploy:BatchGetDeployments',
          'codedeploy:ListDeploymentTargets',
          'codedeploy:BatchGetDeploymentTargets',
        ],
        resources: props.deployments.map(
          (d) => `arn:${partition}:codedeploy:${props.primaryDatabase.where.region}:${props.primaryDatabase.where.account}:deploymentgroup:${d.application}/${d.group}`,
        ),
      }),
      new iam.PolicyStatement({
        sid: 'CreateDeploymentReadsItsApplicationAndConfig',
        actions: ['codedeploy:GetApplicationRevision', 'codedeploy:RegisterApplicationRevision', 'codedeploy:GetDeploymentConfig'],
        resources: [
          ...props.deployments.map((d) => `arn:${partition}:codedeploy:${props.primaryDatabase.where.region}:${props.primaryDatabase.where.account}:application:${d.application}`),
          `arn:${partition}:codedeploy:${props.primaryDatabase.where.region}:${props.primaryDatabase.where.account}:deploymentconfig:*`,
        ],
      }),
      new iam.PolicyStatement({
        sid: 'ScaleTheServices',
        actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
        resources: props.serviceRegions.flatMap((where) =>
          props.services.map((service) => `arn:${partition}:ecs:${where.region}:${where.account}:service/${props.cluster}/${service}`),
        ),
      }),
      ...rollingServiceStatements(props, partition),
      new iam.PolicyStatement({
        // The service authorization reference gives BatchGetServiceLevelObjectiveBudgetReport the
        // resource type slo (arn:<partition>:application-signals:<region>:<account>:slo/<name>):
        // the role reads the budgets of this environment's SLOs and of no other.
        sid: 'ReadTheErrorBudgets',
        actions: ['application-signals:BatchGetServiceLevelObjectiveBudgetReport'],
        resources: props.serviceLevelObjectiveNames.map(
          (name) => `arn:${partition}:application-signals:${props.primaryDatabase.where.region}:${props.primaryDatabase.where.account}:slo/${name}`,
        ),
      }),
      new iam.PolicyStatement({
        sid: 'ReadReplicationOfTheDataBuckets',
        actions: ['s3:GetReplicationConfiguration'],
        resources: props.replicatedBucketNames.map((name) => `arn:${partition}:s3:::${name}`),
      }),
    ];
    if (props.hostedZoneId) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'ReadTheFailoverRecords',
          actions: ['route53:ListResourceRecordSets'],
          resources: [`arn:${partition}:route53:::hostedzone/${props.hostedZoneId}`],
        }),
      );
    }
    if (props.deliveryMetricsNamespace) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'PublishDeliveryMetrics',
          // PutMetricData has no resource-level permission; the namespace condition is what limits it.
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': props.deliveryMetricsNamespace } },
        }),
      );
    }
    // These APIs cannot be limited to a resource (the IAM service reference lists
    // no resource type for them), so they are granted on '*', read-only.
    const unscoped = new iam.PolicyStatement({
      sid: 'ReadsWithoutResourceLevelPermissions',
      actions: [
        'cloudwatch:DescribeAlarms',
        'cloudwatch:GetMetricData',
        'ecs:DescribeTaskDefinition',
        'ecs:ListTaskDefinitions',
        'synthetics:DescribeCanariesLastRun',
        'elasticloadbalancing:DescribeLoadBalancers',
        'elasticloadbalancing:DescribeTargetGroups',
        'elasticloadbalancing:DescribeTargetHealth',
        'application-autoscaling:DescribeScalableTargets',
        // Finds the plan by name in the recovery region; the plan's ARN carries a suffix AWS chooses.
        'arc-region-switch:ListPlansInRegion',
      ],
      resources: ['*'],
    });
    // `ops dr failover` opens the standby services' scaling (RegisterScalableTarget).
    // A scalable target's ARN ends in an id Application Auto Scaling assigns
    // (arn:<partition>:application-autoscaling:<region>:<account>:scalable-target/<id>),
    // so the resource names the account and the regions of serviceRegions, not the
    // services; the condition keys Application Auto Scaling documents
    // (application-autoscaling:service-namespace, :scalable-dimension) limit it to the
    // desired count of ECS services, and aws:RequestedRegion to those regions
    // (security review L4: it was any ECS scalable target, in any region).
    const scalingRegions = [...new Set(props.serviceRegions.map((where) => where.region))];
    const registerScalableTarget = new iam.PolicyStatement({
      sid: 'RegisterEcsServiceScalableTargets',
      actions: ['application-autoscaling:RegisterScalableTarget'],
      resources: [...new Set(props.serviceRegions.map((where) => `arn:${partition}:application-autoscaling:${where.region}:${where.account}:scalable-target/*`))],
      conditions: {
        StringEquals: {
          'application-autoscaling:service-namespace': 'ecs',
          'application-autoscaling:scalable-dimension': ECS_SERVICE_DESIRED_COUNT,
          'aws:RequestedRegion': scalingRegions,
        },
      },
    });
    // Bounded clean-up of the task definition revisions the services' UpdateReplacePolicy Retain keeps (`ops task-definitions`):
    // DeregisterTaskDefinition has no resource-level permission. A deregistered revision keeps its running tasks.
    const deregister = new iam.PolicyStatement({ sid: 'PruneReplacedTaskDefinitions', actions: ['ecs:DeregisterTaskDefinition'], resources: ['*'] });
    const policy = new iam.ManagedPolicy(this, 'Policy', {
      description: 'What the BodyScript operator CLI may change and read for one environment',
      statements: [...statements, unscoped, registerScalableTarget, deregister],
    });
    this.role.addManagedPolicy(policy);

    acknowledge(
      policy,
      [
        'AwsSolutions-IAM5[Resource::*]',
        `AwsSolutions-IAM5[Resource::arn:${partition}:rds:${props.primaryDatabase.where.region}:${props.primaryDatabase.where.account}:snapshot:${props.snapshotPrefix}-pre-*]`,
        `AwsSolutions-IAM5[Resource::arn:${partition}:codedeploy:${props.primaryDatabase.where.region}:${props.primaryDatabase.where.account}:deploymentconfig:*]`,
        ...(props.rollingServices ?? []).flatMap((service) =>
          ['service-deployment', 'service-revision'].map(
            (kind) => `AwsSolutions-IAM5[Resource::arn:${partition}:ecs:${props.primaryDatabase.where.region}:${props.primaryDatabase.where.account}:${kind}/${props.cluster}/${service}/*]`,
          ),
        ),
        `AwsSolutions-IAM5[Resource::${props.failover.planArnPattern}]`,
        ...[...new Set(props.serviceRegions.map((where) => `AwsSolutions-IAM5[Resource::arn:${partition}:application-autoscaling:${where.region}:${where.account}:scalable-target/*]`))],
      ],
      'Wildcards are limited to: read-only CloudWatch, Synthetics, ELB, ECS task definition and Auto Scaling describe calls and Region switch list calls that have no resource-level permissions; RegisterScalableTarget on the scalable targets of the service regions (their ARNs end in an id AWS assigns), restricted to the desired count of ECS services in those regions; PutMetricData restricted to the delivery metrics namespace; DeregisterTaskDefinition (no resource-level permission; a deregistered revision keeps its running tasks, and ops task-definitions never deregisters one a service runs); snapshots named <env>-pre-<release>; the service deployments and revisions of the rolling services; the deployment configs CreateDeployment must read; and the one Region switch plan of the environment, whose ARN ends in a suffix AWS assigns.',
    );
  }
}

/**
 * What `ops rollback` needs for a service deployed by ECS rolling updates:
 * its service deployments (list, stop with a rollback) and the service
 * revisions they ran, in the primary region.
 */
function rollingServiceStatements(props: OperationsRoleProps, partition: string): iam.PolicyStatement[] {
  const services = props.rollingServices ?? [];
  if (services.length === 0) return [];
  const where = props.primaryDatabase.where;
  const arn = (resource: string) => `arn:${partition}:ecs:${where.region}:${where.account}:${resource}`;
  return [
    new iam.PolicyStatement({
      sid: 'RollBackThroughEcsServiceDeployments',
      actions: ['ecs:ListServiceDeployments'],
      resources: services.map((service) => arn(`service/${props.cluster}/${service}`)),
    }),
    new iam.PolicyStatement({
      sid: 'StopAndReadServiceDeployments',
      actions: ['ecs:StopServiceDeployment', 'ecs:DescribeServiceDeployments'],
      resources: services.map((service) => arn(`service-deployment/${props.cluster}/${service}/*`)),
    }),
    new iam.PolicyStatement({
      sid: 'ReadServiceRevisions',
      actions: ['ecs:DescribeServiceRevisions'],
      resources: services.map((service) => arn(`service-revision/${props.cluster}/${service}/*`)),
    }),
  ];
}
