// @ts-check
'use strict';
/**
 * The origin-verify header's life: who may write its value where.
 *
 * CloudFront adds the header to every api request, and each region's api
 * load balancer forwards only requests that carry an accepted value. The
 * value is a Secrets Manager secret (replicated to the standby region), and
 * the secret's version stages are the single source of truth:
 *
 * - CloudFront sends AWSCURRENT. Its template reads it with a dynamic
 *   reference, which CloudFormation re-reads only when the distribution is
 *   updated for another reason: whatever it writes then is the current value.
 * - A listener rule accepts AWSCURRENT and, while a rotation runs,
 *   AWSPENDING (and during setSecret whatever CloudFront sends right now).
 *   The rule is not a CloudFormation resource: `onEvent`, the handler of
 *   `Custom::OriginVerifyRule`, creates it and on every stack update rewrites
 *   only its conditions from the stages. So no deploy narrows a rule in the
 *   middle of a rotation, and none rewrites the rule's forward action, which
 *   CodeDeploy moves between the blue and green target groups.
 * - `rotate` is the secret's rotation function (Secrets Manager calls it with
 *   createSecret, setSecret, testSecret, finishSecret):
 *     createSecret  a new random value as AWSPENDING;
 *     setSecret     both regions' rules accept old and new, then CloudFront
 *                   sends the new value (UpdateDistribution with the ETag);
 *     testSecret    both rules accept it, CloudFront's configuration has it,
 *                   and the distribution is Deployed (every edge sends it);
 *     finishSecret  checks that again, moves AWSCURRENT to the new version,
 *                   then both rules accept only the new value.
 *   Until finishSecret both values are accepted everywhere, so no request
 *   gets the listener's 403 at any point; a step that fails leaves both
 *   accepted, and the next rotation attempt resumes.
 *
 * The AWS SDK v3 clients come from the Lambda Node.js runtime. Everything the
 * handlers call goes through `deps`, which the tests
 * (test/origin-verify-handler.test.ts) build around mocked clients that
 * refuse what the services refuse.
 */
const { randomBytes } = require('node:crypto');
const secretsManager = require('@aws-sdk/client-secrets-manager');
const elbv2 = require('@aws-sdk/client-elastic-load-balancing-v2');
const cloudfront = require('@aws-sdk/client-cloudfront');

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';

/** Length of a generated value (letters and digits only: any header and ALB condition accepts them). */
const VALUE_LENGTH = 48;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** An ALB http-header condition takes at most three values (match evaluations per condition). */
const MAX_CONDITION_VALUES = 3;

/**
 * @typedef {{ region: string, name: string, port: number }} LoadBalancerRef
 *   An api load balancer by region and name, and the port of its production listener.
 * @typedef {{ headerName: string, distributionId: string, loadBalancers: LoadBalancerRef[] }} RotationConfig
 * @typedef {{
 *   secrets: import('@aws-sdk/client-secrets-manager').SecretsManagerClient,
 *   elb: (region: string) => import('@aws-sdk/client-elastic-load-balancing-v2').ElasticLoadBalancingV2Client,
 *   cloudFront: import('@aws-sdk/client-cloudfront').CloudFrontClient,
 *   sleep: (ms: number) => Promise<void>,
 *   remainingMs: () => number,
 *   log: (line: string) => void,
 * }} Deps
 */

/** A random value of VALUE_LENGTH letters and digits (rejection sampling: no bias). */
function newValue() {
  let value = '';
  while (value.length < VALUE_LENGTH) {
    for (const byte of randomBytes(64)) {
      if (byte < 248 && value.length < VALUE_LENGTH) value += ALPHABET[byte % ALPHABET.length];
    }
  }
  return value;
}

/** The values in order, without repeats or empties. */
function unique(/** @type {(string | undefined)[]} */ values) {
  /** @type {string[]} */
  const present = [];
  for (const value of values) if (typeof value === 'string' && value.length > 0 && !present.includes(value)) present.push(value);
  return present;
}

/** @param {unknown} error @param {string} name */
function isError(error, name) {
  return typeof error === 'object' && error !== null && 'name' in error && error.name === name;
}

/** The secret's value at a stage (and version), or undefined when that version does not exist. */
async function valueAt(/** @type {Deps} */ deps, /** @type {string} */ secretId, /** @type {string} */ stage, /** @type {string | undefined} */ versionId) {
  try {
    const answer = await deps.secrets.send(new secretsManager.GetSecretValueCommand({ SecretId: secretId, VersionStage: stage, VersionId: versionId }));
    return answer.SecretString;
  } catch (error) {
    if (isError(error, 'ResourceNotFoundException')) return undefined;
    throw error;
  }
}

/**
 * What a listener rule must accept now, from the secret of its own region:
 * AWSCURRENT, and AWSPENDING while a rotation runs.
 */
async function acceptedValues(/** @type {Deps} */ deps, /** @type {string} */ secretId) {
  const current = await valueAt(deps, secretId, CURRENT, undefined);
  if (!current) throw new Error(`secret ${secretId} has no ${CURRENT} value`);
  const metadata = await deps.secrets.send(new secretsManager.DescribeSecretCommand({ SecretId: secretId }));
  const pendingVersion = Object.entries(metadata.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes(PENDING) && !stages.includes(CURRENT));
  const pending = pendingVersion ? await valueAt(deps, secretId, PENDING, pendingVersion[0]) : undefined;
  return unique([current, pending]);
}

/** The one http-header condition of a rule. */
function headerConditions(/** @type {string} */ headerName, /** @type {string[]} */ values) {
  if (values.length === 0 || values.length > MAX_CONDITION_VALUES) {
    throw new Error(`a listener rule condition takes 1–${MAX_CONDITION_VALUES} values, got ${values.length}`);
  }
  return [{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: headerName, Values: values } }];
}

/** The values a rule's header condition accepts. */
function ruleValues(/** @type {import('@aws-sdk/client-elastic-load-balancing-v2').Rule} */ rule, /** @type {string} */ headerName) {
  const condition = (rule.Conditions ?? []).find((c) => c.Field === 'http-header' && c.HttpHeaderConfig?.HttpHeaderName?.toLowerCase() === headerName.toLowerCase());
  return condition?.HttpHeaderConfig?.Values ?? [];
}

/** The origin-verify rule of a load balancer's production listener (by load balancer name and listener port). */
async function findRule(/** @type {Deps} */ deps, /** @type {LoadBalancerRef} */ where, /** @type {string} */ headerName) {
  const client = deps.elb(where.region);
  const balancers = await client.send(new elbv2.DescribeLoadBalancersCommand({ Names: [where.name] }));
  const balancerArn = balancers.LoadBalancers?.[0]?.LoadBalancerArn;
  if (!balancerArn) throw new Error(`load balancer ${where.name} not found in ${where.region}`);
  const listeners = await client.send(new elbv2.DescribeListenersCommand({ LoadBalancerArn: balancerArn }));
  const listener = (listeners.Listeners ?? []).find((l) => l.Port === where.port);
  if (!listener?.ListenerArn) throw new Error(`load balancer ${where.name} in ${where.region} has no listener on port ${where.port}`);
  const rules = await client.send(new elbv2.DescribeRulesCommand({ ListenerArn: listener.ListenerArn }));
  const matching = (rules.Rules ?? []).filter((rule) => ruleValues(rule, headerName).length > 0);
  if (matching.length !== 1 || !matching[0].RuleArn) {
    throw new Error(`the listener on port ${where.port} of ${where.name} in ${where.region} must have exactly one rule on the ${headerName} header, found ${matching.length}`);
  }
  return { client, rule: matching[0], ruleArn: matching[0].RuleArn };
}

/** Rewrites only the rule's conditions (CodeDeploy owns its forward action). */
async function setRuleValues(/** @type {Deps} */ deps, /** @type {LoadBalancerRef} */ where, /** @type {string} */ headerName, /** @type {string[]} */ values) {
  const { client, ruleArn } = await findRule(deps, where, headerName);
  await client.send(new elbv2.ModifyRuleCommand({ RuleArn: ruleArn, Conditions: headerConditions(headerName, values) }));
  deps.log(`${where.region} ${where.name}:${where.port}: the ${headerName} rule accepts ${values.length} value(s)`);
}

// --- Custom::OriginVerifyRule ------------------------------------------------

/**
 * @typedef {{ ListenerArn: string, TargetGroupArn: string, Priority: string | number, HeaderName: string, SecretId: string }} RuleProperties
 * @typedef {{ RequestType: 'Create' | 'Update' | 'Delete', PhysicalResourceId?: string, ResourceProperties: RuleProperties, OldResourceProperties?: RuleProperties }} RuleEvent
 */

/** Creates the rule: accept the secret's values, forward to the target group, answer the rest with the listener's default. */
async function createRule(/** @type {Deps} */ deps, /** @type {RuleProperties} */ props) {
  const region = props.ListenerArn.split(':')[3];
  const values = await acceptedValues(deps, props.SecretId);
  const created = await deps.elb(region).send(
    new elbv2.CreateRuleCommand({
      ListenerArn: props.ListenerArn,
      Priority: Number(props.Priority),
      Conditions: headerConditions(props.HeaderName, values),
      Actions: [{ Type: 'forward', TargetGroupArn: props.TargetGroupArn }],
    }),
  );
  const ruleArn = created.Rules?.[0]?.RuleArn;
  if (!ruleArn) throw new Error(`CreateRule on ${props.ListenerArn} returned no rule`);
  deps.log(`created ${ruleArn} accepting ${values.length} value(s) of ${props.HeaderName}`);
  return { PhysicalResourceId: ruleArn, Data: { RuleArn: ruleArn } };
}

/**
 * Handler of the custom resource (CDK provider framework onEvent).
 *
 * - Create: a rule that accepts the secret's values and forwards to the target group.
 * - Update on the same listener: the conditions are rewritten from the
 *   secret's stages at that moment; a new priority is set in place
 *   (SetRulePriorities); a new target group (the blue one replaced) becomes
 *   the forward action. An update that keeps the target group never touches
 *   the action, which CodeDeploy moves between blue and green.
 * - Update to another listener: a new rule there (CloudFormation then
 *   deletes the old one with the old physical ID).
 * - Delete: the rule, unless it is already gone.
 *
 * @param {RuleEvent} event
 * @param {Deps} deps
 */
exports.onEvent = async (event, deps) => {
  const props = event.ResourceProperties;
  if (event.RequestType !== 'Delete') {
    for (const field of /** @type {(keyof RuleProperties)[]} */ (['ListenerArn', 'TargetGroupArn', 'Priority', 'HeaderName', 'SecretId'])) {
      if (props[field] === undefined || props[field] === '') throw new Error(`Custom::OriginVerifyRule: property ${field} is required`);
    }
    const priority = Number(props.Priority);
    if (!Number.isInteger(priority) || priority < 1 || priority > 50000) throw new Error(`Custom::OriginVerifyRule: Priority must be a whole number 1–50000, got '${props.Priority}'`);
  }
  if (event.RequestType === 'Create') return createRule(deps, props);
  const ruleArn = event.PhysicalResourceId ?? '';
  if (event.RequestType === 'Delete') {
    // A create that failed leaves no rule behind: nothing to delete.
    if (!ruleArn.startsWith('arn:')) return { PhysicalResourceId: ruleArn };
    try {
      await deps.elb(ruleArn.split(':')[3]).send(new elbv2.DeleteRuleCommand({ RuleArn: ruleArn }));
      deps.log(`deleted ${ruleArn}`);
    } catch (error) {
      if (!isError(error, 'RuleNotFoundException')) throw error;
    }
    return { PhysicalResourceId: ruleArn };
  }
  const old = event.OldResourceProperties;
  if (!old || !ruleArn.startsWith('arn:') || old.ListenerArn !== props.ListenerArn) return createRule(deps, props);
  const client = deps.elb(ruleArn.split(':')[3]);
  if (String(old.Priority) !== String(props.Priority)) {
    await client.send(new elbv2.SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: ruleArn, Priority: Number(props.Priority) }] }));
    deps.log(`${ruleArn}: priority ${props.Priority}`);
  }
  const values = await acceptedValues(deps, props.SecretId);
  const actions = old.TargetGroupArn !== props.TargetGroupArn ? [{ Type: /** @type {const} */ ('forward'), TargetGroupArn: props.TargetGroupArn }] : undefined;
  await client.send(new elbv2.ModifyRuleCommand({ RuleArn: ruleArn, Conditions: headerConditions(props.HeaderName, values), Actions: actions }));
  deps.log(`updated ${ruleArn}: accepts ${values.length} value(s) of ${props.HeaderName}${actions ? `, forwards to ${props.TargetGroupArn}` : ''}`);
  return { PhysicalResourceId: ruleArn, Data: { RuleArn: ruleArn } };
};

// --- rotation ------------------------------------------------------------------

/**
 * @typedef {{ SecretId: string, ClientRequestToken: string, Step: string }} RotationEvent
 */

/** The distribution's configuration and the origins that carry the header. */
async function distributionHeader(/** @type {Deps} */ deps, /** @type {RotationConfig} */ config) {
  const answer = await deps.cloudFront.send(new cloudfront.GetDistributionConfigCommand({ Id: config.distributionId }));
  const distributionConfig = answer.DistributionConfig;
  if (!distributionConfig || !answer.ETag) throw new Error(`distribution ${config.distributionId}: no configuration returned`);
  const headers = (distributionConfig.Origins?.Items ?? []).flatMap((origin) => (origin.CustomHeaders?.Items ?? []).filter((h) => h.HeaderName?.toLowerCase() === config.headerName.toLowerCase()));
  if (headers.length === 0) throw new Error(`distribution ${config.distributionId} has no origin that sends ${config.headerName}`);
  return { distributionConfig, etag: answer.ETag, headers, values: unique(headers.map((h) => h.HeaderValue)) };
}

/** The distribution's status: Deployed once every edge location has its configuration. */
async function distributionStatus(/** @type {Deps} */ deps, /** @type {RotationConfig} */ config) {
  const answer = await deps.cloudFront.send(new cloudfront.GetDistributionCommand({ Id: config.distributionId }));
  return answer.Distribution?.Status;
}

/** Waits (within the invocation's time) until the distribution is Deployed; throws otherwise, changing nothing. */
async function waitDeployed(/** @type {Deps} */ deps, /** @type {RotationConfig} */ config) {
  const pollMs = 15_000;
  for (;;) {
    const status = await distributionStatus(deps, config);
    if (status === 'Deployed') return;
    if (deps.remainingMs() < pollMs + 30_000) {
      throw new Error(`distribution ${config.distributionId} is still ${status}: the new value is not at every edge yet; both values stay accepted and the rotation resumes on its next attempt`);
    }
    await deps.sleep(pollMs);
  }
}

/**
 * The secret's rotation function.
 *
 * @param {RotationEvent} event
 * @param {Deps & { config: RotationConfig }} deps
 */
exports.rotate = async (event, deps) => {
  const { SecretId: secretId, ClientRequestToken: token, Step: step } = event;
  if (!secretId || !token || !step) throw new Error('rotation event needs SecretId, ClientRequestToken and Step');
  const { config } = deps;
  const metadata = await deps.secrets.send(new secretsManager.DescribeSecretCommand({ SecretId: secretId }));
  if (!metadata.RotationEnabled) throw new Error(`secret ${secretId} is not enabled for rotation`);
  const versions = metadata.VersionIdsToStages ?? {};
  const stages = versions[token];
  if (!stages) throw new Error(`secret ${secretId} has no version ${token} to rotate to`);
  if (stages.includes(CURRENT)) {
    deps.log(`${step}: version ${token} is already ${CURRENT}`);
    return;
  }
  if (!stages.includes(PENDING)) throw new Error(`version ${token} of ${secretId} is not ${PENDING}`);

  if (step === 'createSecret') {
    if (!(await valueAt(deps, secretId, CURRENT, undefined))) throw new Error(`secret ${secretId} has no ${CURRENT} value`);
    if (await valueAt(deps, secretId, PENDING, token)) {
      deps.log(`createSecret: version ${token} already has its value`);
      return;
    }
    await deps.secrets.send(new secretsManager.PutSecretValueCommand({ SecretId: secretId, ClientRequestToken: token, SecretString: newValue(), VersionStages: [PENDING] }));
    deps.log(`createSecret: new value stored as ${PENDING} (version ${token})`);
    return;
  }

  const current = await valueAt(deps, secretId, CURRENT, undefined);
  const pending = await valueAt(deps, secretId, PENDING, token);
  if (!current || !pending) throw new Error(`${step}: secret ${secretId} lacks its ${CURRENT} or ${PENDING} (version ${token}) value`);

  if (step === 'setSecret') {
    // First every rule accepts the new value (and whatever CloudFront sends
    // right now), then CloudFront starts sending it.
    const sent = await distributionHeader(deps, config);
    for (const where of config.loadBalancers) await setRuleValues(deps, where, config.headerName, unique([pending, current, ...sent.values]));
    if (sent.values.length === 1 && sent.values[0] === pending) {
      deps.log('setSecret: CloudFront already sends the new value');
      return;
    }
    for (const header of sent.headers) header.HeaderValue = pending;
    await deps.cloudFront.send(new cloudfront.UpdateDistributionCommand({ Id: config.distributionId, IfMatch: sent.etag, DistributionConfig: sent.distributionConfig }));
    deps.log(`setSecret: distribution ${config.distributionId} sends the new value (deploying to the edges)`);
    return;
  }

  /** Both rules accept the new value and CloudFront sends it everywhere; throws (changing nothing) otherwise. */
  const checkEverywhere = async () => {
    for (const where of config.loadBalancers) {
      const { rule } = await findRule(deps, where, config.headerName);
      if (!ruleValues(rule, config.headerName).includes(pending)) throw new Error(`${step}: the rule of ${where.name} in ${where.region} does not accept the new value`);
    }
    const sent = await distributionHeader(deps, config);
    if (sent.values.length !== 1 || sent.values[0] !== pending) {
      throw new Error(`${step}: distribution ${config.distributionId} does not send the new value (a deploy may have reset it to ${CURRENT}); both values stay accepted, run the rotation again`);
    }
    await waitDeployed(deps, config);
  };

  if (step === 'testSecret') {
    await checkEverywhere();
    deps.log('testSecret: both regions accept the new value and every edge sends it');
    return;
  }

  if (step === 'finishSecret') {
    await checkEverywhere();
    const currentVersion = Object.entries(versions).find(([, s]) => s.includes(CURRENT))?.[0];
    await deps.secrets.send(
      new secretsManager.UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: CURRENT, MoveToVersionId: token, RemoveFromVersionId: currentVersion }),
    );
    deps.log(`finishSecret: version ${token} is ${CURRENT}`);
    // Only now does the old value stop being accepted.
    const failures = [];
    for (const where of config.loadBalancers) {
      try {
        await setRuleValues(deps, where, config.headerName, [pending]);
      } catch (error) {
        failures.push(`${where.name} in ${where.region}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (failures.length > 0) {
      throw new Error(`finishSecret: the new value is current and sent everywhere, but the old value is still accepted by ${failures.join('; ')}; run the rotation again once that region answers`);
    }
    return;
  }
  throw new Error(`unknown rotation step '${step}'`);
};

/** The runtime's clients, in the function's region (ELB clients per region). */
function runtimeDeps(/** @type {() => number} */ remainingMs) {
  /** @type {Map<string, import('@aws-sdk/client-elastic-load-balancing-v2').ElasticLoadBalancingV2Client>} */
  const elbClients = new Map();
  return {
    secrets: new secretsManager.SecretsManagerClient({}),
    elb: (/** @type {string} */ region) => {
      if (!elbClients.has(region)) elbClients.set(region, new elbv2.ElasticLoadBalancingV2Client({ region }));
      return /** @type {import('@aws-sdk/client-elastic-load-balancing-v2').ElasticLoadBalancingV2Client} */ (elbClients.get(region));
    },
    // CloudFront's API lives in us-east-1.
    cloudFront: new cloudfront.CloudFrontClient({ region: 'us-east-1' }),
    sleep: (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    remainingMs,
    log: (/** @type {string} */ line) => console.log(line),
  };
}

/** The rotation configuration from the function's environment (set by constructs/origin-verify-secret.ts). */
function rotationConfig(/** @type {NodeJS.ProcessEnv} */ env) {
  const loadBalancers = JSON.parse(env.LOAD_BALANCERS ?? '[]');
  if (!env.HEADER_NAME || !env.DISTRIBUTION_ID || !Array.isArray(loadBalancers) || loadBalancers.length === 0) {
    throw new Error('HEADER_NAME, DISTRIBUTION_ID and LOAD_BALANCERS must be set');
  }
  return { headerName: env.HEADER_NAME, distributionId: env.DISTRIBUTION_ID, loadBalancers };
}

/** Lambda entry point of the custom resource. */
exports.onEventHandler = async (/** @type {RuleEvent} */ event) => exports.onEvent(event, runtimeDeps(() => 60_000));

/** Lambda entry point of the rotation. */
exports.rotationHandler = async (/** @type {RotationEvent} */ event, /** @type {{ getRemainingTimeInMillis(): number }} */ context) =>
  exports.rotate(event, { ...runtimeDeps(() => context.getRemainingTimeInMillis()), config: rotationConfig(process.env) });

exports.acceptedValues = acceptedValues;
exports.newValue = newValue;
exports.rotationConfig = rotationConfig;
exports.MAX_CONDITION_VALUES = MAX_CONDITION_VALUES;
