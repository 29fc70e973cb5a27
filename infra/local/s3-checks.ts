import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { crc32 } from 'node:zlib';

/**
 * What S3 checks of a request before it stores or serves anything, for the local S3's door
 * (local-s3.ts): the SigV4 signature (Authorization header or presigned query), recomputed by
 * AWS's documented algorithm over method, path, query and the signed headers, so that a signed
 * content-length or content-type binds an upload's size and type; the credential scope and
 * time; and the body against the digests the request carries.
 *
 * By hand rather than with @smithy/signature-v4: that signs, it does not verify, and re-signing
 * would need the exact request the client signed, the presigner's hoisting rules included.
 */

/** A refusal as S3 words it: its HTTP status and S3's error code. */
export class S3RefusalError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'S3RefusalError';
    this.status = status;
    this.code = code;
  }
}

const refusal = (status: number, code: string, message: string) =>
  new S3RefusalError(status, code, message);

/** S3's answer to an anonymous or expired request. */
export const accessDenied = (message = 'Access Denied') => refusal(403, 'AccessDenied', message);

const UNSUPPORTED_AUTH =
  'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.';
const PRESIGNED_PARAMS = [
  'X-Amz-Credential',
  'X-Amz-Signature',
  'X-Amz-Date',
  'X-Amz-SignedHeaders',
  'X-Amz-Expires',
] as const;
/** S3's longest presigned URL: a week. */
const MAX_EXPIRES_SECONDS = 604_800;
/** How far a request's time may be from S3's clock. */
const MAX_SKEW_MS = 15 * 60_000;

/** A request as the signature sees it. */
export interface S3Request {
  method: string;
  /** The path as sent, still percent-encoded. */
  path: string;
  /** The query's pairs as sent, each decoded once ('+' stays '+', as S3 reads it). */
  query: [string, string][];
  /** Header values by lower-case name; repeated headers joined by ',', as SigV4 joins them. */
  headers: Map<string, string>;
}

/** What a request's signature says and covers. */
export interface Signature {
  /** In the query (a presigned URL) rather than the Authorization header. */
  presigned: boolean;
  accessKeyId: string;
  /** The credential scope's parts: date, region, service, terminator. */
  scope: string[];
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  /** A presigned URL's lifetime in seconds, from amzDate. */
  expires?: number;
  /** The signed hash of the body, or UNSIGNED-PAYLOAD. */
  payloadHash: string;
}

/** The key the door accepts, and the region its signatures must name. */
export interface SigningKey {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function readS3Request(req: IncomingMessage): S3Request {
  const url = req.url ?? '/';
  const at = url.indexOf('?');
  const rawQuery = at < 0 ? '' : url.slice(at + 1);
  const query = rawQuery
    .split('&')
    .filter(Boolean)
    .map((pair): [string, string] => {
      const eq = pair.indexOf('=');
      return eq < 0 ? [decode(pair), ''] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
    });
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = (req.rawHeaders[i + 1] as string).trim().replace(/\s+/g, ' ');
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  const headers = new Map([...values].map(([name, list]) => [name, list.join(',')]));
  return { method: req.method ?? 'GET', path: at < 0 ? url : url.slice(0, at), query, headers };
}

/** The signature a request carries, or undefined for an anonymous request. */
export function readSignature({ headers, query }: S3Request): Signature | undefined {
  const params = new Map(query);
  const header = headers.get('authorization');
  const presigned = params.has('X-Amz-Algorithm') || params.has('X-Amz-Signature');
  if (header && presigned)
    throw refusal(
      400,
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    );
  if (header) return headerSignature(header, headers);
  if (presigned) return querySignature(params);
  // SigV2's query parameters: S3 refuses them rather than treat the request as anonymous.
  if (params.has('Signature') || params.has('AWSAccessKeyId'))
    throw refusal(400, 'InvalidRequest', UNSUPPORTED_AUTH);
  return undefined;
}

function headerSignature(header: string, headers: Map<string, string>): Signature {
  const match = /^AWS4-HMAC-SHA256 (.+)$/.exec(header);
  if (!match) throw refusal(400, 'InvalidRequest', UNSUPPORTED_AUTH);
  const fields = new Map(
    (match[1] as string).split(',').map((field): [string, string] => {
      const eq = field.indexOf('=');
      return [field.slice(0, eq).trim(), field.slice(eq + 1).trim()];
    }),
  );
  const [credential, signedHeaders, signature] = ['Credential', 'SignedHeaders', 'Signature'].map(
    (name) => fields.get(name),
  );
  if (!credential || !signedHeaders || !signature)
    throw refusal(
      400,
      'AuthorizationHeaderMalformed',
      'The authorization header is malformed; it needs Credential, SignedHeaders and Signature.',
    );
  const payloadHash = headers.get('x-amz-content-sha256');
  if (!payloadHash)
    throw refusal(
      400,
      'InvalidRequest',
      'Missing required header for this request: x-amz-content-sha256',
    );
  return {
    presigned: false,
    ...credentialOf(credential),
    amzDate: headers.get('x-amz-date') ?? '',
    signedHeaders: signedHeaders.split(';'),
    signature,
    payloadHash,
  };
}

function querySignature(params: Map<string, string>): Signature {
  const queryError = (message: string) =>
    refusal(400, 'AuthorizationQueryParametersError', message);
  if (params.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256')
    throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const [credential, signature, amzDate, signedHeaders, expires] = PRESIGNED_PARAMS.map(
    (name) => params.get(name) ?? '',
  ) as [string, string, string, string, string];
  if (!credential || !signature || !amzDate || !signedHeaders || !expires)
    throw queryError(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  if (!/^\d+$/.test(expires)) throw queryError('X-Amz-Expires should be a number');
  if (Number(expires) > MAX_EXPIRES_SECONDS)
    throw queryError(
      'X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds',
    );
  return {
    presigned: true,
    ...credentialOf(credential),
    amzDate,
    signedHeaders: signedHeaders.split(';'),
    signature,
    expires: Number(expires),
    payloadHash: params.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
  };
}

/** `AKID/20260101/us-east-1/s3/aws4_request` into its key id and scope. */
function credentialOf(credential: string) {
  const [accessKeyId = '', ...scope] = credential.split('/');
  if (scope.length !== 4)
    throw refusal(
      400,
      'AuthorizationHeaderMalformed',
      `The credential is malformed: ${credential}`,
    );
  return { accessKeyId, scope };
}

/** Refuses a request whose signature S3 would not accept: key, scope, time, or the HMAC itself. */
export function verifySignature(request: S3Request, signature: Signature, key: SigningKey): void {
  if (signature.accessKeyId !== key.accessKeyId)
    throw refusal(
      403,
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
    );
  checkScope(signature, key.region);
  checkTime(signature);
  if (!signature.signedHeaders.includes('host')) throw accessDenied('Host must be a signed header');
  // Otherwise anyone holding a presigned URL could add x-amz-acl or x-amz-meta-* to it.
  const unsigned = [...request.headers.keys()].filter(
    (name) => name.startsWith('x-amz-') && !signature.signedHeaders.includes(name),
  );
  if (unsigned.length > 0)
    throw accessDenied(
      `There were headers present in the request which were not signed: ${unsigned.join(', ')}`,
    );
  const expected = expectedSignature(request, signature, key.secretAccessKey);
  const given = Buffer.from(
    /^[0-9a-f]{64}$/.test(signature.signature) ? signature.signature : '',
    'hex',
  );
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw refusal(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
}

function checkScope({ scope, amzDate }: Signature, region: string) {
  const [date, scopeRegion, service, terminator] = scope;
  const day = amzDate.slice(0, 8);
  if (date !== day || scopeRegion !== region || service !== 's3' || terminator !== 'aws4_request')
    throw refusal(
      400,
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the Credential scope ${scope.join('/')} is wrong; expecting ${day}/${region}/s3/aws4_request`,
    );
}

function checkTime({ amzDate, presigned, expires = 0 }: Signature) {
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt)) {
    if (presigned)
      throw refusal(
        400,
        'AuthorizationQueryParametersError',
        "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
      );
    throw accessDenied('AWS authentication requires a valid Date or x-amz-date header');
  }
  const now = Date.now();
  if (!presigned) {
    if (Math.abs(now - signedAt) > MAX_SKEW_MS)
      throw refusal(
        403,
        'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
      );
    return;
  }
  if (signedAt > now + MAX_SKEW_MS) throw accessDenied('Request is not valid yet');
  if (now > signedAt + expires * 1000) throw accessDenied('Request has expired');
}

/** `20260101T120000Z` in epoch ms, or NaN. */
function parseAmzDate(value: string): number {
  const iso = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
  return iso.test(value) ? Date.parse(value.replace(iso, '$1-$2-$3T$4:$5:$6Z')) : Number.NaN;
}

/** SigV4: the canonical request, the string to sign, and the HMAC chain of the signing key. */
function expectedSignature(request: S3Request, signature: Signature, secret: string): Buffer {
  const canonicalUri = request.path
    .split('/')
    .map((segment) => uriEncode(decode(segment)))
    .join('/');
  const canonicalQuery = request.query
    .filter(([name]) => !(signature.presigned && name === 'X-Amz-Signature'))
    .map(([name, value]): [string, string] => [uriEncode(name), uriEncode(value)])
    .sort(([a, x], [b, y]) => compare(a, b) || compare(x, y))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalHeaders = signature.signedHeaders
    .map((name) => `${name}:${request.headers.get(name) ?? ''}\n`)
    .join('');
  const canonicalRequest = [
    request.method,
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    signature.signedHeaders.join(';'),
    signature.payloadHash,
  ].join('\n');
  const scope = signature.scope.join('/');
  const stringToSign = ['AWS4-HMAC-SHA256', signature.amzDate, scope, sha256Hex(canonicalRequest)];
  const signingKey = signature.scope.reduce<Buffer | string>(hmac, `AWS4${secret}`);
  return hmac(signingKey, stringToSign.join('\n'));
}

const BODY_DIGESTS: Record<string, (body: Buffer) => string> = {
  crc32: (body) => {
    const digest = Buffer.alloc(4);
    digest.writeUInt32BE(crc32(body));
    return digest.toString('base64');
  },
  sha1: (body) => createHash('sha1').update(body).digest('base64'),
  sha256: (body) => createHash('sha256').update(body).digest('base64'),
};

/** Refuses a body that differs from what the request says of it (its hash, MD5, checksums). */
export function verifyBody(body: Buffer, request: S3Request, signature: Signature): void {
  const { payloadHash } = signature;
  if (payloadHash !== 'UNSIGNED-PAYLOAD') {
    if (!/^[0-9a-f]{64}$/.test(payloadHash))
      throw refusal(
        400,
        'InvalidArgument',
        'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.',
      );
    if (sha256Hex(body) !== payloadHash)
      throw refusal(
        400,
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
  }
  const md5 = request.headers.get('content-md5');
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5)
    throw refusal(
      400,
      'BadDigest',
      'The Content-MD5 you specified did not match what we received.',
    );
  // A presigned URL carries its checksums in the query (the SDK's empty-body CRC32 among them).
  const given = [...request.headers, ...request.query]
    .map(([name, value]): [string, string] => [name.toLowerCase(), value])
    .filter(([name]) => name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-mode');
  for (const [name, value] of given) {
    const algorithm = name.slice('x-amz-checksum-'.length);
    const digest = BODY_DIGESTS[algorithm];
    if (!digest)
      throw refusal(
        501,
        'NotImplemented',
        `The local S3 does not check ${name} (only crc32, sha1, sha256)`,
      );
    if (digest(body) !== value)
      throw refusal(
        400,
        'BadDigest',
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
  }
}

/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw refusal(400, 'InvalidURI', "Couldn't parse the specified URI.");
  }
}

/** By code unit, as SigV4 sorts (localeCompare would not). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
