import type {
  ExecutionEvent,
  Plan,
  PlanEvaluationStatus,
  PlanExecution,
  PlanStep,
  PlanSummary,
  PlanWorkflow,
  RegionSwitchApi,
  Route53HealthCheck,
  StartPlanExecutionInput,
  StartPlanExecutionOutput,
  StepState,
} from '../../lib/ops/dr/region-switch-client';
import type { Clock } from '../../lib/ops/progress';

/**
 * A model of ARC Region switch's data plane in one region, for the operator
 * CLI's tests. It answers from plans and executions it holds, refuses what ARC
 * refuses (unknown plans and executions, a target region or action the plan
 * has no workflow for, a mode other than graceful/ungraceful, a second
 * execution while one is active, and what a test adds to `refusals`), and
 * runs the workflow of the execution's action and target region on the test clock:
 * top-level steps one after another, the steps of a Parallel block together.
 * A step's `run` callback is its effect on the rest of the (mocked) world,
 * applied when it starts; it may fail the step, as AWS would.
 */

/** A step's effect when it runs, and whether AWS would let it succeed. */
export type StepEffect = () => { readonly ok: true } | { readonly ok: false; readonly error: string };

export interface FakeStepBehaviour {
  /** Seconds the step takes. */
  readonly seconds: number;
  readonly run?: StepEffect;
}

interface FakeExecution {
  readonly id: string;
  readonly plan: Plan;
  /** The workflow ARC runs: the one of the action and target region the execution was started with. */
  readonly workflow: PlanWorkflow;
  readonly startedAt: number;
  readonly mode: string;
  readonly action: string;
  readonly comment?: string;
  /** Computed once per step when the clock reaches its start. */
  readonly outcomes: Map<string, { readonly ok: boolean; readonly error?: string }>;
  canceled?: boolean;
}

const PLAN_ARN = /^arn:aws[a-zA-Z-]*:arc-region-switch::[0-9]{12}:plan\/([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?):([a-z0-9]{6})$/;

function error(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

export class FakeRegionSwitch implements RegionSwitchApi {
  readonly region: string;
  readonly plans: Plan[] = [];
  readonly calls: { operation: string; input: unknown }[] = [];
  evaluation: PlanEvaluationStatus = { evaluationState: 'passed', warnings: [] };
  /** Plan ARN → the health checks its Route53HealthCheck steps created. */
  readonly route53HealthChecks = new Map<string, Route53HealthCheck[]>();
  /** Step name → how long it takes and what it does. */
  readonly behaviour = new Map<string, FakeStepBehaviour>();
  /** Set to make every call fail as a regional outage would (DNS resolution fails). */
  unreachable = false;
  /** Operation → the error ARC answers it with (e.g. AccessDeniedException for a role without the permission). */
  readonly refusals = new Map<string, { readonly name: string; readonly message: string; readonly status?: number }>();
  private readonly executions = new Map<string, FakeExecution>();
  private nextId = 1;

  constructor(
    region: string,
    private readonly clock: Clock,
  ) {
    this.region = region;
  }

  private enter(operation: string, input: unknown): void {
    this.calls.push({ operation, input });
    if (this.unreachable) throw Object.assign(new Error(`getaddrinfo ENOTFOUND arc-region-switch.${this.region}.api.aws`), { name: 'NetworkingError', code: 'ENOTFOUND' });
    const refusal = this.refusals.get(operation);
    if (refusal) throw error(refusal.name, refusal.message, refusal.status);
  }

  addPlan(plan: Plan): void {
    if (!PLAN_ARN.test(plan.arn)) throw new Error(`fake: not a plan ARN: ${plan.arn}`);
    this.plans.push(plan);
  }

  private planOf(arn: string): Plan {
    if (!PLAN_ARN.test(arn)) throw error('IllegalArgumentException', `planArn '${arn}' does not match the plan ARN pattern`);
    const plan = this.plans.find((p) => p.arn === arn);
    if (!plan) throw error('ResourceNotFoundException', `plan ${arn} not found`, 404);
    return plan;
  }

  async listPlansInRegion(): Promise<PlanSummary[]> {
    this.enter('ListPlansInRegion', {});
    // The summary names the plan's active execution, if it has one.
    return this.plans.map(({ workflows: _w, executionRole: _r, ...summary }) => {
      const active = [...this.executions.values()].find((e) => e.plan.arn === summary.arn && !terminal(this.state(e).executionState));
      return active ? { ...summary, activePlanExecution: active.id } : summary;
    });
  }

  async getPlanInRegion(arn: string): Promise<Plan> {
    this.enter('GetPlanInRegion', { arn });
    return this.planOf(arn);
  }

  async getPlanEvaluationStatus(planArn: string): Promise<PlanEvaluationStatus> {
    this.enter('GetPlanEvaluationStatus', { planArn });
    this.planOf(planArn);
    return this.evaluation;
  }

  async listRoute53HealthChecksInRegion(planArn: string, filter: { hostedZoneId?: string; recordName?: string } = {}): Promise<Route53HealthCheck[]> {
    this.enter('ListRoute53HealthChecksInRegion', { arn: planArn, ...filter });
    this.planOf(planArn);
    return (this.route53HealthChecks.get(planArn) ?? []).filter(
      (c) => (filter.hostedZoneId === undefined || c.hostedZoneId === filter.hostedZoneId) && (filter.recordName === undefined || c.recordName === filter.recordName),
    );
  }

  async startPlanExecution(input: StartPlanExecutionInput): Promise<StartPlanExecutionOutput> {
    this.enter('StartPlanExecution', input);
    const plan = this.planOf(input.planArn);
    if (input.mode !== 'graceful' && input.mode !== 'ungraceful') throw error('IllegalArgumentException', `mode must be graceful or ungraceful, got '${String(input.mode)}'`);
    if (!(plan.regions ?? []).includes(input.targetRegion)) throw error('IllegalArgumentException', `targetRegion ${input.targetRegion} is not a region of the plan`);
    const workflow = plan.workflows.find((w) => w.workflowTargetAction === input.action && (w.workflowTargetRegion ?? input.targetRegion) === input.targetRegion);
    if (!workflow) throw error('IllegalArgumentException', `the plan has no ${input.action} workflow for ${input.targetRegion}`);
    if ([...this.executions.values()].some((e) => e.plan.arn === plan.arn && !terminal(this.state(e).executionState))) {
      throw error('IllegalStateException', 'the plan already has an active execution');
    }
    const id = `exec${this.nextId++}`;
    this.executions.set(id, { id, plan, workflow, startedAt: this.clock.now(), mode: input.mode, action: input.action, comment: input.comment, outcomes: new Map() });
    return { executionId: id, planVersion: plan.version, activateRegion: input.targetRegion };
  }

  async getPlanExecution(planArn: string, executionId: string): Promise<PlanExecution> {
    this.enter('GetPlanExecution', { planArn, executionId });
    return this.state(this.executionOf(planArn, executionId));
  }

  async listPlanExecutionEvents(planArn: string, executionId: string): Promise<ExecutionEvent[]> {
    this.enter('ListPlanExecutionEvents', { planArn, executionId });
    const execution = this.state(this.executionOf(planArn, executionId));
    const events: ExecutionEvent[] = [{ eventId: `${executionId}-0`, type: 'executionStarted', timestamp: execution.startTime }];
    for (const s of execution.stepStates) {
      events.push({ eventId: `${executionId}-${s.name}-start`, type: 'stepStarted', stepName: s.name, timestamp: s.startTime });
      if (s.status === 'completed') events.push({ eventId: `${executionId}-${s.name}-end`, type: 'stepSucceeded', stepName: s.name, timestamp: s.endTime });
      if (s.status === 'failed') {
        const outcome = this.executions.get(executionId)!.outcomes.get(s.name);
        events.push({ eventId: `${executionId}-${s.name}-end`, type: 'stepFailed', stepName: s.name, timestamp: s.endTime, error: outcome?.error });
      }
    }
    return events;
  }

  private executionOf(planArn: string, executionId: string): FakeExecution {
    this.planOf(planArn);
    const e = this.executions.get(executionId);
    if (!e || e.plan.arn !== planArn) throw error('ResourceNotFoundException', `execution ${executionId} not found`, 404);
    return e;
  }

  /** Where an execution is at the clock's current time. */
  private state(e: FakeExecution): PlanExecution {
    const now = this.clock.now();
    const workflow = e.workflow;
    const stepStates: StepState[] = [];
    let cursor = e.startedAt;
    let failed = false;
    type Result = { readonly status: 'running' | 'completed' | 'failed'; readonly end?: number };
    // One step that starts at `start`: its effect applies once, when the clock gets there.
    const leaf = (step: PlanStep, start: number): Result | undefined => {
      if (now < start) return undefined;
      const behaviour = this.behaviour.get(step.name) ?? { seconds: 60 };
      if (!e.outcomes.has(step.name)) e.outcomes.set(step.name, behaviour.run?.() ?? { ok: true });
      const end = start + behaviour.seconds * 1000;
      if (now < end) {
        stepStates.push(state(step.name, start, 'running'));
        return { status: 'running' };
      }
      const status = e.outcomes.get(step.name)!.ok ? 'completed' : 'failed';
      stepStates.push(state(step.name, start, status, end));
      return { status, end };
    };
    // A top-level step; a Parallel block runs its steps together and ends with the last of them.
    const block = (step: PlanStep, start: number): Result | undefined => {
      if (!step.steps) return leaf(step, start);
      if (now < start) return undefined;
      const results = step.steps.map((child) => leaf(child, start));
      if (results.some((r) => !r || r.status === 'running')) {
        stepStates.push(state(step.name, start, 'running'));
        return { status: 'running' };
      }
      const end = Math.max(...results.map((r) => r!.end!));
      const status = results.some((r) => r!.status === 'failed') ? 'failed' : 'completed';
      stepStates.push(state(step.name, start, status, end));
      return { status, end };
    };
    let finished = true;
    for (const step of workflow.steps) {
      const r = block(step, cursor);
      if (!r || r.status === 'running') {
        finished = false;
        break;
      }
      if (r.status === 'failed') {
        failed = true;
        finished = false;
        break;
      }
      cursor = r.end!;
    }
    const executionState = e.canceled ? 'canceled' : failed ? 'pausedByFailedStep' : finished ? 'completed' : 'inProgress';
    return {
      planArn: e.plan.arn,
      executionId: e.id,
      executionState,
      executionAction: e.action,
      executionRegion: this.region,
      mode: e.mode,
      startTime: new Date(e.startedAt),
      endTime: finished ? new Date(cursor) : undefined,
      actualRecoveryTime: finished ? `${Math.round((cursor - e.startedAt) / 1000)}s` : undefined,
      stepStates,
    };
  }
}

function state(name: string, start: number, status: string, end?: number): StepState {
  return { name, status, startTime: new Date(start), endTime: end === undefined ? undefined : new Date(end) };
}

function terminal(executionState: string): boolean {
  return ['completed', 'completedWithExceptions', 'completedMonitoringApplicationHealth', 'failed', 'canceled', 'planExecutionTimedOut'].includes(executionState);
}
