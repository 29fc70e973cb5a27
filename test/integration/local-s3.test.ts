import { afterAll, describe, expect, inject, it } from 'vitest';
import { createS3Client, S3FileStorage } from '#adapters/file-storage.ts';

/**
 * The S3 that `npm run dev` starts (test/support/global-setup.ts found it in the start banner),
 * as a browser on the web client's page uses it: a presigned PUT and GET from that origin.
 */
const endpoint = inject('s3Endpoint');
const webOrigin = inject('apiUrl');
const client = createS3Client({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
// The stack's default FILES_BUCKET, made when it started.
const files = new S3FileStorage({ client, bucket: 'ai-chat-files' });

afterAll(() => client.destroy());

describe('the S3 of npm run dev', () => {
  it('listens on 127.0.0.1 and takes a presigned PUT from the web client’s page, which reads it back byte for byte', async () => {
    const bytes = Buffer.from('%PDF-1.7 a small file\n');
    const key = `u/local-s3-test/${Date.now()}`;
    const upload = await files.presignUpload({
      key,
      size: bytes.length,
      mediaType: 'application/pdf',
      expiresInSeconds: 60,
    });

    const preflight = await fetch(upload.url, {
      method: 'OPTIONS',
      headers: {
        Origin: webOrigin,
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    const put = await fetch(upload.url, {
      method: upload.method,
      headers: { ...upload.headers, Origin: webOrigin },
      body: bytes,
    });
    const download = await files.presignDownload({
      key,
      filename: 'small.pdf',
      mediaType: 'application/pdf',
      expiresInSeconds: 60,
    });
    const got = await fetch(download, { headers: { Origin: webOrigin } });

    expect(new URL(endpoint).hostname).toBe('127.0.0.1');
    expect(preflight.status).toBe(200);
    expect(put.status).toBe(200);
    expect(put.headers.get('access-control-allow-origin')).toBe(webOrigin);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
    await files.delete([key]);
  });

  it('lets the origins in ALLOWED_ORIGINS upload too, and refuses an unsigned GET', async () => {
    const preflight = await fetch(`${endpoint}/ai-chat-files/u/any/key`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://app.example', 'Access-Control-Request-Method': 'PUT' },
    });
    const anonymous = await fetch(`${endpoint}/ai-chat-files/u/any/key`);

    expect(preflight.status).toBe(200);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toContain('<Code>AccessDenied</Code>');
  });
});
