import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { OperationsRole } from '../../constructs/operations-role';
import type { EnvironmentConfig, ProjectConfig } from '../config';
import { DELIVERY_METRICS_NAMESPACE } from '../delivery-metrics';
import { BLUE_GREEN_SERVICES, ROLLING_SERVICES } from '../deployment-model';
import {
  bucketName,
  clusterName,
  codeDeployApplicationName,
  databaseInstanceIdentifier,
  deploymentGroupName,
  ecsServiceName,
  failedOverMarkerArn,
  githubDeployRoleName,
  operationsRoleName,
  partitionOf,
  regionSwitchPlanArnPattern,
  REPLICATED_BUCKET_PURPOSES,
  replicaInstanceIdentifier,
  resourcePrefix,
  SERVICE_NAMES,
} from '../naming';
import { serviceLevelObjectiveName, SLO_KINDS } from '../service-level-objectives';

export interface OperationsStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly project: ProjectConfig;
}

/**
 * `BodyScript-<Env>-Operations`: the role the pipeline's operator commands run
 * as in the environment's account (snapshot before a release, rollback, DR
 * failover). It is trusted only by the environment's GitHub deploy role, whose
 * name and account come from config, so no stack references another.
 */
export class OperationsStack extends Stack {
  public readonly operationsRole: OperationsRole;

  constructor(scope: Construct, id: string, props: OperationsStackProps) {
    super(scope, id, props);
    const { config, project } = props;
    const env = config.name;
    if (config.standby.account !== config.primary.account) {
      // One role per account would be needed; the CLI's preflight refuses a
      // mismatch, so say so at synth rather than at 3 a.m.
      throw new Error(
        `${env}.standby.account: the operations role covers one account; got primary ${config.primary.account} and standby ${config.standby.account} — add a second OperationsStack in the standby account first`,
      );
    }
    this.operationsRole = new OperationsRole(this, 'OperationsRole', {
      roleName: operationsRoleName(env),
      trustedRoleArns: [`arn:aws:iam::${project.github.account}:role/${githubDeployRoleName(env)}`],
      primaryDatabase: { identifier: databaseInstanceIdentifier(env), where: config.primary },
      snapshotPrefix: resourcePrefix(env),
      replica: { identifier: replicaInstanceIdentifier(env), where: config.standby },
      failover: { planArnPattern: regionSwitchPlanArnPattern(env, config.standby.account, partitionOf(config.standby.region)), markerArn: failedOverMarkerArn(env, config.standby) },
      deployments: BLUE_GREEN_SERVICES.map((service) => ({ application: codeDeployApplicationName(env, service), group: deploymentGroupName(env, service) })),
      cluster: clusterName(env),
      services: SERVICE_NAMES.map((service) => ecsServiceName(env, service)),
      rollingServices: ROLLING_SERVICES.map((service) => ecsServiceName(env, service)),
      deliveryMetricsNamespace: DELIVERY_METRICS_NAMESPACE,
      serviceRegions: [config.primary, config.standby],
      replicatedBucketNames: REPLICATED_BUCKET_PURPOSES.map((purpose) => bucketName(env, purpose, config.primary.account, config.primary.region)),
      hostedZoneId: config.domain?.hostedZoneId,
      serviceLevelObjectiveNames: SLO_KINDS.map((kind) => serviceLevelObjectiveName(env, kind)),
    });
  }
}
