import { createRequire } from 'node:module';
import * as path from 'node:path';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import * as trigger from '../lambda/ecs-deployment-trigger/index.cjs';
import { appSpecFor, CodeDeployEcsModel, type Stub, taskDefinitionArn } from './models/codedeploy-ecs-model';

/**
 * The deployment trigger's handler against CodeDeploy and ECS as modelled
 * from their documented behaviour (test/models/codedeploy-ecs-model.ts):
 * what it decides for a Create, a release (Update), CloudFormation's rollback
 * (an Update with the old properties) and a release during the previous
 * release's termination wait.
 */

const GROUP = { applicationName: 'BodyScript-Staging-api', deploymentGroupName: 'BodyScript-Staging-api' };
const SERVICE = { cluster: 'bodyscript-staging', serviceName: 'bodyscript-staging-api' };
const TD = (revision: number) => taskDefinitionArn('bodyscript-staging-api', revision);

type RequestType = 'Create' | 'Update' | 'Delete';
let requests = 0;

function event(requestType: RequestType, taskDefinition: string, requestId = `request-${++requests}`) {
  return {
    RequestType: requestType,
    RequestId: requestId,
    PhysicalResourceId: requestType === 'Create' ? undefined : `${GROUP.applicationName}/${GROUP.deploymentGroupName}`,
    ResourceProperties: {
      ApplicationName: GROUP.applicationName,
      DeploymentGroupName: GROUP.deploymentGroupName,
      DeploymentConfigName: 'CodeDeployDefault.ECSAllAtOnce',
      Cluster: SERVICE.cluster,
      Service: SERVICE.serviceName,
      TaskDefinition: taskDefinition,
      AppSpec: appSpecFor(taskDefinition),
      Description: 'bodyscript-staging-api release 1.2.0, started by cdk deploy',
      AutoRollbackEvents: 'DEPLOYMENT_STOP_ON_ALARM,DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_REQUEST',
    },
  } as const;
}

function world(running: string) {
  const codeDeployClient = new CodeDeployClient({ region: 'us-east-1' });
  const ecsClient = new ECSClient({ region: 'us-east-1' });
  const codeDeploy = mockClient(codeDeployClient);
  const ecs = mockClient(ecsClient);
  const model = new CodeDeployEcsModel(GROUP, SERVICE).runs(running);
  model.install(codeDeploy as unknown as Stub, ecs as unknown as Stub);
  const log: string[] = [];
  const aws = { codeDeploy: codeDeployClient, ecs: ecsClient, now: () => Date.parse('2026-11-30T12:00:00Z'), log: (line: string) => log.push(line) };
  return { model, aws, log };
}

/** What CloudFormation's provider framework does: onEvent once, then isComplete until done (bounded), CodeDeploy moving on between polls. */
async function cloudFormation(w: ReturnType<typeof world>, e: ReturnType<typeof event>, maxPolls = 10): Promise<{ polls: number; physicalId?: string }> {
  // CloudFormation registers the new task definition revision before it updates the trigger.
  if (!w.model.taskDefinitions.has(e.ResourceProperties.TaskDefinition)) w.model.register(e.ResourceProperties.TaskDefinition);
  const started = await trigger.onEvent(e, w.aws);
  for (let polls = 1; polls <= maxPolls; polls++) {
    const result = await trigger.isComplete({ ...e, PhysicalResourceId: started.PhysicalResourceId }, w.aws);
    if (result.IsComplete) return { polls, physicalId: started.PhysicalResourceId };
    w.model.tick();
  }
  throw new Error(`not complete after ${maxPolls} polls: ${w.log.join(' | ')}`);
}

describe('ECS deployment trigger handler', () => {
  test('Create: a new service already runs its task definition, so no CodeDeploy deployment is started', async () => {
    const w = world(TD(1));
    const { polls, physicalId } = await cloudFormation(w, event('Create', TD(1)));
    expect(polls).toBe(1);
    expect(physicalId).toBe('BodyScript-Staging-api/BodyScript-Staging-api');
    expect(w.model.changes).toEqual([]);
    expect(w.log.join('\n')).toContain('already runs');
  });

  test('Update (a release): one deployment, complete once traffic has moved while the original task set stays for the termination wait', async () => {
    const w = world(TD(1));
    const e = event('Update', TD(2));
    const { polls } = await cloudFormation(w, e);
    expect(polls).toBe(2);
    expect(w.model.changes).toEqual([expect.stringMatching(new RegExp(`^CreateDeployment d-\\d+ ${TD(2)}$`))]);
    const [deployment] = w.model.deployments.values();
    expect(deployment.description).toContain(trigger.requestMarker(e.RequestId));
    // Still InProgress: the original (blue) task set is kept, so a rollback during the wait is instant.
    expect(deployment.status).toBe('InProgress');
    expect(w.model.taskSets.map((s) => [s.taskDefinition, s.status])).toEqual([
      [TD(1), 'ACTIVE'],
      [TD(2), 'PRIMARY'],
    ]);
  });

  test('Update that CodeDeploy rolls back on an alarm: waits for the rollback, then fails with the error', async () => {
    const w = world(TD(1));
    const e = event('Update', TD(2));
    w.model.register(TD(2));
    await trigger.onEvent(e, w.aws);
    const [deployment] = w.model.deployments.values();
    w.model.alarm(deployment.id);
    expect(await trigger.isComplete(e, w.aws)).toEqual({ IsComplete: false });
    w.model.tick();
    await expect(trigger.isComplete(e, w.aws)).rejects.toThrow(/deployment d-\d+ Failed: \[ALARM_ACTIVE\].*BodyScript-Staging-api-5xxRate.*rollback d-\d+ put the previous task set back/);
    expect(w.model.primary).toBe(TD(1));
  });

  test("rollback-Update after CodeDeploy rolled back: CloudFormation's rollback finishes at once, without a second blue/green cycle", async () => {
    const w = world(TD(1));
    const release = event('Update', TD(2));
    w.model.register(TD(2));
    await trigger.onEvent(release, w.aws);
    w.model.alarm([...w.model.deployments.values()][0].id);
    w.model.tick();
    await expect(trigger.isComplete(release, w.aws)).rejects.toThrow(/Failed/);

    // CloudFormation rolls the stack back: an Update with the old properties.
    const { polls } = await cloudFormation(w, event('Update', TD(1)));
    expect(polls).toBe(1);
    expect(w.model.changes.filter((c) => c.startsWith('CreateDeployment'))).toHaveLength(1);
  });

  test('rollback-Update while the failed release is in its termination wait (another resource failed): StopDeployment with auto-rollback, then done', async () => {
    const w = world(TD(1));
    await cloudFormation(w, event('Update', TD(2)));
    // The stack update fails later on another resource; CloudFormation rolls the trigger back.
    const { polls } = await cloudFormation(w, event('Update', TD(1)));
    expect(polls).toBe(2);
    expect(w.model.changes).toEqual([expect.stringMatching(/^CreateDeployment/), expect.stringMatching(/^StopDeployment d-\d+ autoRollback$/)]);
    expect(w.model.primary).toBe(TD(1));
    expect(w.model.taskSets).toHaveLength(1);
  });

  test('release during the previous release’s termination wait: ends the wait with ContinueDeployment, then deploys', async () => {
    const w = world(TD(1));
    const previous = w.model.seed(TD(2), 'shifted');
    const { polls } = await cloudFormation(w, event('Update', TD(3)));
    expect(w.model.changes).toEqual([`ContinueDeployment ${previous.id} TERMINATION_WAIT`, expect.stringMatching(new RegExp(`^CreateDeployment d-\\d+ ${TD(3)}$`))]);
    expect(previous.status).toBe('Succeeded');
    expect(w.model.primary).toBe(TD(3));
    expect(polls).toBe(3);
  });

  test('another deployment still shifting traffic: waits for it, starts nothing', async () => {
    const w = world(TD(1));
    w.model.register(TD(2));
    // Someone else's deployment, before traffic moved.
    const other = await trigger.onEvent(event('Update', TD(2), 'someone-else'), w.aws);
    expect(other.PhysicalResourceId).toBeDefined();
    const e = event('Update', TD(3));
    expect(await trigger.isComplete(e, w.aws)).toEqual({ IsComplete: false });
    expect(w.model.changes).toHaveLength(1);
    expect(w.log.at(-1)).toMatch(/is InProgress; waiting for it to finish before deploying/);
  });

  test('an inactive task definition fails the release with ECS’s refusal', async () => {
    const w = world(TD(1));
    w.model.register(TD(2), 'INACTIVE');
    await expect(cloudFormation(w, event('Update', TD(2)))).rejects.toThrow(/ECS_UPDATE_ERROR.*is inactive/);
  });

  test('Delete changes nothing (stopping a deployment here would roll back a release CloudFormation just completed)', async () => {
    const w = world(TD(1));
    w.model.seed(TD(2), 'shifted');
    const e = event('Delete', TD(2));
    expect(await trigger.onEvent(e, w.aws)).toEqual({ PhysicalResourceId: e.PhysicalResourceId });
    expect(await trigger.isComplete(e, w.aws)).toEqual({ IsComplete: true });
    expect(w.model.changes).toEqual([]);
  });

  describe('decide', () => {
    const view = (over: Partial<Parameters<typeof trigger.decide>[0]['active'] & object> = {}) => ({ id: 'd-1', status: 'InProgress', trafficShifted: false, target: TD(2), ...over });
    test.each([
      ['nothing deploying, already running', 'complete', { target: TD(1), primaryTaskDefinition: TD(1), taskSetTaskDefinitions: [TD(1)] }],
      ['nothing deploying, another task definition running', 'create', { target: TD(2), primaryTaskDefinition: TD(1), taskSetTaskDefinitions: [TD(1)] }],
      ['own deployment shifting', 'wait', { target: TD(2), own: view(), taskSetTaskDefinitions: [TD(1), TD(2)] }],
      ['own deployment shifted', 'complete', { target: TD(2), own: view({ trafficShifted: true }), taskSetTaskDefinitions: [TD(1), TD(2)] }],
      ['own deployment failed, rollback running', 'wait', { target: TD(2), own: view({ status: 'Failed', rollbackDeploymentId: 'd-2', rollbackStatus: 'InProgress' }), taskSetTaskDefinitions: [TD(1)] }],
      ['own deployment failed, rolled back', 'fail', { target: TD(2), own: view({ status: 'Failed', rollbackDeploymentId: 'd-2', rollbackStatus: 'Succeeded' }), taskSetTaskDefinitions: [TD(1)] }],
      ['another deployment of the wanted task definition', 'complete', { target: TD(2), active: view({ trafficShifted: true }), taskSetTaskDefinitions: [TD(1), TD(2)] }],
      ['CodeDeploy rolling back', 'wait', { target: TD(3), active: view({ creator: 'codeDeployRollback', target: TD(1) }), taskSetTaskDefinitions: [TD(1), TD(2)] }],
      ['the wanted task definition is the active deployment’s original', 'stop', { target: TD(1), active: view(), taskSetTaskDefinitions: [TD(1), TD(2)] }],
      ['previous release in its termination wait', 'continue', { target: TD(3), active: view({ trafficShifted: true }), taskSetTaskDefinitions: [TD(1), TD(2)] }],
      ['previous release still shifting', 'wait', { target: TD(3), active: view(), taskSetTaskDefinitions: [TD(1), TD(2)] }],
    ])('%s → %s', (_case, kind, state) => {
      expect(trigger.decide(state as Parameters<typeof trigger.decide>[0]).kind).toBe(kind);
    });

    test('reads the task definition of the AppSpec it writes', () => {
      expect(trigger.taskDefinitionOfAppSpec(appSpecFor(TD(7)))).toBe(TD(7));
      expect(trigger.taskDefinitionOfAppSpec(undefined)).toBeUndefined();
    });
  });

  describe('the handler it replaces (@cdklabs/cdk-ecs-codedeploy 0.0.267)', () => {
    // It logs JSON lines of its own.
    beforeAll(() => jest.spyOn(console, 'log').mockImplementation(() => undefined));
    afterAll(() => jest.restoreAllMocks());
    // The library resolves its own copy of the SDK; its command classes are that copy's.
    const libraryDirectory = path.dirname(require.resolve('@cdklabs/cdk-ecs-codedeploy/package.json'));
    const requireFromLibrary = createRequire(path.join(libraryDirectory, 'package.json'));
    const librarySdk = requireFromLibrary('@aws-sdk/client-codedeploy') as typeof import('@aws-sdk/client-codedeploy');
    const libraryOnEvent = requireFromLibrary('./lib/ecs-deployment-provider/on-event.lambda.js') as { handler: (e: object) => Promise<unknown> };

    function libraryWorld(running: string) {
      const codeDeploy = mockClient(librarySdk.CodeDeployClient);
      const ecs = mockClient(ECSClient);
      const model = new CodeDeployEcsModel(GROUP, SERVICE).runs(running);
      model.install(codeDeploy as unknown as Stub, ecs as unknown as Stub, librarySdk);
      return { model, restore: () => (codeDeploy.restore(), ecs.restore()) };
    }
    const libraryEvent = (requestType: RequestType, taskDefinition: string) => ({
      RequestType: requestType,
      ResourceProperties: { applicationName: GROUP.applicationName, deploymentGroupName: GROUP.deploymentGroupName, deploymentConfigName: 'CodeDeployDefault.ECSAllAtOnce', description: 'x', revisionAppSpecContent: appSpecFor(taskDefinition) },
    });

    test('starts a second blue/green cycle on CloudFormation’s rollback Update after CodeDeploy already rolled back', async () => {
      const { model, restore } = libraryWorld(TD(1));
      try {
        model.register(TD(2));
        await libraryOnEvent.handler(libraryEvent('Update', TD(2)));
        model.alarm([...model.deployments.values()][0].id);
        model.tick();
        await libraryOnEvent.handler(libraryEvent('Update', TD(1)));
        expect(model.changes.filter((c) => c.startsWith('CreateDeployment'))).toHaveLength(2);
      } finally {
        restore();
      }
    });

    test('is refused during the previous release’s termination wait', async () => {
      const { model, restore } = libraryWorld(TD(1));
      try {
        model.seed(TD(2), 'shifted');
        model.register(TD(3));
        await expect(libraryOnEvent.handler(libraryEvent('Update', TD(3)))).rejects.toThrow(/already has an active Deployment/);
      } finally {
        restore();
      }
    });
  });
});
