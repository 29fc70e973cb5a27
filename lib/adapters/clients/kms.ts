import { KMSClient } from '@aws-sdk/client-kms';
import { CLIENT_PATIENCE } from './patience.ts';

let client: KMSClient | undefined;

/**
 * One KMS client per container, made on first use (so a bundle that never calls KMS carries
 * none); `AWS_ENDPOINT_URL_KMS` points it at the local KMS service.
 */
export const kms = () => {
  client ??= new KMSClient(CLIENT_PATIENCE);
  return client;
};
