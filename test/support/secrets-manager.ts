import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSecretsManager {
  /** For `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  endpoint: string;
  /** GetSecretValue calls answered so far. */
  calls(): number;
  /** While down, every connection is cut (an outage). */
  down(value: boolean): void;
  close(): Promise<void>;
}

/**
 * A stand-in for Secrets Manager's JSON protocol (GetSecretValue only) that the real
 * `@aws-sdk/client-secrets-manager` talks to over HTTP; unknown ids get ResourceNotFound.
 */
export async function startFakeSecretsManager(
  secrets: Record<string, string>,
): Promise<FakeSecretsManager> {
  let calls = 0;
  let isDown = false;
  const server = createServer((req, res) => {
    if (isDown) {
      req.socket.destroy();
      return;
    }
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      calls += 1;
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      const value = secrets[SecretId];
      res.writeHead(value ? 200 : 400, { 'Content-Type': 'application/x-amz-json-1.1' });
      res.end(
        JSON.stringify(
          value
            ? { ARN: SecretId, Name: SecretId.split(':').at(-1), SecretString: value }
            : { __type: 'ResourceNotFoundException', message: 'not found' },
        ),
      );
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: () => calls,
    down: (value) => {
      isDown = value;
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
