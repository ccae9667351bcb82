#!/usr/bin/env node
'use strict';
/**
 * Drop-in for the cfn-guard binary that @cdklabs/cdk-validator-cfnguard runs once
 * with every template: it splits the `--data` templates into one group per CPU
 * (balanced by size), runs the real binary on each group at the same time, and
 * prints the concatenated JSON results. cfn-guard is single-threaded and takes
 * most of a BodyScript synth, so this roughly divides that time by the cores.
 *
 * Usage (as the plugin calls it): parallel-cfn-guard.cjs validate --rules R ... --data T ... <other flags>
 * The real binary is named by BODYSCRIPT_CFN_GUARD_BINARY.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');

const binary = process.env.BODYSCRIPT_CFN_GUARD_BINARY;
if (!binary) {
  process.stderr.write('BODYSCRIPT_CFN_GUARD_BINARY must name the cfn-guard binary\n');
  process.exit(2);
}
const args = process.argv.slice(2);
const templates = [];
const otherArgs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--data') templates.push(args[++i]);
  else otherArgs.push(args[i]);
}

const groupCount = Math.max(1, Math.min(templates.length, os.cpus().length));
const groups = Array.from({ length: groupCount }, () => ({ size: 0, templates: [] }));
const bySize = templates.map((t) => ({ t, size: fs.statSync(t).size })).sort((a, b) => b.size - a.size);
for (const { t, size } of bySize) {
  const lightest = groups.reduce((min, g) => (g.size < min.size ? g : min), groups[0]);
  lightest.templates.push(t);
  lightest.size += size;
}

function run(group) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [...otherArgs, ...group.templates.flatMap((t) => ['--data', t])], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8').trim(), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

Promise.all(groups.filter((g) => g.templates.length > 0).map(run))
  .then((results) => {
    let exitCode = 0;
    const merged = [];
    for (const result of results) {
      // cfn-guard exits 5 or 19 when a rule fails; anything else is an error.
      if (result.code !== 0 && result.code !== 5 && result.code !== 19) {
        process.stderr.write(result.stderr);
        process.exit(result.code ?? 1);
      }
      if (result.code !== 0) exitCode = result.code;
      if (result.stdout.length === 0) continue;
      const parsed = JSON.parse(result.stdout);
      merged.push(...(Array.isArray(parsed) ? parsed : [parsed]));
    }
    // Let the (possibly megabytes of) output drain into the pipe before exiting.
    process.exitCode = exitCode;
    process.stdout.write(JSON.stringify(merged));
  })
  .catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exit(1);
  });
