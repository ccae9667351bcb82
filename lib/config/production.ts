import type { EnvironmentConfigInput } from './types';

/**
 * Production: three AZs with a NAT gateway each, Multi-AZ PostgreSQL with the
 * longest point-in-time window RDS allows, canary traffic shifting.
 *
 * The account ids are placeholders: see "Point the config at your AWS accounts"
 * in the README.
 */
export const production: EnvironmentConfigInput = {
  name: 'production',
  primary: { account: '222222222222', region: 'us-east-1' },
  standby: { account: '222222222222', region: 'us-west-2' },
  network: {
    primaryCidr: '10.20.0.0/16',
    standbyCidr: '10.120.0.0/16',
    maxAzs: 3,
    natGateways: 3,
    interfaceEndpoints: true,
  },
  database: {
    instanceClass: 'r7g.large',
    engineVersion: '18.3',
    databaseName: 'bodyscript',
    allocatedStorageGiB: 100,
    maxAllocatedStorageGiB: 1000,
    backupRetentionDays: 35,
    releaseSnapshots: { keepLatest: 10, keepDays: 14 },
    multiAz: true,
    performanceInsightsRetentionDays: 7,
    monitoringIntervalSeconds: 15,
    credentialRotationDays: 30,
  },
  storage: {
    noncurrentVersionExpirationDays: 90,
    abortIncompleteUploadDays: 1,
    accessLogExpirationDays: 365,
    // GOVERNANCE only (lib/config/schema.ts OBJECT_LOCK_DEFAULT_RETENTION_MODE); runbooks/break-glass.md, "Object Lock default retention".
    resultsRetention: { mode: 'GOVERNANCE', days: 30 },
  },
  backup: {
    retentionDays: 35,
    dailyStartHourUtc: 1,
    copyAccount: '555555555555',
  },
  // Placeholders like the account ids: the public hosted zone of your domain
  // (see "Point the config at your AWS accounts" in the README).
  domain: {
    hostedZoneId: 'Z0PRODUCTIONZONEPLACEHOLDER',
    hostedZoneName: 'bodyscript.example',
    appDomainName: 'app.bodyscript.example',
    apiDomainName: 'api.bodyscript.example',
  },
  alarms: {
    emails: ['platform-oncall@bodyscript.example'],
  },
  sentry: {
    org: 'bodyscript',
    project: 'bodyscript',
    dsnSecretName: 'bodyscript/production/sentry-dsn',
  },
  services: {
    api: { imageTag: '1.0.0', cpu: 1024, memoryMiB: 2048, minTasks: 3, maxTasks: 12 },
    processing: { imageTag: '1.0.0', cpu: 4096, memoryMiB: 8192, minTasks: 2, maxTasks: 10 },
  },
  deployment: {
    strategy: 'canary-10-percent-5-minutes',
    terminationWaitMinutes: 30,
    timeoutMinutes: 60,
  },
  logs: {
    retentionDays: 365,
  },
  disasterRecovery: {
    // Replica promotion takes 5–15 minutes, then the pilot light starts and passes its health checks.
    recoveryTimeObjectiveMinutes: 30,
  },
  serviceLevelObjectives: {
    // Four whole weeks: every weekday counts the same number of times.
    windowDays: 28,
    // At night the canaries are most requests: three failures in a short window, never one.
    minimumBadEvents: 3,
    apiAvailability: { goal: 0.999 },
    // The product's figure: an answer within 500 ms.
    apiLatency: { goal: 0.99, thresholdMilliseconds: 500 },
    // A healthy queue has a video ready within 90 minutes (QUEUE_AGE_WARNING): 30 minutes of margin.
    processingFreshness: { goal: 0.99, readyWithinMinutes: 120 },
    webAppCanary: { goal: 0.999 },
  },
};
