import { testApp } from './support/synthesize';
import { Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ApplicationVpc } from '../constructs/application-vpc';

describe('ApplicationVpc', () => {
  test('fails when asked for more NAT gateways than availability zones', () => {
    const stack = new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
    expect(
      () =>
        new ApplicationVpc(stack, 'Vpc', {
          cidr: '10.0.0.0/16',
          maxAzs: 2,
          natGateways: 3,
          interfaceEndpoints: false,
          logKey: new kms.Key(stack, 'Key'),
          logRetention: logs.RetentionDays.ONE_YEAR,
        }),
    ).toThrow(/natGateways \(3\) must not exceed maxAzs \(2\)/);
  });
});
