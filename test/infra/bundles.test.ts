import { describe, expect, it } from 'vitest';
import { routes } from '#api/routes.ts';
import { bundleReport } from '../../infra/bundling.ts';

describe('function bundles', () => {
  it('carry the openai client exactly in the routes that call the model, and KMS exactly where they encrypt or decrypt', async () => {
    for (const route of routes) {
      const { packages } = await bundleReport(route.handler);

      expect(packages.includes('openai'), route.handler).toBe(route.model);
      expect(packages.includes('@aws-sdk/client-kms'), route.handler).toBe(route.kms.length > 0);
    }
  });
});
