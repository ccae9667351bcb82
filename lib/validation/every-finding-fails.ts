import type { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, PolicyViolation } from 'aws-cdk-lib';
import { failsClosed } from './fails-closed';

/**
 * A finding of a BodyScript gate stops the synth whatever severity its
 * validator gave it: reports it with severity `error`, and keeps the
 * validator's own severity in `ruleMetadata.validatorSeverity`.
 *
 * Needed because aws-cdk-lib recomputes a plugin's conclusion after removing
 * acknowledged findings, from the severities that are left: a `warning` (or a
 * finding without a severity) then passes, and `cdk synth` exits 0 with it.
 */
export function asError(violation: PolicyViolation): PolicyViolation {
  if (violation.severity === 'error' || violation.severity === 'fatal') return violation;
  return {
    ...violation,
    severity: 'error',
    ruleMetadata: violation.severity ? { ...violation.ruleMetadata, validatorSeverity: violation.severity } : violation.ruleMetadata,
  };
}

/**
 * Wraps a validation plugin (a cdk-nag pack) so that every finding it reports
 * is an error (see `asError`) and its conclusion is `failure` whenever it
 * reports one. Name, version and rule ids stay the plugin's, and so does the
 * namespace of its acknowledgements.
 */
export class EveryFindingFails implements IPolicyValidationPlugin {
  public readonly name: string;
  public readonly version?: string;
  public readonly ruleIds?: string[];

  constructor(private readonly plugin: IPolicyValidationPlugin) {
    this.name = plugin.name;
    this.version = plugin.version;
    this.ruleIds = plugin.ruleIds;
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    return failsClosed(this.name, context, () => {
      const report = this.plugin.validate(context);
      return { ...report, success: report.success && report.violations.length === 0, violations: report.violations.map(asError) };
    });
  }
}
