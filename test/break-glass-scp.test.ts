import * as fs from 'node:fs';
import * as path from 'node:path';
import { type DefaultStackSynthesizer, Stack } from 'aws-cdk-lib';
import { BREAK_GLASS_ROLE_NAME, KEY_DESTRUCTION_ACTIONS } from '../constructs/encryption-key';
import { ENVIRONMENT_NAMES } from '../lib/config';
import { databaseSecretName, originVerifySecretName } from '../lib/naming';
import { SECRET_POLICY_ACTIONS } from '../lib/secret-policy-guard';
import { stacks, templateJson } from './support/assembly';
import { testApp } from './support/synthesize';

/**
 * The service control policy of runbooks/break-glass.md, read from the
 * runbook's JSON block (what the organization pastes) and evaluated as AWS
 * Organizations evaluates an SCP of Deny statements: a request is refused when
 * a statement's Action, Resource and every condition match. Only the
 * condition operators the SCP uses are understood; any other fails the test
 * rather than be read wrongly.
 */
interface Statement {
  readonly Sid: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}
interface Scp {
  readonly Version: string;
  readonly Statement: Statement[];
}

const RUNBOOK = path.join(__dirname, '..', 'runbooks', 'break-glass.md');
const SCP_HEADING = '### SCP `BodyScriptProtectRecoveryPoints`';

function scpText(): string {
  const runbook = fs.readFileSync(RUNBOOK, 'utf8');
  const at = runbook.indexOf(SCP_HEADING);
  if (at < 0) throw new Error(`${RUNBOOK} has no heading ${SCP_HEADING}`);
  const block = /```json\n([\s\S]*?)\n```/.exec(runbook.slice(at));
  if (!block) throw new Error(`${RUNBOOK}: no json block under ${SCP_HEADING}`);
  return block[1];
}
const scp = (): Scp => JSON.parse(scpText()) as Scp;

const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
/** IAM's wildcard match: `*` any run of characters, `?` one; actions are case-insensitive. */
function matches(pattern: string, value: string, caseInsensitive = false): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, caseInsensitive ? 'i' : '').test(value);
}

interface Request {
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
}

function conditionHolds(operator: string, key: string, patterns: string[], request: Request): boolean {
  if (key !== 'aws:PrincipalArn') throw new Error(`the SCP uses condition key ${key}, which this test does not evaluate`);
  const any = patterns.some((pattern) => matches(pattern, request.principal));
  if (operator === 'ArnLike') return any;
  if (operator === 'ArnNotLike') return !any;
  throw new Error(`the SCP uses condition operator ${operator}, which this test does not evaluate`);
}

/** The Sids of the statements that refuse the request. */
function refusedBy(policy: Scp, request: Request): string[] {
  return policy.Statement.filter(
    (s) =>
      s.Effect === 'Deny' &&
      list(s.Action).some((a) => matches(a, request.action, true)) &&
      list(s.Resource).some((r) => matches(r, request.resource)) &&
      Object.entries(s.Condition ?? {}).every(([operator, keys]) => Object.entries(keys).every(([key, value]) => conditionHolds(operator, key, list(value), request))),
  ).map((s) => s.Sid);
}

const ACCOUNT = '222222222222';
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const BREAK_GLASS = role(BREAK_GLASS_ROLE_NAME);
/** CDK's bootstrap execution role in the production account's primary region, as the default synthesizer names it. */
const CLOUDFORMATION = (new Stack(testApp(), 'Bootstrap', { env: { account: ACCOUNT, region: 'us-east-1' } }).synthesizer as DefaultStackSynthesizer).cloudFormationExecutionRoleArn.replace('${AWS::Partition}', 'aws');
const ADMINISTRATOR = role('AWSReservedSSO_AdministratorAccess_0123456789abcdef');
const OPERATIONS = role('BodyScript-Production-Operations');

const secretArn = (name: string, region = 'us-east-1') => `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${name}-AbC123`;
const DATABASE_SECRET = secretArn(databaseSecretName('production'));
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

describe('the SCP of runbooks/break-glass.md', () => {
  test('is one policy of Deny statements with unique Sids and service:Action names, within the 5,120 characters AWS Organizations allows once minified', () => {
    const policy = scp();
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement.length).toBeGreaterThan(0);
    for (const statement of policy.Statement) {
      expect(statement.Effect).toBe('Deny');
      for (const action of list(statement.Action)) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z*]+$/);
    }
    expect(new Set(policy.Statement.map((s) => s.Sid)).size).toBe(policy.Statement.length);
    // Organizations counts every character of a policy saved through the API or CLI; the runbook says to minify.
    expect(JSON.stringify(policy).length).toBeLessThanOrEqual(5120);
  });

  test.each([
    ['schedule a key\'s deletion', { action: 'kms:ScheduleKeyDeletion', resource: KEY }],
    ['disable a key', { action: 'kms:DisableKey', resource: KEY }],
    ['delete a recovery point', { action: 'backup:DeleteRecoveryPoint', resource: `arn:aws:backup:us-east-1:${ACCOUNT}:recovery-point:x` }],
    ['remove a vault lock', { action: 'backup:DeleteBackupVaultLockConfiguration', resource: `arn:aws:backup:us-east-1:${ACCOUNT}:backup-vault:bodyscript-production-vault` }],
    ['delete the database', { action: 'rds:DeleteDBInstance', resource: `arn:aws:rds:us-east-1:${ACCOUNT}:db:bodyscript-production-postgres` }],
    ['bypass an Object Lock retention', { action: 's3:BypassGovernanceRetention', resource: 'arn:aws:s3:::bodyscript-production-results-x/y' }],
    ['replace the database secret\'s resource policy', { action: 'secretsmanager:PutResourcePolicy', resource: DATABASE_SECRET }],
    ['remove the database secret\'s resource policy', { action: 'secretsmanager:DeleteResourcePolicy', resource: DATABASE_SECRET }],
    ['remove the replica\'s resource policy in the standby region', { action: 'secretsmanager:DeleteResourcePolicy', resource: secretArn(databaseSecretName('production'), 'us-west-2') }],
    ['delete the database secret', { action: 'secretsmanager:DeleteSecret', resource: DATABASE_SECRET }],
    ['replace the origin-verify secret\'s resource policy', { action: 'secretsmanager:PutResourcePolicy', resource: secretArn(originVerifySecretName('production')) }],
  ])('refuses an administrator to %s, and lets the break-glass role', (_what, request) => {
    expect(refusedBy(scp(), { principal: ADMINISTRATOR, ...request })).not.toEqual([]);
    expect(refusedBy(scp(), { principal: BREAK_GLASS, ...request })).toEqual([]);
  });

  test('never locks the deploy out: CloudFormation may replace and remove the secrets\' resource policies (it applies AWS::SecretsManager::ResourcePolicy with them), and still cannot delete a secret or a key', () => {
    for (const name of ENVIRONMENT_NAMES.flatMap((env) => [databaseSecretName(env), originVerifySecretName(env)])) {
      for (const action of SECRET_POLICY_ACTIONS) {
        expect(refusedBy(scp(), { principal: CLOUDFORMATION, action, resource: secretArn(name) })).toEqual([]);
        expect(refusedBy(scp(), { principal: ADMINISTRATOR, action, resource: secretArn(name) })).not.toEqual([]);
      }
    }
    expect(refusedBy(scp(), { principal: CLOUDFORMATION, action: 'secretsmanager:DeleteSecret', resource: DATABASE_SECRET })).not.toEqual([]);
    for (const action of KEY_DESTRUCTION_ACTIONS) expect(refusedBy(scp(), { principal: CLOUDFORMATION, action, resource: KEY })).not.toEqual([]);
  });

  test('leaves alone what it is not about: reading secrets, policies of other secrets, the operations role\'s release snapshots', () => {
    expect(refusedBy(scp(), { principal: ADMINISTRATOR, action: 'secretsmanager:GetSecretValue', resource: DATABASE_SECRET })).toEqual([]);
    expect(refusedBy(scp(), { principal: ADMINISTRATOR, action: 'secretsmanager:PutResourcePolicy', resource: secretArn('another-team/api-key') })).toEqual([]);
    expect(refusedBy(scp(), { principal: OPERATIONS, action: 'rds:DeleteDBSnapshot', resource: `arn:aws:rds:us-east-1:${ACCOUNT}:snapshot:production-pre-1-2-3` })).toEqual([]);
    expect(refusedBy(scp(), { principal: OPERATIONS, action: 'rds:DeleteDBInstance', resource: `arn:aws:rds:us-east-1:${ACCOUNT}:db:bodyscript-production-postgres` })).not.toEqual([]);
  });

  test('nobody, the break-glass role included, leaves the organization or changes the break-glass role', () => {
    expect(refusedBy(scp(), { principal: BREAK_GLASS, action: 'organizations:LeaveOrganization', resource: '*' })).not.toEqual([]);
    expect(refusedBy(scp(), { principal: BREAK_GLASS, action: 'iam:UpdateAssumeRolePolicy', resource: BREAK_GLASS })).not.toEqual([]);
  });

  test('agrees with the secrets\' own resource policies in every template: whom they let change a policy, the SCP lets too, and nobody else', () => {
    const checked: string[] = [];
    for (const stack of stacks()) {
      const resources = templateJson(stack.templateFile.replace(/\.template\.json$/, '')).Resources;
      for (const [id, resource] of Object.entries(resources)) {
        if (resource.Type !== 'AWS::SecretsManager::ResourcePolicy') continue;
        const secret = resources[(resource.Properties!.SecretId as { Ref: string }).Ref];
        const name = secret.Properties!.Name as string;
        const statements = (resource.Properties!.ResourcePolicy as { Statement: PolicyStatementJson[] }).Statement;
        const guard = statements.find((s) => s.Effect === 'Deny' && SECRET_POLICY_ACTIONS.every((action) => list(s.Action).includes(action)));
        expect(guard).toBeDefined();
        const exempted = guard!.Condition!.ArnNotEquals['aws:PrincipalArn'];
        const exempt = (Array.isArray(exempted) ? exempted : [exempted]).map(literalArn);
        expect(exempt).toHaveLength(2);
        for (const principal of exempt) {
          for (const action of SECRET_POLICY_ACTIONS) expect(refusedBy(scp(), { principal, action, resource: secretArn(name) })).toEqual([]);
        }
        for (const action of SECRET_POLICY_ACTIONS) expect(refusedBy(scp(), { principal: ADMINISTRATOR, action, resource: secretArn(name) })).not.toEqual([]);
        expect(refusedBy(scp(), { principal: ADMINISTRATOR, action: 'secretsmanager:DeleteSecret', resource: secretArn(name) })).not.toEqual([]);
        checked.push(`${stack.displayName}/${id}`);
      }
    }
    expect(checked.sort()).toEqual([
      'BodyScript-Production-Data/DatabaseInstanceSecretPolicy65FDD7B2',
      'BodyScript-Production-Services/OriginVerifySecretPolicyE49070DC',
      'BodyScript-Staging-Data/DatabaseInstanceSecretPolicy65FDD7B2',
      'BodyScript-Staging-Services/OriginVerifySecretPolicyE49070DC',
    ]);
  });
});

interface PolicyStatementJson {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** A principal ARN of a template: a literal, or CDK's Fn::Sub of the bootstrap role with only the partition left to fill. */
function literalArn(value: unknown): string {
  if (typeof value === 'string') return value;
  const sub = (value as { 'Fn::Sub'?: unknown })['Fn::Sub'];
  if (typeof sub === 'string' && !/\$\{(?!AWS::Partition\})/.test(sub)) return sub.replace('${AWS::Partition}', 'aws');
  throw new Error(`a principal ARN this test cannot read: ${JSON.stringify(value)}`);
}

describe('the evaluator of this test', () => {
  test('refuses an operator it does not understand rather than misread it', () => {
    const policy: Scp = { Version: '2012-10-17', Statement: [{ Sid: 'X', Effect: 'Deny', Action: 'kms:*', Resource: '*', Condition: { StringNotEquals: { 'aws:PrincipalArn': 'x' } } }] };
    expect(() => refusedBy(policy, { principal: ADMINISTRATOR, action: 'kms:DisableKey', resource: KEY })).toThrow(/StringNotEquals/);
  });
});
