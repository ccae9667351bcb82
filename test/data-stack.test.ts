import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { buildBodyScriptApp } from '../lib/app';
import { ENVIRONMENT_FILES, type EnvironmentConfigInput, type EnvironmentName, loadConfig } from '../lib/config';
import { RDS_BACKUP_WINDOW, RDS_MAINTENANCE_WINDOW } from '../lib/config/aws';
import { stackNames } from '../lib/naming';
import { resourcesOfType, stacks, template, templateJson } from './support/assembly';
import { cdkJsonContext } from './support/synthesize';

const STAGING = 'BodyScript-Staging-Data';
const PRODUCTION = 'BodyScript-Production-Data';

describe('the PostgreSQL database', () => {
  test.each([
    [STAGING, false, 7, 'db.t4g.medium'],
    [PRODUCTION, true, 35, 'db.r7g.large'],
  ])('%s: Multi-AZ %s, %i days of point-in-time recovery, class %s', (stack, multiAz, days, instanceClass) => {
    template(stack).hasResourceProperties('AWS::RDS::DBInstance', {
      MultiAZ: multiAz,
      BackupRetentionPeriod: days,
      DBInstanceClass: instanceClass,
    });
  });

  test.each([STAGING, PRODUCTION])('%s: PostgreSQL 18, encrypted with its own key, private, protected', (stack) => {
    template(stack).hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: '18.3',
      DBInstanceIdentifier: stack === STAGING ? 'bodyscript-staging-postgres' : 'bodyscript-production-postgres',
      StorageEncrypted: true,
      KmsKeyId: { 'Fn::GetAtt': ['DatabaseKey7998E78F', 'Arn'] },
      PubliclyAccessible: false,
      DeletionProtection: true,
      DeleteAutomatedBackups: false,
      CopyTagsToSnapshot: true,
      EnableIAMDatabaseAuthentication: true,
      EnablePerformanceInsights: true,
      PerformanceInsightsKMSKeyId: { 'Fn::GetAtt': ['DatabaseKey7998E78F', 'Arn'] },
      MonitoringInterval: Match.anyValue(),
      MonitoringRoleArn: Match.anyValue(),
      EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
      Port: '5433',
      StorageType: 'gp3',
    });
  });

  test('production monitors the OS every 15 seconds', () => {
    template(PRODUCTION).hasResourceProperties('AWS::RDS::DBInstance', { MonitoringInterval: 15 });
  });

  test.each([STAGING, PRODUCTION])('%s: the parameter group refuses connections without TLS 1.2+', (stack) => {
    template(stack).hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres18',
      Parameters: Match.objectLike({ 'rds.force_ssl': '1', ssl_min_protocol_version: 'TLSv1.2' }),
    });
  });

  test.each([STAGING, PRODUCTION])('%s: runs in the isolated database subnets', (stack) => {
    const [[, subnetGroup]] = resourcesOfType(stack, 'AWS::RDS::DBSubnetGroup');
    const subnetIds = JSON.stringify(subnetGroup.Properties?.SubnetIds);
    expect(subnetIds).toContain('DatabaseSubnet');
    expect(subnetIds).not.toContain('ApplicationSubnet');
  });

  test.each([STAGING, PRODUCTION])('%s: exported logs go to encrypted log groups created with retention', (stack) => {
    for (const logType of ['postgresql', 'upgrade']) {
      template(stack).hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/aws/rds/instance/${stack === STAGING ? 'bodyscript-staging' : 'bodyscript-production'}-postgres/${logType}`,
        KmsKeyId: { 'Fn::GetAtt': ['LogsKeyFE4C4A83', 'Arn'] },
        RetentionInDays: 365,
      });
    }
    const instance = templateJson(stack).Resources.DatabaseInstanceAA8A5FDE as unknown as { DependsOn: string[] };
    expect(instance.DependsOn).toEqual(expect.arrayContaining(['DatabasePostgresqlLogs0EEFD61B', 'DatabaseUpgradeLogsA548C373']));
  });

  test.each([STAGING, PRODUCTION])('%s: master credentials live in a KMS-encrypted secret that rotates every 30 days', (stack) => {
    template(stack).hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: stack === STAGING ? 'bodyscript/staging/database-master' : 'bodyscript/production/database-master',
      KmsKeyId: { 'Fn::GetAtt': ['DatabaseKey7998E78F', 'Arn'] },
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"bodyscript_admin"}' }),
    });
    template(stack).hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    template(stack).resourceCountIs('AWS::Serverless::Application', 1);
  });
});

describe('the database master secret', () => {
  test('no task definition or policy in any stack names it, except the function that creates the database roles (its rotation is its own application)', () => {
    const namers = stacks().flatMap((stack) =>
      Object.entries(templateJson(stack.id).Resources)
        .filter(([, resource]) => /IAM|ECS|Lambda/.test(resource.Type) && /DatabaseInstanceSecret|database-master/.test(JSON.stringify(resource)))
        .map(([id, resource]) => `${stack.id} ${resource.Type} ${id.replace(/[0-9A-F]{8}$/, '')}`),
    );
    expect(namers.sort()).toEqual([`${PRODUCTION} AWS::IAM::ManagedPolicy DatabaseRolesHandlerPolicy`, `${STAGING} AWS::IAM::ManagedPolicy DatabaseRolesHandlerPolicy`]);
  });

  test.each([STAGING, PRODUCTION])('%s: the database roles are created after the instance and its secret attachment, from the secret by ARN', (stack) => {
    const [[, roles]] = Object.entries(templateJson(stack).Resources).filter(([, r]) => r.Type === 'Custom::DatabaseRoles');
    expect((roles as { DependsOn?: string[] }).DependsOn).toEqual(expect.arrayContaining(['DatabaseInstanceAA8A5FDE']));
    expect(JSON.stringify(roles.Properties?.MasterSecretId)).toMatch(/DatabaseInstanceSecretAttachment/);
    expect(roles.Properties).toMatchObject({ Database: 'bodyscript', Schema: 'bodyscript', Owner: 'bodyscript_migrations' });
  });
});

describe('the buckets', () => {
  const purposes = ['AccessLogsBucket9935880A', 'UploadsBucket6E76B673', 'ResultsBucket260A22AD', 'FrontendBucketA01D232A'];

  test.each(purposes)('%s is versioned, private, ACL-free and publishes events', (logicalId) => {
    const bucket = templateJson(PRODUCTION).Resources[logicalId].Properties!;
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(bucket.NotificationConfiguration).toEqual({ EventBridgeConfiguration: { EventBridgeEnabled: true } });
  });

  test.each(['UploadsBucket6E76B673', 'ResultsBucket260A22AD', 'FrontendBucketA01D232A'])('%s has Object Lock enabled (legal holds, and the results default retention)', (logicalId) => {
    expect(templateJson(PRODUCTION).Resources[logicalId].Properties!.ObjectLockEnabled).toBe(true);
  });

  test('the access-log bucket has no Object Lock (S3 server access logging refuses it), hence its new name s3-access-logs', () => {
    for (const [stackName, env, account] of [[PRODUCTION, 'production', '222222222222'], [STAGING, 'staging', '111111111111']]) {
      const bucket = templateJson(stackName).Resources.AccessLogsBucket9935880A;
      expect(bucket.Properties!.ObjectLockEnabled).toBeUndefined();
      expect(bucket.Properties!.ObjectLockConfiguration).toBeUndefined();
      expect(bucket.Properties!.BucketName).toBe(`bodyscript-${env}-s3-access-logs-${account}-us-east-1`);
      // The bucket it replaces (Object Lock cannot be switched off) is kept with its logs.
      expect(bucket.UpdateReplacePolicy).toBe('Retain');
    }
  });

  test.each([
    [PRODUCTION, 'production'],
    [STAGING, 'staging'],
  ] as const)('the %s results bucket keeps every new version for storage.resultsRetention.days in governance mode, bypass left to break glass', (stackName, env) => {
    const days = loadConfig().environments[env].storage.resultsRetention.days;
    expect(templateJson(stackName).Resources.ResultsBucket260A22AD.Properties!.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: days } },
    });
    const policies = resourcesOfType(stackName, 'AWS::S3::BucketPolicy').filter(([, p]) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify({ Ref: 'ResultsBucket260A22AD' }));
    expect(JSON.stringify(policies)).toContain('DenyGovernanceBypassExceptBreakGlass');
  });

  test.each(['UploadsBucket6E76B673', 'FrontendBucketA01D232A'])('%s has no default retention (SecureBucket withoutDefaultRetentionReason)', (logicalId) => {
    expect(templateJson(PRODUCTION).Resources[logicalId].Properties!.ObjectLockConfiguration).toBeUndefined();
  });

  test('are named for environment, purpose, account and region', () => {
    template(PRODUCTION).hasResourceProperties('AWS::S3::Bucket', { BucketName: 'bodyscript-production-uploads-222222222222-us-east-1' });
    template(STAGING).hasResourceProperties('AWS::S3::Bucket', { BucketName: 'bodyscript-staging-results-111111111111-us-east-1' });
  });

  test.each(['UploadsBucket6E76B673', 'ResultsBucket260A22AD'])('%s is encrypted with the data key and S3 Bucket Keys', (logicalId) => {
    const encryption = templateJson(PRODUCTION).Resources[logicalId].Properties!.BucketEncryption as { ServerSideEncryptionConfiguration: unknown[] };
    expect(encryption.ServerSideEncryptionConfiguration).toEqual([
      { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { KMSMasterKeyID: { 'Fn::GetAtt': ['DataKey2A0DE9E6', 'Arn'] }, SSEAlgorithm: 'aws:kms' } },
    ]);
  });

  test.each(['AccessLogsBucket9935880A', 'FrontendBucketA01D232A'])('%s is encrypted with SSE-S3', (logicalId) => {
    const encryption = templateJson(PRODUCTION).Resources[logicalId].Properties!.BucketEncryption as { ServerSideEncryptionConfiguration: unknown[] };
    expect(encryption.ServerSideEncryptionConfiguration).toEqual([{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }]);
  });

  test.each(['UploadsBucket6E76B673', 'ResultsBucket260A22AD', 'FrontendBucketA01D232A'])('%s logs access to the access-log bucket', (logicalId) => {
    expect(templateJson(PRODUCTION).Resources[logicalId].Properties!.LoggingConfiguration).toMatchObject({
      DestinationBucketName: { Ref: 'AccessLogsBucket9935880A' },
      TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: 'EventTime' } },
    });
  });

  test.each(purposes)('%s expires noncurrent versions and aborts unfinished uploads', (logicalId) => {
    const rules = (templateJson(PRODUCTION).Resources[logicalId].Properties!.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Id: 'ExpireNoncurrentVersions', NoncurrentVersionExpiration: { NoncurrentDays: 90 }, Status: 'Enabled' }),
        expect.objectContaining({ Id: 'AbortIncompleteMultipartUploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
      ]),
    );
  });

  test('access logs expire after the configured time', () => {
    const rules = (templateJson(PRODUCTION).Resources.AccessLogsBucket9935880A.Properties!.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toEqual(expect.arrayContaining([expect.objectContaining({ Id: 'ExpireLogs', ExpirationInDays: 365 })]));
  });

  // The frontend bucket's policy (TLS statements included) is written by the Services stack, bound to its distribution: test/services-stack.test.ts.
  test.each(['UploadsBucket6E76B673', 'ResultsBucket260A22AD', 'AccessLogsBucket9935880A'])(
    '%s refuses requests without TLS 1.2 or newer',
    (logicalId) => {
      const policies = resourcesOfType(PRODUCTION, 'AWS::S3::BucketPolicy').filter(([, p]) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify({ Ref: logicalId }));
      const statements = JSON.stringify(policies.map(([, p]) => p.Properties?.PolicyDocument));
      expect(statements).toContain('"aws:SecureTransport":"false"');
      expect(statements).toContain('"s3:TlsVersion":1.2');
    },
  );
});

describe('the processing queue', () => {
  test('is KMS-encrypted, long-polled and redrives to a dead-letter queue after 3 receives', () => {
    template(PRODUCTION).hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'bodyscript-production-processing-jobs',
      KmsMasterKeyId: { 'Fn::GetAtt': ['DataKey2A0DE9E6', 'Arn'] },
      ReceiveMessageWaitTimeSeconds: 20,
      VisibilityTimeout: 2700,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['ProcessingDeadLetterQueueE13B1352', 'Arn'] }, maxReceiveCount: 3 },
    });
  });

  test('the dead-letter queue keeps failures 14 days and accepts them only from the processing queue', () => {
    template(PRODUCTION).hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'bodyscript-production-processing-jobs-dlq',
      MessageRetentionPeriod: 1209600,
      RedriveAllowPolicy: {
        redrivePermission: 'byQueue',
        sourceQueueArns: ['arn:aws:sqs:us-east-1:222222222222:bodyscript-production-processing-jobs'],
      },
    });
  });

  test('receives an event for every new upload through EventBridge', () => {
    template(PRODUCTION).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: [{ Ref: 'UploadsBucket6E76B673' }] } } },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': ['ProcessingQueue6DC600C3', 'Arn'] } })],
    });
  });

  test('refuses requests without TLS', () => {
    const policies = resourcesOfType(PRODUCTION, 'AWS::SQS::QueuePolicy');
    expect(JSON.stringify(policies)).toContain('"aws:SecureTransport":"false"');
  });
});

describe('the keys', () => {
  test.each(['DataKey2A0DE9E6', 'DatabaseKey7998E78F', 'LogsKeyFE4C4A83', 'BackupKey1226E6A1'])('%s rotates and only lets AWS services create grants', (logicalId) => {
    const key = templateJson(PRODUCTION).Resources[logicalId].Properties!;
    expect(key.EnableKeyRotation).toBe(true);
    expect(key.PendingWindowInDays).toBe(30);
    expect(JSON.stringify(key.KeyPolicy)).toContain('"Sid":"DenyGrantsExceptForAwsResources"');
  });

  test.each([
    ['alias/bodyscript-production/data'],
    ['alias/bodyscript-production/database'],
    ['alias/bodyscript-production/logs'],
    ['alias/bodyscript-production/backup'],
  ])('has the alias %s', (alias) => {
    template(PRODUCTION).hasResourceProperties('AWS::KMS::Alias', { AliasName: alias });
  });
});

describe('AWS Backup', () => {
  test('the production vault is encrypted with the backup key and locked in compliance mode for the whole retention (3 days of grace)', () => {
    template(PRODUCTION).hasResourceProperties('AWS::Backup::BackupVault', {
      BackupVaultName: 'bodyscript-production-vault',
      EncryptionKeyArn: { 'Fn::GetAtt': ['BackupKey1226E6A1', 'Arn'] },
      LockConfiguration: { ChangeableForDays: 3, MinRetentionDays: 35, MaxRetentionDays: 365 },
    });
  });

  test('the staging vault keeps a governance-mode lock (no ChangeableForDays: people may clean up staging backups)', () => {
    template(STAGING).hasResourceProperties('AWS::Backup::BackupVault', {
      BackupVaultName: 'bodyscript-staging-vault',
      LockConfiguration: { MinRetentionDays: 7, MaxRetentionDays: 365 },
    });
  });

  test.each([STAGING, PRODUCTION])('%s: the vault access policy denies deleting a recovery point or shortening its retention to everyone', (stack) => {
    template(stack).hasResourceProperties('AWS::Backup::BackupVault', {
      AccessPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Principal: { AWS: '*' }, Action: ['backup:DeleteRecoveryPoint', 'backup:UpdateRecoveryPointLifecycle'] }),
        ]),
      },
    });
  });

  test('production copies every recovery point to the standby region and to the backup account, kept as long', () => {
    template(PRODUCTION).hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: {
        BackupPlanRule: [
          Match.objectLike({
            CopyActions: [
              { DestinationBackupVaultArn: 'arn:aws:backup:us-west-2:222222222222:backup-vault:bodyscript-production-vault', Lifecycle: { DeleteAfterDays: 35 } },
              { DestinationBackupVaultArn: 'arn:aws:backup:us-east-1:555555555555:backup-vault:bodyscript-production-vault', Lifecycle: { DeleteAfterDays: 35 } },
            ],
          }),
        ],
      },
    });
  });

  test('production shares the database and backup keys with the backup account (cross-account copies of RDS recovery points)', () => {
    for (const logicalId of ['DatabaseKey7998E78F', 'BackupKey1226E6A1']) {
      const statements = JSON.stringify((templateJson(PRODUCTION).Resources[logicalId].Properties as { KeyPolicy: unknown }).KeyPolicy);
      expect(statements).toContain('AllowBackupCopyAccountsToDecrypt');
      expect(statements).toContain(':iam::555555555555:root');
    }
    expect(JSON.stringify(templateJson(PRODUCTION).Resources.DataKey2A0DE9E6.Properties)).not.toContain('555555555555');
  });

  test.each([
    [PRODUCTION, 35],
    [STAGING, 7],
  ])('%s backs up daily and keeps recovery points %i days', (stack, days) => {
    template(stack).hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: {
        BackupPlanRule: [Match.objectLike({ RuleName: 'Daily', ScheduleExpression: 'cron(0 1 * * ? *)', StartWindowMinutes: 60, Lifecycle: { DeleteAfterDays: days } })],
      },
    });
  });

  test.each([PRODUCTION, STAGING])('%s: the database has the RDS backup and maintenance windows the schema keeps the daily backup clear of', (stack) => {
    template(stack).hasResourceProperties('AWS::RDS::DBInstance', { PreferredBackupWindow: RDS_BACKUP_WINDOW, PreferredMaintenanceWindow: RDS_MAINTENANCE_WINDOW });
  });

  test('the plan covers the database and the three data buckets', () => {
    const [[, selection]] = resourcesOfType(PRODUCTION, 'AWS::Backup::BackupSelection');
    const resources = JSON.stringify((selection.Properties?.BackupSelection as { Resources: unknown[] }).Resources);
    for (const id of ['DatabaseInstanceAA8A5FDE', 'UploadsBucket6E76B673', 'ResultsBucket260A22AD', 'FrontendBucketA01D232A']) {
      expect(resources).toContain(id);
    }
  });
});

describe('the single-AZ acknowledgement of the database and its standby replica', () => {
  const PRODUCTION_REASON = 'Pre-launch production holds only synthetic data until go-live; Multi-AZ is turned on before the first customer.';

  /** The reasons given for the Control Tower Multi-AZ rule in the Data and Standby stacks of `env`, by stack. */
  function multiAzAcknowledgements(env: EnvironmentName, productionInOneAz: boolean): Record<string, string[]> {
    const environments = structuredClone({ ...ENVIRONMENT_FILES }) as Record<string, EnvironmentConfigInput>;
    if (productionInOneAz) Object.assign(environments.production.database, { multiAz: false, singleAzReason: PRODUCTION_REASON });
    const app = new App({ context: cdkJsonContext() });
    buildBodyScriptApp(app, loadConfig({}, { environments }));
    const stacks = app.node.findAll().filter(Stack.isStack);
    return Object.fromEntries(
      [stackNames.data(env), stackNames.standby(env)].map((name) => [
        name,
        stacks
          .find((stack) => stack.stackName === name)!
          .node.findAll()
          .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
          .flatMap((m) => Object.entries(m.data as Record<string, string>))
          .filter(([rule]) => rule.endsWith('rds_instance_multi_az_support_check'))
          .map(([, reason]) => reason),
      ]),
    );
  }

  test("is staging's database.singleAzReason, word for word", () => {
    const reason = loadConfig().environments.staging.database.singleAzReason!;
    expect(multiAzAcknowledgements('staging', false)).toEqual({ [stackNames.data('staging')]: [reason], [stackNames.standby('staging')]: [reason] });
  });

  test('is the reviewed reason when production is configured in one AZ, and absent while it is Multi-AZ', () => {
    expect(multiAzAcknowledgements('production', true)).toEqual({
      [stackNames.data('production')]: [PRODUCTION_REASON],
      [stackNames.standby('production')]: [PRODUCTION_REASON],
    });
    expect(multiAzAcknowledgements('production', false)).toEqual({ [stackNames.data('production')]: [], [stackNames.standby('production')]: [] });
  });
});
