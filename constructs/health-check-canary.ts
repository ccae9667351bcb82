import * as fs from 'node:fs';
import * as path from 'node:path';
import { Aws, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as synthetics from 'aws-cdk-lib/aws-synthetics';
import { Construct } from 'constructs';
import { describeAlarm, missingData } from '../lib/alarm-description';
import { CANARY_SILENCE_CATCH_UP_MINUTES, CANARY_SILENCE_MINUTES, CANARY_SILENCE_PERIOD_SECONDS } from '../lib/canary-silence';
import { acknowledge } from '../lib/compliance';
import { canaryArtifactsBucketName } from '../lib/naming';
import { SecureBucket } from './secure-bucket';

/**
 * The Synthetics runtime of every BodyScript canary: the newest Node.js runtime
 * (Node.js 22). The API canaries only use its HTTP step, not the browser.
 */
export const CANARY_RUNTIME = synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_13_0;

/** Canaries run this often; the alarm below counts in runs of this length. */
export const CANARY_INTERVAL = Duration.minutes(1);

/**
 * Consecutive failed runs that put the canary alarm in ALARM. Two rather than
 * one: a single lost packet should not roll a release back, and two one-minute
 * runs still detect a broken release within the two minutes we allow.
 */
export const CANARY_FAILED_RUNS_TO_ALARM = 2;


/** A run must end before the next one starts. */
export const CANARY_RUN_TIMEOUT = Duration.seconds(50);

/** Most requests one run may make (each is a Synthetics step, with its own report line). */
export const CANARY_MAX_REQUESTS_PER_RUN = 10;

/** The product's health-check interval; Route 53's 10-second checks cost three times as much and DNS failover needs no more. */
const ROUTE53_REQUEST_INTERVAL = Duration.seconds(30);

/**
 * The canary script, the same for every canary: constructs/health-check-canary-script.cjs
 * (a real file, linted, type-checked and run by the tests), inlined into the
 * canary as it is at synth.
 */
export const CANARY_SCRIPT_FILE = path.join(__dirname, 'health-check-canary-script.cjs');
export const CANARY_SCRIPT = fs.readFileSync(CANARY_SCRIPT_FILE, 'utf8');

/**
 * A Route 53 health check of the same target, where a domain name exists.
 */
export interface HealthCheckCanaryRoute53Props {
  /** Fully qualified domain name Route 53 checks, e.g. `api.bodyscript.example`. */
  readonly fqdn: string;
  /** Path Route 53 requests, e.g. `/health`. */
  readonly resourcePath: string;
  /**
   * HTTPS port.
   *
   * @default 443
   */
  readonly port?: number;
}

/**
 * Properties of a HealthCheckCanary.
 */
export interface HealthCheckCanaryProps {
  /** Canary name (see `canaryName()` in lib/naming.ts): 1–21 characters of [0-9a-z_-]. */
  readonly canaryName: string;
  /** URL the canary requests every minute (http or https); may be a token such as a load balancer DNS name. */
  readonly url: string;
  /**
   * HTTP status the target must answer with.
   *
   * @default 200
   */
  readonly expectedStatus?: number;
  /**
   * Regular expression (JavaScript source, no slashes) the response body must match.
   *
   * @default - the body is not checked
   */
  readonly expectedBodyPattern?: string;
  /** A response slower than this fails the run (at most 20 seconds). */
  readonly maxLatency: Duration;
  /**
   * Requests each run makes, one after the other; any one that fails fails the
   * run. More than one gives the load balancer behind the URL a floor of
   * requests a minute that its alarms can judge (`requestsPerMinute`): at one
   * request a minute a slow cold request and a slow release look the same.
   *
   * @default 1
   */
  readonly requestsPerRun?: number;
  /**
   * VPC to run in, for targets that are only reachable inside it (internal load balancers).
   *
   * @default - the canary runs outside any VPC and reaches public URLs only
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets of the canary's network interfaces; they need a route to the target (and to S3 and CloudWatch).
   *
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Security groups of the canary's network interfaces.
   *
   * @default - a security group is created when `vpc` is given (see `securityGroup`)
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** Name of the failure alarm; must start with `alarmNamePrefix(env)` (lib/naming.ts). */
  readonly alarmName: string;
  /**
   * Topic notified when the canary fails and when it recovers.
   *
   * @default - no notification; the alarm is only watched (by CodeDeploy or a composite alarm)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Topic notified when the canary stops running and when it runs again.
   *
   * @default - `alarmTopic`
   */
  readonly silenceAlarmTopic?: sns.ITopic;
  /**
   * Runbook named in the alarm description.
   *
   * @default 'runbooks/rollback.md'
   */
  readonly runbook?: string;
  /**
   * A Route 53 health check of the same target every 30 seconds, the seed of DNS failover.
   * Only where a domain is configured: Route 53 cannot check a load balancer's generated name over HTTPS.
   *
   * @default - no Route 53 health check
   */
  readonly route53HealthCheck?: HealthCheckCanaryRoute53Props;
  /** Encrypts the run artifacts (SSE-KMS). */
  readonly encryptionKey: kms.IKey;
  /** Receives the artifacts bucket's server access logs. */
  readonly accessLogsBucket: s3.IBucket;
  /**
   * Run artifacts (logs, HAR files) are deleted after this long.
   *
   * @default Duration.days(30)
   */
  readonly artifactsRetention?: Duration;
}

/**
 * A CloudWatch Synthetics canary that requests one URL every minute (one or a
 * few times a run) and fails when the status, the body or the latency of any
 * of those requests is not what the service promises,
 * with its own alarm (two failed runs in a row: detection within two minutes)
 * and, where a domain exists, a Route 53 health check of the same target.
 */
export class HealthCheckCanary extends Construct {
  /** The canary. */
  public readonly canary: synthetics.Canary;
  /** Requests the canary sends to its URL every minute: the least traffic its target ever sees. */
  public readonly requestsPerMinute: number;
  /** Where the canary writes its run artifacts: encrypted, expiring. */
  public readonly artifactsBucket: SecureBucket;
  /** In ALARM after CANARY_FAILED_RUNS_TO_ALARM failed runs in a row, and while the canary stays silent after failing. */
  public readonly failureAlarm: cloudwatch.Alarm;
  /** In ALARM while the canary does not run at all (stopped, or cannot start): `failureAlarm` is blind then. */
  public readonly silenceAlarm: cloudwatch.Alarm;
  /** Time from the first failed run to ALARM at worst: period × evaluation periods. */
  public readonly detectionTime: Duration;
  /** The Route 53 health check, when `route53HealthCheck` is given. */
  public readonly route53HealthCheck?: route53.HealthCheck;
  /** The canary's security group, when it runs in a VPC without given security groups. Allow it in on the target. */
  public readonly securityGroup?: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: HealthCheckCanaryProps) {
    super(scope, id);
    validate(this, props);
    const stack = Stack.of(this);
    if (Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region)) {
      throw new Error(`HealthCheckCanary ${this.node.path}: the stack needs an explicit env (account and region) to name the artifacts bucket`);
    }
    const retention = props.artifactsRetention ?? Duration.days(30);
    this.requestsPerMinute = ((props.requestsPerRun ?? 1) * 60) / CANARY_INTERVAL.toSeconds();

    const bucketName = canaryArtifactsBucketName(props.canaryName, stack.account, stack.region);
    const accessLogsBucketName = physicalBucketName(this, props.accessLogsBucket);
    this.artifactsBucket = new SecureBucket(this, 'Artifacts', {
      bucketName,
      encryptionKey: props.encryptionKey,
      // Imported by its literal name: handing SecureBucket the access-log bucket itself
      // would make it add a statement naming this bucket's ARN to that bucket's policy,
      // a reference from the (earlier) data stack to this one, i.e. a cycle. The
      // statement below says the same with literal names. Control Tower's CT.S3.PR.2
      // also wants the destination as a literal name, not a cross-stack reference.
      serverAccessLogsBucket: s3.Bucket.fromBucketName(this, 'AccessLogsBucket', accessLogsBucketName),
      noncurrentVersionExpiration: Duration.days(1),
      abortIncompleteMultipartUploadAfter: Duration.days(1),
      withoutReplicationReason:
        'Canary run artifacts are short-lived diagnostics (logs and HAR files of health-check requests) that expire within weeks; the canary in the standby region produces its own.',
      withoutDefaultRetentionReason:
        'Canary run artifacts are diagnostics that CloudWatch Synthetics writes on every run and lifecycle expires within weeks; they hold no user data, and a lock would only keep screenshots and HAR files of health checks past their use.',
    });
    // SecureBucket never expires current objects (application data must not vanish);
    // canary artifacts are diagnostics and would otherwise pile up every minute.
    this.artifactsBucket.bucket.addLifecycleRule({ id: 'ExpireCanaryArtifacts', expiration: retention });
    props.accessLogsBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `AllowLogDelivery${props.canaryName.replace(/[^0-9a-z]/g, '')}`,
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [props.accessLogsBucket.arnForObjects(`${bucketName}/*`)],
        conditions: {
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:s3:::${bucketName}` },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    acknowledge(
      this.artifactsBucket.bucket,
      ['Annotation::@aws-cdk/aws-s3:accessLogsPolicyNotAdded'],
      'HealthCheckCanary adds the log-delivery statement for this bucket to the access-log bucket policy itself, with literal names to avoid a cross-stack cycle.',
    );

    if (props.vpc && !props.securityGroups?.length) {
      this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc: props.vpc,
        description: `Canary ${props.canaryName}: outbound to its target, S3 and CloudWatch`,
        allowAllOutbound: true,
      });
    }

    // Our own role with a customer-managed policy instead of the default role's
    // inline policy: exactly what a Synthetics canary needs, and no more.
    const role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the Synthetics canary ${props.canaryName}`,
    });
    const logGroupArn = `arn:${Aws.PARTITION}:logs:${stack.region}:${stack.account}:log-group:/aws/lambda/cwsyn-${props.canaryName}-*`;
    const statements = [
      // Synthetics looks the bucket up before writing; ListAllMyBuckets has no resource-level permission.
      new iam.PolicyStatement({ actions: ['s3:ListAllMyBuckets'], resources: ['*'] }),
      new iam.PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [`arn:${Aws.PARTITION}:s3:::${bucketName}`] }),
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [`arn:${Aws.PARTITION}:s3:::${bucketName}/*`] }),
      new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.encryptionKey.keyArn] }),
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': 'CloudWatchSynthetics' } },
      }),
      new iam.PolicyStatement({ actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroupArn, `${logGroupArn}:*`] }),
    ];
    if (props.vpc) {
      // What AWSLambdaVPCAccessExecutionRole grants, Lambda managing the canary's network
      // interfaces, scoped (security review L3) as far as AWS documents:
      // - a new interface only in a subnet and with security groups of the canary's VPC
      //   (ec2:Vpc on the subnet and security-group resources of CreateNetworkInterface,
      //   as the EC2 guide's "launch into a specific VPC" and security-group examples do);
      // - the interfaces themselves named by this account and region: Lambda's guide says to
      //   give DeleteNetworkInterface "a unique resource ID, or include all resource IDs, for
      //   example arn:aws:ec2:us-west-2:123456789012:*/*", or the function may lose the VPC;
      // - DescribeNetworkInterfaces "only works if it's allowed on all resources".
      const ec2Arn = (resource: string) => `arn:${Aws.PARTITION}:ec2:${stack.region}:${stack.account}:${resource}`;
      statements.push(
        new iam.PolicyStatement({
          actions: ['ec2:CreateNetworkInterface'],
          resources: [ec2Arn('subnet/*'), ec2Arn('security-group/*')],
          conditions: { ArnEquals: { 'ec2:Vpc': props.vpc.vpcArn } },
        }),
        new iam.PolicyStatement({
          actions: ['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
          resources: [ec2Arn('network-interface/*')],
        }),
        new iam.PolicyStatement({ actions: ['ec2:DescribeNetworkInterfaces'], resources: ['*'] }),
      );
    }
    const policy = new iam.ManagedPolicy(this, 'ServicePolicy', { roles: [role], statements });

    this.canary = new synthetics.Canary(this, 'Canary', {
      canaryName: props.canaryName,
      runtime: CANARY_RUNTIME,
      test: synthetics.Test.custom({ code: synthetics.Code.fromInline(CANARY_SCRIPT), handler: 'index.handler' }),
      schedule: synthetics.Schedule.rate(CANARY_INTERVAL),
      // A run must end before the next one starts.
      timeout: CANARY_RUN_TIMEOUT,
      environmentVariables: {
        TARGET_URL: props.url,
        EXPECTED_STATUS: String(props.expectedStatus ?? 200),
        BODY_PATTERN: props.expectedBodyPattern ?? '',
        MAX_LATENCY_MS: String(props.maxLatency.toMilliseconds()),
        REQUESTS_PER_RUN: String(props.requestsPerRun ?? 1),
      },
      // Immutable: the managed policy above is complete; grants must not add an inline policy.
      role: role.withoutPolicyUpdates(),
      artifactsBucketLocation: { bucket: this.artifactsBucket.bucket },
      // Deleting the canary also deletes the Lambda function and layers Synthetics created for it.
      provisionedResourceCleanup: true,
      successRetentionPeriod: Duration.days(7),
      failureRetentionPeriod: Duration.days(30),
      vpc: props.vpc,
      vpcSubnets: props.vpc ? (props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }) : undefined,
      securityGroups: props.vpc ? (props.securityGroups?.length ? props.securityGroups : [this.securityGroup!]) : undefined,
    });
    // Set on the L1: the L2's KMS option would grant the key to the role through an
    // inline policy (and, for a key of another stack, could reach into its key policy).
    (this.canary.node.defaultChild as synthetics.CfnCanary).artifactConfig = {
      s3Encryption: { encryptionMode: 'SSE_KMS', kmsKeyArn: props.encryptionKey.keyArn },
    };
    // The first run starts as soon as the canary exists; its permissions must be there by then.
    this.canary.node.addDependency(policy);

    this.detectionTime = Duration.seconds(CANARY_INTERVAL.toSeconds() * CANARY_FAILED_RUNS_TO_ALARM);
    const runbook = props.runbook ?? 'runbooks/rollback.md';
    this.failureAlarm = new cloudwatch.Alarm(this, 'FailureAlarm', {
      alarmName: props.alarmName,
      alarmDescription: describeAlarm({
        what:
          `The health-check canary ${props.canaryName} failed ${CANARY_FAILED_RUNS_TO_ALARM} runs in a row: the target did not answer ${props.expectedStatus ?? 200}` +
          `${props.expectedBodyPattern ? ' with the expected body' : ''} within ${props.maxLatency.toMilliseconds()} ms.`,
        action: "During a deployment the release is rolled back on this alarm; otherwise users see the failure. Open the canary's latest run in CloudWatch Synthetics for the reason.",
        missingData: missingData(
          cloudwatch.TreatMissingData.IGNORE,
          'A run that starts late leaves a minute without a datapoint, and a canary that stops after failing must not read healthy: silence keeps the last verdict, and the canary silence alarm reports the silence.',
        ),
        runbook,
      }),
      metric: this.canary.metricSuccessPercent({ period: CANARY_INTERVAL, statistic: cloudwatch.Stats.AVERAGE }),
      threshold: 100,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: CANARY_FAILED_RUNS_TO_ALARM,
      datapointsToAlarm: CANARY_FAILED_RUNS_TO_ALARM,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    if (props.alarmTopic) {
      this.failureAlarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
      this.failureAlarm.addOkAction(new actions.SnsAction(props.alarmTopic));
    }
    // Every run publishes one SuccessPercent datapoint, failed or not: their count per minute is the runs.
    // One run in the alarm's range keeps it OK; none at all puts it in ALARM (lib/canary-silence.ts).
    this.silenceAlarm = new cloudwatch.Alarm(this, 'SilenceAlarm', {
      alarmName: `${props.alarmName}-Silent`,
      alarmDescription: describeAlarm({
        what: `The health-check canary ${props.canaryName} has not run for ${CANARY_SILENCE_MINUTES} minutes (stopped, or it cannot start): its failure alarm sees nothing, so neither deployments nor service health learn of a broken target from it.`,
        action:
          `Look at the canary's state in CloudWatch Synthetics; start it again, or fix what stops it (its role, its VPC network interfaces). ` +
          `A canary created or started a moment ago has this alarm in ALARM until its first run is counted, ${CANARY_SILENCE_CATCH_UP_MINUTES} minutes at most; ops verify allows for that.`,
        missingData: missingData(
          cloudwatch.TreatMissingData.BREACHING,
          'No datapoint is exactly what this alarm looks for: a canary that runs publishes one every minute, and a single run in the range keeps the alarm OK.',
        ),
        runbook,
      }),
      metric: this.canary.metricSuccessPercent({ period: Duration.seconds(CANARY_SILENCE_PERIOD_SECONDS), statistic: cloudwatch.Stats.SAMPLE_COUNT }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      // Every period needed: the alarm fires only when no run at all is in its range.
      evaluationPeriods: CANARY_SILENCE_MINUTES,
      datapointsToAlarm: CANARY_SILENCE_MINUTES,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    const silenceTopic = props.silenceAlarmTopic ?? props.alarmTopic;
    if (silenceTopic) {
      this.silenceAlarm.addAlarmAction(new actions.SnsAction(silenceTopic));
      this.silenceAlarm.addOkAction(new actions.SnsAction(silenceTopic));
    }

    if (props.route53HealthCheck) {
      this.route53HealthCheck = new route53.HealthCheck(this, 'Route53HealthCheck', {
        type: route53.HealthCheckType.HTTPS,
        fqdn: props.route53HealthCheck.fqdn,
        resourcePath: props.route53HealthCheck.resourcePath,
        port: props.route53HealthCheck.port ?? 443,
        enableSNI: true,
        requestInterval: ROUTE53_REQUEST_INTERVAL,
        failureThreshold: 3,
        measureLatency: true,
      });
    }

    const policyFindings = [
      'AwsSolutions-IAM5[Resource::*]',
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucketName}/*]`,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:${stack.region}:${stack.account}:log-group:/aws/lambda/cwsyn-${props.canaryName}-*]`,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:${stack.region}:${stack.account}:log-group:/aws/lambda/cwsyn-${props.canaryName}-*:*]`,
      ...(props.vpc ? ['subnet', 'security-group', 'network-interface'].map((type) => `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${stack.region}:${stack.account}:${type}/*]`) : []),
    ];
    acknowledge(
      policy,
      policyFindings,
      'The canary writes artifacts under generated keys of its own bucket and logs to the log group of the Lambda function Synthetics names cwsyn-<canary>-<id>; s3:ListAllMyBuckets, cloudwatch:PutMetricData (limited to the CloudWatchSynthetics namespace) and DescribeNetworkInterfaces have no resource-level permissions; Lambda creates the canary network interfaces only in subnets and with security groups of its VPC (ec2:Vpc), and manages network interfaces of this account and region, whose ids AWS assigns.',
    );
    if (!silenceTopic) {
      acknowledge(
        this.silenceAlarm,
        ['NIST.800.53.R5-CloudWatchAlarmAction', 'HIPAA.Security-CloudWatchAlarmAction', 'cdk-validator-cfnguard::cloudwatch_alarm_action_check'],
        'No topic was given for this canary: a silent canary is shown on the dashboard and found by ops verify, which reads every alarm of the environment.',
      );
    }
    if (!props.alarmTopic) {
      acknowledge(
        this.failureAlarm,
        ['NIST.800.53.R5-CloudWatchAlarmAction', 'HIPAA.Security-CloudWatchAlarmAction', 'cdk-validator-cfnguard::cloudwatch_alarm_action_check'],
        'This canary alarm notifies nobody by itself on purpose: CodeDeploy watches it to roll a release back, and the rollback and service-health composite alarms that include it notify the on-call topics.',
      );
    }
  }
}

/** The literal name of a bucket created with a physical name (its `bucketName` is a reference token). */
function physicalBucketName(scope: Construct, bucket: s3.IBucket): string {
  if (!Token.isUnresolved(bucket.bucketName)) return bucket.bucketName;
  const resource = bucket.node.tryFindChild('Resource');
  if (resource instanceof s3.CfnBucket && typeof resource.bucketName === 'string' && !Token.isUnresolved(resource.bucketName)) {
    return resource.bucketName;
  }
  throw new Error(`HealthCheckCanary ${scope.node.path}: accessLogsBucket must have a physical name (see bucketName() in lib/naming.ts) so the artifacts bucket can name it literally`);
}

function validate(scope: Construct, props: HealthCheckCanaryProps): void {
  const where = `HealthCheckCanary ${scope.node.path}`;
  if (!/^[0-9a-z_-]{1,21}$/.test(props.canaryName)) {
    throw new Error(`${where}: canaryName must be 1–21 characters of lower-case letters, digits, '_' or '-' (use canaryName() in lib/naming.ts), got '${props.canaryName}'`);
  }
  if (!Token.isUnresolved(props.url) && !/^https?:\/\/[^/\s]+/.test(props.url)) {
    throw new Error(`${where}: url must be an http:// or https:// URL, got '${props.url}'`);
  }
  const status = props.expectedStatus ?? 200;
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new Error(`${where}: expectedStatus must be an HTTP status code 100–599, got ${status}`);
  }
  if (props.expectedBodyPattern !== undefined) {
    try {
      new RegExp(props.expectedBodyPattern);
    } catch (error) {
      throw new Error(`${where}: expectedBodyPattern must be a valid regular expression, got '${props.expectedBodyPattern}' (${(error as Error).message})`);
    }
  }
  const latencyMs = props.maxLatency.toMilliseconds();
  if (latencyMs <= 0 || latencyMs > 20_000) {
    throw new Error(`${where}: maxLatency must be more than 0 and at most 20 seconds, got ${latencyMs} ms`);
  }
  const requests = props.requestsPerRun ?? 1;
  if (!Number.isInteger(requests) || requests < 1 || requests > CANARY_MAX_REQUESTS_PER_RUN) {
    throw new Error(`${where}: requestsPerRun must be a whole number from 1 to ${CANARY_MAX_REQUESTS_PER_RUN}, got ${requests}`);
  }
  if (requests * latencyMs > CANARY_RUN_TIMEOUT.toMilliseconds()) {
    // A run whose every request takes just under maxLatency passes; it must also end within the run's timeout.
    throw new Error(
      `${where}: requestsPerRun × maxLatency must fit in the run's ${CANARY_RUN_TIMEOUT.toSeconds()} s timeout, got ${requests} × ${latencyMs} ms = ${requests * latencyMs} ms`,
    );
  }
  if (!props.vpc && (props.vpcSubnets || props.securityGroups)) {
    throw new Error(`${where}: vpcSubnets and securityGroups need a vpc`);
  }
  if (!props.alarmName.trim()) {
    throw new Error(`${where}: alarmName must not be empty`);
  }
  if (props.route53HealthCheck) {
    const { fqdn, resourcePath, port } = props.route53HealthCheck;
    if (!Token.isUnresolved(fqdn) && !/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(fqdn)) {
      throw new Error(`${where}: route53HealthCheck.fqdn must be a lower-case DNS name such as api.example.com, got '${fqdn}'`);
    }
    if (!resourcePath.startsWith('/')) {
      throw new Error(`${where}: route53HealthCheck.resourcePath must start with '/', got '${resourcePath}'`);
    }
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new Error(`${where}: route53HealthCheck.port must be 1–65535, got ${port}`);
    }
  }
}
