import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { ApplicationSignalsClient } from '@aws-sdk/client-application-signals';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { SyntheticsClient } from '@aws-sdk/client-synthetics';
import type { EnvironmentConfig } from '../config';
import { RegionSwitchClient, type RegionSwitchApi } from './dr/region-switch-client';

/** The clients of one region. Commands never build clients themselves: tests pass mocked ones. */
export interface RegionalClients {
  readonly region: string;
  /** SLO budget reports (`ops slo`). */
  readonly applicationSignals: ApplicationSignalsClient;
  readonly autoScaling: ApplicationAutoScalingClient;
  readonly cloudFormation: CloudFormationClient;
  readonly cloudWatch: CloudWatchClient;
  readonly codeDeploy: CodeDeployClient;
  readonly ec2: EC2Client;
  readonly ecr: ECRClient;
  readonly ecs: ECSClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly rds: RDSClient;
  readonly s3: S3Client;
  readonly secretsManager: SecretsManagerClient;
  readonly serviceQuotas: ServiceQuotasClient;
  readonly ssm: SSMClient;
  /** STS of this region: a failover asks the recovery region's STS who it is, never the failed region's. */
  readonly sts: STSClient;
  readonly synthetics: SyntheticsClient;
  /** ARC Region switch, data plane of this region (signed by hand: lib/ops/dr/region-switch-client.ts). */
  readonly regionSwitch: RegionSwitchApi;
}

/** Clients for the account of the GitHub deploy roles when it is another account (`ops preflight --github-profile`). */
export interface GitHubAccountClients {
  readonly iam: IAMClient;
  readonly sts: STSClient;
}

/** Clients for the environment's primary region, its standby region, and the global services. */
export interface OpsClients {
  readonly primary: RegionalClients;
  readonly standby: RegionalClients;
  /** Route 53's API lives in us-east-1: no failover step calls it. */
  readonly route53: Route53Client;
  /** The primary region's STS: the same client as `primary.sts`. */
  readonly sts: STSClient;
  /** IAM is global (its API lives in us-east-1). */
  readonly iam: IAMClient;
  /** Only when asked for: read the GitHub deploy role in its own account. */
  readonly github?: GitHubAccountClients;
}

/** What the CLI's arguments change about the clients. */
export interface ClientOptions {
  /** A named AWS profile (shared config) with credentials of the GitHub deploy roles' account. */
  readonly githubProfile?: string;
}

export function createRegionalClients(region: string): RegionalClients {
  // The SDK's own retries (standard mode, 3 attempts) absorb short blips; lib/ops/retry.ts adds a longer backoff on throttling.
  const options = { region, maxAttempts: 3 };
  return {
    region,
    applicationSignals: new ApplicationSignalsClient(options),
    autoScaling: new ApplicationAutoScalingClient(options),
    cloudFormation: new CloudFormationClient(options),
    cloudWatch: new CloudWatchClient(options),
    codeDeploy: new CodeDeployClient(options),
    ec2: new EC2Client(options),
    ecr: new ECRClient(options),
    ecs: new ECSClient(options),
    elbv2: new ElasticLoadBalancingV2Client(options),
    rds: new RDSClient(options),
    s3: new S3Client(options),
    secretsManager: new SecretsManagerClient(options),
    serviceQuotas: new ServiceQuotasClient(options),
    ssm: new SSMClient(options),
    // STS answers in every region; the SDK uses the regional endpoint of the region it is given.
    sts: new STSClient(options),
    synthetics: new SyntheticsClient(options),
    regionSwitch: new RegionSwitchClient({ region }),
  };
}

/** Real clients for an environment, using the default credential chain (AWS_PROFILE, SSO, environment, ...). */
export function createAwsClients(config: EnvironmentConfig, options: ClientOptions = {}): OpsClients {
  const github = options.githubProfile ? { region: 'us-east-1', maxAttempts: 3, profile: options.githubProfile } : undefined;
  const primary = createRegionalClients(config.primary.region);
  return {
    primary,
    standby: createRegionalClients(config.standby.region),
    // Route 53 and IAM are global; their APIs live in us-east-1.
    route53: new Route53Client({ region: 'us-east-1', maxAttempts: 3 }),
    sts: primary.sts,
    iam: new IAMClient({ region: 'us-east-1', maxAttempts: 3 }),
    github: github && { iam: new IAMClient(github), sts: new STSClient(github) },
  };
}
