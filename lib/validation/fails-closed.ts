import type { IPolicyValidationContext, PolicyValidationPluginReport } from 'aws-cdk-lib';

/** The rule a gate reports on every stack when it could not check them. */
export const GATE_DID_NOT_RUN_RULE = 'gate-did-not-run';

/**
 * Runs a gate's validation and, when it throws, reports the failure as a
 * finding on every stack it was given instead of letting the exception out.
 *
 * Why: aws-cdk-lib turns a plugin's exception into a report with conclusion
 * `failure`, no violations and the message in `metadata.error`. The CDK CLI
 * (2.1148) then filters each report by the selected stacks and sets
 * `conclusion: filteredViolations.length > 0 ? report.conclusion : 'success'`,
 * so a report without violations concludes `success` again: `cdk synth` prints
 * nothing and exits 0, `cdk deploy` goes ahead, and a gate that never ran looks
 * like a gate that passed. A finding on each stack (construct path = the
 * stack's path, which the CLI's filter keeps) makes the CLI print it and fail.
 * It cannot be acknowledged away by accident: acknowledgements at stack level
 * are refused by test/compliance.test.ts.
 */
export function failsClosed(gate: string, context: IPolicyValidationContext, validate: () => PolicyValidationPluginReport): PolicyValidationPluginReport {
  try {
    return validate();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      success: false,
      violations: [
        {
          ruleName: GATE_DID_NOT_RUN_RULE,
          description: `${gate} could not check this stack, so it cannot pass: ${message}`,
          fix: 'Fix the cause above and synthesize again; a gate that did not run never counts as passed.',
          severity: 'error',
          violatingResources: context.stackTemplates.map((stack) => ({ constructPath: stack.stackConstructPath, templatePath: stack.templatePath, locations: [] })),
        },
      ],
      metadata: { error: message },
    };
  }
}
