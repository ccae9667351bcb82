#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COMPLIANCE_GATES } from '../lib/compliance';

/**
 * `npm run bench [-- --runs N] [--scenarios all,without-cdk-nag,...] [--touch <stack>]`:
 * where a `cdk synth` of every BodyScript stack spends its time. Every synth
 * runs through the CDK CLI exactly like `npx cdk synth --quiet` (tsx, fresh
 * output directory), next to a one-bucket app run the same way (the floor).
 * For each scenario (all gates, each gate left out in turn, no gate):
 * - cold: an empty validation cache, as in CI and after `npm ci`;
 * - warm: the cache of the cold synth just before, with one template changed
 *   (an output added to --touch, the largest stack by default), as after an
 *   edit of one construct.
 * Runs are interleaved (floor, then every scenario, round after round) so that
 * a change in the machine's load hits every subject alike; medians and their
 * ratio to the floor are printed. Timings belong here, never in tests.
 */
interface Options {
  readonly runs: number;
  readonly scenarios: readonly Scenario[];
  readonly touch: string;
}

interface Scenario {
  readonly name: string;
  /** Value of BENCH_GATES. */
  readonly gates: string;
  /** Whether a warm synth differs from a cold one (no gate: nothing is cached). */
  readonly cached: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'all gates', gates: COMPLIANCE_GATES.join(','), cached: true },
  ...COMPLIANCE_GATES.map((off) => ({ name: `without ${off}`, gates: COMPLIANCE_GATES.filter((g) => g !== off).join(','), cached: true })),
  { name: 'no gate', gates: 'none', cached: false },
];
const scenarioId = (s: Scenario) => s.name.replace(/ /g, '-');

function parseArgs(argv: string[]): Options {
  let runs = 3;
  let scenarios = SCENARIOS;
  let touch = 'BodyScript-Staging-Services';
  const fail = (message: string): never => {
    console.error(`${message}\nusage: npm run bench -- [--runs N] [--scenarios ${SCENARIOS.map(scenarioId).join(',')}] [--touch <stack name>]`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--runs') {
      runs = Number(value);
      if (!Number.isInteger(runs) || runs < 1 || runs > 50) fail(`--runs: must be an integer 1–50, got '${value ?? ''}'`);
      i++;
    } else if (argv[i] === '--scenarios') {
      const ids = (value ?? '').split(',');
      const unknown = ids.filter((id) => !SCENARIOS.some((s) => scenarioId(s) === id));
      if (unknown.length > 0 || !value) fail(`--scenarios: unknown scenario(s) '${unknown.join(',') || ''}'`);
      scenarios = SCENARIOS.filter((s) => ids.includes(scenarioId(s)));
      i++;
    } else if (argv[i] === '--touch') {
      if (!value) fail('--touch: needs a stack name');
      touch = value!;
      i++;
    } else {
      fail(`unknown argument '${argv[i]}'`);
    }
  }
  return { runs, scenarios, touch };
}

const root = path.join(__dirname, '..');
const cdk = path.join(root, 'node_modules', '.bin', 'cdk');

function timeSynth(label: string, app: string, env: Record<string, string>): number {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-bench-'));
  const started = process.hrtime.bigint();
  const result = spawnSync(cdk, ['synth', '--quiet', '--no-notices', '--output', outdir, '--app', app], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  fs.rmSync(outdir, { recursive: true, force: true });
  if (result.status !== 0) {
    console.error(`${label}: cdk synth failed (exit ${result.status}):\n${result.stderr}`);
    process.exit(1);
  }
  return seconds;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function main(): void {
  const { runs, scenarios, touch } = parseArgs(process.argv.slice(2));
  const bodyscript = 'npx tsx bench/bodyscript-bench-app.ts';
  const times = new Map<string, number[]>();
  const record = (label: string, seconds: number) => {
    times.set(label, [...(times.get(label) ?? []), seconds]);
    console.log(`  ${label}: ${seconds.toFixed(1)} s`);
  };
  console.log(`cdk synth through the CLI, ${runs} round(s), on ${os.cpus().length} CPU(s), node ${process.version}, one template touched: ${touch}`);
  for (let round = 1; round <= runs; round++) {
    console.log(`round ${round}`);
    record('one-bucket floor', timeSynth('one-bucket floor', 'npx tsx bench/one-bucket-app.ts', {}));
    for (const scenario of scenarios) {
      const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-bench-cache-'));
      const env = (touchValue: string) => ({ BENCH_GATES: scenario.gates, BENCH_TOUCH: `${touch}=${touchValue}`, BODYSCRIPT_VALIDATION_CACHE: cache });
      record(`${scenario.name}, cold`, timeSynth(scenario.name, bodyscript, env(`cold-${round}`)));
      if (scenario.cached) record(`${scenario.name}, warm`, timeSynth(scenario.name, bodyscript, env(`warm-${round}`)));
      fs.rmSync(cache, { recursive: true, force: true });
    }
  }
  const floor = median(times.get('one-bucket floor')!);
  console.log(`\n| synth | median | × floor |\n|---|---|---|`);
  for (const [label, values] of times) console.log(`| ${label} | ${median(values).toFixed(1)} s | ${(median(values) / floor).toFixed(2)} |`);
  const all = scenarios.find((s) => s.name === 'all gates');
  if (all) {
    console.log('\nwhat each gate costs (cold all gates minus cold without it; warm likewise):');
    for (const gate of COMPLIANCE_GATES) {
      const without = times.get(`without ${gate}, cold`);
      const withoutWarm = times.get(`without ${gate}, warm`);
      if (!without || !withoutWarm) continue;
      console.log(`  ${gate}: cold ${(median(times.get('all gates, cold')!) - median(without)).toFixed(1)} s, warm ${(median(times.get('all gates, warm')!) - median(withoutWarm)).toFixed(1)} s`);
    }
  }
}

main();
