import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname } from 'node:path';
import { closeServer, listenOnLoopback, readBody } from './net.ts';

/**
 * A stand-in for AWS KMS that speaks its JSON protocol (Encrypt and Decrypt, the two operations
 * the service uses, with encryption context) so the real `@aws-sdk/client-kms` can talk to it over HTTP.
 * For the local stack and tests only; it is never deployed. Requests are not signature-checked.
 *
 * Ciphertext is AES-256-GCM under a per-key secret, with the canonical encryption context as
 * additional authenticated data: a ciphertext decrypts only with the context it was made with.
 */

const REGION_ACCOUNT = 'arn:aws:kms:local:000000000000';
const MAGIC = Buffer.from('LKMS');
const MAX_PLAINTEXT = 4096;

interface KeyFile {
  keys: Record<string, string>;
  aliases: Record<string, string>;
}

export interface LocalKmsOptions {
  /** File the key material is kept in, so ciphertexts survive a restart. Default: memory only. */
  keyFile?: string;
  /** Aliases (`alias/...`) to create at start when missing. Default: none. */
  aliases?: string[];
  /** Port on 127.0.0.1. Default: 0 (any free port). */
  port?: number;
}

export interface LocalKms {
  /** `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_KMS`. */
  endpoint: string;
  close(): Promise<void>;
}

class KmsError extends Error {
  readonly type: string;

  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}

export async function startLocalKms({
  keyFile,
  aliases = [],
  port = 0,
}: LocalKmsOptions = {}): Promise<LocalKms> {
  const state = loadKeys(keyFile);
  for (const alias of aliases) {
    if (!state.aliases[alias]) {
      const id = randomUUID();
      state.keys[id] = randomBytes(32).toString('base64');
      state.aliases[alias] = id;
    }
  }
  if (keyFile) saveKeys(keyFile, state);

  const resolve = (keyId: unknown): string => {
    if (typeof keyId !== 'string' || !keyId)
      throw new KmsError('ValidationException', 'KeyId is required');
    const bare = keyId.replace(/^arn:aws:kms:[^:]*:[^:]*:/, '');
    const id = bare.startsWith('alias/') ? state.aliases[bare] : bare.replace(/^key\//, '');
    if (!id || !state.keys[id])
      throw new KmsError('NotFoundException', `Key '${keyId}' does not exist`);
    return id;
  };
  const secret = (id: string) => Buffer.from(state.keys[id] as string, 'base64');

  const encrypt = (id: string, plaintext: Buffer, context: unknown) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', secret(id), iv);
    cipher.setAAD(canonicalContext(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([MAGIC, Buffer.from(id, 'ascii'), iv, cipher.getAuthTag(), body]);
  };

  const operations: Record<string, (input: Record<string, unknown>) => Record<string, unknown>> = {
    Encrypt(input) {
      const id = resolve(input.KeyId);
      const plaintext = blob(input.Plaintext, 'Plaintext');
      if (plaintext.length === 0 || plaintext.length > MAX_PLAINTEXT) {
        throw new KmsError('ValidationException', `Plaintext must be 1 to ${MAX_PLAINTEXT} bytes`);
      }
      return {
        CiphertextBlob: encrypt(id, plaintext, input.EncryptionContext).toString('base64'),
        KeyId: `${REGION_ACCOUNT}:key/${id}`,
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
    Decrypt(input) {
      const data = blob(input.CiphertextBlob, 'CiphertextBlob');
      const invalid = new KmsError('InvalidCiphertextException', 'The ciphertext is invalid');
      if (data.length < 4 + 36 + 12 + 16 || !data.subarray(0, 4).equals(MAGIC)) throw invalid;
      const id = data.subarray(4, 40).toString('ascii');
      if (!state.keys[id]) throw invalid;
      if (input.KeyId !== undefined && resolve(input.KeyId) !== id) {
        throw new KmsError('IncorrectKeyException', 'The ciphertext was made under another key');
      }
      const decipher = createDecipheriv('aes-256-gcm', secret(id), data.subarray(40, 52));
      decipher.setAAD(canonicalContext(input.EncryptionContext));
      decipher.setAuthTag(data.subarray(52, 68));
      try {
        const plaintext = Buffer.concat([decipher.update(data.subarray(68)), decipher.final()]);
        return {
          Plaintext: plaintext.toString('base64'),
          KeyId: `${REGION_ACCOUNT}:key/${id}`,
          EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        };
      } catch {
        throw invalid;
      }
    },
  };

  const server = createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    };
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = operations[target.replace(/^TrentService\./, '')];
      if (req.method !== 'POST' || !target.startsWith('TrentService.') || !operation) {
        throw new KmsError('UnknownOperationException', `Unsupported operation '${target}'`);
      }
      const input = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
      reply(200, operation(input));
    } catch (error) {
      if (error instanceof KmsError) reply(400, { __type: error.type, message: error.message });
      else if (error instanceof SyntaxError)
        reply(400, { __type: 'SerializationException', message: 'Bad JSON' });
      else reply(500, { __type: 'KMSInternalException', message: 'Internal error' });
    }
  });
  const bound = await listenOnLoopback(server, {
    port,
    what: 'the local KMS',
    variable: 'KMS_PORT',
  });
  return { endpoint: `http://127.0.0.1:${bound}`, close: () => closeServer(server) };
}

function blob(value: unknown, name: string): Buffer {
  if (typeof value !== 'string') throw new KmsError('ValidationException', `${name} is required`);
  return Buffer.from(value, 'base64');
}

/** The context as AAD: keys sorted so that the same pairs in any order authenticate alike. */
function canonicalContext(context: unknown): Buffer {
  if (context === undefined || context === null) return Buffer.alloc(0);
  if (typeof context !== 'object')
    throw new KmsError('ValidationException', 'EncryptionContext must be a map');
  const entries = Object.entries(context as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : 1,
  );
  if (entries.length === 0) return Buffer.alloc(0);
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

function loadKeys(file: string | undefined): KeyFile {
  if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
  return { keys: {}, aliases: {} };
}

function saveKeys(file: string, state: KeyFile) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
}
