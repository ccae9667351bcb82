import { Match } from 'aws-cdk-lib/assertions';
import { estimatedMaxConnections, freeStorageThresholds, REPLICA_LAG_ALARM_SECONDS, REPLICA_LAG_MINUTES_TO_ALARM } from '../constructs/data-alarms';
import { firstAlarm, readAlarms, type ServiceWorld, simulate } from './support/alarm-simulation';
import { template, templateJson } from './support/assembly';

const GIB = 1024 ** 3;

describe('DataAlarms in BodyScript-Production', () => {
  const t = () => template('BodyScript-Production');

  test('pages the critical topic below 5% of the first allocation, under every point where storage autoscaling starts', () => {
    t().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Production-Database-FreeStorageLow',
      MetricName: 'FreeStorageSpace',
      Statistic: 'Minimum',
      Threshold: 100 * 0.05 * GIB,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 2,
      TreatMissingData: 'breaching',
      AlarmActions: [{ 'Fn::ImportValue': Match.stringLikeRegexp('^BodyScript-Production-Alerting:.*AlarmTopicsCritical') }],
    });
  });

  test('warns when free storage stays below autoscaling’s trigger for 30 minutes (autoscaling is not growing it)', () => {
    t().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Production-Database-StorageNotGrowing',
      Threshold: 100 * 0.1 * GIB,
      Period: 600,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      AlarmActions: [{ 'Fn::ImportValue': Match.stringLikeRegexp('^BodyScript-Production-Alerting:.*AlarmTopicsWarning') }],
    });
  });

  test('warns when database CPU stays above 80% for 15 minutes', () => {
    t().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Production-Database-CpuHigh',
      MetricName: 'CPUUtilization',
      Threshold: 80,
      EvaluationPeriods: 3,
      Period: 300,
    });
  });

  test('warns as soon as a job lands in the dead-letter queue, and stays in ALARM while SQS no longer reports the sleeping queue', () => {
    t().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Production-Processing-DeadLetterQueueNotEmpty',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'ignore',
    });
  });

  test('warns when connections stay above 80% of max_connections (r7g.large: 1802) for 10 minutes', () => {
    t().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'BodyScript-Production-Database-ConnectionsHigh',
      MetricName: 'DatabaseConnections',
      Threshold: Math.floor(1802 * 0.8),
      Period: 300,
      EvaluationPeriods: 2,
      AlarmActions: [{ 'Fn::ImportValue': Match.stringLikeRegexp('AlarmTopicsWarning') }],
    });
  });

  test('every alarm description tells the paged person which runbook to open', () => {
    const alarms = Object.values(t().findResources('AWS::CloudWatch::Alarm')) as { Properties: { AlarmDescription: string } }[];
    expect(alarms.length).toBeGreaterThanOrEqual(3);
    for (const alarm of alarms) expect(alarm.Properties.AlarmDescription).toMatch(/Runbook: runbooks\//);
  });
});

/** FreeStorageSpace of an instance whose storage autoscaling works as RDS documents it (USER_PIOPS.Autoscaling). */
function autoscalingVolume(options: { allocatedGiB: number; maxGiB: number; growthGiBPerMinute: number; minutes: number }): number[] {
  let allocated = options.allocatedGiB;
  let used = allocated * 0.5;
  let lowSince: number | undefined;
  let lastModification = -Infinity;
  const free: number[] = [];
  for (let minute = 0; minute < options.minutes; minute++) {
    used = Math.min(allocated, used + options.growthGiBPerMinute);
    const available = allocated - used;
    // At or below 10 % free for five minutes, six hours after the last modification, up to the maximum;
    // by 10 GiB, 10 % or the growth predicted for the next 7 hours, whichever is more.
    if (available <= allocated * 0.1) lowSince ??= minute;
    else lowSince = undefined;
    if (lowSince !== undefined && minute - lowSince >= 5 && minute - lastModification >= 360 && allocated < options.maxGiB) {
      allocated = Math.min(options.maxGiB, allocated + Math.max(10, allocated * 0.1, options.growthGiBPerMinute * 7 * 60));
      lastModification = minute;
      lowSince = undefined;
    }
    free.push((allocated - used) * GIB);
  }
  return free;
}

describe.each(['Staging', 'Production'])('the free-storage alarms of BodyScript-%s, against RDS storage autoscaling', (title) => {
  const stack = `BodyScript-${title}`;
  const alarms = readAlarms(stack, templateJson(stack).Resources);
  const page = alarms.find((a) => a.name === `${stack}-Database-FreeStorageLow`)!;
  const stalled = alarms.find((a) => a.name === `${stack}-Database-StorageNotGrowing`)!;
  const quiet: Omit<ServiceWorld, 'metrics'> = { requestsPerMinute: 0, behaviour: () => 'healthy', targets: () => ({ blue: { healthy: 1, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } }), failedTasks: () => 0, canaryRuns: () => [] };
  const config = title === 'Staging' ? { allocatedGiB: 20, maxGiB: 100 } : { allocatedGiB: 100, maxGiB: 1000 };
  const run = (alarm: typeof page, free: number[]) =>
    // Before minute 0 the volume sat at its first value for an hour.
    firstAlarm(simulate(alarm, { ...quiet, metrics: { 'AWS/RDS/FreeStorageSpace': (m) => (m < free.length ? [free[Math.max(0, m)]] : undefined) } }, { publicationDelayMinutes: 1, from: 0, to: free.length - 1, history: 60 }));

  test('routine autoscaling (a volume growing slowly, grown by RDS each time it reaches 10 % free) pages nobody and warns nobody', () => {
    const free = autoscalingVolume({ ...config, growthGiBPerMinute: config.allocatedGiB / 5000, minutes: 5 * 24 * 60 });
    expect(Math.min(...free)).toBeLessThan(config.allocatedGiB * 0.1 * GIB);
    expect(run(page, free)).toBeUndefined();
    expect(run(stalled, free)).toBeUndefined();
  });

  test('a volume at its maximum that keeps filling pages before it is full, and warns first', () => {
    const free = autoscalingVolume({ allocatedGiB: config.maxGiB, maxGiB: config.maxGiB, growthGiBPerMinute: config.allocatedGiB / 2000, minutes: 8 * 24 * 60 });
    const warned = run(stalled, free);
    const paged = run(page, free);
    const full = free.findIndex((f) => f <= 0);
    expect(warned).toBeDefined();
    expect(paged).toBeDefined();
    expect(warned!).toBeLessThan(paged!);
    expect(paged!).toBeLessThan(full);
  });

  test('the thresholds stay under where RDS starts to autoscale, at every allocation up to the maximum', () => {
    const thresholds = freeStorageThresholds(config.allocatedGiB, config.maxGiB);
    for (let allocated = config.allocatedGiB; allocated <= config.maxGiB; allocated += 10) {
      expect(thresholds.pageBelowBytes).toBeLessThan(allocated * 0.1 * GIB);
      expect(thresholds.stalledBelowBytes).toBeLessThanOrEqual(allocated * 0.1 * GIB);
    }
  });
});

describe.each(['Staging', 'Production'])('the replica-lag alarm of BodyScript-%s-Standby', (title) => {
  const stack = `BodyScript-${title}-Standby`;
  const alarm = readAlarms(stack, templateJson(stack).Resources).find((a) => a.name === `BodyScript-${title}-Standby-Database-ReplicaLag`)!;
  const quiet: Omit<ServiceWorld, 'metrics'> = { requestsPerMinute: 0, behaviour: () => 'healthy', targets: () => ({ blue: { healthy: 1, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } }), failedTasks: () => 0, canaryRuns: () => [] };
  // RDS for PostgreSQL: now() - last replayed transaction, sampled every 20 s; RDS's heartbeat resets it at most every five minutes.
  const lag = (seconds: (t: number) => number | undefined) => (minute: number) => {
    const samples = [0, 20, 40].map((s) => seconds(minute * 60 + s)).filter((v): v is number => v !== undefined);
    return samples.length ? samples : undefined;
  };
  const run = (seconds: (t: number) => number | undefined, heartbeatOffset = 0) =>
    firstAlarm(simulate(alarm, { ...quiet, metrics: { 'AWS/RDS/ReplicaLag': lag((t) => seconds(t + heartbeatOffset)) } }, { publicationDelayMinutes: 1, from: 0, to: 24 * 60, history: 60 }));

  test.each([0, 7, 33, 59, 119])('an idle primary (lag climbing to five minutes between heartbeats, offset %i s) never pages', (offset) => {
    expect(run((t) => t % 300, offset)).toBeUndefined();
  });

  test('a busy primary with a replica kept within the RPO never pages', () => {
    expect(run(() => 5)).toBeUndefined();
  });

  test(`a replica more than ${REPLICA_LAG_ALARM_SECONDS} s behind a writing primary pages after ${REPLICA_LAG_MINUTES_TO_ALARM} minutes`, () => {
    const minute = run((t) => (t < 0 ? 2 : 90 + t / 60));
    expect(minute).toBeDefined();
    expect(minute!).toBeLessThanOrEqual(REPLICA_LAG_MINUTES_TO_ALARM + 2);
  });

  test('a replica that stops reporting its lag (replication stopped) pages', () => {
    expect(run((t) => (t < 0 ? 3 : undefined))).toBeDefined();
  });
});

describe.each(['Staging', 'Production'])('the backup alarm of BodyScript-%s (review R11)', (title) => {
  const stack = `BodyScript-${title}`;
  const alarm = () => readAlarms(stack, templateJson(stack).Resources).find((a) => a.name === `${stack}-Backup-JobsFailed`)!;

  test('counts the failed backup and copy jobs of the Data stack’s rule and warns on the first one', () => {
    expect(alarm().queries[0].metric).toMatchObject({ namespace: 'AWS/Events', metricName: 'Invocations', dimensions: { RuleName: `bodyscript-${title.toLowerCase()}-backup-job-failures` }, stat: 'Sum', period: 300 });
    template(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${stack}-Backup-JobsFailed`,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ 'Fn::ImportValue': Match.stringLikeRegexp(`^${stack}-Alerting:.*AlarmTopicsWarning`) }],
    });
    template(`${stack}-Data`).hasResourceProperties('AWS::Events::Rule', { Name: `bodyscript-${title.toLowerCase()}-backup-job-failures` });
  });

  test('fires on one failed job (the CloudWatch evaluation model), and is quiet on days without', () => {
    const quiet: Omit<ServiceWorld, 'metrics'> = { requestsPerMinute: 0, behaviour: () => 'healthy', targets: () => ({ blue: { healthy: 1, unhealthy: 0 }, green: { healthy: 0, unhealthy: 0 } }), failedTasks: () => 0, canaryRuns: () => [] };
    const run = (failedAt?: number) =>
      firstAlarm(simulate(alarm(), { ...quiet, metrics: { 'AWS/Events/Invocations': (m) => (m === failedAt ? [1] : undefined) } }, { publicationDelayMinutes: 1, from: 0, to: 24 * 60 }));
    expect(run(60)).toBeLessThanOrEqual(70);
    expect(run()).toBeUndefined();
  });
});

describe('estimatedMaxConnections', () => {
  test.each([
    ['t4g.medium', 450],
    ['t4g.micro', 112],
    ['r7g.large', 1802],
    ['m6i.xlarge', 1802],
    ['r6g.4xlarge', 5000],
  ])('%s allows %i connections', (instanceClass, expected) => {
    expect(estimatedMaxConnections(instanceClass)).toBe(expected);
  });

  test('fails for an instance class it cannot size', () => {
    expect(() => estimatedMaxConnections('z1d.large')).toThrow(/unknown memory size of instance class 'z1d.large'/);
    expect(() => estimatedMaxConnections('large')).toThrow(/must look like t4g.medium/);
  });
});
