import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { SUBNET_GROUPS } from '../../constructs/application-vpc';
import { BlueGreenService } from '../../constructs/blue-green-service';
import { ContainerRepository } from '../../constructs/container-repository';
import { EdgeDistribution } from '../../constructs/edge-distribution';
import { FailoverRecord } from '../../constructs/failover-record';
import { HealthCheckCanary } from '../../constructs/health-check-canary';
import { POSTGRES_PORT } from '../../constructs/postgres-database';
import { RollbackAlarms } from '../../constructs/rollback-alarms';
import { acknowledge } from '../compliance';
import type { DeploymentStrategy, EnvironmentConfig } from '../config';
import {
  alarmName,
  alarmNamePrefix,
  bucketName,
  canaryName,
  clusterName,
  codeDeployApplicationName,
  deploymentGroupName,
  ecsServiceName,
  keyAliasArn,
  originVerifySecretName,
  repositoryName,
  resourcePrefix,
  SERVICE_NAMES,
  type ServiceName,
  serviceLogGroupName,
  standbyKeyAlias,
  taskFamilyName,
  webAclName,
} from '../naming';
import type { AlertingStack } from './alerting-stack';
import type { DataStack } from './data-stack';
import type { NetworkStack } from './network-stack';

/** Port both application containers listen on. */
export const CONTAINER_PORT = 8000;

/** Header CloudFront adds to api requests; the load balancer forwards only requests that carry the secret value. */
export const ORIGIN_VERIFY_HEADER = 'X-Origin-Verify';

/** Managed prefix list of CloudFront's origin-facing addresses (looked up once, answer committed in cdk.context.json). */
export const CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = 'com.amazonaws.global.cloudfront.origin-facing';

/**
 * Processing backlog (queued videos) per running worker that auto scaling
 * keeps. A worker processes 2–4 videos an hour (15–30 minutes each), so two
 * waiting videos per worker means a new upload starts within about an hour
 * at worst, without starting a task for every single upload.
 */
export const PROCESSING_BACKLOG_PER_TASK = 2;

/** The api scales out above this average CPU. */
export const API_TARGET_CPU_PERCENT = 60;

/** Namespace and names of the processing worker's own metrics (see runbooks/metrics.md). */
export const PROCESSING_METRICS_NAMESPACE = 'BodyScript/Processing';

/** How CodeDeploy shifts traffic, per configured strategy. */
const DEPLOYMENT_CONFIGS: Record<DeploymentStrategy, codedeploy.IEcsDeploymentConfig> = {
  'all-at-once': codedeploy.EcsDeploymentConfig.ALL_AT_ONCE,
  'canary-10-percent-5-minutes': codedeploy.EcsDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  'linear-10-percent-every-1-minute': codedeploy.EcsDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTES,
};

export interface ServicesStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly alerting: AlertingStack;
  readonly network: NetworkStack;
  readonly data: DataStack;
}

/**
 * `BodyScript-<Env>-Services`: everything that serves traffic. The container
 * repositories, the ECS cluster, the api and processing services (each
 * deployed blue/green by CodeDeploy behind its own load balancer, rolled back
 * by alarms and health-check canaries), and the CloudFront distribution with
 * its web ACL in front of the web app and the api.
 */
export class ServicesStack extends Stack {
  /** ECR repositories, by service (stateful: retained and pinned). */
  public readonly repositories: Record<ServiceName, ContainerRepository>;
  /** The ECS cluster of the environment. */
  public readonly cluster: ecs.Cluster;
  /** The api: FastAPI behind an internet-facing load balancer that accepts CloudFront only. */
  public readonly api: BlueGreenService;
  /** The processing worker, fed by the processing queue, with its health endpoint behind an internal load balancer. */
  public readonly processing: BlueGreenService;
  /** Value CloudFront sends in ORIGIN_VERIFY_HEADER to the api load balancer. */
  public readonly originVerifySecret: secretsmanager.Secret;
  /** CloudFront, WAF and the security headers. */
  public readonly edge: EdgeDistribution;
  /** Health-check canaries of the web app, the api (through CloudFront) and processing (inside the VPC). */
  public readonly canaries: Record<'frontend' | ServiceName, HealthCheckCanary>;
  /** What CodeDeploy watches while deploying each service. */
  public readonly rollbackAlarms: Record<ServiceName, RollbackAlarms>;
  /** The processing worker's scalable task count (backlog per task). */
  public readonly processingScaling: appscaling.ScalableTarget;
  /** With a domain: the PRIMARY failover record of the api name (the standby stack holds the SECONDARY). */
  public readonly apiFailoverRecord?: FailoverRecord;

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const env = config.name;
    if (this.region !== 'us-east-1') {
      throw new Error(
        `ServicesStack ${id}: must be deployed in us-east-1, got '${this.region}': it holds the CloudFront web ACL and certificate, which AWS accepts only there (set primary.region of ${env})`,
      );
    }
    const vpc = props.network.vpc;
    const logRetention = config.logs.retentionDays as logs.RetentionDays;
    const domain = config.domain;

    this.repositories = {
      api: new ContainerRepository(this, 'ApiRepository', { repositoryName: repositoryName(env, 'api') }),
      processing: new ContainerRepository(this, 'ProcessingRepository', { repositoryName: repositoryName(env, 'processing') }),
    };

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      clusterName: clusterName(env),
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENHANCED,
    });
    acknowledge(
      this.cluster,
      ['cdk-validator-cfnguard::ecs_container_insights_enabled_check'],
      "Container Insights is on in its 'enhanced' mode, a superset of 'enabled' (task- and container-level metrics); the Control Tower rule only recognizes the literal value 'enabled'.",
    );

    // --- Domain (optional) ----------------------------------------------
    const hostedZone = domain
      ? route53.HostedZone.fromHostedZoneAttributes(this, 'HostedZone', { hostedZoneId: domain.hostedZoneId, zoneName: domain.hostedZoneName })
      : undefined;
    const apiCertificate =
      domain && hostedZone
        ? new acm.Certificate(this, 'ApiCertificate', { domainName: domain.apiDomainName, validation: acm.CertificateValidation.fromDns(hostedZone) })
        : undefined;
    const appCertificate =
      domain && hostedZone
        ? new acm.Certificate(this, 'AppCertificate', { domainName: domain.appDomainName, validation: acm.CertificateValidation.fromDns(hostedZone) })
        : undefined;

    // Buckets of the data stack named literally: their policies are the data
    // stack's, and a literal name is what Control Tower's logging checks accept.
    const dataBucketName = (purpose: string) => bucketName(env, purpose, this.account, this.region);
    const importBucket = (id: string, purpose: string) =>
      s3.Bucket.fromBucketAttributes(this, id, {
        bucketName: dataBucketName(purpose),
        bucketRegionalDomainName: `${dataBucketName(purpose)}.s3.${this.region}.amazonaws.com`,
        region: this.region,
      });
    const loadBalancerLogsBucket = importBucket('LoadBalancerLogsBucket', 'alb-logs');
    const objectsOf = (purpose: string) => `arn:${this.partition}:s3:::${dataBucketName(purpose)}/*`;
    // The finding cdk-nag reports for the object wildcard of objectsOf().
    const objectsFinding = (purpose: string) => `AwsSolutions-IAM5[Resource::${objectsOf(purpose)}]`;

    // --- Shared task settings -------------------------------------------
    // Imported without its key: the secret's own grant would add the task
    // execution roles to the database key policy (data stack), a cycle. The
    // roles get kms:Decrypt on that key through their own policy below.
    const databaseSecret = secretsmanager.Secret.fromSecretAttributes(this, 'DatabaseSecret', { secretCompleteArn: data.database.secret.secretArn });
    const sentryDsn = secretsmanager.Secret.fromSecretNameV2(this, 'SentryDsn', config.sentry.dsnSecretName);
    const secrets = serviceSecrets(databaseSecret, sentryDsn, ['host', 'port', 'dbname', 'username', 'password']);
    const environmentOf = (service: ServiceName) => serviceEnvironment(config, service, { uploads: data.uploadsBucket.bucketName, results: data.resultsBucket.bucketName });
    const deploymentSettings = (service: ServiceName) => ({
      applicationName: codeDeployApplicationName(env, service),
      deploymentGroupName: deploymentGroupName(env, service),
      deploymentConfig: DEPLOYMENT_CONFIGS[config.deployment.strategy],
      terminationWait: Duration.minutes(config.deployment.terminationWaitMinutes),
      deploymentTimeout: Duration.minutes(config.deployment.timeoutMinutes),
    });
    const taskSettings = (service: ServiceName) => ({
      ...serviceSettings(config, service),
      cluster: this.cluster,
      image: ecs.ContainerImage.fromEcrRepository(this.repositories[service].repository, config.services[service].imageTag),
      release: config.services[service].imageTag,
      desiredCount: config.services[service].minTasks,
      environment: environmentOf(service),
      secrets,
      logKey: data.logsKey.key,
      accessLogsBucket: loadBalancerLogsBucket,
    });

    // --- api ---------------------------------------------------------------
    // Only CloudFront reaches the api: its origin-facing addresses (security
    // group) carrying the secret header (listener rule). The web ACL on the
    // distribution thereby sees every api request.
    this.originVerifySecret = new secretsmanager.Secret(this, 'OriginVerifySecret', {
      secretName: originVerifySecretName(env),
      description: `BodyScript ${env}: value of the ${ORIGIN_VERIFY_HEADER} header CloudFront sends to the api load balancer`,
      // Imported: the secret's own grant would otherwise add a statement to the data key's policy (data stack).
      encryptionKey: kms.Key.fromKeyArn(this, 'OriginVerifySecretKey', data.dataKey.key.keyArn),
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      // The standby api load balancer (BodyScript-<Env>-Standby) checks the same
      // value, read by name from this replica: CloudFront sends one header to both.
      replicaRegions: [
        {
          region: config.standby.region,
          encryptionKey: kms.Key.fromKeyArn(this, 'StandbyDatabaseKeyAlias', keyAliasArn(standbyKeyAlias(env, 'database'), config.standby)),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.originVerifySecret,
      ['AwsSolutions-SMG4', 'NIST.800.53.R5-SecretsManagerRotationEnabled', 'HIPAA.Security-SecretsManagerRotationEnabled'],
      'The value is not a credential to any data: it only proves a request came through CloudFront, on top of the origin-facing prefix list. Rotating it needs CloudFront and the listener rule updated together, which a stack update does: change the secret and redeploy.',
    );
    const originVerifyValue = this.originVerifySecret.secretValue.unsafeUnwrap();
    const cloudFrontOriginFacing = ec2.PrefixList.fromLookup(this, 'CloudFrontOriginFacing', { prefixListName: CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST });
    // The configured CIDR rather than the VPC's attribute: a literal rule is one the compliance checks can read.
    const insideVpc = ec2.Peer.ipv4(config.network.primaryCidr);

    this.api = new BlueGreenService(this, 'Api', {
      ...taskSettings('api'),
      ...deploymentSettings('api'),
      internetFacing: true,
      loadBalancerSubnets: { subnetGroupName: SUBNET_GROUPS.public },
      certificate: apiCertificate,
      productionPeers: [ec2.Peer.prefixList(cloudFrontOriginFacing.prefixListId)],
      testPeers: [insideVpc],
      requiredHeader: { name: ORIGIN_VERIFY_HEADER, value: originVerifyValue },
    });
    // Presigned upload and download URLs are signed with the api's credentials.
    const apiPolicy = new iam.ManagedPolicy(this, 'ApiTaskPolicy', {
      description: `BodyScript ${env} api: sign uploads into the uploads bucket and downloads from the results bucket`,
      roles: [this.api.taskDefinition.taskRole],
      statements: apiTaskStatements({ uploadsObjects: objectsOf('uploads'), resultsObjects: objectsOf('results'), dataKeyArn: data.dataKey.key.keyArn }),
    });
    acknowledge(
      apiPolicy,
      [objectsFinding('uploads'), objectsFinding('results')],
      'The api signs upload URLs for new objects and download URLs for any result, whose keys are only known at run time; the actions are exactly s3:PutObject and s3:GetObject on one bucket each.',
    );

    // --- processing --------------------------------------------------------
    const processingCanarySecurityGroup = new ec2.SecurityGroup(this, 'ProcessingCanarySecurityGroup', {
      vpc,
      description: 'Processing health canary: to the internal processing load balancer, S3 and CloudWatch',
      allowAllOutbound: true,
    });
    this.processing = new BlueGreenService(this, 'Processing', {
      ...taskSettings('processing'),
      ...deploymentSettings('processing'),
      environment: {
        ...environmentOf('processing'),
        PROCESSING_QUEUE_URL: data.processingQueue.queueUrl,
        METRICS_NAMESPACE: PROCESSING_METRICS_NAMESPACE,
      },
      // Videos and MediaPipe's intermediate frames are written to /tmp.
      ephemeralStorageGiB: 50,
      internetFacing: false,
      loadBalancerSubnets: { subnetGroupName: SUBNET_GROUPS.application },
      productionPeers: [processingCanarySecurityGroup],
      testPeers: [insideVpc],
    });
    for (const service of [this.api, this.processing]) {
      service.taskDefinition.obtainExecutionRole().addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [data.databaseKey.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` } },
        }),
      );
    }

    // Least privilege: read uploads, write results, consume the queue, use the
    // data key for those, publish its own metrics; nothing else.
    const processingPolicy = new iam.ManagedPolicy(this, 'ProcessingTaskPolicy', {
      description: `BodyScript ${env} processing: read uploads, write results, consume the processing queue`,
      roles: [this.processing.taskDefinition.taskRole],
      statements: processingTaskStatements({
        uploadsObjects: objectsOf('uploads'),
        resultsObjects: objectsOf('results'),
        dataKeyArn: data.dataKey.key.keyArn,
        queueArn: data.processingQueue.queueArn,
      }),
    });
    acknowledge(
      processingPolicy,
      [objectsFinding('uploads'), objectsFinding('results'), 'AwsSolutions-IAM5[Resource::*]'],
      'The worker reads whichever upload a queue message names and writes its result under a key known only at run time (exactly s3:GetObject and s3:PutObject on one bucket each); PutMetricData has no resource-level permission and is limited to the BodyScript/Processing namespace by condition.',
    );

    // Backlog per task: queued videos divided by running workers.
    this.processingScaling = new appscaling.ScalableTarget(this, 'ProcessingScaling', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${this.cluster.clusterName}/${this.processing.service.serviceName}`,
      minCapacity: config.services.processing.minTasks,
      maxCapacity: config.services.processing.maxTasks,
      // The service-linked role Application Auto Scaling uses for ECS (as the api's scaling does).
      role: iam.Role.fromRoleArn(
        this,
        'EcsScalingRole',
        `arn:${this.partition}:iam::${this.account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`,
      ),
    });
    this.processingScaling.node.addDependency(this.processing.service);
    processingBacklogPolicy(this, 'ProcessingBacklogPerTask', {
      policyName: `${resourcePrefix(env)}-processing-backlog-per-task`,
      scalingTargetId: this.processingScaling.scalableTargetId,
      queueName: data.processingQueue.queueName,
      clusterName: this.cluster.clusterName,
      serviceName: this.processing.service.serviceName,
    });

    const apiScaling = this.api.service.autoScaleTaskCount({ minCapacity: config.services.api.minTasks, maxCapacity: config.services.api.maxTasks });
    apiScaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: API_TARGET_CPU_PERCENT,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });

    // Both services reach the database. The rule is in this stack: the data
    // stack naming these security groups would make the two stacks a cycle.
    const databaseSecurityGroupId = data.database.instance.connections.securityGroups[0].securityGroupId;
    for (const [name, service] of [
      ['Api', this.api],
      ['Processing', this.processing],
    ] as const) {
      new ec2.CfnSecurityGroupIngress(this, `${name}ToDatabase`, {
        groupId: databaseSecurityGroupId,
        sourceSecurityGroupId: service.securityGroup.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: POSTGRES_PORT,
        toPort: POSTGRES_PORT,
        description: `PostgreSQL from the ${name.toLowerCase()} tasks`,
      });
    }

    // --- Edge -----------------------------------------------------------
    this.edge = new EdgeDistribution(this, 'Edge', {
      frontendBucket: importBucket('FrontendBucket', 'frontend'),
      // The frontend replica of BodyScript-<Env>-StandbyData, by name and region
      // from config: a reference to that stack would cross regions.
      standbyFrontendBucket: s3.Bucket.fromBucketAttributes(this, 'StandbyFrontendBucket', {
        bucketName: bucketName(env, 'frontend', config.standby.account, config.standby.region),
        region: config.standby.region,
      }),
      apiOriginDomainName: domain ? domain.apiDomainName : this.api.loadBalancer.loadBalancerDnsName,
      apiOriginProtocol: domain ? 'https' : 'http',
      apiOriginHeaders: { [ORIGIN_VERIFY_HEADER]: originVerifyValue },
      logBucket: importBucket('CloudFrontLogsBucket', 'cloudfront-logs'),
      logPrefix: 'cloudfront/',
      certificate: appCertificate,
      domainNames: domain ? [domain.appDomainName] : undefined,
      hostedZone,
      webAclName: webAclName(env),
      additionalConnectSources: [data.uploadsBucket, data.resultsBucket].map((b) => `https://${b.bucketRegionalDomainName}`),
      logKey: data.logsKey.key,
      logRetention,
      webAclLogGroupName: `aws-waf-logs-${resourcePrefix(env)}-edge`,
    });

    // --- Canaries and rollback alarms ------------------------------------
    const appUrl = domain ? `https://${domain.appDomainName}` : `https://${this.edge.distribution.distributionDomainName}`;
    const canaryBase = {
      encryptionKey: data.logsKey.key,
      accessLogsBucket: data.accessLogsBucket,
      alarmTopic: props.alerting.alarmTopics.critical,
    };
    this.canaries = {
      frontend: new HealthCheckCanary(this, 'FrontendCanary', {
        ...canaryBase,
        canaryName: canaryName(env, 'frontend'),
        url: `${appUrl}/`,
        maxLatency: Duration.seconds(2),
        alarmName: alarmName(env, 'frontend', 'Canary'),
        route53HealthCheck: domain ? { fqdn: domain.appDomainName, resourcePath: '/' } : undefined,
      }),
      // Through CloudFront, so it takes the same path (WAF, origin header) as users.
      api: new HealthCheckCanary(this, 'ApiCanary', {
        ...canaryBase,
        canaryName: canaryName(env, 'api'),
        url: `${appUrl}/api/health`,
        expectedBodyPattern: '"status"\\s*:\\s*"ok"',
        maxLatency: Duration.seconds(2),
        alarmName: alarmName(env, 'api', 'Canary'),
        route53HealthCheck: domain ? { fqdn: domain.appDomainName, resourcePath: '/api/health' } : undefined,
      }),
      processing: new HealthCheckCanary(this, 'ProcessingCanary', {
        ...canaryBase,
        canaryName: canaryName(env, 'processing'),
        url: `http://${this.processing.loadBalancer.loadBalancerDnsName}/health`,
        maxLatency: Duration.seconds(2),
        vpc,
        vpcSubnets: { subnetGroupName: SUBNET_GROUPS.application },
        securityGroups: [processingCanarySecurityGroup],
        alarmName: alarmName(env, 'processing', 'Canary'),
      }),
    };

    const processingMetric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: PROCESSING_METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { Environment: env },
        statistic: 'Sum',
        period: Duration.minutes(1),
      });
    const jobFailureMetric = new cloudwatch.MathExpression({
      expression: 'IF((processed + failures) > 0, 100 * failures / (processed + failures), 0)',
      usingMetrics: { processed: processingMetric('VideosProcessed'), failures: processingMetric('ProcessingFailures') },
      label: 'Failed jobs (%)',
      period: Duration.minutes(1),
    });
    this.rollbackAlarms = {
      api: new RollbackAlarms(this, 'ApiRollbackAlarms', {
        alarmNamePrefix: `${alarmNamePrefix(env)}api-`,
        loadBalancer: this.api.loadBalancer,
        targetGroups: [this.api.blueTargetGroup, this.api.greenTargetGroup],
        canaryAlarms: [this.canaries.api.failureAlarm],
        alarmTopic: props.alerting.alarmTopics.warning,
      }),
      processing: new RollbackAlarms(this, 'ProcessingRollbackAlarms', {
        alarmNamePrefix: `${alarmNamePrefix(env)}processing-`,
        loadBalancer: this.processing.loadBalancer,
        targetGroups: [this.processing.blueTargetGroup, this.processing.greenTargetGroup],
        canaryAlarms: [this.canaries.processing.failureAlarm],
        jobFailureMetric,
        alarmTopic: props.alerting.alarmTopics.warning,
      }),
    };
    for (const service of SERVICE_NAMES) {
      const blueGreen = service === 'api' ? this.api : this.processing;
      blueGreen.addRollbackAlarms(this.rollbackAlarms[service].alarms);
    }

    // --- DNS failover (with a domain) ----------------------------------------
    if (domain && hostedZone) {
      // CloudFront connects to the api by this name, which its certificate covers.
      // PRIMARY while the api has a healthy target here; the standby stack holds
      // the SECONDARY. The health check reads alarms instead of requesting the
      // load balancer: the listener accepts only CloudFront (prefix list plus the
      // origin header), which Route 53 health checkers are not.
      const noHealthyTargets = (colour: 'Blue' | 'Green', targetGroup: elbv2.ApplicationTargetGroup) =>
        new cloudwatch.Alarm(this, `ApiNoHealthyTargets${colour}`, {
          alarmName: alarmName(env, 'api', 'NoHealthyTargets', colour),
          alarmDescription: `The api's ${colour.toLowerCase()} target group has had no healthy target for 3 minutes (normal for the colour not in service). Route 53 moves ${domain.apiDomainName} to the standby region when neither colour has one. Runbook: runbooks/disaster-recovery.md`,
          metric: targetGroup.metrics.healthyHostCount({ statistic: cloudwatch.Stats.MINIMUM, period: Duration.minutes(1) }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 3,
          // A target group without targets reports nothing: no healthy target.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        });
      const failoverAlarms = [noHealthyTargets('Blue', this.api.blueTargetGroup), noHealthyTargets('Green', this.api.greenTargetGroup)];
      const apiDown = new cloudwatch.CompositeAlarm(this, 'ApiNoHealthyTargets', {
        compositeAlarmName: alarmName(env, 'api', 'NoHealthyTargets'),
        alarmDescription: `Neither api target group has a healthy target: the api is down in ${this.region}, and Route 53 answers ${domain.apiDomainName} with the standby region's load balancer (which serves only after 'npm run ops -- dr failover --env ${env}'). Decide on a failover. Runbook: runbooks/disaster-recovery.md`,
        alarmRule: cloudwatch.AlarmRule.allOf(...failoverAlarms.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
      });
      apiDown.addAlarmAction(new cloudwatchActions.SnsAction(props.alerting.alarmTopics.critical));
      apiDown.addOkAction(new cloudwatchActions.SnsAction(props.alerting.alarmTopics.critical));
      for (const alarm of failoverAlarms) {
        acknowledge(
          alarm,
          ['NIST.800.53.R5-CloudWatchAlarmAction', 'HIPAA.Security-CloudWatchAlarmAction', 'cdk-validator-cfnguard::cloudwatch_alarm_action_check'],
          'One colour of a blue/green pair is always without targets, so this alarm alone is no incident: Route 53 reads it for DNS failover, and people are paged by the composite alarm when both colours have no healthy target.',
        );
      }
      this.apiFailoverRecord = new FailoverRecord(this, 'ApiFailover', {
        zone: hostedZone,
        recordName: domain.apiDomainName,
        role: 'PRIMARY',
        loadBalancer: this.api.loadBalancer,
        healthCheckAlarms: failoverAlarms,
      });
    }
  }
}

/** Resources a service's task role is granted: object ARNs (`<bucket ARN>/*`), the data key, the queue. */
export interface TaskPolicyResources {
  readonly uploadsObjects: string;
  readonly resultsObjects: string;
  readonly dataKeyArn: string;
}

/** The api signs upload URLs into the uploads bucket and download URLs of results (primary and standby alike). */
export function apiTaskStatements(r: TaskPolicyResources): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ sid: 'PutUploads', actions: ['s3:PutObject'], resources: [r.uploadsObjects] }),
    new iam.PolicyStatement({ sid: 'GetResults', actions: ['s3:GetObject'], resources: [r.resultsObjects] }),
    new iam.PolicyStatement({ sid: 'UseDataKey', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [r.dataKeyArn] }),
  ];
}

/**
 * Least privilege of the processing worker (primary and standby alike): read
 * uploads, write results, consume the queue, use the data key for those,
 * publish its own metrics; nothing else.
 */
export function processingTaskStatements(r: TaskPolicyResources & { readonly queueArn: string }): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ sid: 'ReadUploads', actions: ['s3:GetObject'], resources: [r.uploadsObjects] }),
    new iam.PolicyStatement({ sid: 'WriteResults', actions: ['s3:PutObject'], resources: [r.resultsObjects] }),
    new iam.PolicyStatement({
      sid: 'ConsumeQueue',
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      resources: [r.queueArn],
    }),
    new iam.PolicyStatement({ sid: 'UseDataKey', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [r.dataKeyArn] }),
    new iam.PolicyStatement({
      sid: 'PublishProcessingMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': PROCESSING_METRICS_NAMESPACE } },
    }),
  ];
}

/**
 * Target tracking of the processing worker on its backlog per task: queued
 * videos divided by running workers (primary and standby alike).
 */
export function processingBacklogPolicy(
  scope: Construct,
  id: string,
  props: { readonly policyName: string; readonly scalingTargetId: string; readonly queueName: string; readonly clusterName: string; readonly serviceName: string },
): appscaling.CfnScalingPolicy {
  return new appscaling.CfnScalingPolicy(scope, id, {
    policyName: props.policyName,
    policyType: 'TargetTrackingScaling',
    scalingTargetId: props.scalingTargetId,
    targetTrackingScalingPolicyConfiguration: {
      targetValue: PROCESSING_BACKLOG_PER_TASK,
      // A worker is busy for 15–30 minutes per video: no need to react within seconds.
      scaleOutCooldown: 60,
      scaleInCooldown: 600,
      customizedMetricSpecification: {
        metrics: [
          {
            id: 'visible',
            returnData: false,
            metricStat: {
              metric: {
                namespace: 'AWS/SQS',
                metricName: 'ApproximateNumberOfMessagesVisible',
                dimensions: [{ name: 'QueueName', value: props.queueName }],
              },
              stat: 'Sum',
            },
          },
          {
            id: 'tasks',
            returnData: false,
            metricStat: {
              metric: {
                namespace: 'ECS/ContainerInsights',
                metricName: 'RunningTaskCount',
                dimensions: [
                  { name: 'ClusterName', value: props.clusterName },
                  { name: 'ServiceName', value: props.serviceName },
                ],
              },
              stat: 'Average',
            },
          },
          { id: 'backlogPerTask', label: 'Queued videos per running worker', expression: 'visible / IF(tasks > 0, tasks, 1)', returnData: true },
        ],
      },
    },
  });
}

/**
 * What a service's task, log group and load balancer take from config, in
 * either region: the primary's blue/green services and the standby's pilot
 * light are built from the same settings.
 */
export function serviceSettings(config: EnvironmentConfig, service: ServiceName) {
  const env = config.name;
  return {
    serviceName: ecsServiceName(env, service),
    family: taskFamilyName(env, service),
    containerName: service,
    cpu: config.services[service].cpu,
    memoryMiB: config.services[service].memoryMiB,
    containerPort: CONTAINER_PORT,
    healthCheckPath: '/health',
    taskSubnets: { subnetGroupName: SUBNET_GROUPS.application },
    logGroupName: serviceLogGroupName(env, service),
    logRetention: config.logs.retentionDays as logs.RetentionDays,
    deletionProtection: env === 'production',
    accessLogsPrefix: service,
  };
}

/** The plain environment of a service's container, with the buckets of its region. */
export function serviceEnvironment(config: EnvironmentConfig, service: ServiceName, buckets: { readonly uploads: string; readonly results: string }): Record<string, string> {
  return {
    BODYSCRIPT_ENVIRONMENT: config.name,
    SENTRY_ENVIRONMENT: config.name,
    SENTRY_RELEASE: config.services[service].imageTag,
    UPLOADS_BUCKET: buckets.uploads,
    RESULTS_BUCKET: buckets.results,
  };
}

/** Environment variable of each field of the database master secret. */
const DATABASE_SECRET_VARIABLES = { host: 'DB_HOST', port: 'DB_PORT', dbname: 'DB_NAME', username: 'DB_USERNAME', password: 'DB_PASSWORD' } as const;

/** The secrets of a service's container: the given fields of the database master secret, then the Sentry DSN. */
export function serviceSecrets(
  databaseSecret: secretsmanager.ISecret,
  sentryDsn: secretsmanager.ISecret,
  databaseFields: readonly (keyof typeof DATABASE_SECRET_VARIABLES)[],
): Record<string, ecs.Secret> {
  const secrets: Record<string, ecs.Secret> = {};
  for (const field of databaseFields) secrets[DATABASE_SECRET_VARIABLES[field]] = ecs.Secret.fromSecretsManager(databaseSecret, field);
  secrets.SENTRY_DSN = ecs.Secret.fromSecretsManager(sentryDsn);
  return secrets;
}
