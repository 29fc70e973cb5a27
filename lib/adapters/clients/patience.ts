/**
 * How long an AWS client waits, so a hung dependency cannot hold a function until its own
 * timeout: 1 s to connect, 2 s for an answer, three attempts with the SDK's backoff. Worst case
 * about 7 s, inside the 10 s of the shortest route (DynamoDB answers in milliseconds).
 */
export const CLIENT_PATIENCE = {
  maxAttempts: 3,
  // Without `throwOnRequestTimeout` the handler only logs a warning and waits on.
  requestHandler: {
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    throwOnRequestTimeout: true,
    // A Lambda container serves one request at a time, but the local stack serves every request
    // from one process and one client: the agent's default of 50 sockets queued a burst's
    // requests, and the wait for a socket counted against the connection timeout (spurious 503s).
    httpAgent: { keepAlive: true, maxSockets: 1_000 },
  },
};
