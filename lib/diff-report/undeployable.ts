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
 *
 * And the same refusal reached through a reference (deploy review R7): a
 * target group in the `LoadBalancers` of a CODE_DEPLOY service that the
 * update replaces. The service's template text does not change (it names the
 * target group by `Ref`), but CloudFormation resolves the new ARN and updates
 * the service's load balancers, which UpdateService refuses. It is also the
 * group the api's production rule names (`Custom::OriginVerifyRule`), whose
 * handler would point the rule at the new, empty group; CodeDeploy moves that
 * rule's forward action between blue and green on every release, so after an
 * odd number of releases the failed update's rollback would point it back at
 * the drained group. Every api request would get a 503 either way.
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

type ServiceResource = { Type?: string; Properties?: { DeploymentController?: { Type?: unknown }; LoadBalancers?: { TargetGroupArn?: unknown }[] }; Metadata?: Record<string, unknown> };

/** Target groups (logical id → the service's logical id) in the load balancers of the template's CODE_DEPLOY services. */
function codeDeployTargetGroups(template: Record<string, unknown> | undefined): Map<string, string> {
  const groups = new Map<string, string>();
  const resources = (template?.Resources ?? {}) as Record<string, ServiceResource>;
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::ECS::Service' || resource.Properties?.DeploymentController?.Type !== 'CODE_DEPLOY') continue;
    for (const loadBalancer of resource.Properties.LoadBalancers ?? []) {
      const ref = (loadBalancer.TargetGroupArn as { Ref?: unknown } | undefined)?.Ref;
      if (typeof ref === 'string') groups.set(ref, id);
    }
  }
  return groups;
}

/** The changes in one line, as the command and the gate print them: `stack/LogicalId (Property, …)`, comma-separated. */
export function listUndeployable(changes: readonly UndeployableChange[]): string {
  return changes.map((u) => `${u.stack}/${u.logicalId} (${u.properties.join(', ')})`).join(', ');
}

/** Every update of the diff that AWS is documented to refuse; `template` is the new template (what its services reference). */
export function findUndeployableChanges(stack: string, diff: TemplateDiff, template?: Record<string, unknown>): UndeployableChange[] {
  const found: UndeployableChange[] = [];
  const targetGroups = codeDeployTargetGroups(template);
  diff.resources.forEachDifference((logicalId, change) => {
    const service = targetGroups.get(logicalId);
    if (service && !change.isAddition && !change.isRemoval && change.newResourceType === 'AWS::ElasticLoadBalancingV2::TargetGroup' && change.changeImpact === ResourceImpact.WILL_REPLACE) {
      const properties = Object.entries(change.propertyUpdates)
        .filter(([, difference]) => difference.changeImpact === ResourceImpact.WILL_REPLACE)
        .map(([name]) => name)
        .sort();
      const path = (change.newValue as ServiceResource | undefined)?.Metadata?.[PATH_METADATA];
      found.push({
        stack,
        logicalId,
        type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
        properties,
        reason:
          `replaces a target group of ${code(service)}, a service with the CODE_DEPLOY deployment controller (changing ${properties.map((p) => code(p)).join(', ')}): ` +
          'CloudFormation then updates the service\'s load balancers with the new ARN, which ECS UpdateService refuses, and the api\'s production rule, which CodeDeploy moves between blue and green on every release, ' +
          'would be pointed at the new empty group or, rolled back, at the drained one (deploy review R7). Leave these properties as they are (runbooks/deployment-guide.md, "Changes AWS refuses").',
        path: typeof path === 'string' ? path : undefined,
      });
      return;
    }
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
