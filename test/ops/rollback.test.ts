import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  BatchGetDeploymentsCommand,
  BatchGetDeploymentTargetsCommand,
  CreateDeploymentCommand,
  type DeploymentInfo,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentsCommand,
  ListDeploymentTargetsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import {
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListServiceDeploymentsCommand,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { ROLLBACK_DEPLOYMENT_CONFIG, runRollback, runRollbacks } from '../../lib/ops/commands/rollback';
import { ExitCode } from '../../lib/ops/exit-codes';
import { awsError, DescribeCanariesLastRun, harness, START, type Harness } from './helpers';

const TD = (n: number) => `arn:aws:ecs:us-east-1:111111111111:task-definition/bodyscript-staging-api:${n}`;
const WORKER_TD = (n: number) => `arn:aws:ecs:us-east-1:111111111111:task-definition/bodyscript-staging-processing:${n}`;
const WORKER = 'arn:aws:ecs:us-east-1:111111111111:service-deployment/bodyscript-staging/bodyscript-staging-processing';
const REVISION = (n: number) => `arn:aws:ecs:us-east-1:111111111111:service-revision/bodyscript-staging/bodyscript-staging-processing/rev-${n}`;

function deployment(id: string, taskDefinition: number, hoursAgo: number): DeploymentInfo {
  const content = JSON.stringify({
    version: 0,
    Resources: [{ TargetService: { Type: 'AWS::ECS::Service', Properties: { TaskDefinition: TD(taskDefinition), LoadBalancerInfo: { ContainerName: 'api', ContainerPort: 8000 } } } }],
  });
  return { deploymentId: id, status: 'Succeeded', createTime: new Date(START - hoursAgo * 3_600_000), revision: { revisionType: 'AppSpecContent', appSpecContent: { content } } };
}

/** After the rollback, verify finds everything healthy. */
function healthyAfterwards(h: Harness): void {
  h.mocks.primary.cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'BodyScript-Staging-Api-5xx', StateValue: 'OK' }] });
  h.mocks.primary.ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [{ serviceDeploymentArn: `${WORKER}/dep-9`, status: 'SUCCESSFUL', createdAt: new Date(START) }] });
  h.mocks.primary.synthetics.on(DescribeCanariesLastRun).resolves({
    CanariesLastRun: ['bs-stg-frontend', 'bs-stg-api', 'bs-stg-processing'].map((n) => ({
      CanaryName: n,
      LastRun: { Status: { State: 'PASSED' }, Timeline: { Completed: new Date(START) } },
    })),
  });
}

/** No deployment in progress; three successful ones: d-3 (live, td 42), d-2 (also td 42, a config-only redeploy), d-1 (td 41). */
function withHistory(h: Harness): void {
  const cd = h.mocks.primary.codeDeploy;
  cd.on(ListDeploymentsCommand).resolves({ deployments: [] });
  cd.on(ListDeploymentsCommand, { includeOnlyStatuses: ['Succeeded'] }).resolves({ deployments: ['d-1', 'd-3', 'd-2'] });
  // Deliberately unordered: the command must sort by creation time.
  cd.on(BatchGetDeploymentsCommand).resolves({ deploymentsInfo: [deployment('d-1', 41, 48), deployment('d-3', 42, 1), deployment('d-2', 42, 24)] });
  cd.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: { lastAttemptedDeployment: { deploymentId: 'd-3', status: 'Succeeded' } } });
  // The task definitions carry UpdateReplacePolicy Retain: CloudFormation left the replaced revisions ACTIVE.
  h.mocks.primary.ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => ({ taskDefinition: { taskDefinitionArn: input.taskDefinition, status: 'ACTIVE' } }));
}

/** Traffic of deployment `id` has (not) moved yet. */
function traffic(h: Harness, moved: boolean): void {
  h.mocks.primary.codeDeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['bodyscript-staging:bodyscript-staging-api'] });
  h.mocks.primary.codeDeploy
    .on(BatchGetDeploymentTargetsCommand)
    .resolves({ deploymentTargets: [{ ecsTarget: { status: moved ? 'Succeeded' : 'InProgress', lifecycleEvents: [{ lifecycleEventName: 'AfterAllowTraffic', status: moved ? 'Succeeded' : 'Pending' }] } }] });
}

function mutatingCalls(h: Harness): number {
  return h.mocks.primary.codeDeploy.commandCalls(StopDeploymentCommand).length + h.mocks.primary.codeDeploy.commandCalls(CreateDeploymentCommand).length;
}

describe('ops rollback', () => {
  test('dry run (no deployment in progress) prints the redeploy of the previous task definition and changes nothing', async () => {
    const h = harness();
    withHistory(h);
    const result = await runRollback(h.ctx, { service: 'api', execute: false, timeoutMinutes: 15 });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(result.action).toMatchObject({ kind: 'redeploy', live: { deploymentId: 'd-3' }, target: { deploymentId: 'd-1' } });
    expect(mutatingCalls(h)).toBe(0);
    const text = h.out.text();
    expect(text).toContain(`CreateDeployment in BodyScript-Staging-api/BodyScript-Staging-api with the revision of d-1 (task definition ${TD(41)})`);
    expect(text).toContain(`live:   d-3 (Succeeded, task definition ${TD(42)}`);
    expect(text).toContain('Dry run: nothing was changed');
    // Successful deployments are looked up within a bounded window.
    expect(h.mocks.primary.codeDeploy.commandCalls(ListDeploymentsCommand, { includeOnlyStatuses: ['Succeeded'] })[0].args[0].input.createTimeRange?.start).toEqual(
      new Date(START - 90 * 86_400_000),
    );
  });

  test('dry run with a deployment in progress prints the stop and changes nothing', async () => {
    const h = harness();
    traffic(h, false);
    h.mocks.primary.codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-NEW'] });
    h.mocks.primary.codeDeploy.on(GetDeploymentCommand).resolves({ deploymentInfo: { ...deployment('d-NEW', 43, 0), status: 'InProgress' } });
    const result = await runRollback(h.ctx, { service: 'api', execute: false, timeoutMinutes: 15 });
    expect(result.action.kind).toBe('stop');
    expect(mutatingCalls(h)).toBe(0);
    expect(h.out.text()).toContain(`StopDeployment d-NEW (InProgress, task definition ${TD(43)}`);
    expect(h.out.text()).toContain('autoRollbackEnabled=true');
  });

  test('right after cdk deploy (the release in its termination wait) the rollback is the stop: traffic goes back to the previous task set, still running', async () => {
    const h = harness();
    traffic(h, true);
    h.mocks.primary.codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-NEW'] });
    h.mocks.primary.codeDeploy.on(GetDeploymentCommand).resolves({ deploymentInfo: { ...deployment('d-NEW', 43, 0), status: 'InProgress' } });
    const result = await runRollback(h.ctx, { service: 'api', execute: false, timeoutMinutes: 15 });
    expect(result.action).toMatchObject({ kind: 'stop', inTerminationWait: true });
    expect(h.out.text()).toContain("the previous release's task set still runs for the termination wait");
  });

  test('refuses to redeploy a task definition ECS would refuse (INACTIVE: deregistered by CloudFormation), changing nothing', async () => {
    const h = harness();
    withHistory(h);
    h.mocks.primary.ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TD(41), status: 'INACTIVE' } });
    await expect(runRollback(h.ctx, { service: 'api', execute: true, timeoutMinutes: 15 })).rejects.toThrow(
      new RegExp(`cannot roll api back to ${TD(41)}: it is INACTIVE, and ECS runs no new task from an INACTIVE revision`),
    );
    expect(mutatingCalls(h)).toBe(0);
  });

  test('--execute redeploys the previous revision all at once, waits for traffic, then verifies', async () => {
    const h = harness();
    withHistory(h);
    healthyAfterwards(h);
    const cd = h.mocks.primary.codeDeploy;
    cd.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-RB' });
    cd.on(GetDeploymentCommand, { deploymentId: 'd-RB' }).resolves({ deploymentInfo: { deploymentId: 'd-RB', status: 'InProgress' } });
    cd.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['bodyscript-staging:bodyscript-staging-api'] });
    cd.on(BatchGetDeploymentTargetsCommand)
      .resolvesOnce({ deploymentTargets: [{ ecsTarget: { lifecycleEvents: [{ lifecycleEventName: 'AfterAllowTraffic', status: 'Pending' }] } }] })
      .resolves({ deploymentTargets: [{ ecsTarget: { lifecycleEvents: [{ lifecycleEventName: 'AfterAllowTraffic', status: 'Succeeded' }] } }] });
    const result = await runRollback(h.ctx, { service: 'api', execute: true, timeoutMinutes: 15, intervalSeconds: 10 });
    expect(result).toMatchObject({ exitCode: ExitCode.OK, deploymentId: 'd-RB' });
    const create = cd.commandCalls(CreateDeploymentCommand);
    expect(create).toHaveLength(1);
    expect(create[0].args[0].input).toMatchObject({
      applicationName: 'BodyScript-Staging-api',
      deploymentGroupName: 'BodyScript-Staging-api',
      deploymentConfigName: ROLLBACK_DEPLOYMENT_CONFIG,
      revision: deployment('d-1', 41, 48).revision,
    });
    expect(cd.commandCalls(StopDeploymentCommand)).toHaveLength(0);
    expect(h.clock.sleeps).toEqual([10_000]);
    expect(h.out.text()).toContain('traffic shifted');
    expect(h.out.text()).toContain('staging is healthy');
  });

  test('--execute with a deployment in progress stops it with auto-rollback and waits for the rollback deployment', async () => {
    const h = harness();
    healthyAfterwards(h);
    traffic(h, true);
    const cd = h.mocks.primary.codeDeploy;
    cd.on(ListDeploymentsCommand).resolvesOnce({ deployments: ['d-NEW'] }).resolves({ deployments: [] });
    cd.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: { lastAttemptedDeployment: { deploymentId: 'd-RB', status: 'Succeeded' } } });
    cd.on(GetDeploymentCommand, { deploymentId: 'd-NEW' })
      .resolvesOnce({ deploymentInfo: { deploymentId: 'd-NEW', status: 'InProgress' } })
      .resolvesOnce({ deploymentInfo: { deploymentId: 'd-NEW', status: 'InProgress' } })
      .resolves({ deploymentInfo: { deploymentId: 'd-NEW', status: 'Stopped', rollbackInfo: { rollbackDeploymentId: 'd-RB' } } });
    cd.on(GetDeploymentCommand, { deploymentId: 'd-RB' }).resolves({ deploymentInfo: { deploymentId: 'd-RB', status: 'Succeeded' } });
    cd.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    const result = await runRollback(h.ctx, { service: 'api', execute: true, timeoutMinutes: 15 });
    expect(result).toMatchObject({ exitCode: ExitCode.OK, deploymentId: 'd-NEW' });
    expect(cd.commandCalls(StopDeploymentCommand)[0].args[0].input).toEqual({ deploymentId: 'd-NEW', autoRollbackEnabled: true });
    expect(cd.commandCalls(GetDeploymentCommand, { deploymentId: 'd-RB' })).toHaveLength(1);
    expect(cd.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
  });

  test('a rollback deployment that fails stops with UNHEALTHY and its error message, without verifying', async () => {
    const h = harness();
    withHistory(h);
    const cd = h.mocks.primary.codeDeploy;
    cd.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-RB' });
    cd.on(GetDeploymentCommand, { deploymentId: 'd-RB' }).resolves({
      deploymentInfo: { deploymentId: 'd-RB', status: 'Failed', errorInformation: { message: 'The ECS service cannot be updated due to an unexpected error' } },
    });
    await expect(runRollback(h.ctx, { service: 'api', execute: true, timeoutMinutes: 15 })).rejects.toMatchObject({
      kind: 'unhealthy',
      exitCode: ExitCode.UNHEALTHY,
      message: expect.stringContaining('Failed: The ECS service cannot be updated'),
    });
    expect(h.mocks.primary.cloudWatch.calls()).toHaveLength(0);
  });

  test('a rollback that does not finish in time is a TIMEOUT', async () => {
    const h = harness();
    withHistory(h);
    const cd = h.mocks.primary.codeDeploy;
    cd.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-RB' });
    cd.on(GetDeploymentCommand).resolves({ deploymentInfo: { deploymentId: 'd-RB', status: 'Queued' } });
    await expect(runRollback(h.ctx, { service: 'api', execute: true, timeoutMinutes: 2, intervalSeconds: 15 })).rejects.toMatchObject({
      kind: 'timeout',
      exitCode: ExitCode.TIMEOUT,
      message: expect.stringMatching(/^timed out after 02m00s waiting for deployment d-RB \(last status: Queued\)/),
    });
  });

  test('nothing older to roll back to: clear message, nothing created', async () => {
    const h = harness();
    withHistory(h);
    h.mocks.primary.codeDeploy.on(BatchGetDeploymentsCommand).resolves({ deploymentsInfo: [deployment('d-3', 42, 1), deployment('d-2', 42, 24)] });
    await expect(runRollback(h.ctx, { service: 'api', execute: true, timeoutMinutes: 15 })).rejects.toThrow(
      `nothing to roll back to: every successful deployment of deployment group BodyScript-Staging-api/BodyScript-Staging-api in the last 90 days used the live task definition ${TD(42)}`,
    );
    expect(mutatingCalls(h)).toBe(0);
  });

  test('access denied on CreateDeployment names the action; nothing is verified as healthy', async () => {
    const h = harness();
    withHistory(h);
    h.mocks.primary.codeDeploy.on(CreateDeploymentCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform: codedeploy:CreateDeployment'));
    const error = await runRollback(h.ctx, { service: 'api', execute: true, timeoutMinutes: 15 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'access-denied', exitCode: ExitCode.AWS_ERROR });
    expect((error as Error).message).toMatch(/^access denied: codedeploy:CreateDeployment on deployment group BodyScript-Staging-api/);
    expect(h.mocks.primary.cloudWatch.calls()).toHaveLength(0);
  });

  test('a throttled CreateDeployment is retried once, not duplicated after success', async () => {
    const h = harness();
    withHistory(h);
    healthyAfterwards(h);
    const cd = h.mocks.primary.codeDeploy;
    cd.on(CreateDeploymentCommand).rejectsOnce(awsError('ThrottlingException')).resolves({ deploymentId: 'd-RB' });
    cd.on(GetDeploymentCommand, { deploymentId: 'd-RB' }).resolves({ deploymentInfo: { deploymentId: 'd-RB', status: 'Succeeded' } });
    const result = await runRollback(h.ctx, { service: 'api', execute: true, timeoutMinutes: 15 });
    expect(result.exitCode).toBe(ExitCode.OK);
    expect(cd.commandCalls(CreateDeploymentCommand)).toHaveLength(2);
  });

  test('warns when the last deployment already failed (CodeDeploy rolled it back itself)', async () => {
    const h = harness();
    withHistory(h);
    h.mocks.primary.codeDeploy.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: { lastAttemptedDeployment: { deploymentId: 'd-4', status: 'Failed' } } });
    await runRollback(h.ctx, { service: 'api', execute: false, timeoutMinutes: 15 });
    expect(h.out.text()).toContain('WARNING: the last deployment d-4 Failed');
  });

  describe('the worker (ECS rolling updates)', () => {
    /** Running revision 7; successful service deployments ran 7, 6 (a config-only redeploy of 6) and 5. */
    function workerHistory(h: Harness): void {
      const ecs = h.mocks.primary.ecs;
      ecs.on(ListServiceDeploymentsCommand).resolves({
        serviceDeployments: [
          { serviceDeploymentArn: `${WORKER}/dep-3`, status: 'SUCCESSFUL', createdAt: new Date(START - 3_600_000), targetServiceRevisionArn: REVISION(3) },
          { serviceDeploymentArn: `${WORKER}/dep-1`, status: 'SUCCESSFUL', createdAt: new Date(START - 3 * 3_600_000), targetServiceRevisionArn: REVISION(1) },
          { serviceDeploymentArn: `${WORKER}/dep-2`, status: 'SUCCESSFUL', createdAt: new Date(START - 2 * 3_600_000), targetServiceRevisionArn: REVISION(2) },
        ],
      });
      ecs.on(DescribeServiceRevisionsCommand).resolves({
        serviceRevisions: [
          { serviceRevisionArn: REVISION(1), taskDefinition: WORKER_TD(5) },
          { serviceRevisionArn: REVISION(2), taskDefinition: WORKER_TD(7) },
          { serviceRevisionArn: REVISION(3), taskDefinition: WORKER_TD(7) },
        ],
      });
      ecs.on(DescribeServicesCommand).resolves({ services: [{ serviceName: 'bodyscript-staging-processing', status: 'ACTIVE', taskDefinition: WORKER_TD(7) }] });
      ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => ({ taskDefinition: { taskDefinitionArn: input.taskDefinition, status: 'ACTIVE' } }));
    }

    test('dry run: UpdateService to the newest successful task definition that differs from the running one', async () => {
      const h = harness();
      workerHistory(h);
      const result = await runRollback(h.ctx, { service: 'processing', execute: false, timeoutMinutes: 15 });
      expect(result.action).toEqual({ kind: 'update-service', current: WORKER_TD(7), target: WORKER_TD(5) });
      expect(h.mocks.primary.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
      expect(h.mocks.primary.codeDeploy.calls()).toHaveLength(0);
      expect(h.out.text()).toContain(`UpdateService bodyscript-staging-processing to ${WORKER_TD(5)}`);
    });

    test('--execute deploys it and waits until no worker of the replaced release is left, then verifies', async () => {
      const h = harness();
      healthyAfterwards(h);
      workerHistory(h);
      h.mocks.primary.codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
      h.mocks.primary.codeDeploy.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: { lastAttemptedDeployment: { deploymentId: 'd-3', status: 'Succeeded' } } });
      h.mocks.primary.ecs.on(UpdateServiceCommand).resolves({ service: { deployments: [{ id: 'ecs-svc/RB', status: 'PRIMARY' }] } });
      h.mocks.primary.ecs
        .on(DescribeServicesCommand)
        .resolvesOnce({ services: [{ serviceName: 'bodyscript-staging-processing', status: 'ACTIVE', taskDefinition: WORKER_TD(7) }] })
        .resolvesOnce({
          services: [
            {
              serviceName: 'bodyscript-staging-processing',
              status: 'ACTIVE',
              deployments: [
                { id: 'ecs-svc/RB', status: 'PRIMARY', taskDefinition: WORKER_TD(5), runningCount: 1, desiredCount: 1, rolloutState: 'IN_PROGRESS' },
                { id: 'ecs-svc/OLD', status: 'ACTIVE', taskDefinition: WORKER_TD(7), runningCount: 1, desiredCount: 0 },
              ],
            },
          ],
        })
        .resolves({
          services: [{ serviceName: 'bodyscript-staging-processing', status: 'ACTIVE', deployments: [{ id: 'ecs-svc/RB', status: 'PRIMARY', taskDefinition: WORKER_TD(5), runningCount: 1, desiredCount: 1, rolloutState: 'IN_PROGRESS' }] }],
        });
      const result = await runRollback(h.ctx, { service: 'processing', execute: true, timeoutMinutes: 15, intervalSeconds: 10 });
      expect(result).toMatchObject({ exitCode: ExitCode.OK, deploymentId: 'ecs-svc/RB' });
      expect(h.mocks.primary.ecs.commandCalls(UpdateServiceCommand)[0].args[0].input).toEqual({ cluster: 'bodyscript-staging', service: 'bodyscript-staging-processing', taskDefinition: WORKER_TD(5) });
      expect(h.clock.sleeps).toEqual([10_000]);
      expect(h.out.text()).toContain('0 of the replaced release');
    });

    test('a service deployment in progress is stopped with a rollback', async () => {
      const h = harness();
      healthyAfterwards(h);
      h.mocks.primary.codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
      h.mocks.primary.codeDeploy.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: {} });
      h.mocks.primary.ecs
        .on(ListServiceDeploymentsCommand)
        .resolvesOnce({ serviceDeployments: [{ serviceDeploymentArn: `${WORKER}/dep-4`, status: 'IN_PROGRESS', createdAt: new Date(START) }] })
        .resolvesOnce({ serviceDeployments: [{ serviceDeploymentArn: `${WORKER}/dep-4`, status: 'ROLLBACK_IN_PROGRESS', createdAt: new Date(START) }] })
        .resolves({ serviceDeployments: [{ serviceDeploymentArn: `${WORKER}/dep-4`, status: 'ROLLBACK_SUCCESSFUL', createdAt: new Date(START) }] });
      h.mocks.primary.ecs.on(StopServiceDeploymentCommand).resolves({ serviceDeploymentArn: `${WORKER}/dep-4` });
      const result = await runRollback(h.ctx, { service: 'processing', execute: true, timeoutMinutes: 15, intervalSeconds: 10 });
      expect(result.exitCode).toBe(ExitCode.OK);
      expect(h.mocks.primary.ecs.commandCalls(StopServiceDeploymentCommand)[0].args[0].input).toEqual({ serviceDeploymentArn: `${WORKER}/dep-4`, stopType: 'ROLLBACK' });
      expect(h.mocks.primary.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    });

    test('nothing older to roll back to: clear message, nothing changed', async () => {
      const h = harness();
      workerHistory(h);
      h.mocks.primary.ecs.on(DescribeServiceRevisionsCommand).resolves({ serviceRevisions: [1, 2, 3].map((n) => ({ serviceRevisionArn: REVISION(n), taskDefinition: WORKER_TD(7) })) });
      await expect(runRollback(h.ctx, { service: 'processing', execute: true, timeoutMinutes: 15 })).rejects.toThrow(
        `nothing to roll back to: every successful service deployment of bodyscript-staging-processing ran the current task definition ${WORKER_TD(7)}`,
      );
      expect(h.mocks.primary.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    });
  });
});

describe('ops rollback --service all', () => {
  test('rolls both services back side by side, then verifies once; a service that cannot be rolled back does not hold the other back', async () => {
    const h = harness();
    healthyAfterwards(h);
    // The api: in its termination wait right after cdk deploy.
    traffic(h, true);
    const cd = h.mocks.primary.codeDeploy;
    cd.on(ListDeploymentsCommand).resolvesOnce({ deployments: ['d-NEW'] }).resolves({ deployments: [] });
    cd.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: { lastAttemptedDeployment: { deploymentId: 'd-RB', status: 'Succeeded' } } });
    cd.on(GetDeploymentCommand, { deploymentId: 'd-NEW' })
      .resolvesOnce({ deploymentInfo: { ...deployment('d-NEW', 43, 0), status: 'InProgress' } })
      .resolves({ deploymentInfo: { deploymentId: 'd-NEW', status: 'Stopped', rollbackInfo: { rollbackDeploymentId: 'd-RB' } } });
    cd.on(GetDeploymentCommand, { deploymentId: 'd-RB' }).resolves({ deploymentInfo: { deploymentId: 'd-RB', status: 'Succeeded' } });
    cd.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    // The worker: its only successful deployments ran the current task definition.
    h.mocks.primary.ecs.on(DescribeServicesCommand).resolves({ services: [{ serviceName: 'bodyscript-staging-processing', status: 'ACTIVE', taskDefinition: WORKER_TD(7) }] });
    h.mocks.primary.ecs.on(DescribeServiceRevisionsCommand).resolves({ serviceRevisions: [{ serviceRevisionArn: REVISION(1), taskDefinition: WORKER_TD(7) }] });
    h.mocks.primary.ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [{ serviceDeploymentArn: `${WORKER}/dep-1`, status: 'SUCCESSFUL', createdAt: new Date(START), targetServiceRevisionArn: REVISION(1) }] });

    const result = await runRollbacks(h.ctx, { services: ['api', 'processing'], execute: true, timeoutMinutes: 15, intervalSeconds: 10 });
    expect(cd.commandCalls(StopDeploymentCommand)).toHaveLength(1);
    expect(result.results.find((r) => r.service === 'api')).toMatchObject({ deploymentId: 'd-NEW' });
    expect(result.results.find((r) => r.service === 'processing')?.error?.message).toMatch(/^nothing to roll back to/);
    expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
    expect(h.out.errors.join('\n')).toContain('rollback of processing failed: nothing to roll back to');
  });
});
