import type { EnvironmentConfigInput } from './types';

/**
 * Staging: the same shape as production at a smaller size. It is where every
 * merge to `develop` lands and where DR drills are rehearsed.
 *
 * The account ids are placeholders: see "Point the config at your AWS accounts"
 * in the README.
 */
export const staging: EnvironmentConfigInput = {
  name: 'staging',
  primary: { account: '111111111111', region: 'us-east-1' },
  standby: { account: '111111111111', region: 'us-west-2' },
  network: {
    primaryCidr: '10.10.0.0/16',
    standbyCidr: '10.110.0.0/16',
    maxAzs: 2,
    natGateways: 1,
    interfaceEndpoints: false,
  },
  database: {
    instanceClass: 't4g.medium',
    engineVersion: '18.3',
    databaseName: 'bodyscript',
    allocatedStorageGiB: 20,
    maxAllocatedStorageGiB: 100,
    backupRetentionDays: 7,
    releaseSnapshots: { keepLatest: 3, keepDays: 7 },
    multiAz: false,
    singleAzReason:
      'Staging holds no customer data and costs half as much in one AZ; point-in-time recovery and daily backups bound what an AZ loss costs.',
    performanceInsightsRetentionDays: 7,
    monitoringIntervalSeconds: 60,
    credentialRotationDays: 30,
  },
  storage: {
    noncurrentVersionExpirationDays: 30,
    abortIncompleteUploadDays: 1,
    accessLogExpirationDays: 90,
    // GOVERNANCE only (lib/config/schema.ts OBJECT_LOCK_DEFAULT_RETENTION_MODE); runbooks/break-glass.md, "Object Lock default retention".
    resultsRetention: { mode: 'GOVERNANCE', days: 7 },
  },
  backup: {
    retentionDays: 7,
    dailyStartHourUtc: 1,
  },
  noDomainReason:
    'Staging is reached by its CloudFront name only: it has no users to move during a regional outage, and its drills practise the manual api switch.',
  alarms: {
    emails: ['platform-staging@bodyscript.example'],
  },
  sentry: {
    org: 'bodyscript',
    project: 'bodyscript',
    dsnSecretName: 'bodyscript/staging/sentry-dsn',
  },
  services: {
    api: { imageTag: '1.0.0', cpu: 512, memoryMiB: 1024, minTasks: 1, maxTasks: 4 },
    processing: { imageTag: '1.0.0', cpu: 2048, memoryMiB: 4096, minTasks: 1, maxTasks: 4 },
  },
  deployment: {
    strategy: 'all-at-once',
    terminationWaitMinutes: 5,
    timeoutMinutes: 30,
  },
  logs: {
    // Control Tower (CT.CLOUDWATCH.PR.2) requires a year; staging log volume is small.
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
