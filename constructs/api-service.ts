import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { API_TARGET_CPU_PERCENT, apiTaskStatements, CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST, type TaskPolicyResources } from '../lib/stacks/service-settings';
import { BlueGreenService, type BlueGreenServiceProps, type RequiredHeader } from './blue-green-service';
import type { ServiceDatabase } from './load-balanced-fargate-service';
import { RollbackAlarms } from './rollback-alarms';

/**
 * Properties of an ApiService: the blue/green service's settings, less what
 * the api decides itself (a load balancer that accepts CloudFront only, a test
 * listener for the deployment path only).
 */
export interface ApiServiceProps extends Omit<BlueGreenServiceProps, 'loadBalancerSubnets' | 'productionPeers' | 'requiredHeader' | 'desiredCount' | 'testPeers'> {
  /**
   * Subnets of the load balancer: the public subnet group when it is
   * internet-facing (CloudFront reaches it by the api's domain name), private
   * subnets when it is internal (CloudFront reaches it through a VPC origin).
   */
  readonly loadBalancerSubnets: ec2.SubnetSelection;
  /** Header and secret value CloudFront adds to every api request; any other request is answered 403. */
  readonly originVerify: RequiredHeader;
  /** Tasks the service starts with and auto scaling keeps at least. */
  readonly minTasks: number;
  /** Tasks auto scaling may run at most. */
  readonly maxTasks: number;
  /** Objects the api signs upload and download URLs for, and the key that encrypts them. */
  readonly storage: TaskPolicyResources;
  /** The database the tasks connect to. */
  readonly database: ServiceDatabase;
}

/** What a service's rollback alarms watch besides its load balancer. */
export interface ReleaseWatch {
  /** Prefix of the alarm names, e.g. `BodyScript-Staging-api-`. */
  readonly alarmNamePrefix: string;
  /** Alarm of the service's health-check canary (HealthCheckCanary.failureAlarm). */
  readonly canaryAlarm: cloudwatch.IAlarm;
  /** Requests the service's health-check canary sends a minute (HealthCheckCanary.requestsPerMinute): the least traffic its load balancer sees. */
  readonly canaryRequestsPerMinute: number;
  /** Topic told when the composite rollback alarm changes state. */
  readonly alarmTopic: sns.ITopic;
  /**
   * The service's failed tasks per minute (FailedTasks.metric): a crash loop rolls back.
   *
   * @default - no crash-loop alarm
   */
  readonly failedTasks?: cloudwatch.IMetric;
  /**
   * How long the deployment watches its alarms (traffic shift + termination wait).
   *
   * @default - every rollback alarm is handed to the deployment
   */
  readonly deploymentWatch?: Duration;
}

/**
 * The api: FastAPI on Fargate behind a load balancer that only CloudFront
 * reaches (its origin-facing prefix list, carrying the secret origin header):
 * internal behind a VPC origin, or internet-facing behind a regional web ACL
 * when CloudFront reaches it by its domain name; deployed blue/green by
 * CodeDeploy, its test listener open to the deployment path only. It signs upload and download URLs
 * with its task role, scales on CPU, reads its database credentials when a task
 * starts, and is rolled back by the alarms `watchReleases()` adds.
 *
 * The blue/green service is this construct's `Default` child, so its resources
 * keep the logical IDs they had before the composition (CDK leaves `Default`
 * out of logical IDs): the container log group is pinned by
 * test/stateful-resources.test.ts.
 */
export class ApiService extends Construct {
  /** Task definition, load balancer, blue and green target groups, CodeDeploy. */
  public readonly blueGreen: BlueGreenService;
  /** The only clients the test listener admits: attach it to a CodeDeploy validation hook. */
  public readonly testTrafficSecurityGroup: ec2.SecurityGroup;
  /** What the task role may do: sign uploads and downloads. */
  public readonly taskPolicy: iam.ManagedPolicy;
  /** Task count between `minTasks` and `maxTasks`, tracking CPU. */
  public readonly scaling: ecs.ScalableTaskCount;
  private watched?: RollbackAlarms;

  constructor(scope: Construct, id: string, props: ApiServiceProps) {
    super(scope, id);
    if (!Number.isInteger(props.minTasks) || props.minTasks < 1 || !Number.isInteger(props.maxTasks) || props.maxTasks < props.minTasks) {
      throw new Error(`ApiService ${this.node.path}: minTasks must be a whole number of at least 1 and maxTasks at least minTasks, got ${props.minTasks} and ${props.maxTasks}`);
    }
    // CloudFront's origin-facing addresses: its edge servers for an
    // internet-facing load balancer, and the source of a VPC origin's traffic.
    const cloudFrontOriginFacing = ec2.PrefixList.fromLookup(this, 'CloudFrontOriginFacing', { prefixListName: CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST });
    // The test listener serves the next release before it takes traffic: only
    // what runs in the deployment path (a validation hook) may call it, never
    // the whole VPC (a compromised task could reach the next tasks without the
    // WAF and without the origin header).
    this.testTrafficSecurityGroup = new ec2.SecurityGroup(this, 'TestTrafficSecurityGroup', {
      vpc: props.cluster.vpc,
      description: `${props.serviceName} test listener clients: the deployment path only (validation hooks of CodeDeploy)`,
      allowAllOutbound: false,
    });
    this.blueGreen = new BlueGreenService(this, 'Default', {
      ...props,
      desiredCount: props.minTasks,
      productionPeers: [ec2.Peer.prefixList(cloudFrontOriginFacing.prefixListId)],
      requiredHeader: props.originVerify,
      testPeers: [this.testTrafficSecurityGroup],
    });
    this.testTrafficSecurityGroup.addEgressRule(
      ec2.Peer.securityGroupId(this.blueGreen.loadBalancerSecurityGroup.securityGroupId),
      ec2.Port.tcp(this.blueGreen.testPort),
      `${props.serviceName} test listener`,
    );
    this.blueGreen.connectToDatabase(props.database);

    // Presigned upload and download URLs are signed with the api's credentials.
    this.taskPolicy = new iam.ManagedPolicy(this, 'TaskPolicy', {
      description: `${props.serviceName}: sign uploads into the uploads bucket and downloads from the results bucket`,
      roles: [this.blueGreen.taskDefinition.taskRole],
      statements: apiTaskStatements(props.storage),
    });
    acknowledge(
      this.taskPolicy,
      [props.storage.uploadsObjects, props.storage.resultsObjects].map((objects) => `AwsSolutions-IAM5[Resource::${objects}]`),
      'The api signs upload URLs for new objects and download URLs for any result, whose keys are only known at run time; the actions are exactly s3:PutObject and s3:GetObject on one bucket each.',
    );

    this.scaling = this.blueGreen.service.autoScaleTaskCount({ minCapacity: props.minTasks, maxCapacity: props.maxTasks });
    this.scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: API_TARGET_CPU_PERCENT,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });
  }

  /** What CodeDeploy watches while deploying the api (after `watchReleases()`). */
  public get rollbackAlarms(): RollbackAlarms {
    if (!this.watched) throw new Error(`ApiService ${this.node.path}: call watchReleases() first`);
    return this.watched;
  }

  /**
   * Rolls a deployment back on the load balancer's 5xx rate, latency and
   * unhealthy targets and on the api's health-check canary (which needs the
   * CloudFront URL, hence after construction).
   */
  public watchReleases(watch: ReleaseWatch): RollbackAlarms {
    if (this.watched) throw new Error(`ApiService ${this.node.path}: watchReleases() may be called once`);
    this.watched = new RollbackAlarms(this, 'RollbackAlarms', {
      alarmNamePrefix: watch.alarmNamePrefix,
      loadBalancer: this.blueGreen.loadBalancer,
      targetGroups: [this.blueGreen.blueTargetGroup, this.blueGreen.greenTargetGroup],
      canaryAlarms: [watch.canaryAlarm],
      quietestRequestsPerMinute: watch.canaryRequestsPerMinute,
      failedTasks: watch.failedTasks,
      deploymentWatch: watch.deploymentWatch,
      alarmTopic: watch.alarmTopic,
    });
    this.blueGreen.addRollbackAlarms(this.watched.alarms);
    return this.watched;
  }
}
