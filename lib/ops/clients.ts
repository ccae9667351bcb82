import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { SyntheticsClient } from '@aws-sdk/client-synthetics';
import type { EnvironmentConfig } from '../config';

/** The clients of one region. Commands never build clients themselves: tests pass mocked ones. */
export interface RegionalClients {
  readonly region: string;
  readonly autoScaling: ApplicationAutoScalingClient;
  readonly cloudWatch: CloudWatchClient;
  readonly codeDeploy: CodeDeployClient;
  readonly ecs: ECSClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly rds: RDSClient;
  readonly s3: S3Client;
  readonly synthetics: SyntheticsClient;
}

/** Clients for the environment's primary region, its standby region, and the global services. */
export interface OpsClients {
  readonly primary: RegionalClients;
  readonly standby: RegionalClients;
  readonly route53: Route53Client;
  readonly sts: STSClient;
}

export function createRegionalClients(region: string): RegionalClients {
  // The SDK's own retries (standard mode, 3 attempts) absorb short blips; lib/ops/retry.ts adds a longer backoff on throttling.
  const options = { region, maxAttempts: 3 };
  return {
    region,
    autoScaling: new ApplicationAutoScalingClient(options),
    cloudWatch: new CloudWatchClient(options),
    codeDeploy: new CodeDeployClient(options),
    ecs: new ECSClient(options),
    elbv2: new ElasticLoadBalancingV2Client(options),
    rds: new RDSClient(options),
    s3: new S3Client(options),
    synthetics: new SyntheticsClient(options),
  };
}

/** Real clients for an environment, using the default credential chain (AWS_PROFILE, SSO, environment, ...). */
export function createAwsClients(config: EnvironmentConfig): OpsClients {
  return {
    primary: createRegionalClients(config.primary.region),
    standby: createRegionalClients(config.standby.region),
    // Route 53 is global; its API lives in us-east-1.
    route53: new Route53Client({ region: 'us-east-1', maxAttempts: 3 }),
    sts: new STSClient({ region: config.primary.region, maxAttempts: 3 }),
  };
}
