/**
 * How long an AWS client waits, so a hung dependency cannot hold a function until its own
 * timeout: 1 s to connect, 2 s for an answer, three attempts with the SDK's backoff. Worst case
 * about 7 s, inside the 10 s of the shortest route (DynamoDB answers in milliseconds).
 */
export const CLIENT_PATIENCE = {
  maxAttempts: 3,
  // Without `throwOnRequestTimeout` the handler only logs a warning and waits on.
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
};
