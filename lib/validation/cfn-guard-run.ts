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

/**
 * Runs the cfn-guard rules on every template and returns each template's
 * violations (an empty list for a template that passes). The templates are
 * split into one group per CPU and each group is checked by the library's own
 * `CfnGuardValidator.validate()` in a worker thread, so parsing and reporting
 * stay the library's; only the fan-out is ours. Any failure of cfn-guard or of
 * a worker throws: a gate never passes on input it could not check.
 */
export function runCfnGuard(templatePaths: readonly string[], ruleFiles: readonly string[], concurrency = os.availableParallelism()): Map<string, PolicyViolation[]> {
  const byTemplate = new Map<string, PolicyViolation[]>(templatePaths.map((t) => [t, []]));
  if (templatePaths.length === 0 || ruleFiles.length === 0) return byTemplate;
  const validatorProps: CfnGuardValidatorProps = { controlTowerRulesEnabled: false, rules: [...ruleFiles], maxBuffer: GUARD_OUTPUT_LIMIT_BYTES };
  const groups = groupBySize(templatePaths, concurrency);
  const reports = groups.length === 1 ? [new CfnGuardValidator(validatorProps).validate({ templatePaths: groups[0] } as never)] : runInWorkers(groups, validatorProps);
  for (const report of reports) {
    for (const violation of report.violations) {
      const resourcesByTemplate = new Map<string, PolicyViolation['violatingResources'][number][]>();
      for (const resource of violation.violatingResources) {
        const templatePath = resource.templatePath;
        if (!templatePath || !byTemplate.has(templatePath)) {
          throw new Error(`cfn-guard reported ${violation.ruleName} on '${templatePath}', which is not one of the templates it was given`);
        }
        resourcesByTemplate.set(templatePath, [...(resourcesByTemplate.get(templatePath) ?? []), resource]);
      }
      for (const [templatePath, violatingResources] of resourcesByTemplate) {
        byTemplate.get(templatePath)!.push({ ...violation, violatingResources });
      }
    }
  }
  return byTemplate;
}

function runInWorkers(groups: readonly string[][], validatorProps: CfnGuardValidatorProps): PolicyValidationPluginReport[] {
  if (!fs.existsSync(WORKER_SCRIPT)) throw new Error(`cfn-guard worker script ${WORKER_SCRIPT} is missing`);
  // Each worker adds 1 when it has posted its answer; the main thread sleeps on it.
  const done = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const started: { worker: Worker; port: MessagePort; templatePaths: string[] }[] = [];
  try {
    for (const templatePaths of groups) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SCRIPT, { workerData: { port: port2, done, templatePaths, validatorProps }, transferList: [port2] });
      worker.unref();
      started.push({ worker, port: port1, templatePaths });
    }
    const deadline = Date.now() + GUARD_TIMEOUT_MS;
    for (let finished = Atomics.load(done, 0); finished < groups.length; finished = Atomics.load(done, 0)) {
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
