import {
  BatchGetServiceLevelObjectiveBudgetReportCommand,
  type BatchGetServiceLevelObjectiveBudgetReportCommandInput,
  type ServiceLevelObjectiveBudgetReport,
} from '@aws-sdk/client-application-signals';
import { runCli } from '../../lib/ops/cli';
import { parseOverride, runSlo } from '../../lib/ops/commands/slo';
import { ExitCode } from '../../lib/ops/exit-codes';
import { serviceLevelObjectiveName, SLO_KINDS, type SloKind } from '../../lib/service-level-objectives';
import { awsError, captureOutput, fakeClock, FAST_RETRY, harness, type Harness, mockedClients } from './helpers';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { loadConfig } from '../../lib/config';

/**
 * `ops slo` against a model of Application Signals' BatchGetServiceLevelObjectiveBudgetReport
 * as its API reference describes it: Timestamp and 1–50 SloIds are required
 * (ValidationException otherwise); an id that names no SLO comes back in Errors,
 * not as an exception; each report has BudgetStatus OK | WARNING | BREACHED |
 * INSUFFICIENT_DATA, and request-based reports carry TotalBudgetRequests and
 * BudgetRequestsRemaining ("if the number of failed requests matches this number
 * or is higher, the SLO is breaching").
 */

type Budget = { status: ServiceLevelObjectiveBudgetReport['BudgetStatus']; attainment?: number; remaining?: number; total?: number; goal?: number; evaluation?: 'RequestBased' | 'PeriodBased' };

function applicationSignals(h: Harness, budgets: Partial<Record<SloKind, Budget>>, existing: readonly SloKind[] = SLO_KINDS, throttledCalls = 0) {
  const account = h.config.primary.account;
  const byName = new Map(existing.map((k) => [serviceLevelObjectiveName(h.ctx.env, k), k]));
  let throttle = throttledCalls;
  h.mocks.primary.applicationSignals.on(BatchGetServiceLevelObjectiveBudgetReportCommand).callsFake((input: BatchGetServiceLevelObjectiveBudgetReportCommandInput) => {
    if (throttle-- > 0) throw awsError('ThrottlingException', 'Rate exceeded');
    if (!(input.Timestamp instanceof Date)) throw awsError('ValidationException', 'Timestamp is required');
    if (!input.SloIds || input.SloIds.length < 1 || input.SloIds.length > 50) throw awsError('ValidationException', 'SloIds must have 1 to 50 items');
    const reports: ServiceLevelObjectiveBudgetReport[] = [];
    const errors = [];
    for (const id of input.SloIds) {
      const kind = byName.get(id);
      if (!kind) {
        errors.push({ Name: id, Arn: `arn:aws:application-signals:us-east-1:${account}:slo/${id}`, ErrorCode: 'ResourceNotFoundException', ErrorMessage: `SLO ${id} does not exist` });
        continue;
      }
      const b = budgets[kind] ?? { status: 'OK', attainment: 99.99, remaining: 90, total: 100 };
      reports.push({
        Arn: `arn:aws:application-signals:us-east-1:${account}:slo/${id}`,
        Name: id,
        EvaluationType: b.evaluation ?? 'RequestBased',
        BudgetStatus: b.status,
        Attainment: b.attainment,
        TotalBudgetRequests: b.total,
        BudgetRequestsRemaining: b.remaining,
        Goal: { AttainmentGoal: b.goal ?? h.config.serviceLevelObjectives[kind].goal * 100 },
      });
    }
    return { Timestamp: input.Timestamp, Reports: reports, Errors: errors };
  });
}

const APPROVED = { allowed: true, approver: '@alice', as: '@bodyscript/platform', review: 'https://github.com/o/r/pull/7#pullrequestreview-1', pullRequest: 7, reason: 'the fix for the 5xx that spent the budget' };

describe('ops slo', () => {
  test('asks for every SLO of the environment by name, at the clock’s time, in the primary region, and prints each budget', async () => {
    const h = harness('production');
    applicationSignals(h, { apiLatency: { status: 'WARNING', attainment: 99.4, remaining: 40, total: 100 } });
    const result = await runSlo(h.ctx, { deployGate: false });
    expect(result.exitCode).toBe(ExitCode.OK);
    const [call] = h.mocks.primary.applicationSignals.commandCalls(BatchGetServiceLevelObjectiveBudgetReportCommand);
    expect(call.args[0].input.SloIds).toEqual(SLO_KINDS.map((k) => serviceLevelObjectiveName('production', k)));
    expect(call.args[0].input.Timestamp).toEqual(new Date(h.clock.now()));
    expect(h.mocks.standby.applicationSignals.calls()).toHaveLength(0);
    expect(result.budgets.map((b) => [b.kind, b.state, b.budgetLeft])).toEqual([
      ['apiAvailability', 'ok', 0.9],
      ['apiLatency', 'warning', 0.4],
      ['processingFreshness', 'ok', 0.9],
      ['webAppCanary', 'ok', 0.9],
    ]);
    expect(h.out.text()).toMatch(/WARNING\s+api latency\s+goal 99%\s+attainment 99\.400%\s+budget left 40\.0% \(40 of 100 failed events left\)\s+\[bodyscript-production-api-latency\]/);
  });

  test('exit 1 when a budget is exhausted, by the status or by the report’s own count', async () => {
    for (const budget of [{ status: 'BREACHED', attainment: 99.85, remaining: -50, total: 100 }, { status: 'WARNING', attainment: 99.9, remaining: 0, total: 100 }] as Budget[]) {
      const h = harness('production');
      applicationSignals(h, { apiAvailability: budget });
      const result = await runSlo(h.ctx, { deployGate: false });
      expect(result.exitCode).toBe(ExitCode.UNHEALTHY);
      expect(result.budgets[0].state).toBe('exhausted');
      expect(h.out.text()).toContain('budget exhausted: api availability');
    }
  });

  test('an SLO that counted no event in its window (INSUFFICIENT_DATA) has spent nothing: reported, not refused', async () => {
    const h = harness('production');
    applicationSignals(h, { processingFreshness: { status: 'INSUFFICIENT_DATA' } });
    const result = await runSlo(h.ctx, { deployGate: true });
    expect([result.exitCode, result.deploy, result.budgets[2].state]).toEqual([ExitCode.OK, true, 'no-data']);
    expect(h.out.text()).toContain('no data (nothing spent, nothing measured): processing freshness.');
    expect(h.out.text()).toMatch(/if there were events, the SLI reads a metric that does not exist/);
  });

  test('fails closed: an SLO that does not exist, a period-based report or an unknown status is unreadable, exit 4', async () => {
    const cases: [Partial<Record<SloKind, Budget>>, readonly SloKind[], RegExp][] = [
      [{}, ['apiAvailability', 'apiLatency', 'webAppCanary'], /ResourceNotFoundException: SLO bodyscript-production-processing-freshness does not exist/],
      [{ apiLatency: { status: 'OK', attainment: 100, remaining: 5, total: 5, evaluation: 'PeriodBased' } }, SLO_KINDS, /is PeriodBased, expected a request-based SLO/],
      [{ apiLatency: { status: 'SOMETHING_NEW' as never } }, SLO_KINDS, /unknown budget status SOMETHING_NEW/],
    ];
    for (const [budgets, existing, message] of cases) {
      const h = harness('production');
      applicationSignals(h, budgets, existing);
      const result = await runSlo(h.ctx, { deployGate: false });
      expect(result.exitCode).toBe(ExitCode.AWS_ERROR);
      expect(h.out.text()).toMatch(message);
      expect(h.out.text()).toContain('budget unreadable');
    }
  });

  test('access denied or the wrong account stops before any decision: exit 4, naming the action', async () => {
    const h = harness('production');
    h.mocks.primary.applicationSignals.on(BatchGetServiceLevelObjectiveBudgetReportCommand).rejects(awsError('AccessDeniedException', 'not authorized'));
    await expect(runSlo(h.ctx, { deployGate: true, override: APPROVED })).rejects.toMatchObject({ exitCode: ExitCode.AWS_ERROR, message: expect.stringMatching(/application-signals:BatchGetServiceLevelObjectiveBudgetReport/) });

    const other = harness('production');
    other.mocks.primary.sts.on(GetCallerIdentityCommand).resolves({ Account: '999999999999', Arn: 'arn:aws:sts::999999999999:assumed-role/X/y' });
    applicationSignals(other, {});
    await expect(runSlo(other.ctx, { deployGate: false })).rejects.toMatchObject({ exitCode: ExitCode.AWS_ERROR });
    expect(other.mocks.primary.applicationSignals.calls()).toHaveLength(0);
  });

  test('a throttled report is retried', async () => {
    const h = harness('production');
    applicationSignals(h, {}, SLO_KINDS, 2);
    const result = await runSlo(h.ctx, { deployGate: false });
    expect(h.mocks.primary.applicationSignals.commandCalls(BatchGetServiceLevelObjectiveBudgetReportCommand)).toHaveLength(3);
    expect(result.exitCode).toBe(ExitCode.OK);
  });

  describe('--deploy-gate', () => {
    test('deploys when every budget has room, and says so', async () => {
      const h = harness('production');
      applicationSignals(h, {});
      const result = await runSlo(h.ctx, { deployGate: true });
      expect([result.exitCode, result.deploy]).toEqual([ExitCode.OK, true]);
      expect(h.out.text()).toContain('decision: deploy: every error budget has room.');
    });

    test('refuses on a spent budget without an override, or with one that allows nothing', async () => {
      for (const override of [undefined, { allowed: false, reason: 'no approving review says "error-budget override: <reason>"' }]) {
        const h = harness('production');
        applicationSignals(h, { apiAvailability: { status: 'BREACHED', attainment: 99.8, remaining: -10, total: 100 } });
        const result = await runSlo(h.ctx, { deployGate: true, override });
        expect([result.exitCode, result.deploy]).toEqual([ExitCode.UNHEALTHY, false]);
        expect(h.out.text()).toMatch(/decision: refuse to deploy: budget exhausted: api availability; no override: /);
      }
    });

    test('deploys on a spent budget with a code owner’s override, printing the approver, the review and the reason', async () => {
      const h = harness('production');
      applicationSignals(h, { apiAvailability: { status: 'BREACHED', attainment: 99.8, remaining: -10, total: 100 } });
      const result = await runSlo(h.ctx, { deployGate: true, override: APPROVED });
      expect([result.exitCode, result.deploy]).toEqual([ExitCode.OK, true]);
      expect(h.out.text()).toContain(
        'decision: deploy although budget exhausted: api availability: override approved by @alice (code owner as @bodyscript/platform) on pull request #7 (https://github.com/o/r/pull/7#pullrequestreview-1): "the fix for the 5xx that spent the budget".',
      );
    });

    test('an unreadable budget refuses like a spent one (exit 4) unless overridden', async () => {
      const h = harness('production');
      applicationSignals(h, {}, []);
      expect((await runSlo(h.ctx, { deployGate: true })).exitCode).toBe(ExitCode.AWS_ERROR);
      const o = harness('production');
      applicationSignals(o, {}, []);
      expect((await runSlo(o.ctx, { deployGate: true, override: APPROVED })).deploy).toBe(true);
    });
  });

  test('reads the override only as exactly what the override job writes; anything else is no override', () => {
    expect(parseOverride(undefined)).toBeUndefined();
    expect(parseOverride('')).toBeUndefined();
    expect(parseOverride(JSON.stringify(APPROVED))).toEqual(APPROVED);
    expect(parseOverride('{"allowed": true')).toMatchObject({ allowed: false, reason: expect.stringMatching(/not JSON/) });
    expect(parseOverride('{"allowed": "yes", "reason": "x"}')).toMatchObject({ allowed: false });
    expect(parseOverride('{"allowed": true, "reason": "because"}')).toMatchObject({ allowed: false, reason: expect.stringMatching(/without naming its approver/) });
  });

  test('the CLI: `slo --env production --deploy-gate` reads ERROR_BUDGET_OVERRIDE from the environment; a label or a flag cannot override', async () => {
    const out = captureOutput();
    const clock = fakeClock();
    const { clients, mocks } = mockedClients(clock);
    const config = loadConfig();
    mocks.primary.sts.on(GetCallerIdentityCommand).resolves({ Account: config.environments.production.primary.account, Arn: 'arn:aws:sts::x:assumed-role/L/s' });
    mocks.primary.applicationSignals.on(BatchGetServiceLevelObjectiveBudgetReportCommand).callsFake((input: BatchGetServiceLevelObjectiveBudgetReportCommandInput) => ({
      Timestamp: input.Timestamp,
      Reports: input.SloIds!.map((Name) => ({ Name, Arn: `arn:x:slo/${Name}`, EvaluationType: 'RequestBased', BudgetStatus: 'BREACHED', BudgetRequestsRemaining: -1, TotalBudgetRequests: 10 })),
      Errors: [],
    }));
    const deps = { out, clock, createClients: () => clients, retry: FAST_RETRY };
    expect(await runCli(['slo', '--env', 'production', '--deploy-gate'], { ...deps, environment: { ERROR_BUDGET_OVERRIDE: JSON.stringify(APPROVED) } })).toBe(ExitCode.OK);
    expect(await runCli(['slo', '--env', 'production', '--deploy-gate'], { ...deps, environment: {} })).toBe(ExitCode.UNHEALTHY);
    // Without --deploy-gate the override is not even read: the report alone decides the exit code.
    expect(await runCli(['slo', '--env', 'production'], { ...deps, environment: { ERROR_BUDGET_OVERRIDE: JSON.stringify(APPROVED) } })).toBe(ExitCode.UNHEALTHY);
    expect(await runCli(['slo', '--env', 'production', '--override', '@alice'], { ...deps, environment: {} })).toBe(ExitCode.USAGE);
  });
});
