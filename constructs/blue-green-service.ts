import { Duration, Stack } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { EcsDeployment } from '@cdklabs/cdk-ecs-codedeploy';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';

/** Target groups check `/health` this often; the product's service level asks for 30 s at most. */
export const TARGET_HEALTH_CHECK_INTERVAL = Duration.seconds(15);

/**
 * Containers run as this unprivileged user and group. The application images
 * create it (`USER 1000`); running as root would let a compromised process
 * change the image's files and the task's scratch volume at will.
 */
export const CONTAINER_USER = '1000:1000';

/** Runtime @cdklabs/cdk-ecs-codedeploy 0.0.267 pins for its handlers (end of life April 2026). */
const DEPRECATED_PROVIDER_RUNTIME = 'nodejs20.x';

/** A request header and the value the production listener requires before it forwards. */
export interface RequiredHeader {
  /** Header name, e.g. `X-Origin-Verify`. */
  readonly name: string;
  /** Value the header must carry (a token such as a Secrets Manager dynamic reference is fine). */
  readonly value: string;
}

/**
 * Properties of a BlueGreenService.
 */
export interface BlueGreenServiceProps {
  /** Cluster the service runs in; its VPC holds the load balancer and target groups. */
  readonly cluster: ecs.ICluster;
  /** ECS service name (see `ecsServiceName()` in lib/naming.ts). */
  readonly serviceName: string;
  /** Task definition family (see `taskFamilyName()` in lib/naming.ts). */
  readonly family: string;
  /** Name of the container (and of the log stream prefix). */
  readonly containerName: string;
  /** The image to run, e.g. a tag of the service's ECR repository. */
  readonly image: ecs.ContainerImage;
  /** The release being deployed (the image tag); it names the CodeDeploy deployment that `cdk deploy` starts. */
  readonly release: string;
  /** Fargate CPU units. */
  readonly cpu: number;
  /** Fargate memory (MiB). */
  readonly memoryMiB: number;
  /** Tasks the service starts with; auto scaling moves it between its bounds later. */
  readonly desiredCount: number;
  /** Port the container listens on. */
  readonly containerPort: number;
  /**
   * Path that answers 200 when the container is healthy.
   *
   * @default '/health'
   */
  readonly healthCheckPath?: string;
  /**
   * Plain (non-secret) environment variables of the container.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Environment variables filled from Secrets Manager when a task starts.
   *
   * @default - none
   */
  readonly secrets?: Record<string, ecs.Secret>;
  /**
   * Writable scratch directories mounted over the read-only root filesystem.
   *
   * @default ['/tmp']
   */
  readonly scratchPaths?: string[];
  /**
   * Ephemeral storage of the task (GiB, 21–200), for services that keep large files in scratch.
   *
   * @default - Fargate's 20 GiB
   */
  readonly ephemeralStorageGiB?: number;
  /** Subnets of the tasks. */
  readonly taskSubnets: ec2.SubnetSelection;

  /** Name of the container log group (see `serviceLogGroupName()` in lib/naming.ts). */
  readonly logGroupName: string;
  /** Key that encrypts the log group. */
  readonly logKey: kms.IKey;
  /** Retention of the log group. */
  readonly logRetention: logs.RetentionDays;

  /** Internet-facing (the api) or internal (a worker's health endpoint). */
  readonly internetFacing: boolean;
  /** Subnets of the load balancer. */
  readonly loadBalancerSubnets: ec2.SubnetSelection;
  /** Refuse deletion of the load balancer (production). */
  readonly deletionProtection: boolean;
  /**
   * Bucket that receives the load balancer's access logs (SSE-S3, as ELB log
   * delivery requires). Pass a bucket imported by name when it lives in another
   * stack: its policy must then allow ELB log delivery itself.
   */
  readonly accessLogsBucket: s3.IBucket;
  /** Key prefix of this load balancer's access logs. */
  readonly accessLogsPrefix: string;
  /**
   * Certificate of HTTPS listeners (production 443, test 8443).
   *
   * @default - HTTP listeners (production 80, test 8080)
   */
  readonly certificate?: acm.ICertificate;
  /** Who may reach the production listener (e.g. CloudFront's prefix list, a canary's security group). */
  readonly productionPeers: ec2.IPeer[];
  /** Who may reach the test listener (which serves the green task set during a deployment). */
  readonly testPeers: ec2.IPeer[];
  /**
   * The production listener forwards only requests carrying this header, and
   * answers 403 to the rest.
   *
   * @default - every request reaching the production listener is forwarded
   */
  readonly requiredHeader?: RequiredHeader;

  /** CodeDeploy application name (see `codeDeployApplicationName()` in lib/naming.ts). */
  readonly applicationName: string;
  /** CodeDeploy deployment group name (see `deploymentGroupName()` in lib/naming.ts). */
  readonly deploymentGroupName: string;
  /** How CodeDeploy shifts traffic to the green task set. */
  readonly deploymentConfig: codedeploy.IEcsDeploymentConfig;
  /** How long the blue task set keeps running after the switch, so a rollback is instant. */
  readonly terminationWait: Duration;
  /**
   * A deployment started by `cdk deploy` fails the stack update after this long
   * (CloudFormation waits at most an hour for the deployment resource).
   */
  readonly deploymentTimeout: Duration;
}

/**
 * An ECS Fargate service that CodeDeploy deploys blue/green, with everything
 * that takes: a task definition (non-root, read-only root filesystem, writable
 * scratch volumes, container health check, logs to a KMS-encrypted log group),
 * the service with the CODE_DEPLOY controller, an Application Load Balancer
 * (access logs, invalid header fields dropped) with a production and a test
 * listener, blue and green target groups checking the health path, the
 * CodeDeploy application and deployment group (rollback on failure, on stop and
 * on alarm), and the deployment resource that starts a CodeDeploy deployment
 * whenever `cdk deploy` changes the task definition and fails the stack update
 * when CodeDeploy rolls back.
 *
 * Rollback alarms are added with `addRollbackAlarms()` once the caller has
 * built them from the target groups exposed here.
 */
export class BlueGreenService extends Construct {
  /** The task definition; every change makes a new revision and a CodeDeploy deployment. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The application container. */
  public readonly container: ecs.ContainerDefinition;
  /** Log group of the container. */
  public readonly logGroup: logs.LogGroup;
  /** The ECS service (deployment controller CODE_DEPLOY). */
  public readonly service: ecs.FargateService;
  /** Security group of the tasks. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The load balancer. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** Security group of the load balancer. */
  public readonly loadBalancerSecurityGroup: ec2.SecurityGroup;
  /** Listener of production traffic. */
  public readonly productionListener: elbv2.ApplicationListener;
  /** Listener of test traffic: the green task set during a deployment. */
  public readonly testListener: elbv2.ApplicationListener;
  /** Target group of the task set in service when the stack is created. */
  public readonly blueTargetGroup: elbv2.ApplicationTargetGroup;
  /** Target group of the replacement task set of the first deployment. */
  public readonly greenTargetGroup: elbv2.ApplicationTargetGroup;
  /** The CodeDeploy application. */
  public readonly application: codedeploy.EcsApplication;
  /** The CodeDeploy deployment group. */
  public readonly deploymentGroup: codedeploy.EcsDeploymentGroup;
  /** The resource that starts a CodeDeploy deployment when the task definition changes. */
  public readonly deployment: EcsDeployment;
  /** Port of the production listener. */
  public readonly productionPort: number;
  /** Port of the test listener. */
  public readonly testPort: number;
  /** `http` or `https`: the protocol of both listeners. */
  public readonly protocol: 'http' | 'https';

  constructor(scope: Construct, id: string, props: BlueGreenServiceProps) {
    super(scope, id);
    const healthCheckPath = props.healthCheckPath ?? '/health';
    if (!healthCheckPath.startsWith('/')) {
      throw new Error(`BlueGreenService ${this.node.path}: healthCheckPath must start with '/', got '${healthCheckPath}'`);
    }
    if (props.productionPeers.length === 0) {
      throw new Error(`BlueGreenService ${this.node.path}: productionPeers must name at least one peer, or nobody can reach the service`);
    }
    if (props.deploymentTimeout.toMinutes() > 60) {
      throw new Error(`BlueGreenService ${this.node.path}: deploymentTimeout must be at most 60 minutes (CloudFormation waits at most an hour for a custom resource), got ${props.deploymentTimeout.toMinutes()} minutes`);
    }
    const vpc = props.cluster.vpc;

    // --- Task definition -------------------------------------------------
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: props.logGroupName,
      encryptionKey: props.logKey,
      retention: props.logRetention,
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      family: props.family,
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      ephemeralStorageGiB: props.ephemeralStorageGiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.container = this.taskDefinition.addContainer('Container', {
      containerName: props.containerName,
      image: props.image,
      essential: true,
      // The whole task's memory: the hard limit Control Tower asks for, never below what the task has.
      memoryLimitMiB: props.memoryMiB,
      user: CONTAINER_USER,
      readonlyRootFilesystem: true,
      environment: props.environment,
      secrets: props.secrets,
      portMappings: [{ containerPort: props.containerPort, name: props.containerName }],
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: props.containerName }),
      // The images are Python (FastAPI, MediaPipe), so Python is there and curl may not be.
      healthCheck: {
        command: [
          'CMD',
          'python',
          '-c',
          `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${props.containerPort}${healthCheckPath}', timeout=4)`,
        ],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      stopTimeout: Duration.seconds(30),
    });
    for (const [index, path] of (props.scratchPaths ?? ['/tmp']).entries()) {
      const name = `scratch${index}`;
      this.taskDefinition.addVolume({ name });
      this.container.addMountPoints({ sourceVolume: name, containerPath: path, readOnly: false });
    }

    // --- Load balancer ---------------------------------------------------
    this.protocol = props.certificate ? 'https' : 'http';
    this.productionPort = props.certificate ? 443 : 80;
    this.testPort = props.certificate ? 8443 : 8080;
    const listenerProtocol = props.certificate ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP;

    this.loadBalancerSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc,
      description: `${props.serviceName} load balancer: production and test listeners`,
      // Egress is opened to the tasks' port only, when the targets are registered.
      allowAllOutbound: false,
    });
    for (const peer of props.productionPeers) {
      this.loadBalancerSecurityGroup.addIngressRule(peer, ec2.Port.tcp(this.productionPort), `production listener from ${peer.uniqueId}`);
    }
    for (const peer of props.testPeers) {
      this.loadBalancerSecurityGroup.addIngressRule(peer, ec2.Port.tcp(this.testPort), `test listener from ${peer.uniqueId}`);
    }
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: props.internetFacing,
      vpcSubnets: props.loadBalancerSubnets,
      securityGroup: this.loadBalancerSecurityGroup,
      deletionProtection: props.deletionProtection,
      dropInvalidHeaderFields: true,
      http2Enabled: true,
    });
    this.loadBalancer.logAccessLogs(props.accessLogsBucket, props.accessLogsPrefix);

    const targetGroup = (name: string) =>
      new elbv2.ApplicationTargetGroup(this, name, {
        vpc,
        targetType: elbv2.TargetType.IP,
        protocol: elbv2.ApplicationProtocol.HTTP,
        port: props.containerPort,
        // Long enough for in-flight requests, short enough not to slow every switch.
        deregistrationDelay: Duration.seconds(30),
        healthCheck: {
          path: healthCheckPath,
          interval: TARGET_HEALTH_CHECK_INTERVAL,
          timeout: Duration.seconds(5),
          healthyThresholdCount: 2,
          unhealthyThresholdCount: 2,
          healthyHttpCodes: '200',
        },
      });
    this.blueTargetGroup = targetGroup('BlueTargetGroup');
    this.greenTargetGroup = targetGroup('GreenTargetGroup');

    const certificates = props.certificate ? [elbv2.ListenerCertificate.fromCertificateManager(props.certificate)] : undefined;
    const sslPolicy = props.certificate ? elbv2.SslPolicy.RECOMMENDED_TLS : undefined;
    this.productionListener = this.loadBalancer.addListener('ProductionListener', {
      port: this.productionPort,
      protocol: listenerProtocol,
      certificates,
      sslPolicy,
      // The security group rules above decide who may connect, not the listener.
      open: false,
      defaultAction: props.requiredHeader
        ? elbv2.ListenerAction.fixedResponse(403, { contentType: 'text/plain', messageBody: 'Forbidden' })
        : elbv2.ListenerAction.forward([this.blueTargetGroup]),
    });
    if (props.requiredHeader) {
      // CodeDeploy shifts every rule of the production listener that forwards to
      // the live target group, so this rule follows each blue/green switch.
      this.productionListener.addAction('ForwardVerifiedRequests', {
        priority: 10,
        conditions: [elbv2.ListenerCondition.httpHeader(props.requiredHeader.name, [props.requiredHeader.value])],
        action: elbv2.ListenerAction.forward([this.blueTargetGroup]),
      });
    }
    this.testListener = this.loadBalancer.addListener('TestListener', {
      port: this.testPort,
      protocol: listenerProtocol,
      certificates,
      sslPolicy,
      open: false,
      defaultAction: elbv2.ListenerAction.forward([this.greenTargetGroup]),
    });

    // --- Service ---------------------------------------------------------
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `${props.serviceName} tasks`,
      // Tasks call ECR, Secrets Manager, S3, SQS, the database and Sentry.
      allowAllOutbound: true,
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      serviceName: props.serviceName,
      taskDefinition: this.taskDefinition,
      desiredCount: props.desiredCount,
      deploymentController: { type: ecs.DeploymentControllerType.CODE_DEPLOY },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      securityGroups: [this.securityGroup],
      vpcSubnets: props.taskSubnets,
      assignPublicIp: false,
      healthCheckGracePeriod: Duration.seconds(60),
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      enableECSManagedTags: true,
    });
    this.service.attachToApplicationTargetGroup(this.blueTargetGroup);
    // CodeDeploy registers the green task set itself; the load balancer must
    // still be allowed to reach it, which the blue registration above already
    // opened (same security group, same port).
    this.service.node.addDependency(this.productionListener, this.testListener);

    // --- CodeDeploy ------------------------------------------------------
    this.application = new codedeploy.EcsApplication(this, 'Application', { applicationName: props.applicationName });
    this.deploymentGroup = new codedeploy.EcsDeploymentGroup(this, 'DeploymentGroup', {
      application: this.application,
      deploymentGroupName: props.deploymentGroupName,
      service: this.service,
      deploymentConfig: props.deploymentConfig,
      blueGreenDeploymentConfig: {
        blueTargetGroup: this.blueTargetGroup,
        greenTargetGroup: this.greenTargetGroup,
        listener: this.productionListener,
        testListener: this.testListener,
        terminationWaitTime: props.terminationWait,
      },
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    this.deployment = new EcsDeployment({
      deploymentGroup: this.deploymentGroup,
      targetService: {
        taskDefinition: this.taskDefinition,
        containerName: props.containerName,
        containerPort: props.containerPort,
      },
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
      // Any change of the task definition replaces it, and its new ARN in the
      // AppSpec updates this resource, which starts a CodeDeploy deployment.
      description: `${props.serviceName} release ${props.release}, started by cdk deploy`,
      timeout: props.deploymentTimeout,
    });

    // A deployment nothing watches would never roll back on its own.
    this.node.addValidation({
      validate: () =>
        this.rollbackAlarmCount === 0
          ? [`BlueGreenService ${this.node.path}: call addRollbackAlarms() with at least one alarm (e.g. RollbackAlarms.alarms), or a bad release is never rolled back`]
          : this.rollbackAlarmCount > 10
            ? [`BlueGreenService ${this.node.path}: CodeDeploy watches at most 10 alarms, got ${this.rollbackAlarmCount}`]
            : [],
    });
    this.hardenDeploymentProvider(props);
    this.acknowledgeFindings(props);
  }

  /** Alarms that make CodeDeploy stop and roll back a deployment (at most 10). */
  public addRollbackAlarms(alarms: readonly cloudwatch.IAlarm[]): void {
    for (const alarm of alarms) this.deploymentGroup.addAlarm(alarm);
    this.rollbackAlarmCount += alarms.length;
  }

  private rollbackAlarmCount = 0;

  /**
   * The deployment resource's provider (@cdklabs/cdk-ecs-codedeploy) is a
   * CDK provider framework: Lambda functions polling CodeDeploy and a Step
   * Functions waiter. Its functions get the newest Node.js runtime, as the
   * framework's own do (the library pins one at end of life; its handlers only
   * use the AWS SDK v3 that every Node.js runtime provides), and its log
   * groups the environment's key and retention.
   */
  private hardenDeploymentProvider(props: BlueGreenServiceProps): void {
    for (const child of this.deployment.node.findAll()) {
      if (child instanceof lambda.CfnFunction && child.runtime === DEPRECATED_PROVIDER_RUNTIME) {
        child.runtime = lambda.determineLatestNodeRuntime(this).name;
      }
      if (child instanceof logs.CfnLogGroup) {
        child.kmsKeyId = props.logKey.keyArn;
        child.retentionInDays = props.logRetention;
      }
    }
    acknowledge(
      this.deployment,
      [
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'AwsSolutions-SF1',
        'AwsSolutions-SF2',
        'NIST.800.53.R5-IAMNoInlinePolicy',
        'HIPAA.Security-IAMNoInlinePolicy',
        'NIST.800.53.R5-LambdaConcurrency',
        'HIPAA.Security-LambdaConcurrency',
        'NIST.800.53.R5-LambdaDLQ',
        'HIPAA.Security-LambdaDLQ',
        'NIST.800.53.R5-LambdaInsideVPC',
        'HIPAA.Security-LambdaInsideVPC',
        'cdk-validator-cfnguard::lambda_inside_vpc_check',
        'cdk-validator-cfnguard::step_functions_state_machine_logging_enabled_check',
        'cdk-validator-cfnguard::step_functions_state_machine_tracing_enabled_check',
        'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check',
      ],
      'Deployment-time provider of @cdklabs/cdk-ecs-codedeploy: it runs only during cdk deploy, calls nothing but the CodeDeploy API for this deployment group (inline policies of its own roles, written by the library), holds no data, and its failures surface as the failed stack update. A VPC, DLQ, reserved concurrency or waiter state-machine logs would add cost and moving parts without protecting anything; its Lambda logs go to log groups encrypted with the environment logs key (a cross-stack reference the Control Tower rule cannot resolve).',
    );
    // The provider framework may invoke any version of its own functions (ARN:*).
    const functions = this.deployment.node.findAll().filter((c): c is lambda.CfnFunction => c instanceof lambda.CfnFunction);
    acknowledge(
      this.deployment,
      functions.map((fn) => `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn)}.Arn>:*]`),
      'The CDK provider framework may invoke any version of its own onEvent, isComplete and onTimeout functions (ARN:*), and nothing else.',
    );
  }

  private acknowledgeFindings(props: BlueGreenServiceProps): void {
    acknowledge(
      this.taskDefinition,
      ['AwsSolutions-ECS2'],
      'The plain environment variables are non-secret settings (environment name, release, queue URL, bucket names); credentials and the Sentry DSN come from Secrets Manager through the secrets section.',
    );
    acknowledge(
      this.taskDefinition.obtainExecutionRole(),
      ['AwsSolutions-IAM5[Resource::*]', 'NIST.800.53.R5-IAMNoInlinePolicy', 'HIPAA.Security-IAMNoInlinePolicy'],
      'ECS task execution role policy written by CDK for this task definition only: ecr:GetAuthorizationToken has no resource-level permission (Resource *); pulls, log writes and secret reads are limited to this repository, log group and these secrets.',
    );
    for (const logGroup of [this.logGroup]) {
      acknowledge(
        logGroup,
        ['cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check'],
        'KmsKeyId is the environment logs key of the data stack; the Control Tower rule only recognizes a literal ARN or a key in the same template, not a cross-stack reference.',
      );
    }
    const listeners = [this.productionListener, this.testListener];
    if (!props.certificate) {
      const reason = props.internetFacing
        ? 'Without a domain there is no certificate for the load balancer: it accepts only CloudFront (origin-facing prefix list plus a secret origin header), and viewers reach CloudFront over HTTPS; the test listener is open to the VPC only. A configured domain switches both listeners to HTTPS.'
        : 'Internal load balancer for health checks inside the VPC only (canary and CodeDeploy test traffic); there is no name a certificate could cover and the traffic never leaves the VPC.';
      acknowledge(this.loadBalancer, ['NIST.800.53.R5-ALBHttpToHttpsRedirection', 'HIPAA.Security-ALBHttpToHttpsRedirection'], reason);
      for (const listener of listeners) {
        acknowledge(
          listener,
          ['NIST.800.53.R5-ELBv2ACMCertificateRequired', 'HIPAA.Security-ELBv2ACMCertificateRequired', 'cdk-validator-cfnguard::alb_http_to_https_redirection_check'],
          reason,
        );
      }
    }
    acknowledge(
      this.loadBalancer,
      ['NIST.800.53.R5-ALBWAFEnabled'],
      props.internetFacing
        ? 'The load balancer only accepts CloudFront, whose web ACL (AWS managed common and known-bad-inputs rules, rate limit per IP) inspects every request first.'
        : 'Internal load balancer that is not reachable from the internet; only the health canary and CodeDeploy test traffic inside the VPC reach it.',
    );
    if (!props.deletionProtection) {
      acknowledge(
        this.loadBalancer,
        ['NIST.800.53.R5-ELBDeletionProtectionEnabled', 'HIPAA.Security-ELBDeletionProtectionEnabled', 'cdk-validator-cfnguard::elbv2_deletion_protection_enabled_check'],
        'Outside production the load balancer holds no state and is recreated by the stack in minutes; deletion protection would only block tearing down a staging environment.',
      );
    }
    acknowledge(
      this.deploymentGroup.role,
      ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSCodeDeployRoleForECS]'],
      'AWSCodeDeployRoleForECS is the service-role policy AWS documents for CodeDeploy ECS blue/green; the role can only be assumed by codedeploy.amazonaws.com and AWS keeps the policy in step with the service.',
    );
  }
}
