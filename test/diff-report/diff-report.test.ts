import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { loadAssembly, type Template } from '../../lib/diff-report/assembly';
import type { AwsClients } from '../../lib/diff-report/deployed';
import { diffStack } from '../../lib/diff-report/diff';
import type { JsonSummary } from '../../lib/diff-report/render';
import { EXIT_DANGEROUS, EXIT_INPUT, EXIT_OK, runDiffReport } from '../../lib/diff-report/run';
import { STATEFUL_RESOURCE_TYPES } from '../../lib/diff-report/stateful';
import { DATA_STACK, ENV, EXTRA_STACK, synthVariant, type Variant } from './fixture-app';

/**
 * End-to-end tests of `npm run diff-report` on real synthesized templates:
 * four variants of one small app (see fixture-app.ts), each synthesized once.
 */

const assemblies = {} as Record<Variant, string>;
let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'diff-report-test-'));
  for (const variant of ['base', 'dangerous', 'removal', 'harmless'] as const) {
    assemblies[variant] = synthVariant(variant, path.join(work, variant));
  }
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

function dataTemplate(variant: Variant): Template {
  return loadAssembly(assemblies[variant], '--assembly').find((s) => s.stackName === DATA_STACK)!.template;
}

/** Logical ids are hashes; the tests find them in the real template instead of hard-coding them. */
function logicalIdOf(variant: Variant, type: string, idPrefix = ''): string {
  const resources = dataTemplate(variant).Resources as Record<string, { Type: string }>;
  const ids = Object.keys(resources).filter((id) => resources[id].Type === type && id.startsWith(idPrefix));
  expect(ids).toHaveLength(1);
  return ids[0];
}

let runCount = 0;
async function run(argv: string[], options: { aws?: AwsClients } = {}) {
  const out = path.join(work, `report-${++runCount}.md`);
  const json = path.join(work, `summary-${runCount}.json`);
  const stdout: string[] = [];
  const stderr: string[] = [];
  // The test's own --out/--json come first so that an argv repeating them wins (last one counts).
  const code = await runDiffReport(['--out', out, '--json', json, ...argv], {
    stdout: (text) => stdout.push(text),
    stderr: (line) => stderr.push(line),
    aws: options.aws,
  });
  const markdown = stdout.join('');
  return {
    code,
    markdown,
    stderr: stderr.join('\n'),
    file: fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : undefined,
    summary: fs.existsSync(json) ? (JSON.parse(fs.readFileSync(json, 'utf8')) as JsonSummary) : undefined,
  };
}

const compare = (current: Variant, baseline: Variant) => ['--assembly', assemblies[current], '--baseline', assemblies[baseline]];

describe('a forced database replacement', () => {
  test('puts a caution banner naming the database first and exits 1', async () => {
    const databaseId = logicalIdOf('base', 'AWS::RDS::DBInstance');
    const result = await run(compare('dangerous', 'base'));

    expect(result.code).toBe(EXIT_DANGEROUS);
    expect(result.markdown.startsWith('> [!CAUTION]\n> **🛑 1 dangerous stateful change')).toBe(true);
    const banner = result.markdown.slice(0, result.markdown.indexOf('# Infrastructure diff'));
    expect(banner).toContain(`\`${databaseId}\``);
    expect(banner).toContain('**REPLACE**');
    expect(banner).toContain('`DBInstanceIdentifier`');
    expect(banner).toContain('a code owner of the data stacks approves the pull request at this commit (the pull-request gate), or an operator runs with `--allow-stateful-changes`');
    expect(banner).not.toContain('label');
    expect(result.stderr).toContain(`${DATA_STACK}/${databaseId}`);
    expect(result.file).toBe(result.markdown);

    expect(result.summary).toMatchObject({
      blocking: true,
      allowed: false,
      allowedBy: null,
      stacks: [{ stack: DATA_STACK, baselineFound: true, added: 2, changed: 1, replaced: 1, removed: 0 }],
      dangerousChanges: [{ stack: DATA_STACK, logicalId: databaseId, type: 'AWS::RDS::DBInstance', kind: 'replace' }],
    });
  });

  test('lists the resource table, the IAM statements and the security-group rule that the change adds', async () => {
    const result = await run(compare('dangerous', 'base'));
    const section = result.markdown.slice(result.markdown.indexOf(`## \`${DATA_STACK}\``));

    expect(section).toMatch(/\| 🛑 `Database\w+`<br><sub>`DiffFixture-Data\/Database\/Resource`<\/sub> \| `AWS::RDS::DBInstance` \| \*\*REPLACE\*\* \| `DBInstanceIdentifier` \(replaces\) \|/);
    expect(section).toMatch(/\| `WorkerRoleDefaultPolicy\w+`.* \| `AWS::IAM::Policy` \| add \|/);

    const iam = section.slice(section.indexOf('### IAM statement changes'), section.indexOf('### Security group rule changes'));
    expect(iam).toMatch(/\| \+ \| `\$\{Uploads\w+\.Arn\}`<br>`\$\{Uploads\w+\.Arn\}\/\*` \| `Allow` \| `s3:GetBucket\*`<br>`s3:GetObject\*`<br>`s3:List\*` \| `AWS:\$\{WorkerRole\w+\}` \|/);
    expect(iam).toContain('`kms:Decrypt`');
    expect(section.slice(section.indexOf('### Security group rule changes'))).toMatch(/\| \+ \| `\$\{DatabaseSecurityGroup\w+\.GroupId\}` \| In \| `TCP .*` \| `10\.1\.0\.0\/16` \|/);
    expect(result.summary!.stacks[0]).toMatchObject({ iamChanges: 2, securityGroupChanges: 1 });
  });

  test('--allow-stateful-changes exits 0, keeps the banner and says it was allowed by the flag', async () => {
    const result = await run([...compare('dangerous', 'base'), '--allow-stateful-changes']);
    expect(result.code).toBe(EXIT_OK);
    expect(result.markdown.startsWith('> [!CAUTION]\n> **🛑 1 dangerous stateful change: explicitly allowed**')).toBe(true);
    expect(result.markdown).toContain('Allowed by the `--allow-stateful-changes` flag');
    expect(result.stderr).toContain('explicitly allowed by --allow-stateful-changes.');
    expect(result.summary).toMatchObject({ blocking: false, allowed: true, allowedBy: '--allow-stateful-changes' });
    expect(result.summary!.dangerousChanges).toHaveLength(1);
  });

  test('no environment variable allows it: the label-driven ALLOW_STATEFUL_CHANGES of the old CI is ignored', async () => {
    const saved = process.env.ALLOW_STATEFUL_CHANGES;
    process.env.ALLOW_STATEFUL_CHANGES = 'true';
    try {
      const result = await run(compare('dangerous', 'base'));
      expect(result.code).toBe(EXIT_DANGEROUS);
      expect(result.summary!.blocking).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.ALLOW_STATEFUL_CHANGES;
      else process.env.ALLOW_STATEFUL_CHANGES = saved;
    }
  });
});

describe('removals', () => {
  test('a removed bucket and a renamed key are both flagged; the rename is reported as a replacement naming the new id', async () => {
    const bucketId = logicalIdOf('base', 'AWS::S3::Bucket');
    const oldKeyId = logicalIdOf('base', 'AWS::KMS::Key');
    const newKeyId = logicalIdOf('removal', 'AWS::KMS::Key');
    const result = await run(compare('removal', 'base'));

    expect(result.code).toBe(EXIT_DANGEROUS);
    expect(result.summary!.dangerousChanges).toEqual([
      expect.objectContaining({ logicalId: oldKeyId, type: 'AWS::KMS::Key', kind: 'logical-id-change' }),
      expect.objectContaining({ logicalId: bucketId, type: 'AWS::S3::Bucket', kind: 'remove' }),
    ]);
    const banner = result.markdown.slice(0, result.markdown.indexOf('# Infrastructure diff'));
    expect(banner).toContain('**🛑 2 dangerous stateful changes');
    expect(banner).toContain(`logical ID changes to \`${newKeyId}\``);
    expect(banner).toMatch(new RegExp(`\`${bucketId}\`.*\\*\\*REMOVE\\*\\*.*kept but no longer managed by the stack \\(Retain\\)`));
    expect(result.markdown).toContain('remove (retained, orphaned)');
    expect(result.summary!.stacks[0]).toMatchObject({ added: 1, removed: 3 });
  });
});

describe('harmless changes', () => {
  test('a tag and an alarm threshold change exit 0 with no banner; a stack missing from the baseline is all new', async () => {
    const result = await run(compare('harmless', 'base'));

    expect(result.code).toBe(EXIT_OK);
    expect(result.markdown).not.toContain('[!CAUTION]');
    expect(result.markdown).not.toContain('🛑');
    expect(result.markdown.startsWith('# Infrastructure diff')).toBe(true);
    expect(result.markdown).toMatch(/\| `DatabaseCpu\w+`.* \| `AWS::CloudWatch::Alarm` \| modify \| `Threshold` \|/);
    expect(result.markdown).toMatch(/\| `Uploads\w+`.* \| `AWS::S3::Bucket` \| modify \| `Tags` \|/);
    expect(result.markdown).toContain(`| \`${EXTRA_STACK}\` | none (all new) | 2 | 0 | 0 | 0 |`);
    expect(result.markdown).toContain('_Not in the baseline: every resource is new._');
    expect(result.stderr).toBe('');
    expect(result.summary).toMatchObject({
      blocking: false,
      dangerousChanges: [],
      stacks: [
        { stack: DATA_STACK, baselineFound: true, added: 0, changed: 2, removed: 0 },
        { stack: EXTRA_STACK, baselineFound: false, added: 2, changed: 0, removed: 0 },
      ],
    });
  });

  test('an identical assembly reports no changes', async () => {
    const result = await run(compare('base', 'base'));
    expect(result.code).toBe(EXIT_OK);
    expect(result.markdown).toContain(`## \`${DATA_STACK}\`\n\nNo changes.`);
  });

  test('a stack that only the baseline has is noted, not treated as a deletion', async () => {
    const result = await run(compare('base', 'harmless'));
    expect(result.code).toBe(EXIT_OK);
    expect(result.markdown).toContain(`No longer in the app: \`${EXTRA_STACK}\``);
    expect(result.summary!.stacksOnlyInBaseline).toEqual([EXTRA_STACK]);
  });

  test('a baseline directory of saved *.template.json files works like an assembly', async () => {
    const templates = fs.mkdtempSync(path.join(work, 'templates-'));
    fs.copyFileSync(path.join(assemblies.base, `${DATA_STACK}.template.json`), path.join(templates, `${DATA_STACK}.template.json`));
    const result = await run(['--assembly', assemblies.dangerous, '--baseline', templates]);
    expect(result.code).toBe(EXIT_DANGEROUS);
    expect(result.markdown).toContain(`Compared with templates in \`${templates}\``);
    expect(result.summary!.dangerousChanges).toEqual([expect.objectContaining({ kind: 'replace', type: 'AWS::RDS::DBInstance' })]);
  });
});

describe('classification on edited real templates', () => {
  const stackOf = (template: Template) => ({ artifactId: DATA_STACK, stackName: DATA_STACK, displayName: DATA_STACK, template });
  const edit = (variant: Variant, change: (resources: Record<string, Record<string, unknown>>) => void): Template => {
    const template = structuredClone(dataTemplate(variant));
    change(template.Resources as Record<string, Record<string, unknown>>);
    return template;
  };

  test('weakening a bucket DeletionPolicy from Retain to Delete is dangerous even without replacement', () => {
    const bucketId = logicalIdOf('base', 'AWS::S3::Bucket');
    const weakened = edit('base', (resources) => {
      resources[bucketId].DeletionPolicy = 'Delete';
      delete resources[bucketId].UpdateReplacePolicy;
    });
    const diff = diffStack(stackOf(weakened), { template: dataTemplate('base') });
    expect(diff.dangerous.map((d) => [d.logicalId, d.kind, d.reason])).toEqual([
      [bucketId, 'policy-weakened', 'DeletionPolicy changes from `Retain` to `Delete`: the next removal deletes the data.'],
      [bucketId, 'policy-weakened', 'UpdateReplacePolicy changes from `Retain` to `Delete`: the next replacement deletes the data.'],
    ]);
    expect(diff.resources[0].attributes.map((a) => a.name)).toEqual(['DeletionPolicy', 'UpdateReplacePolicy']);
  });

  test('a conditional replacement of the database (MultiAZ) is flagged as MAY REPLACE', () => {
    const databaseId = logicalIdOf('base', 'AWS::RDS::DBInstance');
    const multiAz = edit('base', (resources) => {
      (resources[databaseId].Properties as Record<string, unknown>).MultiAZ = true;
    });
    const diff = diffStack(stackOf(multiAz), { template: dataTemplate('base') });
    expect(diff.dangerous).toEqual([expect.objectContaining({ logicalId: databaseId, kind: 'may-replace' })]);
    expect(diff.dangerous[0].reason).toContain('`MultiAZ` requires replacement in some cases');
  });

  test('changing a non-stateful resource in a replacing way is listed but not dangerous', () => {
    const alarmId = logicalIdOf('base', 'AWS::CloudWatch::Alarm');
    const renamed = edit('base', (resources) => {
      (resources[alarmId].Properties as Record<string, unknown>).AlarmName = 'renamed-alarm';
    });
    const diff = diffStack(stackOf(renamed), { template: dataTemplate('base') });
    expect(diff.resources).toEqual([expect.objectContaining({ logicalId: alarmId, change: 'replace' })]);
    expect(diff.dangerous).toEqual([]);
  });

  test('metadata-only changes are counted apart and collapsed into one line of the report', async () => {
    const databaseId = logicalIdOf('base', 'AWS::RDS::DBInstance');
    const suppressed = edit('base', (resources) => {
      resources[databaseId].Metadata = { ...(resources[databaseId].Metadata as object), cdk_nag: { rules_to_suppress: [{ id: 'AwsSolutions-RDS11', reason: 'default port' }] } };
    });
    const diff = diffStack(stackOf(suppressed), { template: dataTemplate('base') });
    expect(diff.counts).toEqual({ added: 0, changed: 0, replaced: 0, removed: 0, metadataOnly: 1 });
    expect(diff.dangerous).toEqual([]);

    const templates = fs.mkdtempSync(path.join(work, 'metadata-'));
    fs.writeFileSync(path.join(templates, `${DATA_STACK}.template.json`), JSON.stringify(suppressed));
    const result = await run(['--assembly', assemblies.base, '--baseline', templates]);
    expect(result.code).toBe(EXIT_OK);
    expect(result.markdown).toContain('_1 resource changed only its Metadata (construct paths, cdk-nag suppressions); CloudFormation does not touch it._');
    expect(result.markdown).not.toContain('| Resource | Type | Change | Properties |');
  });

  test('the stateful list is the one the design names', () => {
    expect([...STATEFUL_RESOURCE_TYPES].sort()).toEqual(
      [
        'AWS::Backup::BackupVault',
        'AWS::DynamoDB::Table',
        'AWS::ECR::Repository',
        'AWS::EFS::FileSystem',
        'AWS::KMS::Key',
        'AWS::Logs::LogGroup',
        'AWS::RDS::DBCluster',
        'AWS::RDS::DBInstance',
        'AWS::S3::Bucket',
        'AWS::SQS::Queue',
        'AWS::SecretsManager::Secret',
      ].sort(),
    );
  });
});

describe('bad arguments and inputs exit 2 with one line naming the flag', () => {
  test.each([
    ['no --baseline', () => ['--assembly', assemblies.base], "--baseline is required: 'deployed', a cloud assembly directory or a directory of *.template.json files"],
    ['missing --assembly directory', () => ['--assembly', path.join(work, 'nope'), '--baseline', assemblies.base], "/nope' is not a directory; expected a cloud assembly (run 'npx cdk synth' first)"],
    ['missing --baseline directory', () => ['--assembly', assemblies.base, '--baseline', path.join(work, 'nope')], "/nope' is not a directory; expected 'deployed', a cloud assembly directory"],
    ['unknown flag', () => ['--assembly', assemblies.base, '--baseline', assemblies.base, '--colour'], "Unknown option '--colour'"],
    ['empty --out', () => ['--assembly', assemblies.base, '--baseline', assemblies.base, '--out', ''], '--out must not be empty'],
  ])('%s', async (_label, argv, message) => {
    const result = await run(argv());
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toMatch(/^(--assembly|--baseline|--out|Unknown option '--colour')/);
    expect(result.stderr).toContain(message);
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(result.markdown).toBe('');
  });

  test('an unreadable manifest names the flag and the file', async () => {
    const broken = fs.mkdtempSync(path.join(work, 'broken-'));
    fs.writeFileSync(path.join(broken, 'manifest.json'), '{ not json');
    const result = await run(['--assembly', broken, '--baseline', assemblies.base]);
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toMatch(/^--assembly: .*manifest\.json is not valid JSON/);
  });

  test('a directory without manifest nor templates is rejected as a baseline', async () => {
    const empty = fs.mkdtempSync(path.join(work, 'empty-'));
    const result = await run(['--assembly', assemblies.base, '--baseline', empty]);
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toBe(`--baseline: '${empty}' has neither a manifest.json nor any *.template.json file`);
  });

  test('--help prints the usage and exits 0', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(EXIT_OK);
    expect(result.markdown).toContain('--baseline deployed');
  });
});

describe('--stack: only what `cdk deploy <stack>` deploys', () => {
  test('a stack and, before it, the stacks it depends on; nothing else is compared', async () => {
    const result = await run([...compare('harmless', 'base'), '--stack', EXTRA_STACK]);
    expect(result.code).toBe(EXIT_OK);
    expect(result.summary!.stacks.map((s) => s.stack)).toEqual([DATA_STACK, EXTRA_STACK]);
    expect(result.markdown).toContain(`Only ${DATA_STACK}, ${EXTRA_STACK}: what \`cdk deploy ${EXTRA_STACK}\` deploys.`);
  });

  test('a stack that depends on none is compared alone, and a dangerous change in it still exits 1', async () => {
    const result = await run([...compare('dangerous', 'base'), '--stack', DATA_STACK]);
    expect(result.code).toBe(EXIT_DANGEROUS);
    expect(result.summary!.stacks.map((s) => s.stack)).toEqual([DATA_STACK]);
  });

  test('a stack the assembly does not have stops with exit 2, naming the stacks it has', async () => {
    const result = await run([...compare('base', 'base'), '--stack', 'DiffFixture-Typo']);
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toBe(`--stack: the assembly has no stack 'DiffFixture-Typo'; it has ${DATA_STACK}`);
    expect(result.file).toBeUndefined();
  });
});

describe('--baseline deployed', () => {
  const cloudFormation = mockClient(CloudFormationClient);
  const sts = mockClient(STSClient);
  const regions: string[] = [];
  const aws: AwsClients = {
    cloudFormation: (region) => (regions.push(region), new CloudFormationClient({ region })),
    sts: (region) => new STSClient({ region }),
  };
  const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

  beforeEach(() => {
    cloudFormation.reset();
    sts.reset();
    regions.length = 0;
    sts.on(GetCallerIdentityCommand).resolves({ Account: ENV.account });
  });

  test('compares with the deployed template, fetched in the stack region, and flags the replacement', async () => {
    cloudFormation
      .on(GetTemplateCommand, { StackName: DATA_STACK, TemplateStage: 'Original' })
      .resolves({ TemplateBody: JSON.stringify(dataTemplate('base')) });
    const result = await run(['--assembly', assemblies.dangerous, '--baseline', 'deployed'], { aws });

    expect(result.code).toBe(EXIT_DANGEROUS);
    expect(regions).toEqual([ENV.region]);
    expect(cloudFormation.commandCalls(GetTemplateCommand)).toHaveLength(1);
    expect(result.markdown).toContain('Compared with the deployed stacks (CloudFormation GetTemplate).');
    expect(result.summary!.dangerousChanges).toEqual([expect.objectContaining({ kind: 'replace', type: 'AWS::RDS::DBInstance' })]);
  });

  test('a stack that does not exist yet is an empty baseline: everything new, exit 0', async () => {
    cloudFormation.on(GetTemplateCommand).rejects(awsError('ValidationError', `Stack with id ${DATA_STACK} does not exist`));
    const result = await run(['--assembly', assemblies.base, '--baseline', 'deployed'], { aws });

    expect(result.code).toBe(EXIT_OK);
    expect(result.markdown).toContain(`| \`${DATA_STACK}\` | none (all new) |`);
    expect(result.summary!.stacks[0]).toMatchObject({ baselineFound: false, changed: 0, removed: 0 });
    expect(result.summary!.stacks[0].added).toBeGreaterThan(10);
  });

  test('AccessDenied stops with exit 2 and says which permission and account are needed', async () => {
    cloudFormation.on(GetTemplateCommand).rejects(awsError('AccessDenied', 'User is not authorized to perform: cloudformation:GetTemplate'));
    const result = await run(['--assembly', assemblies.base, '--baseline', 'deployed'], { aws });

    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toContain(`--baseline deployed: cannot read the deployed template of ${DATA_STACK} (account ${ENV.account}, region ${ENV.region}): AccessDenied`);
    expect(result.stderr).toContain('may call cloudformation:GetTemplate');
    expect(result.file).toBeUndefined();
  });

  test('missing credentials stop with exit 2 before any template is read', async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers'));
    const result = await run(['--assembly', assemblies.base, '--baseline', 'deployed'], { aws });

    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toContain('CredentialsProviderError: Could not load credentials from any providers');
    expect(cloudFormation.commandCalls(GetTemplateCommand)).toHaveLength(0);
  });

  test('credentials for another account are refused, since every stack would wrongly look new', async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: '222222222222' });
    const result = await run(['--assembly', assemblies.base, '--baseline', 'deployed'], { aws });

    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toBe(
      `--baseline deployed: the AWS credentials are for account 222222222222, but ${DATA_STACK} is in ${ENV.account}; use credentials for that account (e.g. its deploy role)`,
    );
    expect(cloudFormation.commandCalls(GetTemplateCommand)).toHaveLength(0);
  });

  test('with --stack, only the selected stacks are read (and only their account must match)', async () => {
    cloudFormation.on(GetTemplateCommand, { StackName: DATA_STACK, TemplateStage: 'Original' }).resolves({ TemplateBody: JSON.stringify(dataTemplate('base')) });
    const result = await run(['--assembly', assemblies.harmless, '--baseline', 'deployed', '--stack', DATA_STACK], { aws });
    expect(result.code).toBe(EXIT_OK);
    expect(cloudFormation.commandCalls(GetTemplateCommand).map((c) => c.args[0].input.StackName)).toEqual([DATA_STACK]);
  });

  test('any other CloudFormation error is not mistaken for a missing stack', async () => {
    cloudFormation.on(GetTemplateCommand).rejects(awsError('Throttling', 'Rate exceeded'));
    const result = await run(['--assembly', assemblies.base, '--baseline', 'deployed'], { aws });
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toContain('Throttling: Rate exceeded');
  });
});

/**
 * Issue 12: a baseline that is not a synthesized assembly of this app must
 * never let the gate pass. Each bad baseline below is refused (exit 2) with a
 * message naming the file and what is wrong, or, for saved `get-template`
 * output, unwrapped and said so.
 */
describe('baselines that are not an assembly of this app', () => {
  /** A copy of the base assembly, changed by `mutate`. */
  function badBaseline(name: string, mutate: (dir: string) => void): string {
    const dir = path.join(work, `bad-${name}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(assemblies.base, dir, { recursive: true });
    mutate(dir);
    return dir;
  }
  const manifestOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string; properties?: Record<string, unknown> }> };
  const writeJson = (file: string, value: unknown) => fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  const dataTemplateFile = (dir: string) => path.join(dir, `${DATA_STACK}.template.json`);
  /** get-template's answer as the AWS CLI prints it. */
  const getTemplateOutput = (body: unknown) => ({ TemplateBody: body, StagesAvailable: ['Original', 'Processed'] });

  const refused: Array<[string, () => string, RegExp]> = [
    ['a manifest that is an empty list', () => badBaseline('list', (d) => writeJson(path.join(d, 'manifest.json'), [])), /^--baseline: .*manifest\.json is not a cloud assembly manifest \(expected a JSON object with 'version' and 'artifacts'\)$/],
    ['a manifest without artifacts', () => badBaseline('no-artifacts', (d) => writeJson(path.join(d, 'manifest.json'), { version: '48.0.0' })), /^--baseline: .*manifest\.json is not a cloud assembly manifest \(no 'artifacts' object\)$/],
    ['a manifest with no stack', () => badBaseline('no-stack', (d) => writeJson(path.join(d, 'manifest.json'), { version: '48.0.0', artifacts: { Tree: { type: 'cdk:tree', properties: { file: 'tree.json' } } } })), /^--baseline: '.*' contains no CloudFormation stacks \(its manifest lists no aws:cloudformation:stack artifact\)$/],
    ['templates that are {}', () => badBaseline('empty-template', (d) => writeJson(dataTemplateFile(d), {})), /^--baseline: .*DiffFixture-Data\.template\.json is not a CloudFormation template: it has no 'Resources' object with at least one resource$/],
    ['a template with no resources', () => badBaseline('no-resources', (d) => writeJson(dataTemplateFile(d), { Resources: {} })), /has no 'Resources' object with at least one resource$/],
    ['a JSON file that is not CloudFormation', () => badBaseline('package', (d) => writeJson(dataTemplateFile(d), { name: 'bodyscript', version: '1.0.0' })), /is not a CloudFormation template: it has no 'Resources' object/],
    ['resources without a type', () => badBaseline('typeless', (d) => writeJson(dataTemplateFile(d), { Resources: { Database: { Properties: {} } } })), /resource 'Database' has no valid 'Type'$/],
    [
      "another app's stacks",
      () =>
        badBaseline('other-app', (d) => {
          const manifest = manifestOf(d);
          manifest.artifacts = { 'OtherApp-Data': { ...manifest.artifacts[DATA_STACK], displayName: 'OtherApp-Data', properties: { ...manifest.artifacts[DATA_STACK].properties, stackName: 'OtherApp-Data' } } } as typeof manifest.artifacts;
          writeJson(path.join(d, 'manifest.json'), manifest);
        }),
      /^--baseline: '.*' is not a baseline of this app: none of its stacks \(OtherApp-Data\) is a stack of the assembly \(DiffFixture-Data\)$/,
    ],
    [
      "a directory of another app's saved templates",
      () => {
        const dir = path.join(work, 'bad-other-templates');
        fs.mkdirSync(dir, { recursive: true });
        fs.copyFileSync(dataTemplateFile(assemblies.base), path.join(dir, 'OtherApp-Data.template.json'));
        return dir;
      },
      /is not a baseline of this app: none of its stacks \(OtherApp-Data\) is a stack of the assembly/,
    ],
    [
      'a template path that leaves the assembly',
      () =>
        badBaseline('escape', (d) => {
          const manifest = manifestOf(d);
          manifest.artifacts[DATA_STACK].properties!.templateFile = `../${path.basename(assemblies.base)}/${DATA_STACK}.template.json`;
          writeJson(path.join(d, 'manifest.json'), manifest);
        }),
      /^--baseline: '\.\.\/base\/DiffFixture-Data\.template\.json' points outside the assembly '.*'; refused$/,
    ],
    [
      'a template that is a symbolic link',
      () =>
        badBaseline('symlink', (d) => {
          fs.rmSync(dataTemplateFile(d));
          fs.symlinkSync(dataTemplateFile(assemblies.base), dataTemplateFile(d));
        }),
      /^--baseline: 'DiffFixture-Data\.template\.json' in '.*' is a symbolic link; refused$/,
    ],
    [
      'saved get-template output with a YAML body',
      () => badBaseline('yaml-body', (d) => writeJson(dataTemplateFile(d), getTemplateOutput('Resources:\n  Database:\n    Type: AWS::RDS::DBInstance\n'))),
      /is 'aws cloudformation get-template' output whose TemplateBody is not JSON \(YAML\?\): refused, since this app deploys JSON templates/,
    ],
  ];

  test.each(refused)('%s is refused with exit 2 and one line naming what is wrong', async (_label, make, message) => {
    const result = await run(['--assembly', assemblies.base, '--baseline', make()]);
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toMatch(message);
    expect(result.markdown).toBe('');
    expect(result.file).toBeUndefined();
  });

  test.each(refused)('a database replacement against %s never exits 0', async (_label, make) => {
    const result = await run(['--assembly', assemblies.dangerous, '--baseline', make()]);
    expect(result.code).not.toBe(EXIT_OK);
  });

  test.each([
    ['as an object', (template: Template) => getTemplateOutput(template)],
    ['as a JSON string', (template: Template) => getTemplateOutput(JSON.stringify(template))],
  ])('saved get-template output (TemplateBody %s) is unwrapped, and the report says so', async (_label, wrap) => {
    const dir = badBaseline(`wrapped-${_label.replace(/\W+/g, '-')}`, (d) => writeJson(dataTemplateFile(d), wrap(dataTemplate('base'))));
    const result = await run(compare('dangerous', 'base').slice(0, 2).concat(['--baseline', dir]));
    expect(result.code).toBe(EXIT_DANGEROUS);
    expect(result.summary!.dangerousChanges).toEqual([expect.objectContaining({ kind: 'replace', type: 'AWS::RDS::DBInstance' })]);
    expect(result.markdown).toContain(`> - \`${DATA_STACK}.template.json\` is saved \`aws cloudformation get-template\` output: its \`TemplateBody\` was used as the template.`);
    expect(result.summary!.notes).toHaveLength(1);
  });

  test('a baseline without one of the current stacks says, in the report, that it counts as new', async () => {
    const result = await run(compare('harmless', 'base'));
    expect(result.code).toBe(EXIT_OK);
    expect(result.markdown).toContain(`> [!NOTE]\n> - Not in the baseline, so every resource of these stacks counts as new: ${EXTRA_STACK}.`);
    expect(result.summary!.notes).toEqual([`Not in the baseline, so every resource of these stacks counts as new: ${EXTRA_STACK}.`]);
  });

  test('an assembly under review that is not one is refused too (the gate reads the pull request’s upload)', async () => {
    const bogus = badBaseline('assembly-list', (d) => writeJson(path.join(d, 'manifest.json'), []));
    const result = await run(['--assembly', bogus, '--baseline', assemblies.base]);
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toMatch(/^--assembly: .*manifest\.json is not a cloud assembly manifest/);
  });

  test.each([
    [['--baseline'], "--baseline needs a value: 'deployed', a cloud assembly directory or a directory of *.template.json files"],
    [['--baseline', '--assembly', 'cdk.out'], "--baseline needs a value: 'deployed', a cloud assembly directory or a directory of *.template.json files"],
    [['--assembly'], '--assembly needs a value: a cloud assembly directory (default cdk.out)'],
  ])('%j says which value is missing', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(EXIT_INPUT);
    expect(result.stderr).toBe(message);
  });
});
