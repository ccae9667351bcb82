/**
 * `npm run diff-report -- --baseline <dir>|deployed [...]`
 *
 * Wiring only: the logic and its tests live in lib/diff-report/.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { STSClient } from '@aws-sdk/client-sts';
import { runDiffReport } from '../lib/diff-report/run';

runDiffReport(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (line) => console.error(line),
  // Clients are created on first use, so a directory baseline never touches AWS configuration.
  aws: {
    cloudFormation: (region) => new CloudFormationClient({ region }),
    sts: (region) => new STSClient({ region }),
  },
})
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 2;
  });
