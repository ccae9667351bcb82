import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ApplicationVpc } from '../../constructs/application-vpc';
import { EncryptionKey } from '../../constructs/encryption-key';
import type { EnvironmentConfig } from '../config';
import { keyAlias } from '../naming';

export interface NetworkStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/**
 * The VPC of an environment's primary region. Kept apart from the data stack so
 * that network changes never share a deployment with the database.
 */
export class NetworkStack extends Stack {
  public readonly vpc: ec2.Vpc;
  /** Key of the VPC flow-log group (the flow logs must exist before any data stack). */
  public readonly flowLogKey: EncryptionKey;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.flowLogKey = new EncryptionKey(this, 'FlowLogKey', {
      alias: keyAlias(config.name, 'network-logs'),
      description: `BodyScript ${config.name}: VPC flow logs`,
      allowCloudWatchLogs: true,
    });

    const network = new ApplicationVpc(this, 'Network', {
      cidr: config.network.primaryCidr,
      maxAzs: config.network.maxAzs,
      natGateways: config.network.natGateways,
      interfaceEndpoints: config.network.interfaceEndpoints,
      logKey: this.flowLogKey.key,
      logRetention: config.logs.retentionDays as logs.RetentionDays,
    });
    this.vpc = network.vpc;
  }
}
