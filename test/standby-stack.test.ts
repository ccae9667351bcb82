import { Match } from 'aws-cdk-lib/assertions';
import { resourcesOfType, stacks, template } from './support/assembly';

const CASES = [
  ['BodyScript-Staging-Standby', 'staging', '111111111111', false, 'db.t4g.medium', '10.110.0.0/16'],
  ['BodyScript-Production-Standby', 'production', '222222222222', true, 'db.r7g.large', '10.120.0.0/16'],
] as const;

describe.each(CASES)('%s', (stackName, env, account, multiAz, instanceClass, cidr) => {
  test('lives in the standby region with termination protection (after a failover it holds the live database)', () => {
    const stack = stacks().find((s) => s.displayName === stackName)!;
    expect(stack.environment).toBe(`aws://${account}/us-west-2`);
    expect(stack.terminationProtection).toBe(true);
  });

  test('has a cross-region read replica of the primary, named by ARN from config', () => {
    template(stackName).hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
      Properties: Match.objectLike({
        DBInstanceIdentifier: `bodyscript-${env}-postgres-replica`,
        SourceDBInstanceIdentifier: `arn:aws:rds:us-east-1:${account}:db:bodyscript-${env}-postgres`,
        DBInstanceClass: instanceClass,
        MultiAZ: multiAz,
        DeletionProtection: true,
        PubliclyAccessible: false,
        Port: '5433',
        EnableIAMDatabaseAuthentication: true,
        EnablePerformanceInsights: true,
        EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
        MonitoringInterval: multiAz ? 15 : 60,
        MonitoringRoleArn: Match.anyValue(),
      }),
    });
  });

  test('the replica is encrypted with the us-west-2 database key of its StandbyData stack', () => {
    const keyOutput = { 'Fn::GetStackOutput': Match.objectLike({ StackName: `BodyScript-${env === 'staging' ? 'Staging' : 'Production'}-StandbyData`, Region: 'us-west-2' }) };
    template(stackName).hasResourceProperties('AWS::RDS::DBInstance', { KmsKeyId: keyOutput, PerformanceInsightsKMSKeyId: keyOutput });
  });

  test('the replica has its own TLS-only parameter group of the primary family', () => {
    template(stackName).hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres18',
      Parameters: Match.objectLike({ 'rds.force_ssl': '1', ssl_min_protocol_version: 'TLSv1.2' }),
    });
    template(stackName).hasResourceProperties('AWS::RDS::DBInstance', { DBParameterGroupName: { Ref: Match.stringLikeRegexp('^ReplicaParameters') } });
  });

  test.each(['postgresql', 'upgrade'])('the replica exports %s logs to an encrypted log group with retention', (logType) => {
    template(stackName).hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/aws/rds/instance/bodyscript-${env}-postgres-replica/${logType}`,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StandbyLogsKey'), 'Arn'] },
      RetentionInDays: 365,
    });
  });

  test('the replica runs in the isolated database subnets of the standby VPC', () => {
    template(stackName).hasResourceProperties('AWS::EC2::VPC', { CidrBlock: cidr });
    const [[, subnetGroup]] = resourcesOfType(stackName, 'AWS::RDS::DBSubnetGroup');
    expect(JSON.stringify(subnetGroup.Properties?.SubnetIds)).toContain('DatabaseSubnet');
    expect(JSON.stringify(subnetGroup.Properties?.SubnetIds)).not.toContain('ApplicationSubnet');
  });

  test('has its own encrypted critical and warning topics with the same e-mail subscriptions', () => {
    for (const severity of ['critical', 'warning']) {
      template(stackName).hasResourceProperties('AWS::SNS::Topic', {
        TopicName: `bodyscript-${env}-${severity}`,
        KmsMasterKeyId: Match.anyValue(),
      });
    }
    template(stackName).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: env === 'staging' ? 'platform-staging@bodyscript.example' : 'platform-oncall@bodyscript.example',
    });
  });

  test('pages when the replica lags more than 30 s for one minute, or stops reporting lag', () => {
    template(stackName).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `BodyScript-${env === 'staging' ? 'Staging' : 'Production'}-Standby-Database-ReplicaLag`,
      Namespace: 'AWS/RDS',
      MetricName: 'ReplicaLag',
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: `bodyscript-${env}-postgres-replica` }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 30,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlarmTopicsCritical') }],
    });
  });
});
