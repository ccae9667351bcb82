/**
 * The part of GitHub Actions' expression language the workflows use in
 * `${{ … }}`, evaluated the way GitHub does (docs.github.com, "Evaluate
 * expressions in workflows and actions"): string literals in single quotes,
 * `inputs.<name>`, `==` and `!=` (strings compared ignoring case), `&&` and
 * `||` returning one of their operands (so `a && 'x' || 'y'` picks a string),
 * `!` and parentheses. Anything else throws, so a test never passes on an
 * expression it could not read.
 */
export type ExpressionValue = string | boolean;

export function evaluateExpression(expression: string, inputs: Readonly<Record<string, string>>): ExpressionValue {
  const tokens = expression.match(/'(?:[^']|'')*'|==|!=|&&|\|\||[()!]|[A-Za-z_][\w.-]*|\S/g) ?? [];
  let at = 0;
  const peek = () => tokens[at];
  const take = (expected?: string) => {
    const token = tokens[at++];
    if (token === undefined || (expected !== undefined && token !== expected)) throw new Error(`expression '${expression}': expected ${expected ?? 'more'} at token ${at}, got ${token ?? 'the end'}`);
    return token;
  };
  const truthy = (v: ExpressionValue) => v !== '' && v !== false;
  const primary = (): ExpressionValue => {
    const token = take();
    if (token === '(') {
      const value = or();
      take(')');
      return value;
    }
    if (token === '!') return !truthy(primary());
    if (token.startsWith("'")) return token.slice(1, -1).replace(/''/g, "'");
    if (token === 'true' || token === 'false') return token === 'true';
    const input = /^inputs\.([\w-]+)$/.exec(token);
    if (input) {
      if (!(input[1] in inputs)) throw new Error(`expression '${expression}': no input ${input[1]} given`);
      return inputs[input[1]];
    }
    throw new Error(`expression '${expression}': cannot evaluate '${token}'`);
  };
  const comparison = (): ExpressionValue => {
    const left = primary();
    if (peek() === '==' || peek() === '!=') {
      const op = take();
      const right = primary();
      const equal = String(left).toLowerCase() === String(right).toLowerCase();
      return op === '==' ? equal : !equal;
    }
    return left;
  };
  const and = (): ExpressionValue => {
    let value = comparison();
    while (peek() === '&&') {
      take();
      const right = comparison();
      value = truthy(value) ? right : value;
    }
    return value;
  };
  const or = (): ExpressionValue => {
    let value = and();
    while (peek() === '||') {
      take();
      const right = and();
      value = truthy(value) ? value : right;
    }
    return value;
  };
  const value = or();
  if (at !== tokens.length) throw new Error(`expression '${expression}': unexpected '${tokens[at]}'`);
  return value;
}

/** A workflow value with `${{ … }}` parts replaced by their values (booleans as GitHub renders them). */
export function interpolate(value: string, inputs: Readonly<Record<string, string>>): string {
  return value.replace(/\$\{\{\s*([\s\S]*?)\s*\}\}/g, (_, expression: string) => String(evaluateExpression(expression, inputs)));
}
