import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ApiFailover } from '../constructs/api-failover';
import { testApp } from './support/synthesize';

describe('ApiFailover', () => {
  const stack = new Stack(testApp(), 'Api', { env: { account: '111111111111', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'LoadBalancer', { vpc, internetFacing: true });
  const targetGroup = (id: string) => new elbv2.ApplicationTargetGroup(stack, id, { vpc, port: 8000, targetType: elbv2.TargetType.IP });
  const blue = targetGroup('Blue');
  const green = targetGroup('Green');
  loadBalancer.addListener('Listener', { port: 80, defaultTargetGroups: [blue] }).addTargetGroups('Green', { targetGroups: [green], priority: 1, conditions: [elbv2.ListenerCondition.pathPatterns(['/g'])] });
  new ApiFailover(stack, 'ApiFailover', {
    zone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z123', zoneName: 'example.com' }),
    recordName: 'api.example.com',
    loadBalancer,
    targetGroups: { blue, green },
    alarmNamePrefix: 'Test-api-',
    alarmTopic: new sns.Topic(stack, 'Critical'),
    environment: 'test',
  });
  const template = Template.fromStack(stack);

  test('can be created with one no-healthy-target alarm per colour, missing data breaching', () => {
    for (const colour of ['Blue', 'Green']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `Test-api-NoHealthyTargets-${colour}`,
        MetricName: 'HealthyHostCount',
        Statistic: 'Minimum',
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        EvaluationPeriods: 3,
        TreatMissingData: 'breaching',
      });
    }
  });

  test('pages through a composite alarm only when neither colour has a healthy target', () => {
    const [composite] = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm'));
    expect(JSON.stringify(composite.Properties.AlarmRule)).toMatch(/^\{"Fn::Join":\["",\["\(ALARM\(\\"",\{"Fn::GetAtt":\["ApiFailoverNoHealthyTargetsBlue.*"\\"\) AND ALARM\(\\"",\{"Fn::GetAtt":\["ApiFailoverNoHealthyTargetsGreen/);
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmName: 'Test-api-NoHealthyTargets',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Critical') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('^Critical') }],
    });
  });

  test('is the PRIMARY record of the api name, healthy while one colour alarm is OK', () => {
    template.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'api.example.com.', Type: 'A', Failover: 'PRIMARY', HealthCheckId: Match.anyValue() });
    template.hasResourceProperties('AWS::Route53::HealthCheck', { HealthCheckConfig: Match.objectLike({ Type: 'CALCULATED', HealthThreshold: 1 }) });
  });
});
