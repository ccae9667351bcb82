/**
 * GitHub's CODEOWNERS file, read the way GitHub reads it: one rule a line
 * (`pattern owner...`), `#` comments, the LAST matching rule wins, a rule with
 * no owners leaves its paths unowned. Patterns follow gitignore except that
 * GitHub supports neither `!` negation nor `[...]` ranges, and `dir/*` matches
 * only the files directly in `dir`.
 * https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners
 */

/** An owner as written: `@user`, `@org/team` or an e-mail address. */
export type Owner =
  | { readonly kind: 'user'; readonly login: string }
  | { readonly kind: 'team'; readonly org: string; readonly slug: string }
  | { readonly kind: 'email'; readonly email: string };

export interface CodeOwnersRule {
  readonly line: number;
  readonly pattern: string;
  readonly owners: readonly Owner[];
  readonly matcher: RegExp;
}

export interface CodeOwners {
  readonly rules: readonly CodeOwnersRule[];
  /** Lines GitHub would reject (it ignores them): reported, never guessed at. */
  readonly errors: readonly string[];
}

/** Where GitHub looks for the file, in the order it looks. */
export const CODEOWNERS_LOCATIONS = ['.github/CODEOWNERS', 'CODEOWNERS', 'docs/CODEOWNERS'] as const;

export function parseCodeOwners(text: string): CodeOwners {
  const rules: CodeOwnersRule[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    // An unescaped `#` starts a comment; `\#` is a literal hash in a pattern.
    const content = raw.replace(/(^|[^\\])#.*$/, '$1').trim();
    if (content === '') return;
    const [pattern, ...ownerTexts] = content.split(/\s+/);
    if (pattern.startsWith('!') || /\[.*\]/.test(pattern)) {
      errors.push(`line ${line}: '${pattern}' uses a pattern GitHub does not support (no '!' negation, no [ ] ranges)`);
      return;
    }
    const owners: Owner[] = [];
    for (const owner of ownerTexts) {
      const parsed = parseOwner(owner);
      if (parsed) owners.push(parsed);
      else errors.push(`line ${line}: '${owner}' is not an owner (expected @user, @org/team or an e-mail address)`);
    }
    rules.push({ line, pattern, owners, matcher: compilePattern(pattern.replace(/\\#/g, '#')) });
  });
  return { rules, errors };
}

function parseOwner(text: string): Owner | undefined {
  const team = /^@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)\/([A-Za-z0-9._-]+)$/.exec(text);
  if (team) return { kind: 'team', org: team[1], slug: team[2] };
  const user = /^@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)$/.exec(text);
  if (user) return { kind: 'user', login: user[1] };
  if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(text)) return { kind: 'email', email: text };
  return undefined;
}

/**
 * A pattern as a regular expression over repository-relative paths (no
 * leading slash). A pattern that matches a directory owns everything below it.
 */
export function compilePattern(pattern: string): RegExp {
  let body = pattern;
  const rooted = body.startsWith('/');
  if (rooted) body = body.slice(1);
  const directoryOnly = body.endsWith('/');
  if (directoryOnly) body = body.slice(0, -1);
  // gitignore: a slash at the start or in the middle anchors the pattern at the root.
  const anchored = rooted || body.includes('/');
  const lastSegment = body.split('/').pop();

  let expression = '';
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (char === '*' && body[i + 1] === '*') {
      const slashAfter = body[i + 2] === '/';
      expression += slashAfter ? '(?:.*/)?' : '.*';
      i += slashAfter ? 2 : 1;
    } else if (char === '*') {
      expression += '[^/]*';
    } else if (char === '?') {
      expression += '[^/]';
    } else {
      expression += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  const prefix = anchored ? '^' : '^(?:.*/)?';
  // `docs/` owns the directory's whole tree; `docs/*` only its direct files (GitHub's documented exception).
  const suffix = directoryOnly ? '/.*$' : lastSegment === '*' && body.includes('/') ? '$' : '(?:/.*)?$';
  return new RegExp(`${prefix}${expression}${suffix}`);
}

/** The owners of one path: those of the last rule that matches it (none when that rule lists none). */
export function ownersOf(codeOwners: CodeOwners, path: string): readonly Owner[] {
  const normalized = path.replace(/^\/+/, '');
  let owners: readonly Owner[] = [];
  for (const rule of codeOwners.rules) if (rule.matcher.test(normalized)) owners = rule.owners;
  return owners;
}

export function formatOwner(owner: Owner): string {
  switch (owner.kind) {
    case 'user':
      return `@${owner.login}`;
    case 'team':
      return `@${owner.org}/${owner.slug}`;
    case 'email':
      return owner.email;
  }
}
