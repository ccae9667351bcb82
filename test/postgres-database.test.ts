import { Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { PostgresDatabase, type PostgresDatabaseProps } from '../constructs/postgres-database';
import { template, templateJson } from './support/assembly';
import { testApp } from './support/synthesize';
import { limitedServiceTrustStatement } from './support/service-role-trust';

describe('PostgresDatabase in BodyScript-Production-Data', () => {
  test('replicates its automated backups to the standby region for the whole recovery window, encrypted with the standby database key by key ARN (read from BodyScript-Production-StandbyData)', () => {
    template('BodyScript-Production-Data').hasResourceProperties('AWS::RDS::DBInstance', {
      AutomaticBackupReplicationRegion: 'us-west-2',
      AutomaticBackupReplicationRetentionPeriod: 35,
      AutomaticBackupReplicationKmsKeyId: {
        'Fn::GetStackOutput': { StackName: 'BodyScript-Production-StandbyData', Region: 'us-west-2', OutputName: Match.stringLikeRegexp('^PublishOutputFnGetAttStandbyDatabaseKey2FB370F9Arn') },
      },
    });
    // The output is the key's Arn attribute (a key ARN, not the alias).
    const outputs = templateJson('BodyScript-Production-StandbyData').Outputs as Record<string, { Value: unknown }>;
    const [output] = Object.entries(outputs).filter(([name]) => name.startsWith('PublishOutputFnGetAttStandbyDatabaseKey2FB370F9Arn'));
    expect(output[1].Value).toEqual({ 'Fn::GetAtt': ['StandbyDatabaseKey2FB370F9', 'Arn'] });
  });

  test('lets only RDS, for this instance, assume its enhanced-monitoring role (confused deputy, review L2)', () => {
    template('BodyScript-Production-Data').hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          limitedServiceTrustStatement('monitoring.rds.amazonaws.com', '222222222222', 'arn:aws:rds:us-east-1:222222222222:db:bodyscript-production-postgres'),
        ],
      },
    });
  });

  test('lets only the break-glass role delete the master secret, and only it and CloudFormation change the secret\'s resource policy (review L8)', () => {
    const [policy] = Object.values(template('BodyScript-Production-Data').findResources('AWS::SecretsManager::ResourcePolicy'));
    expect(policy.Properties.SecretId).toEqual({ Ref: expect.stringMatching(/DatabaseInstanceSecret/) });
    const breakGlass = 'arn:aws:iam::222222222222:role/BodyScriptBreakGlass';
    const cloudFormation = { 'Fn::Sub': 'arn:${AWS::Partition}:iam::222222222222:role/cdk-hnb659fds-cfn-exec-role-222222222222-us-east-1' };
    expect(policy.Properties.ResourcePolicy.Statement).toEqual([
      // The rotation's own guard (CDK): kept.
      { Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::222222222222:root' }, Action: 'secretsmanager:DeleteSecret', Resource: '*' },
      {
        Sid: 'DenyPolicyChangesExceptBreakGlassAndCloudFormation',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['secretsmanager:DeleteResourcePolicy', 'secretsmanager:PutResourcePolicy'],
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [breakGlass, cloudFormation] } },
      },
      {
        Sid: 'DenyDeletionExceptBreakGlass',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'secretsmanager:DeleteSecret',
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': breakGlass } },
      },
    ]);
  });

  test('replicates the master credentials to the standby region under the standby key', () => {
    template('BodyScript-Production-Data').hasResourceProperties('AWS::SecretsManager::Secret', {
      ReplicaRegions: [{ Region: 'us-west-2', KmsKeyId: 'arn:aws:kms:us-west-2:222222222222:alias/bodyscript-production/standby-database' }],
    });
  });

  test('admits only the rotation function and the database roles function, on the database port only, and nothing from any CIDR', () => {
    const ingress = Object.values(template('BodyScript-Production-Data').findResources('AWS::EC2::SecurityGroupIngress')) as { Properties: Record<string, unknown> }[];
    expect(ingress.map((rule) => rule.Properties)).toEqual([
      {
        Description: expect.stringContaining('RotationSingleUser'),
        FromPort: { 'Fn::GetAtt': ['DatabaseInstanceAA8A5FDE', 'Endpoint.Port'] },
        ToPort: { 'Fn::GetAtt': ['DatabaseInstanceAA8A5FDE', 'Endpoint.Port'] },
        GroupId: { 'Fn::GetAtt': ['DatabaseInstanceSecurityGroupDDFAC9BB', 'GroupId'] },
        IpProtocol: 'tcp',
        SourceSecurityGroupId: { 'Fn::GetAtt': ['DatabaseInstanceRotationSingleUserSecurityGroupB8CEDF21', 'GroupId'] },
      },
      {
        Description: 'Database from the database roles function',
        FromPort: 5433,
        ToPort: 5433,
        GroupId: { 'Fn::GetAtt': ['DatabaseInstanceSecurityGroupDDFAC9BB', 'GroupId'] },
        IpProtocol: 'tcp',
        SourceSecurityGroupId: { 'Fn::GetAtt': ['DatabaseRolesSecurityGroup512CCB44', 'GroupId'] },
      },
    ]);
    template('BodyScript-Production-Data').hasResourceProperties('AWS::RDS::DBInstance', { Port: '5433' });
  });

  test('the database sends nothing; the rotation function reaches only the database port and HTTPS (no all-protocol egress to 0.0.0.0/0)', () => {
    const groups = templateJson('BodyScript-Production-Data').Resources;
    expect(groups.DatabaseInstanceSecurityGroupDDFAC9BB.Properties?.SecurityGroupEgress).toEqual([NO_EGRESS_JSON]);
    expect(groups.DatabaseInstanceRotationSingleUserSecurityGroupB8CEDF21.Properties?.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: expect.stringContaining('Secrets Manager') },
      { DestinationSecurityGroupId: { 'Fn::GetAtt': ['DatabaseInstanceSecurityGroupDDFAC9BB', 'GroupId'] }, IpProtocol: 'tcp', FromPort: 5433, ToPort: 5433, Description: expect.any(String) },
    ]);
  });
});

const NO_EGRESS_JSON = { CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', IpProtocol: 'icmp', FromPort: 252, ToPort: 86 };

describe('PostgresDatabase', () => {
  test('fails when asked to replicate backups into its own region, or when a single-AZ instance has no reason', () => {
    const stack = new Stack(testApp(), 'Db', { env: { account: '111111111111', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const key = new kms.Key(stack, 'Key');
    const props: PostgresDatabaseProps = {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      instanceIdentifier: 'db',
      engineVersion: '18.3',
      instanceClass: 't4g.medium',
      databaseName: 'app',
      allocatedStorageGiB: 20,
      maxAllocatedStorageGiB: 20,
      backupRetention: Duration.days(7),
      multiAz: false,
      singleAzReason: 'a test database in one AZ, nothing of value in it',
      performanceInsightsRetentionDays: 7,
      monitoringInterval: Duration.seconds(60),
      encryptionKey: key,
      logKey: key,
      logRetention: logs.RetentionDays.ONE_YEAR,
      credentialsSecretName: 'db',
      credentialRotation: Duration.days(30),
      automatedBackupReplication: { region: 'us-east-1', kmsKeyArn: 'arn:aws:kms:us-east-1:111111111111:alias/x' },
    };
    expect(() => new PostgresDatabase(stack, 'Database', props)).toThrow(/automatedBackupReplication\.region must be another region than the instance's \(us-east-1\)/);
    expect(() => new PostgresDatabase(stack, 'SingleAz', { ...props, automatedBackupReplication: undefined, singleAzReason: undefined })).toThrow(
      /singleAzReason must say why one AZ is acceptable when multiAz is false/,
    );
  });

  test('fails when the replicated backups key is an alias ARN: RDS documents a key ARN for it', () => {
    const stack = new Stack(testApp(), 'Db', { env: { account: '111111111111', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const key = new kms.Key(stack, 'Key');
    const props: PostgresDatabaseProps = {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      instanceIdentifier: 'db',
      engineVersion: '18.3',
      instanceClass: 't4g.medium',
      databaseName: 'app',
      allocatedStorageGiB: 20,
      maxAllocatedStorageGiB: 20,
      backupRetention: Duration.days(7),
      multiAz: true,
      performanceInsightsRetentionDays: 7,
      monitoringInterval: Duration.seconds(60),
      encryptionKey: key,
      logKey: key,
      logRetention: logs.RetentionDays.ONE_YEAR,
      credentialsSecretName: 'db',
      credentialRotation: Duration.days(30),
      automatedBackupReplication: { region: 'us-west-2', kmsKeyArn: 'arn:aws:kms:us-west-2:111111111111:alias/bodyscript-test/standby-database' },
    };
    expect(() => new PostgresDatabase(stack, 'Database', props)).toThrow(/automatedBackupReplication.kmsKeyArn must be a key ARN \(arn:aws:kms:<region>:<account>:key\/<id>\), got 'arn:aws:kms:us-west-2:111111111111:alias\/bodyscript-test\/standby-database'/);
    // The same database with a key ARN builds (a VPC with subnets for the rotation function too).
    const withEgress = new ec2.Vpc(stack, 'WithEgress', { maxAzs: 2, natGateways: 1 });
    const keyArn = 'arn:aws:kms:us-west-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const database = new PostgresDatabase(stack, 'WithKeyArn', { ...props, vpc: withEgress, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, automatedBackupReplication: { region: 'us-west-2', kmsKeyArn: keyArn } });
    expect((database.instance.node.defaultChild as rds.CfnDBInstance).automaticBackupReplicationKmsKeyId).toBe(keyArn);
  });
});
