/**
 * The trust statement `limitServiceRoleTrust` (lib/service-role-trust.ts)
 * writes: `service` may assume the role only for `sourceArn` of `account`.
 * What the tests of each construct that limits a service role expect.
 */
export function limitedServiceTrustStatement(service: string, account: string, sourceArn: string) {
  return {
    Effect: 'Allow',
    Principal: { Service: service },
    Action: 'sts:AssumeRole',
    Condition: {
      StringEquals: { 'aws:SourceAccount': account },
      ArnLike: { 'aws:SourceArn': sourceArn },
    },
  };
}
