import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { createS3Client, type PresignedUpload, S3FileStorage } from '#adapters/file-storage.ts';
import { type LocalS3, startLocalS3 } from '../../infra/local/local-s3.ts';

export const TEST_BUCKET = 'test-files';
/** The origin the test S3 lets browsers PUT and GET from. */
export const WEB_ORIGIN = 'http://127.0.0.1:3000';
export const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** A 1×1 PNG's first 33 bytes: enough to stand for an image. */
export const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489',
  'hex',
);

/** A local S3 of a test file's own (the door and s3rver, in a temporary directory). */
export interface TestS3 {
  endpoint: string;
  /** The adapter's client, on this S3. */
  client: S3Client;
  /** The S3 adapter on TEST_BUCKET. */
  files: S3FileStorage;
  /** Another client of this S3, as the adapter makes it, with these overrides. */
  clientWith(extra: S3ClientConfig): S3Client;
  /** Puts small objects with the SDK, header-signed (fixtures, not presigned uploads). */
  putObjects(keys: string[]): Promise<void>;
  /** Whether HeadObject finds the key (false on its 404). */
  exists(key: string): Promise<boolean>;
  /** The adapter's presigned PUT of a PNG of PNG's size, for five minutes. */
  upload(key: string): Promise<PresignedUpload>;
  /** Stops it and starts it again on the same directory (on another port). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestS3(): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'local-s3-'));
  const start = () =>
    startLocalS3({
      directory,
      credentials: CREDENTIALS,
      buckets: [TEST_BUCKET],
      corsOrigins: [WEB_ORIGIN],
    });
  let server: LocalS3 = await start();
  const clientOf = (endpoint: string, extra: S3ClientConfig = {}) =>
    createS3Client({
      endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      maxAttempts: 1,
      ...extra,
    });
  const on = (endpoint: string) => {
    const client = clientOf(endpoint);
    return { endpoint, client, files: new S3FileStorage({ client, bucket: TEST_BUCKET }) };
  };
  const s3: TestS3 = {
    ...on(server.endpoint),
    clientWith: (extra) => clientOf(s3.endpoint, extra),
    putObjects: async (keys) => {
      await Promise.all(
        keys.map((Key) =>
          s3.client.send(
            new PutObjectCommand({ Bucket: TEST_BUCKET, Key, Body: Buffer.from(Key) }),
          ),
        ),
      );
    },
    exists: (key) =>
      s3.client.send(new HeadObjectCommand({ Bucket: TEST_BUCKET, Key: key })).then(
        () => true,
        (error: { $metadata?: { httpStatusCode?: number } }) => {
          if (error.$metadata?.httpStatusCode === 404) return false;
          throw error;
        },
      ),
    upload: (key) =>
      s3.files.presignUpload({
        key,
        size: PNG.length,
        mediaType: 'image/png',
        expiresInSeconds: 300,
      }),
    restart: async () => {
      await server.close();
      server = await start();
      s3.client.destroy();
      Object.assign(s3, on(server.endpoint));
    },
    close: async () => {
      s3.client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
  return s3;
}

/** What `send` got back. */
export interface Answer {
  status: number;
  /** S3's error code, from the XML body. */
  code?: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP request with exactly these headers and bytes (fetch would add its own). */
export function send(
  method: string,
  url: string,
  { headers = {}, body }: { headers?: Record<string, string>; body?: Buffer } = {},
): Promise<Answer> {
  return new Promise((done, fail) => {
    const target = new URL(url);
    const req = request(
      {
        method,
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks);
          const code = /<Code>([^<]+)<\/Code>/.exec(text.toString('utf8'))?.[1];
          done({ status: res.statusCode ?? 0, code, headers: res.headers, body: text });
        });
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

/** A PUT of these bytes, with this Content-Type or none. */
export const put = (url: string, body: Buffer, contentType?: string) =>
  send('PUT', url, { headers: contentType ? { 'Content-Type': contentType } : {}, body });
