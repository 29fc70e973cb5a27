import { describe, expect, it } from 'vitest';
import { dependencyFailureKind } from '#commons/dependency-failure.ts';

describe('dependencyFailureKind', () => {
  it('names how a dependency failed, and nothing for a bug', () => {
    const error = (fields: Record<string, unknown>) => Object.assign(new Error('x'), fields);
    expect(dependencyFailureKind(error({ name: 'ProvisionedThroughputExceededException' }))).toBe(
      'throttled',
    );
    expect(dependencyFailureKind(error({ $retryable: { throttling: true } }))).toBe('throttled');
    expect(dependencyFailureKind(error({ name: 'TimeoutError' }))).toBe('timeout');
    expect(dependencyFailureKind(error({ cause: { code: 'ECONNREFUSED' } }))).toBe('unreachable');
    expect(dependencyFailureKind(error({ name: 'KMSInternalException' }))).toBe('server_error');
    expect(dependencyFailureKind(error({ $fault: 'server' }))).toBe('server_error');
    expect(dependencyFailureKind(new TypeError('a bug'))).toBeUndefined();
    expect(dependencyFailureKind(error({ name: 'ConditionalCheckFailedException' }))).toBe(
      undefined,
    );
  });
});
