import { Duration, Stack } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { acknowledgeDeploymentTimeFunctions } from '../lib/deployment-time-functions';
import { ORIGIN_VERIFY_HANDLER_DIRECTORY, wildcardFinding } from './origin-verify-rule';

/** An api load balancer whose origin-verify rule the rotation rewrites. */
export interface RotatedLoadBalancer {
  /** Region of the load balancer. */
  readonly region: string;
  /** Load balancer name (a literal for another region's: see `apiLoadBalancerName()` in lib/naming.ts). */
  readonly loadBalancerName: string;
  /** Port of its production listener (443 with a certificate, 80 without). */
  readonly port: number;
}

/**
 * Properties of an OriginVerifyRotation.
 */
export interface OriginVerifyRotationProps {
  /** The origin-verify secret (primary region). */
  readonly secret: secretsmanager.ISecret;
  /** The header CloudFront adds, e.g. `X-Origin-Verify`. */
  readonly headerName: string;
  /** The distribution whose origins send the header. */
  readonly distribution: cloudfront.IDistribution;
  /** Every load balancer with an origin-verify rule (both regions). */
  readonly loadBalancers: readonly RotatedLoadBalancer[];
  /**
   * Time between rotations (1–365 days).
   *
   * @default Duration.days(30)
   */
  readonly schedule?: Duration;
  /** Key of the function's log group. */
  readonly logKey: kms.IKey;
  /** Retention of the function's log group. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * Rotates the origin-verify value on a schedule with a Secrets Manager
 * rotation function (`rotationHandler` of lambda/origin-verify/index.cjs):
 *
 * - createSecret: a new random value as AWSPENDING;
 * - setSecret: every region's rule accepts the old and the new value, then
 *   CloudFront sends the new one (UpdateDistribution with the ETag);
 * - testSecret: every rule accepts it, CloudFront's configuration has it and
 *   the distribution is Deployed (every edge location sends it);
 * - finishSecret: AWSCURRENT moves to the new value, then the rules accept
 *   only the new value.
 *
 * Both values are accepted everywhere from setSecret until after
 * finishSecret, so no request gets the listener's 403 while CloudFront's
 * edges change over. A deploy in between cannot undo it: the listener rules
 * are not CloudFormation's (OriginVerifyRule), and CloudFront reads
 * AWSCURRENT, which moves only after every edge sends the new value.
 *
 * The first rotation runs one schedule after creation, not at deploy time:
 * the standby's load balancer does not exist yet when the primary's stack is
 * created.
 */
export class OriginVerifyRotation extends Construct {
  /** The rotation function. */
  public readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: OriginVerifyRotationProps) {
    super(scope, id);
    const schedule = props.schedule ?? Duration.days(30);
    if (schedule.toDays({ integral: false }) < 1 || schedule.toDays({ integral: false }) > 365) {
      throw new Error(`OriginVerifyRotation ${this.node.path}: schedule must be 1–365 days (Secrets Manager's rotation interval), got ${schedule.toHumanString()}`);
    }
    if (props.loadBalancers.length === 0) {
      throw new Error(`OriginVerifyRotation ${this.node.path}: loadBalancers must name every api load balancer with an origin-verify rule, got none`);
    }
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Rotates the ${props.headerName} value: CloudFront and every api listener rule`,
    });
    const distributionArn = `arn:${stack.partition}:cloudfront::${stack.account}:distribution/${props.distribution.distributionId}`;
    const rulesOf = props.loadBalancers.map((lb) => `arn:${stack.partition}:elasticloadbalancing:${lb.region}:${stack.account}:listener-rule/app/${lb.loadBalancerName}/*`);
    const policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `Rotate the ${props.headerName} value: this distribution's origin headers and the api load balancers' rules`,
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'SendTheNewValue',
          actions: ['cloudfront:GetDistribution', 'cloudfront:GetDistributionConfig', 'cloudfront:UpdateDistribution'],
          resources: [distributionArn],
        }),
        new iam.PolicyStatement({
          sid: 'FindTheRules',
          actions: ['elasticloadbalancing:DescribeLoadBalancers', 'elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeRules'],
          // Describe actions have no resource-level permissions.
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'RewriteTheRules',
          actions: ['elasticloadbalancing:ModifyRule'],
          resources: rulesOf,
        }),
      ],
    });
    acknowledge(
      policy,
      [
        'AwsSolutions-IAM5[Resource::*]',
        ...rulesOf.map((resource) => wildcardFinding(stack, resource)),
      ],
      'DescribeLoadBalancers/Listeners/Rules have no resource-level permissions; ModifyRule is limited to the rules of the named api load balancers, whose rule ARNs are created at deploy time.',
    );

    const logGroup = new logs.LogGroup(this, 'Logs', { encryptionKey: props.logKey, retention: props.logRetention });
    logGroup.grantWrite(role);
    this.function = new lambda.Function(this, 'Function', {
      description: `Rotates the ${props.headerName} value of CloudFront and the api listener rules (Secrets Manager rotation steps)`,
      runtime: lambda.determineLatestNodeRuntime(this),
      code: lambda.Code.fromAsset(ORIGIN_VERIFY_HANDLER_DIRECTORY),
      handler: 'index.rotationHandler',
      role,
      // testSecret waits for CloudFront to deploy the new value to every edge (minutes).
      timeout: Duration.minutes(15),
      memorySize: 256,
      logGroup,
      environment: {
        HEADER_NAME: props.headerName,
        DISTRIBUTION_ID: props.distribution.distributionId,
        LOAD_BALANCERS: stack.toJsonString(props.loadBalancers.map((lb) => ({ region: lb.region, name: lb.loadBalancerName, port: lb.port }))),
      },
    });
    this.function.node.addDependency(policy);

    props.secret.addRotationSchedule('Rotation', {
      rotationLambda: this.function,
      automaticallyAfter: schedule,
      // Not at deploy time: the standby's load balancer does not exist when the primary stack is first created.
      rotateImmediatelyOnUpdate: false,
    });
    // Secrets Manager of this account only (the confused-deputy guard of a service principal's permission).
    for (const permission of this.function.node.findAll().filter((c): c is lambda.CfnPermission => c instanceof lambda.CfnPermission)) {
      permission.sourceAccount = stack.account;
    }
    acknowledgeDeploymentTimeFunctions(
      this,
      'The rotation function runs when Secrets Manager rotates the origin-verify value (on its schedule or on request), calls nothing but this secret, this distribution and the api rules, and a failed step leaves both values accepted and the rotation marked failed.',
    );
    acknowledge(
      role,
      ['AwsSolutions-IAM5[Resource::*]'],
      'CDK grants every rotation function secretsmanager:GetRandomPassword, which has no resource-level permission (this function generates its values itself).',
    );
  }
}
