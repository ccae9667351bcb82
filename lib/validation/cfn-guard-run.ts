import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { CfnGuardValidator, type CfnGuardValidatorProps } from '@cdklabs/cdk-validator-cfnguard';
import type { PolicyValidationPluginReport, PolicyViolation } from 'aws-cdk-lib';

const WORKER_SCRIPT = path.join(__dirname, 'cfn-guard-worker.cjs');

/** A group of templates that takes longer than this fails the synth rather than hanging it. */
const GUARD_TIMEOUT_MS = 30 * 60 * 1000;

/**
 * cfn-guard's JSON for the largest BodyScript template is a few megabytes; the
 * library's default of 1 MiB would kill the process (and fail the synth) as the
 * templates grow.
 */
const GUARD_OUTPUT_LIMIT_BYTES = 256 * 1024 * 1024;

/**
 * Splits templates into at most `count` groups of about equal size (largest
 * first onto the lightest group): cfn-guard's time grows with a template's size.
 */
export function groupBySize(templatePaths: readonly string[], count: number): string[][] {
  const groups = Array.from({ length: Math.max(1, Math.min(count, templatePaths.length)) }, () => ({ bytes: 0, templatePaths: [] as string[] }));
  const bySize = templatePaths.map((t) => ({ t, bytes: fs.statSync(t).size })).sort((a, b) => b.bytes - a.bytes || a.t.localeCompare(b.t));
  for (const { t, bytes } of bySize) {
    const lightest = groups.reduce((min, g) => (g.bytes < min.bytes ? g : min), groups[0]);
    lightest.templatePaths.push(t);
    lightest.bytes += bytes;
  }
  return groups.map((g) => g.templatePaths).filter((g) => g.length > 0);
}

/** One cfn-guard run: these rules on these templates. */
export interface GuardRun {
  readonly templatePaths: string[];
  readonly ruleFiles: string[];
}

/** The rule files to run on each template: the same list for all, or a list per template (rule files that cannot apply left out). */
export type RuleFilesOf = readonly string[] | ((templatePath: string) => readonly string[]);

/**
 * Plans the cfn-guard runs and deals them out to at most `concurrency`
 * workers, which go at the same time (each worker's runs one after another).
 *
 * When every template gets the same rules and there are at least as many
 * templates as CPUs, each worker runs one group of templates (groupBySize)
 * with every rule. When each template has its own rule files, each template
 * is its own run (cfn-guard runs every rule it is given on every template it
 * is given), and the runs are dealt out by their cost, rule files × template
 * size, largest first onto the least loaded worker. With fewer templates than
 * CPUs (the usual case once the cache is warm: one changed template), each
 * template's rule files are split across the CPUs instead: rule files are
 * evaluated independently, so the findings are the same.
 */
export function planGuardRuns(templatePaths: readonly string[], ruleFilesOf: RuleFilesOf, concurrency: number): GuardRun[][] {
  const rulesOf = (t: string) => [...(typeof ruleFilesOf === 'function' ? ruleFilesOf(t) : ruleFilesOf)];
  const checks = templatePaths.map((t) => ({ templatePath: t, ruleFiles: rulesOf(t) })).filter((c) => c.ruleFiles.length > 0);
  if (checks.length === 0) return [];
  if (typeof ruleFilesOf !== 'function' && checks.length >= concurrency) {
    return groupBySize(templatePaths, concurrency).map((group) => [{ templatePaths: group, ruleFiles: rulesOf(group[0]) }]);
  }
  const runs: GuardRun[] =
    checks.length >= concurrency
      ? checks.map((c) => ({ templatePaths: [c.templatePath], ruleFiles: c.ruleFiles }))
      : checks.flatMap((c) => {
          const count = Math.min(c.ruleFiles.length, Math.max(1, Math.floor(concurrency / checks.length)));
          return Array.from({ length: count }, (_, i) => ({ templatePaths: [c.templatePath], ruleFiles: c.ruleFiles.filter((_file, index) => index % count === i) }));
        });
  const cost = (run: GuardRun) => run.ruleFiles.length * run.templatePaths.reduce((sum, t) => sum + fs.statSync(t).size, 0);
  const workers = Array.from({ length: Math.min(concurrency, runs.length) }, () => ({ cost: 0, runs: [] as GuardRun[] }));
  for (const run of runs.map((r) => ({ r, c: cost(r) })).sort((a, b) => b.c - a.c || a.r.templatePaths[0].localeCompare(b.r.templatePaths[0]))) {
    const lightest = workers.reduce((min, w) => (w.cost < min.cost ? w : min), workers[0]);
    lightest.runs.push(run.r);
    lightest.cost += run.c;
  }
  return workers.map((w) => w.runs).filter((w) => w.length > 0);
}

/**
 * Runs the cfn-guard rules on every template and returns each template's
 * violations (an empty list for a template that passes). The work is split
 * over the CPUs (planGuardRuns) and each run is the library's own
 * `CfnGuardValidator.validate()` in a worker thread, so parsing and
 * reporting stay the library's; only the fan-out is ours. Any failure of
 * cfn-guard or of a worker throws: a gate never passes on input it could not check.
 */
export function runCfnGuard(templatePaths: readonly string[], ruleFilesOf: RuleFilesOf, concurrency = os.availableParallelism()): Map<string, PolicyViolation[]> {
  const byTemplate = new Map<string, PolicyViolation[]>(templatePaths.map((t) => [t, []]));
  const plan = planGuardRuns(templatePaths, ruleFilesOf, concurrency);
  if (plan.length === 0) return byTemplate;
  // cfn-guard names each data file by its absolute path, whatever spelling it
  // was given: the CDK CLI's default output directory (`cdk.out`) is relative.
  const givenPathOf = new Map(templatePaths.map((t) => [path.resolve(t), t]));
  const propsOf = (run: GuardRun): CfnGuardValidatorProps => ({ controlTowerRulesEnabled: false, rules: run.ruleFiles, maxBuffer: GUARD_OUTPUT_LIMIT_BYTES });
  const toWorker = (runs: GuardRun[]) => runs.map((run) => ({ templatePaths: run.templatePaths, validatorProps: propsOf(run) }));
  const reports =
    plan.length === 1 && plan[0].length === 1
      ? [new CfnGuardValidator(propsOf(plan[0][0])).validate({ templatePaths: plan[0][0].templatePaths } as never)]
      : runInWorkers(plan.map(toWorker));
  for (const report of reports) {
    for (const violation of report.violations) {
      const resourcesByTemplate = new Map<string, PolicyViolation['violatingResources'][number][]>();
      for (const resource of violation.violatingResources) {
        const templatePath = resource.templatePath === undefined ? undefined : givenPathOf.get(path.resolve(resource.templatePath));
        if (templatePath === undefined) {
          throw new Error(`cfn-guard reported ${violation.ruleName} on '${resource.templatePath}', which is not one of the templates it was given`);
        }
        resourcesByTemplate.set(templatePath, [...(resourcesByTemplate.get(templatePath) ?? []), { ...resource, templatePath }]);
      }
      for (const [templatePath, violatingResources] of resourcesByTemplate) {
        byTemplate.get(templatePath)!.push({ ...violation, violatingResources });
      }
    }
  }
  // The same order whatever the split: by rule, then as cfn-guard reported them.
  for (const violations of byTemplate.values()) violations.sort((a, b) => a.ruleName.localeCompare(b.ruleName));
  return byTemplate;
}

/** Runs each worker's cfn-guard runs (one after another) in its own thread; returns every run's report. */
function runInWorkers(workers: readonly { templatePaths: string[]; validatorProps: CfnGuardValidatorProps }[][]): PolicyValidationPluginReport[] {
  if (!fs.existsSync(WORKER_SCRIPT)) throw new Error(`cfn-guard worker script ${WORKER_SCRIPT} is missing`);
  // Each worker adds 1 when it has posted its answer; the main thread sleeps on it.
  const done = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const started: { worker: Worker; port: MessagePort; runs: number; templatePaths: string[] }[] = [];
  try {
    for (const runs of workers) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SCRIPT, { workerData: { port: port2, done, runs }, transferList: [port2] });
      worker.unref();
      started.push({ worker, port: port1, runs: runs.length, templatePaths: runs.flatMap((run) => run.templatePaths) });
    }
    const deadline = Date.now() + GUARD_TIMEOUT_MS;
    for (let finished = Atomics.load(done, 0); finished < workers.length; finished = Atomics.load(done, 0)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || Atomics.wait(done, 0, finished, remaining) === 'timed-out') {
        throw new Error(`cfn-guard did not finish within ${GUARD_TIMEOUT_MS / 60000} minutes`);
      }
    }
    return started.flatMap(({ port, runs, templatePaths }) => {
      const received = receiveMessageOnPort(port)?.message as { reports?: PolicyValidationPluginReport[]; error?: string } | undefined;
      if (!received?.reports || received.reports.length !== runs) {
        throw new Error(`cfn-guard failed on ${[...new Set(templatePaths.map((t) => path.basename(t)))].join(', ')}: ${received?.error ?? 'the worker sent no report'}`);
      }
      return received.reports;
    });
  } finally {
    for (const { worker, port } of started) {
      port.close();
      void worker.terminate();
    }
  }
}

/**
 * Throws unless cfn-guard can parse every rule file.
 *
 * Why: cfn-guard skips a rule file it cannot parse, prints the parse error on
 * stderr, marks every template `SKIP` and exits 5, the code it also uses for
 * "rules failed". @cdklabs/cdk-validator-cfnguard accepts 5, discards stderr
 * and reads "no non-compliant result" as a pass: a broken rule file would pass
 * every template. One cfn-guard run on an empty template with every rule shows
 * it: exit 0 (or 19, a readable rule failing on it) and nothing on stderr when every file parses.
 */
export function assertRuleFilesParse(cfnGuardBinary: string, ruleFiles: readonly string[]): void {
  if (ruleFiles.length === 0) return;
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-guard-rules-'));
  try {
    const emptyTemplate = path.join(directory, 'empty.template.json');
    fs.writeFileSync(emptyTemplate, '{"Resources":{}}');
    const result = spawnSync(cfnGuardBinary, ['validate', ...ruleFiles.flatMap((rule) => ['--rules', rule]), '--data', emptyTemplate, '--show-summary', 'none'], {
      encoding: 'utf8',
      maxBuffer: GUARD_OUTPUT_LIMIT_BYTES,
    });
    if (result.error) throw result.error;
    const stderr = (result.stderr ?? '').trim();
    // 0: every rule passed or skipped; 19: a rule failed on the empty template (e.g. `Resources.* ... exists`), which is
    // a readable rule. A parse error prints on stderr and exits 5.
    if ((result.status !== 0 && result.status !== 19) || stderr.length > 0) {
      throw new Error(`cfn-guard cannot read the rules (exit ${result.status ?? result.signal}): ${stderr.split('\n').slice(0, 5).join(' ') || 'no message'}`);
    }
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}
