import { FAILBACK_STEP_NAMES, PLAN_STEP_NAMES, raiseStepName } from '../../disaster-recovery';
import { SERVICE_NAMES } from '../../naming';
import type { OpsContext } from '../context';
import type { Plan, PlanStep, PlanWorkflow } from './region-switch-client';

/**
 * The workflows of the environment's Region switch plan that the DR commands
 * run: how each command picks its own from the plan ARC returns, and the steps
 * this project deploys in each (`constructs/region-switch-plan.ts`), so that
 * `dr status` can say before a drill whether the plan ARC holds is the one
 * the commands expect. ARC runs the workflow of the region an execution
 * activates: a plan without it cannot be started towards that region.
 */

/**
 * The failover workflow: the one that activates the recovery region (`dr
 * failover`). A workflow without a target region also counts: ARC lets an
 * active/passive plan have "one workflow that can be used to activate either
 * of your Regions" (ARC developer guide, Region switch components).
 */
export function failoverWorkflow(ctx: OpsContext, plan: Plan): PlanWorkflow | undefined {
  const region = ctx.config.standby.region;
  return plan.workflows.find((w) => w.workflowTargetAction === 'activate' && (w.workflowTargetRegion ?? region) === region);
}

/**
 * The failback workflow: the one that activates the primary region (`dr
 * failback --move-traffic`). Only one named for the primary region counts: a
 * workflow for both regions would be the failover's, whose promotion and
 * raising must not run on the way back.
 */
export function failbackWorkflow(ctx: OpsContext, plan: Plan): PlanWorkflow | undefined {
  return plan.workflows.find((w) => w.workflowTargetAction === 'activate' && w.workflowTargetRegion === ctx.config.primary.region);
}

/** A step as `dr status` compares it: its name and execution block type, and for a Parallel block its steps. */
export interface StepShape {
  readonly name: string;
  readonly executionBlockType: string;
  readonly steps?: readonly StepShape[];
}

/** The failover workflow's steps as the standby stack deploys them: promote, raise both services together, and with a domain move the api's DNS. */
export function expectedFailoverSteps(ctx: OpsContext): StepShape[] {
  const steps: StepShape[] = [
    { name: PLAN_STEP_NAMES.promote, executionBlockType: 'RdsPromoteReadReplica' },
    { name: PLAN_STEP_NAMES.raise, executionBlockType: 'Parallel', steps: SERVICE_NAMES.map((s) => ({ name: raiseStepName(s), executionBlockType: 'ECSServiceScaling' })) },
  ];
  if (ctx.config.domain) steps.push({ name: PLAN_STEP_NAMES.traffic, executionBlockType: 'Route53HealthCheck' });
  return steps;
}

/**
 * The failback workflow's steps as the standby stack deploys them: with a
 * domain only, and only the traffic move back. Without a domain the plan has
 * no failback workflow (no DNS record carries the api): undefined.
 */
export function expectedFailbackSteps(ctx: OpsContext): StepShape[] | undefined {
  return ctx.config.domain ? [{ name: FAILBACK_STEP_NAMES.traffic, executionBlockType: 'Route53HealthCheck' }] : undefined;
}

/**
 * One line for a workflow's steps, in the order ARC runs them:
 * `promote-replica (RdsPromoteReadReplica) → raise-services (Parallel: raise-api (ECSServiceScaling), …)`.
 * A Parallel block's steps are listed by name, because ARC starts them together.
 */
export function describeStepShapes(steps: readonly (StepShape | PlanStep)[]): string {
  if (steps.length === 0) return 'no step';
  const one = (s: StepShape | PlanStep): string =>
    s.steps ? `${s.name} (${s.executionBlockType}: ${[...s.steps].sort((a, b) => a.name.localeCompare(b.name)).map(one).join(', ')})` : `${s.name} (${s.executionBlockType})`;
  return steps.map(one).join(' → ');
}
