import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { REPLICA_LAG_ALARM_SECONDS, StandbyAlarms } from '../constructs/standby-alarms';
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
  const alarms = new StandbyAlarms(stack, 'Alarms', {
    alarmNamePrefix: 'Test-Standby-',
    replicaInstanceIdentifier: 'test-postgres-replica',
    services: { api: target('Api'), processing: target('Processing') },
    alarmTopic: topic,
    environment: 'test',
    runbook: 'runbooks/disaster-recovery.md',
  });
  const template = Template.fromStack(stack);

  test('can be created with a replica-lag alarm that treats missing data as breaching (replication stopped)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Standby-Database-ReplicaLag',
      MetricName: 'ReplicaLag',
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'test-postgres-replica' }],
      Threshold: REPLICA_LAG_ALARM_SECONDS,
      TreatMissingData: 'breaching',
    });
  });

  test('watches each service for a 5xx rate and unhealthy targets, silent without traffic or targets', () => {
    expect(alarms.serviceAlarms).toHaveLength(4);
    for (const service of ['api', 'processing']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `Test-Standby-${service}-5xxRate`, EvaluationPeriods: 5, DatapointsToAlarm: 5, TreatMissingData: 'notBreaching' });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `Test-Standby-${service}-UnhealthyHosts`, MetricName: 'UnHealthyHostCount', TreatMissingData: 'notBreaching' });
    }
  });

  test('pages the standby topic on ALARM and OK, every alarm', () => {
    const all = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(all).toHaveLength(5);
    for (const alarm of all) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: [{ Ref: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic) }], OKActions: [{ Ref: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic) }] });
    }
  });
});
