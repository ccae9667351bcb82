import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  APPLICATION_SCHEMA,
  DATABASE_ROLES_RESOURCE_TYPE,
  DatabaseRoles,
  type DatabaseRolesProps,
  databaseUserArn,
  MIGRATIONS_ROLE,
  SERVICE_DATABASE_ROLES,
  SERVICE_GRANTS,
} from '../constructs/database-roles';
import { testApp } from './support/synthesize';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:bodyscript/staging/database-master-AbCdEf';

function build(overrides: Partial<DatabaseRolesProps> = {}) {
  const stack = new Stack(testApp(), 'Data', { env: { account: '111111111111', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc');
  const databaseSecurityGroup = new ec2.SecurityGroup(stack, 'DatabaseSecurityGroup', { vpc });
  const roles = new DatabaseRoles(stack, 'DatabaseRoles', {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    databaseSecurityGroup,
    port: 5433,
    masterSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'MasterSecret', SECRET_ARN),
    masterSecretKey: new kms.Key(stack, 'DatabaseKey'),
    databaseName: 'bodyscript',
    logKey: new kms.Key(stack, 'LogKey'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    ...overrides,
  });
  return { stack, roles };
}

describe('DatabaseRoles', () => {
  const { stack } = build();
  const template = Template.fromStack(stack);

  test('is a custom resource naming the master secret, the schema, its owner and each service role with its grants', () => {
    template.hasResourceProperties(DATABASE_ROLES_RESOURCE_TYPE, {
      MasterSecretId: SECRET_ARN,
      Database: 'bodyscript',
      Schema: APPLICATION_SCHEMA,
      Owner: MIGRATIONS_ROLE,
      Roles: [
        { Name: 'bodyscript_api', TablePrivileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], SequencePrivileges: ['USAGE', 'SELECT'] },
        { Name: 'bodyscript_worker', TablePrivileges: ['SELECT', 'INSERT', 'UPDATE'], SequencePrivileges: ['USAGE', 'SELECT'] },
      ],
    });
    expect(SERVICE_DATABASE_ROLES).toEqual({ api: 'bodyscript_api', processing: 'bodyscript_worker' });
    // The worker never deletes; nobody may change the tables' structure.
    expect(SERVICE_GRANTS.processing.tables).not.toContain('DELETE');
    for (const grants of Object.values(SERVICE_GRANTS)) expect(grants.tables.every((p) => ['SELECT', 'INSERT', 'UPDATE', 'DELETE'].includes(p))).toBe(true);
  });

  test('runs its SQL from a function in the VPC that reaches only the database port of the database and HTTPS, and is let into the database', () => {
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.onEventHandler' } }));
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^DatabaseRolesSecurityGroup/), 'GroupId'] }]);
    expect(fn.Properties.Timeout).toBe(120);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Database roles function'),
      SecurityGroupEgress: [
        { DestinationSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] }, IpProtocol: 'tcp', FromPort: 5433, ToPort: 5433, Description: Match.anyValue() },
        { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: Match.anyValue() },
      ],
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseRolesSecurityGroup'), 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 5433,
      ToPort: 5433,
    });
  });

  test('its function reads the master secret (decrypting through Secrets Manager) and nothing else', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          { Sid: 'ReadTheMasterSecret', Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: SECRET_ARN },
          {
            Sid: 'DecryptItThroughSecretsManager',
            Action: 'kms:Decrypt',
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseKey'), 'Arn'] },
            Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } },
          },
          Match.objectLike({ Sid: 'NetworkInterfacesOfAFunctionInTheVpc' }),
        ],
      },
    });
  });

  test('the provider framework, not the VPC function, answers CloudFormation: its own function has no VPC', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    const framework = functions.filter((fn) => fn.Properties.Handler === 'framework.onEvent');
    expect(framework).toHaveLength(1);
    expect(framework[0].Properties.VpcConfig).toBeUndefined();
  });

  test('the custom resource waits for the function policy and the database ingress', () => {
    const [resource] = Object.values(template.findResources(DATABASE_ROLES_RESOURCE_TYPE));
    expect(resource.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^DatabaseRolesHandlerPolicy/), expect.stringMatching(/^DatabaseRolesDatabaseIngress/)]));
  });

  test('databaseUserArn names the instance by resource id and the role, in the scope region and account', () => {
    expect(stack.resolve(databaseUserArn(stack, 'db-ABC', 'bodyscript_api'))).toBe('arn:aws:rds-db:us-east-1:111111111111:dbuser:db-ABC/bodyscript_api');
  });

  test.each([
    [{ port: 80 }, /port must be the database's port \(RDS for PostgreSQL accepts 1150–65535\), got 80/],
    [{ databaseName: 'Body-Script' }, /databaseName must be a lower-case PostgreSQL identifier, got 'Body-Script'/],
  ])('fails early on %o', (overrides, message) => {
    expect(() => build(overrides as Partial<DatabaseRolesProps>)).toThrow(message);
  });
});
