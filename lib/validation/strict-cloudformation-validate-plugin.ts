import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationValidatePlugin, type IPolicyValidationContext, type PolicyValidationPluginReport, type PolicyViolation } from 'aws-cdk-lib';
import { asError } from './every-finding-fails';
import { failsClosed } from './fails-closed';
import { fingerprint, TEMPLATE_PLACEHOLDER, type VerdictCache, violationsAt } from './verdict-cache';

const AWS_CDK_LIB_VERSION: string = JSON.parse(fs.readFileSync(require.resolve('aws-cdk-lib/package.json'), 'utf8')).version;

/**
 * aws-cdk-lib's own CloudFormation validator (the plugin it adds to every app
 * by default), registered by us for two reasons:
 * - every diagnostic is an error (see `asError`): the validator calls some
 *   templates that CloudFormation refuses (a value outside a property's allowed
 *   values) a warning, and a warning alone lets `cdk synth` exit 0;
 * - with a cache, each template's diagnostics are kept: a template validated
 *   before with the same bytes, stack path, account, region, aws-cdk-lib and
 *   engine version is not validated again. What is cached are the diagnostics
 *   before acknowledgement.
 * Being a CloudFormationValidatePlugin, it replaces the default one (aws-cdk-lib
 * adds the default only when the app registers none, and then `--no-validation`
 * or CDK_VALIDATION=false can turn it off) and keeps its trust, its name, its
 * acknowledgement namespace and the `validateAgainstDefaultRules` handling.
 */
export class StrictCloudFormationValidatePlugin extends CloudFormationValidatePlugin {
  constructor(private readonly cache?: VerdictCache) {
    super();
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    return failsClosed(this.name, context, () => {
      const violations = this.cache ? this.validateWithCache(context, this.cache) : super.validate(context).violations;
      return { success: violations.length === 0, violations: violations.map(asError) };
    });
  }

  private validateWithCache(context: IPolicyValidationContext, cache: VerdictCache): PolicyViolation[] {
    const violationsByTemplate = new Map<string, PolicyViolation[]>();
    const toValidate: (IPolicyValidationContext['stackTemplates'][number] & { key: string })[] = [];
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
      const cached = cache.read<PolicyViolation[]>(this.name, key);
      if (cached) violationsByTemplate.set(stack.templatePath, violationsAt(cached, stack.templatePath));
      else toValidate.push({ ...stack, key });
    }
    if (toValidate.length > 0) {
      const report = super.validate({
        ...context,
        templatePaths: toValidate.map((s) => s.templatePath),
        stackTemplates: toValidate.map(({ key: _key, ...stack }) => stack),
      });
      const unplaced = report.violations.filter((v) => v.violatingResources.some((r) => !toValidate.some((s) => samePath(s.templatePath, r.templatePath))));
      if (unplaced.length > 0) {
        throw new Error(`CloudFormation Validate reported ${unplaced.map((v) => v.ruleName).join(', ')} on a template it was not given`);
      }
      for (const stack of toValidate) {
        // One diagnostic can list resources of several templates: keep each template's own.
        const own = report.violations.flatMap((v) => {
          const resources = v.violatingResources.filter((r) => samePath(r.templatePath, stack.templatePath)).map((r) => ({ ...r, templatePath: stack.templatePath }));
          return resources.length > 0 ? [{ ...v, violatingResources: resources }] : [];
        });
        cache.write(this.name, stack.key, violationsAt(own, TEMPLATE_PLACEHOLDER));
        violationsByTemplate.set(stack.templatePath, own);
      }
    }
    return context.stackTemplates.flatMap((s) => violationsByTemplate.get(s.templatePath)!);
  }
}

/** Validators may report a template by another spelling of its path (cfn-guard makes relative paths absolute). */
function samePath(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && path.resolve(a) === path.resolve(b);
}
