import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/**
 * Where attachments' bytes live: S3, reached by presigned URLs, so that no file passes through
 * a function or into DynamoDB. The same code runs against the local stack's S3
 * (`AWS_ENDPOINT_URL_S3`) and against AWS.
 */
export interface FileStorage {
  /** A PUT of exactly `size` bytes of `mediaType` to `key`: S3 refuses other bytes or type. */
  presignUpload(input: UploadInput): Promise<PresignedUpload>;
  /** A short-lived GET of `key`, shown or saved under `filename`. */
  presignDownload(input: DownloadInput): Promise<string>;
  /** The object's size and type, or undefined while nothing is stored at `key`. */
  head(key: string): Promise<StoredFile | undefined>;
  /** The object's bytes (for small files: what a data URL carries), or undefined if none. */
  read(key: string): Promise<Uint8Array | undefined>;
  /** Deletes these objects; keys with nothing stored are no error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Deletes every object under `prefix` (which ends with '/'); resolves to how many. */
  deletePrefix(prefix: string): Promise<number>;
}

export interface UploadInput {
  key: string;
  /** The exact size in bytes the PUT must carry. */
  size: number;
  /** The exact Content-Type the PUT must carry. */
  mediaType: string;
  /** At most a week; a URL a function signs also ends with its role's session (hours). */
  expiresInSeconds: number;
}

/** What the client sends, as it is: the headers are part of the signature. */
export interface PresignedUpload {
  url: string;
  method: 'PUT';
  /**
   * Content-Type only: a browser sends Content-Length itself (a page may not set it), from the
   * body, and a body of another size does not match the signature.
   */
  headers: Record<string, string>;
}

export interface DownloadInput {
  key: string;
  /** The name the browser shows or saves the file under (made safe for the header). */
  filename: string;
  mediaType: string;
  expiresInSeconds: number;
  /**
   * `inline` (shown in the browser) or `attachment` (saved). Default: `inline` for the images,
   * PDF and plain text a browser shows without running anything, else `attachment`.
   */
  disposition?: 'inline' | 'attachment';
}

export interface StoredFile {
  size: number;
  mediaType: string;
}

export interface S3FileStorageOptions {
  /** `s3()` in a function; a test's own client elsewhere. */
  client: S3Client;
  /** The one bucket every user's files live in (the setting `FILES_BUCKET`). */
  bucket: string;
}

/** Types a browser renders itself and that cannot run script from the bucket's origin. */
const INLINE_TYPES = new Set([
  'image/png',
  'image/jpeg',
  'image/webp',
  'image/gif',
  'application/pdf',
  'text/plain',
]);

/** DeleteObjects takes at most this many keys, and ListObjectsV2 returns at most this many. */
const S3_BATCH = 1_000;

/**
 * How long the client waits, so a hung S3 cannot hold a function until its own timeout: the
 * numbers of lib/clients/patience.ts (copied rather than imported, so this adapter stands alone
 * while lib/ moves into folders): 1 s to connect, 2 s for an answer (time enough for the small
 * files `read` is for), three attempts.
 */
const PATIENCE = {
  maxAttempts: 3,
  requestHandler: {
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    // Without it the handler only logs a warning and waits on.
    throwOnRequestTimeout: true,
    // The local stack serves every request from one process and one client.
    httpAgent: { keepAlive: true, maxSockets: 1_000 },
  },
};

/** An S3 client as the adapter needs it; `config` overrides (a test's endpoint and key). */
export function createS3Client(config: S3ClientConfig = {}): S3Client {
  return new S3Client({
    ...PATIENCE,
    // The SDK's default (WHEN_SUPPORTED) presigns a PutObject with x-amz-checksum-crc32 of an
    // empty body, which S3 answers with 400 BadDigest for any real upload, and a GetObject with
    // x-amz-checksum-mode; only both settings together leave presigned URLs free of checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A local S3 takes path-style URLs (with `localhost` the SDK would address
    // `bucket.localhost`); deployed S3 keeps virtual-hosted ones.
    forcePathStyle: Boolean(config.endpoint ?? process.env.AWS_ENDPOINT_URL_S3),
    ...config,
  });
}

let shared: S3Client | undefined;

/** One S3 client per container, made on first use; `AWS_ENDPOINT_URL_S3` points it elsewhere. */
export const s3 = (): S3Client => {
  shared ??= createS3Client();
  return shared;
};

/** FileStorage on one S3 bucket. */
export class S3FileStorage implements FileStorage {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor({ client, bucket }: S3FileStorageOptions) {
    this.#client = client;
    this.#bucket = bucket;
  }

  async presignUpload({ key, size, mediaType, expiresInSeconds }: UploadInput) {
    const url = await getSignedUrl(
      this.#client,
      // ContentLength in the command makes content-length a signed header.
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: key,
        ContentLength: size,
        ContentType: mediaType,
      }),
      // The S3 presigner leaves content-type unsigned (any type accepted) unless named here.
      { expiresIn: expiresInSeconds, signableHeaders: new Set(['content-type']) },
    );
    return { url, method: 'PUT' as const, headers: { 'Content-Type': mediaType } };
  }

  presignDownload({ key, filename, mediaType, expiresInSeconds, disposition }: DownloadInput) {
    const kind = disposition ?? (INLINE_TYPES.has(mediaType) ? 'inline' : 'attachment');
    return getSignedUrl(
      this.#client,
      new GetObjectCommand({
        Bucket: this.#bucket,
        Key: key,
        ResponseContentDisposition: contentDisposition(kind, filename),
        ResponseContentType: mediaType,
      }),
      { expiresIn: expiresInSeconds },
    );
  }

  async head(key: string) {
    try {
      const found = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: key }),
      );
      return { size: found.ContentLength ?? 0, mediaType: found.ContentType ?? '' };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async read(key: string) {
    try {
      const found = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: key }),
      );
      return (await found.Body?.transformToByteArray()) ?? new Uint8Array();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async delete(keys: readonly string[]) {
    const unique = [...new Set(keys)];
    for (let start = 0; start < unique.length; start += S3_BATCH) {
      await this.#deleteBatch(unique.slice(start, start + S3_BATCH));
    }
  }

  async deletePrefix(prefix: string) {
    // An empty prefix would erase every user's files; 'u/alice' would also erase 'u/alice2/'.
    if (!prefix.endsWith('/') || prefix === '/')
      throw new Error(`deletePrefix needs a folder prefix ending with '/', not "${prefix}"`);
    let deleted = 0;
    const pages = paginateListObjectsV2(
      { client: this.#client, pageSize: S3_BATCH },
      { Bucket: this.#bucket, Prefix: prefix },
    );
    for await (const page of pages) {
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
      if (keys.length > 0) await this.#deleteBatch(keys);
      deleted += keys.length;
    }
    return deleted;
  }

  async #deleteBatch(keys: string[]) {
    const answer = await this.#client.send(
      new DeleteObjectsCommand({
        Bucket: this.#bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    // DeleteObjects answers 200 even when some keys failed; say so, naming no key.
    const failed = answer.Errors ?? [];
    if (failed.length > 0)
      throw new Error(
        `S3 did not delete ${failed.length} of ${keys.length} objects (${failed[0]?.Code ?? 'no code'})`,
      );
  }
}

/** HeadObject's 404 (no body, so the SDK names it NotFound) or GetObject's NoSuchKey. */
function isMissing(error: unknown): boolean {
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === 'NotFound' || name === 'NoSuchKey';
}

/**
 * A Content-Disposition a user's filename cannot break (RFC 6266): no control characters (no
 * header injection), no path or quote characters, an ASCII fallback and the name in UTF-8.
 */
function contentDisposition(kind: 'inline' | 'attachment', filename: string): string {
  // Lone surrogates (valid in JSON) would make encodeURIComponent throw.
  const name =
    filename
      .toWellFormed()
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
      .replace(/[\u0000-\u001f\u007f"\\/]/g, '_')
      .trim() || 'file';
  // Browsers decode percent signs in the plain parameter, so the fallback has none.
  const ascii = name.replace(/[^\x20-\x7e]|%/g, '_');
  const utf8 = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}
