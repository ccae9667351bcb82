import * as path from 'node:path';
import { CustomResource, Duration, Fn, Stack } from 'aws-cdk-lib';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge } from '../lib/compliance';
import { acknowledgeDeploymentTimeFunctions, encryptFunctionLogs } from '../lib/deployment-time-functions';

/** The handlers of the origin-verify rule and of the secret's rotation: one CommonJS file run with the AWS SDK v3 of the Lambda Node.js runtime. */
export const ORIGIN_VERIFY_HANDLER_DIRECTORY = path.join(__dirname, '..', 'lambda', 'origin-verify');

/** The CloudFormation resource type of the rule. */
export const ORIGIN_VERIFY_RULE_RESOURCE_TYPE = 'Custom::OriginVerifyRule';

/**
 * Properties of an OriginVerifyRule.
 */
export interface OriginVerifyRuleProps {
  /** The production listener the rule belongs to. */
  readonly listener: elbv2.IApplicationListener;
  /** Target group the rule forwards to when it is created (CodeDeploy moves the action afterwards). */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  /** Priority of the rule on the listener (1–50000). */
  readonly priority: number;
  /** The header CloudFront adds, e.g. `X-Origin-Verify`. */
  readonly headerName: string;
  /** The secret holding the value, in this stack's region (the primary, or its replica by name). */
  readonly secret: secretsmanager.ISecret;
  /** Key that encrypts the secret (or its replica) in this region. */
  readonly secretKey: kms.IKey;
  /** Key of the handler's log groups. */
  readonly logKey: kms.IKey;
  /** Retention of the handler's log groups. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * The listener rule that forwards requests carrying the origin-verify header
 * and leaves the rest to the listener's default 403, owned by a custom
 * resource (`Custom::OriginVerifyRule`, handler `onEvent` of
 * lambda/origin-verify/index.cjs) rather than by CloudFormation.
 *
 * Why not an `AWS::ElasticLoadBalancingV2::ListenerRule` with the value as a
 * dynamic reference: CloudFormation re-reads a dynamic reference only when the
 * resource is updated for another reason, so a rotated value never reaches
 * the rule, and an unrelated update would write whichever value is current
 * then, narrowing the rule in the middle of a rotation; it would also rewrite
 * the forward action to the blue target group after CodeDeploy moved it to
 * green (R7). Here the template holds no value at all: the handler reads the
 * secret's AWSCURRENT (and AWSPENDING while a rotation runs) when the resource
 * is created or its properties change, and the rotation function
 * (OriginVerifyRotation) rewrites the conditions of every region's rule
 * itself. An update rewrites only the conditions (and the priority or the
 * target group when those change in the template).
 */
export class OriginVerifyRule extends Construct {
  /** The custom resource; its `Ref` is the rule's ARN. */
  public readonly resource: CustomResource;
  /** The role of the handler. */
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: OriginVerifyRuleProps) {
    super(scope, id);
    if (!Number.isInteger(props.priority) || props.priority < 1 || props.priority > 50000) {
      throw new Error(`OriginVerifyRule ${this.node.path}: priority must be a whole number 1–50000 (an ALB listener rule priority), got ${props.priority}`);
    }
    if (!/^[A-Za-z0-9-]{1,40}$/.test(props.headerName)) {
      throw new Error(`OriginVerifyRule ${this.node.path}: headerName must be 1–40 letters, digits or hyphens (an ALB http-header condition name), got '${props.headerName}'`);
    }
    const stack = Stack.of(this);
    const listenerArn = props.listener.listenerArn;
    // arn:…:listener/app/<name>/<id>/<listener id> → arn:…:listener-rule/app/<name>/<id>/<listener id>/*
    const rulesOfTheListener = Fn.join('', [Fn.select(0, Fn.split(':listener/', listenerArn)), ':listener-rule/', Fn.select(1, Fn.split(':listener/', listenerArn)), '/*']);

    this.role = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Owns the ${props.headerName} rule of one api listener for CloudFormation`,
    });
    const policy = new iam.ManagedPolicy(this, 'HandlerPolicy', {
      description: `Create, rewrite and delete the ${props.headerName} rule of one api listener from the secret's stages`,
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({ sid: 'CreateTheRuleOnThisListener', actions: ['elasticloadbalancing:CreateRule'], resources: [listenerArn] }),
        new iam.PolicyStatement({
          sid: 'RewriteRulesOfThisListener',
          actions: ['elasticloadbalancing:ModifyRule', 'elasticloadbalancing:SetRulePriorities', 'elasticloadbalancing:DeleteRule'],
          resources: [rulesOfTheListener],
        }),
        new iam.PolicyStatement({ sid: 'ReadTheValue', actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], resources: [secretResource(props.secret)] }),
        new iam.PolicyStatement({
          sid: 'DecryptTheValueThroughSecretsManager',
          actions: ['kms:Decrypt'],
          resources: [props.secretKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
        }),
      ],
    });
    acknowledge(
      policy,
      [wildcardFinding(stack, rulesOfTheListener)],
      'The rule ARN is only known once the handler has created it: the policy names the rules of this one listener (listener-rule/…/<listener id>/*).',
    );

    const logGroup = new logs.LogGroup(this, 'HandlerLogs', { encryptionKey: props.logKey, retention: props.logRetention });
    const handler = new lambda.Function(this, 'Handler', {
      description: `Creates and rewrites the ${props.headerName} rule of one api listener (Custom::OriginVerifyRule)`,
      runtime: lambda.determineLatestNodeRuntime(this),
      code: lambda.Code.fromAsset(ORIGIN_VERIFY_HANDLER_DIRECTORY),
      handler: 'index.onEventHandler',
      role: this.role,
      timeout: Duration.seconds(60),
      memorySize: 256,
      logGroup,
    });
    logGroup.grantWrite(this.role);
    const provider = new cr.Provider(this, 'Provider', { onEventHandler: handler });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: ORIGIN_VERIFY_RULE_RESOURCE_TYPE,
      properties: {
        ListenerArn: listenerArn,
        TargetGroupArn: props.targetGroup.targetGroupArn,
        Priority: props.priority,
        HeaderName: props.headerName,
        SecretId: props.secret.secretFullArn ?? props.secret.secretName,
      },
    });
    this.resource.node.addDependency(policy);

    encryptFunctionLogs(this, props.logKey, props.logRetention);
    acknowledgeDeploymentTimeFunctions(this, 'It runs only when CloudFormation creates, changes or deletes the rule, calls nothing but this listener\'s rules and this secret, holds no data, and its failures surface as the failed stack update.');
  }
}

/**
 * The cdk-nag finding of a wildcard resource, as cdk-nag names it: the
 * resolved string, or the parts of an Fn::Join with the non-string parts as JSON.
 */
export function wildcardFinding(stack: Stack, resource: string): string {
  const resolved: unknown = stack.resolve(resource);
  const join = (resolved as { 'Fn::Join'?: [string, unknown[]] })?.['Fn::Join'];
  const text = typeof resolved === 'string' ? resolved : join ? join[1].map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(join[0]) : JSON.stringify(resolved);
  return `AwsSolutions-IAM5[Resource::${text}]`;
}

/** The IAM resource of a secret: its full ARN, or its partial ARN with the six characters Secrets Manager appends. */
export function secretResource(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}
