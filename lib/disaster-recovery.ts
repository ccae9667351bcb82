/**
 * The shape of a BodyScript failover, shared by the Region switch plan the
 * standby stack deploys and the operator CLI that drives it (`ops dr failover`).
 * No aws-cdk-lib here: the CLI imports it.
 */

/** Steps of the plan's activate workflow, in order (the traffic step only with a domain). */
export const PLAN_STEP_NAMES = {
  /** RDS: promote the read replica in the recovery region. */
  promote: 'promote-replica',
  /** Parallel block of one ECS step per service (`raise-<service>`). */
  raise: 'raise-services',
  /** Route 53: flip the health checks of the api's failover records. */
  traffic: 'switch-traffic',
} as const;

/** Name of the ECS step of one service inside `raise-services`. */
export function raiseStepName(service: string): string {
  return `raise-${service}`;
}

/**
 * How long each step may take (minutes). ARC fails a step that exceeds its
 * timeout; the CLI follows the execution for as long as the sum allows.
 */
export const PLAN_STEP_TIMEOUT_MINUTES = {
  /** A cross-region replica's promotion typically takes 5–15 minutes (it reboots). */
  promote: 30,
  /** Fargate tasks start, pull from the ECR replica and pass the container health check. */
  raise: 20,
  /** Route 53 health checks change state within a few of their 30-second intervals. */
  traffic: 10,
} as const;

/**
 * The plan's failback workflow (it activates the primary region), only with a
 * DNS failover pair: its one step sets the same Route 53 health checks as the
 * failover's traffic step, the other way round. It moves traffic and nothing
 * else: the database goes back by hand first (`ops dr failback` prints the
 * steps), and the primary's services run at their own capacity once
 * `cdk deploy` has reconciled them, so the plan raises nothing there.
 */
export const FAILBACK_STEP_NAMES = {
  /** Route 53: flip the health checks of the api's failover records back to the primary region. */
  traffic: 'return-traffic',
} as const;

/** How long the failback's traffic step may take (minutes): the same Route 53 health checks as the failover's. */
export const FAILBACK_STEP_TIMEOUT_MINUTES = { traffic: PLAN_STEP_TIMEOUT_MINUTES.traffic } as const;
