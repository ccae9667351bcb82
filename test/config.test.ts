import { ConfigError, ENVIRONMENT_FILES, type EnvironmentConfigInput, loadConfig, PROJECT_FILE } from '../lib/config';

type Mutation = (config: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Returns the problems loadConfig reports when `mutate` is applied to a copy of production. */
function problemsAfter(mutate: Mutation, environment: 'staging' | 'production' = 'production'): string[] {
  const environments: Record<string, EnvironmentConfigInput> = structuredClone({ ...ENVIRONMENT_FILES });
  mutate(environments[environment] as Record<string, unknown>);
  try {
    loadConfig({}, { environments });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

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
    expect(environments.staging.network).toMatchObject({ maxAzs: 2, natGateways: 1 });
    expect(environments.production.network).toMatchObject({ maxAzs: 3, natGateways: 3, interfaceEndpoints: true });
  });

  // Each row: what is wrong, the mutation, and the exact line the operator sees.
  const badConfigs: [string, Mutation, string][] = [
    ['backup retention above the RDS maximum', (c) => (c.database.backupRetentionDays = 90), 'production.database.backupRetentionDays: must be an integer 1–35 days, got 90'],
    ['a missing account id', (c) => delete c.primary.account, 'production.primary.account: must be a 12-digit AWS account id, got nothing'],
    ['an account id with letters', (c) => (c.standby.account = '12345678901x'), "production.standby.account: must be a 12-digit AWS account id, got '12345678901x'"],
    ['a region that is not a region', (c) => (c.primary.region = 'useast1'), "production.primary.region: must be an AWS region name such as us-east-1, got 'useast1'"],
    ['standby in the primary region', (c) => (c.standby.region = 'us-east-1'), "production.standby.region: must differ from primary.region, got 'us-east-1' for both"],
    ['overlapping VPC CIDRs', (c) => (c.network.standbyCidr = '10.20.128.0/17'), 'production.network.standbyCidr: must not overlap network.primaryCidr 10.20.0.0/16, got 10.20.128.0/17'],
    ['a malformed CIDR', (c) => (c.network.primaryCidr = '10.300.0.0/16'), "production.network.primaryCidr: must be an IPv4 CIDR block with a prefix of /16 to /24, such as 10.10.0.0/16, got '10.300.0.0/16'"],
    ['four availability zones', (c) => (c.network.maxAzs = 4), 'production.network.maxAzs: must be an integer 2–3 availability zones, got 4'],
    ['more NAT gateways than AZs', (c) => ((c.network.maxAzs = 2), (c.network.natGateways = 3)), 'production.network.natGateways: must be at most network.maxAzs (2), got 3'],
    ['a PostgreSQL version that is too old', (c) => (c.database.engineVersion = '13.4'), "production.database.engineVersion: must be a PostgreSQL version 'major.minor' with major 16 or newer, such as '17.6', got '13.4'"],
    ['an instance class with the db. prefix', (c) => (c.database.instanceClass = 'db.r7g.large'), "production.database.instanceClass: must be an RDS instance class without the db. prefix, such as t4g.medium or r6g.large, got 'db.r7g.large'"],
    ['storage ceiling below allocated storage', (c) => (c.database.maxAllocatedStorageGiB = 50), 'production.database.maxAllocatedStorageGiB: must be at least database.allocatedStorageGiB (100), got 50'],
    ['Multi-AZ as a string', (c) => (c.database.multiAz = 'yes'), "production.database.multiAz: must be true or false, got 'yes'"],
    ['a Performance Insights retention RDS does not offer', (c) => (c.database.performanceInsightsRetentionDays = 30), 'production.database.performanceInsightsRetentionDays: must be one of 7, 31, 62, 93, 186, 372, 731 (days), got 30'],
    ['no alarm e-mail', (c) => (c.alarms.emails = []), 'production.alarms.emails: must list at least one e-mail address, got none'],
    ['an e-mail that is not one', (c) => (c.alarms.emails = ['oncall']), "production.alarms.emails.0: must be an e-mail address, got 'oncall'"],
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
    ['a log retention CloudWatch does not offer', (c) => (c.logs.retentionDays = 100), 'production.logs.retentionDays: must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (a CloudWatch Logs retention), got 100'],
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
  ];

  test.each(badConfigs)('rejects %s with one clear line', (_what, mutate, expected) => {
    const problems = problemsAfter(mutate);
    expect(problems).toContain(expected);
    expect(problems).toHaveLength(1);
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

  test('rejects a bad project GitHub owner', () => {
    expect(() => loadConfig({}, { project: { github: { ...PROJECT_FILE.github, owner: 'not/an/org' } } })).toThrow(
      "project.github.owner: must be a GitHub organisation or user name, got 'not/an/org'",
    );
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
