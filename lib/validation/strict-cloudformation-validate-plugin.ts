import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationValidatePlugin, type IPolicyValidationContext, type PolicyValidationPluginReport, type PolicyViolation } from 'aws-cdk-lib';
import { CloudFormationValidateThread } from './cloudformation-validate-thread';
import { asError } from './every-finding-fails';
import { failsClosed } from './fails-closed';
import { fingerprint, TEMPLATE_PLACEHOLDER, type VerdictCache, violationsAt } from './verdict-cache';

const AWS_CDK_LIB_VERSION: string = JSON.parse(fs.readFileSync(require.resolve('aws-cdk-lib/package.json'), 'utf8')).version;

type StackTemplate = IPolicyValidationContext['stackTemplates'][number];

/** Options of a StrictCloudFormationValidatePlugin. */
export interface StrictCloudFormationValidateOptions {
  /**
   * Run the validator on a worker thread started with the plugin, which loads
   * the engine's WebAssembly module and builds the engine while the app is
   * still being built (CloudFormationValidateThread). For a process that
   * synthesizes once (`cdk synth`); tests share one engine per jest worker
   * instead (test/support/shared-cloudformation-validate.ts).
   *
   * @default false: the engine is built in the main thread when a template needs it
   */
  readonly thread?: boolean;
}

/** Templates whose validation has been started (`start`), and where their report will come from. */
interface Started {
  /** The templates of the context, in order: a later `validate` of another context starts again. */
  readonly templatePaths: readonly string[];
  readonly fromCache: ReadonlyMap<string, PolicyViolation[]>;
  readonly toValidate: readonly (StackTemplate & { readonly key: string })[];
  /** The thread's job, when the thread validates them. */
  readonly job?: number;
}

/**
 * aws-cdk-lib's own CloudFormation validator (the plugin it adds to every app
 * by default), registered by us for three reasons:
 * - every diagnostic is an error (see `asError`): the validator calls some
 *   templates that CloudFormation refuses (a value outside a property's allowed
 *   values) a warning, and a warning alone lets `cdk synth` exit 0;
 * - with a cache, each template's diagnostics are kept: a template validated
 *   before with the same bytes, stack path, account, region, aws-cdk-lib and
 *   engine version is not validated again. What is cached are the diagnostics
 *   before acknowledgement;
 * - with `thread`, the validator's engine is built on a second core while the
 *   app is built, and validation can start as soon as the templates are
 *   written (`start`, which enableComplianceChecks calls when the first gate
 *   runs) and go on while the other gates run.
 * Being a CloudFormationValidatePlugin, it replaces the default one (aws-cdk-lib
 * adds the default only when the app registers none, and then `--no-validation`
 * or CDK_VALIDATION=false can turn it off) and keeps its trust, its name, its
 * acknowledgement namespace and the `validateAgainstDefaultRules` handling.
 * On the thread, the validation is aws-cdk-lib's CloudFormationValidatePlugin
 * `validate()` itself (lib/validation/cloudformation-validate-worker.cjs).
 */
export class StrictCloudFormationValidatePlugin extends CloudFormationValidatePlugin {
  private thread?: CloudFormationValidateThread;
  private started?: Started;

  constructor(
    private readonly cache?: VerdictCache,
    options: StrictCloudFormationValidateOptions = {},
  ) {
    super();
    if (options.thread) this.thread = new CloudFormationValidateThread();
  }

  /** The engine's version; from the thread when there is one, so that the main thread never loads the engine. */
  public override get version(): string | undefined {
    return this.fromThread((thread) => thread.identity().version) ?? super.version;
  }

  public override get ruleIds(): string[] | undefined {
    return this.fromThread((thread) => thread.identity().ruleIds) ?? super.ruleIds;
  }

  /**
   * Starts validating the templates of `context` that the cache cannot answer
   * (on the thread, when there is one), so that `validate(context)` later
   * only collects. Never throws: a failure here shows in `validate`.
   */
  public start(context: IPolicyValidationContext): void {
    try {
      this.started = this.begin(context);
    } catch {
      this.started = undefined;
    }
  }

  /** Stops the thread, if any, without validating: the plugin then validates in the main thread. */
  public close(): void {
    this.thread?.close();
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    return failsClosed(this.name, context, () => {
      const violations = this.validateTemplates(context);
      return { success: violations.length === 0, violations: violations.map(asError) };
    });
  }

  private validateTemplates(context: IPolicyValidationContext): PolicyViolation[] {
    const started = this.started && sameTemplates(this.started.templatePaths, context.templatePaths) ? this.started : this.begin(context);
    this.started = undefined;
    try {
      const violationsByTemplate = new Map(started.fromCache);
      if (started.toValidate.length > 0) {
        const report = started.job !== undefined ? this.thread!.collect(started.job) : super.validate(subContext(context, started.toValidate));
        const unplaced = report.violations.filter((v) => v.violatingResources.some((r) => !started.toValidate.some((s) => samePath(s.templatePath, r.templatePath))));
        if (unplaced.length > 0) {
          throw new Error(`CloudFormation Validate reported ${unplaced.map((v) => v.ruleName).join(', ')} on a template it was not given`);
        }
        for (const stack of started.toValidate) {
          // One diagnostic can list resources of several templates: keep each template's own.
          const own = report.violations.flatMap((v) => {
            const resources = v.violatingResources.filter((r) => samePath(r.templatePath, stack.templatePath)).map((r) => ({ ...r, templatePath: stack.templatePath }));
            return resources.length > 0 ? [{ ...v, violatingResources: resources }] : [];
          });
          this.cache?.write(this.name, stack.key, violationsAt(own, TEMPLATE_PLACEHOLDER));
          violationsByTemplate.set(stack.templatePath, own);
        }
      }
      return context.stackTemplates.flatMap((s) => violationsByTemplate.get(s.templatePath)!);
    } finally {
      // One synth, one validation: the thread's memory goes now.
      this.thread?.close();
    }
  }

  /** Reads the cache for every template and starts validating the others. */
  private begin(context: IPolicyValidationContext): Started {
    const fromCache = new Map<string, PolicyViolation[]>();
    const toValidate: (StackTemplate & { key: string })[] = [];
    for (const stack of context.stackTemplates) {
      const key = fingerprint(
        'cloudformation-validate',
        `aws-cdk-lib@${AWS_CDK_LIB_VERSION}`,
        `engine@${this.version ?? 'unknown'}`,
        stack.stackConstructPath,
        stack.accountId ?? '<unknown account>',
        stack.region ?? '<unknown region>',
        fs.readFileSync(stack.templatePath),
      );
      const cached = this.cache?.read<PolicyViolation[]>(this.name, key);
      if (cached) fromCache.set(stack.templatePath, violationsAt(cached, stack.templatePath));
      else toValidate.push({ ...stack, key });
    }
    let job: number | undefined;
    if (toValidate.length === 0) this.thread?.close();
    else if (this.thread && !this.thread.isClosed) job = this.thread.submit(toValidate);
    return { templatePaths: [...context.templatePaths], fromCache, toValidate, job };
  }

  private fromThread<T>(read: (thread: CloudFormationValidateThread) => T): T | undefined {
    if (!this.thread) return undefined;
    try {
      return read(this.thread);
    } catch {
      // The thread could not load the engine: the main thread will, and validate() reports the thread's failure.
      return undefined;
    }
  }
}

function subContext(context: IPolicyValidationContext, stacks: readonly (StackTemplate & { key: string })[]): IPolicyValidationContext {
  return { ...context, templatePaths: stacks.map((s) => s.templatePath), stackTemplates: stacks.map(({ key: _key, ...stack }) => stack) };
}

function sameTemplates(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

/** Validators may report a template by another spelling of its path (cfn-guard makes relative paths absolute). */
function samePath(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && path.resolve(a) === path.resolve(b);
}
