import { GetParameterCommand } from '@aws-sdk/client-ssm';
import type { ProjectConfig } from '../../config';
import { isNotFound } from '../aws-errors';
import { awsCall, type OpsContext } from '../context';
import type { BootstrapEnvironment, EnvironmentAssembly } from './assembly';
import { describeStack, fail, getRole, guarded, ok, type PreflightCheck, sideOf } from './check';
import { allowsAction, decodePolicyDocument } from './policy-document';

/**
 * The CDK bootstrap of every account/region the environment deploys to: the
 * `CDKToolkit` stack, its version (the stack output the CLI reads and the SSM
 * parameter every template's `CheckBootstrapVersion` rule reads) against what
 * the assembly requires, and the trust of the roles the CLI assumes: the
 * GitHub deploy roles' account must be trusted (`cdk bootstrap --trust`), and
 * for the lookup role also for session tags, because the workflows reach it
 * with a tagged, chained configure-aws-credentials step.
 */

/** The stack `cdk bootstrap` deploys (default toolkit stack name; cdk.json sets no other). */
export const TOOLKIT_STACK_NAME = 'CDKToolkit';

/** Statuses of a stack that a deploy can start from. */
const SETTLED = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE']);

/** The exact `cdk bootstrap` command for one account/region of the environment. */
export function bootstrapCommand(target: { account: string; region: string }, project: ProjectConfig): string {
  const trusted = project.github.account;
  const trust =
    trusted === target.account ? '' : ` --trust ${trusted} --trust-for-lookup ${trusted} --cloudformation-execution-policies arn:aws:iam::aws:policy/AdministratorAccess`;
  return `npx cdk bootstrap aws://${target.account}/${target.region}${trust}`;
}

function versionOf(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

async function checkToolkit(ctx: OpsContext, target: BootstrapEnvironment, fix: string): Promise<PreflightCheck[]> {
  const where = `aws://${target.account}/${target.region}`;
  const side = sideOf(ctx, target.region);
  const stack = await describeStack(ctx, side, TOOLKIT_STACK_NAME);
  if (!stack) return [fail('bootstrap', `${TOOLKIT_STACK_NAME} in ${where}`, `no ${TOOLKIT_STACK_NAME} stack: the environment is not bootstrapped`, fix)];
  const status = stack.StackStatus ?? 'UNKNOWN';
  const checks: PreflightCheck[] = [];
  const output = versionOf(stack.Outputs?.find((o) => o.OutputKey === 'BootstrapVersion')?.OutputValue);
  checks.push(
    SETTLED.has(status) && output !== undefined && output >= target.requiredVersion
      ? ok('bootstrap', `${TOOLKIT_STACK_NAME} in ${where}`, `${status}, version ${output} (the assembly needs ${target.requiredVersion} or newer)`)
      : fail(
          'bootstrap',
          `${TOOLKIT_STACK_NAME} in ${where}`,
          !SETTLED.has(status)
            ? `${status}: a bootstrap update is running or failed`
            : output === undefined
              ? `${status}, but no BootstrapVersion output: not a CDK bootstrap stack of a supported version`
              : `version ${output}, the assembly needs ${target.requiredVersion} or newer`,
          fix,
        ),
  );
  // ParameterNotFound is an answer here (a stack without its parameter), not an error of the run.
  const parameter = await awsCall(ctx, side, 'ssm:GetParameter', `parameter ${target.versionParameter}`, async () => {
    try {
      const response = await ctx.clients[side].ssm.send(new GetParameterCommand({ Name: target.versionParameter }));
      return { value: response.Parameter?.Value };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  });
  const parameterVersion = versionOf(parameter?.value);
  checks.push(
    parameterVersion !== undefined && parameterVersion >= target.requiredVersion && parameterVersion === output
      ? ok('bootstrap', `${target.versionParameter} in ${where}`, `${parameterVersion}, as the ${TOOLKIT_STACK_NAME} output`)
      : fail(
          'bootstrap',
          `${target.versionParameter} in ${where}`,
          parameter === undefined
            ? 'missing: every template\'s CheckBootstrapVersion rule reads this parameter, so no stack can be deployed'
            : parameterVersion === undefined
              ? `'${parameter.value ?? ''}' is not a version number`
              : parameterVersion !== output
                ? `${parameterVersion}, but the ${TOOLKIT_STACK_NAME} output says ${output ?? 'nothing'}: the bootstrap is half updated (every template's CheckBootstrapVersion rule reads this parameter)`
                : `${parameterVersion}, the assembly needs ${target.requiredVersion} or newer`,
          fix,
        ),
  );
  return checks;
}

async function checkRoleTrust(ctx: OpsContext, target: BootstrapEnvironment, project: ProjectConfig, fix: string): Promise<PreflightCheck[]> {
  const trusted = project.github.account;
  const checks: PreflightCheck[] = [];
  for (const [purpose, roleName] of Object.entries(target.roles)) {
    const name = `${purpose} role ${roleName}`;
    const role = await getRole(ctx, ctx.clients.iam, roleName, target.account);
    if (!role) {
      checks.push(fail('bootstrap', name, `missing: the ${purpose} role of aws://${target.account}/${target.region} does not exist`, fix));
      continue;
    }
    const document = decodePolicyDocument(role.AssumeRolePolicyDocument);
    // The workflows chain to the lookup role with configure-aws-credentials, which tags the session.
    const actions = purpose === 'lookup' ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole'];
    const missing = actions.filter((action) => !allowsAction(document, action, { account: trusted }));
    checks.push(
      missing.length === 0
        ? ok('bootstrap', name, `trusts account ${trusted} (the GitHub deploy roles) for ${actions.join(' and ')}`)
        : fail(
            'bootstrap',
            name,
            `does not trust account ${trusted} (the GitHub deploy roles) for ${missing.join(' and ')}: the pipeline's ${purpose === 'lookup' ? 'preflight and verify steps' : 'cdk deploy'} would be refused`,
            fix,
          ),
    );
  }
  return checks;
}

export async function checkBootstrap(ctx: OpsContext, assembly: EnvironmentAssembly, project: ProjectConfig): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  for (const target of assembly.bootstrap) {
    const fix = bootstrapCommand(target, project);
    const where = `aws://${target.account}/${target.region}`;
    const toolkit = await guarded('bootstrap', `${TOOLKIT_STACK_NAME} in ${where}`, fix, () => checkToolkit(ctx, target, fix));
    checks.push(...toolkit);
    // Without a toolkit stack there are no bootstrap roles to look at: one finding, one fix.
    if (toolkit.length === 1 && !toolkit[0].ok && /not bootstrapped/.test(toolkit[0].detail)) continue;
    checks.push(...(await checkRoleTrust(ctx, target, project, fix)));
  }
  return checks;
}
