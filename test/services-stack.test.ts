import { Match } from 'aws-cdk-lib/assertions';
import { acknowledgements, resourcesOfType, template, templateJson } from './support/assembly';

const ENVIRONMENTS = [
  { env: 'staging', title: 'Staging', account: '111111111111', cidr: '10.10.0.0/16', production: false },
  { env: 'production', title: 'Production', account: '222222222222', cidr: '10.20.0.0/16', production: true },
] as const;

type Resource = { Type: string; Properties: Record<string, any>; UpdateReplacePolicy?: string }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The resources of a type in the services stack, by logical ID. */
function resources(stack: string, type: string): Record<string, Resource> {
  return Object.fromEntries(resourcesOfType(stack, type)) as Record<string, Resource>;
}

/** The only resource of `type` whose logical ID starts with `prefix`. */
function one(stack: string, type: string, prefix: string): [string, Resource] {
  const found = Object.entries(resources(stack, type)).filter(([id]) => id.startsWith(prefix));
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0];
}

describe.each(ENVIRONMENTS)('BodyScript-$title-Services', ({ env, title, account, cidr, production }) => {
  const stack = `BodyScript-${title}-Services`;
  const t = () => template(stack);

  test(`creates no container repository: the services pull from BodyScript-${title}-Registry, by repository name and configured tag`, () => {
    expect(resourcesOfType(stack, 'AWS::ECR::Repository')).toEqual([]);
    for (const service of ['api', 'processing']) {
      const Service = service === 'api' ? 'Api' : 'Processing';
      const [, taskDefinition] = one(stack, 'AWS::ECS::TaskDefinition', `${Service}TaskDefinition`);
      expect(taskDefinition.Properties.ContainerDefinitions[0].Image).toEqual({
        'Fn::Join': ['', [`${account}.dkr.ecr.us-east-1.`, { Ref: 'AWS::URLSuffix' }, `/bodyscript/${env}/${service}:1.0.0`]],
      });
    }
  });

  test('the cluster is named for the operator CLI and has Container Insights (enhanced)', () => {
    t().hasResourceProperties('AWS::ECS::Cluster', {
      ClusterName: `bodyscript-${env}`,
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enhanced' }],
    });
  });

  describe.each(['api', 'processing'])('the %s service', (service) => {
    const Service = service === 'api' ? 'Api' : 'Processing';

    test(`has a load balancer with access logs, invalid header fields dropped, deletion protection ${production ? 'on' : 'off'}`, () => {
      const [, loadBalancer] = one(stack, 'AWS::ElasticLoadBalancingV2::LoadBalancer', `${Service}LoadBalancer`);
      // The api is internet-facing only where CloudFront reaches it by its domain name (production); otherwise a VPC origin reaches it.
      expect(loadBalancer.Properties.Scheme).toBe(service === 'api' && production ? 'internet-facing' : 'internal');
      expect(loadBalancer.Properties.LoadBalancerAttributes).toEqual(
        expect.arrayContaining([
          { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
          { Key: 'deletion_protection.enabled', Value: String(production) },
          { Key: 'access_logs.s3.enabled', Value: 'true' },
          { Key: 'access_logs.s3.bucket', Value: `bodyscript-${env}-alb-logs-${account}-us-east-1` },
          { Key: 'access_logs.s3.prefix', Value: service },
        ]),
      );
    });

    test('runs a non-root container with a read-only root filesystem, a writable /tmp, a health check and encrypted logs', () => {
      const [, taskDefinition] = one(stack, 'AWS::ECS::TaskDefinition', `${Service}TaskDefinition`);
      expect(taskDefinition.Properties.Family).toBe(`bodyscript-${env}-${service}`);
      const [container] = taskDefinition.Properties.ContainerDefinitions;
      expect(container).toMatchObject({
        Name: service,
        User: '1000:1000',
        ReadonlyRootFilesystem: true,
        MountPoints: [{ ContainerPath: '/tmp', ReadOnly: false, SourceVolume: 'scratch0' }],
        HealthCheck: { Command: expect.arrayContaining([expect.stringContaining('http://127.0.0.1:8000/health')]), Interval: 30 },
        LogConfiguration: { LogDriver: 'awslogs', Options: expect.objectContaining({ 'awslogs-group': { Ref: expect.stringMatching(`^${Service}Logs`) } }) },
      });
      expect(taskDefinition.Properties.Volumes).toEqual([{ Name: 'scratch0' }]);
      const [, logGroup] = one(stack, 'AWS::Logs::LogGroup', `${Service}Logs`);
      expect(logGroup.Properties).toMatchObject({
        LogGroupName: `/bodyscript/${env}/${service}`,
        RetentionInDays: 365,
        KmsKeyId: { 'Fn::ImportValue': expect.stringMatching(new RegExp(`^BodyScript-${title}-Data:.*LogsKey`)) },
      });
    });

    test('logs in to the database as its own role with IAM authentication (no password anywhere), gets the Sentry DSN from Secrets Manager, and the Sentry environment and release', () => {
      const [, taskDefinition] = one(stack, 'AWS::ECS::TaskDefinition', `${Service}TaskDefinition`);
      const [container] = taskDefinition.Properties.ContainerDefinitions;
      const secrets = Object.fromEntries((container.Secrets as { Name: string; ValueFrom: unknown }[]).map((s) => [s.Name, JSON.stringify(s.ValueFrom)]));
      expect(Object.keys(secrets)).toEqual(['SENTRY_DSN']);
      const environment = Object.fromEntries((container.Environment as { Name: string; Value: unknown }[]).map((x) => [x.Name, x.Value]));
      expect(environment).toMatchObject({
        DB_PORT: '5433',
        DB_NAME: 'bodyscript',
        DB_USERNAME: service === 'api' ? 'bodyscript_api' : 'bodyscript_worker',
        DB_AUTH: 'iam',
        DB_REGION: 'us-east-1',
        DB_SSLMODE: 'verify-full',
      });
      expect(JSON.stringify(environment.DB_HOST)).toMatch(/DatabaseInstance.*EndpointAddress/);
      expect(JSON.stringify(taskDefinition)).not.toMatch(/DatabaseInstanceSecret|database-master/);
      // Its task role may log in as that role on the primary instance, named by its DbiResourceId.
      const policies = Object.values(template(stack).findResources('AWS::IAM::ManagedPolicy')).filter((p) => JSON.stringify(p.Properties.Roles).includes(`${Service}TaskDefinitionTaskRole`));
      const connect = policies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((st: { Action: unknown }) => st.Action === 'rds-db:connect');
      expect(connect).toHaveLength(1);
      expect(JSON.stringify(connect[0].Resource)).toMatch(new RegExp(`dbuser:.*DbiResourceId.*/${service === 'api' ? 'bodyscript_api' : 'bodyscript_worker'}`));
      // Referenced by name from config, never created or stored here.
      expect(secrets.SENTRY_DSN).toBe(JSON.stringify(`arn:aws:secretsmanager:us-east-1:${account}:secret:bodyscript/${env}/sentry-dsn`));
      expect(container.Environment).toEqual(
        expect.arrayContaining([
          { Name: 'SENTRY_ENVIRONMENT', Value: env },
          { Name: 'SENTRY_RELEASE', Value: '1.0.0' },
        ]),
      );
      expect(container.Image['Fn::Join'][1]).toContain(`/bodyscript/${env}/${service}:1.0.0`);
    });

    test('may reach the database on its port, and nothing else may through this rule', () => {
      t().hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        FromPort: 5433,
        ToPort: 5433,
        GroupId: { 'Fn::ImportValue': Match.stringLikeRegexp(`^BodyScript-${title}-Data:.*DatabaseInstanceSecurityGroup`) },
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${Service}SecurityGroup`), 'GroupId'] },
      });
    });

    test('keeps the task definition revision a release replaces ACTIVE, so ops rollback can deploy it again', () => {
      const [, taskDefinition] = one(stack, 'AWS::ECS::TaskDefinition', `${Service}TaskDefinition`);
      expect(taskDefinition.UpdateReplacePolicy).toBe('Retain');
    });
  });

  describe('the api service (CodeDeploy blue/green)', () => {
    test('is a Fargate service with the CODE_DEPLOY deployment controller, private, behind its blue target group', () => {
      t().hasResourceProperties('AWS::ECS::Service', {
        ServiceName: `bodyscript-${env}-api`,
        LaunchType: 'FARGATE',
        DeploymentController: { Type: 'CODE_DEPLOY' },
        // The family, not a revision: CloudFormation never updates the task definition, CodeDeploy does.
        TaskDefinition: `bodyscript-${env}-api`,
        NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
        LoadBalancers: [{ ContainerName: 'api', ContainerPort: 8000, TargetGroupArn: { Ref: Match.stringLikeRegexp('^ApiBlueTargetGroup') } }],
      });
    });

    test('has a blue and a green target group checking /health at least every 30 seconds', () => {
      const groups = Object.entries(resources(stack, 'AWS::ElasticLoadBalancingV2::TargetGroup')).filter(([id]) => id.startsWith('Api'));
      expect(groups.map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(['ApiBlueTargetGroup', 'ApiGreenTargetGroup']);
      for (const [, group] of groups) {
        expect(group.Properties).toMatchObject({ HealthCheckPath: '/health', TargetType: 'ip', Port: 8000, Matcher: { HttpCode: '200' } });
        expect(group.Properties.HealthCheckIntervalSeconds).toBeLessThanOrEqual(30);
      }
    });

    // With a domain (production) the api listens on HTTPS with its certificate.
    test(`has a production listener on ${production ? 443 : 80} and a test listener on ${production ? 8443 : 8080} that serves green`, () => {
      const listeners = Object.entries(resources(stack, 'AWS::ElasticLoadBalancingV2::Listener')).filter(([id]) => id.startsWith('ApiLoadBalancer'));
      expect(listeners).toHaveLength(2);
      const [, productionListener] = listeners.find(([id]) => id.includes('ProductionListener'))!;
      const [, testListener] = listeners.find(([id]) => id.includes('TestListener'))!;
      expect(productionListener.Properties).toMatchObject(production ? { Port: 443, Protocol: 'HTTPS' } : { Port: 80, Protocol: 'HTTP' });
      expect(testListener.Properties).toMatchObject(production ? { Port: 8443, Protocol: 'HTTPS' } : { Port: 8080, Protocol: 'HTTP' });
      expect(testListener.Properties.DefaultActions).toEqual([{ Type: 'forward', TargetGroupArn: { Ref: expect.stringMatching('^ApiGreenTargetGroup') } }]);
    });

    test('has a CodeDeploy deployment group with the names the operator CLI uses, rolling back on failure, stop and alarm', () => {
      const [, group] = one(stack, 'AWS::CodeDeploy::DeploymentGroup', 'ApiDeploymentGroup');
      expect(group.Properties).toMatchObject({
        DeploymentGroupName: `BodyScript-${title}-api`,
        DeploymentConfigName: production ? 'CodeDeployDefault.ECSCanary10Percent5Minutes' : 'CodeDeployDefault.ECSAllAtOnce',
        DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
        AutoRollbackConfiguration: { Enabled: true, Events: expect.arrayContaining(['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM']) },
        BlueGreenDeploymentConfiguration: {
          TerminateBlueInstancesOnDeploymentSuccess: { Action: 'TERMINATE', TerminationWaitTimeInMinutes: production ? 30 : 5 },
          DeploymentReadyOption: expect.anything(),
        },
      });
      const pair = group.Properties.LoadBalancerInfo.TargetGroupPairInfoList[0];
      expect(pair.ProdTrafficRoute.ListenerArns).toEqual([{ Ref: expect.stringMatching('^ApiLoadBalancerProductionListener') }]);
      expect(pair.TestTrafficRoute.ListenerArns).toEqual([{ Ref: expect.stringMatching('^ApiLoadBalancerTestListener') }]);
      t().hasResourceProperties('AWS::CodeDeploy::Application', { ApplicationName: `BodyScript-${title}-api`, ComputePlatform: 'ECS' });
    });

    test('the deployment group watches the rollback alarms that can fire within it, the service canary among them', () => {
      const [, group] = one(stack, 'AWS::CodeDeploy::DeploymentGroup', 'ApiDeploymentGroup');
      const watched = (group.Properties.AlarmConfiguration.Alarms as { Name: { Ref: string } }[]).map((a) => a.Name.Ref);
      const rollbackAlarms = Object.keys(resources(stack, 'AWS::CloudWatch::Alarm')).filter((id) => id.startsWith('ApiRollbackAlarms'));
      expect(group.Properties.AlarmConfiguration.Enabled).toBe(true);
      expect(rollbackAlarms.length).toBeGreaterThanOrEqual(3);
      expect(watched).toEqual(expect.arrayContaining(rollbackAlarms));
      expect(watched).toContainEqual(expect.stringMatching('^ApiCanaryFailureAlarm'));
      expect(watched).toContainEqual(expect.stringMatching('^ApiRollbackAlarmsTasksFailing'));
      expect(watched.length).toBeLessThanOrEqual(10);
    });

    test('cdk deploy releases the current task definition with the deployment trigger, bounded by the configured timeout', () => {
      const [, trigger] = one(stack, 'Custom::EcsDeploymentTrigger', 'ApiRelease');
      expect(trigger.Properties).toMatchObject({
        DeploymentGroupName: { Ref: expect.stringMatching('^ApiDeploymentGroup') },
        Cluster: { Ref: expect.stringMatching('^Cluster') },
        AutoRollbackEvents: 'DEPLOYMENT_STOP_ON_ALARM,DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_REQUEST',
        Description: `bodyscript-${env}-api release 1.0.0, started by cdk deploy`,
        TaskDefinition: { Ref: one(stack, 'AWS::ECS::TaskDefinition', 'ApiTaskDefinition')[0] },
      });
      const appSpec = JSON.stringify(trigger.Properties.AppSpec);
      expect(appSpec).toContain(`{"Ref":"${one(stack, 'AWS::ECS::TaskDefinition', 'ApiTaskDefinition')[0]}"}`);
      expect(appSpec).toContain('\\"ContainerName\\":\\"api\\",\\"ContainerPort\\":8000');
      expect(resources(stack, 'Custom::EcsDeployment')).toEqual({});
      // The waiter polls every 15 s for deployment.timeoutMinutes (staging 30, production 60).
      const [, waiter] = one(stack, 'AWS::StepFunctions::StateMachine', 'ApiReleaseProvider');
      expect(JSON.stringify(waiter.Properties.DefinitionString)).toContain(`\\"IntervalSeconds\\":15,\\"MaxAttempts\\":${production ? 240 : 120}`);
    });

    test("the trigger's functions run a current Node.js runtime and log to encrypted log groups", () => {
      const functions = Object.entries(resources(stack, 'AWS::Lambda::Function')).filter(([id]) => id.startsWith('ApiRelease'));
      expect(functions.length).toBeGreaterThanOrEqual(2);
      for (const [, fn] of functions) expect(fn.Properties.Runtime).not.toBe('nodejs20.x');
      const logGroups = Object.entries(resources(stack, 'AWS::Logs::LogGroup')).filter(([id]) => id.startsWith('ApiRelease'));
      expect(logGroups.length).toBeGreaterThanOrEqual(2);
      for (const [, logGroup] of logGroups) expect(logGroup.Properties).toMatchObject({ KmsKeyId: expect.anything(), RetentionInDays: 365 });
    });
  });

  describe('the processing service (ECS rolling updates)', () => {
    test('is a Fargate service with the ECS controller, the circuit breaker and deployment alarms rolling back, private, behind its one target group', () => {
      t().hasResourceProperties('AWS::ECS::Service', {
        ServiceName: `bodyscript-${env}-processing`,
        LaunchType: 'FARGATE',
        DeploymentController: { Type: 'ECS' },
        DeploymentConfiguration: Match.objectLike({
          MinimumHealthyPercent: 100,
          MaximumPercent: 200,
          DeploymentCircuitBreaker: { Enable: true, Rollback: true },
          Alarms: Match.objectLike({ Enable: true, Rollback: true }),
        }),
        NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
        LoadBalancers: [{ ContainerName: 'processing', ContainerPort: 8000, TargetGroupArn: { Ref: Match.stringLikeRegexp('^ProcessingTargetGroup') } }],
      });
      expect(Object.keys(resources(stack, 'AWS::CodeDeploy::DeploymentGroup')).filter((id) => id.startsWith('Processing'))).toEqual([]);
    });

    test('rolls back on its rollback alarms that decide within the bake time (targets, canary), named literally; failed jobs, failing tasks and a stalled queue page', () => {
      const [, service] = one(stack, 'AWS::ECS::Service', 'ProcessingService');
      const names = service.Properties.DeploymentConfiguration.Alarms.AlarmNames as string[];
      expect(names).toEqual(
        expect.arrayContaining([`BodyScript-${title}-processing-UnhealthyHosts`, `BodyScript-${title}-processing-NoHealthyTargetForRequests`, `BodyScript-${title}-processing-Canary`]),
      );
      expect(names.filter((n) => /JobFailureRate|TasksFailing|QueueStalled/.test(n))).toEqual([]);
      const alarmNames = Object.values(resources(stack, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmName);
      for (const name of names) expect(alarmNames).toContain(name);
      expect(names.length).toBeLessThanOrEqual(10);
    });

    test('gives a stopped worker Fargate’s longest stop timeout to hand its job back', () => {
      const [, taskDefinition] = one(stack, 'AWS::ECS::TaskDefinition', 'ProcessingTaskDefinition');
      expect(taskDefinition.Properties.ContainerDefinitions[0].StopTimeout).toBe(120);
    });
  });

  describe('the api load balancer accepts only CloudFront', () => {
    test('its production listener answers 403 unless the secret origin header is present', () => {
      const [, listener] = one(stack, 'AWS::ElasticLoadBalancingV2::Listener', 'ApiLoadBalancerProductionListener');
      expect(listener.Properties.DefaultActions).toEqual([expect.objectContaining({ Type: 'fixed-response', FixedResponseConfig: expect.objectContaining({ StatusCode: '403' }) })]);
      // The rule is owned by Custom::OriginVerifyRule (the value is read from the secret, never written in the template).
      expect(JSON.stringify(t().findResources('AWS::ElasticLoadBalancingV2::ListenerRule'))).not.toContain('X-Origin-Verify');
      t().hasResourceProperties('Custom::OriginVerifyRule', {
        HeaderName: 'X-Origin-Verify',
        SecretId: { Ref: Match.stringLikeRegexp('^OriginVerifySecret') },
        ListenerArn: { Ref: Match.stringLikeRegexp('^ApiLoadBalancerProductionListener') },
        TargetGroupArn: { Ref: Match.stringLikeRegexp('^ApiBlueTargetGroup') },
      });
    });

    test(`its security group admits CloudFront's origin-facing prefix list on ${production ? 443 : 80} and the deployment path's security group on the test port, nothing else`, () => {
      const [groupId, group] = one(stack, 'AWS::EC2::SecurityGroup', 'ApiLoadBalancerSecurityGroup');
      const separate = Object.values(resources(stack, 'AWS::EC2::SecurityGroupIngress')).filter((r) => JSON.stringify(r.Properties.GroupId).includes(groupId));
      const rules = [...(group.Properties.SecurityGroupIngress ?? []), ...separate.map((r) => r.Properties)];
      expect(rules.map((r) => ({ port: r.FromPort, from: r.SourcePrefixListId ?? r.CidrIp ?? r.SourceSecurityGroupId }))).toEqual(
        expect.arrayContaining([
          { port: production ? 443 : 80, from: 'pl-3b927c52' },
          { port: production ? 8443 : 8080, from: { 'Fn::GetAtt': [expect.stringMatching(/^ApiTestTrafficSecurityGroup/), 'GroupId'] } },
        ]),
      );
      expect(rules).toHaveLength(2);
      expect(JSON.stringify(rules)).not.toContain('0.0.0.0/0');
      // Not the whole VPC: a compromised task must not reach the next release without the WAF and the header.
      expect(JSON.stringify(rules)).not.toContain(cidr);
    });

    test('the origin header value is a generated, retained secret', () => {
      const [, secret] = one(stack, 'AWS::SecretsManager::Secret', 'OriginVerifySecret');
      expect(secret.Properties).toMatchObject({ Name: `bodyscript/${env}/cloudfront-origin-verify`, GenerateSecretString: expect.objectContaining({ ExcludePunctuation: true }) });
      expect(templateJson(stack).Resources[one(stack, 'AWS::SecretsManager::Secret', 'OriginVerifySecret')[0]].DeletionPolicy).toBe('Retain');
    });

    test('the origin header secret has a us-west-2 replica (standby key by alias ARN), which the standby api listener reads by name', () => {
      const [, secret] = one(stack, 'AWS::SecretsManager::Secret', 'OriginVerifySecret');
      expect(secret.Properties?.ReplicaRegions).toEqual([{ Region: 'us-west-2', KmsKeyId: `arn:aws:kms:us-west-2:${account}:alias/bodyscript-${env}/standby-database` }]);
    });
  });

  test('the processing load balancer admits its health canary on 80', () => {
    t().hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 80,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProcessingLoadBalancerSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProcessingHealthCheckSecurityGroup'), 'GroupId'] },
    });
    t().hasResourceProperties('AWS::Synthetics::Canary', {
      Name: `bs-${production ? 'prod' : 'stg'}-processing`,
      VPCConfig: { SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^ProcessingHealthCheckSecurityGroup'), 'GroupId'] }], SubnetIds: Match.anyValue() },
    });
  });

  test('the schema migrations run as their owner in a one-off task with the api image (no service), logging in with IAM authentication', () => {
    const [, definition] = one(stack, 'AWS::ECS::TaskDefinition', 'MigrationsTaskDefinition');
    expect(definition.Properties.Family).toBe(`bodyscript-${env}-migrations`);
    const [container] = definition.Properties.ContainerDefinitions;
    expect(container.Image).toEqual({ 'Fn::Join': ['', [`${account}.dkr.ecr.us-east-1.`, { Ref: 'AWS::URLSuffix' }, `/bodyscript/${env}/api:1.0.0`]] });
    const environment = Object.fromEntries((container.Environment as { Name: string; Value: unknown }[]).map((x) => [x.Name, x.Value]));
    expect(environment).toMatchObject({ DB_USERNAME: 'bodyscript_migrations', DB_AUTH: 'iam', DB_NAME: 'bodyscript', DB_REGION: 'us-east-1' });
    expect(JSON.stringify(definition)).not.toMatch(/DatabaseInstanceSecret|database-master/);
    const taskRole = definition.Properties.TaskRoleArn['Fn::GetAtt'][0];
    const connect = Object.values(template(stack).findResources('AWS::IAM::ManagedPolicy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: taskRole }]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(connect).toHaveLength(1);
    expect(JSON.stringify(connect[0].Resource)).toMatch(/dbuser:.*DbiResourceId.*\/bodyscript_migrations/);
    expect(Object.values(resources(stack, 'AWS::ECS::Service')).filter((s) => JSON.stringify(s).includes('MigrationsTaskDefinition'))).toEqual([]);
  });

  describe('least privilege', () => {
    const policyOf = (prefix: string) => one(stack, 'AWS::IAM::ManagedPolicy', prefix)[1].Properties.PolicyDocument.Statement as { Sid: string; Action: string | string[]; Resource: unknown; Condition?: unknown }[];

    test('the processing task may read uploads, write results, consume its queue, use the data key, publish its metrics and follow its deployment contract; nothing more', () => {
      const statements = policyOf('ProcessingTaskPolicy');
      expect(statements.map((s) => [s.Sid, s.Action])).toEqual([
        ['ReadUploads', 's3:GetObject'],
        ['WriteResults', 's3:PutObject'],
        ['ConsumeQueue', ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage']],
        ['UseDataKey', ['kms:Decrypt', 'kms:GenerateDataKey']],
        ['PublishProcessingMetrics', 'cloudwatch:PutMetricData'],
        ['HandJobsBack', 'sqs:SendMessage'],
        ['FollowOwnDeployment', 'ecs:DescribeServices'],
        ['ProtectOwnTaskWhileBusy', ['ecs:GetTaskProtection', 'ecs:UpdateTaskProtection']],
      ]);
      expect(JSON.stringify(statements[5].Resource)).toContain('ProcessingQueue');
      expect(statements[6].Resource).toEqual({ Ref: expect.stringMatching(/^ProcessingService/) });
      expect(statements[0].Resource).toBe(`arn:aws:s3:::bodyscript-${env}-uploads-${account}-us-east-1/*`);
      expect(statements[1].Resource).toBe(`arn:aws:s3:::bodyscript-${env}-results-${account}-us-east-1/*`);
      expect(JSON.stringify(statements[2].Resource)).toContain('ProcessingQueue');
      expect(JSON.stringify(statements[3].Resource)).toContain('DataKey');
      expect(statements[4].Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'BodyScript/Processing' } });
    });

    test('the processing task role has no other policy than its task policy and its database login', () => {
      const [, taskDefinition] = one(stack, 'AWS::ECS::TaskDefinition', 'ProcessingTaskDefinition');
      const roleId = taskDefinition.Properties.TaskRoleArn['Fn::GetAtt'][0];
      const attached = [
        ...Object.entries(resources(stack, 'AWS::IAM::Policy')).filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleId)),
        ...Object.entries(resources(stack, 'AWS::IAM::ManagedPolicy')).filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleId)),
      ];
      expect(attached.map(([id]) => id).sort()).toEqual([expect.stringMatching(/^ProcessingDatabaseLoginPolicy/), expect.stringMatching(/^ProcessingTaskPolicy/)]);
      expect(templateJson(stack).Resources[roleId].Properties).not.toHaveProperty('ManagedPolicyArns');
      expect(templateJson(stack).Resources[roleId].Properties).not.toHaveProperty('Policies');
    });

    test('the api task may sign uploads into the uploads bucket and downloads from the results bucket', () => {
      expect(policyOf('ApiTaskPolicy').map((s) => [s.Sid, s.Action])).toEqual([
        ['PutUploads', 's3:PutObject'],
        ['GetResults', 's3:GetObject'],
        ['UseDataKey', ['kms:Decrypt', 'kms:GenerateDataKey']],
      ]);
    });

    test('both tasks use the data key only through S3 (and the worker through SQS) in us-east-1, never directly (security review L7)', () => {
      expect(policyOf('ApiTaskPolicy')[2].Condition).toEqual({ StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } });
      expect(policyOf('ProcessingTaskPolicy')[3].Condition).toEqual({ StringEquals: { 'kms:ViaService': ['s3.us-east-1.amazonaws.com', 'sqs.us-east-1.amazonaws.com'] } });
    });
  });

  describe('scaling', () => {
    test('processing scales on queued videos per running worker between its configured bounds', () => {
      t().hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        MinCapacity: production ? 2 : 1,
        MaxCapacity: production ? 10 : 4,
        ResourceId: { 'Fn::Join': ['', ['service/', { Ref: Match.stringLikeRegexp('^Cluster') }, '/', { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProcessingService'), 'Name'] }]] },
      });
      t().hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        PolicyName: `bodyscript-${env}-processing-backlog-per-task`,
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 2,
          CustomizedMetricSpecification: {
            Metrics: [
              Match.objectLike({ Id: 'visible', MetricStat: Match.objectLike({ Metric: Match.objectLike({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible' }) }) }),
              Match.objectLike({ Id: 'tasks', MetricStat: Match.objectLike({ Metric: Match.objectLike({ Namespace: 'ECS/ContainerInsights', MetricName: 'RunningTaskCount' }) }) }),
              { Id: 'backlogPerTask', Expression: 'visible / IF(tasks > 0, tasks, 1)', Label: Match.anyValue(), ReturnData: true },
            ],
          },
        },
      });
    });

    test('the api scales on CPU between its configured bounds', () => {
      t().hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: production ? 3 : 1, MaxCapacity: production ? 12 : 4 });
      t().hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        TargetTrackingScalingPolicyConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, TargetValue: 60 },
      });
    });
  });

  describe('canaries', () => {
    test.each([
      ['frontend', '/'],
      ['api', '/api/health'],
    ])('the %s canary requests %s through CloudFront', (target, path) => {
      const [, canary] = one(stack, 'AWS::Synthetics::Canary', `${target === 'api' ? 'Api' : 'Frontend'}Canary`);
      expect(canary.Properties.Name).toBe(`bs-${production ? 'prod' : 'stg'}-${target}`);
      expect(canary.Properties.RunConfig.EnvironmentVariables.TARGET_URL).toEqual(
        production ? `https://app.bodyscript.example${path}` : { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [expect.stringMatching(/^EdgeDistribution/), 'DomainName'] }, path]] },
      );
    });

    test('the api canary checks the body of /api/health', () => {
      const [, canary] = one(stack, 'AWS::Synthetics::Canary', 'ApiCanary');
      const pattern = new RegExp(canary.Properties.RunConfig.EnvironmentVariables.BODY_PATTERN);
      expect(pattern.test('{"status": "ok"}')).toBe(true);
      expect(pattern.test('{"status": "degraded"}')).toBe(false);
    });

    test('the processing canary requests /health of the internal load balancer', () => {
      const [, canary] = one(stack, 'AWS::Synthetics::Canary', 'ProcessingCanary');
      expect(JSON.stringify(canary.Properties.RunConfig.EnvironmentVariables.TARGET_URL)).toMatch(/http:\/\/.*ProcessingLoadBalancer.*DNSName.*\/health/);
    });
  });

  describe('CloudFront', () => {
    const distribution = () => one(stack, 'AWS::CloudFront::Distribution', 'EdgeDistribution')[1].Properties.DistributionConfig;

    test('serves the web app from an origin group (the frontend bucket, then its us-west-2 replica, both through origin access control), with SPA routing on the frontend behavior only', () => {
      const config = distribution();
      expect(config.OriginGroups.Quantity).toBe(1);
      const [group] = config.OriginGroups.Items;
      expect(config.DefaultCacheBehavior.TargetOriginId).toBe(group.Id);
      expect(group.FailoverCriteria).toEqual({ StatusCodes: { Items: [403, 404, 500, 502, 503, 504], Quantity: 6 } });
      expect(group.Members.Quantity).toBe(2);
      const [primary, secondary] = group.Members.Items.map((m: { OriginId: string }) => config.Origins.find((o: { Id: string }) => o.Id === m.OriginId));
      const viaOac = { OriginAccessControlId: { 'Fn::GetAtt': [expect.stringMatching(/OriginAccessControl/), 'Id'] }, S3OriginConfig: { OriginAccessIdentity: '' } };
      expect(primary).toMatchObject({ DomainName: `bodyscript-${env}-frontend-${account}-us-east-1.s3.us-east-1.amazonaws.com`, ...viaOac });
      // The StandbyData replica, named from config (no cross-region reference).
      expect(secondary).toMatchObject({ DomainName: `bodyscript-${env}-frontend-${account}-us-west-2.s3.us-west-2.amazonaws.com`, ...viaOac });
      expect(resourcesOfType(stack, 'AWS::CloudFront::OriginAccessControl')).toHaveLength(2);
      t().hasResourceProperties('AWS::CloudFront::OriginAccessControl', { OriginAccessControlConfig: Match.objectLike({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always' }) });
      // Origin failover satisfies Control Tower's CT.CLOUDFRONT.PR.4: nothing acknowledges it any more.
      expect(acknowledgements().filter((a) => a.constructPath.startsWith(`/${stack}/`) && a.ruleId.includes('cloudfront_origin_failover_enabled_check'))).toEqual([]);
      expect(config.DefaultCacheBehavior).toMatchObject({ ViewerProtocolPolicy: 'redirect-to-https', Compress: true, FunctionAssociations: [expect.objectContaining({ EventType: 'viewer-request' })] });
      expect(config.DefaultRootObject).toBe('index.html');
      // No distribution-wide error pages: they would turn the api's own 403/404 answers into index.html.
      expect(config.CustomErrorResponses).toBeUndefined();
      t().hasResourceProperties('AWS::CloudFront::Function', { FunctionCode: Match.stringLikeRegexp("request.uri = '/index.html'") });
    });

    test('CloudFront may read the frontend objects (primary and us-west-2 replica) for this distribution only, and the data stacks write no policy for them', () => {
      const distributionArn = { 'Fn::Join': ['', [`arn:aws:cloudfront::${account}:distribution/`, { Ref: Match.stringLikeRegexp('^EdgeDistribution') }]] };
      t().hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: `bodyscript-${env}-frontend-${account}-us-east-1`,
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Sid: 'AllowCloudFrontOriginAccessControl', Principal: { Service: 'cloudfront.amazonaws.com' }, Condition: { StringEquals: { 'AWS:SourceArn': distributionArn } } }),
          ]),
        },
      });
      // The primary's policy keeps the TLS-only statements every bucket has.
      const primary = JSON.stringify(Object.values(t().findResources('AWS::S3::BucketPolicy')).filter((p) => JSON.stringify(p).includes(`frontend-${account}-us-east-1`)));
      expect(primary).toContain('"aws:SecureTransport":"false"');
      expect(primary).toContain('"s3:TlsVersion":1.2');
      const replicaPolicy = JSON.stringify(Object.values(t().findResources('Custom::FrontendReplicaBucketPolicy')));
      expect(replicaPolicy).toContain(`bodyscript-${env}-frontend-${account}-us-west-2`);
      expect(replicaPolicy).toContain('us-west-2');
      for (const dataStack of [`BodyScript-${title}-Data`, `BodyScript-${title}-StandbyData`]) {
        const policies = JSON.stringify(Object.values(templateJson(dataStack).Resources).filter((r) => r.Type === 'AWS::S3::BucketPolicy'));
        expect(policies).not.toContain('cloudfront.amazonaws.com');
        expect(policies).not.toContain('distribution/*');
      }
    });

    test('sends /api/* uncached to the api load balancer with the secret origin header', () => {
      const config = distribution();
      const behavior = config.CacheBehaviors.find((b: { PathPattern: string }) => b.PathPattern === '/api/*');
      expect(behavior).toMatchObject({
        AllowedMethods: expect.arrayContaining(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']),
        CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // Managed-CachingDisabled
        OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac', // Managed-AllViewerExceptHostHeader
        ViewerProtocolPolicy: 'https-only',
      });
      const origin = config.Origins.find((o: { Id: string }) => o.Id === behavior.TargetOriginId);
      if (production) {
        // By its name over HTTPS: Route 53 answers it with the load balancer of the region in service.
        expect(origin.DomainName).toBe('api.bodyscript.example');
        expect(origin.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', HTTPSPort: 443, OriginSSLProtocols: ['TLSv1.2'] });
      } else {
        // A VPC origin of the internal load balancer: nothing of the api is reachable from the internet.
        expect(origin.VpcOriginConfig).toEqual({ VpcOriginId: { 'Fn::GetAtt': [expect.stringMatching(/VpcOrigin/), 'Id'] }, OriginReadTimeout: 30 });
        expect(origin.CustomOriginConfig).toBeUndefined();
        t().hasResourceProperties('AWS::CloudFront::VpcOrigin', {
          VpcOriginEndpointConfig: { Name: 'bodyscript-staging-api-us-east-1', Arn: { Ref: Match.stringLikeRegexp('^ApiLoadBalancer') }, HTTPPort: 80, OriginProtocolPolicy: 'http-only' },
        });
      }
      expect(origin.OriginCustomHeaders).toEqual([{ HeaderName: 'X-Origin-Verify', HeaderValue: expect.objectContaining({ 'Fn::Join': expect.anything() }) }]);
    });

    test('speaks HTTP/2 and HTTP/3, compresses, logs to the CloudFront log bucket and sits behind the web ACL', () => {
      const config = distribution();
      expect(config).toMatchObject({
        HttpVersion: 'http2and3',
        IPV6Enabled: true,
        Logging: { Bucket: `bodyscript-${env}-cloudfront-logs-${account}-us-east-1.s3.us-east-1.amazonaws.com`, IncludeCookies: false },
        WebACLId: { 'Fn::GetAtt': [expect.stringMatching(/^EdgeWebAcl/), 'Arn'] },
      });
      // Without a configured domain there is only the default certificate; with one, TLS 1.2 at least.
      if (production) expect(config.ViewerCertificate).toMatchObject({ MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' });
      else expect(config.ViewerCertificate).toBeUndefined();
    });

    test('adds HSTS, frame options DENY, nosniff, a referrer policy and a CSP allowing self, Sentry and Google Analytics', () => {
      const [, policy] = one(stack, 'AWS::CloudFront::ResponseHeadersPolicy', 'EdgeSecurityHeaders');
      const headers = policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
      expect(headers).toMatchObject({
        StrictTransportSecurity: { AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true, Override: true },
        FrameOptions: { FrameOption: 'DENY', Override: true },
        ContentTypeOptions: { Override: true },
        ReferrerPolicy: { ReferrerPolicy: 'strict-origin-when-cross-origin', Override: true },
      });
      const csp = JSON.stringify(headers.ContentSecurityPolicy.ContentSecurityPolicy);
      for (const source of ["default-src 'self'", 'https://*.ingest.sentry.io', 'https://www.googletagmanager.com', 'https://www.google-analytics.com', "frame-ancestors 'none'"]) {
        expect(csp).toContain(source);
      }
    });

    test('the CSP lets the app call, play and show exactly the presigned hosts of both regions (no wildcard over S3)', () => {
      const [, policy] = one(stack, 'AWS::CloudFront::ResponseHeadersPolicy', 'EdgeSecurityHeaders');
      const csp: string = policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy;
      const directive = (name: string) => csp.split('; ').find((d) => d.startsWith(`${name} `))!.split(' ').slice(1);
      const hosts = ['uploads', 'results'].flatMap((purpose) => ['us-east-1', 'us-west-2'].map((region) => `https://bodyscript-${env}-${purpose}-${account}-${region}.s3.${region}.amazonaws.com`));
      for (const name of ['connect-src', 'img-src', 'media-src']) {
        expect(directive(name).filter((source) => source.includes('amazonaws.com')).sort()).toEqual([...hosts].sort());
      }
    });

    test('the api signs presigned URLs for the regional S3 host (boto3 would sign the global one in us-east-1)', () => {
      const [, taskDefinition] = one(stack, 'AWS::ECS::TaskDefinition', 'ApiTaskDefinition');
      expect(taskDefinition.Properties.ContainerDefinitions[0].Environment).toContainEqual({ Name: 'AWS_S3_US_EAST_1_REGIONAL_ENDPOINT', Value: 'regional' });
    });

    test('the web ACL (CLOUDFRONT scope) runs IP reputation, the common and known-bad-inputs rules and rate limits per IP (everything, and /api/ more tightly) blocking, SQL injection and Bot Control counting, and logs to an encrypted log group', () => {
      const [, acl] = one(stack, 'AWS::WAFv2::WebACL', 'EdgeWebAcl');
      expect(acl.Properties).toMatchObject({ Name: `bodyscript-${env}-edge`, Scope: 'CLOUDFRONT', DefaultAction: { Allow: {} } });
      const rules = acl.Properties.Rules as { Name: string; OverrideAction?: Record<string, unknown>; Action?: Record<string, unknown> }[];
      expect(rules.map((r) => `${r.Name}:${Object.keys(r.OverrideAction ?? r.Action ?? {})[0]}`)).toEqual([
        'AWSManagedRulesAmazonIpReputationList:None',
        'AWSManagedRulesCommonRuleSet:None',
        'AWSManagedRulesKnownBadInputsRuleSet:None',
        'RateLimitPerIp:Block',
        'RateLimitApiPerIp:Block',
        'AWSManagedRulesSQLiRuleSet:Count',
        'AWSManagedRulesBotControlRuleSet:Count',
      ]);
      t().hasResourceProperties('AWS::WAFv2::LoggingConfiguration', { ResourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EdgeWebAcl'), 'Arn'] } });
      t().hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `aws-waf-logs-bodyscript-${env}-edge`, KmsKeyId: Match.anyValue(), RetentionInDays: 365 });
    });
  });
});
