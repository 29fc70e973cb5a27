import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3 } from '../../infra/local/local-s3.ts';
import {
  CREDENTIALS,
  PNG,
  put,
  send,
  startTestS3,
  TEST_BUCKET,
  type TestS3,
  WEB_ORIGIN,
} from '../support/local-s3.ts';

/**
 * The local stack's S3 started alone on 127.0.0.1, through the real AWS SDK: its door refuses
 * what S3 refuses beyond the adapter's own URLs (file-storage.test.ts), and mends what s3rver
 * alone gets wrong.
 */
let s3: TestS3;

beforeAll(async () => {
  s3 = await startTestS3();
});

afterAll(async () => {
  await s3?.close();
});

describe('the local S3’s door, which refuses what S3 refuses', () => {
  it('refuses a URL presigned with the SDK’s default checksums (an empty body’s CRC32), as S3 does (400 BadDigest)', async () => {
    const lax = s3.clientWith({
      requestChecksumCalculation: 'WHEN_SUPPORTED',
      responseChecksumValidation: 'WHEN_SUPPORTED',
    });
    const url = await getSignedUrl(
      lax,
      new PutObjectCommand({
        Bucket: TEST_BUCKET,
        Key: 'u/alice/lax',
        ContentLength: PNG.length,
        ContentType: 'image/png',
      }),
      { expiresIn: 60, signableHeaders: new Set(['content-type']) },
    );

    const answer = await put(url, PNG, 'image/png');

    expect(new URL(url).searchParams.get('x-amz-checksum-crc32')).toBe('AAAAAA==');
    expect(answer).toMatchObject({ status: 400, code: 'BadDigest' });
    expect(await s3.exists('u/alice/lax')).toBe(false);
  });

  it('stores nothing of a body that stops short of its Content-Length', async () => {
    const { url } = await s3.upload('u/alice/cut-short');
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

    expect(await s3.exists('u/alice/cut-short')).toBe(false);
  });

  it('refuses a header-signed request whose body changed after signing, or that was signed with another secret', async () => {
    const swapping = s3.clientWith({});
    swapping.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { body: unknown }).body = Buffer.from('MY BYTES');
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low' },
    );
    const forger = s3.clientWith({
      credentials: { ...CREDENTIALS, secretAccessKey: 'guess' },
    });
    const putWith = (c: S3Client, Key: string) =>
      c
        .send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key, Body: Buffer.from('my bytes') }))
        .catch((e: { name: string }) => e.name);

    expect(await putWith(swapping, 'u/alice/swapped')).toBe('XAmzContentSHA256Mismatch');
    expect(await putWith(forger, 'u/alice/forged')).toBe('SignatureDoesNotMatch');
    expect(await s3.exists('u/alice/swapped')).toBe(false);
    expect(await s3.exists('u/alice/forged')).toBe(false);
  });

  it('refuses a presigned PUT given an x-amz-* header it was not signed with (as x-amz-acl: public-read)', async () => {
    const { url } = await s3.upload('u/alice/acl');

    const answer = await send('PUT', url, {
      headers: { 'Content-Type': 'image/png', 'x-amz-acl': 'public-read' },
      body: PNG,
    });

    expect(answer).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await s3.exists('u/alice/acl')).toBe(false);
  });

  it('pages a listing with continuation tokens (s3rver’s single DES, under OpenSSL 3)', async () => {
    await s3.putObjects(['u/dave/1', 'u/dave/2', 'u/dave/3', 'u/dave/4', 'u/dave/5']);
    const pages: number[] = [];
    let token: string | undefined;
    do {
      const page = await s3.client.send(
        new ListObjectsV2Command({
          Bucket: TEST_BUCKET,
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

  it('deletes keys of sibling folders in one DeleteObjects (s3rver alone raced on the parent folder it removed, a 500)', async () => {
    // Each round empties three sibling folders at once; s3rver's own delete failed about half
    // the time on a busy machine, so ten rounds.
    for (let round = 0; round < 10; round++) {
      const keys = [
        `u/gina/${round}/r1/a`,
        `u/gina/${round}/r1/b`,
        `u/gina/${round}/r2/c`,
        `u/gina/${round}/r3/d`,
      ];
      await s3.putObjects(keys);

      await s3.files.delete(keys);

      expect((await Promise.all(keys.map(s3.exists))).filter(Boolean)).toEqual([]);
    }
  });

  it('refuses a DeleteObjects of more than 1,000 keys (400 MalformedXML), as S3 does', async () => {
    await s3.putObjects(['u/erin/a']);
    const keys = [...Array.from({ length: 1_000 }, (_, i) => `u/erin/x-${i}`), 'u/erin/a'];

    const answer = await s3.client
      .send(
        new DeleteObjectsCommand({
          Bucket: TEST_BUCKET,
          Delete: { Objects: keys.map((Key) => ({ Key })) },
        }),
      )
      .catch((e: { name: string }) => e.name);

    expect(answer).toBe('MalformedXML');
    expect(await s3.exists('u/erin/a')).toBe(true);
  });

  it('lets the web client’s origin preflight a PUT and read a refusal, and no other origin', async () => {
    const { url } = await s3.upload('u/alice/cors');
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
    await s3.putObjects(['u/frank/kept']);

    const { url } = await s3.upload('u/frank/image');
    await put(url, PNG, 'image/png');
    const before = s3.endpoint;

    await s3.restart();

    expect(s3.endpoint).not.toBe(before);
    expect(Buffer.from((await s3.files.read('u/frank/kept')) ?? []).toString()).toBe(
      'u/frank/kept',
    );
    expect(await s3.files.head('u/frank/image')).toEqual({
      size: PNG.length,
      mediaType: 'image/png',
    });
  });

  it('names the port and S3_PORT when its port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const { port } = taken.address() as AddressInfo;
    const directory = mkdtempSync(join(tmpdir(), 'local-s3-taken-'));
    try {
      await expect(
        startLocalS3({ directory, port, credentials: CREDENTIALS, buckets: [TEST_BUCKET] }),
      ).rejects.toThrow(`Port ${port} on 127.0.0.1 (for the local S3) is already in use`);
    } finally {
      taken.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
