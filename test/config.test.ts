import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ApplicationVpc } from '../constructs/application-vpc';
import { estimatedMaxConnections } from '../constructs/data-alarms';
import { buildBodyScriptApp } from '../lib/app';
import { MINIMUM_REASON_LENGTH } from '../lib/compliance';
import {
  ACCEPTED_LOG_RETENTION_DAYS,
  type BodyScriptConfig,
  ConfigError,
  describeValue,
  ENVIRONMENT_FILES,
  type EnvironmentConfigInput,
  loadConfig,
  MINIMUM_LOG_RETENTION_DAYS,
  MINIMUM_SINGLE_AZ_REASON_LENGTH,
  PROJECT_FILE,
} from '../lib/config';
import { loadConfigFromContext, projectContextKeys, readCliContext, unknownContextKeyProblems } from '../lib/config/context';
import {
  cdkCidrBlock,
  cidrBlocksOverlap,
  dailyBackupStartHoursClearOfRds,
  describeHours,
  minimumMaxAllocatedStorageGiB,
  POSTGRES_ENGINE_VERSIONS,
  POSTGRES_INSTANCE_CLASSES,
  VPC_SUBNET_CIDR_MASKS,
  vpcSubnetsFit,
} from '../lib/config/aws';
import { cdkJsonContext } from './support/synthesize';

type Mutation = (config: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The config files with `mutate` applied to a copy of one environment (production unless said). */
function filesAfter(mutate: Mutation, environment: 'staging' | 'production' = 'production') {
  const environments: Record<string, EnvironmentConfigInput> = structuredClone({ ...ENVIRONMENT_FILES });
  const project = structuredClone(PROJECT_FILE) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (environment === ('project' as string)) mutate(project);
  else mutate(environments[environment] as Record<string, unknown>);
  return { environments, project };
}

/** Returns the problems loadConfig reports when `mutate` is applied to a copy of production. */
function problemsAfter(mutate: Mutation, environment: 'staging' | 'production' | 'project' = 'production'): string[] {
  try {
    loadConfig({}, filesAfter(mutate, environment as 'production'));
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

const CLASSES = 't3/t4g micro–2xlarge; m5/r5 large–24xlarge; m6g/m7g/r6g/r7g/x2g large–16xlarge; m6i/r6i large–32xlarge; m7i/m8g/r7i/r8g large–48xlarge';
const VERSIONS = '16.1–16.13, 17.1–17.9, 18.1–18.3';
const LOG_RETENTIONS = "365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (a CloudWatch Logs retention of at least a year, as Control Tower's CT.CLOUDWATCH.PR.2 requires on every synth)";
const DOMAIN = { hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'bodyscript.example', appDomainName: 'app.bodyscript.example', apiDomainName: 'api.bodyscript.example' };

describe('environment configuration', () => {
  test('the committed staging and production files are valid', () => {
    const config = loadConfig();
    expect(config.environments.staging.name).toBe('staging');
    expect(config.environments.production.name).toBe('production');
    expect(config.project.github.owner).toBe(PROJECT_FILE.github.owner);
  });

  test('the committed files give staging 7 days of backups and production 35 with Multi-AZ', () => {
    const { environments } = loadConfig();
    expect(environments.staging.database.backupRetentionDays).toBe(7);
    expect(environments.production.database.backupRetentionDays).toBe(35);
    expect(environments.production.database.multiAz).toBe(true);
    expect(environments.production.backup.retentionDays).toBe(35);
    expect(environments.staging.storage.resultsRetention).toEqual({ mode: 'GOVERNANCE', days: 7 });
    expect(environments.production.storage.resultsRetention).toEqual({ mode: 'GOVERNANCE', days: 30 });
    expect(environments.staging.network).toMatchObject({ maxAzs: 2, natGateways: 1 });
    expect(environments.production.network).toMatchObject({ maxAzs: 3, natGateways: 3, interfaceEndpoints: true });
  });

  // Each row: what is wrong, the mutation, and the exact line the operator sees.
  const badConfigs: [string, Mutation, string][] = [
    ['backup retention above the RDS maximum', (c) => (c.database.backupRetentionDays = 90), 'production.database.backupRetentionDays: must be an integer 1–35 days, got 90'],
    [
      'results locked in compliance mode (no erasure, no failback clean-up)',
      (c) => (c.storage.resultsRetention.mode = 'COMPLIANCE'),
      "production.storage.resultsRetention.mode: must be 'GOVERNANCE' (COMPLIANCE would lock each result against everyone, root and break glass included, so neither an erasure request nor the failback clean-up could remove it before the period ends), got 'COMPLIANCE'",
    ],
    ['results locked for no day (S3 refuses a retention under a day)', (c) => (c.storage.resultsRetention.days = 0), 'production.storage.resultsRetention.days: must be an integer 1–3650 days, got 0'],
    ['results without a retention', (c) => delete c.storage.resultsRetention, 'production.storage.resultsRetention: is required (an object)'],
    [
      'results locked longer than versions are kept',
      (c) => (c.storage.resultsRetention.days = 91),
      'production.storage.resultsRetention.days: must be at most storage.noncurrentVersionExpirationDays (90): a longer lock would keep deleted results past the time versions are kept, got 91',
    ],
    ['a missing account id', (c) => delete c.primary.account, 'production.primary.account: must be a 12-digit AWS account id, got nothing'],
    ['an account id with letters', (c) => (c.standby.account = '12345678901x'), "production.standby.account: must be a 12-digit AWS account id, got '12345678901x'"],
    ['a region that is not a region', (c) => (c.primary.region = 'useast1'), "production.primary.region: must be an AWS region name such as us-east-1, got 'useast1'"],
    ['standby in the primary region', (c) => (c.standby.region = 'us-east-1'), "production.standby.region: must be 'us-west-2' (the standby region the DR runbooks, the dr-drill workflow and the cdk.context.json lookups are written for), got 'us-east-1'"],
    ['overlapping VPC CIDRs', (c) => (c.network.standbyCidr = '10.20.128.0/17'), 'production.network.standbyCidr: must not overlap network.primaryCidr 10.20.0.0/16, got 10.20.128.0/17'],
    ['a malformed CIDR', (c) => (c.network.primaryCidr = '10.300.0.0/16'), "production.network.primaryCidr: must be an IPv4 CIDR block with a prefix of /16 to /24, such as 10.10.0.0/16, got '10.300.0.0/16'"],
    ['four availability zones', (c) => (c.network.maxAzs = 4), 'production.network.maxAzs: must be an integer 2–3 availability zones, got 4'],
    ['more NAT gateways than AZs', (c) => ((c.network.maxAzs = 2), (c.network.natGateways = 3)), 'production.network.natGateways: must be at most network.maxAzs (2), got 3'],
    ['a PostgreSQL version that is too old', (c) => (c.database.engineVersion = '13.4'), `production.database.engineVersion: must be a PostgreSQL version 'major.minor' that aws-cdk-lib knows, major 16 or newer: ${VERSIONS}, got '13.4'`],
    ['an instance class with the db. prefix', (c) => (c.database.instanceClass = 'db.r7g.large'), "production.database.instanceClass: must be given without the db. prefix, such as r7g.large, got 'db.r7g.large'"],
    [
      'storage ceiling below allocated storage',
      (c) => (c.database.maxAllocatedStorageGiB = 50),
      'production.database.maxAllocatedStorageGiB: must be at least 110 GiB, 10 % above database.allocatedStorageGiB (100): RDS refuses a lower storage autoscaling ceiling, got 50',
    ],
    [
      'storage ceiling less than 10 % above allocated storage',
      (c) => (c.database.maxAllocatedStorageGiB = 109),
      'production.database.maxAllocatedStorageGiB: must be at least 110 GiB, 10 % above database.allocatedStorageGiB (100): RDS refuses a lower storage autoscaling ceiling, got 109',
    ],
    [
      'storage ceiling equal to allocated storage (a ceiling RDS refuses, not "no autoscaling")',
      (c) => ((c.database.allocatedStorageGiB = 1000), (c.database.maxAllocatedStorageGiB = 1000)),
      'production.database.maxAllocatedStorageGiB: must be at least 1100 GiB, 10 % above database.allocatedStorageGiB (1000): RDS refuses a lower storage autoscaling ceiling, got 1000',
    ],
    [
      'a daily backup starting in the RDS backup window',
      (c) => (c.backup.dailyStartHourUtc = 3),
      'production.backup.dailyStartHourUtc: must be an hour (UTC) whose 1-hour start window stays clear of the database\'s RDS backup window 03:00-04:00 and maintenance window sun:04:30-sun:05:30 (the backup job cannot snapshot the instance while RDS backs it up or maintains it, and expires without a recovery point): 0–2, 6–23, got 3',
    ],
    [
      'a daily backup whose start window runs into the RDS maintenance window (every Sunday)',
      (c) => (c.backup.dailyStartHourUtc = 5),
      'production.backup.dailyStartHourUtc: must be an hour (UTC) whose 1-hour start window stays clear of the database\'s RDS backup window 03:00-04:00 and maintenance window sun:04:30-sun:05:30 (the backup job cannot snapshot the instance while RDS backs it up or maintains it, and expires without a recovery point): 0–2, 6–23, got 5',
    ],
    ['Multi-AZ as a string', (c) => (c.database.multiAz = 'yes'), "production.database.multiAz: must be true or false, got 'yes'"],
    ['a Performance Insights retention RDS does not offer', (c) => (c.database.performanceInsightsRetentionDays = 30), 'production.database.performanceInsightsRetentionDays: must be one of 7, 31, 62, 93, 186, 372, 731 (days), got 30'],
    ['no alarm e-mail', (c) => (c.alarms.emails = []), 'production.alarms.emails: must list at least one e-mail address, got none'],
    [
      'an SLO goal too low for the fastest burn-rate alert to fire',
      (c) => (c.serviceLevelObjectives.apiAvailability.goal = 0.9),
      'production.serviceLevelObjectives.apiAvailability.goal: must be at least 0.9306: the fastest burn-rate alert fires at 14.4× the budget, which for a lower goal is an error ratio above 100 %, got 0.9',
    ],
    ['an SLO goal of 100 %', (c) => (c.serviceLevelObjectives.apiLatency.goal = 1), 'production.serviceLevelObjectives.apiLatency.goal: must be a fraction strictly between 0 and 1 such as 0.999, got 1'],
    ['an SLO goal given in percent', (c) => (c.serviceLevelObjectives.webAppCanary.goal = 99.9), 'production.serviceLevelObjectives.webAppCanary.goal: must be a fraction strictly between 0 and 1 such as 0.999, got 99.9'],
    ['an SLO window shorter than the ticket’s 3-day window', (c) => (c.serviceLevelObjectives.windowDays = 3), 'production.serviceLevelObjectives.windowDays: must be an integer 7–30 days, got 3'],
    ['no minimum of failures for burn-rate alerts', (c) => (c.serviceLevelObjectives.minimumBadEvents = 0), "production.serviceLevelObjectives.minimumBadEvents: must be an integer 3–100 failed events: the low-traffic rule (lib/low-traffic.ts) counts no fewer than 3 failures, since one or two among the canaries' few requests at night are no trend, got 0"],
    ['a minimum of failures below the low-traffic rule (the construct refuses it too)', (c) => (c.serviceLevelObjectives.minimumBadEvents = 2), "production.serviceLevelObjectives.minimumBadEvents: must be an integer 3–100 failed events: the low-traffic rule (lib/low-traffic.ts) counts no fewer than 3 failures, since one or two among the canaries' few requests at night are no trend, got 2"],
    ['a fractional minimum of failures', (c) => (c.serviceLevelObjectives.minimumBadEvents = 3.5), "production.serviceLevelObjectives.minimumBadEvents: must be an integer 3–100 failed events: the low-traffic rule (lib/low-traffic.ts) counts no fewer than 3 failures, since one or two among the canaries' few requests at night are no trend, got 3.5"],
    ['a latency threshold in seconds', (c) => (c.serviceLevelObjectives.apiLatency.thresholdMilliseconds = 0.5), 'production.serviceLevelObjectives.apiLatency.thresholdMilliseconds: must be an integer 50–10000 milliseconds, got 0.5'],
    ['an e-mail that is not one', (c) => (c.alarms.emails = ['oncall']), "production.alarms.emails.0: must be an e-mail address such as oncall@example.com, got 'oncall'"],
    ['a Fargate memory size the CPU does not allow', (c) => (c.services.api.memoryMiB = 1024), 'production.services.api.memoryMiB: must be a Fargate memory size for 1024 CPU units (2048–8192 in steps of 1024), got 1024'],
    ['a CPU size Fargate does not have', (c) => (c.services.processing.cpu = 3000), 'production.services.processing.cpu: must be one of 256, 512, 1024, 2048, 4096 (CPU units), got 3000'],
    ['fewer max tasks than min tasks', (c) => (c.services.api.maxTasks = 2), 'production.services.api.maxTasks: must be at least services.api.minTasks (3), got 2'],
    ['an image tag with a space', (c) => (c.services.api.imageTag = 'v1 final'), "production.services.api.imageTag: must be an image tag of 1–128 letters, digits, '.', '_' or '-' starting with a letter or digit, got 'v1 final'"],
    ['a deployment timeout CloudFormation cannot wait for', (c) => (c.deployment.timeoutMinutes = 90), 'production.deployment.timeoutMinutes: must be at most 60 minutes (CloudFormation waits at most an hour for the deployment started by cdk deploy), got 90'],
    [
      'a deployment timeout shorter than the termination wait',
      (c) => (c.deployment.timeoutMinutes = 30),
      "production.deployment.timeoutMinutes: must be at least 45 minutes (10 to start the green tasks + 5 to shift traffic with 'canary-10-percent-5-minutes' + deployment.terminationWaitMinutes 30), got 30",
    ],
    ['an unknown deployment strategy', (c) => (c.deployment.strategy = 'big-bang'), "production.deployment.strategy: must be one of 'all-at-once', 'canary-10-percent-5-minutes', 'linear-10-percent-every-1-minute', got 'big-bang'"],
    ['a log retention CloudWatch does not offer', (c) => (c.logs.retentionDays = 100), `production.logs.retentionDays: must be one of ${LOG_RETENTIONS}, got 100`],
    ['a log retention CloudWatch offers but Control Tower refuses on every synth', (c) => (c.logs.retentionDays = 30), `production.logs.retentionDays: must be one of ${LOG_RETENTIONS}, got 30`],
    ['a log retention one step short of a year', (c) => (c.logs.retentionDays = 180), `production.logs.retentionDays: must be one of ${LOG_RETENTIONS}, got 180`],
    ['a misspelt field', (c) => (c.database.backupRetentionDay = 7), 'production.database.backupRetentionDay: is not a known field; check its spelling against lib/config/schema.ts'],
    ['a missing section', (c) => delete c.sentry, 'production.sentry: is required (an object)'],
    ['a Slack channel id that is not one', (c) => (c.slack = { workspaceId: 'T0123ABCDEF', criticalChannelId: '#alerts', warningChannelId: 'C0123ABCDEF' }), "production.slack.criticalChannelId: must be a Slack channel id such as C012ABCDEFG, got '#alerts'"],
    ['an app domain outside the hosted zone', (c) => (c.domain = { hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'bodyscript.example', appDomainName: 'app.other.example', apiDomainName: 'api.bodyscript.example' }), "production.domain.appDomainName: must be inside domain.hostedZoneName 'bodyscript.example', got 'app.other.example'"],
    [
      'production without a domain',
      (c) => delete c.domain,
      'production.domain: must be given in production: the api fails over between regions only through Route 53 health checks on its own name (data plane), and without a domain a failover needs a CloudFront change in us-east-1 (control plane), got nothing',
    ],
    [
      'production without a domain, with a reason',
      (c) => ((c.noDomainReason = 'We accept a manual CloudFront change for the api failover.'), delete c.domain),
      'production.domain: must be given in production: the api fails over between regions only through Route 53 health checks on its own name (data plane), and without a domain a failover needs a CloudFront change in us-east-1 (control plane), got nothing',
    ],
    ['a domain and a reason for having none', (c) => (c.noDomainReason = 'We accept a manual CloudFront change for the api failover.'), "production.noDomainReason: must be left out when domain is given, got 'We accept a manual CloudFront change for the api failover.'"],
    ['an environment name that does not exist', (c) => (c.name = 'qa'), "production.name: must be one of 'staging', 'production', got 'qa'"],
    ['a file that configures the other environment', (c) => (c.name = 'staging'), "production.name: must be 'production' (the environment this file configures), got 'staging'"],
    // Regions and account layouts the app can build (each was a stack trace in app construction).
    ['a primary region without CloudFront WAF and ACM for CloudFront', (c) => (c.primary.region = 'eu-west-1'), "production.primary.region: must be 'us-east-1' (the CloudFront web ACL and certificate of the services stack exist only there), got 'eu-west-1'"],
    ['a region that looks like one but does not exist', (c) => (c.primary.region = 'us-east-7'), "production.primary.region: must be an AWS region name such as us-east-1, got 'us-east-7'"],
    ['a standby region the DR setup is not written for', (c) => (c.standby.region = 'us-east-2'), "production.standby.region: must be 'us-west-2' (the standby region the DR runbooks, the dr-drill workflow and the cdk.context.json lookups are written for), got 'us-east-2'"],
    ['a standby in another account', (c) => (c.standby.account = '333333333333'), "production.standby.account: must be primary.account (222222222222): the operations role, image replication and DR failover work within one account, got '333333333333'"],
    ['an account id of 11 digits', (c) => (c.primary.account = '22222222222'), "production.primary.account: must be a 12-digit AWS account id, got '22222222222'"],
    ['an account id as a number', (c) => (c.primary.account = 222222222222), 'production.primary.account: must be a 12-digit AWS account id, got 222222222222'],
    // CIDRs as CDK computes them.
    ['a CIDR with host bits (CDK rounds it up to the next block)', (c) => (c.network.primaryCidr = '10.20.0.1/16'), "production.network.primaryCidr: must have no host bits set: CDK would build 10.21.0.0/16 from it, not the block written; write the network address, such as 10.20.0.0/16, got '10.20.0.1/16'"],
    ['a CIDR with host bits in the third octet', (c) => (c.network.standbyCidr = '10.120.64.0/17'), "production.network.standbyCidr: must have no host bits set: CDK would build 10.120.128.0/17 from it, not the block written; write the network address, such as 10.120.0.0/17, got '10.120.64.0/17'"],
    ['a public CIDR', (c) => (c.network.primaryCidr = '52.20.0.0/16'), "production.network.primaryCidr: must be inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16), got '52.20.0.0/16'"],
    ['a CIDR that straddles the 172.16/12 range', (c) => (c.network.primaryCidr = '172.31.0.0/15'), "production.network.primaryCidr: must be an IPv4 CIDR block with a prefix of /16 to /24, such as 10.10.0.0/16, got '172.31.0.0/15'"],
    ['a VPC too small for three AZs of subnets', (c) => (c.network.primaryCidr = '10.20.0.0/18'), 'production.network.primaryCidr: must be a /17 or larger to hold a /24 public, a /20 application and a /24 database subnet in each of network.maxAzs (3) AZs, got 10.20.0.0/18'],
    ['a /24 VPC', (c) => (c.network.standbyCidr = '10.120.0.0/24'), 'production.network.standbyCidr: must be a /17 or larger to hold a /24 public, a /20 application and a /24 database subnet in each of network.maxAzs (3) AZs, got 10.120.0.0/24'],
    ['a standby VPC inside the primary one', (c) => (c.network.standbyCidr = '10.20.0.0/17'), 'production.network.standbyCidr: must not overlap network.primaryCidr 10.20.0.0/16, got 10.20.0.0/17'],
    ['the same CIDR twice', (c) => (c.network.standbyCidr = '10.20.0.0/16'), 'production.network.standbyCidr: must not overlap network.primaryCidr 10.20.0.0/16, got 10.20.0.0/16'],
    // RDS for PostgreSQL as aws-cdk-lib and the app know it.
    ['an instance class RDS PostgreSQL has but the connection alarm cannot size', (c) => (c.database.instanceClass = 'x2iedn.xlarge'), `production.database.instanceClass: must be an RDS for PostgreSQL instance class the app can size, without the db. prefix: ${CLASSES}, got 'x2iedn.xlarge'`],
    ['a compute-optimised class RDS does not offer', (c) => (c.database.instanceClass = 'c6g.large'), `production.database.instanceClass: must be an RDS for PostgreSQL instance class the app can size, without the db. prefix: ${CLASSES}, got 'c6g.large'`],
    ['a size the family does not have', (c) => (c.database.instanceClass = 't4g.4xlarge'), `production.database.instanceClass: must be an RDS for PostgreSQL instance class the app can size, without the db. prefix: ${CLASSES}, got 't4g.4xlarge'`],
    ['a version aws-cdk-lib does not know', (c) => (c.database.engineVersion = '18.99'), `production.database.engineVersion: must be a PostgreSQL version 'major.minor' that aws-cdk-lib knows, major 16 or newer: ${VERSIONS}, got '18.99'`],
    ['a major version alone', (c) => (c.database.engineVersion = '18'), `production.database.engineVersion: must be a PostgreSQL version 'major.minor' that aws-cdk-lib knows, major 16 or newer: ${VERSIONS}, got '18'`],
    ['a version as a number', (c) => (c.database.engineVersion = 18.3), `production.database.engineVersion: must be a PostgreSQL version 'major.minor' that aws-cdk-lib knows, major 16 or newer: ${VERSIONS}, got 18.3`],
    ['a database name that is a reserved word', (c) => (c.database.databaseName = 'user'), "production.database.databaseName: must not be a PostgreSQL reserved key word (RDS refuses it as DBName), got 'user'"],
    ['a database name that is a type-or-function reserved word', (c) => (c.database.databaseName = 'join'), "production.database.databaseName: must not be a PostgreSQL reserved key word (RDS refuses it as DBName), got 'join'"],
    ['the database RDS keeps for itself', (c) => (c.database.databaseName = 'rdsadmin'), "production.database.databaseName: must not be one of the databases every RDS for PostgreSQL instance already has (postgres, rdsadmin, template0, template1), got 'rdsadmin'"],
    ['the maintenance database', (c) => (c.database.databaseName = 'postgres'), "production.database.databaseName: must not be one of the databases every RDS for PostgreSQL instance already has (postgres, rdsadmin, template0, template1), got 'postgres'"],
    ['a database name with a hyphen', (c) => (c.database.databaseName = 'body-script'), "production.database.databaseName: must be a lower-case PostgreSQL identifier of 1–63 letters, digits or underscores starting with a letter, such as bodyscript, got 'body-script'"],
    ['a database name of 64 characters', (c) => (c.database.databaseName = 'b'.repeat(64)), `production.database.databaseName: must be a lower-case PostgreSQL identifier of 1–63 letters, digits or underscores starting with a letter, such as bodyscript, got '${'b'.repeat(64)}'`],
    // Multi-AZ in production, and reasons that say why not.
    ['production in one AZ without a reason', (c) => (c.database.multiAz = false), 'production.database.multiAz: must be true in production (a Multi-AZ standby survives the loss of an AZ), unless database.singleAzReason says why production may run in one AZ, got false'],
    ['production in one AZ with a reason too short to review', (c) => ((c.database.multiAz = false), (c.database.singleAzReason = 'cost')), "production.database.singleAzReason: must say in at least 40 characters why this database may run in one AZ when database.multiAz is false (it becomes the compliance acknowledgement), got 'cost'"],
    ['a single-AZ reason on a Multi-AZ database', (c) => (c.database.singleAzReason = 'we save money by running in one availability zone'), "production.database.singleAzReason: must be left out when database.multiAz is true, got 'we save money by running in one availability zone'"],
    // Alarm e-mail addresses SNS can subscribe, once each.
    ['the same alarm address twice', (c) => (c.alarms.emails = ['oncall@bodyscript.example', 'oncall@bodyscript.example']), "production.alarms.emails.1: must not repeat alarms.emails.0 ('oncall@bodyscript.example'), got 'oncall@bodyscript.example'"],
    ['the same alarm address in another case', (c) => (c.alarms.emails = ['oncall@bodyscript.example', 'OnCall@BodyScript.example']), "production.alarms.emails.1: must not repeat alarms.emails.0 ('oncall@bodyscript.example'), got 'OnCall@BodyScript.example'"],
    ['an address without a top-level domain', (c) => (c.alarms.emails = ['oncall@localhost']), "production.alarms.emails.0: must be an e-mail address such as oncall@example.com, got 'oncall@localhost'"],
    ['an address with a space', (c) => (c.alarms.emails = ['on call@bodyscript.example']), "production.alarms.emails.0: must be an e-mail address such as oncall@example.com, got 'on call@bodyscript.example'"],
    ['an address with two dots in a row', (c) => (c.alarms.emails = ['on..call@bodyscript.example']), "production.alarms.emails.0: must be an e-mail address such as oncall@example.com, got 'on..call@bodyscript.example'"],
    ['an address with a display name', (c) => (c.alarms.emails = ['On Call <oncall@bodyscript.example>']), "production.alarms.emails.0: must be an e-mail address such as oncall@example.com, got 'On Call <oncall@bodyscript.example>'"],
    ['an address list that is a string', (c) => (c.alarms.emails = 'oncall@bodyscript.example'), "production.alarms.emails: must be a list of e-mail addresses, got 'oncall@bodyscript.example'"],
    // Domain names.
    ['the same name for the web app and the api', (c) => (c.domain = { ...DOMAIN, apiDomainName: DOMAIN.appDomainName }), "production.domain.apiDomainName: must differ from domain.appDomainName (the web app and the api each need their own name, certificate and DNS record), got 'app.bodyscript.example' for both"],
    ['an upper-case domain name', (c) => (c.domain = { ...DOMAIN, apiDomainName: 'API.bodyscript.example' }), "production.domain.apiDomainName: must be a lower-case DNS name such as app.example.com, got 'API.bodyscript.example'"],
    ['a domain name with a trailing dot', (c) => (c.domain = { ...DOMAIN, appDomainName: 'app.bodyscript.example.' }), "production.domain.appDomainName: must be a lower-case DNS name such as app.example.com, got 'app.bodyscript.example.'"],
    ['a suffix that only looks like the hosted zone', (c) => (c.domain = { ...DOMAIN, appDomainName: 'app.notbodyscript.example' }), "production.domain.appDomainName: must be inside domain.hostedZoneName 'bodyscript.example', got 'app.notbodyscript.example'"],
    // Numbers that are not numbers.
    ['NaN', (c) => (c.database.backupRetentionDays = NaN), 'production.database.backupRetentionDays: must be an integer 1–35 days, got NaN'],
    ['Infinity', (c) => (c.database.allocatedStorageGiB = Infinity), 'production.database.allocatedStorageGiB: must be an integer 20–65536 GiB, got Infinity'],
    ['NaN where one of a list is expected', (c) => (c.logs.retentionDays = NaN), `production.logs.retentionDays: must be one of ${LOG_RETENTIONS}, got NaN`],
    ['NaN tasks', (c) => (c.services.api.minTasks = NaN), 'production.services.api.minTasks: must be an integer 1–100 tasks, got NaN'],
    ['a fractional number of days', (c) => (c.database.backupRetentionDays = 7.5), 'production.database.backupRetentionDays: must be an integer 1–35 days, got 7.5'],
  ];

  test.each(badConfigs)('rejects %s with one clear line', (_what, mutate, expected) => {
    expect(problemsAfter(mutate)).toEqual([expected]);
  });

  // Configs the schema accepts, each at an edge of what it allows. Every one must build: the stacks of the
  // environment changed (an environment's stacks are built from its own configuration and the project's only,
  // test/app.test.ts), and the whole app for the committed files and for a change to the project file.
  const acceptedConfigs: [string, Mutation, ('staging' | 'production' | 'project')?][] = [
    ['the committed files', () => undefined, 'project'],
    ['the smallest VPCs that hold three AZs of subnets', (c) => ((c.network.primaryCidr = '10.20.0.0/17'), (c.network.standbyCidr = '10.20.128.0/17'))],
    ['the smallest VPCs that hold two AZs of subnets', (c) => ((c.network.primaryCidr = '192.168.0.0/18'), (c.network.standbyCidr = '192.168.64.0/18')), 'staging'],
    ['VPCs in 172.16.0.0/12', (c) => ((c.network.primaryCidr = '172.16.0.0/16'), (c.network.standbyCidr = '172.31.0.0/16'))],
    ['results locked exactly as long as versions are kept', (c) => (c.storage.resultsRetention.days = 90)],
    ['results locked for a single day', (c) => (c.storage.resultsRetention.days = 1), 'staging'],
    ['production in two AZs with a NAT gateway each', (c) => ((c.network.maxAzs = 2), (c.network.natGateways = 2))],
    ['the smallest burstable class', (c) => (c.database.instanceClass = 't3.micro'), 'staging'],
    ['the largest Graviton4 memory class', (c) => (c.database.instanceClass = 'r8g.48xlarge')],
    ['a general-purpose Intel class', (c) => (c.database.instanceClass = 'm7i.24xlarge')],
    ['the memory-heavy x2g family', (c) => (c.database.instanceClass = 'x2g.16xlarge')],
    ['the oldest PostgreSQL the app builds', (c) => (c.database.engineVersion = POSTGRES_ENGINE_VERSIONS[0])],
    ['the newest PostgreSQL aws-cdk-lib knows', (c) => (c.database.engineVersion = POSTGRES_ENGINE_VERSIONS[POSTGRES_ENGINE_VERSIONS.length - 1])],
    [
      'production in one AZ with a reviewed reason',
      (c) => ((c.database.multiAz = false), (c.database.singleAzReason = 'Pre-launch production holds only synthetic data until go-live; Multi-AZ is turned on before the first customer.')),
    ],
    ['staging Multi-AZ, without a reason', (c) => ((c.database.multiAz = true), delete c.database.singleAzReason), 'staging'],
    ['a one-letter database name', (c) => (c.database.databaseName = 'b')],
    ['a 63-character database name', (c) => (c.database.databaseName = `b${'_'.repeat(61)}s`)],
    ['a database name that is a non-reserved key word', (c) => (c.database.databaseName = 'data')],
    ['several alarm addresses, with plus and subdomains', (c) => (c.alarms.emails = ['oncall+prod@bodyscript.example', 'platform@alerts.bodyscript.example', "o'brien@bodyscript.example"])],
    ['a domain with the web app at the zone apex', (c) => (c.domain = { ...DOMAIN, appDomainName: 'bodyscript.example' })],
    // Staging's names differ from production's (a name serves one environment); a reason for having no domain, if any, goes.
    ['a domain with the api at the apex', (c) => ((c.domain = { ...DOMAIN, appDomainName: 'staging.bodyscript.example', apiDomainName: 'bodyscript.example' }), delete c.noDomainReason), 'staging'],
    ['Slack delivery', (c) => (c.slack = { workspaceId: 'T0123ABCDEF', criticalChannelId: 'C0123ABCDEF', warningChannelId: 'G0123ABCDEF' })],
    ['the longest log retention CloudWatch offers', (c) => (c.logs.retentionDays = 3653)],
    ['an image tag of 128 characters', (c) => (c.services.api.imageTag = `v${'1'.repeat(127)}`)],
    ['a .github repository of an owner with a hyphen', (p) => ((p.github.owner = 'body-script'), (p.github.repository = '.github')), 'project'],
    ['the GitHub stack in another region', (p) => (p.github.region = 'eu-central-1'), 'project'],
    [
      'a storage ceiling exactly 10 % above the allocation, and the daily backup in the first hour after the maintenance window',
      (c) => ((c.database.allocatedStorageGiB = 100), (c.database.maxAllocatedStorageGiB = 110), (c.backup.dailyStartHourUtc = 6)),
    ],
  ];

  test('the daily backup may start at any hour whose start window misses both RDS windows, around midnight too', () => {
    // Backup window 03:00-04:00 takes the start hour 3 (and 2's window ends as it begins); maintenance sun:04:30-05:30 takes 4 and 5.
    expect(dailyBackupStartHoursClearOfRds()).toEqual([0, 1, 2, ...Array.from({ length: 18 }, (_, i) => i + 6)]);
    expect(describeHours(dailyBackupStartHoursClearOfRds())).toBe('0–2, 6–23');
    expect(minimumMaxAllocatedStorageGiB(100)).toBe(110);
    expect(minimumMaxAllocatedStorageGiB(20)).toBe(22);
    expect(minimumMaxAllocatedStorageGiB(25)).toBe(28);
  });

  test.each(acceptedConfigs)('accepts and builds %s', (_what, mutate, environment = 'production') => {
    let config: BodyScriptConfig | undefined;
    expect(() => (config = loadConfig({}, filesAfter(mutate, environment as 'production')))).not.toThrow();
    // App construction must not throw for a config the schema accepted, and
    // every construct's own validation (what synth runs first) must pass.
    const app = new App({ context: cdkJsonContext() });
    expect(() => buildBodyScriptApp(app, config!, environment === 'project' ? {} : { environments: [environment] })).not.toThrow();
    expect(app.node.findAll().flatMap((c) => c.node.validate().map((error) => `${c.node.path}: ${error}`))).toEqual([]);
  });

  test('every instance class of the table is one aws-cdk-lib knows and the connection alarm can size', () => {
    const classes = new Set<string>(Object.values(ec2.InstanceClass));
    const sizes = new Set<string>(Object.values(ec2.InstanceSize));
    for (const [family, familySizes] of Object.entries(POSTGRES_INSTANCE_CLASSES)) {
      expect(classes.has(family)).toBe(true);
      for (const size of familySizes) {
        expect(sizes.has(size)).toBe(true);
        expect(estimatedMaxConnections(`${family}.${size}`)).toBeGreaterThan(0);
      }
    }
  });

  test('the VPC subnet table is the one ApplicationVpc builds, in its order', () => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'Vpc', { env: { account: '111111111111', region: 'us-east-1' } });
    const { vpc } = new ApplicationVpc(stack, 'Network', { cidr: '10.0.0.0/17', maxAzs: 3, natGateways: 1, interfaceEndpoints: false, logKey: new kms.Key(stack, 'Key'), logRetention: logs.RetentionDays.ONE_YEAR });
    const built = [vpc.publicSubnets, vpc.privateSubnets, vpc.isolatedSubnets].map((subnets) => subnets.map((subnet) => Number(subnet.ipv4CidrBlock.split('/')[1])));
    expect(built).toEqual(VPC_SUBNET_CIDR_MASKS.map((s) => [s.cidrMask, s.cidrMask, s.cidrMask]));
    expect(vpcSubnetsFit('10.0.0.0/17', 3)).toBe(true);
    expect(vpcSubnetsFit('10.0.0.0/18', 3)).toBe(false);
    // What CDK itself does with a VPC one size smaller than the schema's minimum: it refuses it.
    const small = new Stack(new App({ context: cdkJsonContext() }), 'Small', { env: { account: '111111111111', region: 'us-east-1' } });
    expect(() => new ApplicationVpc(small, 'Network', { cidr: '10.0.0.0/18', maxAzs: 3, natGateways: 1, interfaceEndpoints: false, logKey: new kms.Key(small, 'Key'), logRetention: logs.RetentionDays.ONE_YEAR })).toThrow(/exceeds remaining space/);
  });

  test("CIDR overlap and host bits are judged by CDK's own CidrBlock", () => {
    expect(cdkCidrBlock('10.20.0.1/16').cidr).toBe('10.21.0.0/16');
    expect(cidrBlocksOverlap('10.20.0.0/16', '10.20.255.0/24')).toBe(true);
    expect(cidrBlocksOverlap('10.20.0.0/16', '10.21.0.0/16')).toBe(false);
    expect(cidrBlocksOverlap('10.0.0.0/8', '10.255.255.0/24')).toBe(true);
  });

  test('two environments in one account are refused (one ECR replication configuration per registry)', () => {
    expect(problemsAfter((c) => ((c.primary.account = '111111111111'), (c.standby.account = '111111111111')))).toEqual([
      "production.primary.account: must differ from staging.primary.account (ECR has one replication configuration per account and region, which each environment's Registry stack owns), got '111111111111' for both",
    ]);
  });

  describe('a domain name serves one environment', () => {
    /** Both environment files with a domain each (staging's noDomainReason, if any, given up for it). */
    function withDomains(staging: Partial<typeof DOMAIN>) {
      const environments: Record<string, Record<string, unknown>> = structuredClone({ ...ENVIRONMENT_FILES });
      environments.production.domain = { ...DOMAIN };
      environments.staging.domain = { ...DOMAIN, ...staging };
      delete environments.staging.noDomainReason;
      return environments as Record<string, EnvironmentConfigInput>;
    }

    test.each([
      ['the same app name', { apiDomainName: 'api.staging.bodyscript.example' }, "production.domain.appDomainName: must differ from staging.domain.appDomainName (CloudFront serves an alternate domain name from one distribution only, and a hosted zone holds one record of a name), got 'app.bodyscript.example' for both"],
      ['the same api name', { appDomainName: 'staging.bodyscript.example' }, "production.domain.apiDomainName: must differ from staging.domain.apiDomainName (CloudFront serves an alternate domain name from one distribution only, and a hosted zone holds one record of a name), got 'api.bodyscript.example' for both"],
      ["staging's app at production's api name", { appDomainName: 'api.bodyscript.example', apiDomainName: 'api.staging.bodyscript.example' }, "production.domain.apiDomainName: must differ from staging.domain.appDomainName (CloudFront serves an alternate domain name from one distribution only, and a hosted zone holds one record of a name), got 'api.bodyscript.example' for both"],
    ])('two environments with %s are refused', (_what, staging, expected) => {
      expect(() => loadConfig({}, { environments: withDomains(staging) })).toThrow(new ConfigError([expected]));
    });

    test('two environments in one hosted zone with names of their own are accepted and build', () => {
      const config = loadConfig({}, { environments: withDomains({ appDomainName: 'staging.bodyscript.example', apiDomainName: 'api.staging.bodyscript.example' }) });
      expect(config.environments.staging.domain?.hostedZoneId).toBe(config.environments.production.domain?.hostedZoneId);
      const app = new App({ context: cdkJsonContext() });
      expect(() => buildBodyScriptApp(app, config)).not.toThrow();
    });
  });

  test('a staging database in one AZ needs its reason too', () => {
    expect(problemsAfter((c) => delete c.database.singleAzReason, 'staging')).toEqual([
      'staging.database.singleAzReason: must say in at least 40 characters why this database may run in one AZ when database.multiAz is false (it becomes the compliance acknowledgement), got nothing',
    ]);
  });

  test("the shortest log retention is the one Control Tower's CT.CLOUDWATCH.PR.2 accepts, read from the rule every synth runs", () => {
    const rule = fs.readFileSync(require.resolve('@cdklabs/cdk-validator-cfnguard/rules/control-tower/cfn-guard/cloudwatch/ct-cloudwatch-pr-2.guard'), 'utf8');
    expect(rule).toContain('rule cloudwatch_log_group_retention_period_check');
    expect(Number(/^let MINIMUM_RETENTION_IN_DAYS = (\d+)$/m.exec(rule)?.[1])).toBe(MINIMUM_LOG_RETENTION_DAYS);
    expect(ACCEPTED_LOG_RETENTION_DAYS[0]).toBe(MINIMUM_LOG_RETENTION_DAYS);
  });

  test('a single-AZ reason is long enough to be a compliance acknowledgement', () => {
    expect(MINIMUM_SINGLE_AZ_REASON_LENGTH).toBeGreaterThanOrEqual(MINIMUM_REASON_LENGTH);
  });

  test('values are described as they are, not as JSON would print them', () => {
    expect([NaN, Infinity, -Infinity, 10n, undefined, 'x', null, [1]].map(describeValue)).toEqual(['NaN', 'Infinity', '-Infinity', '10n', 'nothing', "'x'", 'null', '[1]']);
  });

  test('an environment without a domain must say why, in a sentence', () => {
    expect(problemsAfter((c) => delete c.noDomainReason, 'staging')).toEqual([
      'staging.noDomainReason: must say in at least 40 characters why this environment has no domain (its api then fails over only by a manual CloudFront change), or give domain, got nothing',
    ]);
    expect(problemsAfter((c) => (c.noDomainReason = 'none'), 'staging')).toEqual([
      "staging.noDomainReason: must say in at least 40 characters why this environment has no domain (its api then fails over only by a manual CloudFront change), or give domain, got 'none'",
    ]);
  });

  test('the committed files: production has a domain, staging a reason for having none', () => {
    const { environments } = loadConfig();
    expect(environments.production.domain?.apiDomainName).toBe('api.bodyscript.example');
    expect(environments.production.noDomainReason).toBeUndefined();
    expect(environments.staging.domain).toBeUndefined();
    expect(environments.staging.noDomainReason!.length).toBeGreaterThanOrEqual(40);
  });

  test('reports every problem of every environment in one error, each on its own line', () => {
    const environments: Record<string, EnvironmentConfigInput> = structuredClone({ ...ENVIRONMENT_FILES });
    (environments.staging.database as Record<string, unknown>).backupRetentionDays = 0;
    (environments.production.network as Record<string, unknown>).natGateways = 0;
    expect(() => loadConfig({}, { environments })).toThrow(ConfigError);
    try {
      loadConfig({}, { environments });
    } catch (error) {
      const message = (error as ConfigError).message;
      expect(message).toContain('Invalid BodyScript configuration (2 problems):');
      expect(message).toContain('\n  staging.database.backupRetentionDays: must be an integer 1–35 days, got 0');
      expect(message).toContain('\n  production.network.natGateways: must be an integer 1–3 NAT gateways, got 0');
    }
  });

  test('a missing environment file is reported by name', () => {
    expect(() => loadConfig({}, { environments: { staging: ENVIRONMENT_FILES.staging } })).toThrow(
      'production: is required (an environment configuration in lib/config/production.ts)',
    );
  });

  // Each row: what is wrong with the project file, the mutation, and the exact line.
  const badProjects: [string, Mutation, string][] = [
    ['owner/repository in the owner field', (p) => (p.github.owner = 'bodyscript/infra'), "project.github.owner: must be the owner alone (the part before the slash); put the repository name in github.repository, got 'bodyscript/infra'"],
    ['an owner ending in a hyphen', (p) => (p.github.owner = 'bodyscript-'), "project.github.owner: must be a GitHub organisation or user name: 1–39 letters, digits or single hyphens, not starting or ending with a hyphen, got 'bodyscript-'"],
    ['an owner with two hyphens in a row', (p) => (p.github.owner = 'body--script'), "project.github.owner: must be a GitHub organisation or user name: 1–39 letters, digits or single hyphens, not starting or ending with a hyphen, got 'body--script'"],
    ['an owner of 40 characters', (p) => (p.github.owner = 'o'.repeat(40)), `project.github.owner: must be a GitHub organisation or user name: 1–39 letters, digits or single hyphens, not starting or ending with a hyphen, got '${'o'.repeat(40)}'`],
    ['a repository with the clone suffix', (p) => (p.github.repository = 'bodyscript-infrastructure.git'), "project.github.repository: must be the name without the '.git' clone suffix (the OIDC token names the repository 'bodyscript-infrastructure'), got 'bodyscript-infrastructure.git'"],
    ['a repository named ..', (p) => (p.github.repository = '..'), "project.github.repository: must be a GitHub repository name: 1–100 letters, digits, '.', '_' or '-', not '.' or '..', got '..'"],
    ['a repository named .', (p) => (p.github.repository = '.'), "project.github.repository: must be a GitHub repository name: 1–100 letters, digits, '.', '_' or '-', not '.' or '..', got '.'"],
    ['owner/repository in the repository field', (p) => (p.github.repository = 'bodyscript/bodyscript-infrastructure'), "project.github.repository: must be the repository name alone (the part after the slash); the owner goes in github.owner, got 'bodyscript/bodyscript-infrastructure'"],
    ['a repository with a space', (p) => (p.github.repository = 'bodyscript infra'), "project.github.repository: must be a GitHub repository name: 1–100 letters, digits, '.', '_' or '-', not '.' or '..', got 'bodyscript infra'"],
    ['a GitHub stack region that does not exist', (p) => (p.github.region = 'us-central-1'), "project.github.region: must be an AWS region name such as us-east-1, got 'us-central-1'"],
  ];

  test.each(badProjects)('rejects a project file with %s with one clear line', (_what, mutate, expected) => {
    expect(problemsAfter(mutate, 'project')).toEqual([expected]);
  });

  test('image tags given at synth time replace the configured ones in every environment', () => {
    const config = loadConfig({ apiImageTag: 'sha-0123abc', processingImageTag: '2.0.1' });
    expect(config.environments.staging.services.api.imageTag).toBe('sha-0123abc');
    expect(config.environments.production.services.api.imageTag).toBe('sha-0123abc');
    expect(config.environments.staging.services.processing.imageTag).toBe('2.0.1');
  });

  test('an image tag given at synth time is validated and named by its context key', () => {
    expect(() => loadConfig({ apiImageTag: '-bad tag' })).toThrow(
      "context.apiImageTag: must be an image tag of 1–128 letters, digits, '.', '_' or '-' starting with a letter or digit, got '-bad tag'",
    );
  });

  test('loading does not change the committed configuration objects', () => {
    const before = JSON.stringify(ENVIRONMENT_FILES);
    loadConfig({ apiImageTag: 'changed' });
    expect(JSON.stringify(ENVIRONMENT_FILES)).toBe(before);
  });
});

describe('synth-time context keys', () => {
  const projectKeys = projectContextKeys(path.join(__dirname, '..', 'cdk.json'), path.join(__dirname, '..', 'cdk.context.json'));
  const KNOWN =
    "known keys: apiImageTag (deploy this api image tag instead of services.api.imageTag), processingImageTag (deploy this processing image tag instead of services.processing.imageTag) (CDK's aws:cdk:* and @aws-cdk/* keys, cdk.json settings and cdk.context.json lookups are accepted too)";

  // Each row: a key the CDK CLI may pass, whose it is.
  test.each([
    ['apiImageTag', 'ours'],
    ['processingImageTag', 'ours'],
    ['aws:cdk:enable-path-metadata', 'set by the CDK CLI'],
    ['aws:cdk:bundling-stacks', 'set by the CDK CLI'],
    ['@aws-cdk/core:failSynthOnValidationErrors', 'set by the CDK CLI'],
    ['@aws-cdk/aws-s3:publicAccessBlockedByDefault', 'a feature flag of cdk.json'],
    ['@aws-cdk/core:newStyleStackSynthesis', 'a feature flag given with -c'],
    ['@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver', 'a feature flag of cdk.json'],
    ['availability-zones:account=111111111111:region=us-east-1', 'a lookup of cdk.context.json'],
    ['hosted-zone:account=222222222222:domainName=example.com:region=us-east-1', 'a lookup not yet in cdk.context.json'],
    ['acknowledged-issue-numbers', 'written by cdk acknowledge'],
    ['cli-telemetry', 'written by cdk cli-telemetry'],
  ])('accepts %s (%s)', (key) => {
    expect(unknownContextKeyProblems({ [key]: 'x' }, projectKeys)).toEqual([]);
  });

  // Each row: the key, and the exact line.
  test.each([
    ['apiImagetag', `context.apiImagetag: is not a BodyScript context key; did you mean apiImageTag? ${KNOWN}`],
    ['APIIMAGETAG', `context.APIIMAGETAG: is not a BodyScript context key; did you mean apiImageTag? ${KNOWN}`],
    ['imageTag', `context.imageTag: is not a BodyScript context key; ${KNOWN}`],
    ['env', `context.env: is not a BodyScript context key; ${KNOWN}`],
    ['aws-cdk:enable-path-metadata', `context.aws-cdk:enable-path-metadata: is not a BodyScript context key; ${KNOWN}`],
    ['availability-zone:account=1', `context.availability-zone:account=1: is not a BodyScript context key; ${KNOWN}`],
  ])('rejects %s', (key, message) => {
    expect(unknownContextKeyProblems({ [key]: '2.0.0' }, projectKeys)).toEqual([message]);
  });

  test('a key of the project files is accepted, whatever its namespace', () => {
    expect(unknownContextKeyProblems({ 'bodyscript:guardParallelism': 2 }, new Set(['bodyscript:guardParallelism']))).toEqual([]);
    expect([...projectKeys]).toEqual(expect.arrayContaining(['@aws-cdk/core:defaultCrossStackReferences', 'availability-zones:account=222222222222:region=us-west-2']));
  });

  test('unknown keys and config problems are reported together, keys first', () => {
    expect(() => loadConfigFromContext({ apiImagetag: '2.0.0', processingImageTag: 'not a tag' }, projectKeys)).toThrow(
      new ConfigError([
        `context.apiImagetag: is not a BodyScript context key; did you mean apiImageTag? ${KNOWN}`,
        "context.processingImageTag: must be an image tag of 1–128 letters, digits, '.', '_' or '-' starting with a letter or digit, got 'not a tag'",
      ]),
    );
    expect(loadConfigFromContext({ apiImageTag: '2.0.0', 'aws:cdk:enable-path-metadata': true }, projectKeys).environments.production.services.api.imageTag).toBe('2.0.0');
  });

  test('the context is read where App reads it: CDK_CONTEXT_JSON, then the overflow file', () => {
    const files: Record<string, string> = { '/tmp/ctx.json': '{"processingImageTag":"1.2.3","apiImageTag":"from-file"}' };
    expect(readCliContext({ CDK_CONTEXT_JSON: '{"apiImageTag":"2.0.0"}', CONTEXT_OVERFLOW_LOCATION_ENV: '/tmp/ctx.json' }, (f) => files[f])).toEqual({
      apiImageTag: 'from-file',
      processingImageTag: '1.2.3',
    });
    expect(readCliContext({})).toEqual({});
    expect(() => readCliContext({ CDK_CONTEXT_JSON: '[1]' })).toThrow(new ConfigError(['context: CDK_CONTEXT_JSON must hold a JSON object of context values, got an array']));
    expect(() => readCliContext({ CDK_CONTEXT_JSON: '{"a":' })).toThrow(/^Invalid BodyScript configuration \(1 problem\):\n {2}context: CDK_CONTEXT_JSON must hold a JSON object of context values \(/);
  });
});
