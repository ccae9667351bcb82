import { type Dimension, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { awsCall, type OpsContext, type Side } from './context';

export interface MetricQuery {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly stat: 'Maximum' | 'Sum' | 'Average' | 'SampleCount';
  /** How far back to look. Replication metrics are published once a minute at best. */
  readonly lookbackMinutes: number;
  readonly periodSeconds: number;
}

export interface MetricPoint {
  readonly value: number;
  readonly timestamp: Date;
}

/** Every datapoint of the window, newest first. */
export async function metricPoints(ctx: OpsContext, side: Side, query: MetricQuery): Promise<MetricPoint[]> {
  const end = new Date(ctx.clock.now());
  const start = new Date(end.getTime() - query.lookbackMinutes * 60_000);
  const dimensions: Dimension[] = Object.entries(query.dimensions).map(([Name, Value]) => ({ Name, Value }));
  const response = await awsCall(ctx, side, 'cloudwatch:GetMetricData', `metric ${query.namespace}/${query.metricName}`, () =>
    ctx.clients[side].cloudWatch.send(
      new GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        ScanBy: 'TimestampDescending',
        MetricDataQueries: [
          {
            Id: 'm',
            MetricStat: {
              Metric: { Namespace: query.namespace, MetricName: query.metricName, Dimensions: dimensions },
              Period: query.periodSeconds,
              Stat: query.stat,
            },
            ReturnData: true,
          },
        ],
      }),
    ),
  );
  const result = response.MetricDataResults?.[0];
  const values = result?.Values ?? [];
  const timestamps = result?.Timestamps ?? [];
  const points: MetricPoint[] = [];
  for (let i = 0; i < Math.min(values.length, timestamps.length); i++) points.push({ value: values[i], timestamp: new Date(timestamps[i]) });
  return points.sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime());
}

/** The newest datapoint, or undefined when the metric has no data in the window. */
export async function latestMetric(ctx: OpsContext, side: Side, query: MetricQuery): Promise<MetricPoint | undefined> {
  return (await metricPoints(ctx, side, query))[0];
}
