import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/**
 * What the operator CLI asks of AWS, read from its source: every AWS call goes
 * through `awsCall(ctx, side, '<service>:<Action>', …)` (lib/ops/context.ts),
 * whose label is the IAM action the call needs. This walks the functions a
 * command can reach (top-level functions, constants and classes, followed
 * through relative imports) and collects those labels, so a test can hold
 * them against a role's policy; and it checks that each AWS SDK command sent
 * is inside an awsCall labelled with the action that command needs, so the
 * labels cannot drift from what is sent.
 */

const ROOT = path.resolve(__dirname, '..', '..');

/** IAM service prefix of each AWS SDK v3 client package the CLI uses. */
const SERVICE_PREFIX: Readonly<Record<string, string>> = {
  '@aws-sdk/client-application-auto-scaling': 'application-autoscaling',
  '@aws-sdk/client-application-signals': 'application-signals',
  '@aws-sdk/client-cloudformation': 'cloudformation',
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
  '@aws-sdk/client-codedeploy': 'codedeploy',
  '@aws-sdk/client-ec2': 'ec2',
  '@aws-sdk/client-ecr': 'ecr',
  '@aws-sdk/client-ecs': 'ecs',
  '@aws-sdk/client-elastic-load-balancing-v2': 'elasticloadbalancing',
  '@aws-sdk/client-iam': 'iam',
  '@aws-sdk/client-rds': 'rds',
  '@aws-sdk/client-route-53': 'route53',
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
  '@aws-sdk/client-service-quotas': 'servicequotas',
  '@aws-sdk/client-ssm': 'ssm',
  '@aws-sdk/client-sts': 'sts',
  '@aws-sdk/client-synthetics': 'synthetics',
};

/**
 * Operations whose IAM action is not named after them (the S3 bucket
 * subresource calls: "GetBucketReplication … you must have permission to
 * perform the s3:GetReplicationConfiguration action", S3 API reference).
 */
const ACTION_OF_OPERATION: Readonly<Record<string, string>> = {
  's3:GetBucketReplication': 's3:GetReplicationConfiguration',
};

/** The IAM action an AWS SDK command needs, or an explanation of why it is unknown. */
export function iamActionOfCommand(clientPackage: string, commandClass: string): string {
  const prefix = SERVICE_PREFIX[clientPackage];
  if (!prefix) throw new Error(`${commandClass} from ${clientPackage}: no IAM service prefix known for this client (add it to SERVICE_PREFIX in test/ops/aws-actions.ts)`);
  const operation = `${prefix}:${commandClass.replace(/Command$/, '')}`;
  return ACTION_OF_OPERATION[operation] ?? operation;
}

interface Declaration {
  readonly file: string;
  readonly name: string;
  readonly node: ts.Node;
}

interface Module {
  readonly file: string;
  readonly source: ts.SourceFile;
  readonly declarations: Map<string, ts.Node>;
  /** local name → where it comes from: a relative module's export, or a package. */
  readonly imports: Map<string, { readonly from: string; readonly name: string; readonly namespace: boolean }>;
  /** `export { a } from './b'` and `export * from './b'`. */
  readonly reExports: { readonly from: string; readonly name?: string; readonly as?: string }[];
}

export interface ActionUse {
  readonly action: string;
  /** `file:line` of the awsCall. */
  readonly at: string;
}

export interface Reach {
  readonly actions: ActionUse[];
  /** Problems found on the way: a label that is not a string, a command sent outside awsCall or under the wrong label. */
  readonly problems: string[];
  /** `file#name` of every declaration reached. */
  readonly reached: string[];
}

export class OpsSourceGraph {
  private readonly modules = new Map<string, Module>();

  /** The declarations reachable from `name` exported by `file` (relative to the repository), and the AWS actions they call. */
  reach(file: string, name: string): Reach {
    const start = this.resolveExport(path.join(ROOT, file), name);
    if (!start) throw new Error(`${file} declares no ${name}`);
    const seen = new Set<string>();
    const queue: Declaration[] = [start];
    const actions: ActionUse[] = [];
    const problems: string[] = [];
    while (queue.length) {
      const d = queue.shift()!;
      const key = `${path.relative(ROOT, d.file)}#${d.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const module = this.module(d.file);
      this.scan(module, d.node, actions, problems);
      for (const next of this.references(module, d.node)) queue.push(next);
    }
    return { actions, problems, reached: [...seen].sort() };
  }

  /** The `run…` function each `ops` command calls, read from the switch in lib/ops/cli.ts's runCli. */
  commandEntryPoints(): Map<string, Declaration> {
    const cli = this.module(path.join(ROOT, 'lib/ops/cli.ts'));
    const runCli = cli.declarations.get('runCli');
    if (!runCli) throw new Error('lib/ops/cli.ts has no runCli');
    const entries = new Map<string, Declaration>();
    const visit = (node: ts.Node): void => {
      if (ts.isCaseClause(node) && ts.isStringLiteral(node.expression)) {
        const command = node.expression.text;
        const call = findFirst(node, (n): n is ts.CallExpression => ts.isCallExpression(n) && ts.isIdentifier(n.expression) && /^run[A-Z]/.test(n.expression.text));
        if (call) {
          const target = this.resolveLocal(cli, (call.expression as ts.Identifier).text);
          if (target) entries.set(command, target);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(runCli);
    return entries;
  }

  private scan(module: Module, node: ts.Node, actions: ActionUse[], problems: string[]): void {
    const where = (n: ts.Node) => `${path.relative(ROOT, module.file)}:${module.source.getLineAndCharacterOfPosition(n.getStart(module.source)).line + 1}`;
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'awsCall') {
        const label = n.arguments[2];
        if (label && (ts.isStringLiteral(label) || ts.isNoSubstitutionTemplateLiteral(label))) actions.push({ action: label.text, at: where(n) });
        else problems.push(`${where(n)}: awsCall's action is not a string literal, so nobody can check the role allows it`);
      }
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && /Command$/.test(n.expression.text)) {
        const imported = module.imports.get(n.expression.text);
        if (imported?.from.startsWith('@aws-sdk/client-')) {
          let needed: string | undefined;
          try {
            needed = iamActionOfCommand(imported.from, imported.name);
          } catch (error) {
            problems.push(`${where(n)}: ${(error as Error).message}`);
          }
          const call = enclosingAwsCall(n);
          const label = call?.arguments[2];
          const labelText = label && (ts.isStringLiteral(label) || ts.isNoSubstitutionTemplateLiteral(label)) ? label.text : undefined;
          if (!call) problems.push(`${where(n)}: ${imported.name} is sent outside awsCall, so its IAM action (${needed}) is checked nowhere`);
          else if (needed && labelText !== needed) problems.push(`${where(n)}: ${imported.name} needs ${needed} but its awsCall says ${labelText}`);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(node);
  }

  /** Declarations in this repository that a node refers to (identifiers, and `ns.name` of namespace imports). */
  private references(module: Module, node: ts.Node): Declaration[] {
    const found: Declaration[] = [];
    const visit = (n: ts.Node): void => {
      if (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression)) {
        const imported = module.imports.get(n.expression.text);
        if (imported?.namespace && imported.from.startsWith('/')) {
          const d = this.resolveExport(imported.from, n.name.text);
          if (d) found.push(d);
        }
        visit(n.expression);
        return;
      }
      if (ts.isIdentifier(n)) {
        const d = this.resolveLocal(module, n.text);
        if (d && d.node !== node) found.push(d);
      }
      ts.forEachChild(n, visit);
    };
    ts.forEachChild(node, visit);
    return found;
  }

  private resolveLocal(module: Module, name: string): Declaration | undefined {
    const local = module.declarations.get(name);
    if (local) return { file: module.file, name, node: local };
    const imported = module.imports.get(name);
    if (imported && !imported.namespace && imported.from.startsWith('/')) return this.resolveExport(imported.from, imported.name);
    return undefined;
  }

  private resolveExport(file: string, name: string, depth = 0): Declaration | undefined {
    if (depth > 10 || !file.endsWith('.ts')) return undefined;
    const module = this.module(file);
    const local = module.declarations.get(name);
    if (local) return { file, name, node: local };
    const imported = module.imports.get(name);
    if (imported && !imported.namespace && imported.from.startsWith('/')) return this.resolveExport(imported.from, imported.name, depth + 1);
    for (const r of module.reExports) {
      if (r.name === undefined) {
        const d = this.resolveExport(r.from, name, depth + 1);
        if (d) return d;
      } else if ((r.as ?? r.name) === name) {
        return this.resolveExport(r.from, r.name, depth + 1);
      }
    }
    return undefined;
  }

  private module(file: string): Module {
    const cached = this.modules.get(file);
    if (cached) return cached;
    const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const declarations = new Map<string, ts.Node>();
    const imports: Module['imports'] = new Map();
    const reExports: Module['reExports'] = [];
    const resolve = (specifier: string) => (specifier.startsWith('.') ? resolveModule(path.dirname(file), specifier) : specifier);
    for (const statement of source.statements) {
      if (ts.isFunctionDeclaration(statement) && statement.name) declarations.set(statement.name.text, statement);
      else if (ts.isClassDeclaration(statement) && statement.name) declarations.set(statement.name.text, statement);
      else if (ts.isVariableStatement(statement)) {
        for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name) && d.initializer) declarations.set(d.name.text, d.initializer);
      } else if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier) && statement.importClause) {
        const from = resolve(statement.moduleSpecifier.text);
        const bindings = statement.importClause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) imports.set(bindings.name.text, { from, name: '*', namespace: true });
        if (bindings && ts.isNamedImports(bindings)) {
          for (const e of bindings.elements) imports.set(e.name.text, { from, name: (e.propertyName ?? e.name).text, namespace: false });
        }
        if (statement.importClause.name) imports.set(statement.importClause.name.text, { from, name: 'default', namespace: false });
      } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
        const from = resolve(statement.moduleSpecifier.text);
        if (!statement.exportClause) reExports.push({ from });
        else if (ts.isNamedExports(statement.exportClause)) {
          for (const e of statement.exportClause.elements) reExports.push({ from, name: (e.propertyName ?? e.name).text, as: e.name.text });
        }
      }
    }
    const module = { file, source, declarations, imports, reExports };
    this.modules.set(file, module);
    return module;
  }
}

function resolveModule(dir: string, specifier: string): string {
  const base = path.resolve(dir, specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base.replace(/\.js$/, '.ts'), base]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  // A JSON or CommonJS file: nothing in it calls AWS.
  return `${base} (not TypeScript)`;
}

function enclosingAwsCall(node: ts.Node): ts.CallExpression | undefined {
  for (let n: ts.Node | undefined = node.parent; n; n = n.parent) {
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'awsCall') return n;
  }
  return undefined;
}

function findFirst<T extends ts.Node>(node: ts.Node, test: (n: ts.Node) => n is T): T | undefined {
  let found: T | undefined;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (test(n)) {
      found = n;
      return;
    }
    ts.forEachChild(n, visit);
  };
  ts.forEachChild(node, visit);
  return found;
}

/** Whether an IAM Action element (with `*` and `?` wildcards, case-insensitive as IAM compares actions) covers an action. */
export function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return regex.test(action);
}
