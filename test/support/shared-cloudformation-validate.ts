import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * One instance per jest worker of aws-cdk-lib's CloudFormation validator
 * engine (@aws/cloudformation-validate), shared by every test file the worker
 * runs (test/support/test-environment.ts hands it to each file's global, and
 * test/support/cloudformation-validate-shim.cjs hands that to aws-cdk-lib).
 *
 * Why: every synth of a test app runs aws-cdk-lib's built-in CloudFormation
 * validator (cdk.json turns its errors into synth failures), and its engine is
 * a 9 MB WebAssembly module. jest gives each test file a fresh module
 * registry, so each file compiled the module and built an engine again: about
 * 2.5 s of CPU per file, three quarters of a typical construct test file's
 * time. The validation itself is unchanged: the same engine class, built with
 * the same configuration (engines are kept per configuration), gets the same
 * calls; aws-cdk-lib reuses one engine for many templates itself.
 */

/** What aws-cdk-lib uses of the package: an engine class and whatever else it exports. */
type CloudFormationValidateModule = Record<string, unknown> & { CompositeEngine: new (config?: unknown) => object };

/**
 * The package's entry file as aws-cdk-lib resolves it (its own node_modules
 * first, then the project's). Found through its package.json, which the
 * moduleNameMapper of jest.config.js does not redirect, so this also names the
 * real package inside a test file.
 */
export function cloudFormationValidatePath(): string {
  const awsCdkLib = path.dirname(require.resolve('aws-cdk-lib/package.json'));
  const packageJson = require.resolve('@aws/cloudformation-validate/package.json', { paths: [awsCdkLib] });
  const main = (JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { main?: string }).main ?? 'index.js';
  return path.join(path.dirname(packageJson), main);
}

let shared: CloudFormationValidateModule | undefined;

/**
 * A copy made in this (the worker's) realm of a plain value that a test file
 * created: the package accepts only objects whose prototype is its realm's
 * Object.prototype, and a test file runs in a realm of its own. Its own
 * objects (a TemplateContent, say) pass as they are.
 */
function inThisRealm(value: unknown): unknown {
  return typeof value === 'object' && value !== null && !(value instanceof Object) ? structuredClone(value) : value;
}

/** The worker's shared module: the real package, except that `new CompositeEngine(config)` returns the engine built before for the same configuration. */
export function sharedCloudFormationValidate(): CloudFormationValidateModule {
  if (shared) return shared;
  // A path known only at run time, loaded in this (the worker's) realm on purpose.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const real = require(cloudFormationValidatePath()) as CloudFormationValidateModule;
  const engines = new Map<string, object>();
  function SharedCompositeEngine(config?: unknown): object {
    const key = JSON.stringify(config ?? null);
    let engine = engines.get(key);
    if (!engine) {
      engine = new real.CompositeEngine(inThisRealm(config));
      engines.set(key, engine);
    }
    // aws-cdk-lib frees its engine when it builds another one or is disposed; the shared one lives as long as the worker.
    return new Proxy(engine, {
      get(target, property) {
        if (property === 'free' || property === Symbol.dispose) return () => undefined;
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args.map(inThisRealm)) : value;
      },
    });
  }
  shared = Object.assign(Object.create(null) as object, real, { CompositeEngine: SharedCompositeEngine as unknown as CloudFormationValidateModule['CompositeEngine'] });
  return shared;
}

/** The name of the global through which a test file's shim finds its worker's shared module. */
export const SHARED_CLOUDFORMATION_VALIDATE_GLOBAL = '__bodyscriptSharedCloudFormationValidate';
