import { Arn, ArnFormat, type Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import {
  acknowledgeEnhancedMonitoringRole,
  createPostgresFoundations,
  limitEnhancedMonitoringTrust,
  NO_EGRESS,
  type PostgresLogGroups,
  POSTGRES_PORT,
  protectedPostgresInstanceOptions,
} from './postgres-database';

/**
 * Properties of a PostgresReadReplica.
 */
export interface PostgresReadReplicaProps {
  /**
   * ARN of the source instance in the other region, built from names (see
   * `databaseInstanceArn()` in lib/naming.ts): a reference would be a cross-region export.
   */
  readonly sourceInstanceArn: string;
  /** PostgreSQL `major.minor` of the source, e.g. `18.3`; the parameter group family follows the major version. */
  readonly engineVersion: string;
  readonly vpc: ec2.IVpc;
  /** Subnets of the replica: the isolated database subnets. */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** RDS instance identifier (see `replicaInstanceIdentifier()` in lib/naming.ts). */
  readonly instanceIdentifier: string;
  /** Instance class without the `db.` prefix; the same as the source so it can carry the load after promotion. */
  readonly instanceClass: string;
  /** Multi-AZ: what the promoted database will run as. */
  readonly multiAz: boolean;
  /**
   * Why a single-AZ replica is acceptable here; required when `multiAz` is
   * false, and recorded as the acknowledgement of the Multi-AZ findings.
   *
   * @default - none (only valid with `multiAz: true`)
   */
  readonly singleAzReason?: string;
  /** Key in this region that encrypts storage and Performance Insights (a cross-region replica cannot use the source's key). */
  readonly encryptionKey: kms.IKey;
  readonly performanceInsightsRetentionDays: number;
  readonly monitoringInterval: Duration;
  /** Encrypts the exported PostgreSQL log groups. */
  readonly logKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /**
   * Upper limit (GiB) of the replica's own storage autoscaling: the source's
   * `maxAllocatedStorage`. A replica starts with the source's allocation but
   * does not follow the source's growth; without autoscaling of its own it
   * fills up once the source has grown, and replication stops.
   */
  readonly maxAllocatedStorageGiB: number;
}

/**
 * A cross-region read replica of the BodyScript PostgreSQL instance, ready to be
 * promoted by `ops dr failover`: encrypted with a key of its own region,
 * deletion protection, its own TLS-only parameter group of the source's family,
 * Performance Insights, enhanced monitoring, logs exported to encrypted log
 * groups with retention, storage autoscaling up to the source's ceiling.
 *
 * Retained, not snapshotted, when removed or replaced: RDS takes no final
 * snapshot of a read replica (DeleteDBInstance refuses FinalDBSnapshotIdentifier
 * for one and requires SkipFinalSnapshot), so a `Snapshot` policy fails the
 * stack's cleanup; and after a failover this instance is the production
 * database, which nothing may delete by accident.
 */
export class PostgresReadReplica extends Construct {
  /** The replica instance. */
  public readonly instance: rds.DatabaseInstanceReadReplica;
  /** The parameter group that forces TLS. */
  public readonly parameterGroup: rds.ParameterGroup;
  /** Log groups of the exported logs, by log type. */
  public readonly logGroups: PostgresLogGroups;

  constructor(scope: Construct, id: string, props: PostgresReadReplicaProps) {
    super(scope, id);
    if (!props.multiAz && !props.singleAzReason) {
      throw new Error(`PostgresReadReplica ${this.node.path}: singleAzReason must say why one AZ is acceptable when multiAz is false`);
    }
    if (!/^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:db:[a-z][a-z0-9-]*$/.test(props.sourceInstanceArn)) {
      throw new Error(`PostgresReadReplica ${this.node.path}: sourceInstanceArn must be an RDS instance ARN such as arn:aws:rds:us-east-1:123456789012:db:name, got '${props.sourceInstanceArn}'`);
    }
    if (!Number.isInteger(props.maxAllocatedStorageGiB) || props.maxAllocatedStorageGiB < 20 || props.maxAllocatedStorageGiB > 65536) {
      throw new Error(`PostgresReadReplica ${this.node.path}: maxAllocatedStorageGiB must be a whole number of GiB 20–65536 (the source's database.maxAllocatedStorageGiB), got ${props.maxAllocatedStorageGiB}`);
    }
    const arn = Arn.split(props.sourceInstanceArn, ArnFormat.COLON_RESOURCE_NAME);
    if (arn.region === Stack.of(this).region) {
      throw new Error(`PostgresReadReplica ${this.node.path}: the source must be in another region than the replica (${arn.region}); this construct builds a cross-region replica`);
    }

    const { engine, parameterGroup, logGroups } = createPostgresFoundations(this, {
      engineVersion: props.engineVersion,
      instanceIdentifier: props.instanceIdentifier,
      purpose: ' standby replica',
      logKey: props.logKey,
      logRetention: props.logRetention,
    });
    this.parameterGroup = parameterGroup;
    this.logGroups = logGroups;

    // The import only carries the engine; its ARN would be formatted in this
    // stack's region, so the source identifier is set from the given ARN below.
    const source = rds.DatabaseInstance.fromDatabaseInstanceAttributes(this, 'Source', {
      instanceIdentifier: arn.resourceName!,
      instanceEndpointAddress: `${arn.resourceName}.${arn.region}.rds.amazonaws.com`,
      port: POSTGRES_PORT,
      securityGroups: [],
      engine,
    });

    this.instance = new rds.DatabaseInstanceReadReplica(this, 'Instance', {
      sourceDatabaseInstance: source,
      instanceIdentifier: props.instanceIdentifier,
      instanceType: new ec2.InstanceType(props.instanceClass),
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      multiAz: props.multiAz,
      maxAllocatedStorage: props.maxAllocatedStorageGiB,
      ...protectedPostgresInstanceOptions({
        parameterGroup: this.parameterGroup,
        encryptionKey: props.encryptionKey,
        performanceInsightsRetentionDays: props.performanceInsightsRetentionDays,
        monitoringInterval: props.monitoringInterval,
      }),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const cfnInstance = this.instance.node.defaultChild as rds.CfnDBInstance;
    cfnInstance.sourceDbInstanceIdentifier = props.sourceInstanceArn;
    // A replica inherits encryption from its source; CloudFormation rejects StorageEncrypted
    // next to SourceDBInstanceIdentifier, and KmsKeyId (this region's key) is what encrypts it.
    cfnInstance.addPropertyDeletionOverride('StorageEncrypted');
    for (const group of Object.values(logGroups)) this.instance.node.addDependency(group);
    // The replica sends nothing through its security group: it answers connections
    // (security groups are stateful), and replication from the source, backups, log
    // export and monitoring run on AWS's side. Same logical ID; egress updates in place.
    const [replicaGroup] = this.instance.connections.securityGroups;
    (replicaGroup.node.defaultChild as ec2.CfnSecurityGroup).securityGroupEgress = [NO_EGRESS];

    acknowledgeEnhancedMonitoringRole(this.instance);
    limitEnhancedMonitoringTrust(this.instance, props.instanceIdentifier);
    acknowledge(
      this.instance,
      ['AwsSolutions-RDS11'],
      `The replica listens on ${POSTGRES_PORT}, not PostgreSQL's default 5432 (Port is set); the rule cannot tell because a replica's template carries no Engine, which it inherits from the source.`,
    );
    acknowledge(
      this.instance,
      ['NIST.800.53.R5-RDSInBackupPlan', 'HIPAA.Security-RDSInBackupPlan'],
      "RDS for PostgreSQL read replicas cannot have automated backups or be backed up while replicating; the source's automated backups are replicated to this region and its daily AWS Backup recovery points are copied to this region's vault. Promotion turns backups on.",
    );
    if (!props.multiAz && props.singleAzReason) {
      acknowledge(
        this.instance,
        ['AwsSolutions-RDS3', 'NIST.800.53.R5-RDSMultiAZSupport', 'HIPAA.Security-RDSMultiAZSupport', 'cdk-validator-cfnguard::rds_instance_multi_az_support_check'],
        props.singleAzReason,
      );
    }
  }
}
