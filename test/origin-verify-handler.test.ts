import { CloudFrontClient, GetDistributionCommand, GetDistributionConfigCommand, UpdateDistributionCommand, type DistributionConfig, type Origin } from '@aws-sdk/client-cloudfront';
import {
  CreateRuleCommand,
  DeleteRuleCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  type Rule,
  SetRulePrioritiesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import * as handler from '../lambda/origin-verify/index.cjs';

const HEADER = 'X-Origin-Verify';
const REGIONS = ['us-east-1', 'us-west-2'] as const;
const LB_NAME = 'bodyscript-staging-api';
const DISTRIBUTION_ID = 'E1EXAMPLE';
const OLD = 'o'.repeat(48);

/** An AWS error as the SDK raises it (name is what callers test). */
function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/**
 * The AWS side of a rotation, modelled with the refusals the services make:
 * Secrets Manager versions and stages, one api load balancer per region with
 * its production listener and rules (at most three values per http-header
 * condition, priorities unique), and a CloudFront distribution whose
 * configuration changes only with the current ETag and reaches the edges a
 * few polls later. While it deploys, edges send the old or the new value.
 *
 * After every call that changes something, every value an edge may send must
 * be accepted by every region's rule: the "no 403 window" property.
 */
class World {
  versions = new Map<string, { value?: string; stages: string[] }>([['v-old', { value: OLD, stages: ['AWSCURRENT'] }]]);
  rules: Record<string, Rule[]> = {};
  distribution = { values: [OLD, OLD], etag: 'E1', status: 'Deployed', pollsUntilDeployed: 0, inFlight: new Set([OLD]) };
  /** How many polls a configuration change takes to reach every edge. */
  deployPolls = 3;
  windows: string[] = [];
  calls: string[] = [];
  nextRule = 1;
  /** A concurrent change of the distribution (another deploy) before the next UpdateDistribution. */
  concurrentChangeBeforeUpdate = false;
  failModifyIn?: string;

  readonly secrets = new SecretsManagerClient({ region: 'us-east-1' });
  readonly cloudFront = new CloudFrontClient({ region: 'us-east-1' });
  readonly elbClients: Record<string, ElasticLoadBalancingV2Client> = {};

  constructor() {
    for (const region of REGIONS) {
      this.rules[region] = [
        { RuleArn: this.ruleArn(region, 'default'), Priority: 'default', IsDefault: true, Conditions: [], Actions: [{ Type: 'fixed-response' }] },
        {
          RuleArn: this.ruleArn(region, 'verify'),
          Priority: '10',
          IsDefault: false,
          Conditions: [{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: HEADER, Values: [OLD] } }],
          Actions: [{ Type: 'forward', TargetGroupArn: `arn:aws:elasticloadbalancing:${region}:111111111111:targetgroup/blue/1` }],
        },
      ];
      this.elbClients[region] = new ElasticLoadBalancingV2Client({ region });
      this.mockElb(region);
    }
    this.mockSecrets();
    this.mockCloudFront();
  }

  listenerArn(region: string): string {
    return `arn:aws:elasticloadbalancing:${region}:111111111111:listener/app/${LB_NAME}/abc/def`;
  }

  ruleArn(region: string, id: string): string {
    return `arn:aws:elasticloadbalancing:${region}:111111111111:listener-rule/app/${LB_NAME}/abc/def/${id}`;
  }

  accepted(region: string): string[] {
    const rule = this.rules[region].find((r) => r.Conditions?.some((c) => c.HttpHeaderConfig?.HttpHeaderName === HEADER));
    return rule?.Conditions?.find((c) => c.Field === 'http-header')?.HttpHeaderConfig?.Values ?? [];
  }

  stage(stage: string): string | undefined {
    return [...this.versions.values()].find((v) => v.stages.includes(stage))?.value;
  }

  /** The no-403 property, checked after every change. */
  check(after: string): void {
    for (const region of REGIONS) {
      for (const value of this.distribution.inFlight) {
        if (!this.accepted(region).includes(value)) this.windows.push(`after ${after}: ${region} refuses a value CloudFront edges send`);
      }
    }
  }

  deps(remainingMs = 600_000): Parameters<typeof handler.rotate>[1] {
    let remaining = remainingMs;
    return {
      secrets: this.secrets,
      elb: (region: string) => this.elbClients[region],
      cloudFront: this.cloudFront,
      sleep: async (ms: number) => {
        remaining -= ms;
      },
      remainingMs: () => remaining,
      log: () => undefined,
      config: { headerName: HEADER, distributionId: DISTRIBUTION_ID, loadBalancers: REGIONS.map((region) => ({ region, name: LB_NAME, port: 443 })) },
    };
  }

  private mockSecrets(): void {
    const sm = mockClient(this.secrets);
    sm.on(DescribeSecretCommand).callsFake(() => ({
      RotationEnabled: true,
      VersionIdsToStages: Object.fromEntries([...this.versions].map(([id, v]) => [id, [...v.stages]])),
    }));
    sm.on(GetSecretValueCommand).callsFake((input) => {
      const entry = input.VersionId
        ? this.versions.get(input.VersionId)
        : [...this.versions.values()].find((v) => v.stages.includes(input.VersionStage ?? 'AWSCURRENT'));
      if (!entry || entry.value === undefined || (input.VersionStage && !entry.stages.includes(input.VersionStage))) {
        throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value");
      }
      return { SecretString: entry.value };
    });
    sm.on(PutSecretValueCommand).callsFake((input) => {
      const existing = this.versions.get(input.ClientRequestToken);
      if (existing?.value !== undefined && existing.value !== input.SecretString) throw awsError('ResourceExistsException', 'a version with this token has another value');
      for (const v of this.versions.values()) v.stages = v.stages.filter((s) => !(input.VersionStages ?? []).includes(s));
      this.versions.set(input.ClientRequestToken, { value: input.SecretString, stages: [...(existing?.stages ?? []), ...(input.VersionStages ?? [])] });
      this.calls.push('PutSecretValue');
      return {};
    });
    sm.on(UpdateSecretVersionStageCommand).callsFake((input) => {
      const holder = [...this.versions].find(([, v]) => v.stages.includes(input.VersionStage));
      if (holder && holder[0] !== input.RemoveFromVersionId) {
        throw awsError('InvalidParameterException', `The staging label ${input.VersionStage} is currently attached to version ${holder[0]}, but you didn't specify it in RemoveFromVersionId`);
      }
      if (holder) holder[1].stages = holder[1].stages.filter((s) => s !== input.VersionStage);
      this.versions.get(input.MoveToVersionId)?.stages.push(input.VersionStage);
      this.calls.push(`UpdateSecretVersionStage ${input.VersionStage}`);
      return {};
    });
  }

  private mockElb(region: string): void {
    const elb = mockClient(this.elbClients[region]);
    elb.on(DescribeLoadBalancersCommand).callsFake((input) => {
      if (!input.Names?.includes(LB_NAME)) throw awsError('LoadBalancerNotFoundException', 'One or more load balancers not found');
      return { LoadBalancers: [{ LoadBalancerArn: `arn:aws:elasticloadbalancing:${region}:111111111111:loadbalancer/app/${LB_NAME}/abc`, LoadBalancerName: LB_NAME }] };
    });
    elb.on(DescribeListenersCommand).callsFake(() => ({ Listeners: [{ ListenerArn: this.listenerArn(region), Port: 443 }] }));
    elb.on(DescribeRulesCommand).callsFake(() => ({ Rules: structuredClone(this.rules[region]) }));
    elb.on(ModifyRuleCommand).callsFake((input) => {
      if (this.failModifyIn === region) throw awsError('ServiceUnavailable', `${region} is not answering`);
      const rule = this.rules[region].find((r) => r.RuleArn === input.RuleArn);
      if (!rule) throw awsError('RuleNotFoundException', 'One or more rules not found');
      for (const condition of input.Conditions ?? []) {
        if ((condition.HttpHeaderConfig?.Values?.length ?? 0) > 3) throw awsError('ValidationError', 'A condition can have at most 3 values');
      }
      if (input.Conditions) rule.Conditions = structuredClone(input.Conditions);
      if (input.Actions) rule.Actions = structuredClone(input.Actions);
      this.calls.push(`ModifyRule ${region} ${input.Actions ? 'conditions+actions' : 'conditions'}`);
      this.check(`ModifyRule in ${region}`);
      return { Rules: [rule] };
    });
    elb.on(CreateRuleCommand).callsFake((input) => {
      if (this.rules[region].some((r) => r.Priority === String(input.Priority))) throw awsError('PriorityInUseException', 'Priority is in use');
      const rule: Rule = { RuleArn: this.ruleArn(region, `r${this.nextRule++}`), Priority: String(input.Priority), Conditions: input.Conditions, Actions: input.Actions };
      this.rules[region].push(rule);
      return { Rules: [rule] };
    });
    elb.on(SetRulePrioritiesCommand).callsFake((input) => {
      for (const { RuleArn, Priority } of input.RulePriorities ?? []) {
        if (this.rules[region].some((r) => r.Priority === String(Priority) && r.RuleArn !== RuleArn)) throw awsError('PriorityInUseException', 'Priority is in use');
        const rule = this.rules[region].find((r) => r.RuleArn === RuleArn);
        if (rule) rule.Priority = String(Priority);
      }
      return {};
    });
    elb.on(DeleteRuleCommand).callsFake((input) => {
      const before = this.rules[region].length;
      this.rules[region] = this.rules[region].filter((r) => r.RuleArn !== input.RuleArn);
      if (this.rules[region].length === before) throw awsError('RuleNotFoundException', 'One or more rules not found');
      return {};
    });
  }

  private configOf(): DistributionConfig {
    return {
      CallerReference: 'x',
      Comment: '',
      Enabled: true,
      DefaultCacheBehavior: undefined as never,
      Origins: {
        Quantity: 3,
        Items: [
          { Id: 'frontend', DomainName: 'frontend.s3.us-east-1.amazonaws.com' },
          ...this.distribution.values.map((value, i) => ({
            Id: `api-${i}`,
            DomainName: `api-${i}.example`,
            CustomHeaders: { Quantity: 1, Items: [{ HeaderName: HEADER, HeaderValue: value }] },
          })),
        ],
      },
    };
  }

  /** What CloudFormation does when it updates the distribution for another reason: it writes AWSCURRENT. */
  cloudFormationUpdatesTheDistribution(): void {
    this.applyDistribution([this.stage('AWSCURRENT') ?? '', this.stage('AWSCURRENT') ?? '']);
  }

  private applyDistribution(values: string[]): void {
    this.distribution.values = values;
    this.distribution.etag = `E${Number(this.distribution.etag.slice(1)) + 1}`;
    this.distribution.status = 'InProgress';
    this.distribution.pollsUntilDeployed = this.deployPolls;
    for (const value of values) this.distribution.inFlight.add(value);
    this.check('UpdateDistribution');
  }

  private mockCloudFront(): void {
    const cf = mockClient(this.cloudFront);
    cf.on(GetDistributionConfigCommand).callsFake(() => {
      const answer = { ETag: this.distribution.etag, DistributionConfig: this.configOf() };
      if (this.concurrentChangeBeforeUpdate) {
        this.concurrentChangeBeforeUpdate = false;
        this.cloudFormationUpdatesTheDistribution();
      }
      return answer;
    });
    cf.on(UpdateDistributionCommand).callsFake((input) => {
      if (input.IfMatch !== this.distribution.etag) throw awsError('PreconditionFailed', 'The If-Match version is missing or not valid for the resource.');
      const origins: Origin[] = input.DistributionConfig?.Origins?.Items ?? [];
      const values = origins.flatMap((o) => (o.CustomHeaders?.Items ?? []).map((h) => h.HeaderValue ?? ''));
      this.calls.push('UpdateDistribution');
      this.applyDistribution(values);
      return { ETag: this.distribution.etag };
    });
    cf.on(GetDistributionCommand).callsFake(() => {
      if (this.distribution.status === 'InProgress' && --this.distribution.pollsUntilDeployed <= 0) {
        this.distribution.status = 'Deployed';
        this.distribution.inFlight = new Set(this.distribution.values);
      }
      this.check('a CloudFront status poll');
      return { Distribution: { Id: DISTRIBUTION_ID, Status: this.distribution.status } };
    });
  }

  /** Secrets Manager's RotateSecret: a version with AWSPENDING, then the four steps in order. */
  async rotate(token = 'v-new', steps = ['createSecret', 'setSecret', 'testSecret', 'finishSecret']): Promise<void> {
    if (!this.versions.has(token)) this.versions.set(token, { stages: ['AWSPENDING'] });
    for (const step of steps) await handler.rotate({ SecretId: 'bodyscript/staging/cloudfront-origin-verify', ClientRequestToken: token, Step: step }, this.deps());
  }
}

const ruleEvent = (world: World, requestType: 'Create' | 'Update' | 'Delete', overrides: Record<string, unknown> = {}, old?: Record<string, unknown>) => ({
  RequestType: requestType,
  PhysicalResourceId: requestType === 'Create' ? undefined : world.ruleArn('us-west-2', 'verify'),
  ResourceProperties: {
    ListenerArn: world.listenerArn('us-west-2'),
    TargetGroupArn: 'arn:aws:elasticloadbalancing:us-west-2:111111111111:targetgroup/blue/1',
    Priority: '10',
    HeaderName: HEADER,
    SecretId: 'bodyscript/staging/cloudfront-origin-verify',
    ...overrides,
  },
  OldResourceProperties: old && {
    ListenerArn: world.listenerArn('us-west-2'),
    TargetGroupArn: 'arn:aws:elasticloadbalancing:us-west-2:111111111111:targetgroup/blue/1',
    Priority: '10',
    HeaderName: HEADER,
    SecretId: 'bodyscript/staging/cloudfront-origin-verify',
    ...old,
  },
});

describe('the origin-verify rotation (lambda/origin-verify/index.cjs)', () => {
  test('rotates CloudFront and both regions with no moment in which an edge sends a value a region refuses', async () => {
    const world = new World();
    await world.rotate();
    const fresh = world.stage('AWSCURRENT') ?? '';
    expect(fresh).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(fresh).not.toBe(OLD);
    expect(world.distribution.values).toEqual([fresh, fresh]);
    expect(world.distribution.status).toBe('Deployed');
    for (const region of REGIONS) expect(world.accepted(region)).toEqual([fresh]);
    expect(world.windows).toEqual([]);
    // The order that makes the overlap: both rules widen, CloudFront changes, AWSCURRENT moves, then the rules narrow.
    expect(world.calls).toEqual([
      'PutSecretValue',
      'ModifyRule us-east-1 conditions',
      'ModifyRule us-west-2 conditions',
      'UpdateDistribution',
      'UpdateSecretVersionStage AWSCURRENT',
      'ModifyRule us-east-1 conditions',
      'ModifyRule us-west-2 conditions',
    ]);
  });

  test('the same steps in the other order would open a 403 window (the model sees it)', async () => {
    const world = new World();
    world.versions.set('v-new', { stages: ['AWSPENDING'] });
    await handler.rotate({ SecretId: 's', ClientRequestToken: 'v-new', Step: 'createSecret' }, world.deps());
    // CloudFront first, rules later: what "change the secret and redeploy the Services stack" did.
    world.cloudFormationUpdatesTheDistribution();
    world.distribution.values = [world.stage('AWSPENDING') ?? '', world.stage('AWSPENDING') ?? ''];
    world.distribution.inFlight.add(world.stage('AWSPENDING') ?? '');
    world.check('CloudFront sends the new value before the rules accept it');
    expect(world.windows.length).toBeGreaterThan(0);
  });

  test('testSecret waits until every edge has the new value, and fails (changing nothing) when time runs out first', async () => {
    const world = new World();
    world.deployPolls = 1000;
    await world.rotate('v-new', ['createSecret', 'setSecret']);
    const pending = world.stage('AWSPENDING') ?? '';
    await expect(handler.rotate({ SecretId: 's', ClientRequestToken: 'v-new', Step: 'testSecret' }, world.deps(120_000))).rejects.toThrow(/still InProgress.*both values stay accepted/);
    for (const region of REGIONS) expect(world.accepted(region).sort()).toEqual([OLD, pending].sort());
    expect(world.stage('AWSCURRENT')).toBe(OLD);
    expect(world.windows).toEqual([]);
  });

  test('a CloudFormation update of the distribution in the middle resets it to AWSCURRENT: nothing is refused, finishSecret refuses, and the rotation resumes', async () => {
    const world = new World();
    await world.rotate('v-new', ['createSecret', 'setSecret']);
    world.cloudFormationUpdatesTheDistribution();
    await expect(world.rotate('v-new', ['testSecret'])).rejects.toThrow(/does not send the new value/);
    await expect(world.rotate('v-new', ['finishSecret'])).rejects.toThrow(/does not send the new value/);
    expect(world.stage('AWSCURRENT')).toBe(OLD);
    // Secrets Manager retries the rotation with the same token.
    await world.rotate('v-new', ['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    for (const region of REGIONS) expect(world.accepted(region)).toEqual([world.stage('AWSCURRENT')]);
    expect(world.windows).toEqual([]);
  });

  test('setSecret fails on a distribution changed between read and write (ETag), leaving both values accepted; a retry succeeds', async () => {
    const world = new World();
    await world.rotate('v-new', ['createSecret']);
    world.concurrentChangeBeforeUpdate = true;
    await expect(world.rotate('v-new', ['setSecret'])).rejects.toMatchObject({ name: 'PreconditionFailed' });
    await world.rotate('v-new', ['setSecret', 'testSecret', 'finishSecret']);
    expect(world.windows).toEqual([]);
    expect(world.distribution.values).toEqual([world.stage('AWSCURRENT'), world.stage('AWSCURRENT')]);
  });

  test('a region that does not answer at finishSecret keeps accepting the old value too, and the error names it', async () => {
    const world = new World();
    await world.rotate('v-new', ['createSecret', 'setSecret', 'testSecret']);
    world.failModifyIn = 'us-west-2';
    await expect(world.rotate('v-new', ['finishSecret'])).rejects.toThrow(/old value is still accepted by bodyscript-staging-api in us-west-2/);
    expect(world.accepted('us-east-1')).toEqual([world.stage('AWSCURRENT')]);
    expect(world.accepted('us-west-2')).toContain(world.stage('AWSCURRENT'));
    expect(world.windows).toEqual([]);
  });

  test('createSecret keeps a value already stored for the version (a retried rotation), and a finished version is left alone', async () => {
    const world = new World();
    await world.rotate('v-new', ['createSecret']);
    const first = world.stage('AWSPENDING');
    await world.rotate('v-new', ['createSecret']);
    expect(world.stage('AWSPENDING')).toBe(first);
    await world.rotate('v-new', ['setSecret', 'testSecret', 'finishSecret']);
    const calls = world.calls.length;
    await world.rotate('v-new', ['finishSecret']);
    expect(world.calls.length).toBe(calls);
  });

  test('refuses a rule with more values than an ALB condition takes instead of dropping one', async () => {
    const world = new World();
    world.distribution.values = ['a'.repeat(48), 'b'.repeat(48)];
    world.distribution.inFlight = new Set(world.distribution.values);
    await world.rotate('v-new', ['createSecret']);
    await expect(world.rotate('v-new', ['setSecret'])).rejects.toThrow(/takes 1–3 values, got 4/);
  });

  test('refuses a version Secrets Manager did not create for this rotation, or not as AWSPENDING', async () => {
    const world = new World();
    await expect(handler.rotate({ SecretId: 's', ClientRequestToken: 'v-unknown', Step: 'createSecret' }, world.deps())).rejects.toThrow(/has no version v-unknown/);
    world.versions.set('v-other', { stages: [] });
    await expect(handler.rotate({ SecretId: 's', ClientRequestToken: 'v-other', Step: 'createSecret' }, world.deps())).rejects.toThrow(/is not AWSPENDING/);
  });

  test('reads its configuration from the environment and refuses an incomplete one', () => {
    expect(handler.rotationConfig({ HEADER_NAME: HEADER, DISTRIBUTION_ID: 'E1', LOAD_BALANCERS: JSON.stringify([{ region: 'us-east-1', name: LB_NAME, port: 443 }]) })).toEqual({
      headerName: HEADER,
      distributionId: 'E1',
      loadBalancers: [{ region: 'us-east-1', name: LB_NAME, port: 443 }],
    });
    expect(() => handler.rotationConfig({ HEADER_NAME: HEADER, DISTRIBUTION_ID: 'E1', LOAD_BALANCERS: '[]' })).toThrow(/LOAD_BALANCERS must be set/);
  });

  test('new values are 48 letters and digits, different every time', () => {
    const values = new Set(Array.from({ length: 50 }, () => handler.newValue()));
    expect(values.size).toBe(50);
    for (const value of values) expect(value).toMatch(/^[A-Za-z0-9]{48}$/);
  });
});

describe('Custom::OriginVerifyRule (onEvent)', () => {
  test('creates the rule with the values the secret has now', async () => {
    const world = new World();
    world.rules['us-west-2'] = world.rules['us-west-2'].filter((r) => r.IsDefault);
    const answer = await handler.onEvent(ruleEvent(world, 'Create'), world.deps());
    expect(answer.PhysicalResourceId).toMatch(/listener-rule/);
    expect(world.accepted('us-west-2')).toEqual([OLD]);
  });

  test('an update during a rotation keeps accepting both values, and never moves the forward action CodeDeploy owns', async () => {
    const world = new World();
    await world.rotate('v-new', ['createSecret', 'setSecret']);
    const green = 'arn:aws:elasticloadbalancing:us-west-2:111111111111:targetgroup/green/2';
    world.rules['us-west-2'][1].Actions = [{ Type: 'forward', TargetGroupArn: green }];
    await handler.onEvent(ruleEvent(world, 'Update', { Priority: '20' }, { Priority: '10' }), world.deps());
    expect(world.accepted('us-west-2').sort()).toEqual([OLD, world.stage('AWSPENDING')].sort());
    expect(world.rules['us-west-2'][1]).toMatchObject({ Priority: '20', Actions: [{ TargetGroupArn: green }] });
    expect(world.windows).toEqual([]);
  });

  test('a replaced target group in the template becomes the forward action', async () => {
    const world = new World();
    const replaced = 'arn:aws:elasticloadbalancing:us-west-2:111111111111:targetgroup/blue-2/3';
    await handler.onEvent(ruleEvent(world, 'Update', { TargetGroupArn: replaced }, {}), world.deps());
    expect(world.rules['us-west-2'][1].Actions).toEqual([{ Type: 'forward', TargetGroupArn: replaced }]);
  });

  test('deletes the rule, and a rule already gone is not an error', async () => {
    const world = new World();
    await handler.onEvent(ruleEvent(world, 'Delete'), world.deps());
    expect(world.accepted('us-west-2')).toEqual([]);
    await expect(handler.onEvent(ruleEvent(world, 'Delete'), world.deps())).resolves.toEqual({ PhysicalResourceId: world.ruleArn('us-west-2', 'verify') });
  });

  test.each([
    ['SecretId', { SecretId: '' }, /property SecretId is required/],
    ['Priority', { Priority: '0' }, /Priority must be a whole number 1–50000, got '0'/],
  ])('refuses a missing or bad %s', async (_field, overrides, message) => {
    const world = new World();
    await expect(handler.onEvent(ruleEvent(world, 'Create', overrides), world.deps())).rejects.toThrow(message);
  });

  test('a second rule at the same priority is refused as the load balancer refuses it', async () => {
    const world = new World();
    await expect(handler.onEvent(ruleEvent(world, 'Create'), world.deps())).rejects.toMatchObject({ name: 'PriorityInUseException' });
  });
});
