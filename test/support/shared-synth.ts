import * as fs from 'node:fs';
import { synthesizeBodyScript } from './synthesize';
import { doneMarker } from './shared-synth-state';
import { cpuMsWithChildren, recordTiming, SHARED_SYNTH_RECORD } from './test-timing';

/**
 * The shared synth of a jest run, in a process of its own (started by
 * test/support/global-setup.ts): synthesizes the whole app with every gate
 * into the directory given, then writes the done marker that test files wait
 * for. A failed synth leaves synth-error.txt in the assembly and still writes
 * the marker, so every test that reads the assembly reports the failure.
 */
const [outdir] = process.argv.slice(2);
if (!outdir) {
  console.error('usage: tsx test/support/shared-synth.ts <assembly directory>');
  process.exit(2);
}
const started = Date.now();
try {
  // One synth in this process: the CloudFormation validator's engine is built on a second thread meanwhile.
  synthesizeBodyScript(outdir, {}, { cloudFormationValidatorThread: true });
} catch (error) {
  fs.mkdirSync(outdir, { recursive: true });
  fs.writeFileSync(`${outdir}/synth-error.txt`, String(error instanceof Error ? error.stack : error));
} finally {
  recordTiming({ file: SHARED_SYNTH_RECORD, cpuMs: cpuMsWithChildren(), wallMs: Date.now() - started });
  fs.writeFileSync(doneMarker(outdir), `${Date.now() - started}\n`);
}
