/**
 * The delivery metrics every pipeline run publishes (`npm run ops -- delivery`,
 * lib/ops/commands/delivery.ts), in one place: the CloudWatch namespace and
 * metric names, which the operations role, the dashboard section and the
 * over-budget alarm (constructs/delivery-metrics.ts) read too.
 *
 * Nothing here imports the AWS SDK: the CDK app reads it at synth time.
 */

/** CloudWatch namespace of the delivery metrics; every metric has the dimension `Environment`. */
export const DELIVERY_METRICS_NAMESPACE = 'BodyScript/Delivery';

/** Metric names (DORA's four keys plus the release's own duration and its steps). */
export const DELIVERY_METRIC = {
  /** Seconds from the deploy job's start (after approval in production) until `ops verify` said healthy: what the budget covers. */
  releaseDuration: 'ReleaseDuration',
  /** Seconds from the merged commit to the release being live and verified (lead time for changes). */
  leadTime: 'LeadTime',
  /** 1 per release attempt that reached the deploy job (its SUM per day is the deployment frequency). */
  deploymentAttempts: 'DeploymentAttempts',
  /** 1 per release that went live and verified healthy. */
  deployments: 'Deployments',
  /** 1 per release attempt that failed (deploy or verify), else 0: SUM(FailedDeployments) / SUM(DeploymentAttempts) is the change failure rate. */
  failedDeployments: 'FailedDeployments',
  /** Seconds from the failed verification to the rolled-back environment verified healthy (time to restore). */
  timeToRestore: 'TimeToRestore',
  /** Seconds one step of the pipeline took; dimension `Step` (see DELIVERY_STEPS). */
  stepDuration: 'StepDuration',
} as const;

/**
 * The pipeline steps whose durations are published, and how the command
 * finds each in the run's jobs (GitHub Actions step names; the workflow test
 * holds the deploy workflows to these names).
 */
export const DELIVERY_STEPS = {
  synth: { job: /^synthesize$/, step: /^Synthesize$/ },
  snapshot: { job: /./, step: /^Snapshot the database before deploying$/ },
  deploy: { job: /./, step: /^Deploy\b/ },
  verify: { job: /./, step: /^Verify$/ },
  rollback: { job: /./, step: /^Roll back both services$/ },
  snapshotWait: { job: /./, step: /^Wait for the release snapshot and prune old ones$/ },
} as const;

export type DeliveryStep = keyof typeof DELIVERY_STEPS | 'approvalWait';

/** The step that fails a release whose verification failed (its conclusion says whether verify passed). */
export const FAIL_THE_RELEASE_STEP = /^Fail the release when verification failed$/;
