import type { healthAnswer } from '#api/schemas.ts';
import { authSettings } from '#commons/config.ts';
import { ConfigError, ServiceUnavailableError } from '#commons/errors.ts';
import { checkAuthConfig } from '#http/auth.ts';
import { fail, ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { accountStore } from '#wiring/stores.ts';

const accounts = accountStore();
const auth = authSettings();

/**
 * 200 when the table answers and tokens can be verified; 503 naming the problem (never a
 * secret) otherwise. A read of a key no user has costs half a read unit.
 */
export const handler = httpRoute(
  async () => {
    try {
      await checkAuthConfig(auth);
    } catch (error) {
      if (error instanceof ConfigError) {
        return fail(
          'SERVICE_UNAVAILABLE',
          `Misconfigured: ${error.message}`,
          {},
          {
            status: 'misconfigured',
          },
        );
      }
      throw error;
    }
    await accounts.getApiKey('health-check').catch((error: unknown) => {
      throw new ServiceUnavailableError('Storage is unavailable', { cause: error });
    });
    return ok<typeof healthAnswer>({ status: 'ok' });
  },
  { auth: false },
);
