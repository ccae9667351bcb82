// @ts-check
'use strict';
/**
 * Handler of `Custom::EcsDeploymentTrigger` (constructs/ecs-deployment-trigger.ts):
 * the CloudFormation resource that deploys a new task definition of a
 * CodeDeploy blue/green ECS service when `cdk deploy` changes it.
 *
 * It replaces the handler of @cdklabs/cdk-ecs-codedeploy's EcsDeployment,
 * which calls CreateDeployment on every Create and Update and waits for the
 * deployment to *succeed*, that is, for the end of the termination wait. That
 * has three consequences we do not want:
 *
 * - CloudFormation's rollback of a failed release is an Update with the old
 *   AppSpec: a second full blue/green cycle starts after CodeDeploy has
 *   already rolled back, while the rollback alarms may still be in ALARM; if
 *   it is stopped, the stack ends in UPDATE_ROLLBACK_FAILED.
 * - `cdk deploy` sits through the whole termination wait (30 minutes in
 *   production) although the release is live once traffic has moved.
 * - A release during the previous release's termination wait fails:
 *   CreateDeployment refuses while the group has an active deployment
 *   (DeploymentLimitExceededException, "The Deployment Group '…' already has
 *   an active Deployment '…'").
 *
 * This handler reconciles instead. Every call (onEvent once, then isComplete
 * every poll until CloudFormation's provider times out) reads what AWS says
 * now — the service's task sets, the group's active deployment, and the
 * deployment this CloudFormation request started, found by the request id
 * in its description — and takes at most one step towards "the service
 * serves the AppSpec's task definition":
 *
 * - the service already runs it and nothing is deploying: done, nothing to
 *   start (a new service; CloudFormation's rollback after CodeDeploy rolled
 *   back; a description-only change);
 * - our deployment has moved production traffic (AfterAllowTraffic done):
 *   done; CodeDeploy keeps the original task set for the termination wait and
 *   still rolls back on its alarms, `ops verify` watches, and `ops rollback`
 *   stops the deployment with auto-rollback during the wait;
 * - our deployment failed or was stopped: wait for CodeDeploy's own rollback
 *   to finish, then fail with its error (CloudFormation rolls the stack back,
 *   and that Update finds the old task definition running: done);
 * - another deployment is active and its *original* task set runs the wanted
 *   task definition (CloudFormation rolling back while the failed release is
 *   still deploying or in its wait): StopDeployment with auto-rollback, which
 *   puts traffic back on the original tasks at once, then done;
 * - another release's deployment is in its termination wait: end the wait
 *   (ContinueDeployment, TERMINATION_WAIT), then start ours once it is over;
 * - another deployment is still shifting traffic: wait for it;
 * - otherwise: CreateDeployment, marked with the request id.
 *
 * The functions it exports besides the handlers are pure and are what the
 * tests (test/ecs-deployment-trigger-handler.test.ts) check case by case.
 * The AWS SDK v3 clients come from the Lambda Node.js runtime.
 */
const codedeploy = require('@aws-sdk/client-codedeploy');
const ecs = require('@aws-sdk/client-ecs');

/** CodeDeploy statuses of a deployment that has not finished. */
const ACTIVE_STATUSES = ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'];
/** Statuses a deployment ends in when it did not succeed. */
const UNSUCCESSFUL_STATUSES = ['Failed', 'Stopped'];
/** Statuses of a finished deployment. */
const FINAL_STATUSES = ['Succeeded', 'Failed', 'Stopped'];
/** Deployments started by this resource are found among those created this recently (CloudFormation waits at most an hour). */
const OWN_DEPLOYMENT_LOOKBACK_MS = 3 * 60 * 60 * 1000;
/** ListDeployments pages read at most (a group has a handful of deployments in three hours). */
const MAX_PAGES = 10;

/**
 * @typedef {object} TriggerProperties The resource properties (strings, as CloudFormation passes them).
 * @property {string} ApplicationName
 * @property {string} DeploymentGroupName
 * @property {string} DeploymentConfigName
 * @property {string} Cluster
 * @property {string} Service
 * @property {string} TaskDefinition The task definition ARN the AppSpec deploys.
 * @property {string} AppSpec
 * @property {string} Description
 * @property {string} [AutoRollbackEvents] Comma-separated CodeDeploy auto-rollback events.
 */

/**
 * @typedef {object} TriggerEvent What the CDK provider framework passes to both handlers.
 * @property {'Create' | 'Update' | 'Delete'} RequestType
 * @property {string} RequestId
 * @property {string} [PhysicalResourceId]
 * @property {TriggerProperties} ResourceProperties
 */

/**
 * @typedef {object} DeploymentView What the decision needs to know about one CodeDeploy deployment.
 * @property {string} id
 * @property {string} status
 * @property {string} [creator] `user`, `codeDeployRollback`, …
 * @property {string} [description]
 * @property {string} [target] Task definition its AppSpec deploys.
 * @property {boolean} trafficShifted Production traffic has moved to its replacement task set (the termination wait, if any, has begun).
 * @property {string} [rollbackDeploymentId]
 * @property {string} [rollbackStatus]
 * @property {string} [error] Its error code and message, when it failed.
 */

/**
 * @typedef {object} TriggerState What AWS says now.
 * @property {string} target The task definition this request wants serving.
 * @property {DeploymentView} [own] The deployment this CloudFormation request started.
 * @property {DeploymentView} [active] The group's active deployment, when it is not `own`.
 * @property {string} [primaryTaskDefinition] Task definition of the service's PRIMARY task set.
 * @property {string[]} taskSetTaskDefinitions Task definitions of every task set of the service.
 */

/**
 * @typedef {{ kind: 'complete', message: string }
 *   | { kind: 'wait', message: string }
 *   | { kind: 'fail', message: string }
 *   | { kind: 'create', message: string }
 *   | { kind: 'stop', deploymentId: string, message: string }
 *   | { kind: 'continue', deploymentId: string, message: string }} Step
 */

/**
 * The marker a deployment's description carries so that later polls of the
 * same CloudFormation request find it (and no other request claims it).
 * @param {string} requestId
 */
function requestMarker(requestId) {
  return `[cloudformation request ${requestId}]`;
}

/**
 * The task definition an ECS AppSpec (JSON, as this resource writes it) deploys.
 * @param {string | undefined} content
 * @returns {string | undefined}
 */
function taskDefinitionOfAppSpec(content) {
  if (!content) return undefined;
  try {
    const spec = JSON.parse(content);
    const resource = (spec.Resources ?? spec.resources ?? []).map((/** @type {Record<string, any>} */ r) => r.TargetService ?? r.targetService)[0];
    const value = resource?.Properties?.TaskDefinition ?? resource?.properties?.taskDefinition;
    return typeof value === 'string' ? value : undefined;
  } catch {
    const match = /"?TaskDefinition"?\s*:\s*"?([^"\s,}]+)"?/.exec(content);
    return match ? match[1] : undefined;
  }
}

/**
 * The deployment's own outcome, when it is the one this request is about.
 * @param {DeploymentView} deployment
 * @param {string} what
 * @returns {Step}
 */
function followDeployment(deployment, what) {
  if (deployment.status === 'Succeeded') return { kind: 'complete', message: `${what} ${deployment.id} succeeded` };
  if (ACTIVE_STATUSES.includes(deployment.status)) {
    if (deployment.trafficShifted) {
      return {
        kind: 'complete',
        message:
          `${what} ${deployment.id} has moved production traffic to ${deployment.target ?? 'the new task definition'}: the release is live. ` +
          'CodeDeploy keeps the original task set for the termination wait and still rolls back on its alarms until the wait ends',
      };
    }
    return { kind: 'wait', message: `${what} ${deployment.id} is ${deployment.status}; traffic has not moved yet` };
  }
  if (UNSUCCESSFUL_STATUSES.includes(deployment.status)) {
    if (deployment.rollbackDeploymentId && !FINAL_STATUSES.includes(deployment.rollbackStatus ?? '')) {
      return { kind: 'wait', message: `${what} ${deployment.id} ${deployment.status}; waiting for CodeDeploy's rollback ${deployment.rollbackDeploymentId} (${deployment.rollbackStatus ?? 'starting'})` };
    }
    const rolledBack = deployment.rollbackDeploymentId
      ? ` CodeDeploy's rollback ${deployment.rollbackDeploymentId} ${deployment.rollbackStatus === 'Succeeded' ? 'put the previous task set back' : `ended ${deployment.rollbackStatus}`}.`
      : '';
    return { kind: 'fail', message: `${what} ${deployment.id} ${deployment.status}: ${deployment.error ?? 'no error information'}.${rolledBack}` };
  }
  return { kind: 'wait', message: `${what} ${deployment.id} is ${deployment.status}` };
}

/**
 * The next step towards "the service serves `state.target`". Pure: the
 * tests call it with every combination the handler can meet.
 * @param {TriggerState} state
 * @returns {Step}
 */
function decide(state) {
  const { target, own, active } = state;
  if (own) return followDeployment(own, 'deployment');
  if (active) {
    if (active.target === target) return followDeployment(active, 'the deployment of the same task definition');
    if (active.creator === 'codeDeployRollback') {
      return { kind: 'wait', message: `CodeDeploy's rollback deployment ${active.id} is ${active.status}; waiting for it before deciding` };
    }
    const original = state.taskSetTaskDefinitions.find((taskDefinition) => taskDefinition !== active.target);
    if (original === target) {
      return {
        kind: 'stop',
        deploymentId: active.id,
        message: `deployment ${active.id} of ${active.target ?? 'another task definition'} is ${active.status} while ${target} still runs in its original task set: stopping it with auto-rollback puts traffic back on ${target} at once`,
      };
    }
    if (active.trafficShifted) {
      return {
        kind: 'continue',
        deploymentId: active.id,
        message: `deployment ${active.id} of the previous release is in its termination wait: ending the wait (ContinueDeployment TERMINATION_WAIT) so that ${target} can be deployed`,
      };
    }
    return { kind: 'wait', message: `deployment ${active.id} of ${active.target ?? 'another task definition'} is ${active.status}; waiting for it to finish before deploying ${target}` };
  }
  if (state.primaryTaskDefinition === target) {
    return { kind: 'complete', message: `the service already runs ${target} and nothing is deploying: no CodeDeploy deployment needed` };
  }
  return { kind: 'create', message: `deploying ${target} (the service runs ${state.primaryTaskDefinition ?? 'no task set'})` };
}

/**
 * @param {unknown} error
 * @returns {string}
 */
function errorName(error) {
  return error && typeof error === 'object' && 'name' in error ? String(error.name) : '';
}

/**
 * The clients the handlers use; tests pass mocked ones.
 * @typedef {object} Clients
 * @property {codedeploy.CodeDeployClient} codeDeploy
 * @property {ecs.ECSClient} ecs
 * @property {() => number} now
 * @property {(line: string) => void} log
 */

/** @returns {Clients} */
function defaultClients() {
  return { codeDeploy: new codedeploy.CodeDeployClient({}), ecs: new ecs.ECSClient({}), now: () => Date.now(), log: (line) => console.log(line) };
}

/**
 * @param {Clients} aws
 * @param {string} deploymentId
 * @returns {Promise<boolean>} whether production traffic has moved to the replacement task set
 */
async function trafficShifted(aws, deploymentId) {
  const listed = await aws.codeDeploy.send(new codedeploy.ListDeploymentTargetsCommand({ deploymentId }));
  const targetIds = listed.targetIds ?? [];
  if (targetIds.length === 0) return false;
  const details = await aws.codeDeploy.send(new codedeploy.BatchGetDeploymentTargetsCommand({ deploymentId, targetIds }));
  const targets = (details.deploymentTargets ?? []).map((t) => t.ecsTarget).filter((t) => t !== undefined);
  // The target is Succeeded once traffic has moved: CodeDeploy then keeps the
  // deployment InProgress for the termination wait (aws/containers-roadmap#269).
  return (
    targets.length > 0 &&
    targets.every((t) => t.status === 'Succeeded' || (t.lifecycleEvents ?? []).some((e) => e.lifecycleEventName === 'AfterAllowTraffic' && e.status === 'Succeeded'))
  );
}

/**
 * @param {Clients} aws
 * @param {codedeploy.DeploymentInfo} info
 * @returns {Promise<DeploymentView>}
 */
async function viewOf(aws, info) {
  const id = info.deploymentId ?? '?';
  const status = info.status ?? 'unknown';
  const rollbackDeploymentId = info.rollbackInfo?.rollbackDeploymentId;
  let rollbackStatus;
  if (rollbackDeploymentId && UNSUCCESSFUL_STATUSES.includes(status)) {
    const rollback = await aws.codeDeploy.send(new codedeploy.GetDeploymentCommand({ deploymentId: rollbackDeploymentId }));
    rollbackStatus = rollback.deploymentInfo?.status;
  }
  const error = info.errorInformation ? `[${info.errorInformation.code ?? 'unknown'}] ${info.errorInformation.message ?? ''}`.trim() : undefined;
  return {
    id,
    status,
    creator: info.creator,
    description: info.description,
    target: taskDefinitionOfAppSpec(info.revision?.appSpecContent?.content ?? info.revision?.string?.content),
    trafficShifted: status === 'InProgress' || status === 'Ready' || status === 'Baking' ? await trafficShifted(aws, id) : false,
    rollbackDeploymentId,
    rollbackStatus,
    error,
  };
}

/**
 * What AWS says now about the service, the group and this request's deployment.
 * @param {Clients} aws
 * @param {TriggerEvent} event
 * @returns {Promise<TriggerState>}
 */
async function readState(aws, event) {
  const props = event.ResourceProperties;
  const group = { applicationName: props.ApplicationName, deploymentGroupName: props.DeploymentGroupName };
  /** @type {string[]} */
  const ids = [];
  /** @type {string | undefined} */
  let nextToken;
  for (let page = 0; page < MAX_PAGES; page++) {
    /** @type {codedeploy.ListDeploymentsCommandOutput} */
    const listed = await aws.codeDeploy.send(
      new codedeploy.ListDeploymentsCommand({ ...group, createTimeRange: { start: new Date(aws.now() - OWN_DEPLOYMENT_LOOKBACK_MS) }, nextToken }),
    );
    ids.push(...(listed.deployments ?? []));
    nextToken = listed.nextToken;
    if (!nextToken) break;
  }
  // Active deployments may be older than the lookback (a long termination wait).
  const active = await aws.codeDeploy.send(new codedeploy.ListDeploymentsCommand({ ...group, includeOnlyStatuses: /** @type {any} */ (ACTIVE_STATUSES) }));
  for (const id of active.deployments ?? []) if (!ids.includes(id)) ids.push(id);

  /** @type {codedeploy.DeploymentInfo[]} */
  const infos = [];
  for (let i = 0; i < ids.length; i += 25) {
    const batch = await aws.codeDeploy.send(new codedeploy.BatchGetDeploymentsCommand({ deploymentIds: ids.slice(i, i + 25) }));
    infos.push(...(batch.deploymentsInfo ?? []));
  }
  const marker = requestMarker(event.RequestId);
  const ownInfo = infos.find((d) => (d.description ?? '').includes(marker));
  const activeInfo = infos.find((d) => d !== ownInfo && ACTIVE_STATUSES.includes(d.status ?? ''));

  const described = await aws.ecs.send(new ecs.DescribeServicesCommand({ cluster: props.Cluster, services: [props.Service] }));
  const service = described.services?.[0];
  if (!service) {
    const reason = described.failures?.[0]?.reason ?? 'not returned';
    throw new Error(`ECS service ${props.Service} in cluster ${props.Cluster}: ${reason}`);
  }
  const taskSets = service.taskSets ?? [];
  return {
    target: props.TaskDefinition,
    own: ownInfo ? await viewOf(aws, ownInfo) : undefined,
    active: activeInfo ? await viewOf(aws, activeInfo) : undefined,
    primaryTaskDefinition: taskSets.find((s) => s.status === 'PRIMARY')?.taskDefinition ?? (taskSets.length === 0 ? service.taskDefinition : undefined),
    taskSetTaskDefinitions: taskSets.map((s) => s.taskDefinition).filter((t) => typeof t === 'string'),
  };
}

/**
 * Takes the step `decide` chose. Refusals that mean "someone else moved
 * first" are waited out: the next poll reads the new state.
 * @param {Clients} aws
 * @param {TriggerEvent} event
 * @param {Step} step
 * @returns {Promise<Step>}
 */
async function apply(aws, event, step) {
  const props = event.ResourceProperties;
  if (step.kind === 'create') {
    const events = (props.AutoRollbackEvents ?? '').split(',').filter(Boolean);
    try {
      const created = await aws.codeDeploy.send(
        new codedeploy.CreateDeploymentCommand({
          applicationName: props.ApplicationName,
          deploymentGroupName: props.DeploymentGroupName,
          deploymentConfigName: props.DeploymentConfigName,
          description: `${props.Description} ${requestMarker(event.RequestId)}`,
          autoRollbackConfiguration: events.length > 0 ? { enabled: true, events: /** @type {any} */ (events) } : { enabled: false },
          revision: { revisionType: 'AppSpecContent', appSpecContent: { content: props.AppSpec } },
        }),
      );
      return { kind: 'wait', message: `${step.message}: created deployment ${created.deploymentId}` };
    } catch (error) {
      if (errorName(error) === 'DeploymentLimitExceededException') return { kind: 'wait', message: `another deployment started first (${String(error)}); deciding again` };
      throw error;
    }
  }
  if (step.kind === 'stop') {
    try {
      const stopped = await aws.codeDeploy.send(new codedeploy.StopDeploymentCommand({ deploymentId: step.deploymentId, autoRollbackEnabled: true }));
      return { kind: 'wait', message: `${step.message}: StopDeployment ${stopped.status ?? 'requested'}` };
    } catch (error) {
      if (errorName(error) === 'DeploymentAlreadyCompletedException') return { kind: 'wait', message: `deployment ${step.deploymentId} finished first; deciding again` };
      throw error;
    }
  }
  if (step.kind === 'continue') {
    try {
      await aws.codeDeploy.send(new codedeploy.ContinueDeploymentCommand({ deploymentId: step.deploymentId, deploymentWaitType: 'TERMINATION_WAIT' }));
      return { kind: 'wait', message: `${step.message}: requested` };
    } catch (error) {
      // Already asked on an earlier poll, or finished meanwhile: the original task set is being (or was) terminated.
      const already = ['DeploymentAlreadyCompletedException', 'DeploymentIsNotInReadyStateException', 'InvalidDeploymentStatusException', 'InvalidDeploymentWaitTypeException'];
      if (already.includes(errorName(error))) return { kind: 'wait', message: `deployment ${step.deploymentId} is ending its termination wait (${errorName(error)}); waiting` };
      throw error;
    }
  }
  return step;
}

/**
 * One reconciliation step: read, decide, act.
 * @param {TriggerEvent} event
 * @param {Clients} aws
 * @returns {Promise<Step>}
 */
async function reconcile(event, aws) {
  const state = await readState(aws, event);
  const step = await apply(aws, event, decide(state));
  aws.log(`${event.RequestType} ${event.ResourceProperties.TaskDefinition}: ${step.kind}: ${step.message}`);
  return step;
}

/** The physical id: one per deployment group, so an update never looks like a replacement to CloudFormation. */
/** @param {TriggerProperties} props */
function physicalIdOf(props) {
  return `${props.ApplicationName}/${props.DeploymentGroupName}`;
}

/**
 * onEvent: the first step, at once. Delete does nothing: the stack is
 * going away (the service with it) or the resource moved, and stopping a
 * deployment here would roll back a release that CloudFormation just
 * completed.
 * @param {TriggerEvent} event
 * @param {Clients} [aws]
 */
async function onEvent(event, aws = defaultClients()) {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const step = await reconcile(event, aws);
  if (step.kind === 'fail') throw new Error(step.message);
  return { PhysicalResourceId: physicalIdOf(event.ResourceProperties) };
}

/**
 * isComplete: one step per poll until the service serves the task definition.
 * @param {TriggerEvent} event
 * @param {Clients} [aws]
 */
async function isComplete(event, aws = defaultClients()) {
  if (event.RequestType === 'Delete') return { IsComplete: true };
  const step = await reconcile(event, aws);
  if (step.kind === 'fail') throw new Error(step.message);
  return { IsComplete: step.kind === 'complete' };
}

module.exports = { onEvent, isComplete, decide, reconcile, taskDefinitionOfAppSpec, requestMarker, ACTIVE_STATUSES };
