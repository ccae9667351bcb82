import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/**
 * The few ARC Region switch operations the operator CLI needs, signed by hand.
 *
 * `@aws-sdk/client-arc-region-switch` is not in this project's registry, so
 * this module speaks the service's protocol itself: AWS JSON 1.0 (`POST /`,
 * `content-type: application/x-amz-json-1.0`, `x-amz-target:
 * ArcRegionSwitch.<Operation>`), signed with Signature Version 4 for the
 * service `arc-region-switch` (`@smithy/signature-v4`), credentials from the
 * SDK's default chain (`@aws-sdk/credential-provider-node`: environment, SSO,
 * profiles, web identity, container and instance roles). Timestamps arrive as
 * epoch seconds.
 *
 * Every operation here is a data-plane operation of Region switch, served by
 * the regional endpoint `arc-region-switch.<region>.api.aws` (the SDK's
 * endpoint rules; the control plane is `arc-region-switch-control-plane.us-east-1.api.aws`,
 * which a failover never calls). The CLI builds one client per region and
 * uses only the recovery region's during a failover.
 */

export type ExecutionMode = 'graceful' | 'ungraceful';
export type ExecutionAction = 'activate' | 'deactivate';

export interface PlanSummary {
  readonly arn: string;
  readonly name: string;
  readonly version?: string;
  readonly primaryRegion?: string;
  readonly regions?: string[];
  readonly recoveryApproach?: string;
  readonly recoveryTimeObjectiveMinutes?: number;
  readonly activePlanExecution?: string;
}

export interface PlanStep {
  readonly name: string;
  readonly executionBlockType: string;
  readonly description?: string;
  /** Steps of a Parallel block. */
  readonly steps?: PlanStep[];
}

export interface PlanWorkflow {
  readonly workflowTargetAction: string;
  readonly workflowTargetRegion?: string;
  readonly steps: PlanStep[];
}

export interface Plan extends PlanSummary {
  readonly executionRole?: string;
  readonly workflows: PlanWorkflow[];
}

export interface PlanWarning {
  readonly stepName?: string;
  readonly resourceArn?: string;
  readonly warningStatus?: string;
  readonly warningMessage?: string;
  readonly warningUpdatedTime?: Date;
}

export interface PlanEvaluationStatus {
  readonly evaluationState?: 'passed' | 'actionRequired' | 'pendingEvaluation' | 'unknown' | string;
  readonly lastEvaluationTime?: Date;
  readonly lastEvaluatedVersion?: string;
  readonly region?: string;
  readonly warnings: PlanWarning[];
}

export interface StepState {
  readonly name: string;
  readonly status: string;
  readonly stepMode?: string;
  readonly startTime?: Date;
  readonly endTime?: Date;
}

export interface PlanExecution {
  readonly planArn: string;
  readonly executionId: string;
  readonly executionState: string;
  readonly executionAction?: string;
  readonly executionRegion?: string;
  readonly mode?: string;
  readonly startTime?: Date;
  readonly endTime?: Date;
  readonly updatedAt?: Date;
  /** ARC's own measure of the recovery time (a duration string, as ARC reports it). */
  readonly actualRecoveryTime?: string;
  readonly stepStates: StepState[];
}

export interface ExecutionEvent {
  readonly eventId: string;
  readonly type: string;
  readonly timestamp?: Date;
  readonly stepName?: string;
  readonly executionBlockType?: string;
  readonly resources?: string[];
  readonly description?: string;
  readonly error?: string;
  readonly previousEventId?: string;
}

export interface StartPlanExecutionInput {
  readonly planArn: string;
  readonly targetRegion: string;
  readonly action: ExecutionAction;
  readonly mode: ExecutionMode;
  readonly comment?: string;
}

export interface StartPlanExecutionOutput {
  readonly executionId: string;
  readonly planVersion?: string;
  readonly activateRegion?: string;
  readonly deactivateRegion?: string;
}

/** What the CLI uses of Region switch: the real client below, or a model of ARC in tests. */
export interface RegionSwitchApi {
  readonly region: string;
  listPlansInRegion(): Promise<PlanSummary[]>;
  getPlanInRegion(arn: string): Promise<Plan>;
  getPlanEvaluationStatus(planArn: string): Promise<PlanEvaluationStatus>;
  startPlanExecution(input: StartPlanExecutionInput): Promise<StartPlanExecutionOutput>;
  getPlanExecution(planArn: string, executionId: string): Promise<PlanExecution>;
  listPlanExecutionEvents(planArn: string, executionId: string): Promise<ExecutionEvent[]>;
  /** The Route 53 health checks a plan's Route53HealthCheck steps created, as this region's data plane knows them. */
  listRoute53HealthChecksInRegion(planArn: string, filter?: { readonly hostedZoneId?: string; readonly recordName?: string }): Promise<Route53HealthCheck[]>;
}

/** A health check that a Route53HealthCheck step created: one per region of the plan, to attach to that region's record. */
export interface Route53HealthCheck {
  readonly hostedZoneId: string;
  readonly recordName: string;
  /** The region whose record the check belongs on. */
  readonly region: string;
  /** Absent until ARC has allocated the check. */
  readonly healthCheckId?: string;
  readonly status?: string;
}

/** The part of `fetch` the client uses, so that tests can answer without a network. */
export type Fetch = (url: string, init: { method: string; headers: Record<string, string>; body: string }) => Promise<{
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export interface RegionSwitchClientOptions {
  readonly region: string;
  /** @default - the SDK's default credential chain */
  readonly credentials?: AwsCredentialIdentityProvider | AwsCredentialIdentity;
  /** @default - globalThis.fetch */
  readonly fetch?: Fetch;
  /** @default - `https://arc-region-switch.<region>.api.aws` */
  readonly endpoint?: string;
  /**
   * The signing time (tests fix it to check a signature).
   *
   * @default - the current time
   */
  readonly now?: () => Date;
}

export const SIGNING_NAME = 'arc-region-switch';
export const TARGET_PREFIX = 'ArcRegionSwitch';

/** The data-plane endpoint of a region (aws partition, dual-stack: the SDK's endpoint rules). */
export function dataPlaneEndpoint(region: string): string {
  if (!/^[a-z]{2}-[a-z]+-\d$/.test(region)) throw new Error(`Region switch: '${region}' is not a region of the aws partition`);
  return `https://arc-region-switch.${region}.api.aws`;
}

/** An AWS error as the SDK would throw it: the name is the error code, so lib/ops/aws-errors.ts classifies it. */
export class RegionSwitchServiceError extends Error {
  readonly $metadata: { httpStatusCode: number; requestId?: string };
  readonly $fault: 'client' | 'server';
  constructor(code: string, message: string, status: number, requestId?: string) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status, requestId };
    this.$fault = status >= 500 ? 'server' : 'client';
  }
}

const PAGE_LIMIT = 100;

export class RegionSwitchClient implements RegionSwitchApi {
  readonly region: string;
  private readonly signer: SignatureV4;
  private readonly fetch: Fetch;
  private readonly url: URL;
  private readonly now?: () => Date;

  constructor(options: RegionSwitchClientOptions) {
    this.now = options.now;
    this.region = options.region;
    this.url = new URL(options.endpoint ?? dataPlaneEndpoint(options.region));
    this.fetch = options.fetch ?? (globalThis.fetch as unknown as Fetch);
    this.signer = new SignatureV4({ service: SIGNING_NAME, region: options.region, credentials: options.credentials ?? defaultProvider(), sha256: Sha256 });
  }

  async listPlansInRegion(): Promise<PlanSummary[]> {
    const plans: PlanSummary[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < PAGE_LIMIT; page++) {
      const out = await this.call<{ plans?: unknown[]; nextToken?: string }>('ListPlansInRegion', { maxResults: 100, nextToken });
      plans.push(...(out.plans ?? []).map((p) => planSummary(p as Record<string, unknown>)));
      nextToken = out.nextToken;
      if (!nextToken) break;
    }
    return plans;
  }

  async getPlanInRegion(arn: string): Promise<Plan> {
    const out = await this.call<{ plan?: Record<string, unknown> }>('GetPlanInRegion', { arn });
    if (!out.plan) throw new RegionSwitchServiceError('ResourceNotFoundException', `plan ${arn} not returned`, 404);
    return plan(out.plan);
  }

  async getPlanEvaluationStatus(planArn: string): Promise<PlanEvaluationStatus> {
    const warnings: PlanWarning[] = [];
    let first: Record<string, unknown> | undefined;
    let nextToken: string | undefined;
    for (let page = 0; page < PAGE_LIMIT; page++) {
      const out = await this.call<Record<string, unknown>>('GetPlanEvaluationStatus', { planArn, maxResults: 100, nextToken });
      first ??= out;
      warnings.push(...((out.warnings as Record<string, unknown>[] | undefined) ?? []).map(warning));
      nextToken = out.nextToken as string | undefined;
      if (!nextToken) break;
    }
    return {
      evaluationState: first?.evaluationState as string | undefined,
      lastEvaluationTime: date(first?.lastEvaluationTime),
      lastEvaluatedVersion: first?.lastEvaluatedVersion as string | undefined,
      region: first?.region as string | undefined,
      warnings,
    };
  }

  async startPlanExecution(input: StartPlanExecutionInput): Promise<StartPlanExecutionOutput> {
    const out = await this.call<Record<string, unknown>>('StartPlanExecution', { ...input });
    if (typeof out.executionId !== 'string') throw new RegionSwitchServiceError('InternalServerException', 'StartPlanExecution returned no executionId', 500);
    return {
      executionId: out.executionId,
      planVersion: out.planVersion as string | undefined,
      activateRegion: out.activateRegion as string | undefined,
      deactivateRegion: out.deactivateRegion as string | undefined,
    };
  }

  async getPlanExecution(planArn: string, executionId: string): Promise<PlanExecution> {
    const stepStates: StepState[] = [];
    let first: Record<string, unknown> | undefined;
    let nextToken: string | undefined;
    // Step states are paginated; the execution's own fields come with the first page.
    for (let page = 0; page < PAGE_LIMIT; page++) {
      const out = await this.call<Record<string, unknown>>('GetPlanExecution', { planArn, executionId, maxResults: 100, nextToken });
      first ??= out;
      stepStates.push(...((out.stepStates as Record<string, unknown>[] | undefined) ?? []).map(stepState));
      nextToken = out.nextToken as string | undefined;
      if (!nextToken) break;
    }
    const f = first ?? {};
    return {
      planArn: (f.planArn as string | undefined) ?? planArn,
      executionId: (f.executionId as string | undefined) ?? executionId,
      executionState: (f.executionState as string | undefined) ?? 'unknown',
      executionAction: f.executionAction as string | undefined,
      executionRegion: f.executionRegion as string | undefined,
      mode: f.mode as string | undefined,
      startTime: date(f.startTime),
      endTime: date(f.endTime),
      updatedAt: date(f.updatedAt),
      actualRecoveryTime: f.actualRecoveryTime as string | undefined,
      stepStates,
    };
  }

  async listPlanExecutionEvents(planArn: string, executionId: string): Promise<ExecutionEvent[]> {
    const events: ExecutionEvent[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < PAGE_LIMIT; page++) {
      const out = await this.call<{ items?: Record<string, unknown>[]; nextToken?: string }>('ListPlanExecutionEvents', { planArn, executionId, maxResults: 100, nextToken });
      events.push(...(out.items ?? []).map(executionEvent));
      nextToken = out.nextToken;
      if (!nextToken) break;
    }
    return events;
  }

  async listRoute53HealthChecksInRegion(planArn: string, filter: { readonly hostedZoneId?: string; readonly recordName?: string } = {}): Promise<Route53HealthCheck[]> {
    const checks: Route53HealthCheck[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < PAGE_LIMIT; page++) {
      const out = await this.call<{ healthChecks?: Record<string, unknown>[]; nextToken?: string }>('ListRoute53HealthChecksInRegion', {
        arn: planArn,
        hostedZoneId: filter.hostedZoneId,
        recordName: filter.recordName,
        maxResults: 100,
        nextToken,
      });
      checks.push(
        ...(out.healthChecks ?? []).map((c) => ({
          hostedZoneId: c.hostedZoneId as string,
          recordName: c.recordName as string,
          region: c.region as string,
          healthCheckId: c.healthCheckId as string | undefined,
          status: c.status as string | undefined,
        })),
      );
      nextToken = out.nextToken;
      if (!nextToken) break;
    }
    return checks;
  }

  /** One signed AWS JSON 1.0 call; a non-2xx answer becomes a RegionSwitchServiceError named by the AWS error code. */
  private async call<T>(operation: string, input: Record<string, unknown>): Promise<T> {
    const body = JSON.stringify(Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)));
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port ? Number(this.url.port) : undefined,
      path: '/',
      query: {},
      headers: {
        host: this.url.host,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `${TARGET_PREFIX}.${operation}`,
      },
      body,
    }, this.now ? { signingDate: this.now() } : undefined);
    let response: Awaited<ReturnType<Fetch>>;
    try {
      response = await this.fetch(`${this.url.origin}/`, { method: 'POST', headers: signed.headers as Record<string, string>, body });
    } catch (error) {
      // fetch reports DNS and connection failures as a TypeError whose cause carries the code.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw Object.assign(new Error(`${operation} to ${this.url.host}: ${cause?.message ?? (error instanceof Error ? error.message : String(error))}`), {
        name: 'NetworkingError',
        code: cause?.code,
      });
    }
    const text = await response.text();
    const requestId = response.headers.get('x-amzn-requestid') ?? undefined;
    if (response.status >= 300) {
      let parsed: Record<string, unknown> = {};
      try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        // Not JSON (a proxy or load balancer answered): keep the text as the message.
      }
      const rawCode = response.headers.get('x-amzn-errortype') ?? (parsed.__type as string | undefined) ?? (parsed.code as string | undefined) ?? `Http${response.status}`;
      // `com.amazonaws.arcregionswitch#ResourceNotFoundException:http://...` → `ResourceNotFoundException`
      const code = rawCode.split(':')[0].split('#').pop()!;
      const message = (parsed.message as string | undefined) ?? (parsed.Message as string | undefined) ?? (text || `HTTP ${response.status}`);
      throw new RegionSwitchServiceError(code, message, response.status, requestId);
    }
    return (text ? JSON.parse(text) : {}) as T;
  }
}

function date(value: unknown): Date | undefined {
  return typeof value === 'number' ? new Date(value * 1000) : undefined;
}

function planSummary(p: Record<string, unknown>): PlanSummary {
  return {
    arn: p.arn as string,
    name: p.name as string,
    version: p.version as string | undefined,
    primaryRegion: p.primaryRegion as string | undefined,
    regions: p.regions as string[] | undefined,
    recoveryApproach: p.recoveryApproach as string | undefined,
    recoveryTimeObjectiveMinutes: p.recoveryTimeObjectiveMinutes as number | undefined,
    activePlanExecution: p.activePlanExecution as string | undefined,
  };
}

function step(s: Record<string, unknown>): PlanStep {
  const parallel = (s.executionBlockConfiguration as { parallelConfig?: { steps?: Record<string, unknown>[] } } | undefined)?.parallelConfig;
  return {
    name: s.name as string,
    executionBlockType: s.executionBlockType as string,
    description: s.description as string | undefined,
    steps: parallel?.steps?.map(step),
  };
}

function plan(p: Record<string, unknown>): Plan {
  return {
    ...planSummary(p),
    executionRole: p.executionRole as string | undefined,
    workflows: ((p.workflows as Record<string, unknown>[] | undefined) ?? []).map((w) => ({
      workflowTargetAction: w.workflowTargetAction as string,
      workflowTargetRegion: w.workflowTargetRegion as string | undefined,
      steps: ((w.steps as Record<string, unknown>[] | undefined) ?? []).map(step),
    })),
  };
}

function warning(w: Record<string, unknown>): PlanWarning {
  return {
    stepName: w.stepName as string | undefined,
    resourceArn: w.resourceArn as string | undefined,
    warningStatus: w.warningStatus as string | undefined,
    warningMessage: w.warningMessage as string | undefined,
    warningUpdatedTime: date(w.warningUpdatedTime),
  };
}

function stepState(s: Record<string, unknown>): StepState {
  return { name: s.name as string, status: s.status as string, stepMode: s.stepMode as string | undefined, startTime: date(s.startTime), endTime: date(s.endTime) };
}

function executionEvent(e: Record<string, unknown>): ExecutionEvent {
  return {
    eventId: e.eventId as string,
    type: e.type as string,
    timestamp: date(e.timestamp),
    stepName: e.stepName as string | undefined,
    executionBlockType: e.executionBlockType as string | undefined,
    resources: e.resources as string[] | undefined,
    description: e.description as string | undefined,
    error: e.error as string | undefined,
    previousEventId: e.previousEventId as string | undefined,
  };
}
