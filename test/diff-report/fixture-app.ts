import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * Small real CDK apps whose templates the diff-report tests compare. Each
 * variant is one synth (several seconds each), so the tests synthesize every
 * variant once and share the assemblies.
 */
export type Variant =
  /** The baseline: a database, a bucket and a key, with a role and an alarm. */
  | 'base'
  /** Database forced to be replaced (new instance identifier), a new IAM grant and an ingress rule. */
  | 'dangerous'
  /** Uploads bucket removed and the key's construct renamed (logical id change). */
  | 'removal'
  /** A tag and an alarm threshold changed, plus a stack the baseline does not have. */
  | 'harmless';

export const ENV = { account: '111111111111', region: 'us-east-1' } as const;
export const DATA_STACK = 'DiffFixture-Data';
export const EXTRA_STACK = 'DiffFixture-Extra';

export function synthVariant(variant: Variant, outdir = fs.mkdtempSync(path.join(os.tmpdir(), `diff-report-${variant}-`))): string {
  // Path metadata on, as `cdk synth` does, so the report can show construct paths.
  const app = new App({ outdir, context: { 'aws:cdk:enable-path-metadata': true } });
  const stack = new Stack(app, DATA_STACK, { env: ENV });

  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  // The removal variant renames this construct: same key, new logical id.
  const key = new kms.Key(stack, variant === 'removal' ? 'DataKeyRenamed' : 'DataKey', {
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const database = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
    instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    instanceIdentifier: variant === 'dangerous' ? 'fixture-postgres-v2' : 'fixture-postgres',
    storageEncrypted: true,
    removalPolicy: RemovalPolicy.SNAPSHOT,
  });
  const role = new iam.Role(stack, 'WorkerRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });

  if (variant !== 'removal') {
    const uploads = new s3.Bucket(stack, 'Uploads', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Tags.of(uploads).add('purpose', variant === 'harmless' ? 'user-uploads' : 'uploads');
    if (variant === 'dangerous') {
      uploads.grantRead(role);
      database.connections.allowDefaultPortFrom(ec2.Peer.ipv4('10.1.0.0/16'), 'office VPN');
    }
  }

  new cloudwatch.Alarm(stack, 'DatabaseCpu', {
    metric: database.metricCPUUtilization(),
    threshold: variant === 'harmless' ? 90 : 80,
    evaluationPeriods: 3,
  });

  if (variant === 'harmless') {
    const extra = new Stack(app, EXTRA_STACK, { env: ENV });
    new s3.Bucket(extra, 'Reports', { enforceSSL: true, removalPolicy: RemovalPolicy.RETAIN });
    // `cdk deploy DiffFixture-Extra` deploys the data stack first (for --stack).
    extra.addStackDependency(stack);
  }

  app.synth();
  return outdir;
}
