import { ResourceImpact, type TemplateDiff } from '@aws-cdk/cloudformation-diff';
import { code } from './markdown';

/**
 * Template changes that CloudFormation would send to an API that refuses
 * them: the deploy is certain to fail (and roll the stack back), so the report
 * says so before anyone approves or deploys it.
 *
 * Today one case (deploy review 2026-11-30, R6): an in-place update of an
 * `AWS::ECS::Service` with the CODE_DEPLOY deployment controller (the api).
 * CloudFormation applies such an update with ECS UpdateService, and the ECS
 * API reference (UpdateService) says: "For services using the blue/green
 * (CODE_DEPLOY) deployment controller, only the desired count, deployment
 * configuration, health check grace period, task placement constraints and
 * strategies, enable ECS managed tags option, and propagate tags can be
 * updated using this API. If the network configuration, platform version,
 * task definition, or load balancer need to be updated, create a new
 * CodeDeploy deployment." ECS answers anything else with
 * InvalidParameterException ("Unable to update network parameters on services
 * with a CODE_DEPLOY deployment controller", hashicorp/terraform-provider-aws#8005;
 * "Unable to update task definition …", cdklabs/cdk-ecs-codedeploy#121). Adding
 * a subnet (a new AZ) or a security group to the api service is such a change.
 * A task definition change is not: CDK names the family there, which a new
 * image does not change, and the release reaches ECS through CodeDeploy
 * (constructs/ecs-deployment-trigger.ts).
 */

/** One change the deploy would send and AWS refuses. */
export interface UndeployableChange {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  /** The properties whose change is refused. */
  readonly properties: readonly string[];
  /** One sentence: what AWS refuses and what to do instead. */
  readonly reason: string;
  readonly path?: string;
}

/**
 * Properties of an AWS::ECS::Service that UpdateService may change on a
 * CODE_DEPLOY service (the list quoted above, as CloudFormation names them),
 * plus `Tags`: UpdateService has no tags parameter (ECS API reference), so
 * tags change through TagResource and UntagResource, which have no such rule.
 */
export const CODE_DEPLOY_SERVICE_UPDATABLE_PROPERTIES: readonly string[] = [
  'DesiredCount',
  'DeploymentConfiguration',
  'HealthCheckGracePeriodSeconds',
  'PlacementConstraints',
  'PlacementStrategies',
  'EnableECSManagedTags',
  'PropagateTags',
  'Tags',
];

const PATH_METADATA = 'aws:cdk:path';

type ServiceResource = { Properties?: { DeploymentController?: { Type?: unknown } }; Metadata?: Record<string, unknown> };

/** The changes in one line, as the command and the gate print them: `stack/LogicalId (Property, …)`, comma-separated. */
export function listUndeployable(changes: readonly UndeployableChange[]): string {
  return changes.map((u) => `${u.stack}/${u.logicalId} (${u.properties.join(', ')})`).join(', ');
}

/** Every in-place update of the diff that AWS is documented to refuse. */
export function findUndeployableChanges(stack: string, diff: TemplateDiff): UndeployableChange[] {
  const found: UndeployableChange[] = [];
  diff.resources.forEachDifference((logicalId, change) => {
    if (change.isAddition || change.isRemoval || change.oldResourceType !== 'AWS::ECS::Service' || change.newResourceType !== 'AWS::ECS::Service') return;
    // The deployed service's controller decides what ECS accepts; changing the controller itself replaces the service.
    if ((change.oldValue as ServiceResource | undefined)?.Properties?.DeploymentController?.Type !== 'CODE_DEPLOY') return;
    if (change.changeImpact === ResourceImpact.WILL_REPLACE) return;
    const properties = Object.entries(change.propertyUpdates)
      .filter(([name, difference]) => difference.changeImpact !== ResourceImpact.WILL_REPLACE && !CODE_DEPLOY_SERVICE_UPDATABLE_PROPERTIES.includes(name))
      .map(([name]) => name)
      .sort();
    if (properties.length === 0) return;
    const path = (change.newValue as ServiceResource | undefined)?.Metadata?.[PATH_METADATA];
    found.push({
      stack,
      logicalId,
      type: 'AWS::ECS::Service',
      properties,
      reason:
        `changes ${properties.map((p) => code(p)).join(', ')} of a service with the CODE_DEPLOY deployment controller: ECS UpdateService refuses that ` +
        '(only the desired count, deployment configuration, health check grace period, placement, managed tags and tag propagation may change), ' +
        'so CloudFormation fails the update and rolls the stack back. Leave these properties as they are (runbooks/deployment-guide.md, "Changes AWS refuses").',
      path: typeof path === 'string' ? path : undefined,
    });
  });
  return found;
}
