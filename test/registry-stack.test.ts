import { App } from 'aws-cdk-lib';
import { buildBodyScriptApp } from '../lib/app';
import { ENVIRONMENT_FILES, type EnvironmentConfigInput, loadConfig } from '../lib/config';
import { RegistryStack } from '../lib/stacks/registry-stack';
import { stacks, template, templateJson } from './support/assembly';
import { expiredImages, type LifecyclePolicy } from './ecr-lifecycle-model';
import { cdkJsonContext, testApp } from './support/synthesize';

const ENVIRONMENTS = [
  { env: 'staging', title: 'Staging', account: '111111111111' },
  { env: 'production', title: 'Production', account: '222222222222' },
] as const;

describe.each(ENVIRONMENTS)('BodyScript-$title-Registry', ({ env, title, account }) => {
  const stack = `BodyScript-${title}-Registry`;
  const config = loadConfig().environments[env];

  test('is in the primary account and region, with termination protection', () => {
    const artifact = stacks().find((s) => s.displayName === stack)!;
    expect(artifact.environment).toBe(`aws://${account}/us-east-1`);
    expect(artifact.terminationProtection).toBe(true);
  });

  test.each(['api', 'processing'] as const)('the %s repository: named for the services, scan on push, immutable tags, AES-256, retained', (service) => {
    const repository = Object.values(templateJson(stack).Resources).find((r) => r.Type === 'AWS::ECR::Repository' && r.Properties?.RepositoryName === `bodyscript/${env}/${service}`)!;
    expect(repository.DeletionPolicy).toBe('Retain');
    expect(repository.Properties).toMatchObject({ ImageScanningConfiguration: { ScanOnPush: true }, ImageTagMutability: 'IMMUTABLE' });
    // No EncryptionConfiguration is ECR's AES-256 encryption at rest (a KMS key would be named here).
    expect(repository.Properties).not.toHaveProperty('EncryptionConfiguration');
  });

  test.each(['api', 'processing'] as const)('the %s repository never expires the configured tag, which the primary and the standby run', (service) => {
    const repository = Object.values(templateJson(stack).Resources).find((r) => r.Type === 'AWS::ECR::Repository' && r.Properties?.RepositoryName === `bodyscript/${env}/${service}`)!;
    const policy = JSON.parse((repository.Properties!.LifecyclePolicy as { LifecyclePolicyText: string }).LifecyclePolicyText) as LifecyclePolicy;
    const configured = config.services[service].imageTag;
    expect(policy.rules[0].selection).toEqual({ tagStatus: 'tagged', tagPatternList: [configured], countType: 'imageCountMoreThan', countNumber: 1 });
    expect(policy.rules.map((r) => r.selection.tagStatus)).not.toContain('any');
    // A year of daily releases and ten commit builds a day pushed after it.
    const later = [
      ...Array.from({ length: 365 }, (_, i) => ({ name: `release-${i}`, tags: [`9.${i}.0`], pushedDaysAgo: 365 - i })),
      ...Array.from({ length: 3650 }, (_, i) => ({ name: `commit-${i}`, tags: [`sha-${i.toString(16)}`], pushedDaysAgo: 365 - i / 10 })),
    ];
    expect(expiredImages(policy, [{ name: 'configured', tags: [configured], pushedDaysAgo: 400 }, ...later])).not.toContain('configured');
  });

  test('replicates every repository of the environment to the standby region of the same account', () => {
    template(stack).hasResourceProperties('AWS::ECR::ReplicationConfiguration', {
      ReplicationConfiguration: { Rules: [{ Destinations: [{ Region: 'us-west-2', RegistryId: account }], RepositoryFilters: [{ Filter: `bodyscript/${env}/`, FilterType: 'PREFIX_MATCH' }] }] },
    });
  });

  test('every replica the rule creates gets immutable tags and scan on push: a creation template and registry scanning in the destination region, deployed first', () => {
    const rule = (Object.values(templateJson(stack).Resources).find((r) => r.Type === 'AWS::ECR::ReplicationConfiguration')!.Properties as {
      ReplicationConfiguration: { Rules: Array<{ Destinations: Array<{ Region: string; RegistryId: string }>; RepositoryFilters: Array<{ Filter: string }> }> };
    }).ReplicationConfiguration.Rules[0];
    for (const destination of rule.Destinations) {
      const destinationStacks = stacks().filter((s) => s.environment.endsWith(`${destination.RegistryId}/${destination.Region}`) && s.displayName.startsWith(`BodyScript-${title}-`));
      const templates = destinationStacks.flatMap((s) =>
        Object.values(templateJson(s.displayName).Resources).filter((r) => r.Type === 'AWS::ECR::RepositoryCreationTemplate').map((r) => ({ stack: s, properties: r.Properties! })),
      );
      // ECR matches a template's prefix as '<prefix>/'; the replication filter is a plain name prefix.
      const covering = templates.filter(({ properties }) => rule.RepositoryFilters.every((filter) => filter.Filter.startsWith(`${properties.Prefix as string}/`)));
      expect(covering).toHaveLength(1);
      expect(covering[0].properties).toMatchObject({ AppliedFor: ['REPLICATION'], ImageTagMutability: 'IMMUTABLE' });
      const scanning = Object.values(templateJson(covering[0].stack.displayName).Resources).find((r) => r.Type === 'AWS::ECR::RegistryScanningConfiguration');
      expect(scanning?.Properties).toMatchObject({ Rules: [{ ScanFrequency: 'SCAN_ON_PUSH', RepositoryFilters: [{ Filter: `bodyscript/${env}/*` }] }] });
      // The template applies only to repositories created after it: this stack waits for it.
      expect(stacks().find((s) => s.displayName === stack)!.dependencies).toContain(covering[0].stack.id);
    }
  });

  test('holds nothing that runs or pulls an image', () => {
    const types = new Set(Object.values(templateJson(stack).Resources).map((r) => r.Type).filter((type) => type !== 'AWS::CDK::Metadata'));
    expect([...types].sort()).toEqual(['AWS::ECR::ReplicationConfiguration', 'AWS::ECR::Repository']);
  });
});

describe('RegistryStack', () => {
  const config = loadConfig().environments.staging;

  test('fails when it is not in the primary account and region', () => {
    expect(() => new RegistryStack(testApp(), 'Registry', { env: { account: config.primary.account, region: 'us-west-2' }, config })).toThrow(
      /env must be the primary location 111111111111\/us-east-1/,
    );
  });

  test('fails when the standby is in another account (replication would need a registry policy there)', () => {
    const otherStandby = { ...config, standby: { ...config.standby, account: '333333333333' } };
    expect(() => new RegistryStack(testApp(), 'Registry', { env: config.primary, config: otherStandby })).toThrow(/standby.account must be primary.account \(111111111111\)/);
  });

  test('the config and the app refuse two environments in one registry (account and region): their replication rules would overwrite each other', () => {
    const environments: Record<string, EnvironmentConfigInput> = structuredClone({ ...ENVIRONMENT_FILES });
    environments.production = { ...environments.production, primary: { ...environments.staging.primary }, standby: { ...environments.staging.standby } };
    expect(() => loadConfig({}, { environments })).toThrow(
      "production.primary.account: must differ from staging.primary.account (ECR has one replication configuration per account and region, which each environment's Registry stack owns), got '111111111111' for both",
    );
    // The app's own guard, for a config handed to it without the schema.
    const valid = loadConfig();
    const shared = { ...valid, environments: { ...valid.environments, production: { ...valid.environments.production, primary: valid.environments.staging.primary, standby: valid.environments.staging.standby } } };
    expect(() => buildBodyScriptApp(new App({ context: cdkJsonContext() }), shared)).toThrow(/primary.account\/primary.region must differ, got 111111111111\/us-east-1 twice/);
  });
});
