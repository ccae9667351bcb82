import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as route53 from 'aws-cdk-lib/aws-route53';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { describeAlarm, missingData } from '../lib/alarm-description';
import { acknowledge } from '../lib/compliance';
import { FailoverRecord } from './failover-record';

/**
 * Properties of an ApiFailover.
 */
export interface ApiFailoverProps {
  readonly zone: route53.IHostedZone;
  /** The api's name, e.g. `api.bodyscript.example` (CloudFront connects to it; its certificate covers it). */
  readonly recordName: string;
  /** The primary api's load balancer. */
  readonly loadBalancer: elbv2.ILoadBalancerV2;
  /** Its blue and green target groups. */
  readonly targetGroups: { readonly blue: elbv2.IApplicationTargetGroup; readonly green: elbv2.IApplicationTargetGroup };
  /** Prefix of the alarm names, e.g. `BodyScript-Staging-api-`. */
  readonly alarmNamePrefix: string;
  /** Topic that pages people when neither colour has a healthy target. */
  readonly alarmTopic: sns.ITopic;
  /** The environment, for the commands in the alarm description. */
  readonly environment: string;
}

/**
 * The PRIMARY half of the api's Route 53 failover pair (the standby stack holds
 * the SECONDARY): PRIMARY while the api has a healthy target in this region.
 * The health check reads alarms instead of requesting the load balancer: the
 * listener accepts only CloudFront (prefix list plus the origin header), which
 * Route 53 health checkers are not. One alarm per colour (one colour is always
 * empty between deployments), a composite that pages when both are.
 */
export class ApiFailover extends Construct {
  public readonly record: FailoverRecord;
  /** In ALARM when neither target group has a healthy target: the api is down in this region. */
  public readonly apiDown: cloudwatch.CompositeAlarm;

  constructor(scope: Construct, id: string, props: ApiFailoverProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    const noHealthyTargets = (colour: 'Blue' | 'Green', targetGroup: elbv2.IApplicationTargetGroup) => {
      const alarm = new cloudwatch.Alarm(this, `NoHealthyTargets${colour}`, {
        alarmName: `${props.alarmNamePrefix}NoHealthyTargets-${colour}`,
        alarmDescription: describeAlarm({
          what: `The api's ${colour.toLowerCase()} target group has had no healthy target for 3 minutes (normal for the colour not in service, so one of the pair is always in ALARM).`,
          action: `Route 53 moves ${props.recordName} to the standby region when neither colour has one.`,
          missingData: missingData(cloudwatch.TreatMissingData.BREACHING, 'A target group without registered targets publishes no HealthyHostCount: that is no healthy target.'),
          runbook: 'runbooks/disaster-recovery.md',
        }),
        metric: targetGroup.metrics.healthyHostCount({ statistic: cloudwatch.Stats.MINIMUM, period: Duration.minutes(1) }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      acknowledge(
        alarm,
        ['NIST.800.53.R5-CloudWatchAlarmAction', 'HIPAA.Security-CloudWatchAlarmAction', 'cdk-validator-cfnguard::cloudwatch_alarm_action_check'],
        'One colour of a blue/green pair is always without targets, so this alarm alone is no incident: Route 53 reads it for DNS failover, and people are paged by the composite alarm when both colours have no healthy target.',
      );
      return alarm;
    };
    const failoverAlarms = [noHealthyTargets('Blue', props.targetGroups.blue), noHealthyTargets('Green', props.targetGroups.green)];
    this.apiDown = new cloudwatch.CompositeAlarm(this, 'NoHealthyTargets', {
      compositeAlarmName: `${props.alarmNamePrefix}NoHealthyTargets`,
      alarmDescription: `Neither api target group has a healthy target: the api is down in ${region}, and Route 53 answers ${props.recordName} with the standby region's load balancer (which serves only after 'npm run ops -- dr failover --env ${props.environment}'). Decide on a failover. Runbook: runbooks/disaster-recovery.md`,
      alarmRule: cloudwatch.AlarmRule.allOf(...failoverAlarms.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
    });
    this.apiDown.addAlarmAction(new actions.SnsAction(props.alarmTopic));
    this.apiDown.addOkAction(new actions.SnsAction(props.alarmTopic));
    this.record = new FailoverRecord(this, 'Record', {
      zone: props.zone,
      recordName: props.recordName,
      role: 'PRIMARY',
      loadBalancer: props.loadBalancer,
      healthCheckAlarms: failoverAlarms,
    });
  }
}
