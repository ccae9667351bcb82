import { stackNames } from '../../naming';
import type { OpsContext } from '../context';
import { deployClosure, type EnvironmentAssembly } from './assembly';
import { describeStack, fail, guarded, ok, type PreflightCheck, sideOf } from './check';

/**
 * The environment's own stacks: a stack that is being deployed, failed, or
 * was left by a failed first create blocks `cdk deploy`. A missing stack is
 * normal for a new environment (cdk deploy creates it) unless the caller says
 * the environment must already exist: the pipelines only update an
 * environment (their time budget counts on it, and the production pipeline
 * snapshots the database first); a new one is brought up by
 * runbooks/new-environment.md.
 */

/** What `--expect-deployed` asks for: nothing, `BodyScript-<Env>` with its dependencies, or those and the standby. */
export const EXPECT_DEPLOYED = ['environment', 'all'] as const;
export type ExpectDeployed = (typeof EXPECT_DEPLOYED)[number];

const SETTLED = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE']);

/** The stacks that must exist for `--expect-deployed <what>`. */
export function expectedStacks(ctx: OpsContext, assembly: EnvironmentAssembly, expect: ExpectDeployed | undefined): Set<string> {
  if (!expect) return new Set();
  const roots = expect === 'all' ? [stackNames.application(ctx.env), stackNames.standby(ctx.env)] : [stackNames.application(ctx.env)];
  return new Set(deployClosure(assembly, roots).map((s) => s.name));
}

function describeStatus(stackName: string, region: string, status: string): { ok: boolean; detail: string; fix?: string } {
  if (SETTLED.has(status)) return { ok: true, detail: status };
  if (status === 'REVIEW_IN_PROGRESS') return { ok: true, detail: `${status}: a change set was created but never executed; cdk deploy creates the stack` };
  if (status === 'ROLLBACK_COMPLETE') {
    return {
      ok: false,
      detail: `${status}: its first create failed; it cannot be updated, only deleted, and the resources it retained (named repositories, log groups, secrets, buckets) make the next create fail with "already exists"`,
      fix: `aws cloudformation delete-stack --stack-name ${stackName} --region ${region}, then delete or import what it retained (runbooks/new-environment.md, "When a first deploy fails")`,
    };
  }
  if (status.endsWith('_IN_PROGRESS')) return { ok: false, detail: `${status}: another deployment is running; wait until it ends`, fix: `aws cloudformation describe-stack-events --stack-name ${stackName} --region ${region}` };
  if (status === 'UPDATE_ROLLBACK_FAILED') {
    return {
      ok: false,
      detail: `${status}: CloudFormation could not roll the last update back; nothing can be deployed until it does`,
      fix: `aws cloudformation continue-update-rollback --stack-name ${stackName} --region ${region} (with --resources-to-skip for resources that cannot roll back)`,
    };
  }
  return { ok: false, detail: `${status}: not a state a deploy can start from`, fix: `aws cloudformation describe-stack-events --stack-name ${stackName} --region ${region}` };
}

export async function checkStacks(ctx: OpsContext, assembly: EnvironmentAssembly, expect: ExpectDeployed | undefined): Promise<PreflightCheck[]> {
  const required = expectedStacks(ctx, assembly, expect);
  const checks: PreflightCheck[] = [];
  for (const stack of assembly.stacks) {
    const name = `${stack.name} (${stack.region})`;
    checks.push(
      ...(await guarded('stacks', name, undefined, async () => {
        const found = await describeStack(ctx, sideOf(ctx, stack.region), stack.name);
        if (!found) {
          return [
            required.has(stack.name)
              ? fail(
                  'stacks',
                  name,
                  `not deployed, but --expect-deployed ${expect} says it is: the pipeline only updates an environment`,
                  'bring a new environment up by hand with runbooks/new-environment.md, then let the pipeline take over',
                )
              : ok('stacks', name, 'not deployed yet: cdk deploy creates it'),
          ];
        }
        const status = describeStatus(stack.name, stack.region, found.StackStatus ?? 'UNKNOWN');
        return [status.ok ? ok('stacks', name, status.detail) : fail('stacks', name, status.detail, status.fix)];
      })),
    );
  }
  return checks;
}
