import type { StreamLeases } from '#chat/leases.ts';
import { logger } from '#commons/logger.ts';
import type { StreamResult } from './route.ts';

/**
 * Runs a streaming route's logic under a lease (429 when the user streams or follows as many
 * replies as the cap allows already); the lease is released when the route's background work
 * (writing the reply, or following it) is done, or at once if it fails before streaming.
 */
export async function underLease(
  leases: StreamLeases,
  userId: string,
  logic: () => Promise<StreamResult>,
): Promise<StreamResult> {
  const lease = await leases.open(userId);
  const release = () =>
    lease.release().catch((error: Error) => {
      // A lease that could not be released lapses by itself at the function's timeout.
      logger.warn('could not release a stream lease', { error: { name: error.name } });
    });
  let result: StreamResult;
  try {
    result = await logic();
  } catch (error) {
    await release();
    throw error;
  }
  return { ...result, background: Promise.resolve(result.background).finally(release) };
}
