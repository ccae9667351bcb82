import { CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { cloudFormationValidatePath, SHARED_CLOUDFORMATION_VALIDATE_GLOBAL } from './support/shared-cloudformation-validate';
import { testApp } from './support/synthesize';

/**
 * The jest worker's one CloudFormation validator engine
 * (test/support/shared-cloudformation-validate.ts) must change nothing but
 * the cost: aws-cdk-lib gets it, a unit-test synth still fails on what
 * CloudFormation refuses, and an engine aws-cdk-lib frees stays usable for
 * the next test file.
 */
type Engine = { validateTemplate(template: unknown, options: unknown): { diagnostics: { ruleId: string; severity: string }[] }; free(): void };
type Module = { CompositeEngine: new (config?: unknown) => Engine; TemplateContent: new (content: string, path: string) => unknown };

const queue = (properties: Record<string, unknown>) => JSON.stringify({ Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: properties } } });

describe('the shared CloudFormation validator engine', () => {
  test("is what aws-cdk-lib's require('@aws/cloudformation-validate') gives a test file", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const required = require('@aws/cloudformation-validate') as unknown;
    expect(required).toBe((globalThis as Record<string, unknown>)[SHARED_CLOUDFORMATION_VALIDATE_GLOBAL]);
    expect(cloudFormationValidatePath()).toMatch(/@aws[\\/]cloudformation-validate[\\/]/);
  });

  test('a unit-test synth still fails on a template CloudFormation refuses, naming the rule and the resource', () => {
    const stack = new Stack(testApp(), 'Refused');
    new CfnResource(stack, 'Queue', { type: 'AWS::SQS::Queue', properties: { VisibilityTimeout: 'soon' } });
    expect(() => Template.fromStack(stack)).toThrow(/VisibilityTimeout: 'soon' is not of type 'integer'[\s\S]*CloudFormation-Validate::F3012/);
  });

  test('one engine per configuration, which survives free() and answers like a fresh one', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const shared = require('@aws/cloudformation-validate') as Module;
    const first = new shared.CompositeEngine({});
    first.free();
    const second = new shared.CompositeEngine({});
    const options = { detailLevel: 'STANDARD', severityLevel: 'WARN' };
    const diagnostics = (engine: Engine, text: string) => engine.validateTemplate(new shared.TemplateContent(text, 'Queue.template.json'), options).diagnostics.map((d) => `${d.severity} ${d.ruleId}`);
    expect(diagnostics(second, queue({ VisibilityTimeout: 'soon' }))).toEqual(['FATAL F3012']);
    expect(diagnostics(first, queue({ VisibilityTimeout: 30 }))).toEqual([]);
    // The real package, loaded apart from the shared one, gives the same answer.
    const real = jest.requireActual<Module>(cloudFormationValidatePath());
    const fresh = new real.CompositeEngine({});
    try {
      const freshDiagnostics = fresh.validateTemplate(new real.TemplateContent(queue({ VisibilityTimeout: 'soon' }), 'Queue.template.json'), options).diagnostics.map((d) => `${d.severity} ${d.ruleId}`);
      expect(freshDiagnostics).toEqual(['FATAL F3012']);
    } finally {
      fresh.free();
    }
  });
});
