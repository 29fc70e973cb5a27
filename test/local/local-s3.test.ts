import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalS3, startLocalS3 } from '../../infra/local/local-s3.ts';
import { createS3Client, S3FileStorage } from '../../lib/adapters/file-storage.ts';

/**
 * The local stack's S3 (the verifying door in front of s3rver), started alone on 127.0.0.1, and
 * the S3 adapter against it, both through the real AWS SDK: what S3 refuses, it refuses.
 */
const BUCKET = 'test-files';
const WEB_ORIGIN = 'http://127.0.0.1:3000';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const directory = mkdtempSync(join(tmpdir(), 'local-s3-'));
let s3: LocalS3;
let client: S3Client;
let files: S3FileStorage;

const start = () =>
  startLocalS3({ directory, credentials, buckets: [BUCKET], corsOrigins: [WEB_ORIGIN] });
const clientFor = (endpoint: string, extra: ConstructorParameters<typeof S3Client>[0] = {}) =>
  createS3Client({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1, ...extra });

beforeAll(async () => {
  s3 = await start();
  client = clientFor(s3.endpoint);
  files = new S3FileStorage({ client, bucket: BUCKET });
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  rmSync(directory, { recursive: true, force: true });
});

interface Answer {
  status: number;
  /** S3's error code, from the XML body. */
  code?: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP request with exactly these headers and bytes (fetch would add its own). */
function send(
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

/** Presigns on a clock ten minutes slow (this process's alone), so a minute's URL is expired now. */
async function signedTenMinutesAgo<T>(presign: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now() - 10 * 60_000);
  try {
    return await presign();
  } finally {
    vi.useRealTimers();
  }
}

const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489',
  'hex',
);

const upload = (key: string, mediaType = 'image/png', size = PNG.length) =>
  files.presignUpload({ key, size, mediaType, expiresInSeconds: 300 });

const put = (url: string, body: Buffer, contentType?: string) =>
  send('PUT', url, { headers: contentType ? { 'Content-Type': contentType } : {}, body });

/** Puts small objects with the SDK, header-signed (as a fixture, not through a presigned URL). */
const putObjects = (keys: string[]) =>
  Promise.all(
    keys.map((Key) =>
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Buffer.from(Key) })),
    ),
  );

const exists = (key: string) =>
  client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
    () => true,
    (error: { $metadata?: { httpStatusCode?: number } }) => {
      if (error.$metadata?.httpStatusCode === 404) return false;
      throw error;
    },
  );

describe('the S3 adapter, through the local S3', () => {
  it('stores the declared bytes and type with the presigned PUT, and the presigned GET returns them byte for byte', async () => {
    const key = 'u/alice/f-1';
    const up = await upload(key);

    const stored = await send(up.method, up.url, { headers: up.headers, body: PNG });
    const download = await files.presignDownload({
      key,
      filename: 'screenshot.png',
      mediaType: 'image/png',
      expiresInSeconds: 60,
    });
    const got = await send('GET', download);

    expect(up.headers).toEqual({ 'Content-Type': 'image/png' });
    expect(stored.status).toBe(200);
    expect(got.status).toBe(200);
    expect(got.body.equals(PNG)).toBe(true);
    expect(got.headers['content-type']).toBe('image/png');
    expect(await files.head(key)).toEqual({ size: PNG.length, mediaType: 'image/png' });
    expect(Buffer.from((await files.read(key)) ?? []).equals(PNG)).toBe(true);
  });

  it('signs the upload’s size and type, and puts no checksum parameter in either URL (S3 would answer BadDigest)', async () => {
    const up = new URL((await upload('u/alice/f-params')).url);
    const down = new URL(
      await files.presignDownload({
        key: 'u/alice/f-params',
        filename: 'a.png',
        mediaType: 'image/png',
        expiresInSeconds: 60,
      }),
    );
    const checksums = (url: URL) => [...url.searchParams.keys()].filter((k) => /checksum/i.test(k));

    expect(up.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(up.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(checksums(up)).toEqual([]);
    expect(checksums(down)).toEqual([]);
    expect(up.pathname).toBe(`/${BUCKET}/u/alice/f-params`);
  });

  const same = (url: string) => url;
  const tamper = (url: string) =>
    url.replace(
      /X-Amz-Signature=([0-9a-f]+)/,
      (_, s: string) => `X-Amz-Signature=${s.slice(0, -1)}${s.endsWith('0') ? '1' : '0'}`,
    );

  it.each([
    {
      what: 'one byte more',
      body: Buffer.concat([PNG, Buffer.from('x')]),
      type: 'image/png',
      url: same,
    },
    { what: 'one byte fewer', body: PNG.subarray(1), type: 'image/png', url: same },
    { what: 'another Content-Type', body: PNG, type: 'text/html', url: same },
    { what: 'no Content-Type', body: PNG, type: undefined, url: same },
    { what: 'a tampered signature', body: PNG, type: 'image/png', url: tamper },
    {
      what: 'the signature moved to another key',
      body: PNG,
      type: 'image/png',
      url: (u: string) => u.replace('/u/alice/', '/u/mallory/'),
    },
    {
      what: 'X-Amz-Expires raised to a week',
      body: PNG,
      type: 'image/png',
      url: (u: string) => u.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604800'),
    },
  ])(
    'refuses a presigned PUT with $what (403 SignatureDoesNotMatch), and stores nothing',
    async ({ what, body, type, url }) => {
      const key = `u/alice/refused-${what.replaceAll(' ', '-')}`;
      const up = await upload(key);

      const answer = await put(url(up.url), body, type);

      expect(answer).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
      expect(await files.head(key)).toBeUndefined();
      expect(await exists(key.replace('/alice/', '/mallory/'))).toBe(false);
    },
  );

  it('refuses an upload or download URL once it has expired (403 AccessDenied)', async () => {
    const up = await signedTenMinutesAgo(() =>
      files.presignUpload({
        key: 'u/alice/late',
        size: PNG.length,
        mediaType: 'image/png',
        expiresInSeconds: 60,
      }),
    );
    const down = await signedTenMinutesAgo(() =>
      files.presignDownload({
        key: 'u/alice/f-1',
        filename: 'f.png',
        mediaType: 'image/png',
        expiresInSeconds: 60,
      }),
    );

    const putAnswer = await put(up.url, PNG, 'image/png');
    const getAnswer = await send('GET', down);

    expect(putAnswer).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(putAnswer.body.toString()).toContain('Request has expired');
    expect(getAnswer).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await files.head('u/alice/late')).toBeUndefined();
  });

  it('refuses an unsigned PUT or GET (403 AccessDenied)', async () => {
    await putObjects(['u/alice/private']);

    const putAnswer = await put(`${s3.endpoint}/${BUCKET}/u/alice/anonymous`, PNG, 'image/png');
    const getAnswer = await send('GET', `${s3.endpoint}/${BUCKET}/u/alice/private`);

    expect(putAnswer).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(getAnswer).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await exists('u/alice/anonymous')).toBe(false);
  });

  it('names the download after the file, safely: shown inline for an image, saved for Markdown', async () => {
    await putObjects(['u/alice/notes']);
    const name = 'my "notes"\r\nSet-Cookie: x=1/../résumé 100%.md';

    const shown = await send(
      'GET',
      await files.presignDownload({
        key: 'u/alice/f-1',
        filename: 'a b.png',
        mediaType: 'image/png',
        expiresInSeconds: 60,
      }),
    );
    const saved = await send(
      'GET',
      await files.presignDownload({
        key: 'u/alice/notes',
        filename: name,
        mediaType: 'text/markdown',
        expiresInSeconds: 60,
      }),
    );

    expect(shown.headers['content-disposition']).toBe(
      `inline; filename="a b.png"; filename*=UTF-8''a%20b.png`,
    );
    expect(saved.status).toBe(200);
    expect(saved.headers['set-cookie']).toBeUndefined();
    expect(saved.headers['content-type']).toBe('text/markdown');
    expect(saved.headers['content-disposition']).toBe(
      `attachment; filename="my _notes___Set-Cookie: x=1_.._r_sum_ 100_.md"; filename*=UTF-8''my%20_notes___Set-Cookie%3A%20x%3D1_.._r%C3%A9sum%C3%A9%20100%25.md`,
    );
  });

  it('answers undefined for head and read of a key with nothing stored', async () => {
    expect(await files.head('u/alice/never')).toBeUndefined();
    expect(await files.read('u/alice/never')).toBeUndefined();
  });

  it('deletes the objects it is given, more than one batch of 1,000 of them, and no other', async () => {
    await putObjects(['u/bob/a', 'u/bob/b', 'u/bob/keep']);
    // Keys with nothing stored fill the first batch: S3 takes at most 1,000 keys a call.
    const absent = Array.from({ length: 1_000 }, (_, i) => `u/bob/absent-${i}`);

    await files.delete([...absent, 'u/bob/a', 'u/bob/b', 'u/bob/a']);

    expect(await exists('u/bob/a')).toBe(false);
    expect(await exists('u/bob/b')).toBe(false);
    expect(await exists('u/bob/keep')).toBe(true);
  });

  it('deletes everything under a prefix and nothing beside it, and refuses a prefix that is not a folder', async () => {
    await putObjects(['u/carol/r1/a', 'u/carol/r1/b', 'u/carol/r2/c', 'u/carol2/d', 'u/carol']);

    const deleted = await files.deletePrefix('u/carol/');

    expect(deleted).toBe(3);
    for (const key of ['u/carol/r1/a', 'u/carol/r1/b', 'u/carol/r2/c'])
      expect(await exists(key)).toBe(false);
    expect(await exists('u/carol2/d')).toBe(true);
    expect(await exists('u/carol')).toBe(true);
    await expect(files.deletePrefix('u/carol')).rejects.toThrow(/ending with '\/'/);
    await expect(files.deletePrefix('')).rejects.toThrow(/ending with '\/'/);
    expect(await exists('u/carol2/d')).toBe(true);
  });
});

describe('the local S3’s door, which refuses what S3 refuses', () => {
  it('refuses a URL presigned with the SDK’s default checksums (an empty body’s CRC32), as S3 does (400 BadDigest)', async () => {
    const lax = clientFor(s3.endpoint, {
      requestChecksumCalculation: 'WHEN_SUPPORTED',
      responseChecksumValidation: 'WHEN_SUPPORTED',
    });
    const url = await getSignedUrl(
      lax,
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'u/alice/lax',
        ContentLength: PNG.length,
        ContentType: 'image/png',
      }),
      { expiresIn: 60, signableHeaders: new Set(['content-type']) },
    );

    const answer = await put(url, PNG, 'image/png');

    expect(new URL(url).searchParams.get('x-amz-checksum-crc32')).toBe('AAAAAA==');
    expect(answer).toMatchObject({ status: 400, code: 'BadDigest' });
    expect(await exists('u/alice/lax')).toBe(false);
  });

  it('stores nothing of a body that stops short of its Content-Length', async () => {
    const { url } = await upload('u/alice/cut-short');
    const target = new URL(url);

    await new Promise<void>((done) => {
      const socket = connect(Number(target.port), target.hostname, () => {
        socket.write(
          `PUT ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: image/png\r\nContent-Length: ${PNG.length}\r\n\r\n`,
        );
        socket.write(PNG.subarray(0, PNG.length - 5));
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => done());
      socket.on('error', () => undefined);
    });

    expect(await exists('u/alice/cut-short')).toBe(false);
  });

  it('refuses a header-signed request whose body changed after signing, or that was signed with another secret', async () => {
    const swapping = clientFor(s3.endpoint);
    swapping.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { body: unknown }).body = Buffer.from('MY BYTES');
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low' },
    );
    const forger = clientFor(s3.endpoint, {
      credentials: { ...credentials, secretAccessKey: 'guess' },
    });
    const putWith = (c: S3Client, Key: string) =>
      c
        .send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Buffer.from('my bytes') }))
        .catch((e: { name: string }) => e.name);

    expect(await putWith(swapping, 'u/alice/swapped')).toBe('XAmzContentSHA256Mismatch');
    expect(await putWith(forger, 'u/alice/forged')).toBe('SignatureDoesNotMatch');
    expect(await exists('u/alice/swapped')).toBe(false);
    expect(await exists('u/alice/forged')).toBe(false);
  });

  it('refuses a presigned PUT given an x-amz-* header it was not signed with (as x-amz-acl: public-read)', async () => {
    const { url } = await upload('u/alice/acl');

    const answer = await send('PUT', url, {
      headers: { 'Content-Type': 'image/png', 'x-amz-acl': 'public-read' },
      body: PNG,
    });

    expect(answer).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await exists('u/alice/acl')).toBe(false);
  });

  it('pages a listing with continuation tokens (s3rver’s single DES, under OpenSSL 3)', async () => {
    await putObjects(['u/dave/1', 'u/dave/2', 'u/dave/3', 'u/dave/4', 'u/dave/5']);
    const pages: number[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: BUCKET,
          Prefix: 'u/dave/',
          MaxKeys: 2,
          ContinuationToken: token,
        }),
      );
      pages.push(page.Contents?.length ?? 0);
      token = page.NextContinuationToken;
    } while (token && pages.length < 10);

    expect(pages).toEqual([2, 2, 1]);
  });

  it('refuses a DeleteObjects of more than 1,000 keys (400 MalformedXML), as S3 does', async () => {
    await putObjects(['u/erin/a']);
    const keys = [...Array.from({ length: 1_000 }, (_, i) => `u/erin/x-${i}`), 'u/erin/a'];

    const answer = await client
      .send(
        new DeleteObjectsCommand({
          Bucket: BUCKET,
          Delete: { Objects: keys.map((Key) => ({ Key })) },
        }),
      )
      .catch((e: { name: string }) => e.name);

    expect(answer).toBe('MalformedXML');
    expect(await exists('u/erin/a')).toBe(true);
  });

  it('lets the web client’s origin preflight a PUT and read a refusal, and no other origin', async () => {
    const { url } = await upload('u/alice/cors');
    const preflight = (origin: string) =>
      send('OPTIONS', url, {
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'PUT',
          'Access-Control-Request-Headers': 'content-type',
        },
      });

    const allowed = await preflight(WEB_ORIGIN);
    const other = await preflight('http://evil.example');
    const refused = await send('PUT', url, {
      headers: { 'Content-Type': 'text/html', Origin: WEB_ORIGIN },
      body: PNG,
    });
    const stored = await send('PUT', url, {
      headers: { 'Content-Type': 'image/png', Origin: WEB_ORIGIN },
      body: PNG,
    });

    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-methods']).toContain('PUT');
    expect(other.status).toBe(403);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(refused.status).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBe(WEB_ORIGIN);
    expect(stored.status).toBe(200);
    expect(stored.headers['access-control-allow-origin']).toBe(WEB_ORIGIN);
    expect(stored.headers['access-control-expose-headers']).toContain('ETag');
  });

  it('keeps the objects across a restart on the same directory', async () => {
    await putObjects(['u/frank/kept']);

    await s3.close();
    s3 = await start();
    client.destroy();
    client = clientFor(s3.endpoint);
    files = new S3FileStorage({ client, bucket: BUCKET });

    expect(Buffer.from((await files.read('u/frank/kept')) ?? []).toString()).toBe('u/frank/kept');
    expect(await files.head('u/alice/f-1')).toEqual({ size: PNG.length, mediaType: 'image/png' });
  });

  it('names the port and S3_PORT when its port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const { port } = taken.address() as AddressInfo;
    try {
      await expect(
        startLocalS3({ directory: join(directory, 'other'), port, credentials, buckets: [BUCKET] }),
      ).rejects.toThrow(`Port ${port} on 127.0.0.1 (for the local S3) is already in use`);
    } finally {
      taken.close();
    }
  });
});
