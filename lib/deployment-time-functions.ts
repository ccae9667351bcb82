import { Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledge } from './compliance';

/**
 * What every deployment-time or scheduled function of this app has in common
 * (custom-resource providers of the CDK provider framework, Secrets Manager
 * rotation functions): the compliance findings they all raise, acknowledged
 * once here with one reason, and their log groups under the environment's key.
 */

export interface DeploymentTimeFunctionOptions {
  /**
   * The provider has the framework's waiter state machine (an `isCompleteHandler`):
   * its Step Functions findings are acknowledged too.
   * @default false
   */
  readonly waiterStateMachine?: boolean;
}

/** The findings of every deployment-time function, whatever calls it. */
const FUNCTION_FINDINGS = [
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
  'NIST.800.53.R5-IAMNoInlinePolicy',
  'HIPAA.Security-IAMNoInlinePolicy',
  'NIST.800.53.R5-LambdaConcurrency',
  'HIPAA.Security-LambdaConcurrency',
  'NIST.800.53.R5-LambdaDLQ',
  'HIPAA.Security-LambdaDLQ',
  'NIST.800.53.R5-LambdaInsideVPC',
  'HIPAA.Security-LambdaInsideVPC',
  'cdk-validator-cfnguard::lambda_inside_vpc_check',
  'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check',
] as const;

/** The findings of the provider framework's waiter state machine (providers with an isComplete handler). */
const WAITER_FINDINGS = [
  'AwsSolutions-SF1',
  'AwsSolutions-SF2',
  'cdk-validator-cfnguard::step_functions_state_machine_logging_enabled_check',
  'cdk-validator-cfnguard::step_functions_state_machine_tracing_enabled_check',
] as const;

/**
 * Acknowledges, on `scope` only, the findings every deployment-time or
 * scheduled function has: the provider framework's own functions and inline
 * policies, no VPC (the functions call only AWS APIs), no DLQ or reserved
 * concurrency (a failure is reported to CloudFormation or Secrets Manager,
 * which retry), log groups under the environment's key; with
 * `waiterStateMachine`, the framework's waiter state machine without logs or
 * tracing. `what` says what the function does and calls, first in the reason.
 */
export function acknowledgeDeploymentTimeFunctions(scope: Construct, what: string, options: DeploymentTimeFunctionOptions = {}): void {
  const stack = Stack.of(scope);
  const waiter = options.waiterStateMachine === true;
  acknowledge(
    scope,
    [...FUNCTION_FINDINGS, ...(waiter ? WAITER_FINDINGS : [])],
    `${what} It calls only AWS APIs (no VPC needed); a DLQ or reserved concurrency${waiter ? ', or logs and tracing of the waiter state machine,' : ''} would protect nothing, since the caller (CloudFormation or Secrets Manager) sees the failure. Its logs go to log groups encrypted with the environment logs key (a cross-stack reference the Control Tower rule cannot resolve); the CDK provider framework writes inline policies for its own role.`,
  );
  const functions = scope.node.findAll().filter((c): c is lambda.CfnFunction => c instanceof lambda.CfnFunction);
  acknowledge(
    scope,
    functions.map((fn) => `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn)}.Arn>:*]`),
    `The CDK provider framework may invoke any version of its own ${waiter ? 'onEvent, isComplete and onTimeout functions' : 'onEvent function'} (ARN:*), and nothing else.`,
  );
}

/**
 * Every log group under `scope` (the provider framework creates its own for
 * its functions) is encrypted with the environment's logs key and kept for the
 * environment's retention, like every other log group of the app.
 */
export function encryptFunctionLogs(scope: Construct, logKey: kms.IKey, retention: logs.RetentionDays): void {
  for (const child of scope.node.findAll()) {
    if (child instanceof logs.CfnLogGroup) {
      child.kmsKeyId = logKey.keyArn;
      child.retentionInDays = retention;
    }
  }
}
