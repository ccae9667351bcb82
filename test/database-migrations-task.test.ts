import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { DatabaseMigrationsTask, MIGRATIONS_DEFAULT_COMMAND } from '../constructs/database-migrations-task';
import { testApp } from './support/synthesize';

function build() {
  const stack = new Stack(testApp(), 'Services', { env: { account: '111111111111', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc');
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc });
  const databaseSecurityGroup = new ec2.SecurityGroup(stack, 'DatabaseSecurityGroup', { vpc, allowAllOutbound: false });
  new DatabaseMigrationsTask(stack, 'Migrations', {
    cluster,
    family: 'bodyscript-test-migrations',
    image: ecs.ContainerImage.fromRegistry('111111111111.dkr.ecr.us-east-1.amazonaws.com/bodyscript/test/api:1.0.0'),
    database: { securityGroup: databaseSecurityGroup, port: 5433, resourceId: 'db-ABCDEFGHIJKLMNOPQRSTUVWXY0', user: 'bodyscript_migrations' },
    environment: { DB_USERNAME: 'bodyscript_migrations', DB_AUTH: 'iam' },
    subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    logGroupName: '/bodyscript/test/migrations',
    logKey: new kms.Key(stack, 'LogKey'),
    logRetention: logs.RetentionDays.ONE_YEAR,
  });
  return Template.fromStack(stack);
}

describe('DatabaseMigrationsTask', () => {
  const template = build();

  test('is a task definition without a service whose default command refuses to run: the migration is a run-task override', () => {
    template.resourceCountIs('AWS::ECS::Service', 0);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'bodyscript-test-migrations',
      ContainerDefinitions: [
        Match.objectLike({ Name: 'migrations', Command: MIGRATIONS_DEFAULT_COMMAND, User: '1000:1000', ReadonlyRootFilesystem: true, Environment: Match.arrayWith([{ Name: 'DB_AUTH', Value: 'iam' }]) }),
      ],
    });
    expect(MIGRATIONS_DEFAULT_COMMAND.join(' ')).toMatch(/exit 2$/);
  });

  test('its task role may log in as the migrations owner and do nothing else', () => {
    const policies = Object.values(template.findResources('AWS::IAM::ManagedPolicy')).filter((p) => JSON.stringify(p.Properties.Roles).includes('MigrationsTaskDefinitionTaskRole'));
    expect(policies.map((p) => p.Properties.PolicyDocument.Statement)).toEqual([
      [{ Sid: 'LogInToTheDatabaseAsTheMigrationsOwner', Action: 'rds-db:connect', Effect: 'Allow', Resource: 'arn:aws:rds-db:us-east-1:111111111111:dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXY0/bodyscript_migrations' }],
    ]);
    const inline = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes('MigrationsTaskDefinitionTaskRole'));
    expect(inline).toEqual([]);
  });

  test('sends HTTPS and the database port to the database group only, and is let into the database', () => {
    const [[, group]] = Object.entries(template.findResources('AWS::EC2::SecurityGroup')).filter(([id]) => id.startsWith('MigrationsSecurityGroup'));
    expect(group.Properties.SecurityGroupEgress).toEqual([{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: expect.any(String) }]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MigrationsSecurityGroup'), 'GroupId'] },
      DestinationSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] },
      FromPort: 5433,
      ToPort: 5433,
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MigrationsSecurityGroup'), 'GroupId'] },
      FromPort: 5433,
    });
  });

  test('outputs the network configuration run-task needs (application subnets, its security group, no public address)', () => {
    const outputs = template.findOutputs('*');
    const [output] = Object.values(outputs).filter((o) => /run-task/.test(o.Description));
    expect(JSON.stringify(output.Value)).toMatch(/"assignPublicIp\\":\\"DISABLED\\"/);
    expect(JSON.stringify(output.Value)).toMatch(/MigrationsSecurityGroup/);
    expect(JSON.stringify(output.Value)).toMatch(/PrivateSubnet1/);
  });

  test('logs to its own encrypted log group with retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/bodyscript/test/migrations', RetentionInDays: 365, KmsKeyId: Match.anyValue() });
  });
});
