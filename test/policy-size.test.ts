import { oversizedPolicies, policySizeBound, POLICY_SIZE_QUOTAS, INTRINSIC_VALUE_BOUND, ROLE_INLINE_POLICIES_QUOTA, ROLE_TRUST_POLICY_QUOTA } from '../lib/validation/policy-size';
import { stacks, templateJson } from './support/assembly';

/**
 * AWS refuses a policy document over its size quota when CloudFormation
 * creates or updates it, after everything before it in the stack has
 * deployed; nothing at synth time checks it (lib/validation/policy-size.ts).
 * The operations role's managed policy is the closest: 5,513 of 6,144
 * characters in production on 2026-12-02.
 */

/** A document of exactly `size` characters without white space: {"Version":"2012-10-17","Statement":[{"Sid":"xx…"}]}. */
function documentOfSize(size: number): object {
  const empty = policySizeBound({ Version: '2012-10-17', Statement: [{ Sid: '' }] });
  return { Version: '2012-10-17', Statement: [{ Sid: 'x'.repeat(size - empty) }] };
}

describe('policySizeBound', () => {
  test('counts a literal document exactly, as IAM does: its JSON without white space', () => {
    const document = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::bucket/*' }] };
    expect(policySizeBound(document)).toBe(JSON.stringify(document).length);
    expect(policySizeBound(JSON.stringify(document, null, 2))).toBe(JSON.stringify(document).length);
    expect(policySizeBound(documentOfSize(6144))).toBe(6144);
  });

  test('an intrinsic function counts as the longest value it may resolve to, quoted', () => {
    const literal = policySizeBound({ Resource: '' });
    expect(policySizeBound({ Resource: { 'Fn::GetAtt': ['Role', 'Arn'] } })).toBe(literal + INTRINSIC_VALUE_BOUND);
    expect(policySizeBound({ Resource: { 'Fn::GetStackOutput': { StackName: 'S', OutputName: 'O', RoleArn: 'r' } } })).toBe(literal + INTRINSIC_VALUE_BOUND);
    expect(policySizeBound({ Resource: { Ref: 'AWS::AccountId' } })).toBe(literal + 12);
    expect(policySizeBound({ Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::b']] } })).toBe(literal + 'arn:'.length + 10 + ':s3:::b'.length);
    expect(policySizeBound({ Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${Bucket}/*' } })).toBe(literal + 'arn::s3:::/*'.length + 2 * INTRINSIC_VALUE_BOUND);
    expect(policySizeBound({ Resource: { 'Fn::If': ['C', 'short', 'a-longer-value'] } })).toBe(literal + 'a-longer-value'.length);
  });
});

describe('oversizedPolicies', () => {
  const managed = (size: number) => ({ Resources: { Policy: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: documentOfSize(size) } } } });

  test('a managed policy of 6,144 characters is accepted, one of 6,145 is what IAM refuses', () => {
    expect(oversizedPolicies(managed(6144))).toEqual([]);
    expect(oversizedPolicies(managed(6145))).toEqual([{ logicalId: 'Policy', what: POLICY_SIZE_QUOTAS['AWS::IAM::ManagedPolicy'].what, size: 6145, quota: 6144 }]);
  });

  test('the inline policies of one role count together, whichever resource carries them', () => {
    const half = Math.ceil(ROLE_INLINE_POLICIES_QUOTA / 2) + 1;
    const template = {
      Resources: {
        Role: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: documentOfSize(100), Policies: [{ PolicyName: 'own', PolicyDocument: documentOfSize(half) }] } },
        Other: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: documentOfSize(100) } },
        Default: { Type: 'AWS::IAM::Policy', Properties: { Roles: [{ Ref: 'Role' }, { Ref: 'Other' }], PolicyDocument: documentOfSize(half) } },
      },
    };
    expect(oversizedPolicies(template)).toEqual([{ logicalId: 'Role', what: expect.stringContaining('inline'), size: 2 * half, quota: ROLE_INLINE_POLICIES_QUOTA }]);
  });

  test("a role's trust policy over the default quota is refused (a new account has the default)", () => {
    const template = { Resources: { Role: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: documentOfSize(ROLE_TRUST_POLICY_QUOTA + 1) } } } };
    expect(oversizedPolicies(template).map((f) => f.what)).toEqual([expect.stringContaining('trust policy')]);
  });

  test.each(Object.entries(POLICY_SIZE_QUOTAS))('%s over its quota is found', (type, { property, quota }) => {
    const template = { Resources: { Resource: { Type: type, Properties: { [property]: documentOfSize(quota + 1) } } } };
    expect(oversizedPolicies(template)).toEqual([expect.objectContaining({ logicalId: 'Resource', size: quota + 1, quota })]);
  });
});

describe('on the real assembly', () => {
  test('no policy of any stack is over the size AWS accepts', () => {
    const found = stacks().flatMap((stack) => oversizedPolicies(templateJson(stack.displayName)).map((f) => `${stack.displayName} ${f.logicalId}: ${f.what}, ${f.size} of ${f.quota}`));
    expect(found).toEqual([]);
  });

  test("a policy without intrinsics is measured exactly: the operations role's managed policy, the largest of the app", () => {
    const operations = stacks()
      .filter((stack) => stack.displayName.endsWith('-Operations'))
      .map((stack) => Object.entries(templateJson(stack.displayName).Resources).find(([id, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && id.startsWith('OperationsRolePolicy'))!);
    expect(operations).toHaveLength(2);
    for (const [, policy] of operations) {
      const document = policy.Properties!.PolicyDocument;
      expect(JSON.stringify(document)).not.toMatch(/"(Ref|Fn::[A-Za-z]+)":/);
      expect(policySizeBound(document)).toBe(JSON.stringify(document).length);
    }
  });
});
