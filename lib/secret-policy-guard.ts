import { Stack } from 'aws-cdk-lib';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { BREAK_GLASS_ROLE_NAME, breakGlassRoleArnIn, cloudFormationExecutionRoleArn, denyAllPrincipalsExcept } from '../constructs/encryption-key';

/**
 * Who may replace or remove a secret's resource policy: nobody but the
 * break-glass role and CloudFormation's execution role. CloudFormation applies
 * AWS::SecretsManager::ResourcePolicy with PutResourcePolicy (create and update,
 * "Required permissions: secretsmanager:PutResourcePolicy") and removes it with
 * DeleteResourcePolicy, so its execution role must stay able to, or no later
 * deploy could change the policy; the organization's SCP
 * (runbooks/break-glass.md, `OnlyBreakGlassAndCloudFormationChangeSecretPolicies`)
 * holds the same line for whatever a template tries, and a template that
 * rewrites the policy is reviewed like any other change (security review L8).
 */
export const SECRET_POLICY_ACTIONS = ['secretsmanager:PutResourcePolicy', 'secretsmanager:DeleteResourcePolicy'] as const;

/**
 * Adds to the secret's resource policy a Deny of SECRET_POLICY_ACTIONS for
 * every principal but the break-glass role and this account's CloudFormation
 * execution role (named in an aws:PrincipalArn condition, not as principals:
 * the break-glass role is created outside this app), and, with
 * `denyDeletion`, a Deny of secretsmanager:DeleteSecret for every principal but
 * the break-glass role (for a secret CloudFormation never deletes: RETAIN).
 */
export function guardSecretResourcePolicy(secret: secretsmanager.ISecret, options: { readonly denyDeletion: boolean; readonly breakGlassRoleName?: string }): void {
  const stack = Stack.of(secret);
  const breakGlass = breakGlassRoleArnIn(stack, options.breakGlassRoleName ?? BREAK_GLASS_ROLE_NAME);
  const statements = [
    denyAllPrincipalsExcept('DenyPolicyChangesExceptBreakGlassAndCloudFormation', [...SECRET_POLICY_ACTIONS], ['*'], [breakGlass, cloudFormationExecutionRoleArn(stack)]),
    ...(options.denyDeletion
      ? [
          denyAllPrincipalsExcept('DenyDeletionExceptBreakGlass', ['secretsmanager:DeleteSecret'], ['*'], [breakGlass]),
        ]
      : []),
  ];
  for (const statement of statements) {
    if (!secret.addToResourcePolicy(statement).statementAdded) {
      throw new Error(`guardSecretResourcePolicy: ${secret.node.path} has no resource policy of its own (an imported secret?); its policy cannot be guarded here`);
    }
  }
}
