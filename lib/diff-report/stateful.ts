/**
 * Which resources hold data that a replacement or deletion would lose, and
 * what counts as a dangerous change to one of them.
 *
 * This is the single list the pull-request gate enforces; the design's
 * "stateful is sacred" principle is only as good as this list, so a new kind of
 * stateful resource in the app must be added here.
 */
export const STATEFUL_RESOURCE_TYPES: readonly string[] = [
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::S3::Bucket',
  'AWS::KMS::Key',
  'AWS::Backup::BackupVault',
  'AWS::SecretsManager::Secret',
  'AWS::Logs::LogGroup',
  'AWS::SQS::Queue',
  'AWS::DynamoDB::Table',
  'AWS::ECR::Repository',
  'AWS::EFS::FileSystem',
];

export function isStatefulType(type: string | undefined): boolean {
  return type !== undefined && STATEFUL_RESOURCE_TYPES.includes(type);
}

/** Policies under which CloudFormation keeps the data when it deletes or replaces the resource. */
const PROTECTIVE_POLICIES: readonly string[] = ['Retain', 'Snapshot', 'RetainExceptOnCreate'];

/**
 * The policy CloudFormation actually applies. An absent DeletionPolicy means
 * Delete, except for RDS clusters and stand-alone RDS instances where
 * CloudFormation takes a snapshot by default; dropping an explicit `Snapshot`
 * there is therefore not a weakening, while dropping `Retain` is.
 */
export function effectivePolicy(
  attribute: 'DeletionPolicy' | 'UpdateReplacePolicy',
  resource: { Type?: string; Properties?: Record<string, unknown>; DeletionPolicy?: unknown; UpdateReplacePolicy?: unknown },
): string {
  const explicit = resource[attribute];
  if (typeof explicit === 'string') return explicit;
  if (typeof explicit === 'object' && explicit !== null) return 'conditional'; // Fn::If: cannot be judged statically
  if (attribute === 'DeletionPolicy') {
    if (resource.Type === 'AWS::RDS::DBCluster') return 'Snapshot';
    if (resource.Type === 'AWS::RDS::DBInstance' && resource.Properties?.DBClusterIdentifier === undefined) return 'Snapshot';
  }
  return 'Delete';
}

export function isProtectivePolicy(policy: string): boolean {
  return PROTECTIVE_POLICIES.includes(policy);
}
