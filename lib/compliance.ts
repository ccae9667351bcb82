import * as path from 'node:path';
import { type App, type IPolicyValidationContextBeta1, type PolicyValidationPluginReportBeta1, Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** The shortest reason a security reviewer will read as a reason rather than a shrug. */
export const MINIMUM_REASON_LENGTH = 20;

/**
 * Control Tower proactive controls (cfn-guard) that BodyScript does not meet on
 * purpose, each with the reason. This is the only place a guard rule is turned
 * off; `test/compliance.test.ts` prints this table and checks every reason.
 */
export const GUARD_RULE_EXEMPTIONS: Readonly<Record<string, string>> = {};

/** The script that fans cfn-guard out over the CPUs (scripts/parallel-cfn-guard.cjs). */
export const PARALLEL_GUARD_SCRIPT = path.join(__dirname, '..', 'scripts', 'parallel-cfn-guard.cjs');

/**
 * The cdk-validator-cfnguard plugin, unchanged in rules and reporting, but with
 * its one cfn-guard run split over the CPUs: cfn-guard is single-threaded and
 * took most of a full synth (23 of 28 s measured with `npm run bench`).
 */
export class ParallelCfnGuardValidator extends CfnGuardValidator {
  private readonly realGuardBinary: string;

  constructor(props: ConstructorParameters<typeof CfnGuardValidator>[0]) {
    super(props);
    const plugin = this as unknown as { guard: string };
    this.realGuardBinary = plugin.guard;
    plugin.guard = PARALLEL_GUARD_SCRIPT;
  }

  public validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    const previous = process.env.BODYSCRIPT_CFN_GUARD_BINARY;
    process.env.BODYSCRIPT_CFN_GUARD_BINARY = this.realGuardBinary;
    try {
      return super.validate(context);
    } finally {
      if (previous === undefined) delete process.env.BODYSCRIPT_CFN_GUARD_BINARY;
      else process.env.BODYSCRIPT_CFN_GUARD_BINARY = previous;
    }
  }
}

/**
 * Registers the compliance gates on the whole app: cdk-nag's AWS Solutions, NIST
 * 800-53 rev 5 and HIPAA Security packs, and cfn-guard with the Control Tower
 * proactive controls. Any unacknowledged finding stops synthesis.
 */
export function enableComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new NIST80053R5Checks(app),
    new HIPAASecurityChecks(app),
    new ParallelCfnGuardValidator({
      controlTowerRulesEnabled: true,
      disabledRules: Object.keys(GUARD_RULE_EXEMPTIONS),
    }),
  );
}

/**
 * Acknowledges compliance findings on one construct (and the resources under
 * it) with one reason. Use the narrowest construct that owns the finding, never
 * a stack or the app: `test/compliance.test.ts` fails on acknowledgements made
 * at stack level or with a reason shorter than MINIMUM_REASON_LENGTH.
 */
export function acknowledge(scope: IConstruct, ruleIds: readonly string[], reason: string): void {
  if (reason.trim().length < MINIMUM_REASON_LENGTH) {
    throw new Error(`acknowledgement of ${ruleIds.join(', ')} on ${scope.node.path}: reason must be at least ${MINIMUM_REASON_LENGTH} characters, got '${reason}'`);
  }
  for (const id of ruleIds) {
    Validations.of(scope).acknowledge({ id, reason });
  }
}
