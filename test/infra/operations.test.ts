import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { routes } from '#api/routes.ts';
import { DEFAULT_CONFIG, kindOf, RESERVED_CONCURRENCY_SETTING } from '../../infra/config.ts';
import { ALARM_THRESHOLDS, TABLE_OPERATIONS } from '../../infra/stack.ts';
import { functionOf, idsOf, type Resource, synth } from './synth.ts';

type MetricStat = {
  Metric: {
    Namespace: string;
    MetricName: string;
    Dimensions?: { Name: string; Value: unknown }[];
  };
  Stat: string;
};
type Query = { Id: string; Expression?: string; MetricStat?: MetricStat };

let resources: Record<string, Resource>;
let alarms: Resource[];
let topic: string;

/** The metrics an alarm watches: its own, or those of its expression. */
function metricsOf(alarm: Resource) {
  const p = alarm.Properties;
  if (p.MetricName) {
    return [
      {
        namespace: p.Namespace,
        name: p.MetricName,
        dimensions: p.Dimensions ?? [],
        stat: p.ExtendedStatistic ?? p.Statistic,
      },
    ];
  }
  return (p.Metrics as Query[])
    .filter((q) => q.MetricStat)
    .map((q) => ({
      namespace: q.MetricStat?.Metric.Namespace,
      name: q.MetricStat?.Metric.MetricName,
      dimensions: q.MetricStat?.Metric.Dimensions ?? [],
      stat: q.MetricStat?.Stat,
    }));
}
const expressionOf = (alarm: Resource) =>
  (alarm.Properties.Metrics as Query[] | undefined)?.find((q) => q.Expression)?.Expression ?? '';
const fnRef = (dimensions: { Name: string; Value: unknown }[]) =>
  (dimensions.find((d) => d.Name === 'FunctionName')?.Value as { Ref: string } | undefined)?.Ref;
const alarmsOn = (fnId: string, name: string) =>
  alarms.filter((a) => metricsOf(a).some((m) => m.name === name && fnRef(m.dimensions) === fnId));

/**
 * What the functions write, as CloudWatch will read it: `lib/commons/metrics.ts` run with a deployed
 * function's environment, its embedded-metric lines captured.
 */
async function writtenMetrics(env: Record<string, unknown>) {
  for (const [name, value] of Object.entries(env))
    if (typeof value === 'string') vi.stubEnv(name, value);
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    vi.resetModules();
    const m = await import('#commons/metrics.ts');
    m.recordModelCall({ firstTokenMs: 120, totalMs: 900, promptTokens: 10, completionTokens: 20 });
    m.recordUpstreamFailure('model_unavailable');
    m.recordRateLimited();
    m.recordReplay();
    m.publishMetrics();
  } finally {
    write.mockRestore();
    vi.unstubAllEnvs();
  }
  const written = new Map<string, { namespace: string; dimensions: string[] }>();
  for (const line of lines
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))) {
    const emf = JSON.parse(line);
    for (const directive of emf._aws.CloudWatchMetrics) {
      for (const metric of directive.Metrics) {
        written.set(metric.Name, {
          namespace: directive.Namespace,
          dimensions: directive.Dimensions.flat()
            .map((d: string) => `${d}=${emf[d]}`)
            .sort(),
        });
      }
    }
  }
  return written;
}

beforeAll(() => {
  ({ resources } = synth({ allowedOrigins: 'https://app.example', alarmEmail: 'ops@example.com' }));
  alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
  [topic] = idsOf(resources, 'AWS::SNS::Topic') as [string];
}, 120_000);

describe('alarms', () => {
  it('notify the alarm topic, when they fire and when they clear; the topic is encrypted and mails the configured address', () => {
    expect(alarms.length).toBeGreaterThan(routes.length);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions, alarm.Properties.AlarmDescription).toEqual([
        { Ref: topic },
      ]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topic }]);
      expect(alarm.Properties.AlarmDescription).toMatch(/^.{40,}$/);
    }
    expect(resources[topic]?.Properties.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^OpsKey/), 'Arn'],
    });
    const subscription = Object.values(resources).find((r) => r.Type === 'AWS::SNS::Subscription');
    expect(subscription?.Properties).toMatchObject({
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topic },
    });
  });

  it('notify an existing topic instead, when its ARN is given', () => {
    const arn = 'arn:aws:sns:eu-west-1:123456789012:ops-pager';
    const { resources: r } = synth({ alarmTopicArn: arn });
    const own = Object.values(r).filter((x) => x.Type === 'AWS::CloudWatch::Alarm');

    expect(idsOf(r, 'AWS::SNS::Topic')).toEqual([]);
    for (const alarm of own) expect(alarm.Properties.AlarmActions).toEqual([arn]);
  });

  it('fire on a 5xx rate (and an outage at low traffic) and on a 4xx rate, not on single errors', () => {
    const api5xx = alarms.find((a) => expressionOf(a).includes('errors >= '));
    const api4xx = alarms.filter((a) => metricsOf(a).some((m) => m.name === '4XXError'));

    expect(
      metricsOf(api5xx as Resource)
        .map((m) => m.name)
        .sort(),
    ).toEqual(['5XXError', 'Count']);
    expect(expressionOf(api5xx as Resource)).toBe(
      `IF(requests >= ${ALARM_THRESHOLDS.minRequests}, 100 * errors / requests, IF(errors >= ${ALARM_THRESHOLDS.api5xxCount}, 100, 0))`,
    );
    expect(api5xx?.Properties).toMatchObject({
      Threshold: ALARM_THRESHOLDS.api5xxPercent,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
    });
    expect(api4xx).toHaveLength(1);
    expect(api4xx[0]?.Properties.Threshold).toBe(ALARM_THRESHOLDS.api4xxPercent);
  });

  it('watch the p95 latency of every buffered route, at a threshold for its kind', () => {
    for (const route of routes) {
      const fnId = functionOf(resources, route.method, route.path);
      const latency = alarmsOn(fnId, 'Duration');

      if (route.stream) {
        // A stream lasts as long as the reply or the export it carries.
        expect(latency, route.handler).toEqual([]);
        continue;
      }
      expect(latency, route.handler).toHaveLength(1);
      expect(latency[0]?.Properties).toMatchObject({
        ExtendedStatistic: 'p95',
        Threshold: route.model
          ? ALARM_THRESHOLDS.modelRouteP95Ms
          : ALARM_THRESHOLDS.requestRouteP95Ms,
        EvaluationPeriods: 3,
      });
      expect(latency[0]?.Properties.Threshold).toBeLessThan(route.timeoutSeconds * 1000);
    }
  });

  it("watch every function's crashes, timeouts and throttles together, and its concurrency near its reservation", () => {
    for (const route of routes) {
      const fnId = functionOf(resources, route.method, route.path);
      const [failures] = alarmsOn(fnId, 'Errors');
      const [concurrency] = alarmsOn(fnId, 'ConcurrentExecutions');
      const reserved = DEFAULT_CONFIG[RESERVED_CONCURRENCY_SETTING[kindOf(route)]];

      expect(
        metricsOf(failures as Resource)
          .map((m) => m.name)
          .sort(),
        route.handler,
      ).toEqual(['Errors', 'Throttles']);
      expect(failures?.Properties.Threshold).toBe(ALARM_THRESHOLDS.functionFailures);
      expect(concurrency?.Properties, route.handler).toMatchObject({
        Statistic: 'Maximum',
        Period: 60,
        Threshold: Math.ceil((reserved * ALARM_THRESHOLDS.concurrencyPercent) / 100),
      });
      expect(concurrency?.Properties.Threshold).toBeLessThanOrEqual(reserved);
      expect(concurrency?.Properties.AlarmDescription).toContain(
        RESERVED_CONCURRENCY_SETTING[kindOf(route)],
      );
    }
  });

  it('watch DynamoDB throttling on every table operation the code calls, BatchGetItem and TransactWriteItems included', () => {
    // What lib/ sends, read from its source: every `new XCommand(` of the DynamoDB clients.
    const DOCUMENT_COMMANDS: Record<string, string> = {
      Get: 'GetItem',
      Put: 'PutItem',
      Update: 'UpdateItem',
      Delete: 'DeleteItem',
      Query: 'Query',
      Scan: 'Scan',
      BatchGet: 'BatchGetItem',
      BatchWrite: 'BatchWriteItem',
      TransactWrite: 'TransactWriteItems',
      TransactGet: 'TransactGetItems',
    };
    const used = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith('.ts')) {
          const source = readFileSync(path, 'utf8');
          if (!/from '@aws-sdk\/(lib|client)-dynamodb'/.test(source)) continue;
          for (const [, name] of source.matchAll(/new (\w+)Command\(/g)) {
            used.add(DOCUMENT_COMMANDS[name as string] ?? (name as string));
          }
        }
      }
    };
    walk('lib');
    const throttles = alarms.find((a) => metricsOf(a).some((m) => m.name === 'ThrottledRequests'));
    const watched = metricsOf(throttles as Resource).map(
      (m) => m.dimensions.find((d: { Name: string }) => d.Name === 'Operation')?.Value,
    );

    expect(used).toContain('BatchGetItem');
    expect(used).toContain('TransactWriteItems');
    expect([...watched].sort()).toEqual([...used].sort());
    expect([...TABLE_OPERATIONS].sort()).toEqual([...used].sort());
    expect(throttles?.Properties.Threshold).toBe(ALARM_THRESHOLDS.dynamoThrottles);
  });

  it("watch the model's failure rate and first-token latency in the metrics exactly as the functions write them", async () => {
    const send = resources[functionOf(resources, 'POST', '/api/chat/ai/send')];
    const written = await writtenMetrics(send?.Properties.Environment.Variables);
    const custom = alarms.flatMap((a) =>
      metricsOf(a).filter((m) => m.namespace !== undefined && !m.namespace.startsWith('AWS/')),
    );

    expect(written.get('ModelFirstTokenLatency')?.namespace).toBe('AiChatHistory');
    for (const metric of custom) {
      const wrote = written.get(metric.name);
      expect(wrote, metric.name).toBeDefined();
      expect(metric.namespace).toBe(wrote?.namespace);
      expect(
        metric.dimensions
          .map((d: { Name: string; Value: unknown }) => `${d.Name}=${d.Value}`)
          .sort(),
        metric.name,
      ).toEqual(wrote?.dimensions);
    }
    const failureRate = alarms.find((a) => metricsOf(a).some((m) => m.name === 'UpstreamFailures'));
    expect(
      metricsOf(failureRate as Resource)
        .map((m) => m.name)
        .sort(),
    ).toEqual(['ModelCalls', 'UpstreamFailures']);
    expect(failureRate?.Properties.Threshold).toBe(ALARM_THRESHOLDS.modelFailurePercent);
    const firstToken = alarms.find((a) =>
      metricsOf(a).some((m) => m.name === 'ModelFirstTokenLatency'),
    );
    expect(firstToken?.Properties).toMatchObject({
      ExtendedStatistic: 'p95',
      Threshold: ALARM_THRESHOLDS.firstTokenP95Ms,
    });
  });

  it('never fire on a single event: every threshold is a rate, a percentile or a count above 1', () => {
    for (const alarm of alarms) {
      const { Threshold, AlarmDescription } = alarm.Properties;
      const reservedOne = /of its 1 reserved/.test(AlarmDescription);
      if (!reservedOne) expect(Threshold, AlarmDescription).toBeGreaterThan(1);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });
});

describe('the dashboard', () => {
  it("graphs the API, the model's metrics, every function and the table, and shows every alarm", async () => {
    const [dashboard] = Object.values(resources).filter(
      (r) => r.Type === 'AWS::CloudWatch::Dashboard',
    );
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    const send = resources[functionOf(resources, 'POST', '/api/chat/ai/send')];
    const written = await writtenMetrics(send?.Properties.Environment.Variables);

    for (const name of written.keys()) expect(body, name).toContain(`\\"${name}\\"`);
    for (const name of [
      '5XXError',
      '4XXError',
      'Latency',
      'Duration',
      'ConcurrentExecutions',
      'Throttles',
      'ThrottledRequests',
      'ConsumedWriteCapacityUnits',
    ]) {
      expect(body, name).toContain(name);
    }
    for (const route of routes) {
      expect(body, route.handler).toContain(`"${functionOf(resources, route.method, route.path)}"`);
    }
    for (const id of idsOf(resources, 'AWS::CloudWatch::Alarm'))
      expect(body, id).toContain(`"${id}"`);
  });
});
