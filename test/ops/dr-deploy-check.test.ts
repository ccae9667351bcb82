import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { loadConfig } from '../../lib/config';
import { parseArgs, runCli } from '../../lib/ops/cli';
import { runDeployCheck } from '../../lib/ops/dr/deploy-check';
import { ExitCode } from '../../lib/ops/exit-codes';
import { newWorld, wireWorld } from './dr-fixtures';
import { awsError, commandNames, FAST_RETRY, harness } from './helpers';

const MARKER = JSON.stringify({ environment: 'production', failedOverAt: '2025-06-01T10:00:00.000Z', by: 'arn:aws:sts::222222222222:assumed-role/Operator/alice', mode: 'recovery', executionId: 'exec1' });

function setup(marker?: string) {
  const h = harness('production');
  const world = newWorld('production');
  wireWorld(h, world);
  world.marker = marker;
  // The primary region is down: every call there fails, as in the outage a failover is for.
  const outage = Object.assign(new Error('connect ETIMEDOUT 3.5.0.1:443'), { name: 'TimeoutError', code: 'ETIMEDOUT' });
  for (const client of Object.values(h.mocks.primary) as { onAnyCommand(): { rejects(error: Error): unknown } }[]) client.onAnyCommand().rejects(outage);
  const deps = { out: h.out, clock: h.clock, retry: FAST_RETRY, createClients: () => h.ctx.clients, loadConfig: () => loadConfig() };
  return { h, world, deps };
}

describe('ops dr deploy-check (the pipeline refuses to deploy while failed over)', () => {
  test('not failed over: exit 0, asked of the standby region only (STS and SSM there), with us-east-1 down', async () => {
    const { h, deps } = setup();
    expect(await runCli(['dr', 'deploy-check', '--env', 'production'], deps)).toBe(ExitCode.OK);
    expect(h.out.lines).toContain('OK    not failed over (/bodyscript/production/dr/failed-over (us-west-2) absent)');
    expect(commandNames(h.mocks.standby.sts)).toEqual(['GetCallerIdentityCommand']);
    expect(h.mocks.standby.ssm.commandCalls(GetParameterCommand)[0].args[0].input).toEqual({ Name: '/bodyscript/production/dr/failed-over' });
    for (const client of Object.values(h.mocks.primary)) expect(client.calls()).toHaveLength(0);
  });

  test('failed over: exit 1, naming since when, by whom, and the two ways out', async () => {
    const { h, deps } = setup(MARKER);
    expect(await runCli(['dr', 'deploy-check', '--env', 'production'], deps)).toBe(ExitCode.UNHEALTHY);
    const line = h.out.lines.find((l) => l.startsWith('FAIL  '));
    expect(line).toContain('failed over to the standby since 2025-06-01T10:00:00.000Z (recovery, by arn:aws:sts::222222222222:assumed-role/Operator/alice, Region switch execution exec1)');
    expect(line).toContain('npm run ops -- dr failback --env production');
    expect(line).toContain('Deploying while failed over');
  });

  test('failed over, overridden with the environment typed again: exit 0, and the output says it was overridden', async () => {
    const { h, deps } = setup(MARKER);
    expect(await runCli(['dr', 'deploy-check', '--env', 'production', '--allow-while-failed-over', '--confirm', 'production'], deps)).toBe(ExitCode.OK);
    expect(h.out.lines.find((l) => l.startsWith('OK    '))).toContain('deploying anyway: allowed by an approved override');
  });

  test('a marker nobody can parse still refuses the deploy', async () => {
    const { h } = setup('failed over by hand during the incident');
    expect((await runDeployCheck(h.ctx, { allowWhileFailedOver: false })).exitCode).toBe(ExitCode.UNHEALTHY);
  });

  test.each([
    ['access denied', awsError('AccessDeniedException', 'User is not authorized to perform: ssm:GetParameter')],
    ['the standby region unreachable', Object.assign(new Error('getaddrinfo ENOTFOUND ssm.us-west-2.amazonaws.com'), { name: 'NetworkingError', code: 'ENOTFOUND' })],
  ])('the marker unreadable (%s): exit 4, never "not failed over"', async (_case, error) => {
    const { h, deps } = setup();
    h.mocks.standby.ssm.on(GetParameterCommand).rejects(error);
    expect(await runCli(['dr', 'deploy-check', '--env', 'production'], deps)).toBe(ExitCode.AWS_ERROR);
    expect(h.out.lines.some((l) => l.startsWith('OK'))).toBe(false);
  });

  test.each([
    [['dr', 'deploy-check', '--env', 'production', '--allow-while-failed-over'], '--allow-while-failed-over needs --confirm production (the environment name typed again)'],
    [['dr', 'deploy-check', '--env', 'production', '--allow-while-failed-over', '--confirm', 'staging'], "--allow-while-failed-over needs --confirm production (the environment name typed again), got 'staging'"],
    [['dr', 'deploy-check', '--env', 'production', '--confirm', 'production'], '--confirm is only used with --allow-while-failed-over'],
  ])('%j → usage error: %s', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });

  test('parses', () => {
    expect(parseArgs(['dr', 'deploy-check', '--env', 'staging'])).toEqual({ name: 'dr deploy-check', env: 'staging', allowWhileFailedOver: false });
    expect(parseArgs(['dr', 'deploy-check', '--env', 'staging', '--allow-while-failed-over', '--confirm', 'staging'])).toEqual({ name: 'dr deploy-check', env: 'staging', allowWhileFailedOver: true });
  });
});
