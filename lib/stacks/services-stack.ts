import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { ApiService } from '../../constructs/api-service';
import { SUBNET_GROUPS } from '../../constructs/application-vpc';
import { EdgeDistribution } from '../../constructs/edge-distribution';
import { FailedTasks } from '../../constructs/failed-tasks';
import { regionalRecordName } from '../../constructs/failover-record';
import { FrontendBucketAccess } from '../../constructs/frontend-bucket-access';
import { CANARY_INTERVAL, HealthCheckCanary, type HealthCheckCanaryProps } from '../../constructs/health-check-canary';
import { OriginVerifyRotation } from '../../constructs/origin-verify-rotation';
import { OriginVerifySecret } from '../../constructs/origin-verify-secret';
import { DatabaseMigrationsTask } from '../../constructs/database-migrations-task';
import { MIGRATIONS_ROLE, SERVICE_DATABASE_ROLES } from '../../constructs/database-roles';
import { POSTGRES_PORT } from '../../constructs/postgres-database';
import { ProcessingService } from '../../constructs/processing-service';
import { MAX_DETECTION_TIME } from '../../constructs/rollback-alarms';
import { RegionalWebAcl } from '../../constructs/regional-web-acl';
import { presignedUrlOrigins } from '../browser-access';
import { acknowledge } from '../compliance';
import type { EnvironmentConfig } from '../config';
import { TRAFFIC_SHIFT_MINUTES } from '../config/schema';
import { MIN_BAD_REQUESTS_PER_MINUTE } from '../low-traffic';
import {
  alarmName,
  alarmNamePrefix,
  apiLoadBalancerName,
  apiVpcOriginName,
  apiWebAclName,
  bucketName,
  canaryName,
  clusterName,
  ecsServiceName,
  keyAliasArn,
  originVerifySecretName,
  repositoryName,
  resourcePrefix,
  type ServiceName,
  standbyKeyAlias,
  webAclName,
} from '../naming';
import type { AlertingStack } from './alerting-stack';
import type { DataStack } from './data-stack';
import type { NetworkStack } from './network-stack';
import { blueGreenDeploymentSettings, databaseEnvironment, ORIGIN_VERIFY_HEADER, serviceEnvironment, serviceSecrets, serviceSettings } from './service-settings';

export interface ServicesStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly alerting: AlertingStack;
  readonly network: NetworkStack;
  readonly data: DataStack;
}

/**
 * `BodyScript-<Env>-Services`: everything that serves traffic. The ECS cluster,
 * the api (deployed blue/green by CodeDeploy) and the processing worker
 * (deployed by ECS rolling updates), each behind its own load balancer and
 * rolled back by alarms and health-check canaries, and the CloudFront distribution with its web ACL in front of the
 * web app and the api. The images come from `BodyScript-<Env>-Registry`, named
 * by repository name: that stack is deployed, and the images pushed, first.
 */
export class ServicesStack extends Stack {
  /** The ECS cluster of the environment. */
  public readonly cluster: ecs.Cluster;
  /** The api: FastAPI behind an internet-facing load balancer that accepts CloudFront only. */
  public readonly api: ApiService;
  /** The processing worker, fed by the processing queue, with its health endpoint behind an internal load balancer. */
  public readonly processing: ProcessingService;
  /** The one-off task the schema migrations run in, as the migrations owner. */
  public readonly migrations: DatabaseMigrationsTask;
  /** Value CloudFront sends in ORIGIN_VERIFY_HEADER to the api load balancer. */
  public readonly originVerify: OriginVerifySecret;
  /** CloudFront, WAF and the security headers. */
  public readonly edge: EdgeDistribution;
  /** The frontend buckets' policies (primary and us-west-2 replica), bound to this distribution. */
  public readonly frontendAccess: FrontendBucketAccess;
  /** Rotates the origin-verify value of CloudFront and both regions' api rules. */
  public readonly originVerifyRotation: OriginVerifyRotation;
  /** Health-check canaries of the web app, the api (through CloudFront) and processing (inside the VPC). */
  public readonly canaries: Record<'frontend' | ServiceName, HealthCheckCanary>;
  /** With a domain: `us-east-1.<apiDomainName>`, the target of the PRIMARY half of the failover pair (standby stack). */
  public readonly apiRegionalRecord?: route53.ARecord;
  /** Each service's tasks that crash, cannot start or fail their health checks (a crash loop rolls back). */
  public readonly failedTasks: Record<ServiceName, FailedTasks>;
  private readonly config: EnvironmentConfig;
  private readonly data: DataStack;

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    this.config = config;
    this.data = data;
    const env = config.name;
    const topics = props.alerting.alarmTopics;
    if (this.region !== 'us-east-1') {
      throw new Error(`ServicesStack ${id}: must be deployed in us-east-1, got '${this.region}': it holds the CloudFront web ACL and certificate, which AWS accepts only there (set primary.region of ${env})`);
    }
    const domain = config.domain;
    const zone = domain && route53.HostedZone.fromHostedZoneAttributes(this, 'HostedZone', { hostedZoneId: domain.hostedZoneId, zoneName: domain.hostedZoneName });
    const certificate = (certificateId: string, domainName: string) =>
      zone && new acm.Certificate(this, certificateId, { domainName, validation: acm.CertificateValidation.fromDns(zone) });

    this.cluster = new ecs.Cluster(this, 'Cluster', { clusterName: clusterName(env), vpc: props.network.vpc, containerInsightsV2: ecs.ContainerInsights.ENHANCED });
    acknowledge(
      this.cluster,
      ['cdk-validator-cfnguard::ecs_container_insights_enabled_check'],
      "Container Insights is on in its 'enhanced' mode, a superset of 'enabled' (task- and container-level metrics); the Control Tower rule only recognizes the literal value 'enabled'.",
    );
    this.originVerify = new OriginVerifySecret(this, 'OriginVerifySecret', {
      secretName: originVerifySecretName(env),
      headerName: ORIGIN_VERIFY_HEADER,
      // Imported: the secret's own grant would otherwise add a statement to the data key's policy (data stack).
      encryptionKey: kms.Key.fromKeyArn(this, 'OriginVerifySecretKey', data.dataKey.key.keyArn),
      replica: { region: config.standby.region, encryptionKey: kms.Key.fromKeyArn(this, 'StandbyDatabaseKeyAlias', keyAliasArn(standbyKeyAlias(env, 'database'), config.standby)) },
    });

    const shared = this.sharedTaskSettings();
    const task = (service: ServiceName) => ({ ...this.taskSettings(service), ...shared });
    // With a domain CloudFront reaches the api by its name (which Route 53 can
    // move to the standby region): an internet-facing load balancer behind a
    // regional web ACL. Without one, a VPC origin of an internal load balancer.
    this.api = new ApiService(this, 'Api', {
      ...task('api'),
      internetFacing: domain !== undefined,
      loadBalancerSubnets: { subnetGroupName: domain ? SUBNET_GROUPS.public : SUBNET_GROUPS.application },
      webAcl: domain && this.apiWebAcl().webAcl,
      // Only the api is deployed blue/green; the worker is deployed by ECS rolling updates.
      ...blueGreenDeploymentSettings(config, 'api'),
      release: config.services.api.imageTag,
      certificate: domain && certificate('ApiCertificate', domain.apiDomainName),
      loadBalancerName: apiLoadBalancerName(env),
      originVerify: { name: ORIGIN_VERIFY_HEADER, secret: this.originVerify.secret, secretKey: this.originVerify.encryptionKey },
    });
    this.processing = new ProcessingService(this, 'Processing', {
      ...task('processing'),
      loadBalancerSubnets: { subnetGroupName: SUBNET_GROUPS.application },
      queue: data.processingQueue,
      metricsEnvironment: env,
    });

    this.migrations = this.databaseMigrations(shared.secrets);

    this.edge = this.edgeDistribution(zone, domain && certificate('AppCertificate', domain.appDomainName));
    this.originVerifyRotation = this.rotateOriginVerify();
    // The frontend buckets' policies name this distribution (the data stacks cannot: they are deployed first).
    this.frontendAccess = new FrontendBucketAccess(this, 'FrontendBucketAccess', {
      distribution: this.edge.distribution,
      primary: { bucketName: bucketName(env, 'frontend', this.account, this.region), region: this.region },
      replica: { bucketName: bucketName(env, 'frontend', config.standby.account, config.standby.region), region: config.standby.region },
      logKey: data.logsKey.key,
      logRetention: config.logs.retentionDays as logs.RetentionDays,
    });
    this.canaries = this.healthCanaries(topics.critical, topics.warning, domain ? `https://${domain.appDomainName}` : `https://${this.edge.distribution.distributionDomainName}`);
    this.failedTasks = {
      api: this.failedTasksOf('api'),
      processing: this.failedTasksOf('processing'),
    };
    // The api's CodeDeploy deployment watches its alarms while it shifts traffic and during
    // the termination wait. ECS makes the worker's bake time as long as its longest alarm's
    // evaluation, and every release waits for it: the worker gets only alarms that decide
    // within MAX_DETECTION_TIME (the release budget's bake time); slower ones page.
    const deploymentWatch = {
      api: Duration.minutes(TRAFFIC_SHIFT_MINUTES[config.deployment.strategy] + config.deployment.terminationWaitMinutes),
      processing: MAX_DETECTION_TIME,
    };
    for (const [service, watched] of [['api', this.api], ['processing', this.processing]] as const) {
      watched.watchReleases({
        alarmNamePrefix: `${alarmNamePrefix(env)}${service}-`,
        canaryAlarm: this.canaries[service].failureAlarm,
        canaryRequestsPerMinute: this.canaries[service].requestsPerMinute,
        alarmTopic: topics.warning,
        failedTasks: this.failedTasks[service].metric,
        deploymentWatch: deploymentWatch[service],
      });
    }
    if (domain && zone) {
      // This region's own record of the api; the failover pair that aliases it
      // lives in the standby stack beside the Region switch plan (ApiFailover).
      this.apiRegionalRecord = new route53.ARecord(this, 'ApiRegionalRecord', {
        zone,
        recordName: regionalRecordName(domain.apiDomainName, this.region),
        target: route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(this.api.blueGreen.loadBalancer, { evaluateTargetHealth: true })),
      });
    }
  }

  /** The failed tasks of one service, kept in the environment's logs key and retention. */
  private failedTasksOf(service: ServiceName): FailedTasks {
    return new FailedTasks(this, `${service === 'api' ? 'Api' : 'Processing'}FailedTasks`, {
      cluster: this.cluster,
      // By its literal name, as the events' `group` carries it.
      serviceName: ecsServiceName(this.config.name, service),
      ruleName: `${resourcePrefix(this.config.name)}-${service}-failed-tasks`,
      logKey: this.data.logsKey.key,
      logRetention: this.config.logs.retentionDays as logs.RetentionDays,
    });
  }

  /**
   * What both services' tasks share: the Sentry DSN from Secrets Manager and
   * the load balancer log bucket.
   */
  private sharedTaskSettings() {
    const sentryDsn = secretsmanager.Secret.fromSecretNameV2(this, 'SentryDsn', this.config.sentry.dsnSecretName);
    return {
      secrets: serviceSecrets(sentryDsn),
      accessLogsBucket: this.dataBucket('LoadBalancerLogsBucket', 'alb-logs'),
    };
  }

  /**
   * CloudFront with its web ACL in front of the web app (the frontend bucket,
   * failing over to its standby replica) and `/api/*` (the api load balancer,
   * or the api's name with a domain, with the origin-verify header).
   */
  private edgeDistribution(zone: route53.IHostedZone | undefined, certificate: acm.ICertificate | undefined): EdgeDistribution {
    const { config, data } = this;
    const env = config.name;
    const domain = config.domain;
      return new EdgeDistribution(this, 'Edge', {
        frontendBucket: this.dataBucket('FrontendBucket', 'frontend'),
        // The frontend replica of BodyScript-<Env>-StandbyData, by name and region
        // from config: a reference to that stack would cross regions.
        standbyFrontendBucket: s3.Bucket.fromBucketAttributes(this, 'StandbyFrontendBucket', {
          bucketName: bucketName(env, 'frontend', config.standby.account, config.standby.region),
          region: config.standby.region,
        }),
        apiOriginDomainName: domain?.apiDomainName,
        apiLoadBalancer: domain ? undefined : this.api.blueGreen.loadBalancer,
        apiVpcOriginName: domain ? undefined : apiVpcOriginName(env, this.region),
        apiOriginHeaders: { [ORIGIN_VERIFY_HEADER]: this.originVerify.headerValue },
        logBucket: this.dataBucket('CloudFrontLogsBucket', 'cloudfront-logs'),
        logPrefix: 'cloudfront/',
        certificate,
        domainNames: domain ? [domain.appDomainName] : undefined,
        hostedZone: zone,
        webAclName: webAclName(env),
        // The hosts of the URLs the api signs, in both regions (the standby api signs the replicas').
        additionalConnectSources: presignedUrlOrigins(config),
        logKey: data.logsKey.key,
        logRetention: config.logs.retentionDays as logs.RetentionDays,
        webAclLogGroupName: `aws-waf-logs-${resourcePrefix(env)}-edge`,
      });
  }

  /**
   * The origin-verify value rotates every 30 days: CloudFront and the api
   * rules of both regions (the standby's load balancer by its name, the same
   * in both regions), with an overlap window (OriginVerifyRotation).
   */
  private rotateOriginVerify(): OriginVerifyRotation {
    const env = this.config.name;
    const port = this.api.blueGreen.productionPort;
    return new OriginVerifyRotation(this, 'OriginVerifyRotation', {
      secret: this.originVerify.secret,
      headerName: ORIGIN_VERIFY_HEADER,
      distribution: this.edge.distribution,
      loadBalancers: [this.region, this.config.standby.region].map((region) => ({ region, loadBalancerName: apiLoadBalancerName(env), port })),
      logKey: this.data.logsKey.key,
      logRetention: this.config.logs.retentionDays as logs.RetentionDays,
    });
  }

  /** The regional web ACL of the api's internet-facing load balancer. */
  private apiWebAcl(): RegionalWebAcl {
    const env = this.config.name;
    return new RegionalWebAcl(this, 'ApiWebAcl', {
      webAclName: apiWebAclName(env),
      logGroupName: `aws-waf-logs-${apiWebAclName(env)}`,
      logKey: this.data.logsKey.key,
      logRetention: this.config.logs.retentionDays as logs.RetentionDays,
    });
  }

  /**
   * What a service's tasks and deployment take from config and the data stack:
   * the image (from the Registry stack's repository, by name), the buckets,
   * the database, the scaling bounds.
   */
  private taskSettings(service: ServiceName) {
    const { config, data } = this;
    const env = config.name;
    const title = service === 'api' ? 'Api' : 'Processing';
    const objects = (purpose: string) => `arn:${this.partition}:s3:::${bucketName(env, purpose, this.account, this.region)}/*`;
    return {
      ...serviceSettings(config, service),
      cluster: this.cluster,
      image: ecs.ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(this, `${title}Repository`, repositoryName(env, service)), config.services[service].imageTag),
      minTasks: config.services[service].minTasks,
      maxTasks: config.services[service].maxTasks,
      environment: {
        ...serviceEnvironment(config, service, { uploads: data.uploadsBucket.bucketName, results: data.resultsBucket.bucketName }),
        ...databaseEnvironment({
          host: data.database.instance.instanceEndpoint.hostname,
          port: POSTGRES_PORT,
          databaseName: config.database.databaseName,
          user: SERVICE_DATABASE_ROLES[service],
          region: this.region,
        }),
      },
      logKey: data.logsKey.key,
      storage: { uploadsObjects: objects('uploads'), resultsObjects: objects('results'), dataKeyArn: data.dataKey.key.keyArn, region: this.region },
      database: {
        securityGroup: data.database.instance.connections.securityGroups[0],
        port: POSTGRES_PORT,
        resourceId: data.database.resourceId,
        user: SERVICE_DATABASE_ROLES[service],
      },
    };
  }

  /**
   * The one-off task the application team runs its schema migrations with, as
   * the schema's owner (runbooks/database-access.md): the api image at the
   * release's tag, IAM authentication, no service.
   */
  private databaseMigrations(secrets: Record<string, ecs.Secret>): DatabaseMigrationsTask {
    const { config, data } = this;
    const env = config.name;
    return new DatabaseMigrationsTask(this, 'Migrations', {
      cluster: this.cluster,
      family: `${resourcePrefix(env)}-migrations`,
      image: ecs.ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(this, 'MigrationsRepository', repositoryName(env, 'api')), config.services.api.imageTag),
      database: { securityGroup: data.database.instance.connections.securityGroups[0], port: POSTGRES_PORT, resourceId: data.database.resourceId, user: MIGRATIONS_ROLE },
      environment: {
        BODYSCRIPT_ENVIRONMENT: env,
        SENTRY_ENVIRONMENT: env,
        SENTRY_RELEASE: config.services.api.imageTag,
        ...databaseEnvironment({
          host: data.database.instance.instanceEndpoint.hostname,
          port: POSTGRES_PORT,
          databaseName: config.database.databaseName,
          user: MIGRATIONS_ROLE,
          region: this.region,
        }),
      },
      secrets: { SENTRY_DSN: secrets.SENTRY_DSN },
      subnets: { subnetGroupName: SUBNET_GROUPS.application },
      logGroupName: `/bodyscript/${env}/migrations`,
      logKey: data.logsKey.key,
      logRetention: config.logs.retentionDays as logs.RetentionDays,
    });
  }

  /**
   * A bucket of the data stack by its literal name: its policies are the data
   * stack's, and a literal name is what Control Tower's logging checks accept.
   */
  private dataBucket(id: string, purpose: string): s3.IBucket {
    const name = bucketName(this.config.name, purpose, this.account, this.region);
    return s3.Bucket.fromBucketAttributes(this, id, { bucketName: name, bucketRegionalDomainName: `${name}.s3.${this.region}.amazonaws.com`, region: this.region });
  }

  /**
   * The web app, the api (through CloudFront, so it takes the users' path: WAF,
   * origin header) and processing (inside the VPC, through its internal load
   * balancer) checked every minute; each failure alarm pages and rolls its
   * service back. Construct IDs `FrontendCanary`, `ApiCanary`, `ProcessingCanary`
   * at the stack's top level: part of the pinned logical IDs of their buckets.
   */
  private healthCanaries(alarmTopic: sns.ITopic, silenceAlarmTopic: sns.ITopic, appUrl: string): Record<'frontend' | ServiceName, HealthCheckCanary> {
    const env = this.config.name;
    const domain = this.config.domain;
    const common = (
      target: 'frontend' | ServiceName,
    ): Pick<HealthCheckCanaryProps, 'encryptionKey' | 'accessLogsBucket' | 'alarmTopic' | 'silenceAlarmTopic' | 'canaryName' | 'alarmName' | 'maxLatency'> => ({
      encryptionKey: this.data.logsKey.key,
      accessLogsBucket: this.data.accessLogsBucket,
      alarmTopic,
      // A canary that stopped running hurts no user yet: working hours.
      silenceAlarmTopic,
      canaryName: canaryName(env, target),
      alarmName: alarmName(env, target, 'Canary'),
      maxLatency: Duration.seconds(2),
    });
    return {
      frontend: new HealthCheckCanary(this, 'FrontendCanary', {
        ...common('frontend'),
        url: `${appUrl}/`,
        route53HealthCheck: domain ? { fqdn: domain.appDomainName, resourcePath: '/' } : undefined,
      }),
      api: new HealthCheckCanary(this, 'ApiCanary', {
        ...common('api'),
        url: `${appUrl}/api/health`,
        // Enough requests a minute for the latency rollback alarm to tell a slow release
        // from one slow cold request, which it ignores (lib/low-traffic.ts, review R14).
        requestsPerRun: Math.ceil(MIN_BAD_REQUESTS_PER_MINUTE / (60 / CANARY_INTERVAL.toSeconds())),
        expectedBodyPattern: '"status"\\s*:\\s*"ok"',
        route53HealthCheck: domain ? { fqdn: domain.appDomainName, resourcePath: '/api/health' } : undefined,
      }),
      processing: new HealthCheckCanary(this, 'ProcessingCanary', {
        ...common('processing'),
        url: `http://${this.processing.worker.loadBalancer.loadBalancerDnsName}/health`,
        vpc: this.cluster.vpc,
        vpcSubnets: { subnetGroupName: SUBNET_GROUPS.application },
        securityGroups: [this.processing.healthCheckSecurityGroup],
      }),
    };
  }
}
