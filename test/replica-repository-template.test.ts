import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ReplicaRepositoryTemplate } from '../constructs/replica-repository-template';
import { expiredImages, type LifecyclePolicy } from './ecr-lifecycle-model';
import { testApp } from './support/synthesize';

function newStack() {
  return new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'us-west-2' } });
}

describe('ReplicaRepositoryTemplate', () => {
  const stack = newStack();
  const replicas = new ReplicaRepositoryTemplate(stack, 'ReplicaRepositories', { repositoryPrefix: 'bodyscript/staging' });
  const template = Template.fromStack(stack);
  const resource = Object.values(template.findResources('AWS::ECR::RepositoryCreationTemplate'))[0];
  const policy = JSON.parse(resource.Properties.LifecyclePolicy as string) as LifecyclePolicy;

  test('applies to repositories that replication creates under the prefix: immutable tags, AES-256', () => {
    expect(resource.Properties).toEqual({
      Prefix: 'bodyscript/staging',
      AppliedFor: ['REPLICATION'],
      Description: expect.stringContaining('bodyscript/staging/*'),
      ImageTagMutability: 'IMMUTABLE',
      EncryptionConfiguration: { EncryptionType: 'AES256' },
      LifecyclePolicy: expect.any(String),
    });
    // Neither a KMS key nor resource tags: ECR's service-linked role applies the template, no custom role.
    expect(resource.Properties).not.toHaveProperty('CustomRoleArn');
  });

  test('scans every image of the namespace on push (registry scanning of this region)', () => {
    template.hasResourceProperties('AWS::ECR::RegistryScanningConfiguration', {
      ScanType: 'BASIC',
      Rules: [{ ScanFrequency: 'SCAN_ON_PUSH', RepositoryFilters: [{ Filter: 'bodyscript/staging/*', FilterType: 'WILDCARD' }] }],
    });
  });

  test('the replicas never expire a tagged image, however old or many; untagged images go after 7 days', () => {
    expect(policy).toEqual(replicas.lifecyclePolicy);
    const images = [
      { name: 'running release', tags: ['1.0.0'], pushedDaysAgo: 900 },
      ...Array.from({ length: 500 }, (_, i) => ({ name: `release-${i}`, tags: [`2.${i}.0`], pushedDaysAgo: 500 - i })),
      ...Array.from({ length: 500 }, (_, i) => ({ name: `commit-${i}`, tags: [`sha-${i.toString(16)}`], pushedDaysAgo: 500 - i })),
      { name: 'untagged, old', tags: [], pushedDaysAgo: 8 },
      { name: 'untagged, new', tags: [], pushedDaysAgo: 6 },
    ];
    expect(expiredImages(policy, images)).toEqual(['untagged, old']);
  });

  test.each([
    ['a trailing slash', 'bodyscript/staging/'],
    ['upper case', 'BodyScript/staging'],
    ['an empty prefix', ''],
  ])('fails on %s in the prefix', (_label, prefix) => {
    expect(() => new ReplicaRepositoryTemplate(newStack(), 'Replicas', { repositoryPrefix: prefix })).toThrow(/repositoryPrefix must be a literal repository namespace without a trailing '\/'/);
  });

  test('fails on an expiration that is not a positive whole number of days', () => {
    expect(() => new ReplicaRepositoryTemplate(newStack(), 'Replicas', { repositoryPrefix: 'bodyscript/staging', untaggedImageExpirationDays: 0 })).toThrow(
      /untaggedImageExpirationDays must be a positive integer, got 0/,
    );
  });
});
