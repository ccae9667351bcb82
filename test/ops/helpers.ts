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
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  DescribeCanariesLastRunCommand,
  type DescribeCanariesLastRunCommandInput,
  type DescribeCanariesLastRunCommandOutput,
  type ServiceInputTypes as SyntheticsInput,
  type ServiceOutputTypes as SyntheticsOutput,
  SyntheticsClient,
} from '@aws-sdk/client-synthetics';
import { type AwsCommand, type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { type EnvironmentConfig, type EnvironmentName, loadConfig } from '../../lib/config';
import type { OpsClients, RegionalClients } from '../../lib/ops/clients';
import { createContext, type OpsContext } from '../../lib/ops/context';
import type { Clock, Output } from '../../lib/ops/progress';
import type { RetryOptions } from '../../lib/ops/retry';
import { FakeRegionSwitch } from './fake-region-switch';

/**
 * @aws-sdk/client-synthetics is pinned to an older release whose nested @smithy
 * types differ from those aws-sdk-client-mock is typed against; the classes are
 * the same at run time. These casts keep the synthetics mocks typed.
 */
export const DescribeCanariesLastRun = DescribeCanariesLastRunCommand as unknown as new (
  input: DescribeCanariesLastRunCommandInput,
) => AwsCommand<DescribeCanariesLastRunCommandInput, DescribeCanariesLastRunCommandOutput>;

/** A clock whose sleep advances time instantly: polling loops run without waiting. */
export interface FakeClock extends Clock {
  readonly sleeps: number[];
  advance(ms: number): void;
}

export const START = Date.parse('2025-06-01T12:00:00Z');

export function fakeClock(start = START): FakeClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

export interface CapturedOutput extends Output {
  readonly lines: string[];
  readonly errors: string[];
  text(): string;
}

export function captureOutput(): CapturedOutput {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, line: (t) => lines.push(t), error: (t) => errors.push(t), text: () => [...lines, ...errors].join('\n') };
}

function regional(region: string, clock: Clock) {
  const regionSwitch = new FakeRegionSwitch(region, clock);
  const clients = {
    region,
    applicationSignals: new ApplicationSignalsClient({ region }),
    autoScaling: new ApplicationAutoScalingClient({ region }),
    cloudFormation: new CloudFormationClient({ region }),
    cloudWatch: new CloudWatchClient({ region }),
    codeDeploy: new CodeDeployClient({ region }),
    ec2: new EC2Client({ region }),
    ecr: new ECRClient({ region }),
    ecs: new ECSClient({ region }),
    elbv2: new ElasticLoadBalancingV2Client({ region }),
    rds: new RDSClient({ region }),
    s3: new S3Client({ region }),
    secretsManager: new SecretsManagerClient({ region }),
    serviceQuotas: new ServiceQuotasClient({ region }),
    ssm: new SSMClient({ region }),
    sts: new STSClient({ region }),
    synthetics: new SyntheticsClient({ region }),
    regionSwitch,
  } satisfies RegionalClients;
  // Instance mocks (not class mocks), so a test can tell a primary-region call from a standby-region one.
  const mocks = {
    applicationSignals: mockClient(clients.applicationSignals),
    autoScaling: mockClient(clients.autoScaling),
    cloudFormation: mockClient(clients.cloudFormation),
    cloudWatch: mockClient(clients.cloudWatch),
    codeDeploy: mockClient(clients.codeDeploy),
    ec2: mockClient(clients.ec2),
    ecr: mockClient(clients.ecr),
    ecs: mockClient(clients.ecs),
    elbv2: mockClient(clients.elbv2),
    rds: mockClient(clients.rds),
    s3: mockClient(clients.s3),
    secretsManager: mockClient(clients.secretsManager),
    serviceQuotas: mockClient(clients.serviceQuotas),
    ssm: mockClient(clients.ssm),
    sts: mockClient(clients.sts),
    synthetics: mockClient(clients.synthetics as never) as unknown as AwsStub<SyntheticsInput, SyntheticsOutput, unknown>,
  };
  return { clients, mocks, regionSwitch };
}

export type Mocks = ReturnType<typeof mockedClients>['mocks'];

export function mockedClients(clock: Clock = fakeClock()) {
  const primary = regional('us-east-1', clock);
  const standby = regional('us-west-2', clock);
  const route53 = new Route53Client({ region: 'us-east-1' });
  const iam = new IAMClient({ region: 'us-east-1' });
  // `sts` is the primary region's STS (also clients.sts), which commands about the primary ask (verify, rollback, snapshot, preflight).
  const clients: OpsClients = { primary: primary.clients, standby: standby.clients, route53, sts: primary.clients.sts, iam };
  return {
    clients,
    mocks: { primary: primary.mocks, standby: standby.mocks, route53: mockClient(route53), sts: primary.mocks.sts, iam: mockClient(iam) },
    regionSwitch: { primary: primary.regionSwitch, standby: standby.regionSwitch },
  };
}

/** Throttling is retried quickly in tests; the fake clock makes the delays free anyway. */
export const FAST_RETRY: RetryOptions = { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 8000 };

export interface Harness {
  readonly ctx: OpsContext;
  readonly mocks: Mocks;
  /** The Region switch model of each region. */
  readonly regionSwitch: { readonly primary: FakeRegionSwitch; readonly standby: FakeRegionSwitch };
  readonly clock: FakeClock;
  readonly out: CapturedOutput;
  readonly config: EnvironmentConfig;
}

export function harness(env: EnvironmentName = 'staging', configOverride: Partial<EnvironmentConfig> = {}): Harness {
  const config = { ...loadConfig().environments[env], ...configOverride } as EnvironmentConfig;
  const clock = fakeClock();
  const { clients, mocks, regionSwitch } = mockedClients(clock);
  const out = captureOutput();
  for (const side of ['primary', 'standby'] as const) {
    const account = config[side].account;
    mocks[side].sts.on(GetCallerIdentityCommand).resolves({ Account: account, Arn: `arn:aws:sts::${account}:assumed-role/Operator/alice` });
  }
  const ctx = createContext({ env, config, clients, clock, out, retry: FAST_RETRY });
  return { ctx, mocks, regionSwitch, clock, out, config };
}

/** An error as the SDK throws it: the AWS error code is the name. */
export function awsError(name: string, message = `${name} from the mock`): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

/** Every command name a mocked client received. */
export function commandNames(mock: { calls(): { args: unknown[] }[] }): string[] {
  return mock.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name);
}
