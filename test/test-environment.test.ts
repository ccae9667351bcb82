import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { TEST_STACK_TRACE_LIMIT } from './support/test-environment';

describe('the test environment', () => {
  test("gives each test file Node's default stack trace depth, not jest's 100", () => {
    expect(TEST_STACK_TRACE_LIMIT).toBe(10);
    expect(Error.stackTraceLimit).toBe(TEST_STACK_TRACE_LIMIT);
    expect(new Error('here').stack!.split('\n').filter((line) => line.trimStart().startsWith('at '))).toHaveLength(TEST_STACK_TRACE_LIMIT);
  });

  test("aws-cdk-lib's creation trace of a resource still names the test that created it", () => {
    const resource = new CfnResource(new Stack(new App(), 'S'), 'R', { type: 'AWS::SQS::Queue' });
    const trace = resource.node.metadata.find((m) => m.type === 'aws:cdk:creationStack')?.data as string[];
    expect(trace.join('\n')).toContain('test-environment.test.ts');
  });
});
