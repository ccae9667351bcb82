import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Template } from '../../lib/diff-report/assembly';
import { diffStack } from '../../lib/diff-report/diff';
import { GATE_CHECK_NAME, runGateCheck } from '../../lib/diff-report/gate';
import type { JsonSummary } from '../../lib/diff-report/render';
import { EXIT_UNDEPLOYABLE, runDiffReport } from '../../lib/diff-report/run';
import { CODE_DEPLOY_SERVICE_UPDATABLE_PROPERTIES } from '../../lib/diff-report/undeployable';
import { FakeGitHub } from '../github-api-fake';
import { templateJson } from '../support/assembly';
import { testAssemblyDir } from '../support/synthesize';

/**
 * Changes ECS refuses on the api service (CODE_DEPLOY deployment controller),
 * modelled after the ECS API reference of UpdateService: "only the desired
 * count, deployment configuration, health check grace period, task placement
 * constraints and strategies, enable ECS managed tags option, and propagate
 * tags can be updated". The deploy review (2026-11-30, R6) names the case: a
 * security group or a subnet (a new AZ) added to the api service fails the
 * stack update. The checks run on the app's own Services template, changed
 * the way such a pull request would change it.
 */

const SERVICES = 'BodyScript-Staging-Services';
type Resource = { Type: string; Properties?: Record<string, unknown> };
type Resources = Record<string, Resource>;

const original = (): Template => structuredClone(templateJson(SERVICES)) as Template;
const resourcesOf = (template: Template) => template.Resources as Resources;
/** The logical id of the stack's ECS service with this deployment controller (exactly one). */
function serviceId(template: Template, controller: 'CODE_DEPLOY' | 'ECS'): string {
  const ids = Object.entries(resourcesOf(template))
    .filter(([, r]) => r.Type === 'AWS::ECS::Service' && (r.Properties?.DeploymentController as { Type?: string } | undefined)?.Type === controller)
    .map(([id]) => id);
  expect(ids).toHaveLength(1);
  return ids[0];
}
function changed(mutate: (resources: Resources, ids: { api: string; processing: string }) => void): Template {
  const template = original();
  mutate(resourcesOf(template), { api: serviceId(template, 'CODE_DEPLOY'), processing: serviceId(template, 'ECS') });
  return template;
}
const undeployable = (after: Template, before: Template = original()) =>
  diffStack({ artifactId: SERVICES, stackName: SERVICES, displayName: SERVICES, template: after }, { template: before }).undeployable;
const awsvpc = (resource: Resource) => (resource.Properties!.NetworkConfiguration as { AwsvpcConfiguration: { SecurityGroups: unknown[]; Subnets: unknown[] } }).AwsvpcConfiguration;

describe('updates AWS refuses on a CODE_DEPLOY service', () => {
  test('a security group added to the api service (the review’s case) is refused: NetworkConfiguration', () => {
    const after = changed((r, { api }) => awsvpc(r[api]).SecurityGroups.push('sg-0123456789abcdef0'));
    const api = serviceId(after, 'CODE_DEPLOY');
    expect(undeployable(after)).toEqual([
      expect.objectContaining({ stack: SERVICES, logicalId: api, type: 'AWS::ECS::Service', properties: ['NetworkConfiguration'] }),
    ]);
    expect(undeployable(after)[0].reason).toMatch(/CODE_DEPLOY deployment controller: ECS UpdateService refuses that/);
  });

  test('a subnet added (a new availability zone), a load balancer, a platform version and a task definition family are refused', () => {
    const after = changed((r, { api }) => {
      awsvpc(r[api]).Subnets.push('subnet-0123456789abcdef0');
      (r[api].Properties!.LoadBalancers as unknown[]).push({ ContainerName: 'api', ContainerPort: 8000, TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/other/1' });
      r[api].Properties!.PlatformVersion = '1.4.0';
      r[api].Properties!.TaskDefinition = 'bodyscript-staging-api-renamed';
    });
    expect(undeployable(after).map((u) => u.properties)).toEqual([['LoadBalancers', 'NetworkConfiguration', 'PlatformVersion', 'TaskDefinition']]);
  });

  test('what UpdateService may change on it passes: desired count, deployment configuration, grace period, tags', () => {
    const after = changed((r, { api }) => {
      const properties = r[api].Properties!;
      properties.DesiredCount = 7;
      properties.HealthCheckGracePeriodSeconds = 121;
      properties.DeploymentConfiguration = { ...(properties.DeploymentConfiguration as object), MaximumPercent: 150 };
      properties.Tags = [...((properties.Tags as unknown[] | undefined) ?? []), { Key: 'team', Value: 'platform' }];
    });
    expect(undeployable(after)).toEqual([]);
    expect(CODE_DEPLOY_SERVICE_UPDATABLE_PROPERTIES).toEqual(
      expect.arrayContaining(['DesiredCount', 'DeploymentConfiguration', 'HealthCheckGracePeriodSeconds', 'PlacementConstraints', 'PlacementStrategies', 'EnableECSManagedTags', 'PropagateTags']),
    );
  });

  test('new network access for the api as a rule of its security group (runbooks/deployment-guide.md, the first way) is an ordinary update', () => {
    const after = changed((r, { api }) => {
      const group = (awsvpc(r[api]).SecurityGroups[0] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      expect(r[group].Type).toBe('AWS::EC2::SecurityGroup');
      r.ApiTasksToPartnerHttps = {
        Type: 'AWS::EC2::SecurityGroupEgress',
        Properties: { GroupId: { 'Fn::GetAtt': [group, 'GroupId'] }, IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '203.0.113.0/24', Description: 'partner API' },
      };
    });
    expect(undeployable(after)).toEqual([]);
  });

  /** The target group in a service's LoadBalancers (its only one). */
  const targetGroupOf = (r: Resources, service: string) => ((r[service].Properties!.LoadBalancers as { TargetGroupArn: { Ref: string } }[])[0].TargetGroupArn.Ref);

  test('replacing the api’s target group (a new port) is refused: the service’s load balancers change through the reference, and the production rule CodeDeploy moves would be re-pointed (R7)', () => {
    let group = '';
    const after = changed((r, { api }) => {
      group = targetGroupOf(r, api);
      r[group].Properties!.Port = 8081;
    });
    // The service's own text is unchanged (it names the group by Ref): the refusal is found through the reference.
    expect(resourcesOf(after)[serviceId(after, 'CODE_DEPLOY')]).toEqual(resourcesOf(original())[serviceId(after, 'CODE_DEPLOY')]);
    expect(undeployable(after)).toEqual([expect.objectContaining({ stack: SERVICES, logicalId: group, type: 'AWS::ElasticLoadBalancingV2::TargetGroup', properties: ['Port'] })]);
    expect(undeployable(after)[0].reason).toMatch(/ECS UpdateService refuses, and the api's production rule/);
  });

  test('a target group change made in place (its health check) and the worker’s target group replaced are ordinary updates', () => {
    const inPlace = changed((r, { api }) => (r[targetGroupOf(r, api)].Properties!.HealthCheckIntervalSeconds = 20));
    expect(undeployable(inPlace)).toEqual([]);
    const worker = changed((r, { processing }) => (r[targetGroupOf(r, processing)].Properties!.Port = 8081));
    expect(undeployable(worker)).toEqual([]);
  });

  test('the same network change on the worker (ECS rolling updates) is an ordinary update', () => {
    const after = changed((r, { processing }) => awsvpc(r[processing]).SecurityGroups.push('sg-0123456789abcdef0'));
    expect(undeployable(after)).toEqual([]);
  });

  test('a release changes the api task definition, which reaches ECS through CodeDeploy, not UpdateService', () => {
    const after = changed((r) => {
      const [, taskDefinition] = Object.entries(r).find(([id, res]) => res.Type === 'AWS::ECS::TaskDefinition' && id.startsWith('ApiTaskDefinition'))!;
      (taskDefinition.Properties!.ContainerDefinitions as { Image: unknown }[])[0].Image = '111111111111.dkr.ecr.us-east-1.amazonaws.com/bodyscript/staging/api:2.0.0';
    });
    expect(undeployable(after)).toEqual([]);
  });

  test('a service whose deployed controller is not CODE_DEPLOY is not judged by the new template (changing the controller replaces it)', () => {
    const before = changed((r, { api }) => (r[api].Properties!.DeploymentController = { Type: 'ECS' }));
    const after = changed((r, { api }) => awsvpc(r[api]).SecurityGroups.push('sg-0123456789abcdef0'));
    expect(undeployable(after, before)).toEqual([]);
  });
});

describe('npm run diff-report with an update AWS refuses', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'diff-report-undeployable-'));
    // The deployed api service had one more security group than the app now has: removing it is refused just the same.
    const deployed = changed((r, { api }) => awsvpc(r[api]).SecurityGroups.push('sg-0123456789abcdef0'));
    fs.mkdirSync(path.join(work, 'baseline'));
    fs.writeFileSync(path.join(work, 'baseline', `${SERVICES}.template.json`), JSON.stringify(deployed));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  async function run(extra: string[] = []) {
    const stderr: string[] = [];
    const stdout: string[] = [];
    const json = path.join(work, 'summary.json');
    const code = await runDiffReport(
      ['--assembly', testAssemblyDir(), '--baseline', path.join(work, 'baseline'), '--stack', SERVICES, '--out', path.join(work, 'report.md'), '--json', json, ...extra],
      { stdout: (text) => stdout.push(text), stderr: (line) => stderr.push(line) },
    );
    return { code, markdown: stdout.join(''), stderr: stderr.join('\n'), summary: JSON.parse(fs.readFileSync(json, 'utf8')) as JsonSummary };
  }

  test('exits 3 with the refusal first in the report, in the JSON summary and on stderr', async () => {
    const result = await run();
    const api = serviceId(original(), 'CODE_DEPLOY');
    expect(result.code).toBe(EXIT_UNDEPLOYABLE);
    expect(result.markdown.startsWith('> [!WARNING]\n> **⛔ 1 update that AWS refuses: this deploy would fail**')).toBe(true);
    expect(result.markdown.slice(0, result.markdown.indexOf('# Infrastructure diff'))).toContain(`\`${api}\``);
    expect(result.summary.undeployableChanges).toEqual([expect.objectContaining({ stack: SERVICES, logicalId: api, properties: ['NetworkConfiguration'] })]);
    expect(result.stderr).toContain(`${SERVICES}/${api} (NetworkConfiguration)`);
  });

  test('no allowance makes it deployable: --allow-stateful-changes still exits 3', async () => {
    expect((await run(['--allow-stateful-changes'])).code).toBe(EXIT_UNDEPLOYABLE);
  });

  test('the pull-request gate fails its check on it, without asking for an approval that could not help', async () => {
    const R = '/repos/bodyscript/bodyscript-infrastructure';
    const head = '1'.repeat(40);
    const fake = new FakeGitHub()
      .on(`GET ${R}/pulls/7`, { body: { number: 7, state: 'open', user: { login: 'author' }, head: { sha: head, ref: 'feature/x' }, base: { sha: '3'.repeat(40), ref: 'develop' } } })
      .on(`POST ${R}/check-runs`, { status: 201, body: { id: 1 } });
    const stderr: string[] = [];
    const code = await runGateCheck(
      fake.client(),
      { owner: 'bodyscript', repo: 'bodyscript-infrastructure', pullNumber: 7, headSha: head, baseSha: '3'.repeat(40), assemblyDir: testAssemblyDir(), baselineDir: path.join(work, 'baseline'), outFile: path.join(work, 'gate.md'), publish: true },
      { stdout: () => undefined, stderr: (line) => stderr.push(line) },
    );
    const api = serviceId(original(), 'CODE_DEPLOY');
    expect(code).toBe(EXIT_UNDEPLOYABLE);
    const checkRun = fake.calls(`POST ${R}/check-runs`)[0].body as { name: string; conclusion: string; output: { title: string; summary: string } };
    expect(checkRun).toMatchObject({ name: GATE_CHECK_NAME, conclusion: 'failure', output: { title: `⛔ 1 update that AWS refuses: ${head.slice(0, 12)} cannot be deployed` } });
    expect(checkRun.output.summary.startsWith('> [!WARNING]')).toBe(true);
    expect(stderr.join('\n')).toContain(`${SERVICES}/${api} (NetworkConfiguration)`);
    expect(fake.calls(`GET ${R}/pulls/7/reviews`)).toEqual([]);
  });
});
