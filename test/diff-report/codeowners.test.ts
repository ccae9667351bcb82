import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataStackOwners, STATEFUL_CODE_PATHS } from '../../lib/diff-report/allowance';
import { formatOwner, ownersOf, parseCodeOwners } from '../../lib/diff-report/codeowners';

const ROOT = path.join(__dirname, '..', '..');

describe('CODEOWNERS patterns, as GitHub documents them', () => {
  const file = parseCodeOwners(
    [
      '# comment',
      '*       @org/everyone',
      '*.js    @js-owner',
      '/build/logs/ @doctocat',
      '/build/ @builder',
      'docs/*  docs@example.com',
      'apps/   @octocat',
      '/scripts/ @doctocat @octocat # trailing comment',
      '**/logs @octocat',
      '/apps/github',
      'path\\#with-hash @hash-owner',
    ].join('\n'),
  );
  const owners = (p: string) => ownersOf(file, p).map(formatOwner);

  test.each([
    ['README.md', ['@org/everyone']],
    ['src/index.js', ['@js-owner']],
    // `/build/logs/` matches, but the later `**/logs` wins.
    ['build/logs/today.txt', ['@octocat']],
    ['build/today.txt', ['@builder']],
    ['docs/getting-started.md', ['docs@example.com']],
    // GitHub: `docs/*` does not match files in subdirectories of docs.
    ['docs/build-app/troubleshooting.md', ['@org/everyone']],
    // `apps/` without a leading slash: an apps directory anywhere.
    ['web/apps/main.ts', ['@octocat']],
    ['scripts/deploy.sh', ['@doctocat', '@octocat']],
    ['deeply/nested/logs/file.txt', ['@octocat']],
    // The last matching rule wins, and a rule without owners leaves the path unowned.
    ['apps/github/index.ts', []],
    ['path#with-hash', ['@hash-owner']],
  ])('%s is owned by %j', (p, expected) => {
    expect(owners(p)).toEqual(expected);
  });

  test('unsupported syntax and malformed owners are reported, not guessed at', () => {
    const parsed = parseCodeOwners('!negated @a\n[Bb]uild @b\n/ok @c not-an-owner\n');
    expect(parsed.errors).toEqual([
      "line 1: '!negated' uses a pattern GitHub does not support (no '!' negation, no [ ] ranges)",
      "line 2: '[Bb]uild' uses a pattern GitHub does not support (no '!' negation, no [ ] ranges)",
      "line 3: 'not-an-owner' is not an owner (expected @user, @org/team or an e-mail address)",
    ]);
    expect(ownersOf(parsed, 'ok').map(formatOwner)).toEqual(['@c']);
  });
});

describe("the repository's CODEOWNERS", () => {
  const codeOwners = parseCodeOwners(fs.readFileSync(path.join(ROOT, '.github', 'CODEOWNERS'), 'utf8'));
  const ownersOfPath = (p: string) => ownersOf(codeOwners, p).map(formatOwner);

  test('is valid', () => {
    expect(codeOwners.errors).toEqual([]);
  });

  test('the data-stack files that define who may allow a stateful change exist and have the same team as owner', () => {
    for (const p of STATEFUL_CODE_PATHS) expect(fs.existsSync(path.join(ROOT, p))).toBe(true);
    expect(dataStackOwners(codeOwners).map(formatOwner)).toEqual(['@bodyscript/data-owners']);
    for (const p of STATEFUL_CODE_PATHS) expect(ownersOfPath(p)).toEqual(['@bodyscript/data-owners']);
  });

  test.each([
    '.github/workflows/ci.yml',
    '.github/workflows/stateful-change-gate.yml',
    '.github/CODEOWNERS',
    'lib/diff-report/stateful.ts',
    'lib/diff-report/allowance.ts',
    'bin/stateful-gate.ts',
    'bin/diff-report.ts',
    'package.json',
    'package-lock.json',
    'cdk.json',
    'lib/stacks/github-stack.ts',
    'lib/github-repository.ts',
    'lib/github-settings/desired.ts',
    'bin/github-settings.ts',
    'lib/github-cli.ts',
  ])('%s (what decides whether a change is safe, or what the pipeline runs) needs the data owners', (p) => {
    expect(ownersOfPath(p)).toContain('@bodyscript/data-owners');
  });

  test('the backup account\'s vault stack is a stateful code path: a change that weakens it needs a data owner\'s approval', () => {
    expect(STATEFUL_CODE_PATHS).toEqual(['lib/stacks/data-stack.ts', 'lib/stacks/standby-data-stack.ts', 'lib/stacks/backup-vault-stack.ts']);
    expect(ownersOfPath('lib/stacks/backup-vault-stack.ts')).toEqual(['@bodyscript/data-owners']);
  });

  test.each(['constructs/daily-backups.ts', 'constructs/database-roles.ts', 'lambda/database-roles/index.cjs', 'lambda/database-roles/dist/index.js'])(
    '%s (backups, or who may read and write the database) needs the data owners',
    (p) => {
      expect(ownersOfPath(p)).toEqual(['@bodyscript/data-owners']);
    },
  );

  test('every other path has an owner', () => {
    expect(ownersOfPath('lib/stacks/services-stack.ts')).toEqual(['@bodyscript/platform']);
    expect(ownersOfPath('runbooks/rollback.md')).toEqual(['@bodyscript/platform']);
  });
});
