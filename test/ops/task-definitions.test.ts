import { DeregisterTaskDefinitionCommand, DescribeServicesCommand, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { runTaskDefinitions } from '../../lib/ops/commands/task-definitions';
import { ExitCode } from '../../lib/ops/exit-codes';
import { harness, type Harness } from './helpers';

const TD = (family: string, n: number) => `arn:aws:ecs:us-east-1:111111111111:task-definition/bodyscript-staging-${family}:${n}`;

/** The api runs 14 (blue, termination wait) and 15 (green); the worker runs 8. Revisions 1–15 and 1–8 are ACTIVE (Retain). */
function retained(h: Harness): void {
  const ecs = h.mocks.primary.ecs;
  ecs.on(DescribeServicesCommand, { services: ['bodyscript-staging-api'] }).resolves({
    services: [{ serviceName: 'bodyscript-staging-api', status: 'ACTIVE', taskSets: [{ status: 'PRIMARY', taskDefinition: TD('api', 15) }, { status: 'ACTIVE', taskDefinition: TD('api', 14) }] }],
  });
  ecs.on(DescribeServicesCommand, { services: ['bodyscript-staging-processing'] }).resolves({
    services: [{ serviceName: 'bodyscript-staging-processing', status: 'ACTIVE', taskDefinition: TD('processing', 8), deployments: [{ status: 'PRIMARY', taskDefinition: TD('processing', 8) }] }],
  });
  ecs.on(ListTaskDefinitionsCommand, { familyPrefix: 'bodyscript-staging-api' }).resolves({
    // ListTaskDefinitions' familyPrefix also matches longer family names.
    taskDefinitionArns: [...Array.from({ length: 15 }, (_, i) => TD('api', i + 1)), 'arn:aws:ecs:us-east-1:111111111111:task-definition/bodyscript-staging-api-migrations:3'],
  });
  ecs.on(ListTaskDefinitionsCommand, { familyPrefix: 'bodyscript-staging-processing' }).resolves({ taskDefinitionArns: Array.from({ length: 8 }, (_, i) => TD('processing', i + 1)) });
  ecs.on(DeregisterTaskDefinitionCommand).resolves({});
}

describe('ops task-definitions', () => {
  test('dry run: keeps what runs and the newest N others, lists the rest, changes nothing', async () => {
    const h = harness();
    retained(h);
    const result = await runTaskDefinitions(h.ctx, { keep: 3, execute: false });
    expect(result.exitCode).toBe(ExitCode.OK);
    const [api, worker] = result.plans;
    expect(api.inUse).toEqual([TD('api', 15), TD('api', 14)]);
    expect(api.kept).toEqual([TD('api', 13), TD('api', 12), TD('api', 11)]);
    expect(api.deregister).toEqual(Array.from({ length: 10 }, (_, i) => TD('api', i + 1)));
    expect(worker.deregister).toEqual([1, 2, 3, 4].map((n) => TD('processing', n)));
    expect(h.mocks.primary.ecs.commandCalls(DeregisterTaskDefinitionCommand)).toHaveLength(0);
    expect(h.out.text()).toContain('Dry run: nothing was changed');
  });

  test('--execute deregisters the rest, oldest first, never a running one nor another family', async () => {
    const h = harness();
    retained(h);
    await runTaskDefinitions(h.ctx, { keep: 3, execute: true });
    const deregistered = h.mocks.primary.ecs.commandCalls(DeregisterTaskDefinitionCommand).map((c) => c.args[0].input.taskDefinition);
    expect(deregistered).toEqual([...Array.from({ length: 10 }, (_, i) => TD('api', i + 1)), ...[1, 2, 3, 4].map((n) => TD('processing', n))]);
    expect(deregistered).not.toContain(TD('api', 14));
    expect(deregistered.some((arn) => arn?.includes('migrations'))).toBe(false);
  });
});
