import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { failedOverCheck, readMarker, writeMarker } from '../../lib/ops/dr/marker';
import { ExitCode } from '../../lib/ops/exit-codes';
import { newWorld, wireWorld } from './dr-fixtures';
import { awsError, harness } from './helpers';

const MARKER = { environment: 'production', failedOverAt: '2025-06-01T10:00:00.000Z', by: 'arn:aws:sts::222222222222:assumed-role/Operator/alice', mode: 'recovery' as const, executionId: 'exec1' };

function setup(marker?: string) {
  const h = harness('production');
  const world = newWorld('production');
  wireWorld(h, world);
  world.marker = marker;
  return { h, world };
}

describe('the failed-over marker', () => {
  test('absent: deploys may go ahead; it is read in the standby region only', async () => {
    const { h } = setup();
    expect(await failedOverCheck(h.ctx, { allowWhileFailedOver: false })).toEqual({ ok: true, detail: 'not failed over (/bodyscript/production/dr/failed-over (us-west-2) absent)' });
    expect(h.mocks.standby.ssm.commandCalls(GetParameterCommand)[0].args[0].input).toEqual({ Name: '/bodyscript/production/dr/failed-over' });
    expect(h.mocks.primary.ssm.calls()).toHaveLength(0);
  });

  test('present: deploys are refused with who failed over, when, and the way out', async () => {
    const { h } = setup(JSON.stringify(MARKER));
    const check = await failedOverCheck(h.ctx, { allowWhileFailedOver: false });
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('failed over to the standby since 2025-06-01T10:00:00.000Z (recovery, by arn:aws:sts::222222222222:assumed-role/Operator/alice, Region switch execution exec1)');
    expect(check.detail).toContain('npm run ops -- dr failback --env production');
    expect(check.detail).toContain('have a code owner approve the override job');
  });

  test('present but overridden by the approved override: allowed, and the message says so', async () => {
    const { h } = setup(JSON.stringify(MARKER));
    expect(await failedOverCheck(h.ctx, { allowWhileFailedOver: true })).toEqual({ ok: true, detail: expect.stringContaining('deploying anyway: allowed by an approved override') });
  });

  test('present with content nobody can parse: still failed over (its presence is what counts)', async () => {
    const { h } = setup('failed over by hand');
    const check = await failedOverCheck(h.ctx, { allowWhileFailedOver: false });
    expect(check).toMatchObject({ ok: false, detail: expect.stringContaining('marker present, unreadable content: "failed over by hand"') });
  });

  test.each([
    ['access denied', awsError('AccessDeniedException', 'not authorized to perform ssm:GetParameter'), 'access-denied'],
    ['the standby region unreachable', Object.assign(new Error('getaddrinfo ENOTFOUND ssm.us-west-2.amazonaws.com'), { name: 'NetworkingError', code: 'ENOTFOUND' }), 'network'],
  ])('unreadable (%s): the check fails closed with exit 4, never "not failed over"', async (_case, error, kind) => {
    const { h } = setup();
    h.mocks.standby.ssm.on(GetParameterCommand).rejects(error);
    await expect(failedOverCheck(h.ctx, { allowWhileFailedOver: false })).rejects.toMatchObject({ kind, exitCode: ExitCode.AWS_ERROR });
  });

  test('writing refuses to replace an existing marker unless told to (SSM refuses an overwrite without Overwrite)', async () => {
    const { h, world } = setup(JSON.stringify(MARKER));
    await expect(writeMarker(h.ctx, { ...MARKER, executionId: 'exec2' }, false)).rejects.toMatchObject({ message: expect.stringContaining('ParameterAlreadyExists') });
    await writeMarker(h.ctx, { ...MARKER, executionId: 'exec2' }, true);
    expect(JSON.parse(world.marker!).executionId).toBe('exec2');
    expect(await readMarker(h.ctx)).toMatchObject({ present: true, marker: { executionId: 'exec2' } });
  });
});
