import { runFailback } from '../../lib/ops/dr/failback';
import { ExitCode } from '../../lib/ops/exit-codes';
import { harness } from './helpers';

describe('ops dr failback', () => {
  test('prints ordered guidance with the real names and makes no AWS call', () => {
    const h = harness('production');
    const result = runFailback(h.ctx);
    expect(result.exitCode).toBe(ExitCode.OK);
    const text = h.out.text();
    expect(text).toContain('Failback of production: us-west-2 → us-east-1. Guidance only: this command changes nothing.');
    expect(text).toContain('--source-db-instance-identifier arn:aws:rds:us-west-2:222222222222:db:bodyscript-production-postgres-replica');
    expect(text).toContain('npx cdk deploy BodyScript-Production-Standby');
    expect(text).toContain('bodyscript-production-uploads-222222222222-us-west-2');
    // Ordered: replication is re-established before the promotion back, which comes before traffic moves back.
    const order = ['Re-establish replication', 'Promote the replica in us-east-1', 'Move traffic back', 'Recreate the standby replica'].map((s) => text.indexOf(s));
    expect(order.every((pos, i) => pos > 0 && (i === 0 || pos > order[i - 1]))).toBe(true);
    for (const mock of [...Object.values(h.mocks.primary), ...Object.values(h.mocks.standby), h.mocks.route53, h.mocks.sts]) expect(mock.calls()).toHaveLength(0);
  });
});
