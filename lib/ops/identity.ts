import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { OpsError } from './aws-errors';
import { awsCall, type OpsContext, type Side } from './context';

/**
 * Asks STS who we are before anything else. This turns missing credentials
 * into a clear error at the first line, and refuses to run against the wrong
 * account: credentials for another account would otherwise find no alarms and
 * no deployments, which could read as "healthy".
 */
export async function checkIdentity(ctx: OpsContext, side: Side): Promise<string> {
  const expected = ctx.config[side].account;
  // The STS of the side's own region: in an outage of the primary region its STS is the endpoint to avoid.
  const identity = await awsCall(ctx, side, 'sts:GetCallerIdentity', `caller identity (STS in ${ctx.config[side].region})`, () =>
    ctx.clients[side].sts.send(new GetCallerIdentityCommand({})),
  );
  if (identity.Account !== expected) {
    throw new OpsError(
      'credentials',
      `the current credentials (${identity.Arn ?? 'unknown principal'}) are for account ${identity.Account ?? 'unknown'}, ` +
        `but ${ctx.env} ${side} lives in account ${expected}: switch AWS_PROFILE to a role of account ${expected} and run again`,
    );
  }
  ctx.progress.log(`acting as ${identity.Arn} in account ${identity.Account}`);
  return identity.Arn ?? '';
}
