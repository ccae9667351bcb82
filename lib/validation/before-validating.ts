import type { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport } from 'aws-cdk-lib';

/**
 * A validation plugin that first calls `before(context)` and then validates
 * exactly as `plugin` does: same name, version, rule ids and report, so the
 * same acknowledgements. enableComplianceChecks wraps the first gate in it so
 * that the CloudFormation validator's thread starts on the templates as soon
 * as aws-cdk-lib starts validating them, and validates while the other gates run.
 */
export class BeforeValidating implements IPolicyValidationPlugin {
  public readonly name: string;
  public readonly version?: string;
  public readonly ruleIds?: string[];

  constructor(
    private readonly plugin: IPolicyValidationPlugin,
    private readonly before: (context: IPolicyValidationContext) => void,
  ) {
    this.name = plugin.name;
    this.version = plugin.version;
    this.ruleIds = plugin.ruleIds;
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    this.before(context);
    return this.plugin.validate(context);
  }
}
