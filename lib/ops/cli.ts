import { type BodyScriptConfig, ConfigError, ENVIRONMENT_NAMES, type EnvironmentConfig, type EnvironmentName, loadConfig } from '../config';
import { releaseSnapshotIdentifier, SERVICE_NAMES, type ServiceName } from '../naming';
import { OpsError } from './aws-errors';
import type { ClientOptions, OpsClients } from './clients';
import { type Fetch, githubRunFrom, runDelivery } from './commands/delivery';
import { runPlan } from './commands/plan';
import { runPreflight } from './commands/preflight';
import { DEFAULT_ROLLBACK_TIMEOUT_MINUTES, runRollbacks } from './commands/rollback';
import { parseOverride, runSlo } from './commands/slo';
import { DEFAULT_SNAPSHOT_TIMEOUT_MINUTES, runSnapshot } from './commands/snapshot';
import { DEFAULT_KEEP_TASK_DEFINITIONS, MAX_KEEP_TASK_DEFINITIONS, runTaskDefinitions } from './commands/task-definitions';
import { DEFAULT_VERIFY_TIMEOUT_MINUTES, runVerify } from './commands/verify';
import { createContext } from './context';
import { runDeployCheck } from './dr/deploy-check';
import { runFailback } from './dr/failback';
import { runFailover } from './dr/failover';
import { runDrStatus } from './dr/status';
import { ExitCode } from './exit-codes';
import { EXPECT_DEPLOYED, type ExpectDeployed } from './preflight/stacks';
import type { Clock, Output } from './progress';
import type { RetryOptions } from './retry';

/**
 * Argument parsing and dispatch of `npm run ops`. Hand-written rather than a
 * generic parser so that every mistake gets one line naming the flag and the
 * allowed values, and so that nothing is done before all arguments are valid.
 */

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'plan'; readonly env: EnvironmentName; readonly verifyTimeoutMinutes: number }
  | { readonly name: 'verify'; readonly env: EnvironmentName; readonly timeoutMinutes: number }
  | { readonly name: 'rollback'; readonly env: EnvironmentName; readonly services: readonly ServiceName[]; readonly execute: boolean; readonly timeoutMinutes: number }
  | { readonly name: 'snapshot'; readonly env: EnvironmentName; readonly release: string; readonly execute: boolean; readonly timeoutMinutes: number; readonly wait: boolean }
  | { readonly name: 'task-definitions'; readonly env: EnvironmentName; readonly keep: number; readonly execute: boolean }
  | { readonly name: 'delivery'; readonly env: EnvironmentName; readonly execute: boolean }
  | { readonly name: 'slo'; readonly env: EnvironmentName; readonly deployGate: boolean }
  | { readonly name: 'dr status'; readonly env: EnvironmentName }
  | { readonly name: 'dr failover'; readonly env: EnvironmentName; readonly execute: boolean; readonly confirm?: string; readonly reportDir: string; readonly drill: boolean; readonly timeoutMinutes?: number }
  | { readonly name: 'dr failback'; readonly env: EnvironmentName; readonly execute: boolean; readonly confirm?: string; readonly moveTraffic: boolean }
  | { readonly name: 'dr deploy-check'; readonly env: EnvironmentName; readonly allowWhileFailedOver: boolean }
  | {
      readonly name: 'preflight';
      readonly env: EnvironmentName;
      readonly assemblyDir: string;
      readonly expectDeployed?: ExpectDeployed;
      readonly githubProfile?: string;
    };

/** Where `cdk synth` writes the cloud assembly, and where the pipelines download it. */
export const DEFAULT_ASSEMBLY_DIR = 'cdk.out';

export const USAGE = `Usage: npm run ops -- <command> --env <${ENVIRONMENT_NAMES.join('|')}> [options]

Commands:
  plan        --env E [--verify-timeout-minutes N]   the time budget of a release and of a rollback against the product's figures (no AWS call)
  preflight   --env E [--assembly DIR] [--expect-deployed <${EXPECT_DEPLOYED.join('|')}>] [--github-profile P]
                                                     every prerequisite of a deploy (bootstrap and --trust, stacks, roles, images,
                                                     Sentry secret, quotas), each checked; read-only
  verify      --env E [--timeout-minutes N]          alarms OK, last deployments succeeded, canaries passing (polls; default ${DEFAULT_VERIFY_TIMEOUT_MINUTES} min, 0 = check once)
  rollback    --env E --service <${SERVICE_NAMES.join('|')}|all> [--execute] [--timeout-minutes N]
                                                     stop the deployment in progress, or redeploy the previous revision (all: both side by side); then verify
  snapshot    --env E --release R [--execute] [--timeout-minutes N] [--no-wait]
                                                     manual RDS snapshot named after the release, then release snapshots pruned
                                                     by the rule (config database.releaseSnapshots); --no-wait only starts it
  task-definitions --env E [--keep N] [--execute]    deregister replaced task definition revisions beyond the newest N (default ${DEFAULT_KEEP_TASK_DEFINITIONS}) and those running
  delivery    --env E [--execute]                    publish this GitHub Actions run's durations and outcome as BodyScript/Delivery metrics
                                                     (reads GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_TOKEN; the job needs actions: read)
  slo         --env E [--deploy-gate]                each SLO's attainment and error budget left (Application Signals budget report);
                                                     exit 1 when a budget is exhausted, 4 when one cannot be read; --deploy-gate
                                                     decides a production deploy, honouring a code owner's override (ERROR_BUDGET_OVERRIDE)
  dr status   --env E                                Region switch plan, its evaluation and its failover/failback workflows,
                                                     failed-over marker, replica lag, bucket replication, standby readiness
  dr failover --env E [--execute --confirm E] [--drill] [--report-dir DIR] [--timeout-minutes N]
                                                     run the Region switch plan from the recovery region (graceful with --drill),
                                                     follow it, finish what it cannot, report RTO and data loss; --timeout-minutes
                                                     bounds the whole run (a re-run follows the same execution)
  dr failback --env E [--move-traffic] [--execute --confirm E]
                                                     print the steps back to the primary region; --execute only clears the
                                                     failed-over marker, once the primary database is writable again;
                                                     --move-traffic (with a domain) moves the api back by the Region switch
                                                     plan's failback workflow, run in the primary region (a dry run without
                                                     --execute; refused while the marker exists or the database is not back)
  dr deploy-check --env E [--allow-while-failed-over --confirm E]
                                                     exit 1 while the environment is failed over (the deploy workflows
                                                     run it before cdk deploy); reads the marker in the standby region
  help                                               this text

Commands that change something are dry runs unless --execute is given.
Exit codes: 0 healthy/done, 1 unhealthy or failed, 2 bad arguments, 3 timed out, 4 AWS error (access, credentials, missing resource, throttling).`;

type FlagKind = 'env' | 'boolean' | 'string' | { readonly integer: [number, number] } | { readonly oneOf: readonly string[] };

const COMMAND_FLAGS: Record<Exclude<Command['name'], 'help'>, Record<string, FlagKind>> = {
  plan: { env: 'env', 'verify-timeout-minutes': { integer: [0, 180] } },
  preflight: { env: 'env', assembly: 'string', 'expect-deployed': { oneOf: EXPECT_DEPLOYED }, 'github-profile': 'string' },
  verify: { env: 'env', 'timeout-minutes': { integer: [0, 180] } },
  rollback: { env: 'env', service: { oneOf: [...SERVICE_NAMES, 'all'] }, execute: 'boolean', 'timeout-minutes': { integer: [1, 120] } },
  snapshot: { env: 'env', release: 'string', execute: 'boolean', 'timeout-minutes': { integer: [1, 240] }, 'no-wait': 'boolean' },
  'task-definitions': { env: 'env', keep: { integer: [1, MAX_KEEP_TASK_DEFINITIONS] }, execute: 'boolean' },
  delivery: { env: 'env', execute: 'boolean' },
  slo: { env: 'env', 'deploy-gate': 'boolean' },
  'dr status': { env: 'env' },
  'dr failover': { env: 'env', execute: 'boolean', confirm: 'string', 'report-dir': 'string', drill: 'boolean', 'timeout-minutes': { integer: [10, 600] } },
  'dr failback': { env: 'env', execute: 'boolean', confirm: 'string', 'move-traffic': 'boolean' },
  'dr deploy-check': { env: 'env', 'allow-while-failed-over': 'boolean', confirm: 'string' },
};

function usageError(message: string): OpsError {
  return new OpsError('usage', message);
}

function parseFlags(command: keyof typeof COMMAND_FLAGS, args: string[]): Map<string, string | boolean> {
  const spec = COMMAND_FLAGS[command];
  const allowed = Object.keys(spec).map((f) => `--${f}`).join(', ');
  const values = new Map<string, string | boolean>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw usageError(`unexpected argument '${arg}' for '${command}'; allowed flags: ${allowed}`);
    const eq = arg.indexOf('=');
    const flag = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = spec[flag];
    if (!kind) throw usageError(`unknown flag --${flag} for '${command}'; allowed flags: ${allowed}`);
    if (values.has(flag)) throw usageError(`--${flag} is given more than once`);
    if (kind === 'boolean') {
      if (eq !== -1) throw usageError(`--${flag} takes no value, got '${arg.slice(eq + 1)}'`);
      values.set(flag, true);
      continue;
    }
    let value: string | undefined = eq === -1 ? args[i + 1] : arg.slice(eq + 1);
    if (eq === -1) {
      if (value === undefined || value.startsWith('--')) value = undefined;
      else i++;
    }
    if (value === undefined || value === '') throw usageError(`--${flag} needs a value${describeAllowed(kind)}`);
    values.set(flag, value);
  }
  return values;
}

function describeAllowed(kind: FlagKind): string {
  if (kind === 'env') return `: one of ${ENVIRONMENT_NAMES.join(', ')}`;
  if (typeof kind === 'object' && 'oneOf' in kind) return `: one of ${kind.oneOf.join(', ')}`;
  if (typeof kind === 'object' && 'integer' in kind) return `: an integer ${kind.integer[0]}–${kind.integer[1]}`;
  return '';
}

function requireEnv(values: Map<string, string | boolean>): EnvironmentName {
  const value = values.get('env');
  if (value === undefined) throw usageError(`--env is required: one of ${ENVIRONMENT_NAMES.join(', ')}`);
  if (!ENVIRONMENT_NAMES.includes(value as EnvironmentName)) {
    throw usageError(`--env must be one of ${ENVIRONMENT_NAMES.join(', ')}, got '${String(value)}'`);
  }
  return value as EnvironmentName;
}

function integerFlag(values: Map<string, string | boolean>, flag: string, range: [number, number], fallback: number): number {
  const value = values.get(flag);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < range[0] || n > range[1]) {
    throw usageError(`--${flag} must be an integer ${range[0]}–${range[1]}, got '${String(value)}'`);
  }
  return n;
}

/** Parses argv (without `node` and the script). Throws an OpsError of kind 'usage' on any mistake. */
export function parseArgs(argv: string[]): Command {
  const [first, second] = argv;
  if (first === undefined) throw usageError('no command given');
  if (first === 'help' || first === '--help' || first === '-h') return { name: 'help' };
  let command: keyof typeof COMMAND_FLAGS;
  let rest: string[];
  if (first === 'dr') {
    if (second !== 'status' && second !== 'failover' && second !== 'failback' && second !== 'deploy-check') {
      throw usageError(`'dr' needs a subcommand: one of status, failover, failback, deploy-check${second ? `, got '${second}'` : ''}`);
    }
    command = `dr ${second}`;
    rest = argv.slice(2);
  } else if (
    first === 'plan' ||
    first === 'preflight' ||
    first === 'verify' ||
    first === 'rollback' ||
    first === 'snapshot' ||
    first === 'task-definitions' ||
    first === 'delivery' ||
    first === 'slo'
  ) {
    command = first;
    rest = argv.slice(1);
  } else {
    throw usageError(`unknown command '${first}': one of plan, preflight, verify, rollback, snapshot, task-definitions, delivery, slo, dr status, dr failover, dr failback, dr deploy-check, help`);
  }
  const values = parseFlags(command, rest);
  const env = requireEnv(values);
  const execute = values.get('execute') === true;
  switch (command) {
    case 'plan':
      return { name: command, env, verifyTimeoutMinutes: integerFlag(values, 'verify-timeout-minutes', [0, 180], DEFAULT_VERIFY_TIMEOUT_MINUTES) };
    case 'verify':
      return { name: command, env, timeoutMinutes: integerFlag(values, 'timeout-minutes', [0, 180], DEFAULT_VERIFY_TIMEOUT_MINUTES) };
    case 'rollback': {
      const service = values.get('service');
      if (service === undefined) throw usageError(`--service is required: one of ${SERVICE_NAMES.join(', ')}, all`);
      if (service !== 'all' && !SERVICE_NAMES.includes(service as ServiceName)) throw usageError(`--service must be one of ${SERVICE_NAMES.join(', ')}, all, got '${String(service)}'`);
      return {
        name: command,
        env,
        services: service === 'all' ? SERVICE_NAMES : [service as ServiceName],
        execute,
        timeoutMinutes: integerFlag(values, 'timeout-minutes', [1, 120], DEFAULT_ROLLBACK_TIMEOUT_MINUTES),
      };
    }
    case 'snapshot': {
      const release = values.get('release');
      if (typeof release !== 'string') throw usageError(`--release is required: the release being deployed, e.g. --release v1.2.3`);
      try {
        releaseSnapshotIdentifier(env, release);
      } catch (error) {
        throw usageError(`--release ${error instanceof Error ? error.message : String(error)}`);
      }
      return { name: command, env, release, execute, timeoutMinutes: integerFlag(values, 'timeout-minutes', [1, 240], DEFAULT_SNAPSHOT_TIMEOUT_MINUTES), wait: values.get('no-wait') !== true };
    }
    case 'task-definitions':
      return { name: command, env, execute, keep: integerFlag(values, 'keep', [1, MAX_KEEP_TASK_DEFINITIONS], DEFAULT_KEEP_TASK_DEFINITIONS) };
    case 'delivery':
      return { name: command, env, execute };
    case 'slo':
      return { name: command, env, deployGate: values.get('deploy-gate') === true };
    case 'dr failover': {
      const confirm = values.get('confirm');
      const reportDir = values.get('report-dir');
      return {
        name: command,
        env,
        execute,
        confirm: typeof confirm === 'string' ? confirm : undefined,
        reportDir: typeof reportDir === 'string' ? reportDir : 'reports',
        drill: values.get('drill') === true,
        timeoutMinutes: values.has('timeout-minutes') ? integerFlag(values, 'timeout-minutes', [10, 600], 0) : undefined,
      };
    }
    case 'dr failback': {
      const confirm = values.get('confirm');
      return { name: command, env, execute, confirm: typeof confirm === 'string' ? confirm : undefined, moveTraffic: values.get('move-traffic') === true };
    }
    case 'preflight': {
      const expectDeployed = values.get('expect-deployed');
      if (expectDeployed !== undefined && !EXPECT_DEPLOYED.includes(expectDeployed as ExpectDeployed)) {
        throw usageError(`--expect-deployed must be one of ${EXPECT_DEPLOYED.join(', ')}, got '${String(expectDeployed)}'`);
      }
      const assembly = values.get('assembly');
      const githubProfile = values.get('github-profile');
      return {
        name: command,
        env,
        assemblyDir: typeof assembly === 'string' ? assembly : DEFAULT_ASSEMBLY_DIR,
        expectDeployed: expectDeployed as ExpectDeployed | undefined,
        githubProfile: typeof githubProfile === 'string' ? githubProfile : undefined,
      };
    }
    case 'dr status':
      return { name: command, env };
    case 'dr deploy-check': {
      const allowWhileFailedOver = values.get('allow-while-failed-over') === true;
      const confirm = values.get('confirm');
      // The override is a deliberate act: the environment typed again, as for a failover.
      if (allowWhileFailedOver && confirm !== env) {
        throw usageError(`--allow-while-failed-over needs --confirm ${env} (the environment name typed again)${typeof confirm === 'string' ? `, got '${confirm}'` : ''}`);
      }
      if (!allowWhileFailedOver && confirm !== undefined) throw usageError('--confirm is only used with --allow-while-failed-over');
      return { name: command, env, allowWhileFailedOver };
    }
  }
}

/** What bin/ops.ts wires in: real clients and clock there, mocks and a fake clock in tests. */
export interface CliDependencies {
  readonly out: Output;
  readonly clock: Clock;
  readonly createClients: (config: EnvironmentConfig, options?: ClientOptions) => OpsClients;
  readonly loadConfig?: () => BodyScriptConfig;
  readonly retry?: RetryOptions;
  /** Poll interval override for tests (seconds). */
  readonly intervalSeconds?: number;
  /** The process environment (`ops delivery` reads the GitHub Actions run from it, `ops slo --deploy-gate` the override). @default - none: delivery refuses to run, slo sees no override */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** HTTP client for the GitHub API (`ops delivery`). @default globalThis.fetch */
  readonly fetch?: Fetch;
}

export async function runCli(argv: string[], deps: CliDependencies): Promise<ExitCode> {
  let command: Command;
  try {
    command = parseArgs(argv);
  } catch (error) {
    deps.out.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof OpsError && /^(no command|unknown command)/.test(error.message)) deps.out.error(USAGE);
    else deps.out.error(`run 'npm run ops -- help' for usage`);
    return ExitCode.USAGE;
  }
  if (command.name === 'help') {
    deps.out.line(USAGE);
    return ExitCode.OK;
  }

  let loaded: BodyScriptConfig;
  try {
    loaded = (deps.loadConfig ?? (() => loadConfig()))();
  } catch (error) {
    if (error instanceof ConfigError) {
      deps.out.error(`error: the configuration is invalid:`);
      for (const problem of error.problems) deps.out.error(`  ${problem}`);
      return ExitCode.USAGE;
    }
    throw error;
  }

  const config = loaded.environments[command.env];
  if (command.name === 'plan') return runPlan(config, deps.out, command.verifyTimeoutMinutes).exitCode;

  const interval = deps.intervalSeconds;
  try {
    const clients = deps.createClients(config, command.name === 'preflight' ? { githubProfile: command.githubProfile } : {});
    const ctx = createContext({ env: command.env, config, clients, clock: deps.clock, out: deps.out, retry: deps.retry });
    switch (command.name) {
      case 'preflight':
        return (await runPreflight(ctx, { project: loaded.project, assemblyDir: command.assemblyDir, expectDeployed: command.expectDeployed })).exitCode;
      case 'verify':
        return (await runVerify(ctx, { timeoutMinutes: command.timeoutMinutes, intervalSeconds: interval })).exitCode;
      case 'rollback':
        return (await runRollbacks(ctx, { services: command.services, execute: command.execute, timeoutMinutes: command.timeoutMinutes, intervalSeconds: interval })).exitCode;
      case 'snapshot':
        return (await runSnapshot(ctx, { release: command.release, execute: command.execute, timeoutMinutes: command.timeoutMinutes, intervalSeconds: interval, wait: command.wait })).exitCode;
      case 'task-definitions':
        return (await runTaskDefinitions(ctx, { keep: command.keep, execute: command.execute })).exitCode;
      case 'delivery':
        // The run's variables are checked before any call: a missing token is a usage error (exit 2).
        return (await runDelivery(ctx, { github: githubRunFrom(deps.environment ?? {}), execute: command.execute, fetch: deps.fetch ?? (globalThis.fetch as unknown as Fetch) })).exitCode;
      case 'slo':
        return (await runSlo(ctx, { deployGate: command.deployGate, override: command.deployGate ? parseOverride(deps.environment?.ERROR_BUDGET_OVERRIDE) : undefined })).exitCode;
      case 'dr status':
        return (await runDrStatus(ctx)).exitCode;
      case 'dr failover':
        return (await runFailover(ctx, { execute: command.execute, confirm: command.confirm, reportDir: command.reportDir, drill: command.drill, timeoutMinutes: command.timeoutMinutes, intervalSeconds: interval })).exitCode;
      case 'dr failback':
        return (await runFailback(ctx, { execute: command.execute, confirm: command.confirm, moveTraffic: command.moveTraffic, intervalSeconds: interval })).exitCode;
      case 'dr deploy-check':
        return (await runDeployCheck(ctx, { allowWhileFailedOver: command.allowWhileFailedOver })).exitCode;
    }
  } catch (error) {
    if (error instanceof OpsError) {
      deps.out.error(`error: ${error.message}`);
      if (error.exitCode !== ExitCode.USAGE) deps.out.error(`stopped: no further step was taken.`);
      return error.exitCode;
    }
    // Anything else is a bug in this tool, never a success.
    deps.out.error(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return ExitCode.UNHEALTHY;
  }
}
