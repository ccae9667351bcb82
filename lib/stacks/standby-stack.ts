import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { AlarmTopics } from '../../constructs/alarm-topics';
import { ApplicationVpc, SUBNET_GROUPS } from '../../constructs/application-vpc';
import { SERVICE_DATABASE_ROLES } from '../../constructs/database-roles';
import { EncryptionKey } from '../../constructs/encryption-key';
import { ApiFailover } from '../../constructs/api-failover';
import { failoverSetIdentifier } from '../../constructs/failover-record';
import { PilotLightService } from '../../constructs/pilot-light-service';
import { StandbyAlarms } from '../../constructs/standby-alarms';
import { StandbyDashboard } from '../../constructs/standby-dashboard';
import { POSTGRES_PORT } from '../../constructs/postgres-database';
import { PostgresReadReplica } from '../../constructs/read-replica';
import { RegionSwitchPlan } from '../../constructs/region-switch-plan';
import { RegionalWebAcl } from '../../constructs/regional-web-acl';
import { acknowledge } from '../compliance';
import type { EnvironmentConfig } from '../config';
import { PLAN_STEP_TIMEOUT_MINUTES } from '../disaster-recovery';
import {
  alarmName,
  alarmTopicName,
  apiLoadBalancerName,
  apiVpcOriginName,
  apiWebAclName,
  bucketName,
  clusterName,
  databaseInstanceArn,
  ecsServiceName,
  originVerifySecretName,
  partitionOf,
  regionSwitchPlanName,
  replicaInstanceIdentifier,
  repositoryName,
  resourcePrefix,
  SERVICE_NAMES,
  type ServiceName,
  standbyDashboardName,
  standbyKeyAlias,
} from '../naming';
import {
  API_TARGET_CPU_PERCENT,
  apiTaskStatements,
  CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST,
  ORIGIN_VERIFY_HEADER,
  PROCESSING_METRICS_NAMESPACE,
  processingBacklogPolicy,
  processingTaskStatements,
  serviceEnvironment,
  databaseEnvironment,
  serviceSecrets,
  serviceSettings,
} from './service-settings';
import { singleAzReason } from './data-stack';
import { STANDBY_QUEUE_RETENTION, type StandbyDataStack } from './standby-data-stack';

export interface StandbyStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  /** Keys of the standby region (same region: referenced directly). */
  readonly standbyData: StandbyDataStack;
}

export { REPLICA_LAG_ALARM_SECONDS, STANDBY_MAX_5XX_PERCENT } from '../../constructs/standby-alarms';

/**
 * `BodyScript-<Env>-Standby`, in the standby region: the environment as it will
 * run after `ops dr failover`. A cross-region read replica of the primary
 * database, the standby network, a pilot-light copy of the services (zero tasks,
 * scaling bounds that only a failover opens), its own alarm topics and alarms,
 * with a domain the SECONDARY failover record of the api, and the ARC Region
 * switch plan that fails the environment over to this region.
 *
 * Everything of the primary region is named through config and lib/naming.ts
 * (the source database ARN, repository names), never referenced: the test
 * test/cross-region.test.ts fails on any cross-region reference.
 */
export class StandbyStack extends Stack {
  public readonly alarmTopics: AlarmTopics;
  /** Encrypts the standby's log groups. */
  public readonly logsKey: EncryptionKey;
  public readonly vpc: ec2.Vpc;
  public readonly replica: PostgresReadReplica;
  /** The replica's lag and the raised services' 5xx and unhealthy targets, to the standby's own topics. */
  public readonly alarms: StandbyAlarms;
  /** `BodyScript-<Env>-Standby`: the recovered environment, graphed from this region. */
  public readonly dashboard: StandbyDashboard;
  /** The ECS cluster, named like the primary's. */
  public readonly cluster: ecs.Cluster;
  /** The pilot-light api and processing services (zero tasks until `ops dr failover`). */
  public readonly services: Record<ServiceName, PilotLightService>;
  /** With a domain: the api name's failover pair (and this region's record), with the plan's health checks. */
  public readonly apiFailover?: ApiFailover;
  /** The ordered failover (ARC Region switch plan) that `ops dr failover` starts and follows. */
  public readonly regionSwitchPlan: RegionSwitchPlan;

  constructor(scope: Construct, id: string, props: StandbyStackProps) {
    // After a failover this stack holds the live database: deleting it must take two deliberate steps.
    super(scope, id, { ...props, terminationProtection: true });
    const { config, standbyData } = props;
    const env = config.name;
    if (props.env?.region !== config.standby.region || props.env?.account !== config.standby.account) {
      throw new Error(`StandbyStack ${id}: env must be the standby location ${config.standby.account}/${config.standby.region} (config standby)`);
    }
    const logRetention = config.logs.retentionDays as logs.RetentionDays;

    // In this stack, not StandbyData: the log groups' KmsKeyId must be readable by the
    // compliance checks, which do not resolve another stack's output.
    this.logsKey = new EncryptionKey(this, 'StandbyLogsKey', {
      alias: standbyKeyAlias(env, 'logs'),
      description: `BodyScript ${env} standby: CloudWatch log groups (replica, flow logs, tasks)`,
      allowCloudWatchLogs: true,
    });
    const topicsKey = new EncryptionKey(this, 'StandbyTopicsKey', {
      alias: standbyKeyAlias(env, 'alarm-topics'),
      description: `BodyScript ${env} standby: alarm notification topics`,
      servicePrincipals: ['cloudwatch.amazonaws.com'],
    });
    // No events.amazonaws.com here: EventBridge delivery to an encrypted topic
    // fails when the key policy conditions it on aws:SourceAccount or
    // aws:SourceArn (not supported for EventBridge-to-encrypted-topic, SNS
    // developer guide, key management). The Region switch plan's warning rules
    // grant EventBridge the key without conditions through their SNS target.
    // The standby's own topics: when the primary region is down, its topics are too.
    this.alarmTopics = new AlarmTopics(this, 'AlarmTopics', {
      topicNames: { critical: alarmTopicName(env, 'critical'), warning: alarmTopicName(env, 'warning') },
      encryptionKey: topicsKey.key,
      emails: config.alarms.emails,
    });

    const network = new ApplicationVpc(this, 'Network', {
      cidr: config.network.standbyCidr,
      maxAzs: config.network.maxAzs,
      // Sized like the primary: after a failover this is the production network.
      natGateways: config.network.natGateways,
      interfaceEndpoints: config.network.interfaceEndpoints,
      logKey: this.logsKey.key,
      logRetention,
    });
    this.vpc = network.vpc;

    this.replica = new PostgresReadReplica(this, 'Replica', {
      sourceInstanceArn: databaseInstanceArn(env, config.primary),
      engineVersion: config.database.engineVersion,
      vpc: this.vpc,
      vpcSubnets: { subnetGroupName: SUBNET_GROUPS.database },
      instanceIdentifier: replicaInstanceIdentifier(env),
      instanceClass: config.database.instanceClass,
      multiAz: config.database.multiAz,
      singleAzReason: singleAzReason(config),
      maxAllocatedStorageGiB: config.database.maxAllocatedStorageGiB,
      encryptionKey: standbyData.databaseKey.key,
      performanceInsightsRetentionDays: config.database.performanceInsightsRetentionDays,
      monitoringInterval: Duration.seconds(config.database.monitoringIntervalSeconds),
      logKey: this.logsKey.key,
      logRetention,
    });

    // --- Pilot-light services ---------------------------------------------
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      clusterName: clusterName(env),
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENHANCED,
    });
    acknowledge(
      this.cluster,
      ['cdk-validator-cfnguard::ecs_container_insights_enabled_check'],
      "Container Insights is on in its 'enhanced' mode, a superset of 'enabled' (task- and container-level metrics); the Control Tower rule only recognizes the literal value 'enabled'.",
    );
    this.services = this.pilotLightServices(config, standbyData);
    this.alarms = new StandbyAlarms(this, 'Alarms', {
      alarmNamePrefix: alarmName(env, 'Standby', ''),
      replicaInstanceIdentifier: replicaInstanceIdentifier(env),
      // Created with the source's allocation, which is at least the configured one; it grows to the same maximum.
      replicaStorage: { allocatedStorageGiB: config.database.allocatedStorageGiB, maxAllocatedStorageGiB: config.database.maxAllocatedStorageGiB },
      services: this.services,
      // The worker's load balancer only serves health checks, which its metrics exclude.
      servicesWithoutRequests: ['processing'],
      alarmTopic: this.alarmTopics.critical,
      warningTopic: this.alarmTopics.warning,
      processingQueues: {
        queue: standbyData.processingQueue,
        deadLetterQueue: standbyData.processingDeadLetterQueue,
        clusterName: clusterName(env),
        serviceName: ecsServiceName(env, 'processing'),
        retention: STANDBY_QUEUE_RETENTION,
      },
      apiWebAclName: config.domain ? apiWebAclName(env) : undefined,
      environment: env,
      runbook: 'runbooks/disaster-recovery.md',
    });
    // The replica is named literally: without this the lag and free-storage alarms (missing data breaching) would page while the replica is still being created.
    this.alarms.replicaLag.node.addDependency(this.replica);
    this.alarms.replicaFreeStorage.node.addDependency(this.replica);
    // What on-call watches after a failover, graphed from this region (the primary's dashboard graphs us-east-1).
    this.dashboard = new StandbyDashboard(this, 'Dashboard', {
      dashboardName: standbyDashboardName(env),
      environment: env,
      clusterName: clusterName(env),
      api: { serviceName: ecsServiceName(env, 'api'), loadBalancer: this.services.api.loadBalancer, targetGroup: this.services.api.targetGroup },
      processing: { serviceName: ecsServiceName(env, 'processing'), loadBalancer: this.services.processing.loadBalancer, targetGroup: this.services.processing.targetGroup },
      databaseInstanceIdentifier: replicaInstanceIdentifier(env),
      queue: standbyData.processingQueue,
      deadLetterQueue: standbyData.processingDeadLetterQueue,
      processingMetrics: { namespace: PROCESSING_METRICS_NAMESPACE, environment: env },
      alarms: [
        this.alarms.replicaLag,
        this.alarms.replicaFreeStorage,
        this.alarms.replicaStorageNotGrowing,
        ...this.alarms.serviceAlarms,
        ...[this.alarms.deadLetterQueueNotEmpty, this.alarms.queueBehind, this.alarms.apiWebAclBlockedSurge].filter((a) => a !== undefined),
      ],
    });
    this.regionSwitchPlan = this.failoverPlan(config);
    if (config.domain) {
      const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'HostedZone', { hostedZoneId: config.domain.hostedZoneId, zoneName: config.domain.hostedZoneName });
      // The failover pair of the api name carries the plan's health checks: the
      // plan's traffic step flips them from this region (Route 53 data plane).
      const checks = this.regionSwitchPlan.healthCheckIds();
      this.apiFailover = new ApiFailover(this, 'ApiFailover', {
        zone,
        recordName: config.domain.apiDomainName,
        primaryRegion: config.primary.region,
        loadBalancer: this.services.api.loadBalancer,
        healthCheckIds: { primary: checks.primary, standby: checks.recovery },
      });
    }
  }

  /**
   * The failover as an ARC Region switch plan, in this region so that ARC, the
   * plan's role and its warnings survive the primary: promote the replica,
   * raise both services to the primary's recent task count, and with a domain
   * move the api's DNS. Everything of the primary region is named, not referenced.
   */
  private failoverPlan(config: EnvironmentConfig): RegionSwitchPlan {
    const env = config.name;
    const partition = partitionOf(this.region);
    const ecsArns = (where: { account: string; region: string }, service: ServiceName) => ({
      clusterArn: `arn:${partition}:ecs:${where.region}:${where.account}:cluster/${clusterName(env)}`,
      serviceArn: `arn:${partition}:ecs:${where.region}:${where.account}:service/${clusterName(env)}/${ecsServiceName(env, service)}`,
    });
    const domain = config.domain;
    return new RegionSwitchPlan(this, 'FailoverPlan', {
      planName: regionSwitchPlanName(env),
      description: `BodyScript ${env}: fail over from ${config.primary.region} to ${config.standby.region} (replica, api and processing${domain ? `, ${domain.apiDomainName}` : ''}). Driven by npm run ops -- dr failover; runbooks/disaster-recovery.md.`,
      primaryRegion: config.primary.region,
      recoveryRegion: config.standby.region,
      recoveryTimeObjective: Duration.minutes(config.disasterRecovery.recoveryTimeObjectiveMinutes),
      database: {
        primaryInstanceArn: databaseInstanceArn(env, config.primary),
        replicaInstanceArn: `arn:${partition}:rds:${this.region}:${this.account}:db:${replicaInstanceIdentifier(env)}`,
      },
      promoteTimeout: Duration.minutes(PLAN_STEP_TIMEOUT_MINUTES.promote),
      services: SERVICE_NAMES.map((service) => ({ name: service, primary: ecsArns(config.primary, service), recovery: ecsArns(config.standby, service) })),
      scaleTimeout: Duration.minutes(PLAN_STEP_TIMEOUT_MINUTES.raise),
      dns: domain
        ? {
            hostedZoneId: domain.hostedZoneId,
            recordName: domain.apiDomainName,
            primarySetIdentifier: failoverSetIdentifier(domain.apiDomainName, 'PRIMARY'),
            recoverySetIdentifier: failoverSetIdentifier(domain.apiDomainName, 'SECONDARY'),
          }
        : undefined,
      dnsTimeout: Duration.minutes(PLAN_STEP_TIMEOUT_MINUTES.traffic),
      applicationHealthAlarms: this.alarms.serviceAlarms.filter((alarm) => alarm.node.id === 'Api5xxRate'),
      evaluationWarningsTopic: this.alarmTopics.critical,
    });
  }

  /**
   * The api and processing services as they will run after a failover: the
   * primary's task settings, with this region's images (ECR replicas), secret
   * replicas, replica buckets, standby queue and the promoted replica as the
   * database, at zero tasks.
   */
  private pilotLightServices(config: EnvironmentConfig, standbyData: StandbyDataStack): Record<ServiceName, PilotLightService> {
    const env = config.name;
    const domain = config.domain;
    const hostedZone = domain
      ? route53.HostedZone.fromHostedZoneAttributes(this, 'ApiCertificateZone', { hostedZoneId: domain.hostedZoneId, zoneName: domain.hostedZoneName })
      : undefined;
    // CloudFront reaches the api by its name in either region: the standby load balancer needs its own certificate of it.
    const apiCertificate =
      domain && hostedZone
        ? new acm.Certificate(this, 'ApiCertificate', { domainName: domain.apiDomainName, validation: acm.CertificateValidation.fromDns(hostedZone) })
        : undefined;

    // Secrets of the primary region, read here from their us-west-2 replicas by
    // name (the same name in every region): no reference crosses regions.
    const sentryDsn = secretsmanager.Secret.fromSecretNameV2(this, 'SentryDsn', config.sentry.dsnSecretName);
    // The origin-verify replica (same name): the api rule reads it when created; the rotation rewrites the rule.
    const originVerifySecret = secretsmanager.Secret.fromSecretNameV2(this, 'OriginVerifySecret', originVerifySecretName(env));
    const secrets = serviceSecrets(sentryDsn);
    const buckets = standbyData.replicaBuckets;
    // After a failover the database is the promoted replica: its endpoint, and
    // the same roles as the primary (physical replication copies them), each
    // service logging in with an IAM token signed in this region.
    const environmentOf = (service: ServiceName): Record<string, string> => ({
      ...serviceEnvironment(config, service, { uploads: buckets.uploads.bucketName, results: buckets.results.bucketName }),
      ...databaseEnvironment({
        host: this.replica.instance.instanceEndpoint.hostname,
        port: POSTGRES_PORT,
        databaseName: config.database.databaseName,
        user: SERVICE_DATABASE_ROLES[service],
        region: this.region,
      }),
    });
    // Named literally, as in the primary: a literal name is what the logging checks read.
    const loadBalancerLogsBucket = s3.Bucket.fromBucketName(this, 'LoadBalancerLogsBucket', bucketName(env, 'alb-logs', this.account, this.region));
    const taskSettings = (service: ServiceName) => ({
      ...serviceSettings(config, service),
      cluster: this.cluster,
      // The ECR replica in this region (registry replication of the primary's repositories).
      image: ecs.ContainerImage.fromEcrRepository(
        ecr.Repository.fromRepositoryName(this, `${service}Repository`, repositoryName(env, service)),
        config.services[service].imageTag,
      ),
      maxTasks: config.services[service].maxTasks,
      environment: environmentOf(service),
      secrets,
      logKey: this.logsKey.key,
      accessLogsBucket: loadBalancerLogsBucket,
    });

    const cloudFrontOriginFacing = ec2.PrefixList.fromLookup(this, 'CloudFrontOriginFacing', { prefixListName: CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST });
    // As in the primary: with a domain an internet-facing load balancer behind
    // a regional web ACL (Route 53 sends CloudFront here after a failover);
    // without one an internal load balancer behind a VPC origin.
    const api = new PilotLightService(this, 'Api', {
      ...taskSettings('api'),
      internetFacing: domain !== undefined,
      loadBalancerSubnets: { subnetGroupName: domain ? SUBNET_GROUPS.public : SUBNET_GROUPS.application },
      webAcl: domain
        ? new RegionalWebAcl(this, 'ApiWebAcl', {
            webAclName: apiWebAclName(env),
            logGroupName: `aws-waf-logs-${apiWebAclName(env)}`,
            logKey: this.logsKey.key,
            logRetention: config.logs.retentionDays as logs.RetentionDays,
          }).webAcl
        : undefined,
      certificate: apiCertificate,
      // Same rule as the primary: CloudFront only, with the same secret header value.
      productionPeers: [ec2.Peer.prefixList(cloudFrontOriginFacing.prefixListId)],
      requiredHeader: { name: ORIGIN_VERIFY_HEADER, secret: originVerifySecret, secretKey: standbyData.databaseKey.key },
      // The primary's rotation function finds this load balancer by name.
      loadBalancerName: apiLoadBalancerName(env),
    });
    if (!domain) {
      // Created with the standby, so that the manual api failover of an
      // environment without a domain only points the distribution's /api/*
      // behaviour at it (runbooks/disaster-recovery.md).
      new cloudfront.VpcOrigin(this, 'ApiVpcOrigin', {
        endpoint: cloudfront.VpcOriginEndpoint.applicationLoadBalancer(api.loadBalancer),
        vpcOriginName: apiVpcOriginName(env, this.region),
        protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
        httpPort: 80,
      });
    }
    const processing = new PilotLightService(this, 'Processing', {
      ...taskSettings('processing'),
      environment: {
        ...environmentOf('processing'),
        PROCESSING_QUEUE_URL: standbyData.processingQueue.queueUrl,
        METRICS_NAMESPACE: PROCESSING_METRICS_NAMESPACE,
      },
      ephemeralStorageGiB: 50,
      internetFacing: false,
      loadBalancerSubnets: { subnetGroupName: SUBNET_GROUPS.application },
      // No canary in the standby: its health endpoint is for checks from inside the VPC.
      productionPeers: [ec2.Peer.ipv4(config.network.standbyCidr)],
    });

    // Named literally, as in the primary, so the findings below name the buckets.
    const objectsOf = (purpose: 'uploads' | 'results') => `arn:${this.partition}:s3:::${bucketName(env, purpose, this.account, this.region)}/*`;
    const taskResources = { uploadsObjects: objectsOf('uploads'), resultsObjects: objectsOf('results'), dataKeyArn: standbyData.dataKey.key.keyArn, region: this.region };
    const apiPolicy = new iam.ManagedPolicy(this, 'ApiTaskPolicy', {
      description: `BodyScript ${env} standby api: sign uploads into the replica uploads bucket and downloads from the replica results bucket`,
      roles: [api.taskDefinition.taskRole],
      statements: apiTaskStatements(taskResources),
    });
    const processingPolicy = new iam.ManagedPolicy(this, 'ProcessingTaskPolicy', {
      description: `BodyScript ${env} standby processing: read uploads, write results, consume the standby processing queue`,
      roles: [processing.taskDefinition.taskRole],
      statements: processingTaskStatements({ ...taskResources, queueArn: standbyData.processingQueue.queueArn }),
    });
    const objectsFinding = (purpose: 'uploads' | 'results') => `AwsSolutions-IAM5[Resource::${objectsOf(purpose)}]`;
    acknowledge(
      apiPolicy,
      [objectsFinding('uploads'), objectsFinding('results')],
      'The api signs upload URLs for new objects and download URLs for any result, whose keys are only known at run time; the actions are exactly s3:PutObject and s3:GetObject on one bucket each.',
    );
    acknowledge(
      processingPolicy,
      [objectsFinding('uploads'), objectsFinding('results'), 'AwsSolutions-IAM5[Resource::*]'],
      'The worker reads whichever upload a queue message names and writes its result under a key known only at run time (exactly s3:GetObject and s3:PutObject on one bucket each); PutMetricData has no resource-level permission and is limited to the BodyScript/Processing namespace by condition.',
    );

    // IAM authentication names the replica by its own DbiResourceId (immutable: a
    // promotion keeps it), never the primary's: the standby tasks may log in only here.
    const database = (service: ServiceName) => ({
      securityGroup: this.replica.instance.connections.securityGroups[0],
      port: POSTGRES_PORT,
      resourceId: (this.replica.instance.node.defaultChild as rds.CfnDBInstance).attrDbiResourceId,
      user: SERVICE_DATABASE_ROLES[service],
    });
    api.connectToDatabase(database('api'));
    processing.connectToDatabase(database('processing'));

    // Scaling as in the primary, inert in the pilot light (bounds 0..0); `dr failover` opens the bounds.
    api.scalableTarget.scaleToTrackMetric('Cpu', {
      targetValue: API_TARGET_CPU_PERCENT,
      predefinedMetric: appscaling.PredefinedMetric.ECS_SERVICE_AVERAGE_CPU_UTILIZATION,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });
    processingBacklogPolicy(this, 'ProcessingBacklogPerTask', {
      policyName: `${resourcePrefix(env)}-processing-backlog-per-task`,
      scalingTargetId: processing.scalableTarget.scalableTargetId,
      queueName: standbyData.processingQueue.queueName,
      clusterName: this.cluster.clusterName,
      serviceName: processing.service.serviceName,
    });
    return { api, processing };
  }
}
