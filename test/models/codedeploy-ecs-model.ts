import * as codedeploySdk from '@aws-sdk/client-codedeploy';
import type { DeploymentInfo } from '@aws-sdk/client-codedeploy';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ListTaskDefinitionsCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';

/** What the model needs of an aws-sdk-client-mock stub (typed loosely: a library's own SDK copy has its own classes). */
export interface Stub {
  on(command: unknown, input?: unknown): { callsFake(fake: (input: never) => unknown): unknown };
}

/**
 * CodeDeploy and ECS as their API references describe them, for one
 * blue/green service (CODE_DEPLOY controller) and its task definitions.
 * A mock that answers what a test tells it cannot show what AWS refuses;
 * this model refuses what AWS refuses:
 *
 * - CreateDeployment while the group has an active deployment:
 *   DeploymentLimitExceededException ("The Deployment Group '…' already has an
 *   active Deployment '…'", aws CLI / CircleCI-Public/aws-ecs-orb#181).
 * - A deployment of an INACTIVE task definition fails when CodeDeploy creates
 *   the replacement task set ("You can't use an INACTIVE task definition
 *   revision to run new tasks or create new services", ECS developer guide);
 *   UpdateService refuses it with InvalidParameterException.
 * - ContinueDeployment(TERMINATION_WAIT) only while traffic has moved and the
 *   original task set waits; StopDeployment only while the deployment runs.
 * - During the termination wait the deployment stays InProgress and its ECS
 *   target is Succeeded (aws/containers-roadmap#269).
 *
 * Time moves only when the test calls `tick()` (CodeDeploy's next step).
 */

export type Phase = 'installing' | 'shifted' | 'terminating' | 'done' | 'rolling-back';

export interface ModelDeployment {
  readonly id: string;
  status: 'Created' | 'InProgress' | 'Succeeded' | 'Failed' | 'Stopped';
  readonly creator: 'user' | 'codeDeployRollback';
  readonly description: string;
  readonly target: string;
  readonly original?: string;
  phase: Phase;
  readonly createTime: Date;
  rollbackDeploymentId?: string;
  errorInformation?: { code: string; message: string };
  readonly autoRollback: boolean;
}

export interface TaskSet {
  readonly id: string;
  status: 'PRIMARY' | 'ACTIVE';
  readonly taskDefinition: string;
}

export function appSpecFor(taskDefinition: string): string {
  return JSON.stringify({
    version: '0.0',
    Resources: [{ TargetService: { Type: 'AWS::ECS::Service', Properties: { TaskDefinition: taskDefinition, LoadBalancerInfo: { ContainerName: 'api', ContainerPort: 8000 } } } }],
  });
}

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

export function taskDefinitionArn(family: string, revision: number): string {
  return `arn:aws:ecs:us-east-1:111111111111:task-definition/${family}:${revision}`;
}

export class CodeDeployEcsModel {
  readonly deployments = new Map<string, ModelDeployment>();
  readonly taskDefinitions = new Map<string, 'ACTIVE' | 'INACTIVE'>();
  taskSets: TaskSet[] = [];
  /** Calls that changed something, in order: what a test asserts on. */
  readonly changes: string[] = [];
  private nextId = 1;
  private clock: () => number;

  constructor(
    readonly group: { readonly applicationName: string; readonly deploymentGroupName: string },
    readonly service: { readonly cluster: string; readonly serviceName: string },
    options: { now?: () => number } = {},
  ) {
    this.clock = options.now ?? (() => Date.parse('2026-11-30T12:00:00Z'));
  }

  /** A task definition revision (ACTIVE unless said otherwise). */
  register(arn: string, status: 'ACTIVE' | 'INACTIVE' = 'ACTIVE'): this {
    this.taskDefinitions.set(arn, status);
    return this;
  }

  /** CloudFormation deregisters the revision it replaced (aws/aws-cdk#24372) unless the template retains it. */
  deregister(arn: string): void {
    this.taskDefinitions.set(arn, 'INACTIVE');
  }

  /** The service as CloudFormation created it: one PRIMARY task set. */
  runs(taskDefinition: string): this {
    this.register(taskDefinition);
    this.taskSets = [{ id: `ecs-svc/${this.nextId++}`, status: 'PRIMARY', taskDefinition }];
    return this;
  }

  get primary(): string | undefined {
    return this.taskSets.find((s) => s.status === 'PRIMARY')?.taskDefinition;
  }

  active(): ModelDeployment | undefined {
    return [...this.deployments.values()].find((d) => d.status === 'Created' || d.status === 'InProgress');
  }

  /** A deployment that already exists (e.g. started by an earlier release), in the given phase. */
  seed(target: string, phase: 'shifted' | 'done', description = 'an earlier release'): ModelDeployment {
    this.register(target);
    const original = this.primary;
    const deployment = this.newDeployment({ target, description, creator: 'user', original, autoRollback: true });
    this.taskSets.push({ id: `ecs-svc/${this.nextId++}`, status: 'ACTIVE', taskDefinition: target });
    this.shift(deployment);
    if (phase === 'done') this.finish(deployment);
    return deployment;
  }

  private newDeployment(d: Pick<ModelDeployment, 'target' | 'description' | 'creator' | 'original' | 'autoRollback'>): ModelDeployment {
    const deployment: ModelDeployment = { ...d, id: `d-${String(this.nextId++).padStart(9, '0')}`, status: 'InProgress', phase: 'installing', createTime: new Date(this.clock()) };
    this.deployments.set(deployment.id, deployment);
    return deployment;
  }

  private shift(d: ModelDeployment): void {
    for (const set of this.taskSets) set.status = set.taskDefinition === d.target ? 'PRIMARY' : 'ACTIVE';
    d.phase = 'shifted';
  }

  private finish(d: ModelDeployment): void {
    this.taskSets = this.taskSets.filter((s) => s.taskDefinition === d.target);
    for (const set of this.taskSets) set.status = 'PRIMARY';
    d.phase = 'done';
    d.status = 'Succeeded';
  }

  /** CodeDeploy's next step for every deployment in progress (time passes). */
  tick(): void {
    for (const d of [...this.deployments.values()]) {
      if (d.status !== 'InProgress') continue;
      if (d.phase === 'installing') this.shift(d);
      else if (d.phase === 'terminating') this.finish(d);
      else if (d.phase === 'rolling-back') {
        // A rollback deployment puts the original task set back as PRIMARY and removes the replacement.
        this.taskSets = this.taskSets.filter((s) => s.taskDefinition === d.target);
        for (const set of this.taskSets) set.status = 'PRIMARY';
        d.phase = 'done';
        d.status = 'Succeeded';
      }
      // 'shifted' stays until the termination wait ends (`endWait`) or someone continues or stops it.
    }
  }

  /** The termination wait of a deployment runs out. */
  endWait(id: string): void {
    const d = this.deployments.get(id)!;
    if (d.phase === 'shifted') this.finish(d);
  }

  /** A rollback alarm goes into ALARM during a deployment: CodeDeploy stops it and rolls back. */
  alarm(id: string, alarmName = 'BodyScript-Staging-api-5xxRate'): void {
    const d = this.deployments.get(id)!;
    this.stop(d, { code: 'ALARM_ACTIVE', message: `One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the affected deployments have been stopped. Activated alarms: <${alarmName}>` }, 'Failed');
  }

  private stop(d: ModelDeployment, error: { code: string; message: string }, status: 'Failed' | 'Stopped'): void {
    d.status = status;
    d.errorInformation = error;
    if (d.autoRollback && d.original) {
      const rollback = this.newDeployment({ target: d.original, description: `rollback of ${d.id}`, creator: 'codeDeployRollback', original: d.target, autoRollback: false });
      rollback.phase = 'rolling-back';
      d.rollbackDeploymentId = rollback.id;
    } else {
      this.taskSets = this.taskSets.filter((s) => s.taskDefinition !== d.target || d.original === undefined);
    }
  }

  private info(d: ModelDeployment): DeploymentInfo {
    return {
      deploymentId: d.id,
      applicationName: this.group.applicationName,
      deploymentGroupName: this.group.deploymentGroupName,
      status: d.status,
      creator: d.creator,
      description: d.description,
      createTime: d.createTime,
      revision: { revisionType: 'AppSpecContent', appSpecContent: { content: appSpecFor(d.target) } },
      rollbackInfo: d.rollbackDeploymentId ? { rollbackDeploymentId: d.rollbackDeploymentId } : undefined,
      errorInformation: d.errorInformation as DeploymentInfo['errorInformation'],
    };
  }

  private find(id: string | undefined): ModelDeployment {
    const d = id ? this.deployments.get(id) : undefined;
    if (!d) throw awsError('DeploymentDoesNotExistException', `The deployment ${id} could not be found.`);
    return d;
  }

  /** Answers every CodeDeploy and ECS call the way the services do. */
  install(
    codeDeploy: Stub,
    ecs: Stub,
    // Another copy of the SDK (a library's own node_modules) has its own command classes.
    sdk: Pick<typeof codedeploySdk, 'BatchGetDeploymentsCommand' | 'BatchGetDeploymentTargetsCommand' | 'ContinueDeploymentCommand' | 'CreateDeploymentCommand' | 'GetDeploymentCommand' | 'GetDeploymentGroupCommand' | 'ListDeploymentsCommand' | 'ListDeploymentTargetsCommand' | 'StopDeploymentCommand'> = codedeploySdk,
  ): void {
    const {
      BatchGetDeploymentsCommand,
      BatchGetDeploymentTargetsCommand,
      ContinueDeploymentCommand,
      CreateDeploymentCommand,
      GetDeploymentCommand,
      GetDeploymentGroupCommand,
      ListDeploymentsCommand,
      ListDeploymentTargetsCommand,
      StopDeploymentCommand,
    } = sdk;
    codeDeploy.on(ListDeploymentsCommand).callsFake((input: { includeOnlyStatuses?: string[]; createTimeRange?: { start?: Date } }) => ({
      deployments: [...this.deployments.values()]
        .filter((d) => !input.includeOnlyStatuses || input.includeOnlyStatuses.includes(d.status))
        .filter((d) => !input.createTimeRange?.start || d.createTime >= input.createTimeRange.start)
        .map((d) => d.id),
    }));
    codeDeploy.on(BatchGetDeploymentsCommand).callsFake((input: { deploymentIds: string[] }) => ({ deploymentsInfo: input.deploymentIds.map((id) => this.info(this.find(id))) }));
    codeDeploy.on(GetDeploymentCommand).callsFake((input: { deploymentId: string }) => ({ deploymentInfo: this.info(this.find(input.deploymentId)) }));
    codeDeploy.on(GetDeploymentGroupCommand).callsFake(() => {
      const all = [...this.deployments.values()].sort((a, b) => b.createTime.getTime() - a.createTime.getTime() || b.id.localeCompare(a.id));
      const last = all[0];
      const lastGood = all.find((d) => d.status === 'Succeeded');
      return {
        deploymentGroupInfo: {
          lastAttemptedDeployment: last ? { deploymentId: last.id, status: last.status } : undefined,
          lastSuccessfulDeployment: lastGood ? { deploymentId: lastGood.id, status: lastGood.status } : undefined,
        },
      };
    });
    codeDeploy.on(ListDeploymentTargetsCommand).callsFake((input: { deploymentId: string }) => {
      this.find(input.deploymentId);
      return { targetIds: [`${this.service.cluster}:${this.service.serviceName}`] };
    });
    codeDeploy.on(BatchGetDeploymentTargetsCommand).callsFake((input: { deploymentId: string }) => {
      const d = this.find(input.deploymentId);
      const moved = d.phase === 'shifted' || d.phase === 'terminating' || d.phase === 'done';
      return {
        deploymentTargets: [
          {
            deploymentTargetType: 'ECSTarget',
            ecsTarget: {
              deploymentId: d.id,
              targetId: `${this.service.cluster}:${this.service.serviceName}`,
              status: moved ? 'Succeeded' : 'InProgress',
              lifecycleEvents: [
                { lifecycleEventName: 'Install', status: 'Succeeded' },
                { lifecycleEventName: 'AllowTraffic', status: moved ? 'Succeeded' : 'Pending' },
                { lifecycleEventName: 'AfterAllowTraffic', status: moved ? 'Succeeded' : 'Pending' },
              ],
            },
          },
        ],
      };
    });
    codeDeploy.on(CreateDeploymentCommand).callsFake((input: { description?: string; revision?: { appSpecContent?: { content?: string } }; autoRollbackConfiguration?: { enabled?: boolean } }) => {
      const active = this.active();
      if (active) {
        throw awsError('DeploymentLimitExceededException', `The Deployment Group '${this.group.deploymentGroupName}' already has an active Deployment '${active.id}'`);
      }
      const target = /"TaskDefinition"\s*:\s*"([^"]+)"/.exec(input.revision?.appSpecContent?.content ?? '')?.[1] ?? '';
      const deployment = this.newDeployment({ target, description: input.description ?? '', creator: 'user', original: this.primary, autoRollback: input.autoRollbackConfiguration?.enabled !== false });
      this.changes.push(`CreateDeployment ${deployment.id} ${target}`);
      if (this.taskDefinitions.get(target) !== 'ACTIVE') {
        // CodeDeploy accepts the request; creating the replacement task set fails.
        deployment.status = 'Failed';
        deployment.errorInformation = { code: 'ECS_UPDATE_ERROR', message: `Failed to create taskset for ${this.service.serviceName}: TaskDefinition ${target} is inactive` };
        return { deploymentId: deployment.id };
      }
      this.taskSets.push({ id: `ecs-svc/${this.nextId++}`, status: 'ACTIVE', taskDefinition: target });
      return { deploymentId: deployment.id };
    });
    codeDeploy.on(StopDeploymentCommand).callsFake((input: { deploymentId: string; autoRollbackEnabled?: boolean }) => {
      const d = this.find(input.deploymentId);
      if (d.status !== 'InProgress' && d.status !== 'Created') throw awsError('DeploymentAlreadyCompletedException', `The deployment ${d.id} has already completed.`);
      this.changes.push(`StopDeployment ${d.id}${input.autoRollbackEnabled ? ' autoRollback' : ''}`);
      this.stop(d, { code: 'DEPLOYMENT_STOPPED', message: 'The deployment was stopped by a user' }, 'Stopped');
      return { status: 'Pending', statusMessage: 'Stopping Pending. Stopping to deploy.' };
    });
    codeDeploy.on(ContinueDeploymentCommand).callsFake((input: { deploymentId: string; deploymentWaitType?: string }) => {
      const d = this.find(input.deploymentId);
      if (d.status !== 'InProgress') throw awsError('DeploymentAlreadyCompletedException', `The deployment ${d.id} has already completed.`);
      if (input.deploymentWaitType !== 'TERMINATION_WAIT' || d.phase !== 'shifted') {
        throw awsError('DeploymentIsNotInReadyStateException', `The deployment ${d.id} is not waiting for ${input.deploymentWaitType ?? 'READY_WAIT'}.`);
      }
      this.changes.push(`ContinueDeployment ${d.id} TERMINATION_WAIT`);
      d.phase = 'terminating';
      return {};
    });

    ecs.on(DescribeServicesCommand).callsFake((input: { services?: string[] }) => {
      if (!input.services?.includes(this.service.serviceName)) return { services: [], failures: [{ arn: input.services?.[0], reason: 'MISSING' }] };
      return { services: [{ serviceName: this.service.serviceName, deploymentController: { type: 'CODE_DEPLOY' }, taskSets: this.taskSets.map((s) => ({ ...s })) }] };
    });
    ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
      const status = this.taskDefinitions.get(input.taskDefinition);
      if (!status) throw awsError('ClientException', `Unable to describe task definition ${input.taskDefinition}.`);
      return { taskDefinition: { taskDefinitionArn: input.taskDefinition, status } };
    });
    ecs.on(ListTaskDefinitionsCommand).callsFake((input: { familyPrefix?: string; status?: string; sort?: string }) => {
      const arns = [...this.taskDefinitions.entries()]
        .filter(([arn, status]) => (!input.familyPrefix || arn.includes(`task-definition/${input.familyPrefix}:`)) && (!input.status || input.status === status))
        .map(([arn]) => arn)
        .sort((a, b) => Number(a.split(':').pop()) - Number(b.split(':').pop()));
      return { taskDefinitionArns: input.sort === 'DESC' ? arns.reverse() : arns };
    });
    ecs.on(UpdateServiceCommand).callsFake(() => {
      throw awsError('InvalidParameterException', 'Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.');
    });
  }
}
