import { STATEFUL_RESOURCE_TYPES } from '../lib/diff-report/stateful';
import { stacks, templateJson } from './support/assembly';

/**
 * The logical ID of a stateful resource is its identity: CloudFormation replaces
 * (deletes and re-creates) a resource whose logical ID changes. This table pins
 * every stateful resource of every environment with the policies that keep its
 * data when it is removed or replaced. A failure here means a refactoring would
 * destroy data: move the construct back, do not update the table.
 */
// The same list the pipeline's diff report refuses to replace or remove.
const STATEFUL_TYPES = new Set(STATEFUL_RESOURCE_TYPES);

type Policy = 'Retain' | 'Snapshot';
type Pin = [logicalId: string, type: string, policy: Policy];

const DATA_STACK_PINS = (env: 'Staging' | 'Production'): Pin[] => [
  ['DataKey2A0DE9E6', 'AWS::KMS::Key', 'Retain'],
  ['DatabaseKey7998E78F', 'AWS::KMS::Key', 'Retain'],
  ['LogsKeyFE4C4A83', 'AWS::KMS::Key', 'Retain'],
  ['BackupKey1226E6A1', 'AWS::KMS::Key', 'Retain'],
  ['DatabaseInstanceAA8A5FDE', 'AWS::RDS::DBInstance', 'Snapshot'],
  [
    env === 'Staging'
      ? 'BodyScriptStagingDataDatabaseInstanceSecret47B3DB673fdaad7efa858a3daf9490cf0a702aeb'
      : 'BodyScriptProductionDataDatabaseInstanceSecretBD9A89923fdaad7efa858a3daf9490cf0a702aeb',
    'AWS::SecretsManager::Secret',
    'Retain',
  ],
  ['DatabasePostgresqlLogs0EEFD61B', 'AWS::Logs::LogGroup', 'Retain'],
  ['DatabaseUpgradeLogsA548C373', 'AWS::Logs::LogGroup', 'Retain'],
  // Each failed backup or copy job's event (BackupJobFailures): the evidence of a day without a recovery point.
  ['BackupJobFailuresEvents9DE335F9', 'AWS::Logs::LogGroup', 'Retain'],
  ['DatabaseRolesHandlerLogsD10BD090', 'AWS::Logs::LogGroup', 'Retain'],
  ['DatabaseRolesProviderframeworkonEventLogGroup16FC6CBE', 'AWS::Logs::LogGroup', 'Retain'],
  ['AccessLogsBucket9935880A', 'AWS::S3::Bucket', 'Retain'],
  ['UploadsBucket6E76B673', 'AWS::S3::Bucket', 'Retain'],
  ['ResultsBucket260A22AD', 'AWS::S3::Bucket', 'Retain'],
  ['FrontendBucketA01D232A', 'AWS::S3::Bucket', 'Retain'],
  ['ProcessingQueue6DC600C3', 'AWS::SQS::Queue', 'Retain'],
  ['ProcessingDeadLetterQueueE13B1352', 'AWS::SQS::Queue', 'Retain'],
  ['BackupVault3A9C5852', 'AWS::Backup::BackupVault', 'Retain'],
  ['LoadBalancerLogsBucketD7BBD1A1', 'AWS::S3::Bucket', 'Retain'],
  ['CloudFrontLogsBucketD5E22B16', 'AWS::S3::Bucket', 'Retain'],
];

const NETWORK_STACK_PINS: Pin[] = [
  ['FlowLogKey162F5411', 'AWS::KMS::Key', 'Retain'],
  ['NetworkFlowLogs2BEC3212', 'AWS::Logs::LogGroup', 'Retain'],
];

const ALERTING_STACK_PINS: Pin[] = [['TopicsKey9F724072', 'AWS::KMS::Key', 'Retain']];

const STANDBY_DATA_STACK_PINS: Pin[] = [
  ['StandbyDataKey5B72B36D', 'AWS::KMS::Key', 'Retain'],
  ['StandbyDatabaseKey2FB370F9', 'AWS::KMS::Key', 'Retain'],
  ['StandbyBackupKeyFDEAD3F0', 'AWS::KMS::Key', 'Retain'],
  ['StandbyAccessLogsBucketF19C7A58', 'AWS::S3::Bucket', 'Retain'],
  ['UploadsReplicaBucketE6372363', 'AWS::S3::Bucket', 'Retain'],
  ['ResultsReplicaBucket8EF1BEE5', 'AWS::S3::Bucket', 'Retain'],
  ['FrontendReplicaBucket567128B4', 'AWS::S3::Bucket', 'Retain'],
  ['StandbyBackupVault2EA2BD0F', 'AWS::Backup::BackupVault', 'Retain'],
  ['StandbyLoadBalancerLogsBucket0F783C49', 'AWS::S3::Bucket', 'Retain'],
  ['StandbyProcessingQueue90B59681', 'AWS::SQS::Queue', 'Retain'],
  ['StandbyProcessingDeadLetterQueue0A0E90E9', 'AWS::SQS::Queue', 'Retain'],
];

/** The api's origin-verify rule handler (Custom::OriginVerifyRule) logs, in both regions: how each rule was written. */
const ORIGIN_VERIFY_RULE_PINS: Pin[] = [
  ['ApiForwardVerifiedRequestsHandlerLogs2A56F09E', 'AWS::Logs::LogGroup', 'Retain'],
  ['ApiForwardVerifiedRequestsProviderframeworkonEventLogGroupE2111091', 'AWS::Logs::LogGroup', 'Retain'],
];

const STANDBY_STACK_PINS: Pin[] = [
  ['StandbyLogsKey0E21876F', 'AWS::KMS::Key', 'Retain'],
  ['StandbyTopicsKey833B0DBE', 'AWS::KMS::Key', 'Retain'],
  ['NetworkFlowLogs2BEC3212', 'AWS::Logs::LogGroup', 'Retain'],
  ['ReplicaPostgresqlLogs87B1BF6C', 'AWS::Logs::LogGroup', 'Retain'],
  ['ReplicaUpgradeLogsE1C3C275', 'AWS::Logs::LogGroup', 'Retain'],
  // Promoted by `ops dr failover`, it becomes the environment's database.
  ['ReplicaInstance639BE1BF', 'AWS::RDS::DBInstance', 'Retain'],
  // The pilot-light services' container logs (what they logged after a failover is evidence).
  ['ApiLogsCD139AD4', 'AWS::Logs::LogGroup', 'Retain'],
  ['ProcessingLogsC0D008AC', 'AWS::Logs::LogGroup', 'Retain'],
  ...ORIGIN_VERIFY_RULE_PINS,
];

/**
 * The log groups of the api's deployment trigger (EcsDeploymentTrigger). They
 * replaced those of @cdklabs/cdk-ecs-codedeploy's provider (and the worker's,
 * which left CodeDeploy) before any environment was deployed; the old ones were
 * retained, so a deployed environment would keep them, orphaned, until their
 * retention ends.
 */
const deploymentTriggerLogGroups = (service: 'Api', ids: string[]): Pin[] => ids.map((id) => [`${service}Release${id}`, 'AWS::Logs::LogGroup', 'Retain']);

/**
 * The repositories moved from the Services stack to the Registry stack (issue 9)
 * with the same logical IDs, before any environment was deployed: a move of a
 * deployed repository would need `cdk import` (or `cdk refactor`) instead.
 */
const REGISTRY_STACK_PINS: Pin[] = [
  ['ApiRepositoryF340B4FB', 'AWS::ECR::Repository', 'Retain'],
  ['ProcessingRepository132CE411', 'AWS::ECR::Repository', 'Retain'],
];

/** With a domain the api load balancers are internet-facing behind a regional web ACL, whose decisions are audit records. */
const API_WEB_ACL_PINS: Pin[] = [['ApiWebAclLogs9BB09755', 'AWS::Logs::LogGroup', 'Retain']];

const SERVICES_STACK_PINS: Pin[] = [
  ...ORIGIN_VERIFY_RULE_PINS,
  // What each rotation of the origin-verify value did, step by step.
  ['OriginVerifyRotationLogsF0024ADE', 'AWS::Logs::LogGroup', 'Retain'],
  // What the custom resource that writes the us-west-2 frontend replica's policy did.
  ['FrontendBucketAccessReplicaPolicyLogsD0201864', 'AWS::Logs::LogGroup', 'Retain'],
  ['OriginVerifySecret1DED2FB3', 'AWS::SecretsManager::Secret', 'Retain'],
  ['ApiLogsCD139AD4', 'AWS::Logs::LogGroup', 'Retain'],
  ['ProcessingLogsC0D008AC', 'AWS::Logs::LogGroup', 'Retain'],
  ['MigrationsLogsC23F5A27', 'AWS::Logs::LogGroup', 'Retain'],
  ['EdgeWebAclLogs9AEEB6B6', 'AWS::Logs::LogGroup', 'Retain'],
  ['ApiFailedTasksEvents0FFBCD77', 'AWS::Logs::LogGroup', 'Retain'],
  ['ProcessingFailedTasksEvents308D6142', 'AWS::Logs::LogGroup', 'Retain'],
  ...deploymentTriggerLogGroups('Api', [
    'OnEventLogs5D5EDADD',
    'IsCompleteLogsCB4BD5B6',
    'ProviderframeworkonEventLogGroup36C85F8D',
    'ProviderframeworkisCompleteLogGroupB4F2AB01',
    'ProviderframeworkonTimeoutLogGroupC26AB220',
  ]),
  ['FrontendCanaryArtifactsBucket4C767CEF', 'AWS::S3::Bucket', 'Retain'],
  ['ApiCanaryArtifactsBucket04CE70F5', 'AWS::S3::Bucket', 'Retain'],
  ['ProcessingCanaryArtifactsBucket25CB43D5', 'AWS::S3::Bucket', 'Retain'],
];

/** The backup account's vault of copies (config backup.copyAccount). */
const BACKUP_VAULT_STACK_PINS: Pin[] = [
  ['BackupCopiesKey1F49D62C', 'AWS::KMS::Key', 'Retain'],
  ['BackupCopiesVault0E6CDBF7', 'AWS::Backup::BackupVault', 'Retain'],
];

const FAULT_INJECTION_STACK_PINS: Pin[] = [
  ['FaultInjectionLogsKeyB9823394', 'AWS::KMS::Key', 'Retain'],
  ['ExperimentLogs98E3CD5B', 'AWS::Logs::LogGroup', 'Retain'],
];

export const PINNED: Record<string, Pin[]> = {
  'BodyScript-Staging-Data': DATA_STACK_PINS('Staging'),
  'BodyScript-Production-Data': DATA_STACK_PINS('Production'),
  'BodyScript-Staging-Network': NETWORK_STACK_PINS,
  'BodyScript-Production-Network': NETWORK_STACK_PINS,
  'BodyScript-Staging-Registry': REGISTRY_STACK_PINS,
  'BodyScript-Production-Registry': REGISTRY_STACK_PINS,
  'BodyScript-Staging-Services': SERVICES_STACK_PINS,
  'BodyScript-Production-Services': [...SERVICES_STACK_PINS, ...API_WEB_ACL_PINS],
  'BodyScript-Staging-Alerting': ALERTING_STACK_PINS,
  'BodyScript-Production-Alerting': ALERTING_STACK_PINS,
  'BodyScript-Staging-FaultInjection': FAULT_INJECTION_STACK_PINS,
  'BodyScript-Production-FaultInjection': FAULT_INJECTION_STACK_PINS,
  'BodyScript-Staging-StandbyData': STANDBY_DATA_STACK_PINS,
  'BodyScript-Production-StandbyData': STANDBY_DATA_STACK_PINS,
  'BodyScript-Staging-Standby': STANDBY_STACK_PINS,
  'BodyScript-Production-Standby': [...STANDBY_STACK_PINS, ...API_WEB_ACL_PINS],
  'BodyScript-Production-BackupVault': BACKUP_VAULT_STACK_PINS,
};

describe.each(Object.entries(PINNED))('stateful resources of %s', (stackName, pins) => {
  test.each(pins)('%s (%s) keeps its logical ID and its %s policies', (logicalId, type, policy) => {
    const resource = templateJson(stackName).Resources[logicalId];
    expect(resource).toBeDefined();
    expect(resource.Type).toBe(type);
    expect(resource.DeletionPolicy).toBe(policy);
    expect(resource.UpdateReplacePolicy).toBe(policy);
  });
});

describe('the stateful stacks', () => {
  test.each(['BodyScript-Staging-Data', 'BodyScript-Production-Data', 'BodyScript-Staging-Registry', 'BodyScript-Production-Registry', 'BodyScript-Production-BackupVault'])('%s has termination protection', (name) => {
    expect(stacks().find((s) => s.displayName === name)?.terminationProtection).toBe(true);
  });

  test.each(['BodyScript-Staging-Data', 'BodyScript-Production-Data'])('the database in %s has deletion protection', (name) => {
    expect(templateJson(name).Resources.DatabaseInstanceAA8A5FDE.Properties?.DeletionProtection).toBe(true);
  });
});

describe('every stateful resource in every stack', () => {
  // A new stateful resource must be added to PINNED above, so that nobody can
  // rename it later without this test noticing.
  test('is pinned and retained or snapshotted', () => {
    const unpinned: string[] = [];
    const unprotected: string[] = [];
    for (const stack of stacks()) {
      const pinnedIds = new Set((PINNED[stack.displayName] ?? []).map(([id]) => id));
      for (const [logicalId, resource] of Object.entries(templateJson(stack.id).Resources)) {
        if (!STATEFUL_TYPES.has(resource.Type)) continue;
        if (!pinnedIds.has(logicalId)) unpinned.push(`${stack.displayName}/${logicalId} (${resource.Type})`);
        if (!['Retain', 'Snapshot'].includes(resource.DeletionPolicy ?? '') || !['Retain', 'Snapshot'].includes(resource.UpdateReplacePolicy ?? '')) {
          unprotected.push(`${stack.displayName}/${logicalId}: DeletionPolicy=${resource.DeletionPolicy} UpdateReplacePolicy=${resource.UpdateReplacePolicy}`);
        }
      }
    }
    expect(unpinned).toEqual([]);
    expect(unprotected).toEqual([]);
  });
});
