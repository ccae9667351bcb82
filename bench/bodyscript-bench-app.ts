#!/usr/bin/env node
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import { buildBodyScriptApp } from '../lib/app';
import { COMPLIANCE_GATES, type ComplianceGate, enableComplianceChecks, VALIDATION_CACHE_VARIABLE, validationCacheSetting } from '../lib/compliance';
import { loadConfig } from '../lib/config';

/**
 * The BodyScript app as `npm run bench` synthesizes it: the real stacks and the
 * real gates, with two knobs that only the benchmark turns (read here, never by
 * bin/bodyscript.ts):
 * - BENCH_GATES: the gates that run, comma-separated (`none` for none; default all);
 * - BENCH_TOUCH: `<stack name>=<value>` adds an output with that value to that
 *   stack, so that exactly one template differs from the previous synth, as
 *   after an edit of one construct.
 * BODYSCRIPT_VALIDATION_CACHE works as for bin/bodyscript.ts.
 */
function gatesFrom(value: string | undefined): readonly ComplianceGate[] {
  if (value === undefined || value === '') return COMPLIANCE_GATES;
  if (value === 'none') return [];
  const gates = value.split(',');
  const unknown = gates.filter((g) => !(COMPLIANCE_GATES as readonly string[]).includes(g));
  if (unknown.length > 0) throw new Error(`BENCH_GATES: unknown gate(s) ${unknown.join(', ')}; known: ${COMPLIANCE_GATES.join(', ')}, or none`);
  return gates as ComplianceGate[];
}

const gates = gatesFrom(process.env.BENCH_GATES);
// Without our CloudFormation gate, aws-cdk-lib would add its own default validator.
const app = new App({ builtinCloudFormationValidation: gates.includes('cloudformation') });
enableComplianceChecks(app, { gates, validationCache: validationCacheSetting(process.env[VALIDATION_CACHE_VARIABLE]), cloudFormationValidatorThread: true });
buildBodyScriptApp(app, loadConfig({}));
const touch = process.env.BENCH_TOUCH;
if (touch) {
  const [stackName, value] = touch.split('=');
  const stack = app.node.findAll().find((c): c is Stack => Stack.isStack(c) && c.stackName === stackName);
  if (!stack || value === undefined) throw new Error(`BENCH_TOUCH: expected <stack name>=<value> naming a stack of the app, got '${touch}'`);
  new CfnOutput(stack, 'BenchTouch', { value });
}
app.synth();
