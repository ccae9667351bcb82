import { testApp } from './support/synthesize';
import { Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AlarmTopics } from '../constructs/alarm-topics';
import { template } from './support/assembly';

describe('AlarmTopics in BodyScript-Production-Alerting', () => {
  test.each(['bodyscript-production-critical', 'bodyscript-production-warning'])('%s is KMS-encrypted and mails the on-call address', (name) => {
    const t = template('BodyScript-Production-Alerting');
    t.hasResourceProperties('AWS::SNS::Topic', { TopicName: name, KmsMasterKeyId: { 'Fn::GetAtt': ['TopicsKey9F724072', 'Arn'] } });
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'platform-oncall@bodyscript.example' });
  });

  test('the topics refuse publishing without TLS', () => {
    const policies = JSON.stringify(template('BodyScript-Production-Alerting').findResources('AWS::SNS::TopicPolicy'));
    expect(policies).toContain('"aws:SecureTransport":"false"');
  });

  test('CloudWatch alarms may use the topics key', () => {
    expect(JSON.stringify(template('BodyScript-Production-Alerting').findResources('AWS::KMS::Key'))).toContain('cloudwatch.amazonaws.com');
  });
});

describe('AlarmTopics', () => {
  test('fails when no one would receive the alarms', () => {
    const stack = new Stack(testApp(), 'Test');
    expect(
      () => new AlarmTopics(stack, 'Topics', { topicNames: { critical: 'c', warning: 'w' }, encryptionKey: new kms.Key(stack, 'K'), emails: [] }),
    ).toThrow(/emails must list at least one address/);
  });
});
