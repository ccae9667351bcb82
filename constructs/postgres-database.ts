import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { RDS_BACKUP_WINDOW, RDS_MAINTENANCE_WINDOW } from '../lib/config/aws';
import { guardSecretResourcePolicy } from '../lib/secret-policy-guard';
import { limitServiceRoleTrust } from '../lib/service-role-trust';

/**
 * PostgreSQL listens on this port rather than 5432: scanners looking for
 * PostgreSQL try the default first. Clients read it from the credentials secret.
 */
export const POSTGRES_PORT = 5433;

/** Log types PostgreSQL exports to CloudWatch Logs. */
export const POSTGRES_LOG_EXPORTS = ['postgresql', 'upgrade'] as const;

/**
 * Parameters of every BodyScript PostgreSQL parameter group (the primary's and
 * the standby replica's): TLS 1.2+ only, connection and slow-statement logging.
 */
export const POSTGRES_PARAMETERS: Readonly<Record<string, string>> = {
  'rds.force_ssl': '1',
  ssl_min_protocol_version: 'TLSv1.2',
  log_connections: '1',
  log_disconnections: '1',
  // Statements slower than the API's 500 ms budget are worth seeing.
  log_min_duration_statement: '500',
  log_statement: 'ddl',
};

/** Log groups of the exported PostgreSQL logs, by log type. */
export type PostgresLogGroups = Record<(typeof POSTGRES_LOG_EXPORTS)[number], logs.LogGroup>;

/**
 * What every BodyScript PostgreSQL instance (the primary and the standby
 * replica) is built on: the engine of a `major.minor` version, a parameter group
 * with POSTGRES_PARAMETERS, and the exported-log groups. The log groups are
 * created here (RDS writes into existing groups with these names) so that they
 * get our key and retention without the log-retention Lambda that
 * `cloudwatchLogsRetention` would add. Construct IDs are fixed: `Parameters`,
 * `PostgresqlLogs`, `UpgradeLogs`.
 */
export function createPostgresFoundations(
  scope: Construct,
  props: { engineVersion: string; instanceIdentifier: string; purpose: string; logKey: kms.IKey; logRetention: logs.RetentionDays },
): { engine: rds.IInstanceEngine; parameterGroup: rds.ParameterGroup; logGroups: PostgresLogGroups } {
  const major = props.engineVersion.split('.')[0];
  const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.of(props.engineVersion, major) });
  const parameterGroup = new rds.ParameterGroup(scope, 'Parameters', {
    engine,
    description: `BodyScript PostgreSQL ${major}${props.purpose}: TLS only, slow-statement and connection logging`,
    parameters: { ...POSTGRES_PARAMETERS },
  });
  const logGroups = {} as PostgresLogGroups;
  for (const logType of POSTGRES_LOG_EXPORTS) {
    logGroups[logType] = new logs.LogGroup(scope, `${logType.charAt(0).toUpperCase()}${logType.slice(1)}Logs`, {
      logGroupName: `/aws/rds/instance/${props.instanceIdentifier}/${logType}`,
      encryptionKey: props.logKey,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
  return { engine, parameterGroup, logGroups };
}

/**
 * The instance settings the primary and the standby replica share: private, on
 * POSTGRES_PORT, gp3 storage encrypted with `encryptionKey`, deletion protection
 * and a final snapshot, IAM authentication, Performance Insights, enhanced
 * monitoring, exported logs, minor-version upgrades and the RSA-2048 CA.
 */
export function protectedPostgresInstanceOptions(props: {
  parameterGroup: rds.IParameterGroup;
  encryptionKey: kms.IKey;
  performanceInsightsRetentionDays: number;
  monitoringInterval: Duration;
}) {
  return {
    publiclyAccessible: false,
    port: POSTGRES_PORT,
    parameterGroup: props.parameterGroup,
    storageType: rds.StorageType.GP3,
    storageEncrypted: true,
    storageEncryptionKey: props.encryptionKey,
    copyTagsToSnapshot: true,
    // Automated backups are the point-in-time recovery; keep them after a delete.
    deleteAutomatedBackups: false,
    deletionProtection: true,
    removalPolicy: RemovalPolicy.SNAPSHOT,
    iamAuthentication: true,
    enablePerformanceInsights: true,
    performanceInsightRetention: props.performanceInsightsRetentionDays as rds.PerformanceInsightRetention,
    performanceInsightEncryptionKey: props.encryptionKey,
    monitoringInterval: props.monitoringInterval,
    cloudwatchLogsExports: [...POSTGRES_LOG_EXPORTS],
    autoMinorVersionUpgrade: true,
    caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
  } satisfies Partial<rds.DatabaseInstanceProps>;
}

/** Acknowledges the AWS-managed enhanced-monitoring policy on an instance's monitoring role. */
export function acknowledgeEnhancedMonitoringRole(instance: rds.DatabaseInstanceBase): void {
  acknowledge(
    instance.node.findChild('MonitoringRole'),
    ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]'],
    'AmazonRDSEnhancedMonitoringRole is the policy AWS documents for RDS enhanced monitoring; it only lets RDS write OS metrics to the RDSOSMetrics log group.',
  );
}

/**
 * Only RDS on behalf of this instance may assume its enhanced-monitoring role
 * (security review L2): aws:SourceAccount and aws:SourceArn of the instance,
 * built from its identifier (the instance names the role, so the role cannot
 * reference the instance).
 */
export function limitEnhancedMonitoringTrust(instance: rds.DatabaseInstanceBase, instanceIdentifier: string): void {
  // RDS stores the identifier in lowercase, and the instance's ARN carries it so.
  limitServiceRoleTrust(instance.node.findChild('MonitoringRole') as iam.IRole, 'monitoring.rds.amazonaws.com', { resourceName: instanceIdentifier.toLowerCase() });
}

/**
 * Where RDS copies the instance's automated backups (snapshots and transaction
 * logs), so that point-in-time recovery survives the loss of the region.
 */
export interface AutomatedBackupReplication {
  /** Destination region, e.g. `us-west-2`. */
  readonly region: string;
  /**
   * ARN of the KMS key in the destination region that encrypts the copies: a key
   * ARN (`arn:aws:kms:<region>:<account>:key/<id>`), not an alias ARN, which is
   * what StartDBInstanceAutomatedBackupsReplication documents for its KmsKeyId
   * (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_StartDBInstanceAutomatedBackupsReplication.html).
   */
  readonly kmsKeyArn: string;
  /**
   * How long the copies are kept.
   *
   * @default - the instance's backupRetention
   */
  readonly retention?: Duration;
}

/**
 * Properties of a PostgresDatabase.
 */
export interface PostgresDatabaseProps {
  readonly vpc: ec2.IVpc;
  /** Subnets of the instance: the isolated database subnets. */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** RDS instance identifier (see `databaseInstanceIdentifier()` in lib/naming.ts). */
  readonly instanceIdentifier: string;
  /** PostgreSQL `major.minor`, e.g. `18.3`. */
  readonly engineVersion: string;
  /** Instance class without the `db.` prefix, e.g. `r7g.large`. */
  readonly instanceClass: string;
  readonly databaseName: string;
  readonly allocatedStorageGiB: number;
  readonly maxAllocatedStorageGiB: number;
  /** Point-in-time recovery window. */
  readonly backupRetention: Duration;
  readonly multiAz: boolean;
  /**
   * Why a single-AZ instance is acceptable here; required when `multiAz` is
   * false, and recorded as the acknowledgement of the Multi-AZ findings.
   *
   * @default - none (only valid with `multiAz: true`)
   */
  readonly singleAzReason?: string;
  readonly performanceInsightsRetentionDays: number;
  readonly monitoringInterval: Duration;
  /** Encrypts storage, snapshots, Performance Insights and the credentials secret. */
  readonly encryptionKey: kms.IKey;
  /** Encrypts the exported PostgreSQL log groups. */
  readonly logKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** Name of the secret with the master credentials. */
  readonly credentialsSecretName: string;
  /** How often the master password rotates. */
  readonly credentialRotation: Duration;
  /**
   * Regions to which the credentials secret is replicated (with the key alias to
   * encrypt each replica), so the standby can connect after a failover.
   *
   * @default - not replicated
   */
  readonly secretReplicaRegions?: secretsmanager.ReplicaRegion[];
  /**
   * Replicate the automated backups to another region (cross-region point-in-time recovery).
   *
   * @default - automated backups stay in the instance's region
   */
  readonly automatedBackupReplication?: AutomatedBackupReplication;
}

/**
 * The BodyScript PostgreSQL instance: encrypted with a customer-managed key,
 * point-in-time recovery, deletion protection, a final snapshot on delete or
 * replacement, IAM authentication, Performance Insights, enhanced monitoring,
 * logs exported to encrypted log groups with retention, a parameter group that
 * refuses unencrypted connections, and master credentials in Secrets Manager
 * with single-user rotation.
 */
export class PostgresDatabase extends Construct {
  /** The RDS instance. */
  public readonly instance: rds.DatabaseInstance;
  /** The parameter group that forces TLS. */
  public readonly parameterGroup: rds.ParameterGroup;
  /** Master credentials (username, password, host, port). */
  public readonly secret: secretsmanager.ISecret;
  /** Log groups of the exported logs, by log type. */
  public readonly logGroups: PostgresLogGroups;
  /** The master password rotation. */
  public readonly rotation: secretsmanager.SecretRotation;
  /** The instance's DbiResourceId: what IAM database authentication names it by (`rds-db:connect` on `dbuser:<id>/<role>`). */
  public readonly resourceId: string;

  constructor(scope: Construct, id: string, props: PostgresDatabaseProps) {
    super(scope, id);
    if (!props.multiAz && !props.singleAzReason) {
      throw new Error(`PostgresDatabase ${this.node.path}: singleAzReason must say why one AZ is acceptable when multiAz is false`);
    }

    const { engine, parameterGroup, logGroups } = createPostgresFoundations(this, {
      engineVersion: props.engineVersion,
      instanceIdentifier: props.instanceIdentifier,
      purpose: '',
      logKey: props.logKey,
      logRetention: props.logRetention,
    });
    this.parameterGroup = parameterGroup;
    this.logGroups = logGroups;

    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      engine,
      instanceIdentifier: props.instanceIdentifier,
      instanceType: new ec2.InstanceType(props.instanceClass),
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      multiAz: props.multiAz,
      databaseName: props.databaseName,
      credentials: rds.Credentials.fromGeneratedSecret('bodyscript_admin', {
        secretName: props.credentialsSecretName,
        encryptionKey: props.encryptionKey,
        replicaRegions: props.secretReplicaRegions,
      }),
      ...protectedPostgresInstanceOptions({
        parameterGroup: this.parameterGroup,
        encryptionKey: props.encryptionKey,
        performanceInsightsRetentionDays: props.performanceInsightsRetentionDays,
        monitoringInterval: props.monitoringInterval,
      }),
      allocatedStorage: props.allocatedStorageGiB,
      maxAllocatedStorage: props.maxAllocatedStorageGiB,
      backupRetention: props.backupRetention,
      // The daily AWS Backup job is scheduled clear of both (lib/config/schema.ts checks backup.dailyStartHourUtc against them).
      preferredBackupWindow: RDS_BACKUP_WINDOW,
      preferredMaintenanceWindow: RDS_MAINTENANCE_WINDOW,
    });
    for (const group of Object.values(logGroups)) this.instance.node.addDependency(group);
    if (props.automatedBackupReplication) {
      const replication = props.automatedBackupReplication;
      if (replication.region === Stack.of(this).region) {
        throw new Error(`PostgresDatabase ${this.node.path}: automatedBackupReplication.region must be another region than the instance's (${replication.region})`);
      }
      // A literal we can read: refuse an alias (the RDS API documents a key ARN); a token is checked by the Guard rule BODYSCRIPT_RDS_BACKUP_REPLICATION_KEY_IS_KEY_ARN.
      if (!Token.isUnresolved(replication.kmsKeyArn) && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[^/]+$/.test(replication.kmsKeyArn)) {
        throw new Error(
          `PostgresDatabase ${this.node.path}: automatedBackupReplication.kmsKeyArn must be a key ARN (arn:aws:kms:<region>:<account>:key/<id>), got '${replication.kmsKeyArn}'; RDS documents a key ARN for the replicated backups' key, not an alias`,
        );
      }
      // No L2 property yet: CloudFormation's own AutomaticBackupReplication* properties
      // start (and on removal stop) the cross-region replication of automated backups.
      const cfnInstance = this.instance.node.defaultChild as rds.CfnDBInstance;
      cfnInstance.automaticBackupReplicationRegion = replication.region;
      cfnInstance.automaticBackupReplicationKmsKeyId = replication.kmsKeyArn;
      cfnInstance.automaticBackupReplicationRetentionPeriod = (replication.retention ?? props.backupRetention).toDays();
    }
    this.secret = this.instance.secret!;
    this.resourceId = (this.instance.node.defaultChild as rds.CfnDBInstance).attrDbiResourceId;
    // The database outlives a stack deletion (final snapshot); so must its password.
    (this.instance.node.findChild('Secret') as secretsmanager.Secret).applyRemovalPolicy(RemovalPolicy.RETAIN);

    this.rotation = this.instance.addRotationSingleUser({
      automaticallyAfter: props.credentialRotation,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    });
    // The rotation denies DeleteSecret to the account in the secret's policy; without
    // more, any administrator could first replace or remove that policy (security
    // review L8). Only the break-glass role may delete the secret or change its policy,
    // and CloudFormation's execution role may change the policy (it applies it).
    guardSecretResourcePolicy(this.secret, { denyDeletion: true });

    restrictDatabaseEgress(this.instance, this.rotation);

    acknowledgeEnhancedMonitoringRole(this.instance);
    limitEnhancedMonitoringTrust(this.instance, props.instanceIdentifier);
    if (!props.multiAz && props.singleAzReason) {
      acknowledge(
        this.instance,
        ['AwsSolutions-RDS3', 'NIST.800.53.R5-RDSMultiAZSupport', 'HIPAA.Security-RDSMultiAZSupport', 'cdk-validator-cfnguard::rds_instance_multi_az_support_check'],
        props.singleAzReason,
      );
    }
    // The rotation Lambda's ingress rule names the port through a token that the
    // checks cannot resolve; it is the database port, from the rotation function's own security group.
    for (const securityGroup of this.instance.connections.securityGroups) {
      for (const rule of securityGroup.node.children.filter((child) => child.node.id.startsWith('from '))) {
        acknowledge(
          rule,
          [
            'NIST.800.53.R5-EC2RestrictedCommonPorts',
            'HIPAA.Security-EC2RestrictedCommonPorts',
            'NIST.800.53.R5-EC2RestrictedSSH',
            'HIPAA.Security-EC2RestrictedSSH',
          ],
          `Admits only the PostgreSQL port (${POSTGRES_PORT}) from the password-rotation function's security group, not from any CIDR; the checks flag it because the port is a deploy-time token.`,
        );
      }
    }
  }
}

/**
 * CDK's way of saying "no egress" to CloudFormation: a security group without
 * egress rules gets EC2's default allow-all rule, so CDK writes one rule that
 * matches nothing (ICMP type 252 code 86 to 255.255.255.255/32).
 */
export const NO_EGRESS: ec2.CfnSecurityGroup.EgressProperty = { cidrIp: '255.255.255.255/32', description: 'Disallow all traffic', ipProtocol: 'icmp', fromPort: 252, toPort: 86 };

/**
 * Egress of the database and of its password rotation (security review M10, L11):
 * - the instance's security group sends nothing: RDS answers connections made to
 *   it (security groups are stateful) and its own replication, backups, log
 *   export and monitoring run on AWS's side, not through this group;
 * - the rotation function reaches the database port of that group and Secrets
 *   Manager over HTTPS (the interface endpoint where there is one, through NAT
 *   otherwise: the public endpoint's addresses are not narrower than 0.0.0.0/0
 *   without a proxy).
 * Set on the L1 security groups the L2s created (same logical IDs; changing
 * SecurityGroupEgress updates the group in place).
 */
function restrictDatabaseEgress(instance: rds.DatabaseInstance, rotation: secretsmanager.SecretRotation): void {
  const [databaseGroup] = instance.connections.securityGroups;
  (databaseGroup.node.defaultChild as ec2.CfnSecurityGroup).securityGroupEgress = [NO_EGRESS];
  const rotationGroup = rotation.node.tryFindChild('SecurityGroup') as ec2.SecurityGroup | undefined;
  if (!rotationGroup) throw new Error(`PostgresDatabase ${instance.node.path}: the rotation function has no security group to restrict (is it in the VPC?)`);
  (rotationGroup.node.defaultChild as ec2.CfnSecurityGroup).securityGroupEgress = [
    { cidrIp: '0.0.0.0/0', ipProtocol: 'tcp', fromPort: 443, toPort: 443, description: 'HTTPS to Secrets Manager (interface endpoint or NAT)' },
    {
      destinationSecurityGroupId: databaseGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: POSTGRES_PORT,
      toPort: POSTGRES_PORT,
      description: 'PostgreSQL to the database it rotates',
    },
  ];
}
