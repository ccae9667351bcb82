import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { limitServiceRoleTrust } from '../lib/service-role-trust';
import { testApp } from './support/synthesize';
import { limitedServiceTrustStatement } from './support/service-role-trust';

function stack(): Stack {
  return new Stack(testApp(), 'Roles', { env: { account: '111111111111', region: 'eu-west-1' } });
}

const trustOf = (scope: Stack) => Object.values(Template.fromStack(scope).findResources('AWS::IAM::Role')).map((role) => role.Properties.AssumeRolePolicyDocument.Statement);

describe('limitServiceRoleTrust', () => {
  test('adds aws:SourceAccount and the documented aws:SourceArn of this account and region to the one trust statement, keeping the role', () => {
    const scope = stack();
    const role = new iam.Role(scope, 'ServiceRole', { assumedBy: new iam.ServicePrincipal('codedeploy.amazonaws.com') });
    limitServiceRoleTrust(role, 'codedeploy.amazonaws.com', { resourceName: 'App/Group' });
    expect(trustOf(scope)).toEqual([
      [
        limitedServiceTrustStatement('codedeploy.amazonaws.com', '111111111111', 'arn:aws:codedeploy:eu-west-1:111111111111:deploymentgroup:App/Group'),
      ],
    ]);
    // The same resource: a trust policy is updated in place.
    expect(Object.keys(Template.fromStack(scope).findResources('AWS::IAM::Role'))).toEqual([scope.getLogicalId(role.node.defaultChild as iam.CfnRole)]);
  });

  test('names a flow log with a slash and an RDS instance with a colon, as their ARNs do', () => {
    const scope = stack();
    limitServiceRoleTrust(new iam.Role(scope, 'FlowLogs', { assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com') }), 'vpc-flow-logs.amazonaws.com', { resourceName: '*' });
    limitServiceRoleTrust(new iam.Role(scope, 'Monitoring', { assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com') }), 'monitoring.rds.amazonaws.com', { resourceName: 'db-1' });
    const arns = trustOf(scope).map(([statement]) => statement.Condition.ArnLike['aws:SourceArn']);
    expect(arns).toEqual(['arn:aws:ec2:eu-west-1:111111111111:vpc-flow-log/*', 'arn:aws:rds:eu-west-1:111111111111:db:db-1']);
  });

  test('fails on a role that trusts another service, more than one principal, or already has conditions', () => {
    const scope = stack();
    const lambdaRole = new iam.Role(scope, 'Lambda', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(() => limitServiceRoleTrust(lambdaRole, 'codedeploy.amazonaws.com', { resourceName: 'App/Group' })).toThrow(
      /Roles\/Lambda must trust exactly codedeploy\.amazonaws\.com \(one Allow sts:AssumeRole statement without conditions\)/,
    );
    const shared = new iam.Role(scope, 'Shared', { assumedBy: new iam.CompositePrincipal(new iam.ServicePrincipal('codedeploy.amazonaws.com'), new iam.ServicePrincipal('ecs.amazonaws.com')) });
    expect(() => limitServiceRoleTrust(shared, 'codedeploy.amazonaws.com', { resourceName: 'App/Group' })).toThrow(/must trust exactly codedeploy\.amazonaws\.com/);
    const conditioned = new iam.Role(scope, 'Conditioned', { assumedBy: new iam.ServicePrincipal('codedeploy.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': '111111111111' } } }) });
    expect(() => limitServiceRoleTrust(conditioned, 'codedeploy.amazonaws.com', { resourceName: 'App/Group' })).toThrow(/without conditions/);
  });

  test('fails on an imported role (its trust policy is not in this app) and on a source name that is not a literal', () => {
    const scope = stack();
    const imported = iam.Role.fromRoleName(scope, 'Imported', 'someone-elses-role');
    expect(() => limitServiceRoleTrust(imported, 'vpc-flow-logs.amazonaws.com', { resourceName: '*' })).toThrow(/Roles\/Imported is not a role this app creates/);
    const role = new iam.Role(scope, 'Monitoring', { assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com') });
    expect(() => limitServiceRoleTrust(role, 'monitoring.rds.amazonaws.com', { resourceName: 'db 1' })).toThrow(/must be a literal name or '\*'.*got 'db 1'/);
  });
});
