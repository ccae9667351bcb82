import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ChatbotNotifications, type ChatbotNotificationsProps } from '../constructs/chatbot-notifications';
import { loadConfig } from '../lib/config';
import { AlertingStack } from '../lib/stacks/alerting-stack';
import { testApp } from './support/synthesize';

const slack = { workspaceId: 'T012ABCDEFG', criticalChannelId: 'C012ABCDEFG', warningChannelId: 'C098ZYXWVUT' };

describe('AlertingStack with Slack configured', () => {
  let template: Template;
  let withoutSlack: Template;

  beforeAll(() => {
    const app = testApp();
    const production = loadConfig({}).environments.production;
    const env = { account: production.primary.account, region: production.primary.region };
    const withSlackStack = new AlertingStack(app, 'WithSlack', { env, config: { ...production, slack } });
    const withoutSlackStack = new AlertingStack(app, 'WithoutSlack', { env, config: { ...production, slack: undefined } });
    template = Template.fromStack(withSlackStack);
    withoutSlack = Template.fromStack(withoutSlackStack);
  });

  test('delivers the critical topic to the critical channel and the warning topic to the warning channel', () => {
    template.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 2);
    for (const [severity, channel] of [['Critical', slack.criticalChannelId], ['Warning', slack.warningChannelId]]) {
      template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
        ConfigurationName: `bodyscript-production-${severity.toLowerCase()}`,
        SlackWorkspaceId: slack.workspaceId,
        SlackChannelId: channel,
        SnsTopicArns: [{ Ref: Match.stringLikeRegexp(`^AlarmTopics${severity}`) }],
        LoggingLevel: 'ERROR',
        GuardrailPolicies: [{ Ref: Match.stringLikeRegexp('^ChatbotGuardrail') }],
      });
    }
  });

  test('nobody can change AWS from Slack: the role has no permissions, the guardrail only reads the environment alarms', () => {
    template.resourceCountIs('AWS::IAM::Policy', 0);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'chatbot.amazonaws.com' } })] }),
      ManagedPolicyArns: Match.absent(),
      Policies: Match.absent(),
    });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [{ Action: ['cloudwatch:DescribeAlarmHistory', 'cloudwatch:DescribeAlarms'], Effect: 'Allow', Resource: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':alarm:BodyScript-Production-\\*$')])] } }],
      },
    });
  });

  test('the Chatbot log groups exist beforehand with the configured retention and KMS encryption', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', 2);
    template.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Retain',
      Properties: { LogGroupName: '/aws/chatbot/bodyscript-production-critical', RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TopicsKey'), 'Arn'] } },
    });
    expect(JSON.stringify(template.findResources('AWS::KMS::Key'))).toContain('AllowCloudWatchLogs');
  });

  test('without Slack there is no Chatbot, and the topics key is not opened to CloudWatch Logs', () => {
    withoutSlack.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
    withoutSlack.resourceCountIs('AWS::Logs::LogGroup', 0);
    expect(JSON.stringify(withoutSlack.findResources('AWS::KMS::Key'))).not.toContain('AllowCloudWatchLogs');
  });
});

describe('ChatbotNotifications fails when', () => {
  function props(overrides: Partial<ChatbotNotificationsProps>): [Stack, ChatbotNotificationsProps] {
    const stack = new Stack(testApp(), 'S', { env: { account: '111111111111', region: 'us-east-1' } });
    const topic = new sns.Topic(stack, 'T');
    return [
      stack,
      {
        namePrefix: 'bodyscript-staging',
        workspaceId: slack.workspaceId,
        channelIds: { critical: slack.criticalChannelId, warning: slack.warningChannelId },
        topics: { critical: topic, warning: topic },
        alarmNamePrefix: 'BodyScript-Staging-',
        logKey: new kms.Key(stack, 'K'),
        logRetention: logs.RetentionDays.ONE_YEAR,
        ...overrides,
      },
    ];
  }
  test('the workspace id is not one', () => {
    const [stack, p] = props({ workspaceId: 'workspace' });
    expect(() => new ChatbotNotifications(stack, 'C', p)).toThrow(/workspaceId must be a Slack workspace id such as T012ABCDEFG, got 'workspace'/);
  });
  test('a channel id is not one', () => {
    const [stack, p] = props({ channelIds: { critical: '#alerts', warning: slack.warningChannelId } });
    expect(() => new ChatbotNotifications(stack, 'C', p)).toThrow(/channelIds.critical must be a Slack channel id/);
  });
});
