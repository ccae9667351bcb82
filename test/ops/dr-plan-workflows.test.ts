import { ENVIRONMENT_NAMES } from '../../lib/config';
import { describeStepShapes, expectedFailbackSteps, expectedFailoverSteps, failbackWorkflow, failoverWorkflow } from '../../lib/ops/dr/plan-workflows';
import { deployedPlan } from './dr-fixtures';
import { harness } from './helpers';

describe('the Region switch plan workflows the DR commands run', () => {
  test.each(ENVIRONMENT_NAMES)('%s: the expected steps are exactly what the synthesized standby stack deploys', (env) => {
    const h = harness(env);
    const plan = deployedPlan(env, h.config.standby.account);
    expect(describeStepShapes(failoverWorkflow(h.ctx, plan)!.steps)).toBe(describeStepShapes(expectedFailoverSteps(h.ctx)));
    const failback = failbackWorkflow(h.ctx, plan);
    const expected = expectedFailbackSteps(h.ctx);
    if (h.config.domain) expect(describeStepShapes(failback!.steps)).toBe(describeStepShapes(expected!));
    else expect([failback, expected]).toEqual([undefined, undefined]);
  });

  test('with a domain the failover ends by moving the api, and the failback only moves it back', () => {
    const h = harness('production');
    expect(h.config.domain).toBeDefined();
    expect(describeStepShapes(expectedFailoverSteps(h.ctx))).toBe(
      'promote-replica (RdsPromoteReadReplica) → raise-services (Parallel: raise-api (ECSServiceScaling), raise-processing (ECSServiceScaling)) → switch-traffic (Route53HealthCheck)',
    );
    expect(describeStepShapes(expectedFailbackSteps(h.ctx)!)).toBe('return-traffic (Route53HealthCheck)');
  });

  test('a workflow without a target region activates either region for the failover (ARC allows one such workflow), never for the failback', () => {
    const h = harness('production');
    const plan = deployedPlan('production', h.config.standby.account);
    const both = { ...plan, workflows: [{ ...plan.workflows[0], workflowTargetRegion: undefined }] };
    expect(failoverWorkflow(h.ctx, both)).toBe(both.workflows[0]);
    expect(failbackWorkflow(h.ctx, both)).toBeUndefined();
    // A deactivate workflow is not one the commands start.
    expect(failoverWorkflow(h.ctx, { ...plan, workflows: [{ ...plan.workflows[0], workflowTargetAction: 'deactivate' }] })).toBeUndefined();
  });

  test("a Parallel block's steps read the same in any order (ARC starts them together); top-level order counts", () => {
    const raise = (names: string[]) => ({ name: 'raise-services', executionBlockType: 'Parallel', steps: names.map((name) => ({ name, executionBlockType: 'ECSServiceScaling' })) });
    const promote = { name: 'promote-replica', executionBlockType: 'RdsPromoteReadReplica' };
    expect(describeStepShapes([promote, raise(['raise-processing', 'raise-api'])])).toBe(describeStepShapes([promote, raise(['raise-api', 'raise-processing'])]));
    expect(describeStepShapes([raise(['raise-api', 'raise-processing']), promote])).not.toBe(describeStepShapes([promote, raise(['raise-api', 'raise-processing'])]));
    expect(describeStepShapes([])).toBe('no step');
  });
});
