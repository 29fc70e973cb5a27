import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PNG, put, send, startTestS3, TEST_BUCKET, type TestS3 } from '../support/local-s3.ts';

/**
 * The S3 adapter (lib/adapters/file-storage.ts) against the local stack's S3, started alone on
 * 127.0.0.1, through the real AWS SDK: its presigned URLs bind what they should, and what S3
 * refuses of them is refused.
 */
let s3: TestS3;

beforeAll(async () => {
  s3 = await startTestS3();
});

afterAll(async () => {
  await s3?.close();
});

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

describe('the S3 adapter, through the local S3', () => {
  it('stores the declared bytes and type with the presigned PUT, and the presigned GET returns them byte for byte', async () => {
    const key = 'u/alice/f-1';
    const up = await s3.upload(key);

    const stored = await send(up.method, up.url, { headers: up.headers, body: PNG });
    const download = await s3.files.presignDownload({
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
    expect(await s3.files.head(key)).toEqual({ size: PNG.length, mediaType: 'image/png' });
    expect(Buffer.from((await s3.files.read(key)) ?? []).equals(PNG)).toBe(true);
  });

  it('signs the upload’s size and type, and puts no checksum parameter in either URL (S3 would answer BadDigest)', async () => {
    const up = new URL((await s3.upload('u/alice/f-params')).url);
    const down = new URL(
      await s3.files.presignDownload({
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
    expect(up.pathname).toBe(`/${TEST_BUCKET}/u/alice/f-params`);
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
      const up = await s3.upload(key);

      const answer = await put(url(up.url), body, type);

      expect(answer).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
      expect(await s3.files.head(key)).toBeUndefined();
      expect(await s3.exists(key.replace('/alice/', '/mallory/'))).toBe(false);
    },
  );

  it('refuses an upload or download URL once it has expired (403 AccessDenied)', async () => {
    const up = await signedTenMinutesAgo(() =>
      s3.files.presignUpload({
        key: 'u/alice/late',
        size: PNG.length,
        mediaType: 'image/png',
        expiresInSeconds: 60,
      }),
    );
    const down = await signedTenMinutesAgo(() =>
      s3.files.presignDownload({
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
    expect(await s3.files.head('u/alice/late')).toBeUndefined();
  });

  it('refuses an unsigned PUT or GET (403 AccessDenied)', async () => {
    await s3.putObjects(['u/alice/private']);

    const putAnswer = await put(
      `${s3.endpoint}/${TEST_BUCKET}/u/alice/anonymous`,
      PNG,
      'image/png',
    );
    const getAnswer = await send('GET', `${s3.endpoint}/${TEST_BUCKET}/u/alice/private`);

    expect(putAnswer).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(getAnswer).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await s3.exists('u/alice/anonymous')).toBe(false);
  });

  it('names the download after the file, safely: shown inline for an image, saved for Markdown', async () => {
    await s3.putObjects(['u/alice/notes']);
    const name = 'my "notes"\r\nSet-Cookie: x=1/../résumé 100%.md';

    const shown = await send(
      'GET',
      await s3.files.presignDownload({
        key: 'u/alice/f-1',
        filename: 'a b.png',
        mediaType: 'image/png',
        expiresInSeconds: 60,
      }),
    );
    const saved = await send(
      'GET',
      await s3.files.presignDownload({
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
    expect(await s3.files.head('u/alice/never')).toBeUndefined();
    expect(await s3.files.read('u/alice/never')).toBeUndefined();
  });

  it('deletes the objects it is given, more than one batch of 1,000 of them, and no other', async () => {
    await s3.putObjects(['u/bob/a', 'u/bob/b', 'u/bob/keep']);
    // Keys with nothing stored fill the first batch: S3 takes at most 1,000 keys a call.
    const absent = Array.from({ length: 1_000 }, (_, i) => `u/bob/absent-${i}`);

    await s3.files.delete([...absent, 'u/bob/a', 'u/bob/b', 'u/bob/a']);

    expect(await s3.exists('u/bob/a')).toBe(false);
    expect(await s3.exists('u/bob/b')).toBe(false);
    expect(await s3.exists('u/bob/keep')).toBe(true);
  });

  it('deletes everything under a prefix and nothing beside it, and refuses a prefix that is not a folder', async () => {
    await s3.putObjects(['u/carol/r1/a', 'u/carol/r1/b', 'u/carol/r2/c', 'u/carol2/d', 'u/carol']);

    const deleted = await s3.files.deletePrefix('u/carol/');

    expect(deleted).toBe(3);
    for (const key of ['u/carol/r1/a', 'u/carol/r1/b', 'u/carol/r2/c'])
      expect(await s3.exists(key)).toBe(false);
    expect(await s3.exists('u/carol2/d')).toBe(true);
    expect(await s3.exists('u/carol')).toBe(true);
    await expect(s3.files.deletePrefix('u/carol')).rejects.toThrow(/ending with '\/'/);
    await expect(s3.files.deletePrefix('')).rejects.toThrow(/ending with '\/'/);
    expect(await s3.exists('u/carol2/d')).toBe(true);
  });
});
