import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { failedOverMarkerName } from '../../naming';
import { OpsError } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';

/**
 * The failed-over marker: an SSM parameter in the standby (recovery) region
 * that says "this environment runs in the standby region now". `dr failover`
 * writes it before it starts the Region switch plan, `dr failback --execute`
 * deletes it once the primary region holds the database again, and the
 * pipeline (`ops preflight`, `failedOverCheck`) refuses to deploy while it exists:
 * a deploy of the standby stack would otherwise re-apply what the failover
 * changed. No stack owns the parameter, so no deploy can reset it.
 *
 * It lives in the standby region because that is the region a failover can
 * reach, and the one a pipeline deploying after a failover reads.
 */

export interface FailedOverMarker {
  readonly environment: string;
  /** When the failover started (ISO 8601). */
  readonly failedOverAt: string;
  /** Who started it (the caller's ARN). */
  readonly by: string;
  readonly planArn?: string;
  /** The Region switch execution that raised the standby; a re-run follows it instead of starting another. */
  readonly executionId?: string;
  readonly mode: 'drill' | 'recovery';
}

export type MarkerState = { readonly present: false } | { readonly present: true; readonly marker?: FailedOverMarker; readonly raw: string };

/** SSM answers ParameterNotFound (GetParameter, DeleteParameter) for a parameter that does not exist. */
function isAbsent(error: unknown): boolean {
  return error instanceof OpsError && error.kind === 'not-found';
}

/**
 * Reads the marker. An unreadable marker is an error, never "absent": a
 * safety gate does not pass on what it cannot read.
 */
export async function readMarker(ctx: OpsContext): Promise<MarkerState> {
  const name = failedOverMarkerName(ctx.env);
  let value: string | undefined;
  try {
    const out = await awsCall(ctx, 'standby', 'ssm:GetParameter', `parameter ${name}`, () => ctx.clients.standby.ssm.send(new GetParameterCommand({ Name: name })));
    if (!out?.Parameter) throw new OpsError('aws', `ssm:GetParameter on parameter ${name} (${ctx.config.standby.region}) answered without the parameter: the failed-over marker cannot be read`);
    value = out.Parameter.Value;
  } catch (error) {
    // Only "no such parameter" means not failed over; access denied, throttling or
    // an unreachable region stop the caller (exit 4).
    if (isAbsent(error)) return { present: false };
    throw error;
  }
  const raw = value ?? '';
  try {
    const parsed = JSON.parse(raw) as FailedOverMarker;
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.failedOverAt !== 'string') return { present: true, raw };
    return { present: true, marker: parsed, raw };
  } catch {
    // Written by hand or damaged: still a marker. Its presence is what counts.
    return { present: true, raw };
  }
}

export async function writeMarker(ctx: OpsContext, marker: FailedOverMarker, overwrite: boolean): Promise<void> {
  const name = failedOverMarkerName(ctx.env);
  await awsCall(ctx, 'standby', 'ssm:PutParameter', `parameter ${name}`, () =>
    ctx.clients.standby.ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: JSON.stringify(marker),
        Type: 'String',
        Overwrite: overwrite,
        Description: `BodyScript ${ctx.env} is failed over to ${ctx.config.standby.region}: deploys are refused until ops dr failback --execute deletes this`,
      }),
    ),
  );
}

export async function deleteMarker(ctx: OpsContext): Promise<void> {
  const name = failedOverMarkerName(ctx.env);
  try {
    await awsCall(ctx, 'standby', 'ssm:DeleteParameter', `parameter ${name}`, () => ctx.clients.standby.ssm.send(new DeleteParameterCommand({ Name: name })));
  } catch (error) {
    if (!isAbsent(error)) throw error;
  }
}

/** One line for people: since when, by whom, which execution. */
export function describeMarker(state: MarkerState): string {
  if (!state.present) return 'not failed over';
  if (!state.marker) return `failed over (marker present, unreadable content: ${JSON.stringify(state.raw.slice(0, 80))})`;
  const m = state.marker;
  return `failed over to the standby since ${m.failedOverAt} (${m.mode}, by ${m.by}${m.executionId ? `, Region switch execution ${m.executionId}` : ''})`;
}

/** The outcome of the pipeline's check: deploys are refused while the environment is failed over. */
export interface FailedOverCheck {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * The check `ops preflight` runs before any deploy of the environment:
 * not failed over → ok; failed over → refused, unless the deploy is explicitly
 * allowed (the pipeline passes that only from a job whose GitHub environment
 * requires a code owner's approval). An unreadable marker throws.
 */
export async function failedOverCheck(ctx: OpsContext, options: { allowWhileFailedOver: boolean }): Promise<FailedOverCheck> {
  const state = await readMarker(ctx);
  const where = `${failedOverMarkerName(ctx.env)} (${ctx.config.standby.region})`;
  if (!state.present) return { ok: true, detail: `not failed over (${where} absent)` };
  if (options.allowWhileFailedOver) {
    return { ok: true, detail: `${describeMarker(state)}; deploying anyway: allowed by an approved override (runbooks/disaster-recovery.md)` };
  }
  return {
    ok: false,
    detail:
      `${describeMarker(state)}: a deploy now would re-apply what the failover changed (the standby's template, the primary's records). ` +
      `Fail back first (npm run ops -- dr failback --env ${ctx.env}), or have a code owner approve the override job (runbooks/disaster-recovery.md, "Deploying while failed over")`,
  };
}

/** Refuses with exit 1 unless the check passes; for commands that must not run while failed over. */
export function assertNotFailedOver(check: FailedOverCheck): void {
  if (!check.ok) throw new OpsError('unhealthy', check.detail);
}
