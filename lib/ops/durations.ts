import type { DurationEstimate } from '../deploy-duration';
import type { Command } from './cli';
import { DEFAULT_VERIFY_TIMEOUT_MINUTES } from './commands/verify';
import { PLAN_STEP_TIMEOUT_MINUTES } from '../disaster-recovery';
import { FAILBACK_FOLLOW_MINUTES } from './dr/failback';
import { DEFAULT_SCALE_TIMEOUT_MINUTES, DEFAULT_TARGET_HEALTH_TIMEOUT_MINUTES, PLAN_FOLLOW_MARGIN_MINUTES } from './dr/failover';

/**
 * How long an operator CLI command can take at worst: its bounded waits (each
 * wait stops before its timeout, lib/ops/wait.ts) plus the calls around them.
 * With lib/deploy-duration.ts this is what a pipeline job's credentials and
 * timeout must cover (test/workflow-credentials.test.ts).
 */

/** Start-up (tsx), the identity check and the describe calls around a command's waits, throttling retries included. */
export const OPS_CALLS_MINUTES = 2;
/** A command that only reads, but many things (preflight, dr status): some dozens of calls in two regions. */
export const OPS_SURVEY_MINUTES = 5;

function estimate(parts: { what: string; minutes: number }[]): DurationEstimate {
  return { minutes: parts.reduce((sum, p) => sum + p.minutes, 0), parts };
}

export function opsCommandWorstCase(command: Command): DurationEstimate {
  const calls = { what: 'start-up and calls', minutes: OPS_CALLS_MINUTES };
  switch (command.name) {
    case 'help':
    case 'plan':
      return estimate([{ what: `${command.name}: no AWS call`, minutes: 0.5 }]);
    case 'dr failback':
      // Only --move-traffic --execute waits: for the plan's failback execution.
      return estimate(command.moveTraffic && command.execute ? [{ what: "failback: the Region switch plan's traffic step", minutes: FAILBACK_FOLLOW_MINUTES }, calls] : [calls]);
    case 'dr deploy-check':
    case 'task-definitions':
    case 'delivery':
    case 'slo':
      return estimate([calls]);
    case 'preflight':
    case 'dr status':
      return estimate([{ what: `${command.name}: reads in both regions`, minutes: OPS_SURVEY_MINUTES }]);
    case 'verify':
      return estimate([{ what: 'verify: polling until healthy', minutes: command.timeoutMinutes }, calls]);
    case 'snapshot':
      // --no-wait only starts the snapshot (after pruning at the quota); the wait runs in a later step.
      return estimate(command.execute && command.wait ? [{ what: 'snapshot: waiting until available', minutes: command.timeoutMinutes }, calls] : [calls]);
    case 'rollback':
      return estimate(
        command.execute
          ? [
              { what: 'rollback: waiting for the deployment', minutes: command.timeoutMinutes },
              { what: 'rollback: verify afterwards', minutes: DEFAULT_VERIFY_TIMEOUT_MINUTES },
              calls,
            ]
          : [calls],
      );
    case 'dr failover':
      if (command.execute && command.timeoutMinutes !== undefined) {
        return estimate([{ what: 'failover: bounded by --timeout-minutes (a re-run follows the same execution)', minutes: command.timeoutMinutes }, calls]);
      }
      return estimate(
        command.execute
          ? [
              // The Region switch plan, followed until every step has run to its timeout (the traffic step included) and ARC's start-up.
              {
                what: 'failover: the Region switch plan',
                minutes: PLAN_STEP_TIMEOUT_MINUTES.promote + PLAN_STEP_TIMEOUT_MINUTES.raise + PLAN_STEP_TIMEOUT_MINUTES.traffic + PLAN_FOLLOW_MARGIN_MINUTES,
              },
              { what: 'failover: scaling the services', minutes: DEFAULT_SCALE_TIMEOUT_MINUTES },
              { what: 'failover: healthy targets', minutes: DEFAULT_TARGET_HEALTH_TIMEOUT_MINUTES },
              calls,
            ]
          : [calls],
      );
  }
}
