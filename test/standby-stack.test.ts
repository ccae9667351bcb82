import { Match } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../lib/config';
import { resourcesOfType, stacks, template } from './support/assembly';

const CASES = [
  ['BodyScript-Staging-Standby', 'staging', '111111111111', false, 'db.t4g.medium', '10.110.0.0/16'],
  ['BodyScript-Production-Standby', 'production', '222222222222', true, 'db.r7g.large', '10.120.0.0/16'],
] as const;

/** database.maxAllocatedStorageGiB of each environment (lib/config): the primary's ceiling. */
const MAX_ALLOCATED_STORAGE = { staging: 100, production: 1000 } as const;

/** The configured task bounds per environment and service (lib/config). */
const MAX_TASKS = { staging: { api: 4, processing: 4 }, production: { api: 12, processing: 10 } } as const;

type Resource = { Type: string; Properties?: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
/** The one resource of a type whose logical ID starts with `prefix`. */
function one(stackName: string, type: string, prefix: string): [string, Resource] {
  const found = resourcesOfType(stackName, type).filter(([id]) => id.startsWith(prefix));
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0] as [string, Resource];
}

describe.each(CASES)('%s', (stackName, env, account, multiAz, instanceClass, cidr) => {
  test('lives in the standby region with termination protection (after a failover it holds the live database)', () => {
    const stack = stacks().find((s) => s.displayName === stackName)!;
    expect(stack.environment).toBe(`aws://${account}/us-west-2`);
    expect(stack.terminationProtection).toBe(true);
  });

  test('has a cross-region read replica of the primary, named by ARN from config, retained (no final snapshot of a replica) and growing as far as the primary', () => {
    template(stackName).hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        MaxAllocatedStorage: MAX_ALLOCATED_STORAGE[env],
        DBInstanceIdentifier: `bodyscript-${env}-postgres-replica`,
        SourceDBInstanceIdentifier: `arn:aws:rds:us-east-1:${account}:db:bodyscript-${env}-postgres`,
        DBInstanceClass: instanceClass,
        MultiAZ: multiAz,
        DeletionProtection: true,
        PubliclyAccessible: false,
        Port: '5433',
        EnableIAMDatabaseAuthentication: true,
        EnablePerformanceInsights: true,
        EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
        MonitoringInterval: multiAz ? 15 : 60,
        MonitoringRoleArn: Match.anyValue(),
      }),
    });
  });

  test('the replica is encrypted with the us-west-2 database key of its StandbyData stack', () => {
    const keyOutput = { 'Fn::ImportValue': Match.stringLikeRegexp(`^BodyScript-${env === 'staging' ? 'Staging' : 'Production'}-StandbyData:.*StandbyDatabaseKey`) };
    template(stackName).hasResourceProperties('AWS::RDS::DBInstance', { KmsKeyId: keyOutput, PerformanceInsightsKMSKeyId: keyOutput });
  });

  test('the replica has its own TLS-only parameter group of the primary family', () => {
    template(stackName).hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres18',
      Parameters: Match.objectLike({ 'rds.force_ssl': '1', ssl_min_protocol_version: 'TLSv1.2' }),
    });
    template(stackName).hasResourceProperties('AWS::RDS::DBInstance', { DBParameterGroupName: { Ref: Match.stringLikeRegexp('^ReplicaParameters') } });
  });

  test.each(['postgresql', 'upgrade'])('the replica exports %s logs to an encrypted log group with retention', (logType) => {
    template(stackName).hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/aws/rds/instance/bodyscript-${env}-postgres-replica/${logType}`,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StandbyLogsKey'), 'Arn'] },
      RetentionInDays: 365,
    });
  });

  test('the replica runs in the isolated database subnets of the standby VPC', () => {
    template(stackName).hasResourceProperties('AWS::EC2::VPC', { CidrBlock: cidr });
    const [[, subnetGroup]] = resourcesOfType(stackName, 'AWS::RDS::DBSubnetGroup');
    expect(JSON.stringify(subnetGroup.Properties?.SubnetIds)).toContain('DatabaseSubnet');
    expect(JSON.stringify(subnetGroup.Properties?.SubnetIds)).not.toContain('ApplicationSubnet');
  });

  test('has its own encrypted critical and warning topics with the same e-mail subscriptions', () => {
    for (const severity of ['critical', 'warning']) {
      template(stackName).hasResourceProperties('AWS::SNS::Topic', {
        TopicName: `bodyscript-${env}-${severity}`,
        KmsMasterKeyId: Match.anyValue(),
      });
    }
    template(stackName).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: env === 'staging' ? 'platform-staging@bodyscript.example' : 'platform-oncall@bodyscript.example',
    });
  });

  test('pages when the replica stays more than a minute behind a primary that writes for ten minutes, or stops reporting lag', () => {
    template(stackName).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `BodyScript-${env === 'staging' ? 'Staging' : 'Production'}-Standby-Database-ReplicaLag`,
      Namespace: 'AWS/RDS',
      MetricName: 'ReplicaLag',
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: `bodyscript-${env}-postgres-replica` }],
      Statistic: 'Minimum',
      Period: 60,
      EvaluationPeriods: 10,
      DatapointsToAlarm: 10,
      Threshold: 60,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlarmTopicsCritical') }],
    });
  });

  test("watches the replica's own free storage against its own autoscaling maximum, which is the primary's", () => {
    const name = `BodyScript-${env === 'staging' ? 'Staging' : 'Production'}-Standby-Database-FreeStorageLow`;
    template(stackName).hasResourceProperties('AWS::RDS::DBInstance', {
      DBInstanceIdentifier: `bodyscript-${env}-postgres-replica`,
      MaxAllocatedStorage: loadConfig({}).environments[env].database.maxAllocatedStorageGiB,
    });
    template(stackName).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: name,
      MetricName: 'FreeStorageSpace',
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: `bodyscript-${env}-postgres-replica` }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlarmTopicsCritical') }],
    });
    // Created after the replica, or its silence (breaching) would page while the replica is being created.
    const alarms = template(stackName).findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: name } });
    expect(Object.values(alarms)[0].DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^ReplicaInstance/)]));
  });

  describe('pilot-light services', () => {
    test('the cluster has the primary cluster name and Container Insights', () => {
      template(stackName).hasResourceProperties('AWS::ECS::Cluster', {
        ClusterName: `bodyscript-${env}`,
        ClusterSettings: [{ Name: 'containerInsights', Value: 'enhanced' }],
      });
    });

    test.each(['api', 'processing'] as const)('%s states no DesiredCount, deploys with the ECS controller behind its load balancer, without CodeDeploy', (service) => {
      const [, ecsService] = one(stackName, 'AWS::ECS::Service', service === 'api' ? 'ApiService' : 'ProcessingService');
      // The template must not own the running capacity: a stated DesiredCount is re-sent with every update of the service.
      expect(ecsService.Properties).not.toHaveProperty('DesiredCount');
      expect(ecsService.Properties).toMatchObject({
        ServiceName: `bodyscript-${env}-${service}`,
        DeploymentController: { Type: 'ECS' },
        DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: true } },
        LoadBalancers: [{ ContainerName: service, ContainerPort: 8000, TargetGroupArn: { Ref: expect.stringMatching(service === 'api' ? /^ApiTargetGroup/ : /^ProcessingTargetGroup/) } }],
      });
      for (const type of ['AWS::CodeDeploy::Application', 'AWS::CodeDeploy::DeploymentGroup', 'Custom::EcsDeployment']) template(stackName).resourceCountIs(type, 0);
      // One target group and one listener per service: no green target group, no test listener.
      template(stackName).resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', 2);
      template(stackName).resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    });

    test.each(['api', 'processing'] as const)('%s has a scalable target held at 0..0, the same in both environments whatever their task bounds (a deploy never re-applies bounds a failover set)', (service) => {
      const [, target] = one(stackName, 'AWS::ApplicationAutoScaling::ScalableTarget', service === 'api' ? 'ApiScaling' : 'ProcessingScaling');
      expect(target.Properties).toMatchObject({ MinCapacity: 0, MaxCapacity: 0, ScalableDimension: 'ecs:service:DesiredCount', ServiceNamespace: 'ecs' });
      expect(target.Properties).not.toHaveProperty('SuspendedState');
      const [, other] = one(env === 'staging' ? 'BodyScript-Production-Standby' : 'BodyScript-Staging-Standby', 'AWS::ApplicationAutoScaling::ScalableTarget', service === 'api' ? 'ApiScaling' : 'ProcessingScaling');
      const withoutAccount = (r: Resource) => JSON.parse(JSON.stringify(r.Properties).replace(/\d{12}/g, '<account>').replace(/"(production|staging)"/g, '"<env>"'));
      expect(MAX_TASKS.staging[service]).not.toBe(MAX_TASKS.production[service]);
      expect(withoutAccount(target)).toEqual(withoutAccount(other));
      expect(JSON.stringify(target.Properties?.ResourceId)).toContain('"service/",{"Ref":"Cluster');
    });

    test('scales like the primary once the failover opens the bounds: the api on CPU, processing on its backlog per task in the standby queue', () => {
      template(stackName).hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 60, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } }),
      });
      const [, backlog] = one(stackName, 'AWS::ApplicationAutoScaling::ScalingPolicy', 'ProcessingBacklogPerTask');
      expect(backlog.Properties?.PolicyName).toBe(`bodyscript-${env}-processing-backlog-per-task`);
      expect(JSON.stringify(backlog.Properties)).toContain('StandbyProcessingQueue');
    });

    test.each(['api', 'processing'] as const)('the %s task definition pulls the us-west-2 ECR replica, reads its secrets by name in us-west-2 and logs in to the replica as its own role', (service) => {
      const [, definition] = one(stackName, 'AWS::ECS::TaskDefinition', service === 'api' ? 'ApiTaskDefinition' : 'ProcessingTaskDefinition');
      const container = definition.Properties?.ContainerDefinitions[0];
      expect(container.Image).toEqual({ 'Fn::Join': ['', [`${account}.dkr.ecr.us-west-2.`, { Ref: 'AWS::URLSuffix' }, `/bodyscript/${env}/${service}:1.0.0`]] });
      const secrets = Object.fromEntries((container.Secrets as { Name: string; ValueFrom: unknown }[]).map((x) => [x.Name, x.ValueFrom]));
      expect(secrets).toEqual({ SENTRY_DSN: `arn:aws:secretsmanager:us-west-2:${account}:secret:bodyscript/${env}/sentry-dsn` });
      const environment = Object.fromEntries((container.Environment as { Name: string; Value: unknown }[]).map((x) => [x.Name, x.Value]));
      // After a failover the database is the promoted replica of this stack; the roles are the primary's (replicated), the token is signed here.
      expect(environment.DB_HOST).toEqual({ 'Fn::GetAtt': ['ReplicaInstance639BE1BF', 'Endpoint.Address'] });
      const user = service === 'api' ? 'bodyscript_api' : 'bodyscript_worker';
      expect(environment).toMatchObject({ DB_PORT: '5433', DB_NAME: 'bodyscript', DB_USERNAME: user, DB_AUTH: 'iam', DB_REGION: 'us-west-2' });
      // IAM authentication names the replica by ITS DbiResourceId (kept by a promotion), never the primary's or the instance ARN.
      const taskRole = definition.Properties?.TaskRoleArn['Fn::GetAtt'][0];
      const connect = Object.values(template(stackName).findResources('AWS::IAM::ManagedPolicy'))
        .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: taskRole }]))
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((st: { Action: unknown }) => st.Action === 'rds-db:connect');
      expect(connect.map((st: { Resource: unknown }) => st.Resource)).toEqual([
        { 'Fn::Join': ['', [`arn:aws:rds-db:us-west-2:${account}:dbuser:`, { 'Fn::GetAtt': ['ReplicaInstance639BE1BF', 'DbiResourceId'] }, `/${user}`]] },
      ]);
      expect(JSON.stringify(environment.UPLOADS_BUCKET)).toContain('UploadsReplicaBucket');
      expect(container.LogConfiguration.Options['awslogs-region']).toBe('us-west-2');
    });

    test('the service log groups are encrypted with the standby logs key', () => {
      for (const service of ['api', 'processing']) {
        template(stackName).hasResourceProperties('AWS::Logs::LogGroup', {
          LogGroupName: `/bodyscript/${env}/${service}`,
          KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StandbyLogsKey'), 'Arn'] },
          RetentionInDays: 365,
        });
      }
    });

    test('the api load balancer accepts only CloudFront (us-west-2 prefix list) carrying the origin header, read by name from the secret replica', () => {
      const rules = resourcesOfType(stackName, 'AWS::EC2::SecurityGroupIngress')
        .map(([, r]) => r.Properties as Record<string, unknown>)
        .filter((p) => JSON.stringify(p.GroupId).includes('ApiLoadBalancerSecurityGroup'));
      expect(rules).toEqual([expect.objectContaining({ FromPort: env === 'production' ? 443 : 80, SourcePrefixListId: 'pl-82a045eb' })]);
      template(stackName).hasResourceProperties('Custom::OriginVerifyRule', {
        HeaderName: 'X-Origin-Verify',
        SecretId: `bodyscript/${env}/cloudfront-origin-verify`,
        TargetGroupArn: { Ref: Match.stringLikeRegexp('^ApiTargetGroup') },
      });
      // Found by name by the primary's rotation function.
      template(stackName).hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Name: `bodyscript-${env}-api` });
    });

    if (env === 'production') {
      test('with a domain the api load balancer is internet-facing (CloudFront reaches it by name after a failover) and behind a regional web ACL', () => {
        const [apiBalancer] = one(stackName, 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'ApiLoadBalancer');
        template(stackName).hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
        template(stackName).hasResourceProperties('AWS::WAFv2::WebACLAssociation', { ResourceArn: { Ref: apiBalancer }, WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiWebAcl'), 'Arn'] } });
        template(stackName).hasResourceProperties('AWS::WAFv2::WebACL', { Name: 'bodyscript-production-api', Scope: 'REGIONAL' });
        expect(resourcesOfType(stackName, 'AWS::CloudFront::VpcOrigin')).toEqual([]);
      });
    } else {
      test('without a domain both load balancers are internal, and the api has a VPC origin ready for the manual failover', () => {
        expect(resourcesOfType(stackName, 'AWS::ElasticLoadBalancingV2::LoadBalancer').map(([, lb]) => lb.Properties?.Scheme)).toEqual(['internal', 'internal']);
        expect(resourcesOfType(stackName, 'AWS::WAFv2::WebACLAssociation')).toEqual([]);
        const [apiBalancer] = one(stackName, 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'ApiLoadBalancer');
        template(stackName).hasResourceProperties('AWS::CloudFront::VpcOrigin', {
          VpcOriginEndpointConfig: { Name: 'bodyscript-staging-api-us-west-2', Arn: { Ref: apiBalancer }, HTTPPort: 80, OriginProtocolPolicy: 'http-only' },
        });
      });
    }

    test('the load balancers log to the standby alb-logs bucket of StandbyData, named literally', () => {
      const balancers = resourcesOfType(stackName, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
      expect(balancers).toHaveLength(2);
      for (const [, lb] of balancers) {
        expect(lb.Properties?.LoadBalancerAttributes).toEqual(
          expect.arrayContaining([{ Key: 'access_logs.s3.enabled', Value: 'true' }, { Key: 'access_logs.s3.bucket', Value: `bodyscript-${env}-alb-logs-${account}-us-west-2` }]),
        );
      }
    });

    test('both standby tasks use the standby data key only through S3 (and the worker through SQS) in us-west-2, never directly (security review L7)', () => {
      const useDataKey = (prefix: string) => (one(stackName, 'AWS::IAM::ManagedPolicy', prefix)[1].Properties!.PolicyDocument.Statement as { Sid: string; Condition?: unknown }[]).find((s) => s.Sid === 'UseDataKey');
      expect(useDataKey('ApiTaskPolicy')?.Condition).toEqual({ StringEquals: { 'kms:ViaService': 's3.us-west-2.amazonaws.com' } });
      expect(useDataKey('ProcessingTaskPolicy')?.Condition).toEqual({ StringEquals: { 'kms:ViaService': ['s3.us-west-2.amazonaws.com', 'sqs.us-west-2.amazonaws.com'] } });
    });

    test('both services reach the replica on its port', () => {
      for (const name of ['Api', 'Processing']) {
        template(stackName).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
          FromPort: 5433,
          ToPort: 5433,
          SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${name}SecurityGroup`), 'GroupId'] },
        });
      }
    });
  });

  describe('standby service alarms', () => {
    const title = env === 'staging' ? 'Staging' : 'Production';
    test.each<[string, string[]]>([
      ['api', ['5xxRate', 'NoHealthyTargetForRequests', 'UnhealthyHosts']],
      ['processing', ['UnhealthyHosts']],
    ])('the %s alarms are silent at zero tasks and page the standby topic', (service, suffixes) => {
      for (const suffix of suffixes) {
        template(stackName).hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: `BodyScript-${title}-Standby-${service}-${suffix}`,
          AlarmDescription: Match.stringLikeRegexp('Runbook: runbooks/disaster-recovery\\.md'),
          TreatMissingData: 'notBreaching',
          AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlarmTopicsCritical') }],
        });
      }
    });

    test('the processing load balancer, which only ever serves health checks, has no request-based alarm', () => {
      const names = resourcesOfType(stackName, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties?.AlarmName as string);
      expect(names.filter((n) => n.includes('-Standby-processing-'))).toEqual([`BodyScript-${title}-Standby-processing-UnhealthyHosts`]);
    });

    test('no standby alarm rolls anything back (there is no CodeDeploy here)', () => {
      const names = resourcesOfType(stackName, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties?.AlarmName as string);
      expect(names.filter((n) => /Rollback/.test(n))).toEqual([]);
      expect(names.every((n) => n.startsWith(`BodyScript-${title}-`))).toBe(true);
    });
  });

  describe('the Region switch plan', () => {
    const plan = () => one(stackName, 'AWS::ARCRegionSwitch::Plan', 'FailoverPlan')[1].Properties!;

    test('fails over from us-east-1 to this region with the configured RTO, active/passive; with a domain it fails the traffic back too', () => {
      const domain = loadConfig().environments[env as 'staging' | 'production'].domain;
      expect(plan()).toMatchObject({
        Name: `bodyscript-${env}-failover`,
        RecoveryApproach: 'activePassive',
        PrimaryRegion: 'us-east-1',
        Regions: ['us-east-1', 'us-west-2'],
        RecoveryTimeObjectiveMinutes: 30,
        Workflows: [
          expect.objectContaining({ WorkflowTargetAction: 'activate', WorkflowTargetRegion: 'us-west-2' }),
          // The failback workflow (constructs/region-switch-plan.ts): only the api's DNS, back to us-east-1.
          ...(domain ? [expect.objectContaining({ WorkflowTargetAction: 'activate', WorkflowTargetRegion: 'us-east-1', Steps: [expect.objectContaining({ Name: 'return-traffic', ExecutionBlockType: 'Route53HealthCheck' })] })] : []),
        ],
      });
    });

    test('names the replica, then both standby services beside their primaries, then with a domain the traffic switch (production must have one)', () => {
      const steps = plan().Workflows[0].Steps;
      const domain = loadConfig().environments[env as 'staging' | 'production'].domain;
      expect(domain !== undefined).toBe(env === 'production');
      expect(steps.map((s: { Name: string }) => s.Name)).toEqual(['promote-replica', 'raise-services', ...(domain ? ['switch-traffic'] : [])]);
      expect(steps[0].ExecutionBlockConfiguration.RdsPromoteReadReplicaConfig.DbInstanceArnMap).toEqual({
        'us-east-1': `arn:aws:rds:us-east-1:${account}:db:bodyscript-${env}-postgres`,
        'us-west-2': `arn:aws:rds:us-west-2:${account}:db:bodyscript-${env}-postgres-replica`,
      });
      const services = steps[1].ExecutionBlockConfiguration.ParallelConfig.Steps.map(
        (s: { Name: string; ExecutionBlockConfiguration: { EcsCapacityIncreaseConfig: { Services: { ServiceArn: string }[] } } }) => [s.Name, s.ExecutionBlockConfiguration.EcsCapacityIncreaseConfig.Services.map((x) => x.ServiceArn)],
      );
      expect(services).toEqual(
        ['api', 'processing'].map((service) => [
          `raise-${service}`,
          [`arn:aws:ecs:us-east-1:${account}:service/bodyscript-${env}/bodyscript-${env}-${service}`, `arn:aws:ecs:us-west-2:${account}:service/bodyscript-${env}/bodyscript-${env}-${service}`],
        ]),
      );
      if (domain) {
        expect(steps[2].ExecutionBlockConfiguration.Route53HealthCheckConfig).toMatchObject({
          HostedZoneId: domain.hostedZoneId,
          RecordName: domain.apiDomainName,
          RecordSets: [
            { RecordSetIdentifier: `${domain.apiDomainName}-primary`, Region: 'us-east-1' },
            { RecordSetIdentifier: `${domain.apiDomainName}-secondary`, Region: 'us-west-2' },
          ],
        });
      }
    });

    test("watches the standby api's 5xx rate as its application health, and sends evaluation warnings to the standby critical topic", () => {
      expect(plan().AssociatedAlarms).toEqual({ ApplicationHealth1: { AlarmType: 'applicationHealth', ResourceIdentifier: { 'Fn::GetAtt': [expect.stringMatching(/^AlarmsApi5xxRate/), 'Arn'] } } });
      const rules = resourcesOfType(stackName, 'AWS::Events::Rule').filter(([id]) => id.startsWith('FailoverPlanEvaluationWarnings'));
      expect(rules).toHaveLength(2);
      for (const [, rule] of rules) expect(rule.Properties?.Targets).toEqual([{ Arn: { Ref: expect.stringMatching(/^AlarmTopicsCritical/) }, Id: 'Target0' }]);
    });

    test('EventBridge may use the topics key without source conditions, which SNS does not support for EventBridge (and the old conditioned grant is gone)', () => {
      const [, key] = one(stackName, 'AWS::KMS::Key', 'StandbyTopicsKey');
      const statements = (key.Properties?.KeyPolicy as { Statement: { Principal?: { Service?: string }; Condition?: unknown }[] }).Statement;
      const events = statements.filter((st) => st.Principal?.Service === 'events.amazonaws.com');
      expect(events.length).toBeGreaterThan(0);
      for (const st of events) expect(st.Condition).toBeUndefined();
    });
  });
});
