import { CfnOutput, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { databaseUserArn } from './database-roles';
import { CONTAINER_USER, type ServiceDatabase } from './load-balanced-fargate-service';

/**
 * What the migrations container runs when it is started without a command
 * override: nothing but a refusal, so that an accidental run-task of the
 * family changes nothing (the api image's own command would start a server as
 * the schema's owner).
 */
export const MIGRATIONS_DEFAULT_COMMAND = ['sh', '-c', 'echo "give the migration command as a container override (runbooks/database-access.md)" >&2; exit 2'];

/**
 * Properties of a DatabaseMigrationsTask.
 */
export interface DatabaseMigrationsTaskProps {
  /** Cluster whose VPC the task runs in. */
  readonly cluster: ecs.ICluster;
  /** Task definition family, e.g. `bodyscript-staging-migrations`. */
  readonly family: string;
  /** The image that carries the migrations (the api's, at the release's tag). */
  readonly image: ecs.ContainerImage;
  /** The database, logged in to as its migrations owner (`user`). */
  readonly database: ServiceDatabase;
  /** Plain environment of the container (the database's, from databaseEnvironment(), and Sentry's). */
  readonly environment: Record<string, string>;
  /**
   * Secrets of the container (the Sentry DSN); never a database credential.
   *
   * @default - none
   */
  readonly secrets?: Record<string, ecs.Secret>;
  /** Subnets the task runs in: the application subnets. */
  readonly subnets: ec2.SubnetSelection;
  readonly logGroupName: string;
  readonly logKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The one-off ECS task the application team runs its schema migrations with,
 * logged in as the migrations owner of the database (IAM authentication): a
 * task definition with the api image and a fail-closed default command, its
 * own task role (`rds-db:connect` as the owner, nothing else), its own
 * security group (HTTPS and the database port only) and log group. It has no
 * service: `aws ecs run-task` starts it with the migration command as an
 * override (runbooks/database-access.md), and the stack's outputs name the
 * subnets and the security group that command needs.
 */
export class DatabaseMigrationsTask extends Construct {
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DatabaseMigrationsTaskProps) {
    super(scope, id);
    const vpc = props.cluster.vpc;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `${props.family} task: the database port to the database, HTTPS`,
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs (image pull, logs)');
    new ec2.CfnSecurityGroupEgress(this, 'DatabaseEgress', {
      groupId: this.securityGroup.securityGroupId,
      destinationSecurityGroupId: props.database.securityGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: props.database.port,
      toPort: props.database.port,
      description: `${props.family} task to the database`,
    });
    new ec2.CfnSecurityGroupIngress(this, 'DatabaseIngress', {
      groupId: props.database.securityGroup.securityGroupId,
      sourceSecurityGroupId: this.securityGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: props.database.port,
      toPort: props.database.port,
      description: `Database from the ${props.family} task`,
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', { logGroupName: props.logGroupName, encryptionKey: props.logKey, retention: props.logRetention });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      family: props.family,
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.taskDefinition.addContainer('Container', {
      containerName: 'migrations',
      image: props.image,
      essential: true,
      memoryLimitMiB: 512,
      user: CONTAINER_USER,
      readonlyRootFilesystem: true,
      command: MIGRATIONS_DEFAULT_COMMAND,
      environment: props.environment,
      secrets: props.secrets,
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'migrations' }),
    });
    new iam.ManagedPolicy(this, 'DatabaseLoginPolicy', {
      description: `${props.family}: log in to the database as ${props.database.user}, the schema's owner (IAM authentication)`,
      roles: [this.taskDefinition.taskRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'LogInToTheDatabaseAsTheMigrationsOwner',
          actions: ['rds-db:connect'],
          resources: [databaseUserArn(this, props.database.resourceId, props.database.user)],
        }),
      ],
    });

    const subnetIds = vpc.selectSubnets(props.subnets).subnetIds;
    new CfnOutput(this, 'RunTaskNetwork', {
      description: `awsvpcConfiguration for aws ecs run-task of ${props.family}`,
      value: Stack.of(this).toJsonString({ subnets: subnetIds, securityGroups: [this.securityGroup.securityGroupId], assignPublicIp: 'DISABLED' }),
    });

    acknowledge(
      this.taskDefinition,
      ['AwsSolutions-ECS2'],
      'The plain environment variables are the database host, port, name, role and region and the Sentry environment and release: the task logs in with an IAM token, and the Sentry DSN comes from Secrets Manager through the secrets section.',
    );
    acknowledge(
      this.taskDefinition,
      ['bodyscript-guard::BODYSCRIPT_ECS_TASK_DEFINITION_KEEPS_REPLACED_REVISION'],
      'No rollback ever redeploys a migrations revision: the task has no service, a person runs the current revision, and a schema is taken back by a new migration (or point-in-time recovery), not by running an older task.',
    );
    acknowledge(
      this.taskDefinition.obtainExecutionRole(),
      ['AwsSolutions-IAM5[Resource::*]', 'NIST.800.53.R5-IAMNoInlinePolicy', 'HIPAA.Security-IAMNoInlinePolicy'],
      'ECS task execution role policy written by CDK for this task definition only: ecr:GetAuthorizationToken has no resource-level permission (Resource *); pulls and log writes are limited to this repository and log group.',
    );
    acknowledge(
      this.logGroup,
      ['cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check'],
      'KmsKeyId is the environment logs key of the data stack; the Control Tower rule only recognizes a literal ARN or a key in the same template, not a cross-stack reference.',
    );
  }
}
