import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { closeServer, listenOnLoopback } from './net.ts';
import {
  accessDenied,
  readS3Request,
  readSignature,
  S3RefusalError,
  type S3Request,
  type Signature,
  type SigningKey,
  verifyBody,
  verifySignature,
} from './s3-checks.ts';

/**
 * The local stack's S3: @20minutes/s3rver keeps the objects on disk, behind a front door that
 * refuses what S3 refuses (s3-checks.ts) before s3rver sees a byte. s3rver alone serves
 * anonymous requests, stores a body cut short, ignores x-amz-checksum-* (which hides the SDK's
 * checksum trap), and refuses the current SDK's path-style bucket requests (it signs `/bucket`
 * where the SDK sends `/bucket/`). So s3rver runs with allowMismatchedSignatures on a loopback
 * port of its own that is never handed out, and only the door's port is. Two faults of s3rver's
 * own are mended here too: its listings' single DES and its DeleteObjects' folder race.
 *
 * Not emulated: IAM, bucket policies and ACLs (the one key may do everything), presigned POST
 * forms, SigV4a, SSE, lifecycle rules, and aws-chunked bodies (refused with 501).
 */

const require = createRequire(import.meta.url);
patchSingleDes(require('node:crypto'));
const S3rver = require('@20minutes/s3rver');
// Deep requires and the filesystem store's internals are no public API: hence the exact
// version pin in package.json.
const { DUMMY_ACCOUNT } = require('@20minutes/s3rver/lib/models/account');
const { S3CorsConfiguration } = require('@20minutes/s3rver/lib/models/config');

export interface LocalS3Options {
  /** Where the objects and the buckets' settings live; kept across restarts. */
  directory: string;
  /** The door's port on 127.0.0.1. Default: 0 (any free port). */
  port?: number;
  /** The region a signature's scope must name. Default: `us-east-1`. */
  region?: string;
  /** The one key pair the door accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Buckets to create at start; buckets that exist keep what they hold. */
  buckets: string[];
  /** Browser origins that may PUT, GET and HEAD objects (`*`: any). Default: none. */
  corsOrigins?: string[];
  /** The largest body the door takes (S3 takes 5 GiB in one PUT). Default: 64 MiB. */
  maxBodyBytes?: number;
}

export interface LocalS3 {
  /** `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_S3`. */
  endpoint: string;
  /** Replaces every bucket's CORS origins (for a web client whose port is known only later). */
  setCorsOrigins(origins: string[]): Promise<void>;
  close(): Promise<void>;
}

/** Request headers that belong to one connection, not to the request passed on. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'expect',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
]);

/** Starts s3rver on a private loopback port and the verifying door in front of it. */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const key: SigningKey = { region: options.region ?? 'us-east-1', ...options.credentials };
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
  mkdirSync(options.directory, { recursive: true });
  // s3rver looks the key up before it would skip its own check; the registry is per process,
  // so the key stays registered after close() (another instance may use it).
  DUMMY_ACCOUNT.createKeyPair(key.accessKeyId, key.secretAccessKey);
  const store = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: options.directory,
    vhostBuckets: false,
    allowMismatchedSignatures: true,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  deleteWithoutFolderCleanup(store.store);
  const storePort = ((await store.run()) as AddressInfo).port;

  let corsOrigins: string[] = [];
  const setCorsOrigins = async (origins: string[]) => {
    for (const bucket of options.buckets) {
      if (origins.length === 0) await store.store.deleteSubresource(bucket, undefined, 'cors');
      else
        await store.store.putSubresource(
          bucket,
          undefined,
          S3CorsConfiguration.validate(corsXml(origins)),
        );
    }
    corsOrigins = origins;
  };

  const door = createServer((req, res) => {
    void admit(req, res, { key, maxBodyBytes, storePort }).catch((error: unknown) =>
      refuse(req, res, asRefusal(error), corsOrigins),
    );
  });
  try {
    await setCorsOrigins(options.corsOrigins ?? []);
    const port = await listenOnLoopback(door, {
      port: options.port ?? 0,
      what: 'the local S3',
      variable: 'S3_PORT',
    });
    return {
      endpoint: `http://127.0.0.1:${port}`,
      setCorsOrigins,
      close: async () => {
        await closeServer(door);
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

interface DoorContext {
  key: SigningKey;
  maxBodyBytes: number;
  storePort: number;
}

/** Checks a request as S3 would, reads its whole body, and only then passes it on to s3rver. */
async function admit(req: IncomingMessage, res: ServerResponse, context: DoorContext) {
  let request: S3Request;
  let signature: Signature | undefined;
  try {
    request = readS3Request(req);
    // A CORS preflight carries no signature (it is sent to the presigned URL with another
    // method): S3 answers it from the bucket's CORS rules alone, and so does s3rver.
    signature = request.method === 'OPTIONS' ? undefined : authenticate(request, context.key);
    checkDeclaredLength(request, context.maxBodyBytes);
  } catch (error) {
    // Refused before the body: read and drop it, so the refusal reaches the client.
    req.resume();
    throw error;
  }
  const body = await readWholeBody(req, context.maxBodyBytes);
  if (signature) verifyBody(body, request, signature);
  checkDeleteBatch(request, body);
  await forward(req, res, request, body, context.storePort);
}

function authenticate(request: S3Request, key: SigningKey): Signature {
  const signature = readSignature(request);
  if (!signature) throw accessDenied();
  verifySignature(request, signature, key);
  if (signature.payloadHash.startsWith('STREAMING-'))
    throw new S3RefusalError(
      501,
      'NotImplemented',
      `The local S3 does not take ${signature.payloadHash} (aws-chunked) bodies; send a Buffer, or a stream with requestChecksumCalculation: 'WHEN_REQUIRED'`,
    );
  return signature;
}

function checkDeclaredLength({ method, path, headers }: S3Request, maxBodyBytes: number) {
  const declared = headers.get('content-length');
  const toObject = Boolean(path.split('/')[2]);
  if (method === 'PUT' && toObject && declared === undefined)
    throw new S3RefusalError(
      411,
      'MissingContentLength',
      'You must provide the Content-Length HTTP header.',
    );
  if (Number(declared ?? 0) > maxBodyBytes) throw tooLarge();
}

/** S3 refuses a DeleteObjects of more than 1,000 keys; s3rver would delete them all. */
function checkDeleteBatch({ method, query }: S3Request, body: Buffer) {
  if (method !== 'POST' || !query.some(([name]) => name === 'delete')) return;
  if ((body.toString('utf8').match(/<Object>/g)?.length ?? 0) > 1_000)
    throw new S3RefusalError(
      400,
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema',
    );
}

const tooLarge = () =>
  new S3RefusalError(
    400,
    'EntityTooLarge',
    'Your proposed upload exceeds the maximum allowed size of the local S3',
  );

/** The body, once it has all arrived: one cut short is never stored (S3: IncompleteBody). */
async function readWholeBody(req: IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    // Read to the end even past the limit, so that the refusal reaches the client.
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size <= maxBodyBytes) chunks.push(chunk as Buffer);
    }
  } catch {
    throw new S3RefusalError(
      400,
      'IncompleteBody',
      'You did not provide the number of bytes specified by the Content-Length HTTP header',
    );
  }
  if (size > maxBodyBytes) throw tooLarge();
  return Buffer.concat(chunks);
}

/** Passes an admitted request to s3rver and its answer back, as they are. */
function forward(
  req: IncomingMessage,
  res: ServerResponse,
  { headers }: S3Request,
  body: Buffer,
  storePort: number,
): Promise<void> {
  const passed: Record<string, string> = {};
  for (const [name, value] of headers) if (!HOP_BY_HOP.has(name)) passed[name] = value;
  passed['content-length'] = String(body.length);
  return new Promise((done, fail) => {
    const toStore = request(
      { host: '127.0.0.1', port: storePort, method: req.method, path: req.url, headers: passed },
      (answer) => {
        const back: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers))
          if (value !== undefined && !HOP_BY_HOP.has(name)) back[name] = value;
        res.writeHead(answer.statusCode ?? 502, back);
        answer.pipe(res).once('finish', done).once('error', fail);
      },
    );
    toStore.once('error', () =>
      fail(new S3RefusalError(503, 'ServiceUnavailable', 'The local S3 store did not answer')),
    );
    toStore.end(body);
  });
}

function asRefusal(error: unknown): S3RefusalError {
  if (error instanceof S3RefusalError) return error;
  const why = error instanceof Error ? error.message : String(error);
  return new S3RefusalError(500, 'InternalError', `The local S3 failed: ${why}`);
}

/** S3's XML error. An allowed origin may read it, or the browser shows a bare network error. */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  refusal: S3RefusalError,
  corsOrigins: string[],
) {
  if (res.headersSent || res.destroyed) return;
  const origin = req.headers.origin;
  if (origin && (corsOrigins.includes(origin) || corsOrigins.includes('*')))
    res.setHeader('Access-Control-Allow-Origin', origin).setHeader('Vary', 'Origin');
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${xmlText(refusal.message)}</Message><Resource>${xmlText(path)}</Resource></Error>`;
  res.writeHead(refusal.status, {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The one CORS rule every bucket gets: what a browser's presigned PUT and GET need. */
function corsXml(origins: string[]): string {
  const allowed = origins.map((origin) => `<AllowedOrigin>${xmlText(origin)}</AllowedOrigin>`);
  const methods = ['PUT', 'GET', 'HEAD'].map(
    (method) => `<AllowedMethod>${method}</AllowedMethod>`,
  );
  return `<CORSConfiguration><CORSRule>${allowed.join('')}${methods.join('')}<AllowedHeader>content-type</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>`;
}

function xmlText(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The part of s3rver's filesystem store this module replaces. */
interface FilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  deleteObject(bucket: string, key: string): Promise<void>;
}

/**
 * s3rver's DeleteObjects deletes all its keys at once, and each delete then removes the folders
 * it left empty: keys in sibling folders raced (one removed the parent folder the other was
 * reading: a 500 InternalError), and a PUT into a folder being removed could lose its file. Here
 * a delete removes the object's own files only; an empty folder is harmless, as a listing finds
 * objects, not folders.
 */
function deleteWithoutFolderCleanup(store: FilesystemStore) {
  store.deleteObject = async (bucket, key) => {
    const files = ['object', 'object.md5', 'metadata.json'];
    await Promise.all(
      files.map((resource) => rm(store.getResourcePath(bucket, key, resource), { force: true })),
    );
  };
}

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 offers only
 * through its legacy provider, so every truncated listing (over 1,000 keys) answered 500.
 * Two-key 3DES-CBC with both keys equal is the same cipher (E_k(D_k(E_k(x))) = E_k(x)), and
 * OpenSSL 3 still has it. Nothing else in the process asks for 'des' (it would fail anyway).
 */
function patchSingleDes(crypto: Record<string | symbol, unknown>) {
  const patched = Symbol.for('local-s3.single-des');
  // A test runner may evaluate this module more than once in a process; node:crypto is shared.
  if (crypto[patched]) return;
  crypto[patched] = true;
  for (const name of ['createCipheriv', 'createDecipheriv']) {
    const original = crypto[name] as (
      algorithm: string,
      key: Buffer,
      ...rest: unknown[]
    ) => unknown;
    crypto[name] = (algorithm: string, key: Buffer, ...rest: unknown[]) =>
      algorithm === 'des'
        ? original('des-ede-cbc', Buffer.concat([key, key]), ...rest)
        : original(algorithm, key, ...rest);
  }
}
