import { Match } from 'aws-cdk-lib/assertions';
import { resourcesOfType, template } from './support/assembly';

describe('network of staging', () => {
  const t = () => template('BodyScript-Staging-Network');

  test('spans 2 AZs with one NAT gateway', () => {
    t().resourceCountIs('AWS::EC2::NatGateway', 1);
    // public, application and database subnets in each of 2 AZs
    t().resourceCountIs('AWS::EC2::Subnet', 6);
  });

  test('has no interface endpoints (they cost more than staging NAT traffic)', () => {
    t().resourceCountIs('AWS::EC2::VPCEndpoint', 1);
  });
});

describe('network of production', () => {
  const t = () => template('BodyScript-Production-Network');

  test('spans 3 AZs with a NAT gateway in each', () => {
    t().resourceCountIs('AWS::EC2::NatGateway', 3);
    t().resourceCountIs('AWS::EC2::Subnet', 9);
  });

  test('uses the configured CIDR', () => {
    t().hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.20.0.0/16' });
  });

  test('has isolated database subnets with no route to the internet', () => {
    const subnets = resourcesOfType('BodyScript-Production-Network', 'AWS::EC2::Subnet').filter(([, r]) =>
      JSON.stringify(r.Properties?.Tags).includes('"aws-cdk:subnet-name","Value":"Database"'),
    );
    expect(subnets).toHaveLength(3);
    for (const [, subnet] of subnets) {
      expect(JSON.stringify(subnet.Properties?.Tags)).toContain('"Isolated"');
    }
    const routes = resourcesOfType('BodyScript-Production-Network', 'AWS::EC2::Route').filter(([id]) => id.includes('Database'));
    expect(routes).toEqual([]);
  });

  test('never gives instances in public subnets a public IP by default', () => {
    for (const [, subnet] of resourcesOfType('BodyScript-Production-Network', 'AWS::EC2::Subnet')) {
      expect(subnet.Properties?.MapPublicIpOnLaunch ?? false).toBe(false);
    }
  });

  test('logs all VPC traffic to an encrypted log group kept for a year', () => {
    t().hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', ResourceType: 'VPC', LogDestinationType: 'cloud-watch-logs', MaxAggregationInterval: 60 });
    t().hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue(), RetentionInDays: 365 });
  });

  test('has an S3 gateway endpoint', () => {
    t().hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['.s3'])]) }),
    });
  });

  test.each(['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager'])('has a private-DNS interface endpoint for %s', (service) => {
    t().hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      PrivateDnsEnabled: true,
      ServiceName: `com.amazonaws.us-east-1.${service}`,
    });
  });

  test('admits only HTTPS from the VPC to the interface endpoints', () => {
    t().hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Interface endpoints: HTTPS from inside the VPC only',
      SecurityGroupIngress: [{ CidrIp: '10.20.0.0/16', FromPort: 443, ToPort: 443, IpProtocol: 'tcp', Description: 'HTTPS from the VPC' }],
    });
  });

  test('removes every rule from the default security group', () => {
    t().resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  test('encrypts flow logs with a rotating key that CloudWatch Logs may use only for this account and region', () => {
    t().hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowCloudWatchLogs',
            Principal: { Service: 'logs.us-east-1.amazonaws.com' },
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': 'arn:aws:logs:us-east-1:222222222222:*' } },
          }),
        ]),
      },
    });
  });
});
