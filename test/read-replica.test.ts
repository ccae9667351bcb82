import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { PostgresReadReplica, type PostgresReadReplicaProps } from '../constructs/read-replica';
import { testApp } from './support/synthesize';
import { limitedServiceTrustStatement } from './support/service-role-trust';

const SOURCE = 'arn:aws:rds:us-east-1:111111111111:db:source-db';

function build(overrides: Partial<PostgresReadReplicaProps> = {}) {
  const stack = new Stack(testApp(), 'Standby', { env: { account: '111111111111', region: 'us-west-2' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { subnetConfiguration: [{ name: 'Database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const replica = new PostgresReadReplica(stack, 'Replica', {
    sourceInstanceArn: SOURCE,
    engineVersion: '18.3',
    vpc,
    vpcSubnets: { subnetGroupName: 'Database' },
    instanceIdentifier: 'test-replica',
    instanceClass: 't4g.medium',
    multiAz: false,
    singleAzReason: 'a test replica in one AZ, like its source',
    encryptionKey: new kms.Key(stack, 'Key'),
    performanceInsightsRetentionDays: 7,
    monitoringInterval: Duration.seconds(60),
    logKey: new kms.Key(stack, 'LogKey'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    maxAllocatedStorageGiB: 1000,
    ...overrides,
  });
  return { stack, replica };
}

describe('PostgresReadReplica', () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(build().stack);
  });

  test('can be created as a cross-region replica whose source is the given ARN, not a local one', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      SourceDBInstanceIdentifier: SOURCE,
      DBInstanceIdentifier: 'test-replica',
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
      StorageEncrypted: Match.absent(),
      DeletionProtection: true,
      Port: '5433',
      EnablePerformanceInsights: true,
      MonitoringInterval: 60,
    });
  });

  test('lets only RDS, for this replica, assume its enhanced-monitoring role (confused deputy, review L2)', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          limitedServiceTrustStatement('monitoring.rds.amazonaws.com', '111111111111', 'arn:aws:rds:us-west-2:111111111111:db:test-replica'),
        ],
      },
    });
  });

  test('grows its own storage up to the source\'s maximum (it does not follow the source\'s autoscaling)', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', { MaxAllocatedStorage: 1000, AllocatedStorage: Match.absent(), SourceDBInstanceIdentifier: SOURCE });
  });

  test('is retained, never snapshotted, when removed or replaced: RDS refuses a final snapshot of a read replica', () => {
    template.hasResource('AWS::RDS::DBInstance', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('sends nothing through its security group (it only answers connections; replication runs on AWS\'s side)', () => {
    const groups = Object.entries(template.findResources('AWS::EC2::SecurityGroup')).filter(([id]) => /InstanceSecurityGroup/.test(id));
    expect(groups).toHaveLength(1);
    expect(groups[0][1].Properties.SecurityGroupEgress).toEqual([{ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', IpProtocol: 'icmp', FromPort: 252, ToPort: 86 }]);
  });

  test('fails when maxAllocatedStorageGiB is not a whole number of GiB RDS accepts', () => {
    expect(() => build({ maxAllocatedStorageGiB: 10 })).toThrow(/maxAllocatedStorageGiB must be a whole number of GiB 20–65536/);
    expect(() => build({ maxAllocatedStorageGiB: 100.5 })).toThrow(/maxAllocatedStorageGiB/);
  });

  test('has a TLS-only parameter group of the source major version', () => {
    template.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres18',
      Parameters: Match.objectLike({ 'rds.force_ssl': '1', ssl_min_protocol_version: 'TLSv1.2', log_min_duration_statement: '500' }),
    });
  });

  test('creates its log groups, encrypted and retained, before the instance', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', 2);
    template.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Retain',
      Properties: { LogGroupName: '/aws/rds/instance/test-replica/postgresql', KmsKeyId: Match.anyValue(), RetentionInDays: 365 },
    });
    template.hasResource('AWS::RDS::DBInstance', { DependsOn: Match.arrayWith([Match.stringLikeRegexp('^ReplicaPostgresqlLogs')]) });
  });

  test('fails when the source ARN is not an RDS instance ARN', () => {
    expect(() => build({ sourceInstanceArn: 'bodyscript-staging-postgres' })).toThrow(/sourceInstanceArn must be an RDS instance ARN/);
  });

  test('fails when the source is in the same region', () => {
    expect(() => build({ sourceInstanceArn: 'arn:aws:rds:us-west-2:111111111111:db:source-db' })).toThrow(/must be in another region/);
  });

  test('fails when a single-AZ replica has no reason, and records the reason as the Multi-AZ acknowledgement', () => {
    expect(() => build({ singleAzReason: undefined })).toThrow(/singleAzReason must say why one AZ is acceptable when multiAz is false/);
    expect(() => build({ multiAz: true, singleAzReason: undefined })).not.toThrow();
    const acknowledged = build().replica.instance.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').map((m) => m.data as Record<string, string>);
    expect(acknowledged).toContainEqual({ 'Annotation::AwsSolutions-RDS3': 'a test replica in one AZ, like its source' });
  });
});
