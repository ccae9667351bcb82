import {
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  ListServiceDeploymentsCommand,
  type ServiceDeploymentStatus,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import type { Stub } from './codedeploy-ecs-model';

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

interface Deployment {
  readonly arn: string;
  status: ServiceDeploymentStatus;
  readonly revisionArn: string;
  readonly taskDefinition: string;
  /** The task definition running before it (where a rollback goes back to). */
  readonly previous: string;
  readonly createdAt: Date;
}

/**
 * One ECS service deployed by rolling updates (ECS deployment controller), as
 * the ECS API reference and developer guide describe it, for the worker:
 *
 * - UpdateService refuses an INACTIVE task definition ("You can't use an
 *   INACTIVE task definition revision to run new tasks or create new
 *   services", ECS developer guide): ClientException.
 * - StopServiceDeployment (ROLLBACK) only in PENDING, IN_PROGRESS,
 *   STOP_REQUESTED, ROLLBACK_REQUESTED or ROLLBACK_IN_PROGRESS ("Stopping
 *   Amazon ECS service deployments"); a completed deployment cannot be stopped.
 * - A rolling update runs the new tasks next to the old ones until the new
 *   ones are healthy, then stops the old ones; ListServiceDeployments answers
 *   newest first.
 *
 * The task definitions' states are shared with the CodeDeploy model (one ECS
 * account). Time moves only when the test calls `tick()`.
 */
export class EcsRollingModel {
  readonly deployments: Deployment[] = [];
  /** Running task definition and the one being replaced (both run during a rollout). */
  running: string;
  replacing?: string;
  /** Calls that changed something, in order. */
  readonly changes: string[] = [];
  private next = 1;

  constructor(
    readonly service: { readonly cluster: string; readonly serviceName: string; readonly desiredCount: number },
    readonly taskDefinitions: Map<string, 'ACTIVE' | 'INACTIVE'>,
    initial: string,
    private readonly now: () => number,
  ) {
    this.taskDefinitions.set(initial, 'ACTIVE');
    this.running = initial;
    this.record(initial, initial, 'SUCCESSFUL');
  }

  private arnOf(kind: string, id: string): string {
    return `arn:aws:ecs:us-east-1:111111111111:${kind}/${this.service.cluster}/${this.service.serviceName}/${id}`;
  }

  private record(taskDefinition: string, previous: string, status: ServiceDeploymentStatus): Deployment {
    const id = `dep-${this.next++}`;
    const deployment: Deployment = { arn: this.arnOf('service-deployment', id), status, revisionArn: this.arnOf('service-revision', `rev-${id}`), taskDefinition, previous, createdAt: new Date(this.now() + this.next) };
    this.deployments.unshift(deployment);
    return deployment;
  }

  /** What CloudFormation's update of the service does: a rolling update to `taskDefinition`, finished (cdk deploy waits for it). */
  deployedByCloudFormation(taskDefinition: string, options: { readonly deregisterReplaced: boolean }): void {
    this.taskDefinitions.set(taskDefinition, 'ACTIVE');
    const previous = this.running;
    this.record(taskDefinition, previous, 'SUCCESSFUL');
    this.running = taskDefinition;
    // Without UpdateReplacePolicy Retain, CloudFormation deregisters the revision it replaced (aws/aws-cdk#24372).
    if (options.deregisterReplaced) this.taskDefinitions.set(previous, 'INACTIVE');
  }

  /** ECS's next step: a rollout in progress completes (old tasks stopped); a rollback in progress finishes. */
  tick(): void {
    for (const d of this.deployments) {
      if (d.status === 'IN_PROGRESS') {
        d.status = 'SUCCESSFUL';
        this.replacing = undefined;
      } else if (d.status === 'ROLLBACK_IN_PROGRESS') {
        d.status = 'ROLLBACK_SUCCESSFUL';
        this.running = d.previous;
        this.replacing = undefined;
      }
    }
  }

  install(ecs: Stub): void {
    const name = this.service.serviceName;
    ecs.on(ListServiceDeploymentsCommand).callsFake((input: { service?: string; status?: string[] }) => {
      if (input.service !== name) return { serviceDeployments: [] };
      return {
        serviceDeployments: this.deployments
          .filter((d) => !input.status || input.status.includes(d.status))
          .map((d) => ({ serviceDeploymentArn: d.arn, status: d.status, createdAt: d.createdAt, targetServiceRevisionArn: d.revisionArn })),
      };
    });
    ecs.on(DescribeServiceRevisionsCommand).callsFake((input: { serviceRevisionArns: string[] }) => ({
      serviceRevisions: this.deployments.filter((d) => input.serviceRevisionArns.includes(d.revisionArn)).map((d) => ({ serviceRevisionArn: d.revisionArn, taskDefinition: d.taskDefinition })),
    }));
    ecs.on(DescribeServicesCommand, { services: [name] }).callsFake(() => ({
      services: [
        {
          serviceName: name,
          status: 'ACTIVE',
          deploymentController: { type: 'ECS' },
          taskDefinition: this.running,
          deployments: [
            { id: 'ecs-svc/primary', status: 'PRIMARY', taskDefinition: this.running, desiredCount: this.service.desiredCount, runningCount: this.service.desiredCount, rolloutState: this.replacing ? 'IN_PROGRESS' : 'COMPLETED' },
            ...(this.replacing ? [{ id: 'ecs-svc/old', status: 'ACTIVE', taskDefinition: this.replacing, desiredCount: 0, runningCount: this.service.desiredCount }] : []),
          ],
        },
      ],
    }));
    ecs.on(UpdateServiceCommand, { service: name }).callsFake((input: { taskDefinition?: string }) => {
      const target = input.taskDefinition ?? this.running;
      if (this.taskDefinitions.get(target) !== 'ACTIVE') throw awsError('ClientException', `TaskDefinition is inactive: ${target}`);
      this.changes.push(`UpdateService ${name} ${target}`);
      this.record(target, this.running, 'IN_PROGRESS');
      this.replacing = this.running;
      this.running = target;
      return { service: { serviceName: name, deployments: [{ id: 'ecs-svc/primary', status: 'PRIMARY', taskDefinition: target }] } };
    });
    ecs.on(StopServiceDeploymentCommand).callsFake((input: { serviceDeploymentArn: string; stopType?: string }) => {
      const d = this.deployments.find((x) => x.arn === input.serviceDeploymentArn);
      if (!d) throw awsError('ServiceDeploymentNotFoundException', `The service deployment ${input.serviceDeploymentArn} does not exist.`);
      if (!['PENDING', 'IN_PROGRESS', 'STOP_REQUESTED', 'ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS'].includes(d.status)) {
        throw awsError('ConflictException', `The service deployment ${d.arn} is ${d.status} and cannot be stopped.`);
      }
      this.changes.push(`StopServiceDeployment ${d.arn.split('/').pop()} ${input.stopType ?? 'ROLLBACK'}`);
      d.status = 'ROLLBACK_IN_PROGRESS';
      return { serviceDeploymentArn: d.arn };
    });
  }
}
