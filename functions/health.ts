import { ServiceUnavailableError } from '#lib/errors.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { apiKeyStore } from '#lib/services.ts';

const keys = apiKeyStore();

/** 200 when the table answers; a read of a key no user has costs half a read unit. */
export const handler = httpRoute(
  async () => {
    await keys.get('health-check').catch((error: unknown) => {
      throw new ServiceUnavailableError('Storage is unavailable', { cause: error });
    });
    return ok({ status: 'ok' });
  },
  { auth: false },
);
