import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { FREE_STORAGE_PAGE_SHARE, RDS_AUTOSCALING_FREE_SHARE } from '../constructs/data-alarms';
import { REPLICA_LAG_ALARM_SECONDS, StandbyAlarms } from '../constructs/standby-alarms';
import { LOW_TRAFFIC_RULE } from '../lib/low-traffic';
import { firstAlarm, readAlarms, type ServiceWorld, simulate, trafficWorld } from './support/alarm-simulation';
import { testApp } from './support/synthesize';

describe('StandbyAlarms', () => {
  const stack = new Stack(testApp(), 'Standby', { env: { account: '111111111111', region: 'us-west-2' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const target = (id: string) => {
    const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, `${id}LoadBalancer`, { vpc });
    const targetGroup = new elbv2.ApplicationTargetGroup(stack, `${id}Targets`, { vpc, port: 8000, targetType: elbv2.TargetType.IP });
    loadBalancer.addListener(`${id}Listener`, { port: 80, defaultTargetGroups: [targetGroup] });
    return { loadBalancer, targetGroup };
  };
  const topic = new sns.Topic(stack, 'Critical');
  const warning = new sns.Topic(stack, 'Warning');
  const GIB = 1024 ** 3;
  const alarms = new StandbyAlarms(stack, 'Alarms', {
    alarmNamePrefix: 'Test-Standby-',
    replicaInstanceIdentifier: 'test-postgres-replica',
    replicaStorage: { allocatedStorageGiB: 100, maxAllocatedStorageGiB: 1000 },
    warningTopic: warning,
    services: { api: target('Api'), processing: target('Processing') },
    servicesWithoutRequests: ['processing'],
    alarmTopic: topic,
    processingQueues: {
      queue: new sqs.Queue(stack, 'Queue'),
      deadLetterQueue: new sqs.Queue(stack, 'DeadLetterQueue'),
      clusterName: 'test-cluster',
      serviceName: 'test-processing',
      retention: Duration.hours(2),
    },
    apiWebAclName: 'test-api',
    environment: 'test',
    runbook: 'runbooks/disaster-recovery.md',
  });
  const template = Template.fromStack(stack);

  test('can be created with a replica-lag alarm an idle primary never fires, which treats missing data as breaching (replication stopped)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Standby-Database-ReplicaLag',
      MetricName: 'ReplicaLag',
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'test-postgres-replica' }],
      Statistic: 'Minimum',
      Threshold: REPLICA_LAG_ALARM_SECONDS,
      EvaluationPeriods: 10,
      DatapointsToAlarm: 10,
      TreatMissingData: 'breaching',
    });
  });

  test("pages when the replica's free storage falls below 5% of its first allocation, which its own autoscaling (at 10%) never reaches, and a stopped replica pages too", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Standby-Database-FreeStorageLow',
      Namespace: 'AWS/RDS',
      MetricName: 'FreeStorageSpace',
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'test-postgres-replica' }],
      Statistic: 'Minimum',
      Threshold: 100 * FREE_STORAGE_PAGE_SHARE * GIB,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(FREE_STORAGE_PAGE_SHARE).toBeLessThan(RDS_AUTOSCALING_FREE_SHARE);
  });

  test("warns (warning topic) when the replica's free storage stays below its autoscaling trigger for 30 minutes: autoscaling is not growing it", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Standby-Database-StorageNotGrowing',
      MetricName: 'FreeStorageSpace',
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'test-postgres-replica' }],
      Threshold: 100 * RDS_AUTOSCALING_FREE_SHARE * GIB,
      Period: 600,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: stack.getLogicalId(warning.node.defaultChild as sns.CfnTopic) }],
    });
  });

  test('watches the api as users see it (load balancer 5xx included, requests with no healthy target), and every service for unhealthy targets, silent without traffic or targets', () => {
    expect(alarms.serviceAlarms).toHaveLength(4);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Standby-api-5xxRate',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF((rate >= 100 || bad >= 3), rate, 0)', ReturnData: true }), Match.objectLike({ Id: 'rate', Expression: '100 * bad / (requests + elb5xx)' })]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Test-Standby-api-NoHealthyTargetForRequests', TreatMissingData: 'notBreaching' });
    for (const service of ['api', 'processing']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `Test-Standby-${service}-UnhealthyHosts`, MetricName: 'UnHealthyHostCount', Statistic: 'Minimum', TreatMissingData: 'notBreaching' });
    }
  });

  test('the api 5xx rate counts a minute by the low-traffic rule: one 5xx of the 2 requests a minute after a failover at night never pages, every request failing at one a minute does (the CloudWatch evaluation model)', () => {
    const rate = readAlarms('Standby', template.toJSON().Resources).find((a) => a.name === 'Test-Standby-api-5xxRate')!;
    const fires = (requests: number, bad: (m: number) => number) => firstAlarm(simulate(rate, trafficWorld({ requests: () => requests, bad }), { publicationDelayMinutes: 1, from: 0, to: 240 }));
    expect(fires(2, () => 1)).toBeUndefined();
    expect(fires(10, () => 2)).toBeUndefined();
    expect(fires(1, (m) => (m >= 0 ? 1 : 0))).toBeLessThanOrEqual(6);
    expect(fires(59, (m) => (m >= 0 ? 3 : 0))).toBeLessThanOrEqual(6);
    const description = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: 'Test-Standby-api-5xxRate' } }))[0].Properties.AlarmDescription as string;
    expect(description).toContain(LOW_TRAFFIC_RULE);
  });

  test('the worker, whose load balancer only serves health checks, has no request-based alarm', () => {
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmName as string);
    expect(names.filter((n) => n.startsWith('Test-Standby-processing-'))).toEqual(['Test-Standby-processing-UnhealthyHosts']);
  });

  test('fails when a service without requests is not one of the services', () => {
    const other = new Stack(testApp(), 'Other', { env: { account: '111111111111', region: 'us-west-2' } });
    expect(
      () =>
        new StandbyAlarms(other, 'Alarms', {
          alarmNamePrefix: 'Test-Standby-',
          replicaInstanceIdentifier: 'r',
          replicaStorage: { allocatedStorageGiB: 20, maxAllocatedStorageGiB: 100 },
          services: {},
          servicesWithoutRequests: ['worker'],
          alarmTopic: new sns.Topic(other, 'T'),
          environment: 'test',
          runbook: 'runbooks/disaster-recovery.md',
        }),
    ).toThrow(/servicesWithoutRequests names 'worker', which is not one of the services/);
  });

  describe('the standby queues (review R11), by the CloudWatch evaluation model (test/support)', () => {
    const alarm = (name: string) => readAlarms('Standby', template.toJSON().Resources).find((a) => a.name === name)!;
    const quiet: Omit<ServiceWorld, 'metrics'> = { requestsPerMinute: 0, behaviour: () => 'healthy', targets: () => ({ blue: { healthy: 0, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } }), failedTasks: () => 0, canaryRuns: () => [] };
    const fires = (name: string, metrics: ServiceWorld['metrics']) => firstAlarm(simulate(alarm(name), { ...quiet, metrics }, { publicationDelayMinutes: 1, from: 0, to: 240 }));
    const minutes = (n: number) => n * 60;

    test('a message the standby worker dead-lettered warns at once, and the warning topic hears it', () => {
      expect(fires('Test-Standby-Processing-DeadLetterQueueNotEmpty', { 'AWS/SQS/ApproximateNumberOfMessagesVisible': (m) => [m >= 10 ? 1 : 0] })).toBeLessThanOrEqual(12);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Test-Standby-Processing-DeadLetterQueueNotEmpty', TreatMissingData: 'ignore', AlarmActions: [{ Ref: stack.getLogicalId(warning.node.defaultChild as sns.CfnTopic) }] });
    });

    test('replicated uploads waiting while the pilot light runs no worker never warn; the same wait while workers run does, before SQS drops them at two hours', () => {
      const waiting = { 'AWS/SQS/ApproximateAgeOfOldestMessage': (m: number) => [Math.min(minutes(119), minutes(100) + m * 60)] };
      expect(fires('Test-Standby-Processing-QueueBehind', { ...waiting, 'ECS/ContainerInsights/RunningTaskCount': () => [0] })).toBeUndefined();
      expect(fires('Test-Standby-Processing-QueueBehind', { ...waiting, 'ECS/ContainerInsights/RunningTaskCount': () => [2] })).toBeLessThanOrEqual(20);
      // A worker keeping up (minutes-old messages) is quiet.
      expect(fires('Test-Standby-Processing-QueueBehind', { 'AWS/SQS/ApproximateAgeOfOldestMessage': () => [minutes(4)], 'ECS/ContainerInsights/RunningTaskCount': () => [2] })).toBeUndefined();
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Test-Standby-Processing-QueueBehind', Threshold: minutes(90) });
    });
  });

  test('a surge of requests the standby api web ACL blocks warns, read in the standby region (review R11)', () => {
    const surge = readAlarms('Standby', template.toJSON().Resources).find((a) => a.name === 'Test-Standby-Api-WebAcl-BlockedRequestsSurge')!;
    expect(surge.queries[0].metric).toMatchObject({ namespace: 'AWS/WAFV2', metricName: 'BlockedRequests', dimensions: { WebACL: 'test-api', Rule: 'ALL', Region: 'us-west-2' }, stat: 'Sum', period: 300 });
    const quiet: Omit<ServiceWorld, 'metrics'> = { requestsPerMinute: 0, behaviour: () => 'healthy', targets: () => ({ blue: { healthy: 0, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } }), failedTasks: () => 0, canaryRuns: () => [] };
    const fires = (blocked: (m: number) => number) => firstAlarm(simulate(surge, { ...quiet, metrics: { 'AWS/WAFV2/BlockedRequests': (m) => [blocked(m)] } }, { publicationDelayMinutes: 1, from: 0, to: 120 }));
    expect(fires((m) => (m >= 0 ? 400 : 1))).toBeLessThanOrEqual(15);
    expect(fires(() => 30)).toBeUndefined();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Test-Standby-Api-WebAcl-BlockedRequestsSurge', AlarmActions: [{ Ref: stack.getLogicalId(warning.node.defaultChild as sns.CfnTopic) }] });
  });

  test('pages the standby topic on ALARM and OK, every alarm but the storage, queue and web ACL warnings', () => {
    const warnings = ['Test-Standby-Database-StorageNotGrowing', 'Test-Standby-Processing-DeadLetterQueueNotEmpty', 'Test-Standby-Processing-QueueBehind', 'Test-Standby-Api-WebAcl-BlockedRequestsSurge'];
    const all = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) => !warnings.includes(a.Properties.AlarmName as string));
    expect(all).toHaveLength(6);
    for (const alarm of all) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: [{ Ref: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic) }], OKActions: [{ Ref: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic) }] });
    }
  });
});
