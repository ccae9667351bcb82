import { SERVICE_NAMES, type ServiceName } from './naming';

/**
 * How each service reaches a new release, in one place: the constructs, the
 * operations role, `ops verify` and `ops rollback` all read it.
 *
 * - `codedeploy-blue-green` (the api): CodeDeploy shifts production traffic
 *   from the original (blue) task set to the replacement (green) one and keeps
 *   blue for the termination wait, so a rollback is one listener change.
 * - `ecs-rolling` (the processing worker): ECS starts the new tasks next to
 *   the old ones and stops the old ones (SIGTERM, then the stop timeout); the
 *   circuit breaker and the deployment alarms roll it back. A queue worker has
 *   no traffic to shift: blue/green would keep two releases polling one queue
 *   for the whole termination wait.
 */
export type DeploymentModel = 'codedeploy-blue-green' | 'ecs-rolling';

export const SERVICE_DEPLOYMENT_MODELS: Readonly<Record<ServiceName, DeploymentModel>> = {
  api: 'codedeploy-blue-green',
  processing: 'ecs-rolling',
};

/** The services CodeDeploy deploys (they have a CodeDeploy application and deployment group). */
export const BLUE_GREEN_SERVICES: readonly ServiceName[] = SERVICE_NAMES.filter((s) => SERVICE_DEPLOYMENT_MODELS[s] === 'codedeploy-blue-green');

/** The services ECS deploys by rolling updates. */
export const ROLLING_SERVICES: readonly ServiceName[] = SERVICE_NAMES.filter((s) => SERVICE_DEPLOYMENT_MODELS[s] === 'ecs-rolling');
