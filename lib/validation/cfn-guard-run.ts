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

/**
 * Splits the work into at most `concurrency` cfn-guard runs that can go at the
 * same time. With at least as many templates as CPUs, each run takes a group
 * of templates with every rule. With fewer (the usual case once the cache is
 * warm: one changed template), each template's rule files are split across the
 * CPUs instead: rule files are evaluated independently, so the findings are
 * the same, and cfn-guard's time grows with rules × template size.
 */
export function planGuardRuns(templatePaths: readonly string[], ruleFiles: readonly string[], concurrency: number): GuardRun[] {
  if (templatePaths.length >= concurrency || ruleFiles.length < 2) {
    return groupBySize(templatePaths, concurrency).map((group) => ({ templatePaths: group, ruleFiles: [...ruleFiles] }));
  }
  const ruleGroupCount = Math.min(ruleFiles.length, Math.max(1, Math.floor(concurrency / templatePaths.length)));
  const ruleGroups = Array.from({ length: ruleGroupCount }, (_, i) => ruleFiles.filter((_file, index) => index % ruleGroupCount === i));
  return templatePaths.flatMap((t) => ruleGroups.map((rules) => ({ templatePaths: [t], ruleFiles: rules })));
}

/**
 * Runs the cfn-guard rules on every template and returns each template's
 * violations (an empty list for a template that passes). The work is split
 * into one cfn-guard run per CPU (planGuardRuns) and each run is the library's
 * own `CfnGuardValidator.validate()` in a worker thread, so parsing and
 * reporting stay the library's; only the fan-out is ours. Any failure of
 * cfn-guard or of a worker throws: a gate never passes on input it could not check.
 */
export function runCfnGuard(templatePaths: readonly string[], ruleFiles: readonly string[], concurrency = os.availableParallelism()): Map<string, PolicyViolation[]> {
  const byTemplate = new Map<string, PolicyViolation[]>(templatePaths.map((t) => [t, []]));
  if (templatePaths.length === 0 || ruleFiles.length === 0) return byTemplate;
  // cfn-guard names each data file by its absolute path, whatever spelling it
  // was given: the CDK CLI's default output directory (`cdk.out`) is relative.
  const givenPathOf = new Map(templatePaths.map((t) => [path.resolve(t), t]));
  const runs = planGuardRuns(templatePaths, ruleFiles, concurrency);
  const propsOf = (run: GuardRun): CfnGuardValidatorProps => ({ controlTowerRulesEnabled: false, rules: run.ruleFiles, maxBuffer: GUARD_OUTPUT_LIMIT_BYTES });
  const reports = runs.length === 1 ? [new CfnGuardValidator(propsOf(runs[0])).validate({ templatePaths: runs[0].templatePaths } as never)] : runInWorkers(runs.map((run) => ({ templatePaths: run.templatePaths, validatorProps: propsOf(run) })));
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

function runInWorkers(runs: readonly { templatePaths: string[]; validatorProps: CfnGuardValidatorProps }[]): PolicyValidationPluginReport[] {
  if (!fs.existsSync(WORKER_SCRIPT)) throw new Error(`cfn-guard worker script ${WORKER_SCRIPT} is missing`);
  // Each worker adds 1 when it has posted its answer; the main thread sleeps on it.
  const done = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const started: { worker: Worker; port: MessagePort; templatePaths: string[] }[] = [];
  try {
    for (const { templatePaths, validatorProps } of runs) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SCRIPT, { workerData: { port: port2, done, templatePaths, validatorProps }, transferList: [port2] });
      worker.unref();
      started.push({ worker, port: port1, templatePaths });
    }
    const deadline = Date.now() + GUARD_TIMEOUT_MS;
    for (let finished = Atomics.load(done, 0); finished < runs.length; finished = Atomics.load(done, 0)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || Atomics.wait(done, 0, finished, remaining) === 'timed-out') {
        throw new Error(`cfn-guard did not finish within ${GUARD_TIMEOUT_MS / 60000} minutes`);
      }
    }
    return started.map(({ port, templatePaths }) => {
      const received = receiveMessageOnPort(port)?.message as { report?: PolicyValidationPluginReport; error?: string } | undefined;
      if (!received?.report) {
        throw new Error(`cfn-guard failed on ${templatePaths.map((t) => path.basename(t)).join(', ')}: ${received?.error ?? 'the worker sent no report'}`);
      }
      return received.report;
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
