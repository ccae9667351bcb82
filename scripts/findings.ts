#!/usr/bin/env node
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `npx tsx scripts/findings.ts [cdk.out]`: one line per unacknowledged compliance
 * finding of the last synth (rule, then the construct paths), to work through
 * them faster than the CLI's long report.
 */
const outdir = process.argv[2] ?? 'cdk.out';
const reportFile = path.join(outdir, 'validation-report.json');
if (!fs.existsSync(reportFile)) {
  console.error(`${reportFile} not found: run 'npx cdk synth --quiet' first`);
  process.exit(2);
}
interface Report {
  pluginReports: { pluginName: string; violations: { ruleName: string; violatingConstructs?: { constructPath?: string }[]; violatingResources?: { resourceLogicalId: string; templatePath: string }[] }[] }[];
}
const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Report;
let count = 0;
for (const plugin of report.pluginReports) {
  for (const violation of plugin.violations) {
    const paths = [
      ...(violation.violatingConstructs ?? []).map((c) => c.constructPath ?? '?'),
      ...(violation.violatingResources ?? []).map((r) => `${path.basename(r.templatePath)}#${r.resourceLogicalId}`),
    ];
    count++;
    console.log(`${plugin.pluginName} ${violation.ruleName} | ${[...new Set(paths)].sort().join(', ')}`);
  }
}
console.log(`${count} finding(s)`);
