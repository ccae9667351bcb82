/**
 * Which templates a Guard rule file can report on at all, read from the file
 * itself, so that cfn-guard runs only the rule files that can say something
 * about a template.
 *
 * Why: 228 of the 237 Control Tower rule files have the same shape,
 *
 *     let buckets = Resources.*[ Type == %S3_BUCKET_TYPE ]
 *     rule s3_check when is_cfn_template(%INPUT_DOCUMENT) %buckets not empty { ... }
 *     rule s3_check when is_cfn_hook(%INPUT_DOCUMENT, %S3_BUCKET_TYPE) { ... }
 *
 * so on a template without an S3 bucket every rule of the file is `SKIP`
 * (its `when` is false) and cfn-guard reports nothing, yet evaluating the
 * file on a 200 KB template still costs CPU. cfn-guard's time grows with rule
 * files × template size, and it is most of every synth's time.
 *
 * The reading is deliberately narrow. A file is scoped only when every rule
 * that cfn-guard evaluates on its own (every rule without parameters) has a
 * `when` made only of clauses this module understands, read in Guard's
 * conjunctive normal form (clauses ANDed, `or`/`OR`/`|OR|` joining them into
 * a disjunction), and some AND-ed group of it can be shown false from the
 * template alone, because each of its clauses can:
 * - `%sel not empty` (or `!empty`) where `sel` is a file-level
 *   `let sel = Resources.*[ filter ]` (or `Resources[ filter ]`, optionally
 *   followed by a path into what it selected) whose filter has an AND-ed group
 *   made only of `Type == <string>` / `Type in [<strings>]` comparisons (a
 *   constant may stand for the string or list): such a selection can only
 *   hold resources of those types, so it is empty on a template with none;
 *   `let sel = %other.Path[ filter ]` goes on from such a selection and can
 *   only hold what is inside it, so it has that selection's types;
 * - `is_cfn_hook(%INPUT_DOCUMENT, %TYPE)` with `INPUT_DOCUMENT = this` and
 *   the file's own `is_cfn_hook(doc, T) { %doc.%T.resourceProperties exists }`:
 *   false unless the template has a top-level key named like the type;
 * - `is_cfn_template(...)` is understood but can never be shown false, so a
 *   group that has it constrains nothing.
 * Anything else (a rule with no `when`, an unknown clause or statement, a
 * regular expression or negation in a type comparison, a type comparison
 * joined by `or` to another kind of clause or split over lines, a constant
 * defined twice, text this tokenizer cannot read) makes the file run on every
 * template. A template that is not a JSON object, or with a resource whose
 * Type is not a string, runs every file. */

/** One clause of a `when` that the template alone can show false: a selection of resource types, or a top-level key (a hook input). */
export type ScopedClause = { readonly types: ReadonlySet<string> } | { readonly topLevelKey: string };

/**
 * The conditions under which one rule of a file can report anything: every
 * group (AND) has a clause that may be true (OR within a group). Groups with
 * a clause the template cannot show false (`is_cfn_template(...)`) are left
 * out: they constrain nothing here.
 */
export interface RuleRequirement {
  readonly groups: readonly (readonly ScopedClause[])[];
}

/** What a rule file can report on: every template, or only templates that meet one of its rules' requirements. */
export type RuleFileScope =
  | { readonly kind: 'every-template'; readonly reason: string }
  | { readonly kind: 'scoped'; readonly rules: readonly RuleRequirement[] };

/** What of a template decides whether a scoped rule file can report on it. */
export interface TemplateFacts {
  /** Every resource's Type; undefined when the template could not be read as expected (then every rule file runs). */
  readonly resourceTypes?: ReadonlySet<string>;
  readonly topLevelKeys: ReadonlySet<string>;
}

/** Reads the facts of a template's JSON text. Anything unexpected gives facts that run every rule file. */
export function templateFacts(templateText: string): TemplateFacts {
  let template: unknown;
  try {
    template = JSON.parse(templateText);
  } catch {
    return { topLevelKeys: new Set() };
  }
  if (typeof template !== 'object' || template === null || Array.isArray(template)) return { topLevelKeys: new Set() };
  const topLevelKeys = new Set(Object.keys(template));
  const resources = (template as Record<string, unknown>).Resources;
  if (resources === undefined) return { resourceTypes: new Set(), topLevelKeys };
  if (typeof resources !== 'object' || resources === null || Array.isArray(resources)) return { topLevelKeys };
  const resourceTypes = new Set<string>();
  for (const resource of Object.values(resources)) {
    if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) return { topLevelKeys };
    const type = (resource as Record<string, unknown>).Type;
    if (type === undefined) continue;
    if (typeof type !== 'string') return { topLevelKeys };
    resourceTypes.add(type);
  }
  return { resourceTypes, topLevelKeys };
}

/** Whether cfn-guard could report anything (PASS or FAIL) for a file of this scope on a template with these facts. */
export function mayApply(scope: RuleFileScope, facts: TemplateFacts): boolean {
  if (scope.kind === 'every-template') return true;
  const types = facts.resourceTypes;
  if (types === undefined) return true;
  const mayHold = (clause: ScopedClause) => ('types' in clause ? [...clause.types].some((type) => types.has(type)) : facts.topLevelKeys.has(clause.topLevelKey));
  return scope.rules.some((rule) => rule.groups.every((group) => group.some(mayHold)));
}

/** The resource types a scoped file names (for messages and tests); empty for a file that runs on every template. */
export function scopeResourceTypes(scope: RuleFileScope): string[] {
  if (scope.kind === 'every-template') return [];
  return [...new Set(scope.rules.flatMap((rule) => rule.groups.flat().flatMap((clause) => ('types' in clause ? [...clause.types] : []))))].sort();
}

type Token =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'string'; readonly text: string }
  | { readonly kind: 'regex'; readonly text: string }
  | { readonly kind: 'punct'; readonly text: string }
  | { readonly kind: 'newline'; readonly text: '\n' };

class Unreadable extends Error {}

const PUNCTUATION = ['|OR|', '==', '!=', '<=', '>=', '<', '>', '{', '}', '[', ']', '(', ')', ',', '.', '*', '%', '!', '=', ':', '-', '&', '|'];

/** Splits Guard text into tokens; comments and `<< messages >>` are dropped; throws Unreadable on anything unexpected. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      tokens.push({ kind: 'newline', text: '\n' });
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('<<', i)) {
      const end = text.indexOf('>>', i + 2);
      if (end < 0) throw new Unreadable('a message << without >>');
      i = end + 2;
    } else if (c === '"' || c === "'" || c === '/') {
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\') {
          value += text[j + 1] ?? '';
          j += 2;
        } else {
          if (text[j] === '\n' && c === '/') throw new Unreadable('a regular expression across lines');
          value += text[j];
          j++;
        }
      }
      if (j >= text.length) throw new Unreadable(`an unterminated ${c === '/' ? 'regular expression' : 'string'}`);
      tokens.push({ kind: c === '/' ? 'regex' : 'string', text: value });
      i = j + 1;
    } else if (/[A-Za-z0-9_]/.test(c)) {
      let j = i;
      while (j < text.length && /[A-Za-z0-9_]/.test(text[j])) j++;
      tokens.push({ kind: 'word', text: text.slice(i, j) });
      i = j;
    } else {
      const punct = PUNCTUATION.find((p) => text.startsWith(p, i));
      if (!punct) throw new Unreadable(`an unexpected character '${c}'`);
      tokens.push({ kind: 'punct', text: punct });
      i += punct.length;
    }
  }
  return tokens;
}

const OPENING: Record<string, string> = { '{': '}', '[': ']', '(': ')' };

/** Index just past the bracket that closes the one at `start`. */
function closingIndex(tokens: readonly Token[], start: number): number {
  const stack: string[] = [];
  for (let i = start; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind !== 'punct') continue;
    if (OPENING[t.text]) stack.push(OPENING[t.text]);
    else if (t.text === '}' || t.text === ']' || t.text === ')') {
      if (stack.pop() !== t.text) throw new Unreadable(`an unbalanced '${t.text}'`);
      if (stack.length === 0) return i + 1;
    }
  }
  throw new Unreadable('an unclosed bracket');
}

const isPunct = (t: Token | undefined, text: string) => t?.kind === 'punct' && t.text === text;
const isWord = (t: Token | undefined, text?: string) => t?.kind === 'word' && (text === undefined || t.text === text);
const isDisjunction = (t: Token) => (t.kind === 'word' && (t.text === 'or' || t.text === 'OR')) || isPunct(t, '|OR|');
const withoutNewlines = (tokens: readonly Token[]) => tokens.filter((t) => t.kind !== 'newline');
const spelled = (tokens: readonly Token[]) => withoutNewlines(tokens).map((t) => (t.kind === 'string' ? JSON.stringify(t.text) : t.text)).join(' ');

interface ParsedFile {
  readonly lets: Map<string, Token[]>;
  readonly rules: { name: string; parameters?: Token[]; when?: Token[]; body: Token[] }[];
}

/** Top-level statements: `let NAME = <expression to the end of the line>` and `rule NAME[(params)] [when <conditions>] { body }`. */
function parseStatements(tokens: readonly Token[]): ParsedFile {
  const lets = new Map<string, Token[]>();
  const rules: ParsedFile['rules'] = [];
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i];
    if (t.kind === 'newline') {
      i++;
    } else if (isWord(t, 'let')) {
      const name = tokens[i + 1];
      if (!isWord(name) || !isPunct(tokens[i + 2], '=')) throw new Unreadable('a let statement without a name');
      let j = i + 3;
      while (j < tokens.length && tokens[j].kind !== 'newline') j = tokens[j].kind === 'punct' && OPENING[tokens[j].text] ? closingIndex(tokens, j) : j + 1;
      if (lets.has(name.text)) throw new Unreadable(`'${name.text}' is defined twice`);
      lets.set(name.text, tokens.slice(i + 3, j));
      i = j;
    } else if (isWord(t, 'rule')) {
      const name = tokens[i + 1];
      if (!isWord(name)) throw new Unreadable('a rule without a name');
      let j = i + 2;
      let parameters: Token[] | undefined;
      if (isPunct(tokens[j], '(')) {
        const end = closingIndex(tokens, j);
        parameters = tokens.slice(j + 1, end - 1);
        j = end;
      }
      let when: Token[] | undefined;
      if (isWord(tokens[j], 'when')) {
        const start = j + 1;
        while (j < tokens.length && !isPunct(tokens[j], '{')) j = tokens[j].kind === 'punct' && OPENING[tokens[j].text] ? closingIndex(tokens, j) : j + 1;
        when = tokens.slice(start, j);
      }
      while (tokens[j]?.kind === 'newline') j++;
      if (!isPunct(tokens[j], '{')) throw new Unreadable(`rule ${name.text} has no block`);
      const end = closingIndex(tokens, j);
      rules.push({ name: name.text, parameters, when, body: tokens.slice(j + 1, end - 1) });
      i = end;
    } else {
      throw new Unreadable(`a top-level statement that is neither let nor rule ('${t.text}')`);
    }
  }
  return { lets, rules };
}

/** The string(s) a value stands for: a string literal, a `[list of strings]`, or `%CONSTANT` bound to one of those. */
function stringsOf(given: readonly Token[], lets: ParsedFile['lets'], seen: readonly string[] = []): string[] | undefined {
  const tokens = withoutNewlines(given);
  if (tokens.length === 1 && tokens[0].kind === 'string') return [tokens[0].text];
  if (tokens.length === 2 && isPunct(tokens[0], '%') && isWord(tokens[1])) {
    const name = tokens[1].text;
    const value = lets.get(name);
    if (!value || seen.includes(name)) return undefined;
    return stringsOf(value, lets, [...seen, name]);
  }
  if (tokens.length >= 2 && isPunct(tokens[0], '[') && isPunct(tokens[tokens.length - 1], ']')) {
    const items = tokens.slice(1, -1);
    const strings: string[] = [];
    for (let k = 0; k < items.length; k++) {
      if (k % 2 === 0 && items[k].kind === 'string') strings.push(items[k].text);
      else if (k % 2 === 1 && isPunct(items[k], ',')) continue;
      else return undefined;
    }
    return strings.length > 0 ? strings : undefined;
  }
  return undefined;
}

/** Whether a constant is bound to one string literal (not a list). */
function isSingleString(name: Token | undefined, lets: ParsedFile['lets']): boolean {
  const bound = name?.kind === 'word' ? lets.get(name.text) : undefined;
  const value = bound && withoutNewlines(bound);
  return value !== undefined && value.length === 1 && value[0].kind === 'string';
}

/** Tokens that leave a clause unfinished at the end of a line (the next line continues it). */
const CONTINUING = new Set(['==', '!=', '<', '>', '<=', '>=', '.', ',', '!', '%', 'in', 'not', 'some', 'is', '|OR|', 'or', 'OR']);
const continues = (t: Token | undefined) => t !== undefined && (t.kind === 'punct' || t.kind === 'word') && CONTINUING.has(t.text);
/**
 * Tokens that, first on a line, carry on the clause of the line before (an
 * operator, a path step, a list). `some`, `not`, `!` and `%` are not among them:
 * first on a line they begin a clause of their own (`some X[*] == 'y'`,
 * `not X exists`, `!X empty`, `%var ...`), since a complete comparison such as
 * `Type == 'AWS::IAM::Role'` cannot be followed by any of them in one clause.
 */
const CONTINUING_FROM_START = new Set(['==', '!=', '<', '>', '<=', '>=', '.', ',', 'in', 'is', '|OR|', 'or', 'OR', '[']);
const continuesFromStart = (t: Token | undefined) => t !== undefined && (t.kind === 'punct' || t.kind === 'word') && CONTINUING_FROM_START.has(t.text);

/**
 * Splits tokens into their lines at bracket depth 0 (a bracket's content
 * stays on the line that opens it), without empty lines.
 */
function topLevelLines(tokens: readonly Token[]): Token[][] {
  const lines: Token[][] = [[]];
  for (let k = 0; k < tokens.length; ) {
    const t = tokens[k];
    if (t.kind === 'newline') {
      lines.push([]);
      k++;
    } else if (t.kind === 'punct' && OPENING[t.text]) {
      const end = closingIndex(tokens, k);
      lines[lines.length - 1].push(...tokens.slice(k, end));
      k = end;
    } else {
      lines[lines.length - 1].push(t);
      k++;
    }
  }
  return lines.filter((line) => line.length > 0);
}

/** The types one `Type == X` / `Type in [..]` comparison (exactly those tokens) can match, or undefined. */
function typeComparison(tokens: readonly Token[], lets: ParsedFile['lets']): string[] | undefined {
  const [type, operator, ...value] = withoutNewlines(tokens);
  if (!isWord(type, 'Type') || !(isPunct(operator, '==') || isWord(operator, 'in'))) return undefined;
  const values = stringsOf(value, lets);
  if (!values) return undefined;
  // `==` only with one string (a literal or a constant bound to one), never a list.
  if (isPunct(operator, '==') && (values.length !== 1 || isPunct(value[0], '[') || (isPunct(value[0], '%') && !isSingleString(value[1], lets)))) return undefined;
  return values;
}

/**
 * The resource types a file-level selection can select, or undefined when it
 * cannot be shown to select only some types.
 *
 * The selection must be `Resources.*[ filter ]` (or `Resources[ filter ]`),
 * optionally followed by a path and filters into what it selected, which can
 * only narrow it. The filter is read in Guard's conjunctive normal form:
 * clauses on separate lines are ANDed, `or` (`OR`, `|OR|`) at the end of a
 * line (or between clauses on one line) joins clauses into a disjunction.
 * When one AND-ed group is made only of `Type == <string>` / `Type in
 * [<strings>]` comparisons (a constant may stand for the string or list),
 * the selection holds only resources of those types, whatever the other
 * groups say. Anything unexpected (a line that ends unfinished, a group
 * that mixes a type comparison with something else) gives undefined.
 */
function selectedTypes(given: readonly Token[], lets: ParsedFile['lets'], seen: readonly string[] = []): Set<string> | undefined {
  const expression = withoutNewlines(given);
  /** Whether the tokens from `k` on only go further into what was selected: `.Name`, `.'Quoted Name'`, `.*`, `[ filter ]`. */
  const onlyNarrows = (k: number): boolean => {
    try {
      while (k < expression.length) {
        if (isPunct(expression[k], '.') && (isWord(expression[k + 1]) || expression[k + 1]?.kind === 'string' || isPunct(expression[k + 1], '*'))) k += 2;
        else if (isPunct(expression[k], '[')) k = closingIndex(expression, k);
        else return false;
      }
      return true;
    } catch {
      return false;
    }
  };
  // `%other.Path[ filter ]`: a path into a file-level selection holds only what that selection holds, so its types.
  if (isPunct(expression[0], '%') && isWord(expression[1])) {
    const name = expression[1].text;
    const base = lets.get(name);
    if (!base || seen.includes(name) || !onlyNarrows(2)) return undefined;
    return selectedTypes(base, lets, [...seen, name]);
  }
  let i = 0;
  if (!isWord(expression[i++], 'Resources')) return undefined;
  if (isPunct(expression[i], '.') && isPunct(expression[i + 1], '*')) i += 2;
  if (!isPunct(expression[i], '[')) return undefined;
  try {
    if (!onlyNarrows(closingIndex(expression, i))) return undefined;
  } catch {
    return undefined;
  }
  // The filter again, with its lines: the bracket at the same place in the tokens with newlines.
  const opening = given.findIndex((t, k) => isPunct(t, '[') && withoutNewlines(given.slice(0, k)).length === i);
  const filter = given.slice(opening + 1, closingIndex(given, opening) - 1);
  // Each line split at `or`s into segments; a line ending (or the next one starting) with `or` joins the next line's group.
  const lines = topLevelLines(filter).map((line) => {
    const segments: Token[][] = [[]];
    for (const t of line) {
      if (isDisjunction(t)) segments.push([]);
      else segments[segments.length - 1].push(t);
    }
    return { line, segments };
  });
  const groups: { segments: Token[][]; first: number; last: number }[] = [];
  lines.forEach(({ line, segments }, index) => {
    const joined = index > 0 && (isDisjunction(lines[index - 1].line[lines[index - 1].line.length - 1]) || isDisjunction(line[0]));
    if (joined) {
      const group = groups[groups.length - 1];
      group.segments.push(...segments);
      group.last = index;
    } else {
      groups.push({ segments: [...segments], first: index, last: index });
    }
  });
  for (const group of groups) {
    const previous = lines[group.first - 1]?.line;
    const next = lines[group.last + 1]?.line;
    if ((previous && continues(previous[previous.length - 1])) || (next && continuesFromStart(next[0]) && !isDisjunction(next[0]))) continue;
    const segments = group.segments.filter((segment) => segment.length > 0);
    const types = segments.map((segment) => typeComparison(segment, lets));
    if (segments.length > 0 && types.every((t) => t !== undefined)) return new Set(types.flat() as string[]);
  }
  return undefined;
}

/**
 * The requirement of a rule's `when` clauses, read in Guard's conjunctive
 * normal form (clauses are ANDed unless `or` joins them), or undefined when a
 * clause is not one this reading understands or none constrains the rule.
 */
function requirementOf(when: readonly Token[], file: ParsedFile, hookIsStandard: boolean): RuleRequirement | undefined {
  const clauses = withoutNewlines(when);
  // Each group: its clauses, or undefined once it has one the template cannot show false.
  const groups: (ScopedClause[] | undefined)[] = [];
  let joinNext = false;
  let k = 0;
  while (k < clauses.length) {
    const [a, b, c, d, e, f, g] = clauses.slice(k, k + 7);
    let clause: ScopedClause | 'unconstrained';
    if (isWord(a, 'is_cfn_template') && isPunct(b, '(')) {
      clause = 'unconstrained';
      k = closingIndex(clauses, k + 1);
    } else if (isPunct(a, '%') && isWord(b) && ((isWord(c, 'not') && isWord(d, 'empty')) || (isPunct(c, '!') && isWord(d, 'empty')))) {
      const expression = file.lets.get(b!.text);
      const types = expression && selectedTypes(expression, file.lets);
      if (!types) return undefined;
      clause = { types };
      k += 4;
    } else if (hookIsStandard && isWord(a, 'is_cfn_hook') && isPunct(b, '(') && isPunct(c, '%') && isWord(d, 'INPUT_DOCUMENT') && isPunct(e, ',') && isPunct(f, '%') && isWord(g) && isPunct(clauses[k + 7], ')')) {
      const input = file.lets.get('INPUT_DOCUMENT');
      const type = stringsOf([f!, g!], file.lets);
      if (!input || spelled(input) !== 'this' || !type || type.length !== 1) return undefined;
      clause = { topLevelKey: type[0] };
      k += 8;
    } else {
      return undefined;
    }
    if (joinNext) {
      const group = groups[groups.length - 1];
      groups[groups.length - 1] = group && clause !== 'unconstrained' ? [...group, clause] : undefined;
    } else {
      groups.push(clause === 'unconstrained' ? undefined : [clause]);
    }
    joinNext = k < clauses.length && isDisjunction(clauses[k]);
    if (joinNext) {
      k++;
      if (k >= clauses.length) return undefined;
    }
  }
  const constraining = groups.filter((group): group is ScopedClause[] => group !== undefined);
  return constraining.length > 0 ? { groups: constraining } : undefined;
}

/** Reads a rule file's scope; a file it cannot fully account for runs on every template. */
export function ruleFileScope(text: string): RuleFileScope {
  let file: ParsedFile;
  try {
    file = parseStatements(tokenize(text));
  } catch (error) {
    if (error instanceof Unreadable) return { kind: 'every-template', reason: `the file has ${error.message}` };
    throw error;
  }
  const hook = file.rules.filter((r) => r.name === 'is_cfn_hook');
  const hookIsStandard =
    hook.length === 1 &&
    hook[0].parameters !== undefined &&
    hook[0].when === undefined &&
    (() => {
      const parameters = withoutNewlines(hook[0].parameters);
      if (parameters.length !== 3 || !isWord(parameters[0]) || !isPunct(parameters[1], ',') || !isWord(parameters[2])) return false;
      return spelled(hook[0].body) === `% ${parameters[0].text} . % ${parameters[2].text} . resourceProperties exists`;
    })();
  const evaluated = file.rules.filter((r) => r.parameters === undefined);
  if (evaluated.length === 0) return { kind: 'every-template', reason: 'the file has no rule that cfn-guard evaluates on its own' };
  const rules: RuleRequirement[] = [];
  for (const rule of evaluated) {
    if (!rule.when) return { kind: 'every-template', reason: `rule ${rule.name} has no when clause` };
    const requirement = requirementOf(rule.when, file, hookIsStandard);
    if (!requirement) return { kind: 'every-template', reason: `the when clause of rule ${rule.name} is not one this reading understands` };
    rules.push(requirement);
  }
  return { kind: 'scoped', rules };
}
