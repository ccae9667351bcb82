import { CfnDeletionPolicy, type CfnResource, Duration, Stack } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { databaseUserArn } from './database-roles';
import { NO_EGRESS } from './postgres-database';
import { OriginVerifyRule } from './origin-verify-rule';

/** Target groups check `/health` this often; the product's service level asks for 30 s at most. */
export const TARGET_HEALTH_CHECK_INTERVAL = Duration.seconds(15);

/**
 * Containers run as this unprivileged user and group. The application images
 * create it (`USER 1000`); running as root would let a compromised process
 * change the image's files and the task's scratch volume at will.
 */
export const CONTAINER_USER = '1000:1000';

/** Fargate gives a container at most this long between SIGTERM and SIGKILL. */
export const FARGATE_MAX_STOP_TIMEOUT = Duration.seconds(120);

/** What a web service's container gets between SIGTERM and SIGKILL: enough for in-flight requests. */
export const DEFAULT_STOP_TIMEOUT = Duration.seconds(30);

/** How long the load balancer keeps sending in-flight requests to a deregistered target by default. */
export const DEFAULT_DEREGISTRATION_DELAY = Duration.seconds(30);

/** A request header and the secret whose value the production listener requires before it forwards. */
export interface RequiredHeader {
  /** Header name, e.g. `X-Origin-Verify`. */
  readonly name: string;
  /** The secret holding the value, in this region (the primary, or its replica by name). */
  readonly secret: secretsmanager.ISecret;
  /** Key that encrypts the secret (or its replica) in this region. */
  readonly secretKey: kms.IKey;
}

/** The database a service's tasks connect to, and as whom. */
export interface ServiceDatabase {
  /** Security group of the database instance; the tasks' security group is allowed in on `port`. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** Port the database listens on (a literal, so that the compliance checks can read the rule). */
  readonly port: number;
  /**
   * DbiResourceId of the instance the tasks log in to: IAM database
   * authentication names the instance by it in `rds-db:connect`.
   */
  readonly resourceId: string;
  /** The database role the tasks log in as (IAM database authentication; see constructs/database-roles.ts). */
  readonly user: string;
}

/**
 * What every BodyScript service behind a load balancer has, however it is
 * deployed (blue/green in the primary region, pilot light in the standby).
 */
export interface LoadBalancedFargateServiceProps {
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
  /** Fargate CPU units. */
  readonly cpu: number;
  /** Fargate memory (MiB). */
  readonly memoryMiB: number;
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

  /**
   * Internet-facing (the api behind CloudFront by its domain name) or internal
   * (the api behind a CloudFront VPC origin, a worker's health endpoint).
   */
  readonly internetFacing: boolean;
  /**
   * Regional web ACL the load balancer is associated with. Required when
   * `internetFacing`: no listener may be reachable from the internet without
   * a WAF, even one that admits only CloudFront (every AWS customer's
   * distributions share CloudFront's addresses).
   *
   * @default - none (only for an internal load balancer)
   */
  readonly webAcl?: wafv2.CfnWebACL;
  /** Subnets of the load balancer. */
  readonly loadBalancerSubnets: ec2.SubnetSelection;
  /**
   * Name of the load balancer (what another region's rotation function finds it by).
   *
   * @default - a name CloudFormation generates
   */
  readonly loadBalancerName?: string;
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
   * Certificate of the HTTPS listeners.
   *
   * @default - HTTP listeners
   */
  readonly certificate?: acm.ICertificate;
  /** Who may reach the production listener (e.g. CloudFront's prefix list, a canary's security group). */
  readonly productionPeers: ec2.IPeer[];
  /**
   * The production listener forwards only requests carrying this header with
   * the secret's value (an OriginVerifyRule, which a rotation rewrites), and
   * answers 403 to the rest.
   *
   * @default - every request reaching the production listener is forwarded
   */
  readonly requiredHeader?: RequiredHeader;
}

/** How a subclass deploys the service; fixed by the subclass, not by its users. */
export interface ServiceDeployment {
  /** The ECS deployment controller. */
  readonly controller: ecs.DeploymentControllerType;
  /**
   * Tasks the service runs, stated in the template (and so re-applied by every
   * CloudFormation update of the service).
   *
   * @default - not stated: ECS starts a new service with 1 task and an update keeps the live count
   */
  readonly desiredCount?: number;
  /** Construct id of the target group production traffic goes to (part of its logical ID). */
  readonly targetGroupId: string;
  /** What the load balancer's listeners are, for its security group description. */
  readonly listenersDescription: string;
  /**
   * Stop (and roll back) an ECS rolling deployment whose tasks fail to start.
   *
   * @default - none (CodeDeploy decides for blue/green services)
   */
  readonly circuitBreaker?: ecs.DeploymentCircuitBreaker;
  /**
   * Time between SIGTERM and SIGKILL of the container (at most 120 s on Fargate).
   *
   * @default DEFAULT_STOP_TIMEOUT (30 s)
   */
  readonly stopTimeout?: Duration;
  /**
   * How long the load balancer keeps a deregistered task's in-flight requests.
   *
   * @default DEFAULT_DEREGISTRATION_DELAY (30 s)
   */
  readonly deregistrationDelay?: Duration;
  /**
   * Keep the task definition revision a release replaces ACTIVE
   * (`UpdateReplacePolicy: Retain`). CloudFormation otherwise deregisters it
   * when the update completes (aws/aws-cdk#24372), and ECS refuses to run an
   * INACTIVE revision, so `ops rollback` could not go back to it. The revisions
   * kept are bounded by `ops task-definitions` (lib/ops/commands/task-definitions.ts).
   *
   * @default false
   */
  readonly retainReplacedTaskDefinitions?: boolean;
}

/**
 * The one implementation of a BodyScript Fargate service behind an
 * Application Load Balancer: a task definition (non-root, read-only root
 * filesystem, writable scratch volumes, container health check, logs to a
 * KMS-encrypted log group), the tasks' security group, the load balancer
 * (access logs, invalid header fields dropped) with its production listener,
 * optionally forwarding only requests that carry a secret header, a target
 * group checking the health path, and the ECS service attached to it.
 *
 * Subclasses decide how releases reach it: `BlueGreenService` (CodeDeploy,
 * a second target group and a test listener) and `PilotLightService` (ECS
 * rolling deployments, zero tasks until a failover raises it).
 */
export abstract class LoadBalancedFargateService extends Construct {
  /** The task definition. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The application container. */
  public readonly container: ecs.ContainerDefinition;
  /** Log group of the container. */
  public readonly logGroup: logs.LogGroup;
  /** The ECS service. */
  public readonly service: ecs.FargateService;
  /** Security group of the tasks. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The load balancer. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** Security group of the load balancer. */
  public readonly loadBalancerSecurityGroup: ec2.SecurityGroup;
  /** Listener of production traffic. */
  public readonly productionListener: elbv2.ApplicationListener;
  /** Target group the service registers its tasks in when the stack is created. */
  protected readonly primaryTargetGroup: elbv2.ApplicationTargetGroup;
  /** Port of the production listener. */
  public readonly productionPort: number;
  /** With a required header: the rule that forwards the requests carrying it. */
  public readonly verifiedRequestsRule?: OriginVerifyRule;
  /** `http` or `https`: the protocol of the listeners. */
  public readonly protocol: 'http' | 'https';

  /** The validated health check path. */
  protected readonly healthCheckPath: string;
  /** How long the target groups keep a deregistered task's in-flight requests. */
  public readonly deregistrationDelay: Duration;
  private readonly vpc: ec2.IVpc;
  private readonly serviceName: string;

  protected constructor(scope: Construct, id: string, props: LoadBalancedFargateServiceProps, deployment: ServiceDeployment) {
    super(scope, id);
    this.healthCheckPath = props.healthCheckPath ?? '/health';
    if (!this.healthCheckPath.startsWith('/')) {
      throw new Error(`${this.constructor.name} ${this.node.path}: healthCheckPath must start with '/', got '${this.healthCheckPath}'`);
    }
    if (props.internetFacing && !props.webAcl) {
      throw new Error(`${this.constructor.name} ${this.node.path}: an internet-facing load balancer needs a webAcl (a REGIONAL web ACL, e.g. RegionalWebAcl), or its listeners are reachable without a WAF`);
    }
    if (props.webAcl && props.webAcl.scope !== 'REGIONAL') {
      throw new Error(`${this.constructor.name} ${this.node.path}: webAcl must have scope REGIONAL (AWS WAF associates only regional web ACLs with a load balancer), got '${props.webAcl.scope}'`);
    }
    if (props.productionPeers.length === 0) {
      throw new Error(`${this.constructor.name} ${this.node.path}: productionPeers must name at least one peer, or nobody can reach the service`);
    }
    const stopTimeout = deployment.stopTimeout ?? DEFAULT_STOP_TIMEOUT;
    if (stopTimeout.toSeconds() < 1 || stopTimeout.toSeconds() > FARGATE_MAX_STOP_TIMEOUT.toSeconds()) {
      throw new Error(`${this.constructor.name} ${this.node.path}: stopTimeout must be 1–${FARGATE_MAX_STOP_TIMEOUT.toSeconds()} seconds (Fargate's maximum), got ${stopTimeout.toSeconds()} seconds`);
    }
    this.deregistrationDelay = deployment.deregistrationDelay ?? DEFAULT_DEREGISTRATION_DELAY;
    const vpc = props.cluster.vpc;
    this.vpc = vpc;
    this.serviceName = props.serviceName;

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
          `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${props.containerPort}${this.healthCheckPath}', timeout=4)`,
        ],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      stopTimeout: deployment.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
    });
    if (deployment.retainReplacedTaskDefinitions) {
      // Only the replaced revision is kept: deleting the stack still deregisters the current one.
      const resource = this.taskDefinition.node.defaultChild as CfnResource;
      resource.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.RETAIN;
      acknowledge(
        resource,
        ['CloudFormation-Validate::W3011'],
        'UpdateReplacePolicy Retain keeps the revision a release replaces ACTIVE so that ops rollback can deploy it again (ECS refuses INACTIVE revisions); it is not there to protect the task definition from deletion, so deleting the stack may deregister the current revision. ops task-definitions bounds the revisions kept.',
      );
    }
    for (const [index, path] of (props.scratchPaths ?? ['/tmp']).entries()) {
      const name = `scratch${index}`;
      this.taskDefinition.addVolume({ name });
      this.container.addMountPoints({ sourceVolume: name, containerPath: path, readOnly: false });
    }

    // --- Load balancer ---------------------------------------------------
    this.protocol = props.certificate ? 'https' : 'http';
    this.productionPort = props.certificate ? 443 : 80;
    this.loadBalancerSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc,
      description: `${props.serviceName} load balancer: ${deployment.listenersDescription}`,
      // Egress is opened to the tasks' port only, when the targets are registered.
      allowAllOutbound: false,
    });
    // Those rules name the tasks' security group, so CDK writes them as separate
    // AWS::EC2::SecurityGroupEgress resources and drops its "no traffic" rule
    // from the group: a group created without egress rules gets EC2's default
    // allow-all rules, which separate rules never remove. Keep the no-traffic
    // rule on the group itself (BODYSCRIPT_SECURITY_GROUP_EGRESS_NOT_UNRESTRICTED).
    (this.loadBalancerSecurityGroup.node.defaultChild as ec2.CfnSecurityGroup).securityGroupEgress = [NO_EGRESS];
    for (const peer of props.productionPeers) {
      this.loadBalancerSecurityGroup.addIngressRule(peer, ec2.Port.tcp(this.productionPort), `production listener from ${peer.uniqueId}`);
    }
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      loadBalancerName: props.loadBalancerName,
      internetFacing: props.internetFacing,
      vpcSubnets: props.loadBalancerSubnets,
      securityGroup: this.loadBalancerSecurityGroup,
      deletionProtection: props.deletionProtection,
      dropInvalidHeaderFields: true,
      http2Enabled: true,
    });
    this.loadBalancer.logAccessLogs(props.accessLogsBucket, props.accessLogsPrefix);
    if (props.webAcl) {
      new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', { resourceArn: this.loadBalancer.loadBalancerArn, webAclArn: props.webAcl.attrArn });
    }

    this.primaryTargetGroup = this.newTargetGroup(deployment.targetGroupId, props.containerPort);
    this.productionListener = this.addListener('ProductionListener', this.productionPort, props.certificate, this.primaryTargetGroup, props.requiredHeader);
    if (props.requiredHeader) {
      // CodeDeploy shifts every rule of the production listener that forwards to
      // the live target group, so this rule follows each blue/green switch; its
      // conditions belong to the rotation, never to a template (OriginVerifyRule).
      this.verifiedRequestsRule = new OriginVerifyRule(this, 'ForwardVerifiedRequests', {
        listener: this.productionListener,
        targetGroup: this.primaryTargetGroup,
        priority: 10,
        headerName: props.requiredHeader.name,
        secret: props.requiredHeader.secret,
        secretKey: props.requiredHeader.secretKey,
        logKey: props.logKey,
        logRetention: props.logRetention,
      });
      // The target group is attached through the rule: the service waits for it, and its metrics name this load balancer.
      this.primaryTargetGroup.registerListener(this.productionListener, this.verifiedRequestsRule.resource);
    }

    // --- Service ---------------------------------------------------------
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `${props.serviceName} tasks`,
      // The database port to the database's group (connectToDatabase) and HTTPS; nothing else.
      allowAllOutbound: false,
    });
    // ECR (image pulls go through the task's interface on Fargate), CloudWatch Logs,
    // Secrets Manager, S3, SQS and Sentry: all HTTPS. Sentry and the public AWS
    // endpoints reached through NAT have no stable address list, so 443 cannot be
    // narrowed without an egress proxy; S3 goes through the gateway endpoint,
    // whose policy admits only this account's buckets. DNS (the VPC resolver) and
    // the task metadata and credentials endpoints are not filtered by security groups.
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs and Sentry');
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      serviceName: props.serviceName,
      taskDefinition: this.taskDefinition,
      desiredCount: deployment.desiredCount,
      deploymentController: { type: deployment.controller },
      circuitBreaker: deployment.circuitBreaker,
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
    this.service.attachToApplicationTargetGroup(this.primaryTargetGroup);
  }

  /**
   * Lets the tasks reach `database` as `database.user`: an ingress rule on the
   * database's security group from the tasks' (created here, in the service's
   * stack: the database's stack naming this security group would make the two
   * stacks a cycle), and `rds-db:connect` as that user on that instance for
   * the task role, which signs the IAM authentication tokens the application
   * logs in with (runbooks/database-access.md). No password reaches the task.
   */
  public connectToDatabase(database: ServiceDatabase): void {
    new iam.ManagedPolicy(this, 'DatabaseLoginPolicy', {
      description: `${this.serviceName}: log in to the database as ${database.user} (IAM authentication)`,
      roles: [this.taskDefinition.taskRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'LogInToTheDatabaseAsItsOwnRole',
          actions: ['rds-db:connect'],
          resources: [databaseUserArn(this, database.resourceId, database.user)],
        }),
      ],
    });
    new ec2.CfnSecurityGroupEgress(this, 'DatabaseEgress', {
      groupId: this.securityGroup.securityGroupId,
      destinationSecurityGroupId: database.securityGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: database.port,
      toPort: database.port,
      description: `${this.serviceName} tasks to the database`,
    });
    new ec2.CfnSecurityGroupIngress(this, 'DatabaseIngress', {
      groupId: database.securityGroup.securityGroupId,
      sourceSecurityGroupId: this.securityGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: database.port,
      toPort: database.port,
      description: `Database from the ${this.serviceName} tasks`,
    });
  }

  /** A target group of the tasks (IP targets) that checks the health path. */
  protected newTargetGroup(id: string, containerPort: number): elbv2.ApplicationTargetGroup {
    return new elbv2.ApplicationTargetGroup(this, id, {
      vpc: this.vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: containerPort,
      // Long enough for in-flight requests, short enough not to slow every switch.
      deregistrationDelay: this.deregistrationDelay,
      healthCheck: {
        path: this.healthCheckPath,
        interval: TARGET_HEALTH_CHECK_INTERVAL,
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
        healthyHttpCodes: '200',
      },
    });
  }

  /**
   * A listener (HTTPS with the certificate, HTTP without) whose security group
   * rules are added by the caller. With a required header its default action
   * answers 403, and a rule forwards the requests that carry it.
   */
  protected addListener(
    id: string,
    port: number,
    certificate: acm.ICertificate | undefined,
    targetGroup: elbv2.ApplicationTargetGroup,
    requiredHeader?: RequiredHeader,
  ): elbv2.ApplicationListener {
    return this.loadBalancer.addListener(id, {
      port,
      protocol: certificate ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP,
      certificates: certificate ? [elbv2.ListenerCertificate.fromCertificateManager(certificate)] : undefined,
      sslPolicy: certificate ? elbv2.SslPolicy.RECOMMENDED_TLS : undefined,
      // The security group rules decide who may connect, not the listener.
      open: false,
      defaultAction: requiredHeader
        ? elbv2.ListenerAction.fixedResponse(403, { contentType: 'text/plain', messageBody: 'Forbidden' })
        : elbv2.ListenerAction.forward([targetGroup]),
    });
  }

  /**
   * Acknowledgements every such service needs: plain environment variables,
   * the execution role CDK writes, the log group's cross-stack key, plain HTTP
   * without a domain, no web ACL on the load balancer, no deletion protection
   * outside production. `withoutCertificateReason` says why each of `listeners`
   * may be HTTP when there is no certificate.
   */
  protected acknowledgeServiceFindings(
    props: LoadBalancedFargateServiceProps,
    listeners: elbv2.ApplicationListener[],
    withoutCertificateReason: string,
    internalLoadBalancerReason: string,
  ): void {
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
    if (Stack.of(props.logKey) !== Stack.of(this)) {
      acknowledge(
        this.logGroup,
        ['cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check'],
        'KmsKeyId is the environment logs key of the data stack; the Control Tower rule only recognizes a literal ARN or a key in the same template, not a cross-stack reference.',
      );
    }
    if (!props.certificate) {
      acknowledge(this.loadBalancer, ['NIST.800.53.R5-ALBHttpToHttpsRedirection', 'HIPAA.Security-ALBHttpToHttpsRedirection'], withoutCertificateReason);
      for (const listener of listeners) {
        acknowledge(
          listener,
          ['NIST.800.53.R5-ELBv2ACMCertificateRequired', 'HIPAA.Security-ELBv2ACMCertificateRequired', 'cdk-validator-cfnguard::alb_http_to_https_redirection_check'],
          withoutCertificateReason,
        );
      }
    }
    if (!props.webAcl) acknowledge(this.loadBalancer, ['NIST.800.53.R5-ALBWAFEnabled'], internalLoadBalancerReason);
    if (!props.deletionProtection) {
      acknowledge(
        this.loadBalancer,
        ['NIST.800.53.R5-ELBDeletionProtectionEnabled', 'HIPAA.Security-ELBDeletionProtectionEnabled', 'cdk-validator-cfnguard::elbv2_deletion_protection_enabled_check'],
        'Outside production the load balancer holds no state and is recreated by the stack in minutes; deletion protection would only block tearing down a staging environment.',
      );
    }
  }
}
