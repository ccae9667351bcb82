import { Match } from 'aws-cdk-lib/assertions';
import { appOrigins } from '../lib/browser-access';
import { loadConfig } from '../lib/config';
import { resourcesOfType, stacks, template } from './support/assembly';

const CASES = [
  ['BodyScript-Staging-StandbyData', 'staging', '111111111111'],
  ['BodyScript-Production-StandbyData', 'production', '222222222222'],
] as const;

describe.each(CASES)('%s', (stackName, env, account) => {
  test('lives in the standby region with termination protection', () => {
    const stack = stacks().find((s) => s.displayName === stackName)!;
    expect(stack.environment).toBe(`aws://${account}/us-west-2`);
    expect(stack.terminationProtection).toBe(true);
  });

  test.each(['standby-data', 'standby-database', 'standby-backup'])('has a rotating customer-managed key with alias %s', (purpose) => {
    template(stackName).hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/bodyscript-${env}/${purpose}` });
    expect(resourcesOfType(stackName, 'AWS::KMS::Key').every(([, key]) => key.Properties?.EnableKeyRotation === true)).toBe(true);
  });

  test.each(['uploads', 'results'])('the %s replica bucket is named for the standby region, versioned, Object Lock enabled and encrypted with the standby data key', (purpose) => {
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-${purpose}-${account}-us-west-2`,
      VersioningConfiguration: { Status: 'Enabled' },
      ObjectLockEnabled: true,
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StandbyDataKey'), 'Arn'] } } }),
        ],
      },
    });
  });

  test('the results replica has the primary results bucket\'s Object Lock default retention (config storage.resultsRetention), guarded by its policy; the uploads replica has none', () => {
    const days = loadConfig().environments[env].storage.resultsRetention.days;
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-results-${account}-us-west-2`,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: days } } },
    });
    template(stackName).hasResourceProperties('AWS::S3::Bucket', { BucketName: `bodyscript-${env}-uploads-${account}-us-west-2`, ObjectLockConfiguration: Match.absent() });
    const [, policy] = resourcesOfType(stackName, 'AWS::S3::BucketPolicy').find(([id]) => id.startsWith('ResultsReplicaBucket'))!;
    expect(JSON.stringify(policy.Properties?.PolicyDocument)).toContain('DenyGovernanceBypassExceptBreakGlass');
  });

  test('the standby access-log bucket has no Object Lock (S3 server access logging refuses it) and its new name', () => {
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-s3-access-logs-${account}-us-west-2`,
      ObjectLockEnabled: Match.absent(),
      ObjectLockConfiguration: Match.absent(),
    });
  });

  test('the uploads and results replicas answer CORS like the primary buckets (the standby api signs their URLs after a failover)', () => {
    const origins = appOrigins(loadConfig().environments[env]);
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-uploads-${account}-us-west-2`,
      CorsConfiguration: { CorsRules: [Match.objectLike({ AllowedOrigins: origins, AllowedMethods: ['PUT'] })] },
    });
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-results-${account}-us-west-2`,
      CorsConfiguration: { CorsRules: [Match.objectLike({ AllowedOrigins: origins, AllowedMethods: ['GET', 'HEAD'] })] },
    });
    template(stackName).hasResourceProperties('AWS::S3::Bucket', { BucketName: `bodyscript-${env}-frontend-${account}-us-west-2`, CorsConfiguration: Match.absent() });
  });

  test('the frontend replica bucket uses SSE-S3 like the primary frontend bucket', () => {
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-frontend-${account}-us-west-2`,
      VersioningConfiguration: { Status: 'Enabled' },
      ObjectLockEnabled: true,
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } })] },
    });
  });

  test("the frontend replica bucket has no policy here: the Services stack writes it for its one distribution (FrontendBucketAccess)", () => {
    expect(resourcesOfType(stackName, 'AWS::S3::BucketPolicy').filter(([, p]) => JSON.stringify(p.Properties?.Bucket).includes('FrontendReplicaBucket'))).toEqual([]);
    // Uploads and results stay private to the services.
    expect(JSON.stringify(resourcesOfType(stackName, 'AWS::S3::BucketPolicy'))).not.toContain('cloudfront.amazonaws.com');
  });

  test('replica buckets log to the standby access-log bucket and do not replicate further', () => {
    const buckets = resourcesOfType(stackName, 'AWS::S3::Bucket');
    expect(buckets).toHaveLength(5);
    for (const [, bucket] of buckets) expect(bucket.Properties?.ReplicationConfiguration).toBeUndefined();
    const replicas = buckets.filter(([id]) => id.includes('Replica'));
    expect(replicas).toHaveLength(3);
    for (const [, bucket] of replicas) {
      expect(bucket.Properties?.LoggingConfiguration).toEqual(expect.objectContaining({ DestinationBucketName: { Ref: expect.stringMatching(/^StandbyAccessLogsBucket/) } }));
    }
  });

  test('the backup vault that receives copies of the daily recovery points has the environment vault name, its own key and a lock', () => {
    template(stackName).hasResourceProperties('AWS::Backup::BackupVault', {
      BackupVaultName: `bodyscript-${env}-vault`,
      EncryptionKeyArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StandbyBackupKey'), 'Arn'] },
      LockConfiguration: env === 'production' ? { ChangeableForDays: 3, MinRetentionDays: 35, MaxRetentionDays: 365 } : { MinRetentionDays: 7, MaxRetentionDays: 365 },
    });
  });

  test('the standby processing queue keeps upload events two hours, with a dead-letter queue, both encrypted with the standby data key', () => {
    const key = { 'Fn::GetAtt': [Match.stringLikeRegexp('^StandbyDataKey'), 'Arn'] };
    template(stackName).hasResourceProperties('AWS::SQS::Queue', {
      QueueName: `bodyscript-${env}-processing-jobs`,
      MessageRetentionPeriod: 7200,
      VisibilityTimeout: 2700,
      KmsMasterKeyId: key,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StandbyProcessingDeadLetterQueue'), 'Arn'] }, maxReceiveCount: 3 },
    });
    template(stackName).hasResourceProperties('AWS::SQS::Queue', { QueueName: `bodyscript-${env}-processing-jobs-dlq`, MessageRetentionPeriod: 1209600, KmsMasterKeyId: key });
  });

  test('objects created in the replica uploads bucket become standby processing jobs through EventBridge', () => {
    template(stackName).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: [{ Ref: Match.stringLikeRegexp('^UploadsReplicaBucket') }] } } },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StandbyProcessingQueue'), 'Arn'] } })],
    });
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-uploads-${account}-us-west-2`,
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
  });

  test('the standby load balancer log bucket accepts ELB log delivery for this account', () => {
    template(stackName).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `bodyscript-${env}-alb-logs-${account}-us-west-2`,
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } })] },
    });
    const [, policy] = resourcesOfType(stackName, 'AWS::S3::BucketPolicy').find(([id]) => id.startsWith('StandbyLoadBalancerLogsBucket'))!;
    expect(JSON.stringify(policy.Properties?.PolicyDocument)).toContain('AllowLoadBalancerLogDelivery');
    expect(JSON.stringify(policy.Properties?.PolicyDocument)).toContain(`/AWSLogs/${account}/*`);
  });
});
