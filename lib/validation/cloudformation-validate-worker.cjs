// @ts-check
'use strict';
/**
 * The worker thread of lib/validation/cloudformation-validate-thread.ts: aws-cdk-lib's own
 * CloudFormationValidatePlugin, run here so that its WebAssembly engine is built while the
 * main thread is still constructing and synthesizing the app.
 *
 * It loads the engine's package exactly where aws-cdk-lib loads it from, builds the engine
 * for the configuration aws-cdk-lib uses for templates without the few resource types that
 * carry rules of their own (`{}`), and then answers each job with the plugin's public
 * `validate()` on the templates of the job: the same plugin, the same engine class, the same
 * calls as in the main thread. An engine asked for a configuration built before is the one
 * built before (the plugin would otherwise build it again); any other configuration is built
 * when the plugin asks for it.
 *
 * Every message it posts is followed by a wake-up of the main thread, which waits
 * synchronously because a CDK validation plugin is synchronous. Plain CommonJS: a worker
 * thread does not get the TypeScript loader.
 */
const path = require('node:path');
const { workerData } = require('node:worker_threads');

/** @type {{ port: import('node:worker_threads').MessagePort, posted: Int32Array, prebuild: boolean }} */
const { port, posted, prebuild } = workerData;

/** @param {unknown} message */
function post(message) {
  port.postMessage(message);
  Atomics.add(posted, 0, 1);
  Atomics.notify(posted, 0);
}

/** @param {unknown} error */
const describe = (error) => (error instanceof Error ? (error.stack ?? error.message) : String(error));

try {
  const awsCdkLib = path.dirname(require.resolve('aws-cdk-lib/package.json'));
  // The file aws-cdk-lib's plugin gets for require('@aws/cloudformation-validate').
  const engineModule = require(require.resolve('@aws/cloudformation-validate', { paths: [path.join(awsCdkLib, 'core', 'lib', 'validation')] }));
  const RealCompositeEngine = engineModule.CompositeEngine;
  /** @type {Map<string, object>} */
  const engines = new Map();
  engineModule.CompositeEngine = function CompositeEngine(/** @type {unknown} */ config) {
    const key = JSON.stringify(config ?? null);
    let engine = engines.get(key);
    if (!engine) {
      engine = new RealCompositeEngine(config);
      engines.set(key, /** @type {object} */ (engine));
    }
    // The plugin frees its engine when it builds another; a built engine lives as long as this thread.
    return new Proxy(/** @type {object} */ (engine), {
      get(target, property) {
        if (property === 'free') return () => undefined;
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  const { CloudFormationValidatePlugin } = require('aws-cdk-lib');
  const plugin = new CloudFormationValidatePlugin();
  post({ kind: 'ready', version: plugin.version, ruleIds: plugin.ruleIds });
  if (prebuild) new engineModule.CompositeEngine({});
  port.on('message', (/** @type {{ id: number, stackTemplates: { stackConstructPath: string, templatePath: string, accountId: string | undefined, region: string | undefined }[] }} */ job) => {
    try {
      // Without appConstruct, which cannot cross threads: the plugin reads only the templates and their stacks' environments.
      const context = { templatePaths: job.stackTemplates.map((s) => s.templatePath), stackTemplates: job.stackTemplates };
      const report = plugin.validate(/** @type {never} */ (context));
      post({ kind: 'report', id: job.id, report });
    } catch (error) {
      post({ kind: 'error', id: job.id, error: describe(error) });
    }
  });
} catch (error) {
  post({ kind: 'error', error: describe(error) });
}
