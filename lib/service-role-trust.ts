import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * The service principals whose role trust this app limits to its own
 * resources, with the `aws:SourceArn` each service documents for the role it
 * assumes (security review L2, the confused deputy problem: a role that trusts
 * the bare service principal can be used by that service on behalf of a
 * resource of any account that names the role's ARN).
 *
 * Only services whose documentation shows these conditions in the trust policy
 * of that very role are here; a condition the service does not send makes it
 * fail to assume the role, silently until the next backup, replication or
 * deployment. Left out on purpose (their documentation shows the trust policy
 * without a condition and names no source ARN for it):
 * - `backup.amazonaws.com` (AWS Backup, "Cross-service confused deputy
 *   prevention": the conditions are for resource policies, an SNS topic's or a
 *   KMS key's; "IAM service roles" shows the role's trust without them);
 * - `s3.amazonaws.com` for replication (S3 User Guide, "Setting up permissions
 *   for live replication": "a trust policy, where you identify Amazon S3 as the
 *   service principal who can assume the role", with no condition).
 */
export const SOURCE_ARN_OF_SERVICE = {
  /**
   * CodeDeploy User Guide, "Cross-service confused deputy prevention": "The value
   * of aws:SourceArn must include the CodeDeploy deployment group ARN with which
   * CodeDeploy is allowed to assume the IAM role" (example: StringEquals
   * aws:SourceAccount, StringLike aws:SourceArn
   * arn:aws:codedeploy:<region>:<account>:deploymentgroup:<application>/*).
   */
  'codedeploy.amazonaws.com': { service: 'codedeploy', resource: 'deploymentgroup', separator: ':' },
  /**
   * Amazon VPC User Guide, "IAM role for publishing flow logs to CloudWatch
   * Logs": "We recommend that you use the aws:SourceAccount and aws:SourceArn
   * condition keys ... The source account is the owner of the flow log and the
   * source ARN is the flow log ARN. If you don't know the flow log ID, you can
   * replace that portion of the ARN with a wildcard (*)" (StringEquals
   * aws:SourceAccount, ArnLike aws:SourceArn arn:aws:ec2:<region>:<account>:vpc-flow-log/<id>).
   */
  'vpc-flow-logs.amazonaws.com': { service: 'ec2', resource: 'vpc-flow-log', separator: '/' },
  /**
   * Amazon RDS User Guide, "Setting up and enabling Enhanced Monitoring",
   * "Protecting against the confused deputy problem": "we recommend using the
   * aws:SourceArn and aws:SourceAccount global condition context keys in a trust
   * policy for your Enhanced Monitoring role ... For Amazon RDS, set
   * aws:SourceArn to arn:aws:rds:Region:my-account-id:db:dbname" (StringLike
   * aws:SourceArn, StringEquals aws:SourceAccount).
   */
  'monitoring.rds.amazonaws.com': { service: 'rds', resource: 'db', separator: ':' },
} as const;

/** A service principal whose role trust `limitServiceRoleTrust` can limit. */
export type LimitedService = keyof typeof SOURCE_ARN_OF_SERVICE;

/**
 * The resource (or resources, with `*`) on whose behalf the service may assume
 * the role: the last part of the source ARN, after `<resource type><separator>`,
 * e.g. `BodyScript-Production-api/BodyScript-Production-api` for a CodeDeploy
 * deployment group, `*` for every flow log of the account and region, the
 * instance identifier for an RDS instance.
 */
export interface ServiceRoleSource {
  readonly resourceName: string;
}

/**
 * Adds `aws:SourceAccount` (this stack's account) and `aws:SourceArn` (the
 * given resource of this account and region) to the trust statement of a role
 * that an L2 construct created for `service` (a FlowLog's, an RDS instance's
 * monitoring role, a CodeDeploy deployment group's). The statement is changed
 * in place on the role's CloudFormation resource (same logical ID; a new trust
 * policy updates the role without replacing it).
 *
 * Throws when the role is not a role of this app (imported), or when its trust
 * policy is not exactly one statement allowing `service` to sts:AssumeRole: the
 * L2 then builds the role differently from what this was written for.
 */
export function limitServiceRoleTrust(role: iam.IRole, service: LimitedService, source: ServiceRoleSource): void {
  const cfnRole = role.node.defaultChild;
  if (!(role instanceof iam.Role) || !(cfnRole instanceof iam.CfnRole)) {
    throw new Error(`limitServiceRoleTrust: ${role.node.path} is not a role this app creates; its trust policy cannot be limited here`);
  }
  const stack = Stack.of(role);
  const document = stack.resolve(role.assumeRolePolicy?.toJSON()) as { Statement?: { Effect?: string; Action?: unknown; Principal?: { Service?: unknown }; Condition?: unknown }[] } | undefined;
  const statements = document?.Statement ?? [];
  const [statement] = statements;
  if (statements.length !== 1 || statement.Effect !== 'Allow' || statement.Principal?.Service !== service || statement.Action !== 'sts:AssumeRole' || statement.Condition !== undefined) {
    throw new Error(
      `limitServiceRoleTrust: ${role.node.path} must trust exactly ${service} (one Allow sts:AssumeRole statement without conditions) to be limited to its source, got ${JSON.stringify(document)}`,
    );
  }
  if (!/^[A-Za-z0-9_.*/-]+$/.test(source.resourceName)) {
    throw new Error(`limitServiceRoleTrust: the source resource name of ${role.node.path} must be a literal name or '*' (letters, digits, _ . - / *), got '${source.resourceName}'`);
  }
  const arn = SOURCE_ARN_OF_SERVICE[service];
  cfnRole.addPropertyOverride('AssumeRolePolicyDocument.Statement.0.Condition', {
    StringEquals: { 'aws:SourceAccount': stack.account },
    ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:${arn.service}:${stack.region}:${stack.account}:${arn.resource}${arn.separator}${source.resourceName}` },
  });
}
