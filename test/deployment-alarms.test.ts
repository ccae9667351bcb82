import { CANARY_INTERVAL } from '../constructs/health-check-canary';
import { MAX_CRASH_LOOP_DETECTION_TIME, MAX_DETECTION_TIME, WORKER_MIN_JOBS_PER_HOUR } from '../constructs/rollback-alarms';
import { loadConfig } from '../lib/config';
import { MIN_BAD_REQUESTS_PER_MINUTE } from '../lib/low-traffic';
import { ENVIRONMENT_NAMES, TRAFFIC_SHIFT_MINUTES } from '../lib/config/schema';
import { canaryName, stackNames } from '../lib/naming';
import { type Behaviour, firstAlarm, readAlarms, type ServiceWorld, simulate, type TemplateAlarm } from './support/alarm-simulation';
import { templateJson } from './support/assembly';

/**
 * Every alarm a deployment watches can fire at the service's real traffic, and
 * a broken release is caught in time, computed from the synthesized templates
 * and config: the alarms are read from each Services template, run against
 * metrics simulated the way AWS publishes them (test/support/alarm-simulation.ts,
 * on the documented CloudWatch evaluation rules of test/support/cloudwatch-model.ts).
 *
 * Real traffic is the quietest an environment gets: no user at all, only the
 * services' health-check canaries (their requests per run, one run per
 * CANARY_INTERVAL, read from the template) and, for the
 * worker, the fewest jobs it finishes while videos wait (minTasks × 2 an hour).
 */
const config = loadConfig({});
const CANARY_RUNS_PER_MINUTE = 60 / CANARY_INTERVAL.toSeconds();

/** Requests a minute the service's health-check canary sends, from the Services template (its REQUESTS_PER_RUN × runs a minute). */
function canaryRequestsPerMinute(env: (typeof ENVIRONMENT_NAMES)[number], service: 'api' | 'processing'): number {
  const resources = templateJson(`${stackNames.application(env)}-Services`).Resources;
  const canaries = Object.values(resources).filter((r) => r.Type === 'AWS::Synthetics::Canary' && r.Properties?.Name === canaryName(env, service));
  if (canaries.length !== 1) throw new Error(`no canary ${canaryName(env, service)} in the Services template of ${env}`);
  const variables = (canaries[0].Properties!.RunConfig as { EnvironmentVariables: Record<string, string> }).EnvironmentVariables;
  return Number(variables.REQUESTS_PER_RUN) * CANARY_RUNS_PER_MINUTE;
}
/** ALB and most AWS metrics arrive about a minute after the minute they describe. */
const DELAY = 1;

type Service = 'Api' | 'Processing';
type Scenario = 'healthy' | 'crash' | 'hang' | 'errors' | 'slow' | 'crash-before-shift' | 'failing-jobs';

interface WorldOptions {
  readonly requestsPerMinute: number;
  readonly minTasks: number;
  readonly jobsPerHour?: number;
  /** Minutes (from 0) in which one canary run fails although the release is healthy. */
  readonly flakyCanaryMinutes?: number[];
  /** Responses a minute slower than the latency objective although the release is healthy (cold requests); all are slow in a 'slow' release. */
  readonly coldRequestsPerMinute?: number;
  /** Requests a minute a healthy release answers with a 5xx (a dropped connection, one bad input); all of them in an 'errors' release. */
  readonly serverErrorsPerMinute?: number;
}

/** The service before minute 0 is healthy; from minute 0 the release does what the scenario says. */
function world(scenario: Scenario, options: WorldOptions): ServiceWorld {
  const after = (minute: number) => minute >= 0;
  const behaviour = (minute: number): Behaviour => {
    if (!after(minute)) return 'healthy';
    return ({ healthy: 'healthy', crash: 'crash', hang: 'hang', errors: 'errors', slow: 'slow', 'crash-before-shift': 'healthy', 'failing-jobs': 'healthy' } as const)[scenario];
  };
  const healthy = { healthy: options.minTasks, unhealthy: 0 };
  const none = { healthy: 0, unhealthy: 0 };
  const jobEvery = options.jobsPerHour ? 60 / options.jobsPerHour : undefined;
  return {
    requestsPerMinute: options.requestsPerMinute,
    behaviour,
    targets: (minute) => {
      if (!after(minute)) return { blue: healthy, green: none };
      if (scenario === 'crash') return { blue: none, green: none };
      if (scenario === 'hang') return { blue: { healthy: 0, unhealthy: options.minTasks }, green: none };
      return { blue: healthy, green: none };
    },
    // A crashing release: ECS starts replacements, which fail again, in two of every three minutes.
    failedTasks: (minute) => (after(minute) && (scenario === 'crash' || scenario === 'crash-before-shift') && minute % 3 !== 2 ? 1 : 0),
    canaryRuns: (minute) => {
      const b = behaviour(minute);
      const flaky = options.flakyCanaryMinutes?.includes(minute) ?? false;
      return Array.from({ length: CANARY_RUNS_PER_MINUTE }, () => !flaky && (b === 'healthy' || b === 'slow'));
    },
    jobs: (minute) => {
      if (!jobEvery || minute % jobEvery !== 0) return { processed: 0, failed: 0 };
      return after(minute) && scenario === 'failing-jobs' ? { processed: 0, failed: 1 } : { processed: 1, failed: 0 };
    },
    queue: () => ({ visible: 0, deleted: 0, runningTasks: options.minTasks }),
    metrics: {
      ...(options.coldRequestsPerMinute
        ? {
            // A healthy release whose first responses of every minute are cold: slower than the objective (1.5 s), the rest 50 ms.
            'AWS/ApplicationELB/TargetResponseTime': (minute: number) =>
              Array.from({ length: options.requestsPerMinute }, (_, i) => (behaviour(minute) === 'slow' || i < options.coldRequestsPerMinute! ? 1.5 : 0.05)),
          }
        : {}),
      ...(options.serverErrorsPerMinute
        ? {
            // A healthy release that answers a few requests of every minute with a 5xx.
            'AWS/ApplicationELB/HTTPCode_Target_5XX_Count': (minute: number) => [behaviour(minute) === 'errors' ? options.requestsPerMinute : options.serverErrorsPerMinute!],
          }
        : {}),
    },
  };
}

/**
 * What each service's deployment watches: the api's CodeDeploy deployment group
 * (alarms by Ref) for its traffic shift and termination wait, the worker's ECS
 * rolling update (deployment alarms by literal name). ECS watches those while
 * the new tasks start (a crashing or hanging release never reaches steady state,
 * so it is watched until an alarm or the circuit breaker decides) and for a bake
 * time as long as the longest alarm's evaluation, which the release budget holds
 * to MAX_DETECTION_TIME.
 */
function deploymentGroups(env: (typeof ENVIRONMENT_NAMES)[number]) {
  const stack = `${stackNames.application(env)}-Services`;
  const resources = templateJson(stack).Resources;
  const alarms = readAlarms(stack, resources);
  const byLogicalId = new Map(alarms.map((a) => [a.logicalId, a]));
  const byName = new Map(alarms.map((a) => [a.name, a]));
  const find = (where: string, name: unknown) => {
    const alarm = typeof name === 'string' ? byName.get(name) : byLogicalId.get((name as { Ref: string }).Ref);
    if (!alarm) throw new Error(`${stack}/${where} watches ${JSON.stringify(name)}, which is not a metric alarm of the stack`);
    return alarm;
  };
  const serviceOf = (id: string): Service => (id.startsWith('Api') ? 'Api' : 'Processing');
  const codeDeploy = Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::CodeDeploy::DeploymentGroup')
    .map(([id, r]) => ({
      service: serviceOf(id),
      model: 'codedeploy' as const,
      watched: ((r.Properties!.AlarmConfiguration as { Alarms?: { Name: unknown }[] }).Alarms ?? []).map((a) => find(id, a.Name)),
    }));
  const ecs = Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::ECS::Service' && (r.Properties?.DeploymentConfiguration as { Alarms?: { Enable?: boolean } } | undefined)?.Alarms?.Enable)
    .map(([id, r]) => ({
      service: serviceOf(id),
      model: 'ecs' as const,
      watched: ((r.Properties!.DeploymentConfiguration as { Alarms: { AlarmNames: unknown[] } }).Alarms.AlarmNames ?? []).map((name) => find(id, name)),
    }));
  return [...codeDeploy, ...ecs];
}

const serviceKey = (service: Service) => (service === 'Api' ? 'api' : 'processing');
const detectionBoundMinutes = (alarm: TemplateAlarm) => (alarm.period / 60) * alarm.rule.evaluationPeriods + DELAY;
const firesAt = (alarm: TemplateAlarm, w: ServiceWorld, to: number, delay = DELAY) => firstAlarm(simulate(alarm, w, { publicationDelayMinutes: delay, from: 0, to }));

describe.each(ENVIRONMENT_NAMES)('deployment alarms of %s', (env) => {
  const groups = deploymentGroups(env);
  const environment = config.environments[env];
  const watchMinutes = TRAFFIC_SHIFT_MINUTES[environment.deployment.strategy] + environment.deployment.terminationWaitMinutes;
  const options = (service: Service): WorldOptions => ({
    requestsPerMinute: canaryRequestsPerMinute(env, serviceKey(service)),
    minTasks: environment.services[serviceKey(service)].minTasks,
    jobsPerHour: service === 'Processing' ? environment.services.processing.minTasks * WORKER_MIN_JOBS_PER_HOUR : undefined,
  });
  const scenarios = (service: Service): Scenario[] =>
    service === 'Api' ? ['crash', 'hang', 'errors', 'slow', 'crash-before-shift'] : ['crash', 'hang', 'crash-before-shift', 'failing-jobs'];

  test('each service has one deployment that watches alarms (the api CodeDeploy, the worker ECS), at most 10', () => {
    expect(groups.map((g) => `${g.service}:${g.model}`).sort()).toEqual(['Api:codedeploy', 'Processing:ecs']);
    for (const g of groups) expect(g.watched.length).toBeLessThanOrEqual(10);
  });

  test("the worker's deployment alarms each decide within MAX_DETECTION_TIME: ECS bakes as long as the longest, and every release waits for it", () => {
    const { watched } = groups.find((g) => g.service === 'Processing')!;
    const slow = watched.filter((a) => a.period * a.rule.evaluationPeriods > MAX_DETECTION_TIME.toSeconds()).map((a) => a.name);
    expect(slow).toEqual([]);
  });

  test.each<Service>(['Api', 'Processing'])('every alarm %s deployments watch fires on a broken release at the quietest real traffic, within its period × evaluation periods and the deployment window', (service) => {
    const { watched, model } = groups.find((g) => g.service === service)!;
    // A broken worker release never reaches steady state: ECS keeps watching until an alarm or the circuit breaker decides.
    const window = model === 'codedeploy' ? watchMinutes : 30;
    const silent: string[] = [];
    for (const alarm of watched) {
      const caught = scenarios(service).some((scenario) => {
        const minute = firesAt(alarm, world(scenario, options(service)), window);
        return minute !== undefined && minute <= detectionBoundMinutes(alarm) && minute <= window;
      });
      if (!caught) silent.push(`${alarm.name} (${alarm.logicalId})`);
    }
    expect(silent).toEqual([]);
  });

  test.each<[Service, Scenario, number]>([
    ['Api', 'crash', MAX_DETECTION_TIME.toMinutes()],
    ['Api', 'hang', MAX_DETECTION_TIME.toMinutes()],
    ['Api', 'errors', MAX_DETECTION_TIME.toMinutes()],
    ['Api', 'slow', MAX_DETECTION_TIME.toMinutes()],
    ['Api', 'crash-before-shift', MAX_CRASH_LOOP_DETECTION_TIME.toMinutes()],
    // A worker release whose tasks fail before they serve is ECS's deployment circuit breaker's to roll back (the task alarm takes 3 minutes, longer than the bake time).
    ['Processing', 'crash', MAX_DETECTION_TIME.toMinutes()],
    ['Processing', 'hang', MAX_DETECTION_TIME.toMinutes()],
  ])('%s: a %s release is caught by an alarm on the load balancer or the tasks (not only the canary) within %i minutes plus the publication delay', (service, scenario, minutes) => {
    const { watched } = groups.find((g) => g.service === service)!;
    const catches = watched
      .filter((a) => a.queries.every((q) => q.metric?.namespace !== 'CloudWatchSynthetics'))
      .map((a) => ({ name: a.name, minute: firesAt(a, world(scenario, options(service)), 30) }))
      .filter((c) => c.minute !== undefined && c.minute <= minutes + DELAY);
    expect(catches.map((c) => c.name)).not.toEqual([]);
  });

  test('the worker is not rolled back on failed jobs: two failures take longer than the bake time every release would wait for; the alarm pages instead', () => {
    const { watched } = groups.find((g) => g.service === 'Processing')!;
    expect(watched.map((a) => a.name).filter((n) => n.endsWith('-JobFailureRate'))).toEqual([]);
    const stack = `${stackNames.application(env)}-Services`;
    expect(readAlarms(stack, templateJson(stack).Resources).some((a) => a.name.endsWith('processing-JobFailureRate'))).toBe(true);
  });

  test.each<[string, Partial<WorldOptions>, number]>([
    ['the quietest real traffic, a minute late', {}, DELAY],
    ['the quietest real traffic, two minutes late', {}, 2],
    ['100 requests a minute', { requestsPerMinute: 100 }, DELAY],
    ['one failed canary run', { flakyCanaryMinutes: [60] }, DELAY],
  ])('a healthy release never rolls back at %s', (_name, overrides, delay) => {
    for (const { service, watched } of groups) {
      const healthy = world('healthy', { ...options(service), ...overrides });
      for (const alarm of watched) expect({ alarm: alarm.name, fired: firesAt(alarm, healthy, 360, delay) }).toEqual({ alarm: alarm.name, fired: undefined });
    }
  });

  test("the api's canary sends enough requests a minute that a release slowing every one of them counts for the latency alarm (review R14)", () => {
    expect(canaryRequestsPerMinute(env, 'api')).toBeGreaterThanOrEqual(MIN_BAD_REQUESTS_PER_MINUTE);
  });

  test.each([1, 2])('a healthy api release never rolls back at the quietest real traffic when %i of its responses every minute are cold and slow (review R14)', (cold) => {
    const { watched } = groups.find((g) => g.service === 'Api')!;
    const coldStarts = world('healthy', { ...options('Api'), coldRequestsPerMinute: cold });
    for (const alarm of watched) expect({ alarm: alarm.name, fired: firesAt(alarm, coldStarts, 360) }).toEqual({ alarm: alarm.name, fired: undefined });
  });

  test.each([1, 2])('a healthy api release never rolls back at the quietest real traffic when %i of its requests every minute get a 5xx (the low-traffic rule)', (errors) => {
    const { watched } = groups.find((g) => g.service === 'Api')!;
    const fewErrors = world('healthy', { ...options('Api'), serverErrorsPerMinute: errors });
    expect(fewErrors.metrics?.['AWS/ApplicationELB/HTTPCode_Target_5XX_Count']?.(0)).toEqual([errors]);
    for (const alarm of watched) expect({ alarm: alarm.name, fired: firesAt(alarm, fewErrors, 360) }).toEqual({ alarm: alarm.name, fired: undefined });
  });

  test('a newest datapoint two minutes late does not hide a crash (no FILL)', () => {
    for (const { service, watched } of groups) {
      const lateCatches = watched.filter((a) => firesAt(a, world('crash', options(service)), 30, 2) !== undefined);
      expect({ service, caught: lateCatches.length > 0 }).toEqual({ service, caught: true });
    }
  });
});
