import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DependencyFailureKind } from './dependency-failure.ts';

/**
 * What an operator graphs, as CloudWatch metrics written in the embedded metric format (one
 * JSON log line per invocation; no API call, nothing to wait for). Namespace from
 * POWERTOOLS_METRICS_NAMESPACE (default `AiChatHistory`); POWERTOOLS_METRICS_DISABLED=true turns
 * them off (the local stack does, unless asked).
 *
 * Recorded during a request and published when its function ends (`publishMetrics`, called by
 * the route stack once background work is done). One Lambda environment serves one request at a
 * time, so a flush holds exactly that request's figures.
 */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || 'AiChatHistory',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'ai-chat',
});

/** Why an upstream call failed: a dependency's outage, or the model's own answer. */
export type FailureKind = DependencyFailureKind | 'model_key_rejected' | 'model_unavailable';

export interface ModelCallFigures {
  /** Milliseconds from the call to its first piece of text (absent when none came). */
  firstTokenMs?: number;
  /** Milliseconds from the call to its end, however it ended. */
  totalMs: number;
  promptTokens?: number;
  completionTokens?: number;
}

/** A model call's latency and tokens. */
export function recordModelCall(figures: ModelCallFigures) {
  metrics.addMetric('ModelCalls', MetricUnit.Count, 1);
  metrics.addMetric('ModelLatency', MetricUnit.Milliseconds, Math.round(figures.totalMs));
  if (figures.firstTokenMs !== undefined) {
    metrics.addMetric(
      'ModelFirstTokenLatency',
      MetricUnit.Milliseconds,
      Math.round(figures.firstTokenMs),
    );
  }
  if (figures.promptTokens !== undefined) {
    metrics.addMetric('PromptTokens', MetricUnit.Count, figures.promptTokens);
  }
  if (figures.completionTokens !== undefined) {
    metrics.addMetric('CompletionTokens', MetricUnit.Count, figures.completionTokens);
  }
}

/** An upstream failure, with its kind as a dimension (one metric line of its own). */
export function recordUpstreamFailure(kind: FailureKind) {
  const single = metrics.singleMetric();
  single.addDimension('Kind', kind);
  single.addMetric('UpstreamFailures', MetricUnit.Count, 1);
}

/** A request refused by the per-user limits (429). */
export function recordRateLimited() {
  metrics.addMetric('RateLimited', MetricUnit.Count, 1);
}

/** A repeated `Idempotency-Key` answered from the first run's record. */
export function recordReplay() {
  metrics.addMetric('IdempotentReplays', MetricUnit.Count, 1);
}

/** Writes what this invocation recorded (nothing when it recorded nothing). */
export function publishMetrics() {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
