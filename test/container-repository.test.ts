import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ContainerRepository } from '../constructs/container-repository';
import { testApp } from './support/synthesize';

describe('ContainerRepository', () => {
  test('can be created with scan on push, immutable tags, lifecycle rules and a retain policy', () => {
    const stack = new Stack(testApp(), 'Repo');
    new ContainerRepository(stack, 'Api', { repositoryName: 'bodyscript/test/api', maxReleaseImages: 20, untaggedImageExpirationDays: 3 });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::ECR::Repository', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { RepositoryName: 'bodyscript/test/api', ImageScanningConfiguration: { ScanOnPush: true }, ImageTagMutability: 'IMMUTABLE' },
    });
    const [repository] = Object.values(template.findResources('AWS::ECR::Repository'));
    const rules = JSON.parse(repository.Properties.LifecyclePolicy.LifecyclePolicyText).rules;
    expect(rules.map((r: { selection: unknown }) => r.selection)).toEqual([
      { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 3, countUnit: 'days' },
      { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 20 },
    ]);
  });

  test.each([
    ['maxReleaseImages', { maxReleaseImages: 0 }, /maxReleaseImages must be a positive integer, got 0/],
    ['untaggedImageExpirationDays', { untaggedImageExpirationDays: 1.5 }, /untaggedImageExpirationDays must be a positive integer, got 1.5/],
  ])('fails when %s is not a positive integer', (_name, props, message) => {
    const stack = new Stack(testApp(), 'Repo');
    expect(() => new ContainerRepository(stack, 'Api', { repositoryName: 'bodyscript/test/api', ...props })).toThrow(message);
  });
});
