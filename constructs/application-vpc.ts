import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { limitServiceRoleTrust } from '../lib/service-role-trust';

/** Subnet group names; the database goes in `Database`, tasks in `Application`. */
export const SUBNET_GROUPS = {
  public: 'Public',
  application: 'Application',
  database: 'Database',
} as const;

/**
 * Properties of an ApplicationVpc.
 */
export interface ApplicationVpcProps {
  /** IPv4 CIDR of the VPC. */
  readonly cidr: string;
  /** Number of availability zones (2 or 3). */
  readonly maxAzs: number;
  /** NAT gateways; one per AZ keeps egress alive when an AZ fails. */
  readonly natGateways: number;
  /**
   * Add interface endpoints for ECR, CloudWatch Logs and Secrets Manager so
   * that image pulls, logs and secrets never cross the NAT gateways.
   */
  readonly interfaceEndpoints: boolean;
  /** Key that encrypts the flow-log group. */
  readonly logKey: kms.IKey;
  /** Retention of the flow-log group. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * The network of one BodyScript region: public subnets for load balancers and
 * NAT, private application subnets for tasks, isolated database subnets with
 * no route to the internet; VPC flow logs of all traffic into an encrypted log
 * group; an S3 gateway endpoint; the default security group stripped of rules.
 *
 * Every endpoint has a policy (security review M10): requests through it must
 * be signed by a principal of this account (`aws:PrincipalAccount`), so a
 * compromised task cannot use its own attacker-held credentials through the
 * endpoint, and S3 requests must reach a bucket of this account
 * (`aws:ResourceAccount`) or the layers of this region's ECR images
 * (`prod-<region>-starport-layer-bucket`, the AWS-owned bucket ECR serves image
 * layers from: ECR documents `s3:GetObject` on it as the minimum an S3 gateway
 * endpoint policy must allow for image pulls). The S3 gateway endpoint carries
 * every S3 request of the VPC's subnets (its prefix-list route is more specific
 * than the NAT route), so this policy bounds all S3 exfiltration. Other
 * destinations reached through NAT are not bounded here (see the egress rules of
 * the task security groups).
 */
export class ApplicationVpc extends Construct {
  /** The VPC. */
  public readonly vpc: ec2.Vpc;
  /** Log group that receives the VPC flow logs. */
  public readonly flowLogGroup: logs.LogGroup;
  /** Security group of the interface endpoints (undefined without them). */
  public readonly endpointSecurityGroup?: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ApplicationVpcProps) {
    super(scope, id);

    if (props.natGateways > props.maxAzs) {
      throw new Error(`ApplicationVpc ${this.node.path}: natGateways (${props.natGateways}) must not exceed maxAzs (${props.maxAzs})`);
    }

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      maxAzs: props.maxAzs,
      natGateways: props.natGateways,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: SUBNET_GROUPS.public, subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: SUBNET_GROUPS.application, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: SUBNET_GROUPS.database, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
    });

    const stack = Stack.of(this);
    const s3Endpoint = this.vpc.node.findChild('S3') as ec2.GatewayVpcEndpoint;
    s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'OwnPrincipalsToOwnBuckets',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:PrincipalAccount': stack.account, 'aws:ResourceAccount': stack.account } },
      }),
    );
    s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'OwnPrincipalsToEcrImageLayers',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [`arn:${stack.partition}:s3:::prod-${stack.region}-starport-layer-bucket/*`],
        conditions: { StringEquals: { 'aws:PrincipalAccount': stack.account } },
      }),
    );

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      encryptionKey: props.logKey,
      retention: props.logRetention,
      // Flow logs are audit evidence: keep them if the network stack is ever deleted.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const flowLog = this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
      maxAggregationInterval: ec2.FlowLogMaxAggregationInterval.ONE_MINUTE,
    });
    // Only flow logs of this account and region may use the delivery role (security
    // review L2). Any flow log of them, not this one: the flow log names the role, so
    // the role cannot name the flow log's id (the VPC guide's wildcard for "If you
    // don't know the flow log ID").
    limitServiceRoleTrust(flowLog.iamRole!, 'vpc-flow-logs.amazonaws.com', { resourceName: '*' });

    for (const subnet of this.vpc.publicSubnets) {
      acknowledge(
        subnet,
        ['NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW', 'HIPAA.Security-VPCNoUnrestrictedRouteToIGW'],
        'Public subnets hold only the internet-facing load balancer and the NAT gateways, which need the default route to the internet gateway; tasks and the database live in private and isolated subnets.',
      );
    }
    const flowLogPolicy = this.vpc.node.findChild('FlowLog').node.findChild('IAMRole').node.findChild('DefaultPolicy');
    acknowledge(
      flowLogPolicy,
      ['NIST.800.53.R5-IAMNoInlinePolicy', 'HIPAA.Security-IAMNoInlinePolicy'],
      'Inline policy generated for the flow-log delivery role only, granting log writes to this one log group; it cannot be attached to any other principal.',
    );
    // The custom resource that strips the default security group's rules is a
    // CDK singleton that only calls the EC2 API; it needs no VPC access.
    const restrictDefaultSgProvider = Stack.of(this).node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
    if (restrictDefaultSgProvider) {
      acknowledge(
        restrictDefaultSgProvider,
        ['cdk-validator-cfnguard::lambda_inside_vpc_check'],
        'CDK-provided handler that revokes the default security group rules through the EC2 API during deployment; it reaches no resource inside the VPC, so attaching it to the VPC would add ENIs and NAT dependency without any protection.',
      );
    }

    if (props.interfaceEndpoints) {
      this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
        vpc: this.vpc,
        description: 'Interface endpoints: HTTPS from inside the VPC only',
        allowAllOutbound: false,
      });
      this.endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(props.cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
      const services: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
        EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
        EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
        CloudWatchLogs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
        SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      };
      for (const [name, service] of Object.entries(services)) {
        const endpoint = this.vpc.addInterfaceEndpoint(name, {
          service,
          privateDnsEnabled: true,
          // The endpoint security group above already admits HTTPS from the VPC.
          open: false,
          securityGroups: [this.endpointSecurityGroup],
          subnets: { subnetGroupName: SUBNET_GROUPS.application },
        });
        // Only this account's principals (task execution roles, the rotation function) use it.
        endpoint.addToPolicy(
          new iam.PolicyStatement({
            sid: 'OwnPrincipalsOnly',
            principals: [new iam.AnyPrincipal()],
            actions: ['*'],
            resources: ['*'],
            conditions: { StringEquals: { 'aws:PrincipalAccount': stack.account } },
          }),
        );
      }
    }
  }
}
