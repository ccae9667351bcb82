import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENVIRONMENT_NAMES, loadConfig } from '../lib/config';
import { bucketName, deploymentGroupName, githubDeployRoleName, operationsRoleName, repositoryName, SERVICE_NAMES } from '../lib/naming';
import { parseArgs as parseOpsArgs } from '../lib/ops/cli';
import { BURN_RATE_ALERTS, budgetConsumedAtFiring, detectionMinutes, serviceLevelObjectiveName, SLO_KINDS } from '../lib/service-level-objectives';
import { stacks, templateJson } from './support/assembly';

/**
 * A runbook is read at the worst moment and followed literally, so every
 * command in it must exist: npm scripts in package.json, operator CLI calls
 * that the CLI's own parser accepts, stack names in the synthesized app, and
 * relative links to files in the repository. This covers every runbook in
 * runbooks/, including ones added later.
 */

const ROOT = path.join(__dirname, '..');
const RUNBOOK_DIR = path.join(ROOT, 'runbooks');
const runbooks = fs.readdirSync(RUNBOOK_DIR).filter((f) => f.endsWith('.md')).sort();
const read = (file: string) => fs.readFileSync(path.join(RUNBOOK_DIR, file), 'utf8');
const packageScripts = Object.keys((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

/** Lines of a runbook with their numbers, shell continuations (`\` at the end) joined to one line. */
function lines(file: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let pending: { line: number; text: string } | undefined;
  read(file)
    .split('\n')
    .forEach((raw, index) => {
      const current = pending ? { line: pending.line, text: `${pending.text} ${raw.trim()}` } : { line: index + 1, text: raw };
      if (/\\\s*$/.test(raw)) pending = { line: current.line, text: current.text.replace(/\\\s*$/, '') };
      else {
        out.push(current);
        pending = undefined;
      }
    });
  return out;
}

/** Each occurrence of `npm run <script>` on a line, with what follows it up to the end of the code span or line. */
function npmRuns(text: string): { script: string; rest: string }[] {
  return [...text.matchAll(/npm run ([\w:-]+)([^`\n]*)/g)].map((m) => ({ script: m[1], rest: m[2] }));
}

/**
 * Turns the arguments of an `npm run ops -- ...` call as written in a runbook
 * into argv for the CLI parser: drops a trailing `# comment` and shell
 * operators, and stands in for placeholders (`<env>`, `$ENV`, `E`, `N`) with a
 * valid value of the flag before them, so that command and flag names are
 * checked exactly and values as far as the runbook spells them out.
 */
const PLACEHOLDER_VALUES: Record<string, string> = {
  env: 'staging',
  confirm: 'staging',
  service: 'api',
  release: 'v1.0.0',
  'timeout-minutes': '10',
  'report-dir': 'reports',
};
function opsArgv(rest: string): string[] {
  const args = rest
    .replace(/^\s*--\s*/, '')
    .replace(/\s#.*$/, '')
    .split(/\s*(?:&&|\|\||[|;)])\s*/)[0]
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .filter((a) => !/^\[.*\]$/.test(a));
  return args.map((arg, i) => {
    const previous = args[i - 1];
    const isPlaceholder = /^["']?(<[^>]+>|\$\{?\w+\}?|[A-Z])["']?$/.test(arg);
    if (isPlaceholder && previous?.startsWith('--')) {
      const value = PLACEHOLDER_VALUES[previous.slice(2)];
      return value ?? arg;
    }
    return arg.replace(/^["'](.*)["']$/, '$1');
  });
}

/** Every string in every synthesized template that starts with `BodyScript-`: alarm, dashboard, CodeDeploy and role names. */
function physicalNames(): Set<string> {
  const names = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.startsWith('BodyScript-')) names.add(value);
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  for (const stack of stacks()) visit(templateJson(stack.id).Resources);
  // Roles that exist outside the app (the operations roles) or are only named by the GitHub stack.
  for (const env of ENVIRONMENT_NAMES) [githubDeployRoleName(env), operationsRoleName(env)].forEach((n) => names.add(n));
  return names;
}

describe('runbooks', () => {
  test('include the deployment guide, the new-environment runbook, rollback and post-deployment checklist, all listed in runbooks/README.md', () => {
    expect(runbooks).toEqual(expect.arrayContaining(['README.md', 'deployment-guide.md', 'new-environment.md', 'rollback.md', 'post-deployment-checklist.md']));
    const index = read('README.md');
    for (const file of runbooks.filter((f) => f !== 'README.md')) expect(`${file}: ${index.includes(`](${file})`)}`).toBe(`${file}: true`);
  });

  test('the post-deployment checklist has the immediate, 15, 30 and 60 minute checks, in order', () => {
    const headings = read('post-deployment-checklist.md')
      .split('\n')
      .filter((l) => l.startsWith('## '));
    expect(headings).toEqual(['## Immediately (0–5 minutes)', '## After 15 minutes', '## After 30 minutes', '## After 60 minutes']);
  });
});

describe('runbooks/slo.md', () => {
  const config = loadConfig();
  const text = read('slo.md');
  const rows = (header: RegExp) => {
    const all = text.split('\n');
    const start = all.findIndex((l) => header.test(l));
    const out: string[][] = [];
    for (const line of all.slice(start + 2)) {
      if (!line.startsWith('|')) break;
      out.push(line.split('|').slice(1, -1).map((c) => c.trim()));
    }
    return out;
  };

  test('lists every objective with the goal and window both environments are configured with', () => {
    const objectives = rows(/^\| SLO \(Application Signals name\)/);
    expect(objectives.map((r) => r[0])).toEqual(SLO_KINDS.map((k) => `\`${serviceLevelObjectiveName('staging', k).replace('staging', '<env>')}\``));
    for (const env of ENVIRONMENT_NAMES) {
      const slo = config.environments[env].serviceLevelObjectives;
      SLO_KINDS.forEach((kind, i) => expect(`${kind}: ${objectives[i][3]}`).toBe(`${kind}: ${Number((slo[kind].goal * 100).toFixed(4))} %`));
      expect(text).toContain(`rolling window of ${slo.windowDays} days in both environments`);
      expect(text).toContain(`at least ${slo.minimumBadEvents} failed events (\`minimumBadEvents\`)`);
      expect(text).toContain(`more than ${slo.apiLatency.thresholdMilliseconds} ms`);
      expect(text).toContain(`more than ${slo.processingFreshness.readyWithinMinutes} minutes after the upload`);
    }
  });

  test('its alert table is the code’s: windows, factors, topics, and the budget each spends when it fires', () => {
    const windowDays = config.environments.production.serviceLevelObjectives.windowDays;
    const label = (m: number) => (m % 1440 === 0 ? `${m / 1440} days` : m % 60 === 0 ? `${m / 60} h` : `${m} min`);
    expect(rows(/^\| alert \| goes to/).map((r) => r.slice(0, 5))).toEqual(
      BURN_RATE_ALERTS.map((a) => [
        `\`${a.id}\``,
        a.severity === 'page' ? 'critical topic (page)' : 'warning topic (ticket)',
        String(a.factor),
        `${label(a.longWindowMinutes)} / ${label(a.shortWindowMinutes)}`,
        `${(budgetConsumedAtFiring(a, windowDays) * 100).toFixed(2)} % (${Math.round(budgetConsumedAtFiring(a, 30) * 100)} %)`,
      ]),
    );
    const detected = rows(/^\| alert \| goes to/).map((r) => r[5]);
    BURN_RATE_ALERTS.forEach((a, i) => {
      const minutes = detectionMinutes(a, { goal: 0.999, errorRatio: 1, eventsPerMinute: 1e6, minimumBadEvents: 1 })!;
      expect(detected[i]).toMatch(new RegExp(`^${minutes < 1 ? `${Math.round(minutes * 60)} s` : `${minutes.toFixed(1)} min`}, or the third failure`));
    });
  });
});

describe('runbooks/new-environment.md', () => {
  const config = loadConfig();
  const env = config.environments.staging;
  const github = config.project.github.account;
  const text = lines('new-environment.md').map((l) => ({ ...l, text: l.text.replace(/\s+/g, ' ').trim() }));
  /** The first line (after `after`) whose command matches, as the runbook orders its steps. */
  const lineOf = (pattern: RegExp, after = 0) => text.find((l) => l.line > after && pattern.test(l.text))?.line ?? -1;

  test('brings an account up in the order AWS accepts: bootstrap, BodyScript-GitHub, registry, images, preflight, environment, standby, verify', () => {
    const steps = [
      /\bnpx cdk bootstrap aws:\/\//,
      /\bnpx cdk deploy BodyScript-GitHub$/,
      /\bnpx cdk deploy BodyScript-Staging-Registry$/,
      /^docker push /,
      /\bnpm run ops -- preflight --env staging\b/,
      /\bnpx cdk deploy BodyScript-Staging$/,
      /\bnpx cdk deploy BodyScript-Staging-Standby$/,
      /\bnpm run ops -- verify --env staging\b/,
    ];
    let previous = 0;
    for (const step of steps) {
      const line = lineOf(step, previous);
      expect(`${step}: ${line > previous ? 'in order' : `missing after line ${previous}`}`).toBe(`${step}: in order`);
      previous = line;
    }
  });

  test('bootstraps both regions of the environment trusting the GitHub roles’ account, which it bootstraps first', () => {
    const bootstraps = text.filter((l) => /\bnpx cdk bootstrap /.test(l.text));
    expect(env.primary.account).not.toBe(github);
    const own = bootstraps.find((l) => l.text.includes(`aws://${github}/`));
    const trusting = bootstraps.find((l) => l.text.includes(`aws://${env.primary.account}/`));
    expect(own?.text).toContain(`aws://${github}/${env.primary.region} aws://${github}/${env.standby.region}`);
    expect(trusting?.text).toContain(`aws://${env.primary.account}/${env.primary.region} aws://${env.standby.account}/${env.standby.region}`);
    expect(trusting?.text).toMatch(new RegExp(`--trust ${github} --trust-for-lookup ${github} --cloudformation-execution-policies arn:aws:iam::aws:policy/AdministratorAccess`));
    expect(own!.line).toBeLessThan(trusting!.line);
  });

  test('pushes exactly the configured tag of every service to the primary repository, and nothing to the replica', () => {
    const pushed = text.filter((l) => /^docker push /.test(l.text)).map((l) => l.text.replace(/^docker push /, '').trim());
    expect(pushed.sort()).toEqual(
      SERVICE_NAMES.map((service) => `${env.primary.account}.dkr.ecr.${env.primary.region}.amazonaws.com/${repositoryName('staging', service)}:${env.services[service].imageTag}`).sort(),
    );
  });

  test('creates the Sentry DSN secret of the config with its replica in the standby region', () => {
    const create = text.find((l) => /aws secretsmanager create-secret/.test(l.text));
    expect(create?.text).toContain(`--name ${env.sentry.dsnSecretName}`);
    expect(create?.text).toContain(`--add-replica-regions Region=${env.standby.region}`);
    expect(create?.text).toContain(`--region ${env.primary.region}`);
  });
});

describe('runbooks/worker-contract.md', () => {
  const config = loadConfig();
  /** The results buckets a worker writes: each environment's, and its us-west-2 replica that the standby's worker writes after a failover. */
  const resultsBuckets = ENVIRONMENT_NAMES.flatMap((env) =>
    (['primary', 'standby'] as const).map((side) => bucketName(env, 'results', config.environments[env][side].account, config.environments[env][side].region)),
  );
  const text = read('worker-contract.md').replace(/\s+/g, ' ');

  test('the premise holds: every results bucket has an Object Lock default retention, as synthesized', () => {
    const retention = new Map<string, unknown>();
    for (const stack of stacks()) {
      for (const r of Object.values(templateJson(stack.id).Resources)) {
        if (r.Type === 'AWS::S3::Bucket' && typeof r.Properties?.BucketName === 'string') {
          retention.set(r.Properties.BucketName, (r.Properties.ObjectLockConfiguration as { Rule?: { DefaultRetention?: { Mode?: string } } } | undefined)?.Rule?.DefaultRetention?.Mode);
        }
      }
    }
    expect(resultsBuckets.map((b) => [b, retention.get(b)])).toEqual(resultsBuckets.map((b) => [b, 'GOVERNANCE']));
  });

  test('so it says every write to the results bucket carries a checksum, quotes S3 on why, and states the configured retention', () => {
    expect(text).toContain(
      '**Every write to the results bucket carries a checksum: a `Content-MD5` or an `x-amz-checksum-<algorithm>` header on every `PutObject` and on every `UploadPart` of a multipart upload.**',
    );
    expect(text).toContain(
      '"The Content-MD5 or x-amz-sdk-checksum-algorithm header is required for any request to upload an object with a retention period configured using Amazon S3 Object Lock"',
    );
    expect(text).toContain("ChecksumAlgorithm='CRC32'");
    const days = (env: 'production' | 'staging') => config.environments[env].storage.resultsRetention.days;
    expect(text).toContain(`${days('production')} days in production, ${days('staging')} in staging`);
  });
});

describe('runbooks/disaster-recovery.md', () => {
  test('names every Region switch call the CLI signs by hand, and only those (the operator must know which calls bypass the SDK)', () => {
    const client = fs.readFileSync(path.join(ROOT, 'lib/ops/dr/region-switch-client.ts'), 'utf8');
    const signed = [...client.matchAll(/this\.call<.*?>\('([A-Za-z0-9]+)'/g)].map((m) => m[1]).sort();
    expect(signed.length).toBeGreaterThan(5);
    const listed = /so those few calls \(([^)]*)\) are \*\*signed by hand\*\*/.exec(read('disaster-recovery.md').replace(/\s+/g, ' '));
    expect(listed).not.toBeNull();
    expect(listed![1].split(',').map((c) => c.trim()).sort()).toEqual([...new Set(signed)]);
  });
});

describe.each(runbooks)('runbooks/%s', (file) => {
  test('every `npm run <script>` exists in package.json', () => {
    const missing = lines(file).flatMap(({ line, text }) =>
      npmRuns(text)
        .filter(({ script }) => !packageScripts.includes(script))
        .map(({ script }) => `line ${line}: npm run ${script} (scripts: ${packageScripts.join(', ')})`),
    );
    expect(missing).toEqual([]);
  });

  test('every `npm run ops -- ...` is a command the operator CLI accepts', () => {
    const rejected = lines(file).flatMap(({ line, text }) =>
      npmRuns(text)
        .filter(({ script }) => script === 'ops')
        .flatMap(({ rest }) => {
          const argv = opsArgv(rest);
          if (argv.length === 0) return []; // `npm run ops` mentioned in prose, without a command
          try {
            parseOpsArgs(argv);
            return [];
          } catch (error) {
            return [`line ${line}: npm run ops -- ${argv.join(' ')}: ${(error as Error).message}`];
          }
        }),
    );
    expect(rejected).toEqual([]);
  });

  test('every BodyScript-… name is a stack of the app (or, outside cdk commands, a resource name of it)', () => {
    const stackNames = new Set(stacks().map((s) => s.displayName));
    const names = physicalNames();
    const unknown = lines(file).flatMap(({ line, text }) => {
      const found = text.match(/BodyScript-[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*/g) ?? [];
      // After a cdk command a name must be a stack; elsewhere it may also be an alarm, dashboard, role...
      const cdkCommand = /\bcdk (deploy|diff|destroy|synth|ls|watch|import)\b|--stack-name/.test(text);
      return found.filter((n) => !stackNames.has(n) && (cdkCommand || !names.has(n))).map((n) => `line ${line}: ${n}`);
    });
    expect(unknown).toEqual([]);
  });

  test('every relative link points to an existing file', () => {
    const broken = lines(file).flatMap(({ line, text }) =>
      [...text.matchAll(/\]\(([^)\s]+)\)/g)]
        .map((m) => m[1])
        .filter((target) => !/^([a-z]+:|#)/.test(target))
        .filter((target) => !fs.existsSync(path.resolve(RUNBOOK_DIR, decodeURIComponent(target.split('#')[0]))))
        .map((target) => `line ${line}: ${target}`),
    );
    expect(broken).toEqual([]);
  });
});

describe('the runbook checks themselves', () => {
  test('placeholders stand in for values, but command and flag names are kept', () => {
    expect(opsArgv(' -- verify --env <env> --timeout-minutes N   # once')).toEqual(['verify', '--env', 'staging', '--timeout-minutes', '10']);
    expect(opsArgv(' -- dr failover --env "$DR_ENV" --execute --confirm "$DR_ENV"')).toEqual(['dr', 'failover', '--env', 'staging', '--execute', '--confirm', 'staging']);
    expect(() => parseOpsArgs(opsArgv(' -- rollbak --env production'))).toThrow(/unknown command 'rollbak'/);
    expect(() => parseOpsArgs(opsArgv(' -- verify --env production --timeout 5'))).toThrow(/unknown flag --timeout/);
  });

  test('a continued shell line is read as one command', () => {
    const file = 'rollback.md';
    const restore = lines(file).find((l) => l.text.includes('restore-db-instance-from-db-snapshot'));
    expect(restore?.text).toContain('--db-snapshot-identifier bodyscript-production-pre-v1-d4-d0');
  });
});

/**
 * Deploy review R6: the api service (CODE_DEPLOY) cannot take a network change
 * through CloudFormation; the deployment guide rolls one out with a CodeDeploy
 * deployment whose AppSpec carries NetworkConfiguration. Its commands are run
 * here (jq, as the runbook has them) on the AppSpec the deployment trigger
 * writes, as the synthesized Services template has it.
 */
describe('deployment-guide.md: a network change of the api rolled out through CodeDeploy', () => {
  const SERVICES = 'BodyScript-Staging-Services';
  const section = () => {
    const text = read('deployment-guide.md');
    const start = text.indexOf('## Changes AWS refuses');
    expect(start).toBeGreaterThanOrEqual(0);
    return text.slice(start, text.indexOf('\n## ', start + 1));
  };
  /** The shell lines of the section's code block, continuations joined. */
  const commands = () => {
    const block = /```bash\n([\s\S]*?)```/.exec(section())![1];
    return block.replace(/\\\n\s*/g, '').split('\n').map((l) => l.trim());
  };
  const resources = () => templateJson(SERVICES).Resources;
  /** The trigger's AppSpec as CodeDeploy gets it: references stand in for what they resolve to. */
  const triggerAppSpec = () => {
    const [trigger] = Object.values(resources()).filter((r) => r.Type === 'Custom::EcsDeploymentTrigger' && JSON.stringify(r.Properties).includes('"api'));
    const value = trigger.Properties!.AppSpec as string | { 'Fn::Join': [string, unknown[]] };
    const text = typeof value === 'string' ? value : value['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'arn:aws:ecs:us-east-1:111111111111:task-definition/bodyscript-staging-api:42')).join(value['Fn::Join'][0]);
    return JSON.parse(text) as { Resources: { TargetService: { Properties: Record<string, unknown> } }[] };
  };
  const apiService = () => Object.values(resources()).find((r) => r.Type === 'AWS::ECS::Service' && (r.Properties!.DeploymentController as { Type: string }).Type === 'CODE_DEPLOY')!;

  test('the AppSpec it deploys keeps the running task definition, container and port, and names every network setting (CodeDeploy takes all or none), in the service’s own public-IP setting', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-appspec-'));
    try {
      const original = triggerAppSpec();
      fs.writeFileSync(path.join(dir, 'appspec.json'), JSON.stringify(original));
      const jq = commands().filter((l) => /^jq /.test(l));
      expect(jq.length).toBeGreaterThan(0);
      for (const line of jq) execFileSync('bash', ['-e', '-o', 'pipefail', '-c', line], { cwd: dir, encoding: 'utf8' });
      const changed = JSON.parse(fs.readFileSync(path.join(dir, 'appspec-network.json'), 'utf8')) as ReturnType<typeof triggerAppSpec>;
      const { NetworkConfiguration, ...rest } = changed.Resources[0].TargetService.Properties as { NetworkConfiguration: { AwsvpcConfiguration: Record<string, unknown> } };
      expect(rest).toEqual(original.Resources[0].TargetService.Properties);
      expect(Object.keys(NetworkConfiguration.AwsvpcConfiguration).sort()).toEqual(['AssignPublicIp', 'SecurityGroups', 'Subnets']);
      const service = (apiService().Properties!.NetworkConfiguration as { AwsvpcConfiguration: { AssignPublicIp: string } }).AwsvpcConfiguration;
      expect(NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe(service.AssignPublicIp);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the deployment it creates carries that AppSpec as AppSpecContent, for the api’s deployment group, and is verified after', () => {
    const create = commands().find((l) => l.startsWith('aws deploy create-deployment'))!;
    expect(create).toMatch(/--application-name "\$GROUP" --deployment-group-name "\$GROUP"/);
    const revision = /--revision "\$\((jq -n .+ '.+')\)"/.exec(create)![1];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bodyscript-appspec-'));
    try {
      fs.writeFileSync(path.join(dir, 'appspec-network.json'), '{"version":"0.0"}\n');
      const sent = JSON.parse(execFileSync('bash', ['-c', revision], { cwd: dir, encoding: 'utf8' })) as { revisionType: string; appSpecContent: { content: string } };
      expect(sent.revisionType).toBe('AppSpecContent');
      expect(JSON.parse(sent.appSpecContent.content)).toEqual({ version: '0.0' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(commands().some((l) => /^GROUP="BodyScript-\$TITLE-api"/.test(l))).toBe(true);
    expect(['Staging', 'Production'].map((title) => `BodyScript-${title}-api`)).toEqual(ENVIRONMENT_NAMES.map((env) => deploymentGroupName(env, 'api')));
    expect(commands().findIndex((l) => /^npm run ops -- verify/.test(l))).toBeGreaterThan(commands().findIndex((l) => l.startsWith('aws deploy create-deployment')));
  });

  test('its RISK holds: the trigger’s own AppSpec names no network, so a later release runs in “the current network” settings', () => {
    expect(triggerAppSpec().Resources[0].TargetService.Properties).not.toHaveProperty('NetworkConfiguration');
    expect(section()).toMatch(/RISK/);
  });
});
