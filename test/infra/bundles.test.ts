import { describe, expect, it } from 'vitest';
import { bundleReport } from '../../infra/bundling.ts';

describe('function bundles', () => {
  it('carry the openai client only in the route that calls the model', async () => {
    const send = await bundleReport('send-message');
    const history = await bundleReport('get-history');
    const clear = await bundleReport('clear-history');

    expect(send.packages).toContain('openai');
    expect(history.packages).not.toContain('openai');
    expect(clear.packages).not.toContain('openai');
  });

  it('carry the KMS client only in the routes that encrypt or decrypt', async () => {
    const withKms = ['send-message', 'put-api-key'];
    for (const handler of [
      'send-message',
      'put-api-key',
      'get-history',
      'clear-history',
      'get-api-key',
      'delete-api-key',
      'health',
    ]) {
      const report = await bundleReport(handler);
      expect(report.packages.includes('@aws-sdk/client-kms'), handler).toBe(
        withKms.includes(handler),
      );
    }
  });
});
