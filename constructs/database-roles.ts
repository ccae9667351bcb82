import * as path from 'node:path';
import { ArnFormat, CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import type { ServiceName } from '../lib/naming';
import { secretResource } from './origin-verify-rule';

/** The committed bundle of lambda/database-roles/index.cjs with `pg` (scripts/bundle-database-roles.ts). */
export const DATABASE_ROLES_ASSET_DIRECTORY = path.join(__dirname, '..', 'lambda', 'database-roles', 'dist');

/** The CloudFormation resource type of the roles. */
export const DATABASE_ROLES_RESOURCE_TYPE = 'Custom::DatabaseRoles';

/** The schema the application's tables live in; every role's search_path. */
export const APPLICATION_SCHEMA = 'bodyscript';

/** The role the application team's migrations run as: owner of APPLICATION_SCHEMA and of every table in it. */
export const MIGRATIONS_ROLE = 'bodyscript_migrations';

/** The PostgreSQL role each service logs in as (IAM database authentication). */
export const SERVICE_DATABASE_ROLES: Readonly<Record<ServiceName, string>> = { api: 'bodyscript_api', processing: 'bodyscript_worker' };

/** Table privilege a service role may hold: data, never structure (no TRUNCATE, REFERENCES, TRIGGER). */
export type TablePrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

/** What a service does with the application's tables and sequences. */
export interface ServiceGrants {
  readonly tables: readonly TablePrivilege[];
  readonly sequences: readonly ('USAGE' | 'SELECT' | 'UPDATE')[];
}

/**
 * Least privilege of each service on the application schema:
 * - the api serves users: it reads and writes their rows and deletes what a
 *   user deletes (accounts, videos): SELECT, INSERT, UPDATE, DELETE;
 * - the worker reads the job it was handed and records its progress and
 *   results: SELECT, INSERT, UPDATE, never DELETE;
 * both draw ids from the schema's sequences (USAGE, SELECT). Neither may
 * create, alter or drop anything: that is the migrations owner's.
 */
export const SERVICE_GRANTS: Readonly<Record<ServiceName, ServiceGrants>> = {
  api: { tables: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], sequences: ['USAGE', 'SELECT'] },
  processing: { tables: ['SELECT', 'INSERT', 'UPDATE'], sequences: ['USAGE', 'SELECT'] },
};

/**
 * The IAM resource a principal needs `rds-db:connect` on to log in as `user`
 * to the instance whose DbiResourceId is `resourceId`, in the scope's region
 * and account (IAM database authentication names the instance by its
 * resource id, not its identifier).
 */
export function databaseUserArn(scope: Construct, resourceId: string, user: string): string {
  return Stack.of(scope).formatArn({ service: 'rds-db', resource: 'dbuser', resourceName: `${resourceId}/${user}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

/**
 * Properties of DatabaseRoles.
 */
export interface DatabaseRolesProps {
  /** The VPC of the database. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the function that runs the role SQL: subnets that reach both the
   * database and Secrets Manager (its interface endpoint, or NAT where there is
   * none).
   */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** Security group of the database; the function is let in on `port`. */
  readonly databaseSecurityGroup: ec2.ISecurityGroup;
  /** Port the database listens on. */
  readonly port: number;
  /** The instance's master credentials (host, port, username, password): used only by this function and the rotation. */
  readonly masterSecret: secretsmanager.ISecret;
  /** Key that encrypts the master secret. */
  readonly masterSecretKey: kms.IKey;
  /** The database the roles connect to. */
  readonly databaseName: string;
  /** Key of the function's log groups. */
  readonly logKey: kms.IKey;
  /** Retention of the function's log groups. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * The database roles of the BodyScript services (security review H6): a
 * migrations owner (`bodyscript_migrations`) that owns the application
 * schema, and one role per service (`bodyscript_api`, `bodyscript_worker`)
 * with SERVICE_GRANTS on it, all logging in with IAM database authentication
 * only. Created and kept in line by `Custom::DatabaseRoles` (handler
 * lambda/database-roles/index.cjs), a function in the VPC that connects with
 * the master secret; it is the only reader of that secret besides its
 * rotation. The roles are never dropped (see the handler).
 *
 * Behind a provider framework on purpose: the framework's own function, not
 * the VPC function, answers CloudFormation through its pre-signed S3 URL,
 * which the VPC's S3 gateway endpoint policy (own-account buckets only) would
 * refuse.
 */
export class DatabaseRoles extends Construct {
  /** The custom resource. */
  public readonly resource: CustomResource;
  /** The function that runs the role SQL. */
  public readonly handler: lambda.Function;
  /** Security group of the function. */
  public readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: DatabaseRolesProps) {
    super(scope, id);
    if (!Number.isInteger(props.port) || props.port < 1150 || props.port > 65535) {
      throw new Error(`DatabaseRoles ${this.node.path}: port must be the database's port (RDS for PostgreSQL accepts 1150–65535), got ${props.port}`);
    }
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(props.databaseName)) {
      throw new Error(`DatabaseRoles ${this.node.path}: databaseName must be a lower-case PostgreSQL identifier, got '${props.databaseName}'`);
    }
    const stack = Stack.of(this);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Database roles function: PostgreSQL to the database, HTTPS to Secrets Manager',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(
      ec2.Peer.securityGroupId(props.databaseSecurityGroup.securityGroupId),
      ec2.Port.tcp(props.port),
      'PostgreSQL to the database whose roles it manages',
    );
    // Secrets Manager through its interface endpoint where there is one, NAT otherwise: no narrower address range without a proxy.
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to Secrets Manager (interface endpoint or NAT)');
    new ec2.CfnSecurityGroupIngress(this, 'DatabaseIngress', {
      groupId: props.databaseSecurityGroup.securityGroupId,
      sourceSecurityGroupId: this.securityGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: props.port,
      toPort: props.port,
      description: 'Database from the database roles function',
    });

    const role = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Creates the BodyScript database roles and their grants with the master credentials, for CloudFormation',
    });
    const policy = new iam.ManagedPolicy(this, 'HandlerPolicy', {
      description: 'Read the database master secret; network interfaces of a function in the VPC',
      roles: [role],
      statements: [
        new iam.PolicyStatement({ sid: 'ReadTheMasterSecret', actions: ['secretsmanager:GetSecretValue'], resources: [secretResource(props.masterSecret)] }),
        new iam.PolicyStatement({
          sid: 'DecryptItThroughSecretsManager',
          actions: ['kms:Decrypt'],
          resources: [props.masterSecretKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
        }),
        // What AWSLambdaVPCAccessExecutionRole grants, written out: Lambda creates and removes the function's interfaces with the role.
        new iam.PolicyStatement({
          sid: 'NetworkInterfacesOfAFunctionInTheVpc',
          actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
          resources: ['*'],
        }),
      ],
    });
    acknowledge(
      policy,
      ['AwsSolutions-IAM5[Resource::*]'],
      'The EC2 network-interface actions Lambda performs for a function in a VPC have no resource-level scoping at creation (AWS documents them on Resource * in AWSLambdaVPCAccessExecutionRole); every other statement names one secret and one key.',
    );

    const logGroup = new logs.LogGroup(this, 'HandlerLogs', { encryptionKey: props.logKey, retention: props.logRetention });
    this.handler = new lambda.Function(this, 'Handler', {
      description: 'Creates the BodyScript database roles and their grants (Custom::DatabaseRoles)',
      runtime: lambda.determineLatestNodeRuntime(this),
      code: lambda.Code.fromAsset(DATABASE_ROLES_ASSET_DIRECTORY),
      handler: 'index.onEventHandler',
      role,
      // Connect (10 s), one transaction with a 10 s lock timeout and 30 s statement timeout.
      timeout: Duration.minutes(2),
      memorySize: 256,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [this.securityGroup],
      logGroup,
    });
    logGroup.grantWrite(role);
    const provider = new cr.Provider(this, 'Provider', { onEventHandler: this.handler });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: DATABASE_ROLES_RESOURCE_TYPE,
      properties: {
        MasterSecretId: props.masterSecret.secretArn,
        Database: props.databaseName,
        Schema: APPLICATION_SCHEMA,
        Owner: MIGRATIONS_ROLE,
        Roles: (Object.keys(SERVICE_DATABASE_ROLES) as ServiceName[]).map((service) => ({
          Name: SERVICE_DATABASE_ROLES[service],
          TablePrivileges: [...SERVICE_GRANTS[service].tables],
          SequencePrivileges: [...SERVICE_GRANTS[service].sequences],
        })),
      },
    });
    // The function needs its permissions and its way in before CloudFormation calls it.
    this.resource.node.addDependency(policy, this.node.findChild('DatabaseIngress'));

    for (const child of this.node.findAll()) {
      if (child instanceof logs.CfnLogGroup) {
        child.kmsKeyId = props.logKey.keyArn;
        child.retentionInDays = props.logRetention;
      }
    }
    const functions = this.node.findAll().filter((c): c is lambda.CfnFunction => c instanceof lambda.CfnFunction);
    acknowledge(
      this,
      [
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'NIST.800.53.R5-IAMNoInlinePolicy',
        'HIPAA.Security-IAMNoInlinePolicy',
        'NIST.800.53.R5-LambdaConcurrency',
        'HIPAA.Security-LambdaConcurrency',
        'NIST.800.53.R5-LambdaDLQ',
        'HIPAA.Security-LambdaDLQ',
        'NIST.800.53.R5-LambdaInsideVPC',
        'HIPAA.Security-LambdaInsideVPC',
        'cdk-validator-cfnguard::lambda_inside_vpc_check',
        'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check',
        ...functions.map((fn) => `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn)}.Arn>:*]`),
      ],
      'Deployment-time functions: they run only when CloudFormation creates or changes the database roles, and a failure surfaces as the failed stack update (a DLQ or reserved concurrency would protect nothing). The SQL function runs in the VPC; the CDK provider framework\'s own function stays outside it on purpose (it answers CloudFormation through S3, which the VPC endpoint policy refuses), calls only Lambda, writes inline policies for its own role and may invoke any version of the SQL function (ARN:*). Logs go to groups encrypted with the environment logs key (a cross-stack reference the Control Tower rule cannot resolve).',
    );
    acknowledge(
      this.securityGroup,
      ['NIST.800.53.R5-EC2RestrictedCommonPorts', 'HIPAA.Security-EC2RestrictedCommonPorts', 'NIST.800.53.R5-EC2RestrictedSSH', 'HIPAA.Security-EC2RestrictedSSH'],
      'Egress only: the database port to the database security group and HTTPS for Secrets Manager; no ingress at all.',
    );
  }
}
