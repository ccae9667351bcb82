import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import { DeliveryMetrics, type DeliveryMetricsProps } from '../constructs/delivery-metrics';
import { DELIVERY_STEPS } from '../lib/delivery-metrics';
import { testApp } from './support/synthesize';

function setup(overrides: Partial<DeliveryMetricsProps> = {}): { stack: Stack; delivery: DeliveryMetrics } {
  const stack = new Stack(testApp(), 'Delivery', { env: { account: '111111111111', region: 'us-east-1' } });
  const delivery = new DeliveryMetrics(stack, 'Delivery', {
    environment: 'staging',
    alarmName: 'BodyScript-Staging-Delivery-ReleaseOverBudget',
    budgetMinutes: 7.69,
    productTargetMinutes: 8,
    warningTopic: new sns.Topic(stack, 'Warning'),
    ...overrides,
  });
  return { stack, delivery };
}

describe('DeliveryMetrics', () => {
  test('warns when a release took longer than its budget, and treats no release as healthy', () => {
    const template = Template.fromStack(setup().stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Staging-Delivery-ReleaseOverBudget',
      Namespace: 'BodyScript/Delivery',
      MetricName: 'ReleaseDuration',
      Dimensions: [{ Name: 'Environment', Value: 'staging' }],
      Statistic: 'Maximum',
      Threshold: 461,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Warning') }],
    });
    const [alarm] = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarm.Properties.AlarmDescription).toMatch(/Missing data \(notBreaching\): no release in the period publishes nothing, and no release is never over budget\. Runbook: runbooks\/deployment-guide\.md$/);
  });

  test('gives the dashboard a section with the four keys, the release against its budget and every step', () => {
    const { delivery } = setup();
    const graphs = delivery.widgets.filter((w): w is cloudwatch.GraphWidget => w instanceof cloudwatch.GraphWidget);
    const json = JSON.stringify(Stack.of(delivery).resolve(graphs.map((g) => g.toJson())));
    for (const name of ['ReleaseDuration', 'Deployments', 'DeploymentAttempts', 'FailedDeployments', 'LeadTime', 'TimeToRestore', 'StepDuration']) expect(json).toContain(`"${name}"`);
    for (const step of [...Object.keys(DELIVERY_STEPS), 'approvalWait']) expect(json).toContain(`"Step","${step}"`);
    expect(json).toContain('100 * failed / attempts');
  });

  test('fails when the budget is over the product’s figure (the plan would fail too)', () => {
    expect(() => setup({ budgetMinutes: 9 })).toThrow(/budgetMinutes must be more than 0 and at most the product's figure 8, got 9/);
  });
});
