import { type App, Tags } from 'aws-cdk-lib';
import { ReplicationAlarms } from '../constructs/replication-alarms';
import { enableComplianceChecks } from './compliance';
import { type BodyScriptConfig, ENVIRONMENT_NAMES, type EnvironmentName } from './config';
import { alarmNamePrefix, bucketName, REPLICATED_BUCKET_PURPOSES, REPLICATION_RULE_ID, stackNames } from './naming';
import { AlertingStack } from './stacks/alerting-stack';
import { BackupVaultStack } from './stacks/backup-vault-stack';
import { ApplicationStack } from './stacks/application-stack';
import { DataStack } from './stacks/data-stack';
import { FaultInjectionStack } from './stacks/fault-injection-stack';
import { GitHubStack } from './stacks/github-stack';
import { NetworkStack } from './stacks/network-stack';
import { OperationsStack } from './stacks/operations-stack';
import { RegistryStack } from './stacks/registry-stack';
import { ServicesStack } from './stacks/services-stack';
import { StandbyDataStack } from './stacks/standby-data-stack';
import { StandbyStack } from './stacks/standby-stack';

/** The stacks of one environment. */
export interface EnvironmentStacks {
  readonly alerting: AlertingStack;
  readonly network: NetworkStack;
  readonly data: DataStack;
  /** Container repositories and their replication to the standby region (before anything pulls an image). */
  readonly registry: RegistryStack;
  /** ECS services, load balancers, CodeDeploy, canaries and CloudFront. */
  readonly services: ServicesStack;
  readonly application: ApplicationStack;
  /** The role the pipeline's operator commands run as. */
  readonly operations: OperationsStack;
  /** AWS FIS experiment templates against the primary region. */
  readonly faultInjection: FaultInjectionStack;
  /** Standby region: keys, replica buckets and backup vault (before the primary's replication). */
  readonly standbyData: StandbyDataStack;
  /** Standby region: read replica, pilot-light services, standby alarms. */
  readonly standby: StandbyStack;
  /**
   * The separate backup account's vault (when config backup.copyAccount is set):
   * deployed by a person there, never a dependency of the environment's stacks.
   */
  readonly backupVault?: BackupVaultStack;
}

export interface BodyScriptStacks {
  /** The stacks of each environment built (every environment unless BuildBodyScriptAppOptions.environments says otherwise). */
  readonly environments: Readonly<Partial<Record<EnvironmentName, EnvironmentStacks>>>;
  /** The GitHub OIDC provider and deploy roles (one stack for all environments). */
  readonly github: GitHubStack;
}

/**
 * What buildBodyScriptApp builds.
 */
export interface BuildBodyScriptAppOptions {
  /**
   * The environments whose stacks are built, besides BodyScript-GitHub (which
   * always is, from every environment's configuration). An environment's stacks
   * are built from its own configuration and the project's only, so they are
   * the same whether the other environment is built or not: a test of a change
   * to one environment's configuration builds only that one (test/config.test.ts).
   *
   * @default - every environment (ENVIRONMENT_NAMES)
   */
  readonly environments?: readonly EnvironmentName[];
}

/**
 * Builds every BodyScript stack into `app` from validated configuration. The
 * entry point (bin/bodyscript.ts) and the tests both call this, so the tests
 * check exactly what `cdk synth` produces.
 */
export function buildBodyScriptApp(app: App, config: BodyScriptConfig, options: BuildBodyScriptAppOptions = {}): BodyScriptStacks {
  const unknownEnvironments = (options.environments ?? []).filter((name) => !ENVIRONMENT_NAMES.includes(name));
  if (unknownEnvironments.length > 0) {
    throw new Error(`buildBodyScriptApp environments: must be among ${ENVIRONMENT_NAMES.join(', ')}, got ${unknownEnvironments.map((name) => `'${name}'`).join(', ')}`);
  }
  const built = ENVIRONMENT_NAMES.filter((name) => options.environments?.includes(name) ?? true);
  enableComplianceChecks(app);
  Tags.of(app).add('Project', 'BodyScript');
  Tags.of(app).add('ManagedBy', 'aws-cdk');

  // ECR keeps one replication configuration per registry (account and region):
  // two environments there would overwrite each other's replication rule.
  const registries = ENVIRONMENT_NAMES.map((name) => `${config.environments[name].primary.account}/${config.environments[name].primary.region}`);
  const shared = registries.find((registry, index) => registries.indexOf(registry) !== index);
  if (shared) {
    throw new Error(`environments ${ENVIRONMENT_NAMES.join(' and ')}: primary.account/primary.region must differ, got ${shared} twice; ECR has one replication configuration per account and region, which BodyScript-<Env>-Registry owns`);
  }

  const environments: Partial<Record<EnvironmentName, EnvironmentStacks>> = {};
  for (const name of built) {
    const environment = config.environments[name];
    const primary = { account: environment.primary.account, region: environment.primary.region };
    const standbyLocation = { account: environment.standby.account, region: environment.standby.region };

    // The replication targets must exist before the primary names them: the
    // primary data stack depends on this one (an ordering, not a reference).
    const standbyData = new StandbyDataStack(app, stackNames.standbyData(name), {
      env: standbyLocation,
      config: environment,
      description: `BodyScript ${name} standby (${standbyLocation.region}): keys, replica buckets and backup vault (stateful)`,
    });

    const alerting = new AlertingStack(app, stackNames.alerting(name), {
      env: primary,
      config: environment,
      description: `BodyScript ${name}: alarm topics and their delivery to people`,
    });
    const network = new NetworkStack(app, stackNames.network(name), {
      env: primary,
      config: environment,
      description: `BodyScript ${name}: VPC, subnets, flow logs and endpoints`,
    });
    const data = new DataStack(app, stackNames.data(name), {
      env: primary,
      config: environment,
      vpc: network.vpc,
      standbyDatabaseKey: standbyData.databaseKey.key,
      description: `BodyScript ${name}: database, buckets, keys, queues and backups (stateful)`,
    });
    data.addStackDependency(standbyData, 'replica buckets, standby keys and backup vault the replication names');
    // First in a new account (then the images are pushed): nothing that pulls an image may be in this stack.
    const registry = new RegistryStack(app, stackNames.registry(name), {
      env: primary,
      config: environment,
      description: `BodyScript ${name}: container repositories and their replication to ${standbyLocation.region} (stateful)`,
    });
    const services = new ServicesStack(app, stackNames.services(name), {
      env: primary,
      config: environment,
      alerting,
      network,
      data,
      description: `BodyScript ${name}: api and processing services (blue/green), CloudFront and WAF`,
    });
    registry.addStackDependency(standbyData, 'the creation template and scanning of the image replicas, which must exist before the first replicated push');
    services.addStackDependency(registry, 'the repositories its task definitions pull from, by name');
    const application = new ApplicationStack(app, stackNames.application(name), {
      env: primary,
      config: environment,
      alerting,
      network,
      data,
      services,
      description: `BodyScript ${name}: edge and monitoring; deploys the whole environment`,
    });
    application.addStackDependency(services, 'the services and distribution it monitors');
    const operations = new OperationsStack(app, stackNames.operations(name), {
      env: primary,
      config: environment,
      project: config.project,
      description: `BodyScript ${name}: the role the pipeline's operator commands run as (snapshot, rollback, DR failover)`,
    });
    application.addStackDependency(operations, 'the operations role the pipeline verifies and rolls back with');
    // S3 publishes replication metrics in the source region, so the replication
    // alarms sit with the environment's other alarms in the primary region.
    new ReplicationAlarms(application, 'StorageReplicationAlarms', {
      alarmNamePrefix: alarmNamePrefix(name),
      rules: REPLICATED_BUCKET_PURPOSES.map((purpose) => ({
        label: purpose,
        sourceBucketName: bucketName(name, purpose, primary.account, primary.region),
        destinationBucketName: bucketName(name, purpose, standbyLocation.account, standbyLocation.region),
        ruleId: REPLICATION_RULE_ID,
      })),
      critical: alerting.alarmTopics.critical,
      warning: alerting.alarmTopics.warning,
      runbook: 'runbooks/disaster-recovery.md',
    });
    // Game days: after the top stack; each experiment stops on customer impact beyond its intent.
    const faultInjection = new FaultInjectionStack(app, stackNames.faultInjection(name), {
      env: primary,
      config: environment,
      vpc: network.vpc,
      alarms: {
        api: services.api.rollbackAlarms,
        processing: services.processing.rollbackAlarms,
        frontendCanary: services.canaries.frontend.failureAlarm,
        apiCanary: services.canaries.api.failureAlarm,
        critical: alerting.alarmTopics.critical,
      },
      description: `BodyScript ${name}: AWS FIS game-day experiments (api tasks, database failover, one AZ) that the task counts allow, stopped by customer impact beyond their intent`,
    });
    faultInjection.addStackDependency(application, 'game days run against the whole environment, once it is deployed');
    // The replica needs its source database; deploy with `cdk deploy BodyScript-<Env>-Standby`.
    const standby = new StandbyStack(app, stackNames.standby(name), {
      env: standbyLocation,
      config: environment,
      standbyData,
      description: `BodyScript ${name} standby (${standbyLocation.region}): read replica, pilot-light services, standby alarms`,
    });
    standby.addStackDependency(data, 'the source database of the read replica');
    standby.addStackDependency(services, 'the us-west-2 replica of the origin-verify secret its api listener reads by name');
    standby.addStackDependency(registry, 'the registry replication that copies the images its pilot light pulls by name');
    // The backup account's vault: no stack depends on it (the pipeline never deploys into that account).
    const backupVault = environment.backup.copyAccount
      ? new BackupVaultStack(app, stackNames.backupVault(name), {
          env: { account: environment.backup.copyAccount, region: primary.region },
          config: environment,
          description: `BodyScript ${name} backup account: the vault that receives a copy of every daily recovery point (stateful)`,
        })
      : undefined;
    for (const stack of [alerting, network, data, registry, services, application, operations, faultInjection, standbyData, standby, ...(backupVault ? [backupVault] : [])]) {
      Tags.of(stack).add('Environment', name);
    }
    environments[name] = { alerting, network, data, registry, services, application, operations, faultInjection, standbyData, standby, backupVault };
  }

  const github = new GitHubStack(app, stackNames.github, {
    env: { account: config.project.github.account, region: config.project.github.region },
    github: config.project.github,
    environments: config.environments,
    description: 'BodyScript: GitHub Actions OIDC provider and the deploy roles of each environment',
  });
  return { environments, github };
}
