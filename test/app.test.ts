import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { buildBodyScriptApp } from '../lib/app';
import { type EnvironmentName, loadConfig } from '../lib/config';
import { stacks, templateJson } from './support/assembly';
import { cdkJsonContext } from './support/synthesize';

const committedContext = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.context.json'), 'utf8')) as Record<string, unknown>;

describe('the BodyScript app', () => {
  test('defines the stacks people type, for both environments', () => {
    expect(stacks().map((s) => s.displayName)).toEqual(
      expect.arrayContaining([
        'BodyScript-Staging',
        'BodyScript-Staging-Alerting',
        'BodyScript-Staging-Network',
        'BodyScript-Staging-Data',
        'BodyScript-Staging-Registry',
        'BodyScript-Staging-Services',
        'BodyScript-Production',
        'BodyScript-Production-Alerting',
        'BodyScript-Production-Network',
        'BodyScript-Production-Data',
        'BodyScript-Production-Registry',
        'BodyScript-Production-Services',
        'BodyScript-Staging-StandbyData',
        'BodyScript-Staging-Standby',
        'BodyScript-Production-StandbyData',
        'BodyScript-Production-Standby',
        'BodyScript-GitHub',
      ]),
    );
  });

  test.each(['Staging', 'Production'])('the %s standby stacks are in us-west-2; the standby is deployed after its StandbyData and the primary data stack', (env) => {
    const standbyData = stacks().find((s) => s.displayName === `BodyScript-${env}-StandbyData`)!;
    const standby = stacks().find((s) => s.displayName === `BodyScript-${env}-Standby`)!;
    expect(standbyData.environment).toMatch(/\/us-west-2$/);
    expect(standby.environment).toMatch(/\/us-west-2$/);
    expect(standby.dependencies).toEqual(expect.arrayContaining([`BodyScript-${env}-StandbyData`, `BodyScript-${env}-Data`]));
  });

  test('every stack has an explicit account and region (no environment-agnostic stack)', () => {
    for (const stack of stacks()) {
      expect(stack.environment).toMatch(/^aws:\/\/\d{12}\/[a-z]{2}-[a-z]+-\d$/);
    }
  });

  test.each(['Staging', 'Production'])('BodyScript-%s depends on its alerting, network, data and services stacks, so one deploy brings up the environment', (env) => {
    const application = stacks().find((s) => s.displayName === `BodyScript-${env}`)!;
    expect(application.dependencies).toEqual(
      expect.arrayContaining([`BodyScript-${env}-Alerting`, `BodyScript-${env}-Network`, `BodyScript-${env}-Data`, `BodyScript-${env}-Services`]),
    );
    const services = stacks().find((s) => s.displayName === `BodyScript-${env}-Services`)!;
    expect(services.environment).toMatch(/\/us-east-1$/);
    expect(services.dependencies).toEqual(expect.arrayContaining([`BodyScript-${env}-Alerting`, `BodyScript-${env}-Network`, `BodyScript-${env}-Data`, `BodyScript-${env}-Registry`]));
    const registry = stacks().find((s) => s.displayName === `BodyScript-${env}-Registry`)!;
    expect(registry.environment).toBe(services.environment);
    // First on a new account (after the standby's data stack, whose creation template shapes the image
    // replicas): the images are pushed between the registry and everything else.
    expect(registry.dependencies).toEqual([`BodyScript-${env}-StandbyData`]);
    const data = stacks().find((s) => s.displayName === `BodyScript-${env}-Data`)!;
    expect(data.dependencies).toContain(`BodyScript-${env}-Network`);
  });

  test('cdk.context.json answers the availability-zone lookup of every account and region, so synth never calls AWS', () => {
    // The backup account's vault stack builds no VPC and looks nothing up (test/account-context.test.ts
    // checks that the shared synth asked AWS for nothing).
    const pairs = new Set(stacks().filter((s) => !s.displayName.endsWith('-BackupVault')).map((s) => s.environment.replace('aws://', '')));
    for (const pair of pairs) {
      const [account, region] = pair.split('/');
      expect(committedContext).toHaveProperty([`availability-zones:account=${account}:region=${region}`]);
    }
  });

  test('no stack reads a value that would need a lookup at synth time', () => {
    for (const stack of stacks()) {
      const text = JSON.stringify(templateJson(stack.id));
      expect(text).not.toContain('dummy-value-for-');
    }
  });

  test('every stack carries the project, environment and owner tags on its resources', () => {
    const network = templateJson('BodyScript-Production-Network');
    const vpc = Object.values(network.Resources).find((r) => r.Type === 'AWS::EC2::VPC')!;
    expect(vpc.Properties?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'Project', Value: 'BodyScript' },
        { Key: 'Environment', Value: 'production' },
        { Key: 'ManagedBy', Value: 'aws-cdk' },
      ]),
    );
  });
});

describe('buildBodyScriptApp with some environments', () => {
  /** Every construct under the stacks of `environment` (or under BodyScript-GitHub): its path, and for a CloudFormation resource its type and logical ID. */
  function constructs(app: App, stackPrefix: string): string[] {
    return app.node
      .findAll()
      .filter((c) => c.node.path === stackPrefix || c.node.path.startsWith(`${stackPrefix}-`) || c.node.path.startsWith(`${stackPrefix}/`))
      .map((c) => (c instanceof CfnResource ? `${c.node.path} ${c.cfnResourceType} ${Stack.of(c).getLogicalId(c)}` : c.node.path));
  }
  const build = (environments?: EnvironmentName[]) => {
    const app = new App({ context: cdkJsonContext() });
    buildBodyScriptApp(app, loadConfig(), environments ? { environments } : {});
    return app;
  };

  test('builds only the stacks of the environments asked for, and BodyScript-GitHub', () => {
    const stackNames = build(['production']).node.children.filter((c) => c instanceof Stack).map((c) => c.node.id);
    expect(stackNames).toContain('BodyScript-Production');
    expect(stackNames).toContain('BodyScript-GitHub');
    expect(stackNames.filter((name) => name.startsWith('BodyScript-Staging'))).toEqual([]);
  });

  test("an environment built alone has the constructs, resources and logical IDs it has in the whole app, and so has BodyScript-GitHub", () => {
    const whole = build();
    const alone = build(['staging']);
    expect(constructs(alone, 'BodyScript-Staging')).toEqual(constructs(whole, 'BodyScript-Staging'));
    expect(constructs(alone, 'BodyScript-GitHub')).toEqual(constructs(whole, 'BodyScript-GitHub'));
    expect(constructs(alone, 'BodyScript-Staging').length).toBeGreaterThan(1000);
  });

  test('refuses an environment that does not exist, naming those that do', () => {
    expect(() => buildBodyScriptApp(new App({ context: cdkJsonContext() }), loadConfig(), { environments: ['production', 'qa' as EnvironmentName] })).toThrow(
      "buildBodyScriptApp environments: must be among staging, production, got 'qa'",
    );
  });
});
