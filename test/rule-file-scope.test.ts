import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, type IPolicyValidationContext } from 'aws-cdk-lib';
import { CONTROL_TOWER_PLUGIN_NAME, PROJECT_RULES_DIRECTORY } from '../lib/compliance';
import { CfnGuardPlugin, cfnGuardBinary, CONTROL_TOWER_RULES_DIRECTORY, guardRuleFiles, ruleFileId } from '../lib/validation/cfn-guard-plugin';
import { runCfnGuard } from '../lib/validation/cfn-guard-run';
import { fileFingerprint } from '../lib/validation/verdict-cache';
import { mayApply, type RuleFileScope, ruleFileScope, scopeResourceTypes, templateFacts } from '../lib/validation/rule-file-scope';
import { stacks } from './support/assembly';
import { rememberedResult } from './support/test-result-cache';
import { testAssemblyDir } from './support/synthesize';

/**
 * cfn-guard runs a rule file only on templates it can report on
 * (lib/validation/rule-file-scope.ts). Leaving a file out may only ever save
 * work: on the real assembly, every rule file left out of a template is one
 * that cfn-guard itself reports as not applicable there, so the findings are
 * those of running every rule file; and a file whose selection matches a
 * resource of the template always runs.
 */

const CONTROL_TOWER_RULE_FILES = guardRuleFiles(CONTROL_TOWER_RULES_DIRECTORY);
const PROJECT_RULE_FILES = guardRuleFiles(PROJECT_RULES_DIRECTORY);
const scopeOf = (file: string) => ruleFileScope(fs.readFileSync(file, 'utf8'));
const template = (resources: Record<string, { Type: unknown }>, extra: Record<string, unknown> = {}) => templateFacts(JSON.stringify({ Resources: resources, ...extra }));
const resourcesOfTypes = (types: readonly string[]) => Object.fromEntries(types.map((type, i) => [`Resource${i}`, { Type: type }]));

/** A Control Tower-shaped rule file selecting `selection` (a `let` expression) and guarding its rule with `when`. */
function ruleFile(selection: string, when = 'is_cfn_template(%INPUT_DOCUMENT)\n    %selected not empty', hookBody = '%doc.%RESOURCE_TYPE.resourceProperties exists'): string {
  return [
    '# A rule file in the Control Tower layout; { braces, "quotes" and or in comments are ignored',
    'let RESOURCE_TYPE = "AWS::SQS::Queue"',
    'let INPUT_DOCUMENT = this',
    `let selected = ${selection}`,
    `rule queue_check when ${when} {`,
    '    %selected.Properties.KmsMasterKeyId exists',
    '    << [CT.SQS.PR.2]: { unbalanced or "quoted" text in a message >>',
    '}',
    'rule queue_check when is_cfn_hook(%INPUT_DOCUMENT, %RESOURCE_TYPE) {',
    '    %INPUT_DOCUMENT.%RESOURCE_TYPE.resourceProperties.KmsMasterKeyId exists',
    '}',
    'rule is_cfn_template(doc) {',
    '    %doc {',
    '        AWSTemplateFormatVersion exists or',
    '        Resources exists',
    '    }',
    '}',
    'rule is_cfn_hook(doc, RESOURCE_TYPE) {',
    `    ${hookBody}`,
    '}',
    '',
  ].join('\n');
}

describe('ruleFileScope', () => {
  test('reads the Control Tower layout: the rule applies only where its selection can select something', () => {
    const scope = ruleFileScope(ruleFile('Resources.*[ Type == %RESOURCE_TYPE ]'));
    expect(scopeResourceTypes(scope)).toEqual(['AWS::SQS::Queue']);
    expect(mayApply(scope, template(resourcesOfTypes(['AWS::SQS::Queue', 'AWS::S3::Bucket'])))).toBe(true);
    expect(mayApply(scope, template(resourcesOfTypes(['AWS::S3::Bucket'])))).toBe(false);
    expect(mayApply(scope, templateFacts('{}'))).toBe(false);
  });

  test('a hook rule applies where the document has the resource type as a top-level key (a CloudFormation hook input)', () => {
    const scope = ruleFileScope(ruleFile('Resources.*[ Type == %RESOURCE_TYPE ]'));
    expect(mayApply(scope, templateFacts(JSON.stringify({ 'AWS::SQS::Queue': { resourceProperties: {} } })))).toBe(true);
  });

  test('a selection by several types (== joined by or, or in a list) applies where any of them is', () => {
    for (const selection of [
      'Resources.*[\n    Type == %RESOURCE_TYPE or\n    Type == "AWS::SNS::Topic"\n]',
      'Resources[ Type in [ "AWS::SNS::Topic", "AWS::SQS::Queue" ] ]',
      "Resources.*[ Type == 'AWS::SNS::Topic' |OR| Type == %RESOURCE_TYPE ]",
    ]) {
      const scope = ruleFileScope(ruleFile(selection));
      expect(scopeResourceTypes(scope)).toEqual(['AWS::SNS::Topic', 'AWS::SQS::Queue']);
      expect(mayApply(scope, template(resourcesOfTypes(['AWS::SNS::Topic'])))).toBe(true);
      expect(mayApply(scope, template(resourcesOfTypes(['AWS::S3::Bucket'])))).toBe(false);
    }
  });

  test('a selection narrowed by more clauses, or projected further, still selects only its type', () => {
    for (const selection of [
      "Resources.*[\n    Type == %RESOURCE_TYPE\n    Properties.FifoQueue exists\n    Metadata.guard.SuppressedRules not exists or\n    Metadata.guard.SuppressedRules.* != 'X'\n]",
      "Resources.*[ Type == 'AWS::SQS::Queue' ].Properties.RedrivePolicy[ maxReceiveCount exists ].deadLetterTargetArn",
      'Resources.*[\n    Properties.FifoQueue exists\n    Type == %RESOURCE_TYPE\n]',
    ]) {
      const scope = ruleFileScope(ruleFile(selection));
      expect(scopeResourceTypes(scope)).toEqual(['AWS::SQS::Queue']);
      expect(mayApply(scope, template(resourcesOfTypes(['AWS::S3::Bucket'])))).toBe(false);
    }
  });

  test('a when of selections joined by or applies where any of them selects something', () => {
    const text = [
      "let queues = Resources.*[ Type == 'AWS::SQS::Queue' ]",
      "let topics = Resources.*[ Type == 'AWS::SNS::Topic' ]",
      "let keys = Resources.*[ Type == 'AWS::KMS::Key' ]",
      'rule MESSAGING when %queues !empty or %topics !empty %keys !empty {',
      '    %keys.Properties.EnableKeyRotation == true',
      '}',
    ].join('\n');
    const scope = ruleFileScope(text);
    expect(scopeResourceTypes(scope)).toEqual(['AWS::KMS::Key', 'AWS::SNS::Topic', 'AWS::SQS::Queue']);
    expect(mayApply(scope, template(resourcesOfTypes(['AWS::SNS::Topic', 'AWS::KMS::Key'])))).toBe(true);
    expect(mayApply(scope, template(resourcesOfTypes(['AWS::SQS::Queue', 'AWS::KMS::Key'])))).toBe(true);
    expect(mayApply(scope, template(resourcesOfTypes(['AWS::SNS::Topic'])))).toBe(false);
    expect(mayApply(scope, template(resourcesOfTypes(['AWS::KMS::Key'])))).toBe(false);
  });

  test('a clause that begins with some, not, ! or % on the line after a type comparison is another AND-ed clause', () => {
    for (const clause of [
      "some Properties.AssumeRolePolicyDocument.Statement[*].Principal.Service == 'fis.amazonaws.com'",
      'some Properties.Statement[*] {\n        Effect == "Allow"\n        Principal.AWS exists\n    }',
      'not Properties.FifoQueue exists',
      '!Properties.FifoQueue empty',
      '%RESOURCE_TYPE exists',
    ]) {
      const scope = ruleFileScope(ruleFile(`Resources.*[\n    Type == %RESOURCE_TYPE\n    ${clause}\n]`));
      expect({ clause, types: scopeResourceTypes(scope) }).toEqual({ clause, types: ['AWS::SQS::Queue'] });
      expect(mayApply(scope, template(resourcesOfTypes(['AWS::S3::Bucket'])))).toBe(false);
    }
  });

  test('a path or filter into another file-level selection selects only that selection\'s types', () => {
    const text = [
      "let targets = Resources.*[ Type == 'AWS::ApplicationAutoScaling::ScalableTarget' ]",
      "let ids = %targets.Properties.ResourceId.'Fn::Join'[1][3].'Fn::GetAtt'[0]",
      "let policies = Resources.*[ Type in ['AWS::IAM::ManagedPolicy', 'AWS::IAM::Policy'] ]",
      "let deletions = %policies.Properties.PolicyDocument.Statement[\n    Effect == 'Allow'\n    Action == 'rds:*' or\n    some Action[*] == 'rds:*'\n]",
      'rule ZERO when %ids !empty { Resources exists }',
      'rule DELETIONS when %deletions !empty { Resources exists }',
    ].join('\n');
    const scope = ruleFileScope(text);
    expect(scopeResourceTypes(scope)).toEqual(['AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::Policy']);
    expect(mayApply(scope, template(resourcesOfTypes(['AWS::IAM::Policy'])))).toBe(true);
    expect(mayApply(scope, template(resourcesOfTypes(['AWS::IAM::Role'])))).toBe(false);
  });

  test.each([
    ['a rule without when', 'rule ANY { Resources exists }\n'],
    ['an or that joins a clause it cannot judge', ruleFile('Resources.*[ Type == %RESOURCE_TYPE ]', 'is_cfn_template(%INPUT_DOCUMENT) or\n    %selected not empty')],
    ['a query in the when clause itself', "rule RETENTION when Resources.*[ Type == 'AWS::Logs::LogGroup' ] !empty {\n  Resources.*.Properties.RetentionInDays exists\n}\n"],
    ['a type comparison joined by or to another clause', ruleFile('Resources.*[\n    Type == %RESOURCE_TYPE or\n    Properties.FifoQueue exists\n]')],
    ['a type comparison beside another clause on its line', ruleFile('Resources.*[ Type == %RESOURCE_TYPE Properties.FifoQueue exists ]')],
    ['a type comparison split over two lines', ruleFile("Resources.*[\n    Type ==\n    'AWS::SQS::Queue'\n]")],
    ['a selection followed by something other than a path', ruleFile('Resources.*[ Type == %RESOURCE_TYPE ] or Resources.*')],
    ['a negated type comparison', ruleFile('Resources.*[ Type != %RESOURCE_TYPE ]')],
    ['a type matched by a regular expression', ruleFile('Resources.*[ Type == /AWS::SQS::.*/ ]')],
    ['a list compared with ==', ruleFile('Resources.*[ Type == ["AWS::SQS::Queue"] ]')],
    ['a when clause it does not know', ruleFile('Resources.*[ Type == %RESOURCE_TYPE ]', 'is_cfn_template(%INPUT_DOCUMENT)\n    some %selected.Properties exists')],
    ['a hook rule with another body', ruleFile('Resources.*[ Type == %RESOURCE_TYPE ]', undefined, '%doc.Resources exists')],
    ['an unterminated string', `${ruleFile('Resources.*[ Type == %RESOURCE_TYPE ]')}let broken = "AWS::SQS::Queue\n`],
    ['a constant defined twice', `${ruleFile('Resources.*[ Type == %RESOURCE_TYPE ]')}let RESOURCE_TYPE = "AWS::S3::Bucket"\n`],
    ['a statement that is neither let nor rule', `${ruleFile('Resources.*[ Type == %RESOURCE_TYPE ]')}Resources.*.Type exists\n`],
    ['no rule that runs on its own', 'rule check(value) { %value exists }\n'],
    ['a type comparison the next line carries on', ruleFile("Resources.*[\n    Type == %RESOURCE_TYPE\n    == 'AWS::SNS::Topic'\n]")],
    ['a selection of a variable that is not a file-level selection', ruleFile('%INPUT_DOCUMENT.Resources.*')],
    ['a selection of a variable it does not define', ruleFile('%queues.Properties')],
    ['selections that refer to each other', 'let a = %b.Properties\nlet b = %a.Properties\nrule R when %a !empty { Resources exists }\n'],
    ['a selection of a selection followed by something other than a path', ruleFile("%INPUT_DOCUMENT or Resources.*[ Type == 'AWS::SQS::Queue' ]")],

  ])('runs on every template when it finds %s', (_case, text) => {
    const scope = ruleFileScope(text);
    expect(scope.kind).toBe('every-template');
    expect(mayApply(scope, templateFacts('{"Resources": {}}'))).toBe(true);
  });

  test('every Control Tower rule file is read as scoped (a file it could not read would still run, on every template)', () => {
    const unread = CONTROL_TOWER_RULE_FILES.map((file) => [ruleFileId(file), scopeOf(file)] as const).filter(([, scope]) => scope.kind !== 'scoped');
    expect(unread.map(([id, scope]) => `${id}: ${(scope as { reason: string }).reason}`)).toEqual([]);
    expect(CONTROL_TOWER_RULE_FILES.length).toBeGreaterThan(200);
  });
});

describe('the project\'s rule files', () => {
  test('are all read as scoped (policy/README.md says how to write one that is)', () => {
    const unread = PROJECT_RULE_FILES.map((file) => [ruleFileId(file), scopeOf(file)] as const).filter(([, scope]) => scope.kind !== 'scoped');
    expect(unread.map(([id, scope]) => `${id}: ${(scope as { reason: string }).reason}`)).toEqual([]);
    expect(PROJECT_RULE_FILES.length).toBeGreaterThan(30);
  });
});

describe('templateFacts', () => {
  test.each([
    ['a template that is not JSON', '{"Resources": {'],
    ['a template that is not an object', '[]'],
    ['a resource whose Type is not a string', JSON.stringify({ Resources: { Queue: { Type: { 'Fn::Sub': 'AWS::SQS::Queue' } } } })],
    ['Resources that are not an object', JSON.stringify({ Resources: ['AWS::SQS::Queue'] })],
  ])('runs every rule file on %s', (_case, text) => {
    const scope = ruleFileScope(ruleFile('Resources.*[ Type == %RESOURCE_TYPE ]'));
    expect(mayApply(scope, templateFacts(text))).toBe(true);
  });
});

describe('the README', () => {
  test('states how many rule files are scoped, as they are', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const stated = /all (\d+) Control Tower files and (\d+) of the (\d+) project rule files are scoped/.exec(readme);
    expect(stated).not.toBeNull();
    const scoped = (files: readonly string[]) => files.filter((file) => scopeOf(file).kind === 'scoped').length;
    expect(stated!.slice(1).map(Number)).toEqual([CONTROL_TOWER_RULE_FILES.length, scoped(PROJECT_RULE_FILES), PROJECT_RULE_FILES.length]);
    expect(scoped(CONTROL_TOWER_RULE_FILES)).toBe(CONTROL_TOWER_RULE_FILES.length);
  });
});

describe('a rule file whose selection matches is never left out', () => {
  /** Every choice, for each rule, of one type or key from each of its groups (the rule's when is AND of the groups, OR within one). */
  function templatesThatSelect(scope: RuleFileScope): { types: string[]; keys: string[] }[] {
    if (scope.kind !== 'scoped') return [];
    return scope.rules.flatMap((rule) =>
      rule.groups.reduce<{ types: string[]; keys: string[] }[]>(
        (choices, group) =>
          choices.flatMap((chosen) =>
            group.flatMap((clause) => ('types' in clause ? [...clause.types].map((type) => ({ types: [...chosen.types, type], keys: chosen.keys })) : [{ types: chosen.types, keys: [...chosen.keys, clause.topLevelKey] }])),
          ),
        [{ types: [], keys: [] }],
      ),
    );
  }

  test.each([
    ['Control Tower', CONTROL_TOWER_RULE_FILES],
    ['project', PROJECT_RULE_FILES],
  ])('%s rule files: a template with one resource of each type a rule selects runs the file', (_set, files) => {
    let checked = 0;
    for (const file of files) {
      for (const { types, keys } of templatesThatSelect(scopeOf(file))) {
        const facts = template(resourcesOfTypes([...types, 'AWS::CloudFormation::WaitConditionHandle']), Object.fromEntries(keys.map((key) => [key, { resourceProperties: {} }])));
        if (!mayApply(scopeOf(file), facts)) throw new Error(`${ruleFileId(file)} was left out of a template with ${[...types, ...keys].join(', ')}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(files.filter((file) => scopeOf(file).kind === 'scoped').length);
  });

  test('the plugin runs a matching file, and its findings are those of every rule file', () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-rule-file-scope-'));
    try {
      const templatePath = path.join(directory, 'Queue.template.json');
      fs.writeFileSync(templatePath, JSON.stringify({ Resources: { Logs: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 90 } }, Queue: { Type: 'AWS::SQS::Queue' } } }));
      const plugin = new CfnGuardPlugin({ name: CONTROL_TOWER_PLUGIN_NAME, ruleFiles: CONTROL_TOWER_RULE_FILES });
      const context = { templatePaths: [templatePath], stackTemplates: [{ templatePath, stackConstructPath: 'Queue', accountId: '111111111111', region: 'us-east-1' }], appConstruct: new App() } as IPolicyValidationContext;
      const report = plugin.validate(context);
      const ruleNames = (violations: readonly { ruleName: string }[]) => violations.map((v) => v.ruleName).sort();
      expect(ruleNames(report.violations)).toEqual(ruleNames(runCfnGuard([templatePath], CONTROL_TOWER_RULE_FILES, 1).get(templatePath)!));
      expect(ruleNames(report.violations)).toEqual(expect.arrayContaining(['cloudwatch_log_group_retention_period_check', 'sqs_dlq_check', 'sqs_queue_encrypted_check']));
      expect(Number(report.metadata!.ruleFilesSkipped)).toBeGreaterThan(CONTROL_TOWER_RULE_FILES.length / 2);
      expect(Number(report.metadata!.ruleFilesRun) + Number(report.metadata!.ruleFilesSkipped)).toBe(CONTROL_TOWER_RULE_FILES.length);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('on the real assembly', () => {
  interface GuardRecord {
    readonly name: string;
    readonly compliant: string[];
    readonly not_compliant: unknown[];
  }

  const GUARD_OUTPUT_FLAGS = ['--output-format', 'json', '--show-summary', 'none', '--structured'];

  /** cfn-guard itself (the binary, with the library's flags) on one template with these rule files: exit code, stderr and one record per template. */
  function cfnGuard(templatePath: string, ruleFiles: readonly string[]): Promise<{ status: number | null; stderr: string; records: GuardRecord[] }> {
    return new Promise((resolve, reject) => {
      const child = spawn(cfnGuardBinary(), ['validate', ...ruleFiles.flatMap((f) => ['--rules', f]), '--data', templatePath, ...GUARD_OUTPUT_FLAGS]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stderr, records: stdout.trim() ? (JSON.parse(stdout) as GuardRecord[]) : [] }));
    });
  }

  /**
   * cfnGuard, or its result from an earlier run of the suite on the same binary, template bytes and rule files
   * (test/support/test-result-cache.ts): this proof costs about 12 times cfn-guard's own work in a synth, and
   * cfn-guard gives the same answer to the same input. Only a clean pass is kept.
   */
  const rememberedCfnGuard = (templatePath: string, ruleFiles: readonly string[]) =>
    rememberedResult(
      'rule-file-scope-left-out',
      [fileFingerprint(cfnGuardBinary()), GUARD_OUTPUT_FLAGS.join(' '), fs.readFileSync(templatePath), ...ruleFiles.flatMap((file) => [ruleFileId(file), fs.readFileSync(file)])],
      () => cfnGuard(templatePath, ruleFiles),
      (result) => result.status === 0 && result.stderr.trim() === '' && result.records.length === 1 && result.records[0].compliant.length === 0 && result.records[0].not_compliant.length === 0,
    );

  const templatePaths = () => stacks().map((stack) => path.join(testAssemblyDir(), stack.templateFile));

  test.each([
    ['Control Tower', CONTROL_TOWER_RULE_FILES],
    ['project', PROJECT_RULE_FILES],
  ])('every %s rule file left out of a template is one cfn-guard finds nothing to check in there (so the findings are those of every file)', async (_set, ruleFiles) => {
    const plugin = new CfnGuardPlugin({ name: 'scope-under-test', ruleFiles });
    const leftOut = templatePaths().map((templatePath) => {
      const run = new Set(plugin.ruleFilesFor(fs.readFileSync(templatePath, 'utf8')));
      return { templatePath, ruleFiles: ruleFiles.filter((file) => !run.has(file)) };
    });
    // Dearest first (cfn-guard's work is about rule files x template size), so that no large template starts last.
    const work = (t: { templatePath: string; ruleFiles: readonly string[] }) => t.ruleFiles.length * fs.statSync(t.templatePath).size;
    const checks = leftOut.filter((t) => t.ruleFiles.length > 0).sort((a, b) => work(b) - work(a));
    // Two cfn-guard processes at a time (the machine's two cores), each taking the next template as soon as it is done:
    // in lock-step pairs a small template waited for the large one beside it. The test's cost is what the synth saves.
    const results: { templatePath: string; status: number | null; stderr: string; records: GuardRecord[] }[] = new Array(checks.length);
    let next = 0;
    const slot = async () => {
      while (next < checks.length) {
        const k = next++;
        results[k] = { templatePath: checks[k].templatePath, ...(await rememberedCfnGuard(checks[k].templatePath, checks[k].ruleFiles)) };
      }
    };
    await Promise.all([slot(), slot()]);
    expect(results.filter((result) => result !== undefined)).toHaveLength(checks.length);
    for (const result of results) {
      const name = path.basename(result.templatePath);
      expect({ name, status: result.status, stderr: result.stderr.trim() }).toEqual({ name, status: 0, stderr: '' });
      expect(result.records).toHaveLength(1);
      expect({ name, compliant: result.records[0].compliant, notCompliant: result.records[0].not_compliant }).toEqual({ name, compliant: [], notCompliant: [] });
    }
    if (ruleFiles === CONTROL_TOWER_RULE_FILES) {
      // The point of it: most Control Tower files can say nothing about most templates.
      const pairs = leftOut.length * ruleFiles.length;
      expect(leftOut.reduce((sum, t) => sum + t.ruleFiles.length, 0)).toBeGreaterThan(pairs / 2);
    }
    // cfn-guard's own time on the files left out: about what every synth saves (40 s of CPU on an idle machine); a limit, not a timing.
  }, 20 * 60 * 1000);
});
