import * as path from 'node:path';
import { type App, type IPolicyValidationPlugin, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { ConfigError } from './config';
import { BeforeValidating } from './validation/before-validating';
import { CfnGuardPlugin, CONTROL_TOWER_RULES_DIRECTORY, guardRuleFiles } from './validation/cfn-guard-plugin';
import { EveryFindingFails } from './validation/every-finding-fails';
import { StrictCloudFormationValidatePlugin } from './validation/strict-cloudformation-validate-plugin';
import { DEFAULT_CACHE_DIRECTORY, VerdictCache } from './validation/verdict-cache';

export { DEFAULT_CACHE_DIRECTORY } from './validation/verdict-cache';

/** The shortest reason a security reviewer will read as a reason rather than a shrug. */
export const MINIMUM_REASON_LENGTH = 20;

/**
 * Control Tower proactive controls (cfn-guard) that BodyScript does not meet on
 * purpose, each with the reason, keyed by rule file name (e.g. `ct-s3-pr-1`).
 * This is the only place a guard rule is turned off; `test/compliance.test.ts`
 * checks every reason.
 */
export const GUARD_RULE_EXEMPTIONS: Readonly<Record<string, string>> = {};

/**
 * The name of the Control Tower cfn-guard plugin in the validation report, and
 * so the namespace of its acknowledgements (`cdk-validator-cfnguard::<rule>`):
 * the library's own name, which existing acknowledgements already use.
 */
export const CONTROL_TOWER_PLUGIN_NAME = 'cdk-validator-cfnguard';

/**
 * The name of the plugin that runs the project's own Guard rules, and the
 * namespace of their acknowledgements: `bodyscript-guard::BODYSCRIPT_<RULE>`.
 */
export const PROJECT_RULES_PLUGIN_NAME = 'bodyscript-guard';

/** The project's own Guard rules: one rule a file (see policy/README.md). */
export const PROJECT_RULES_DIRECTORY = path.join(__dirname, '..', 'policy', 'rules');

/** The compliance gates, each a validation plugin (cdk-nag is three: one per pack). */
export const COMPLIANCE_GATES = ['cdk-nag', 'control-tower', 'project-rules', 'cloudformation'] as const;
export type ComplianceGate = (typeof COMPLIANCE_GATES)[number];

/**
 * How the compliance gates run.
 */
export interface ComplianceOptions {
  /**
   * Absolute directory where cfn-guard and the CloudFormation validator keep
   * their verdict per template, or `false` to validate every template on every
   * synth. cdk-nag reads the construct tree and runs on every synth regardless.
   *
   * @default DEFAULT_CACHE_DIRECTORY (node_modules/.cache/bodyscript-validation)
   */
  readonly validationCache?: string | false;
  /**
   * The gates that run. Only the synth benchmark turns some off, to measure them.
   *
   * @default - every gate
   */
  readonly gates?: readonly ComplianceGate[];
  /**
   * Runs aws-cdk-lib's CloudFormation validator on a worker thread started
   * here, so that its engine (a 9 MB WebAssembly module, about 2.5 s of CPU to
   * build at idle, and the whole cost of the gate when one template changed)
   * is built on the second core while the app is built, and the templates
   * the cache cannot answer are validated there while the other gates run
   * (it starts on them when the first gate does). The findings are the
   * same: the thread runs aws-cdk-lib's own plugin. For a process that
   * synthesizes once (`cdk synth`, the benchmark, the test suite's shared
   * synth); test files leave it off, their jest worker shares one engine.
   *
   * @default false: the engine is built in the main thread when a template needs it
   */
  readonly cloudFormationValidatorThread?: boolean;
}

/** The environment variable that bin/bodyscript.ts reads for `validationCache`. */
export const VALIDATION_CACHE_VARIABLE = 'BODYSCRIPT_VALIDATION_CACHE';

/**
 * The `validationCache` option from the value of BODYSCRIPT_VALIDATION_CACHE:
 * unset or empty for the default directory, `off` for no cache, or an absolute
 * directory. Anything else is a configuration error.
 */
export function validationCacheSetting(value: string | undefined): string | false {
  if (value === undefined || value.trim() === '') return DEFAULT_CACHE_DIRECTORY;
  if (value === 'off') return false;
  if (!path.isAbsolute(value)) throw new ConfigError([`${VALIDATION_CACHE_VARIABLE}: must be 'off' or an absolute directory, got '${value}'`]);
  return value;
}

const enabledOn = new WeakMap<App, { readonly signature: string; readonly plugins: readonly IPolicyValidationPlugin[] }>();

/** The validation plugins that enableComplianceChecks registered on `app` (none if it was not called). */
export function compliancePlugins(app: App): readonly IPolicyValidationPlugin[] {
  return enabledOn.get(app)?.plugins ?? [];
}

/**
 * Registers the compliance gates on the whole app: cdk-nag's AWS Solutions, NIST
 * 800-53 rev 5 and HIPAA Security packs, cfn-guard with the Control Tower
 * proactive controls, cfn-guard with the project's own rules (policy/rules),
 * and aws-cdk-lib's CloudFormation validator. Any unacknowledged finding, of
 * any severity, makes its plugin conclude `failure`, and synthesis exits non-zero.
 *
 * Call it once per app, before the stacks are built. A later call without
 * options (buildBodyScriptApp makes one) leaves the first registration as it is,
 * so bin/bodyscript.ts can choose the cache first.
 */
export function enableComplianceChecks(app: App, options: ComplianceOptions = {}): void {
  const gates = options.gates ?? COMPLIANCE_GATES;
  const unknown = gates.filter((g) => !COMPLIANCE_GATES.includes(g));
  if (unknown.length > 0) throw new Error(`unknown compliance gate(s) ${unknown.join(', ')}; known: ${COMPLIANCE_GATES.join(', ')}`);
  const cacheDirectory = options.validationCache ?? DEFAULT_CACHE_DIRECTORY;
  const thread = options.cloudFormationValidatorThread ?? false;
  const signature = JSON.stringify({ cacheDirectory, gates: [...gates].sort(), thread });
  const previous = enabledOn.get(app);
  if (previous !== undefined) {
    if (previous.signature === signature || Object.keys(options).length === 0) return;
    throw new Error('compliance checks are already enabled on this app with other options: call enableComplianceChecks(app, options) once, before buildBodyScriptApp()');
  }
  const cache = cacheDirectory === false ? undefined : new VerdictCache(cacheDirectory);
  // First, so that its thread (if any) starts building the engine as early as possible.
  const cloudformation = gates.includes('cloudformation') ? new StrictCloudFormationValidatePlugin(cache, { thread }) : undefined;
  const plugins: IPolicyValidationPlugin[] = [];
  if (gates.includes('cdk-nag')) {
    plugins.push(...[new AwsSolutionsChecks(app), new NIST80053R5Checks(app), new HIPAASecurityChecks(app)].map((pack) => new EveryFindingFails(pack)));
  }
  if (gates.includes('control-tower')) {
    plugins.push(
      new CfnGuardPlugin({
        name: CONTROL_TOWER_PLUGIN_NAME,
        ruleFiles: guardRuleFiles(CONTROL_TOWER_RULES_DIRECTORY),
        exemptions: GUARD_RULE_EXEMPTIONS,
        cache,
      }),
    );
  }
  if (gates.includes('project-rules')) {
    plugins.push(
      new CfnGuardPlugin({
        name: PROJECT_RULES_PLUGIN_NAME,
        ruleFiles: guardRuleFiles(PROJECT_RULES_DIRECTORY),
        documentationUrl: 'policy/README.md (the rule file under policy/rules/ says why and how to fix it)',
        cache,
      }),
    );
  }
  // Registered by us rather than left to aws-cdk-lib's default: its warnings stop
  // the synth too, it uses the cache, and neither `cdk synth --no-validation` nor
  // CDK_VALIDATION=false can switch it off.
  if (cloudformation) {
    // With the thread, the first gate to run hands it the templates: it validates them while the other gates run.
    if (thread && plugins.length > 0) plugins[0] = new BeforeValidating(plugins[0], (context) => cloudformation.start(context));
    plugins.push(cloudformation);
  }
  Validations.of(app).addPlugins(...plugins);
  enabledOn.set(app, { signature, plugins });
}

/**
 * Acknowledges compliance findings on one construct (and the resources under
 * it) with one reason. Use the narrowest construct that owns the finding, never
 * a stack or the app: `test/compliance.test.ts` fails on acknowledgements made
 * at stack level or with a reason shorter than MINIMUM_REASON_LENGTH.
 *
 * Rule ids: `AwsSolutions-S1` (cdk-nag), `cdk-validator-cfnguard::<rule>`
 * (Control Tower), `bodyscript-guard::BODYSCRIPT_<RULE>` (policy/rules),
 * `CloudFormation-Validate::<id>`, `Annotation::@aws-cdk/<module>:<id>`.
 */
export function acknowledge(scope: IConstruct, ruleIds: readonly string[], reason: string): void {
  if (reason.trim().length < MINIMUM_REASON_LENGTH) {
    throw new Error(`acknowledgement of ${ruleIds.join(', ')} on ${scope.node.path}: reason must be at least ${MINIMUM_REASON_LENGTH} characters, got '${reason}'`);
  }
  for (const id of ruleIds) {
    Validations.of(scope).acknowledge({ id, reason });
  }
}
