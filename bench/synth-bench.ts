#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * `npm run bench [-- --runs N]`: times a full `cdk synth` of every BodyScript
 * stack and of a one-bucket app, run the same way (CDK CLI, tsx, quiet, fresh
 * output directory each run), and prints the medians and their ratio.
 * Timings belong here, never in tests.
 */
interface Options {
  readonly runs: number;
}

function parseArgs(argv: string[]): Options {
  let runs = 5;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1 || value > 50) {
        console.error(`--runs: must be an integer 1–50, got '${argv[i] ?? ''}'`);
        process.exit(2);
      }
      runs = value;
    } else {
      console.error(`unknown argument '${argv[i]}'; usage: npm run bench -- [--runs N]`);
      process.exit(2);
    }
  }
  return { runs };
}

const root = path.join(__dirname, '..');
const cdk = path.join(root, 'node_modules', '.bin', 'cdk');

function timeSynth(label: string, app: string | undefined): number {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-bench-'));
  const args = ['synth', '--quiet', '--output', outdir, ...(app ? ['--app', app] : [])];
  const started = process.hrtime.bigint();
  const result = spawnSync(cdk, args, { cwd: root, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  fs.rmSync(outdir, { recursive: true, force: true });
  if (result.status !== 0) {
    console.error(`${label}: cdk synth failed (exit ${result.status}):\n${result.stderr}`);
    process.exit(1);
  }
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function main(): void {
  const { runs } = parseArgs(process.argv.slice(2));
  const subjects: [string, string | undefined][] = [
    ['BodyScript (every stack)', undefined],
    ['one-bucket app', 'npx tsx bench/one-bucket-app.ts'],
  ];
  console.log(`cdk synth, ${runs} run(s) each, on ${os.cpus().length} CPU(s), node ${process.version}`);
  const medians: number[] = [];
  for (const [label, app] of subjects) {
    const times: number[] = [];
    for (let run = 1; run <= runs; run++) {
      const seconds = timeSynth(label, app);
      times.push(seconds);
      console.log(`  ${label} run ${run}: ${seconds.toFixed(2)} s`);
    }
    const m = median(times);
    medians.push(m);
    console.log(`${label}: median ${m.toFixed(2)} s (min ${Math.min(...times).toFixed(2)}, max ${Math.max(...times).toFixed(2)})`);
  }
  console.log(`ratio BodyScript / one-bucket: ${(medians[0] / medians[1]).toFixed(2)}`);
}

main();
