import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeDeploymentTimeFunctions, encryptFunctionLogs } from '../lib/deployment-time-functions';

/** A provider like the app's deployment-time ones: an onEvent function and, when asked, the waiter (isComplete). */
function provider(waiter: boolean): { stack: Stack; scope: Construct; key: kms.Key } {
  const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'us-east-1' } });
  const key = new kms.Key(stack, 'LogsKey');
  const scope = new Construct(stack, 'Trigger');
  const code = lambda.Code.fromInline('exports.handler = async () => ({})');
  const onEvent = new lambda.Function(scope, 'OnEvent', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code });
  const isComplete = waiter ? new lambda.Function(scope, 'IsComplete', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code }) : undefined;
  new cr.Provider(scope, 'Provider', { onEventHandler: onEvent, isCompleteHandler: isComplete, totalTimeout: isComplete ? Duration.minutes(30) : undefined });
  return { stack, scope, key };
}

/** The rule ids acknowledged on `scope`, from its construct metadata (what the gates read; cdk-nag's ids are stored as annotations). */
function acknowledgedOn(scope: Construct): string[] {
  return scope.node.metadata
    .filter((m) => m.type === 'aws:cdk:acknowledged-rules')
    .flatMap((m) => Object.keys(m.data as Record<string, string>))
    .map((id) => id.replace(/^Annotation::/, ''));
}

describe('acknowledgeDeploymentTimeFunctions', () => {
  test('acknowledges the findings every deployment-time function has, on the given construct only, with the caller’s sentence first', () => {
    const { stack, scope } = provider(false);
    acknowledgeDeploymentTimeFunctions(scope, 'It runs only when CloudFormation changes the rule.');
    const ids = acknowledgedOn(scope);
    expect(ids).toEqual(expect.arrayContaining(['NIST.800.53.R5-LambdaDLQ', 'cdk-validator-cfnguard::lambda_inside_vpc_check', 'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check']));
    expect(ids.filter((id) => /SF\d|step_functions/.test(id))).toEqual([]);
    expect(acknowledgedOn(stack)).toEqual([]);
    const reasons = scope.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').flatMap((m) => Object.values(m.data as Record<string, string>));
    expect(reasons[0]).toMatch(/^It runs only when CloudFormation changes the rule\. It calls only AWS APIs/);
  });

  test('names every function of the provider in its ARN:* finding', () => {
    const { stack, scope } = provider(true);
    acknowledgeDeploymentTimeFunctions(scope, 'It runs only during cdk deploy.', { waiterStateMachine: true });
    const functions = Object.keys(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    const wildcard = acknowledgedOn(scope).filter((id) => id.startsWith('AwsSolutions-IAM5['));
    expect(functions.length).toBeGreaterThanOrEqual(4);
    expect(wildcard.sort()).toEqual(functions.map((id) => `AwsSolutions-IAM5[Resource::<${id}.Arn>:*]`).sort());
  });

  test('with the waiter state machine, also its Step Functions findings', () => {
    const { scope } = provider(true);
    acknowledgeDeploymentTimeFunctions(scope, 'It runs only during cdk deploy.', { waiterStateMachine: true });
    expect(acknowledgedOn(scope)).toEqual(
      expect.arrayContaining([
        'AwsSolutions-SF1',
        'AwsSolutions-SF2',
        'cdk-validator-cfnguard::step_functions_state_machine_logging_enabled_check',
        'cdk-validator-cfnguard::step_functions_state_machine_tracing_enabled_check',
      ]),
    );
  });
});

describe('encryptFunctionLogs', () => {
  test('puts every log group under the construct, the provider framework’s own included, under the key and retention', () => {
    const { stack, scope, key } = provider(true);
    new logs.LogGroup(scope, 'HandlerLogs');
    encryptFunctionLogs(scope, key, logs.RetentionDays.ONE_YEAR);
    const groups = Object.values(Template.fromStack(stack).findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(1);
    for (const group of groups) {
      expect(group.Properties).toMatchObject({ RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^LogsKey/), 'Arn'] } });
    }
  });
});
