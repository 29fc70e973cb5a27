import { KMSClient } from '@aws-sdk/client-kms';

/** One KMS client per container; `AWS_ENDPOINT_URL_KMS` points it at the local KMS service. */
export const kms = new KMSClient({ maxAttempts: 3 });
