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
 * The reading is deliberately narrow: a file is scoped only when every rule
 * that cfn-guard evaluates on its own (every rule without parameters) has a
 * `when` made only of clauses this module understands, joined by AND (one per
 * line or side by side, no `or`/`OR`/`|OR|`), and at least one of them can be
 * shown false from the template alone:
 * - `%sel not empty` (or `!empty`) where `sel` is a file-level
 *   `let sel = Resources.*[ ... ]` (or `Resources[ ... ]`) whose filter is made
 *   only of `Type == <string>` / `Type in [<strings>]` comparisons (a constant
 *   may stand for the string or list), joined by AND or OR: such a filter can
 *   only select resources of those types, so it is empty on a template with
 *   none of them;
 * - `is_cfn_hook(%INPUT_DOCUMENT, %TYPE)` with `INPUT_DOCUMENT = this` and
 *   the file's own `is_cfn_hook(doc, T) { %doc.%T.resourceProperties exists }`:
 *   false unless the template has a top-level key named like the type;
 * - `is_cfn_template(...)`, which the rule needs anyway and which is ignored
 *   (AND: the rule is SKIP as soon as any clause is false).
 * Anything else (a rule with no `when`, an unknown clause or statement, a
 * regular expression or negation in a type filter, a constant defined twice,
 * text this tokenizer cannot read) makes the file run on every template. A
 * template that is not a JSON object, or with a resource whose Type is not a
 * string, runs every file.
 */

/** The conditions under which one rule of a file can report anything (AND of all). */
interface RuleRequirement {
  /** For each `%sel not empty` clause: the resource types `sel` can select. The rule is SKIP unless every set meets the template's types. */
  readonly typeSets: readonly ReadonlySet<string>[];
  /** For each `is_cfn_hook` clause: the top-level key it needs. The rule is SKIP unless the template has every one. */
  readonly topLevelKeys: readonly string[];
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
  return scope.rules.some(
    (rule) => rule.typeSets.every((set) => [...set].some((type) => types.has(type))) && rule.topLevelKeys.every((key) => facts.topLevelKeys.has(key)),
  );
}

/** The resource types a scoped file names (for messages and tests); empty for a file that runs on every template. */
export function scopeResourceTypes(scope: RuleFileScope): string[] {
  if (scope.kind === 'every-template') return [];
  return [...new Set(scope.rules.flatMap((rule) => rule.typeSets.flatMap((set) => [...set])))].sort();
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
      lets.set(name.text, withoutNewlines(tokens.slice(i + 3, j)));
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
function stringsOf(tokens: readonly Token[], lets: ParsedFile['lets'], seen: readonly string[] = []): string[] | undefined {
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
  const value = name?.kind === 'word' ? lets.get(name.text) : undefined;
  return value !== undefined && value.length === 1 && value[0].kind === 'string';
}

/**
 * The resource types a file-level selection can select, or undefined when it
 * is not `Resources.*[ filter ]` / `Resources[ filter ]` with a filter made
 * only of `Type == X` / `Type in [..]` joined by AND (newlines) or OR.
 */
function selectedTypes(expression: readonly Token[], lets: ParsedFile['lets']): Set<string> | undefined {
  let i = 0;
  if (!isWord(expression[i++], 'Resources')) return undefined;
  if (isPunct(expression[i], '.') && isPunct(expression[i + 1], '*')) i += 2;
  if (!isPunct(expression[i], '[')) return undefined;
  let end: number;
  try {
    end = closingIndex(expression, i);
  } catch {
    return undefined;
  }
  if (end !== expression.length) return undefined;
  const filter = expression.slice(i + 1, end - 1);
  const types = new Set<string>();
  let k = 0;
  while (k < filter.length) {
    if (isDisjunction(filter[k])) {
      k++;
      continue;
    }
    if (!isWord(filter[k], 'Type')) return undefined;
    const operator = filter[k + 1];
    if (!(isPunct(operator, '==') || isWord(operator, 'in'))) return undefined;
    // The value runs to the next `or` or to the next `Type` (newline-joined clauses arrive without newlines here).
    let next = k + 2;
    if (isPunct(filter[next], '[')) next = closingIndex(filter, next);
    else next += isPunct(filter[next], '%') ? 2 : 1;
    const value = filter.slice(k + 2, next);
    const values = stringsOf(value, lets);
    // `==` only with one string (a literal or a constant bound to one), never a list.
    if (!values || (isPunct(operator, '==') && (values.length !== 1 || isPunct(value[0], '[') || (isPunct(value[0], '%') && !isSingleString(value[1], lets))))) return undefined;
    for (const value of values) types.add(value);
    k = next;
  }
  return types.size > 0 ? types : undefined;
}

/** The requirement of a rule's `when` clauses, or undefined when one of them is not understood or they are not all joined by AND. */
function requirementOf(when: readonly Token[], file: ParsedFile, hookIsStandard: boolean): RuleRequirement | undefined {
  const clauses = withoutNewlines(when);
  if (clauses.some(isDisjunction)) return undefined;
  const typeSets: Set<string>[] = [];
  const topLevelKeys: string[] = [];
  let k = 0;
  while (k < clauses.length) {
    const [a, b, c, d, e, f, g] = clauses.slice(k, k + 7);
    if (isWord(a, 'is_cfn_template') && isPunct(b, '(')) {
      // Ignored: joined by AND, the rule is SKIP whenever another clause is false, whatever this one says.
      k = closingIndex(clauses, k + 1);
    } else if (isPunct(a, '%') && isWord(b) && ((isWord(c, 'not') && isWord(d, 'empty')) || (isPunct(c, '!') && isWord(d, 'empty')))) {
      const expression = file.lets.get(b!.text);
      const types = expression && selectedTypes(expression, file.lets);
      if (!types) return undefined;
      typeSets.push(types);
      k += 4;
    } else if (hookIsStandard && isWord(a, 'is_cfn_hook') && isPunct(b, '(') && isPunct(c, '%') && isWord(d, 'INPUT_DOCUMENT') && isPunct(e, ',') && isPunct(f, '%') && isWord(g) && isPunct(clauses[k + 7], ')')) {
      const input = file.lets.get('INPUT_DOCUMENT');
      const type = stringsOf([f!, g!], file.lets);
      if (!input || spelled(input) !== 'this' || !type || type.length !== 1) return undefined;
      topLevelKeys.push(type[0]);
      k += 8;
    } else {
      return undefined;
    }
  }
  return typeSets.length + topLevelKeys.length > 0 ? { typeSets, topLevelKeys } : undefined;
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
