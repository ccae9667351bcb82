import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { EcsDeploymentTrigger, type EcsDeploymentTriggerProps, TRIGGER_RESOURCE_TYPE } from '../constructs/ecs-deployment-trigger';
import { testApp } from './support/synthesize';

function setup(overrides: Partial<EcsDeploymentTriggerProps> = {}): Stack {
  const stack = new Stack(testApp(), 'Trigger', { env: { account: '111111111111', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'app', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, clusterName: 'test' });
  const taskDefinition = new ecs.FargateTaskDefinition(stack, 'TaskDefinition', { family: 'api' });
  taskDefinition.addContainer('api', { image: ecs.ContainerImage.fromRegistry('example/api:1'), portMappings: [{ containerPort: 8000 }] });
  const service = new ecs.FargateService(stack, 'Service', {
    cluster,
    taskDefinition,
    serviceName: 'api',
    minHealthyPercent: 100,
    deploymentController: { type: ecs.DeploymentControllerType.CODE_DEPLOY },
  });
  const deploymentGroup = codedeploy.EcsDeploymentGroup.fromEcsDeploymentGroupAttributes(stack, 'Group', {
    application: codedeploy.EcsApplication.fromEcsApplicationName(stack, 'Application', 'Test-api'),
    deploymentGroupName: 'Test-api',
    deploymentConfig: codedeploy.EcsDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  });
  new EcsDeploymentTrigger(stack, 'Release', {
    deploymentGroup,
    service,
    taskDefinition,
    containerName: 'api',
    containerPort: 8000,
    description: 'api release 1.4.0, started by cdk deploy',
    autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    timeout: Duration.minutes(30),
    logKey: new kms.Key(stack, 'Key'),
    logRetention: logs.RetentionDays.ONE_YEAR,
    ...overrides,
  });
  return stack;
}

describe('EcsDeploymentTrigger', () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(setup());
  });

  test('can be created with what the handler reads: group, service, the task definition and its AppSpec, rollback events', () => {
    const [trigger] = Object.values(template.findResources(TRIGGER_RESOURCE_TYPE));
    expect(trigger.Properties).toMatchObject({
      ApplicationName: 'Test-api',
      DeploymentGroupName: 'Test-api',
      DeploymentConfigName: 'CodeDeployDefault.ECSCanary10Percent5Minutes',
      Service: { 'Fn::GetAtt': [expect.stringMatching(/^Service/), 'Name'] },
      TaskDefinition: { Ref: expect.stringMatching(/^TaskDefinition/) },
      Description: 'api release 1.4.0, started by cdk deploy',
      AutoRollbackEvents: 'DEPLOYMENT_STOP_ON_ALARM,DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_REQUEST',
    });
    // The AppSpec names the same task definition, so a new revision updates the resource.
    expect(JSON.stringify(trigger.Properties.AppSpec)).toContain('TaskDefinition');
  });

  test('runs its own handler (onEvent and isComplete, one CommonJS file) on the newest Node.js runtime, logging to encrypted groups', () => {
    const handlers = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) => /^index\.(onEvent|isComplete)$/.test(f.Properties.Handler));
    expect(handlers.map((f) => f.Properties.Handler).sort()).toEqual(['index.isComplete', 'index.onEvent']);
    for (const fn of handlers) expect(fn.Properties.Runtime).toMatch(/^nodejs\d+\.x$/);
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties).toMatchObject({ KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] }, RetentionInDays: 365 });
    }
  });

  test('may drive CodeDeploy on its own group only, end a termination wait, and read its service', () => {
    const policies = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as { Sid: string; Action: string[] | string; Resource: unknown }[]);
    const deploy = statements.find((s) => s.Sid === 'DeployThisGroup')!;
    expect(deploy.Action).toEqual(expect.arrayContaining(['codedeploy:CreateDeployment', 'codedeploy:StopDeployment', 'codedeploy:ContinueDeployment']));
    expect(JSON.stringify(deploy.Resource)).toContain(':deploymentgroup:Test-api/Test-api');
    expect(statements.find((s) => s.Sid === 'ReadTheService')).toMatchObject({ Action: 'ecs:DescribeServices', Resource: { Ref: expect.stringMatching(/^Service/) } });
  });

  test('bounds its wait by the timeout (one poll every 15 seconds)', () => {
    const [waiter] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    expect(JSON.stringify(waiter.Properties.DefinitionString)).toContain('\\"MaxAttempts\\":120');
    template.hasResource(TRIGGER_RESOURCE_TYPE, { DependsOn: Match.anyValue() });
  });

  test('fails when CloudFormation could not wait that long, or polls too fast', () => {
    expect(() => setup({ timeout: Duration.minutes(90) })).toThrow(/timeout must be 1–60 minutes .*got 1 hour 30 minutes/);
    expect(() => setup({ queryInterval: Duration.seconds(1) })).toThrow(/queryInterval must be 5–300 seconds, got 1 seconds/);
  });
});
