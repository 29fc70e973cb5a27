import type { ChatDeps, PreparedTurn } from '../../lib/chat.ts';
import { modelSettings } from '../../lib/config.ts';
import { ConflictError, UnprocessableError } from '../../lib/errors.ts';
import type { KeyVault } from '../../lib/key-vault.ts';
import { UndecryptableKeyError } from '../../lib/key-vault.ts';
import type { UsageLimits } from '../../lib/limits.ts';
import type { ChatModel, Completion, ModelRequest, StreamEvent } from '../../lib/model.ts';
import type { AccountState, AccountStore } from '../../lib/store/accounts.ts';
import type { Claim, IdempotencyStore, StoredResult } from '../../lib/store/idempotency.ts';
import type {
  ExchangeStart,
  MessageStore,
  RecentRequest,
  StartedExchange,
  StoredMessage,
} from '../../lib/store/messages.ts';
import type { ReplyEnd, ReplyRef, ReplyStore, WriterSignal } from '../../lib/store/replies.ts';

/**
 * In-memory versions of the interfaces the chat logic works through, for the unit layer: the
 * same contracts as the DynamoDB classes (conditions included), no network. The integration
 * tests hold the DynamoDB classes to the same behaviour.
 */

/** Settings as a deployment would have them, with any variable overridden. */
export function testSettings(env: Record<string, string> = {}) {
  return modelSettings({ OPENAI_MODEL: 'gpt-4o-mini', ...env });
}

/** A message as stored, with what a test does not care about filled in. */
export function message(fields: Partial<StoredMessage> & Pick<StoredMessage, 'id' | 'seq'>) {
  const now = new Date().toISOString();
  return {
    roomId: 'default',
    senderId: 'ai_assistant',
    content: '',
    messageType: 'ai',
    status: 'complete',
    createdAt: now,
    updatedAt: now,
    ...fields,
  } satisfies StoredMessage;
}

/** Replies by id: each save, check and end as `DynamoReplyStore` does them, counted. */
export class MemoryReplyStore implements ReplyStore {
  readonly byId = new Map<string, StoredMessage>();
  readonly calls = { save: 0, check: 0, finish: 0 };
  /** Makes the next writes throw (an outage), until cleared. */
  failWrites: Error | undefined;

  add(reply: StoredMessage) {
    this.byId.set(reply.id, { ...reply });
  }

  /** What a clear does to a reply being written: it is no longer there. */
  remove(id: string) {
    this.byId.delete(id);
  }

  async locate(_userId: string, id: string) {
    const found = this.byId.get(id);
    return found && { id, roomId: found.roomId, seq: found.seq };
  }

  async read(_userId: string, ref: ReplyRef) {
    const found = this.byId.get(ref.id);
    return found && { ...found };
  }

  async save(_userId: string, ref: ReplyRef, content: string, staleAfter: number) {
    this.calls.save += 1;
    if (this.failWrites) throw this.failWrites;
    const signal = this.#signal(ref);
    if (signal === 'writing') this.#update(ref, { content, staleAfter });
    return signal;
  }

  async check(_userId: string, ref: ReplyRef) {
    this.calls.check += 1;
    return this.#signal(ref);
  }

  async finish(_userId: string, ref: ReplyRef, end: ReplyEnd) {
    this.calls.finish += 1;
    if (this.failWrites) throw this.failWrites;
    return this.#end(ref, end);
  }

  async requestStop(_userId: string, ref: ReplyRef) {
    const found = this.byId.get(ref.id);
    if (found?.status !== 'streaming') return found && { ...found };
    return this.#update(ref, { stopRequested: true });
  }

  async settle(_userId: string, seen: StoredMessage, end: ReplyEnd) {
    const found = this.byId.get(seen.id);
    if (found?.updatedAt !== seen.updatedAt) return found && { ...found };
    return this.#end(seen, end);
  }

  #signal(ref: ReplyRef): WriterSignal {
    const found = this.byId.get(ref.id);
    if (!found || found.status !== 'streaming') return 'gone';
    return found.stopRequested ? 'stop' : 'writing';
  }

  #end(ref: ReplyRef, end: ReplyEnd) {
    const found = this.byId.get(ref.id);
    if (found?.status !== 'streaming') return found && { ...found };
    const { stopRequested: _, staleAfter: __, ...rest } = found;
    const ended: StoredMessage = {
      ...rest,
      content: end.content,
      status: end.status,
      aiModel: end.aiModel,
      ...(end.usage ? { usage: end.usage } : {}),
      ...(end.partial ? { partial: true } : {}),
      ...(end.tokens ? { tokens: end.tokens } : {}),
      updatedAt: new Date().toISOString(),
    };
    this.byId.set(ref.id, ended);
    return { ...ended };
  }

  #update(ref: ReplyRef, fields: Partial<StoredMessage>) {
    const found = this.byId.get(ref.id) as StoredMessage;
    const updated = { ...found, ...fields, updatedAt: new Date().toISOString() };
    this.byId.set(ref.id, updated);
    return { ...updated };
  }
}

/** Idempotency records by user and key, claimed and settled as `DynamoIdempotencyStore` does. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<
    string,
    { fingerprint: string; result?: StoredResult; settled: boolean }
  >();

  async claim(userId: string, key: string, fingerprint: string): Promise<Claim> {
    const id = `${userId}#${key}`;
    const found = this.records.get(id);
    if (!found) {
      this.records.set(id, { fingerprint, settled: false });
      return { kind: 'claimed' };
    }
    if (found.fingerprint !== fingerprint) {
      throw new UnprocessableError('Idempotency-Key was used for a different request');
    }
    if (!found.settled) throw new ConflictError('A request with this Idempotency-Key is running');
    return { kind: 'replay', result: found.result ?? {} };
  }

  async complete(userId: string, key: string, result: StoredResult) {
    const found = this.records.get(`${userId}#${key}`);
    if (found) Object.assign(found, { result, settled: true });
  }

  async release(userId: string, key: string) {
    this.records.delete(`${userId}#${key}`);
  }
}

/** One step a scripted model takes: a piece of text, a pause, or a failure. */
export type ModelStep = string | { waitMs: number } | { fail: Error };

/**
 * A chat model that streams a script, honours the abort signal like the openai client (an
 * aborted call throws at once), and records every request.
 */
export class ScriptedModel implements ChatModel {
  readonly requests: ModelRequest[] = [];
  aborted = false;
  private readonly script: ModelStep[];
  private readonly usage = { promptTokens: 12, completionTokens: 34, totalTokens: 46 };

  constructor(script: ModelStep[]) {
    this.script = script;
  }

  async complete(request: ModelRequest): Promise<Completion> {
    let content = '';
    for await (const step of this.stream(request))
      if (step.type === 'delta') content += step.content;
    return { content, model: request.model, usage: this.usage };
  }

  async *stream(request: ModelRequest): AsyncIterable<StreamEvent> {
    this.requests.push(request);
    for (const step of this.script) {
      if (request.signal?.aborted) break;
      if (typeof step === 'string') yield { type: 'delta', content: step };
      else if ('waitMs' in step) await pause(step.waitMs, request.signal);
      else throw step.fail;
    }
    if (request.signal?.aborted) {
      this.aborted = true;
      throw new DOMException('This operation was aborted', 'AbortError');
    }
    yield { type: 'done', model: `${request.model}-2026`, usage: this.usage };
  }
}

function pause(ms: number, signal: AbortSignal | undefined) {
  return new Promise<void>((done) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      done();
    });
  });
}

/** Limits that admit everyone and remember the tokens they were told about. */
export class CountingLimits implements UsageLimits {
  readonly tokens: number[] = [];

  async admit() {
    return false;
  }

  async recordTokens(_userId: string, tokens: number) {
    this.tokens.push(tokens);
  }
}

/** A part of the dependencies a test does not expect to be used: any use fails it. */
function unused<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get: (_target, property) => () => {
      throw new Error(`${name}.${String(property)} was not expected to be used`);
    },
  });
}

/** Chat dependencies from fakes; what a test passes replaces the default. */
export function fakeDeps(parts: Partial<ChatDeps> = {}): ChatDeps {
  return {
    messages: unused('messages'),
    replies: new MemoryReplyStore(),
    accounts: unused('accounts'),
    vault: unused('vault'),
    model: new ScriptedModel(['hello']),
    limits: new CountingLimits(),
    settings: testSettings(),
    fallbackKey: async () => undefined,
    ...parts,
  };
}

/** A turn prepared for `writeReply`: its question stored and its reply stored empty. */
export function preparedTurn(replies: MemoryReplyStore, fields: Partial<PreparedTurn> = {}) {
  const user = message({
    id: '01JF0Z5Q8W6W3V7G2X4N9K1B2A',
    seq: 1,
    senderId: 'user-1',
    messageType: 'user',
    content: 'hi',
  });
  const ai = message({
    id: '01JF0Z5Q8W6W3V7G2X4N9K1B2B',
    seq: 2,
    status: 'streaming',
    aiModel: 'gpt-4o-mini',
  });
  replies.add(ai);
  return {
    userId: 'user-1',
    roomId: 'default',
    user,
    ai,
    apiKey: 'sk-test',
    model: 'gpt-4o-mini',
    prompt: [{ role: 'user', content: 'hi' }],
    deadline: Date.now() + 30_000,
    opensConversation: true,
    ...fields,
  } satisfies PreparedTurn;
}

/**
 * Conversations in memory, as far as a send uses them (begin an exchange, read the newest
 * messages above the conversation's base); `clear` moves the base as the real clear does. The
 * replies it stores are the `replies` store's too, so a writer can end them.
 */
export class MemoryConversations {
  readonly messages: StoredMessage[] = [];
  readonly bases = new Map<string, number>();
  /** Makes the context read throw (an outage), when set. */
  failReads: Error | undefined;
  #ids = 0;
  private readonly replies: MemoryReplyStore;

  constructor(replies = new MemoryReplyStore()) {
    this.replies = replies;
  }

  /** The `MessageStore` view (what a send calls; anything else fails the test). */
  get store(): MessageStore {
    const own = {
      beginExchange: this.beginExchange.bind(this),
      recent: this.recent.bind(this),
    };
    return new Proxy(own as unknown as MessageStore, {
      get: (target, property) =>
        (target as unknown as Record<string | symbol, unknown>)[property] ??
        (() => {
          throw new Error(`messages.${String(property)} was not expected to be used`);
        }),
    });
  }

  clear(roomId: string) {
    this.bases.set(roomId, this.#last(roomId));
  }

  async beginExchange(userId: string, roomId: string, start: ExchangeStart) {
    const base = this.bases.get(roomId) ?? 0;
    const seq = this.#last(roomId) + 1;
    const user = message({
      id: this.#id(),
      roomId,
      seq,
      senderId: start.user.senderId,
      content: start.user.content,
      messageType: 'user',
      ...(start.user.tokens ? { tokens: start.user.tokens } : {}),
    });
    const ai = message({
      id: this.#id(),
      roomId,
      seq: seq + 1,
      senderId: start.reply.senderId,
      aiModel: start.reply.aiModel,
      status: 'streaming',
      staleAfter: start.reply.staleAfter,
    });
    this.messages.push(user, ai);
    this.replies.add(ai);
    void userId;
    return { user, ai, base } satisfies StartedExchange;
  }

  async recent(_userId: string, roomId: string, request: RecentRequest) {
    if (this.failReads) throw this.failReads;
    return this.messages
      .map((m) => this.replies.byId.get(m.id) ?? m)
      .filter((m) => m.roomId === roomId && m.seq > request.after && m.seq < request.before)
      .slice(-request.count);
  }

  #last(roomId: string) {
    return this.messages.filter((m) => m.roomId === roomId).at(-1)?.seq ?? 0;
  }

  #id() {
    this.#ids += 1;
    return `01JF0Z5Q8W6W3V7G2X4N9K${String(this.#ids).padStart(4, '0')}`;
  }
}

/** Accounts in memory: an API key per user (as a vault ciphertext), no sends recorded. */
export class MemoryAccounts implements AccountStore {
  readonly keys = new Map<string, Uint8Array>();

  async read(userId: string): Promise<AccountState> {
    const ciphertext = this.keys.get(userId);
    return {
      sends: {},
      tokensUsed: 0,
      ...(ciphertext
        ? { apiKey: { ciphertext, last4: 'xxxx', updatedAt: new Date(0).toISOString() } }
        : {}),
    };
  }

  async countSend(userId: string) {
    return this.read(userId);
  }

  async uncountSend() {}

  async addTokens() {}

  async getApiKey(userId: string) {
    return (await this.read(userId)).apiKey;
  }

  async putApiKey(userId: string, record: { ciphertext: Uint8Array }) {
    this.keys.set(userId, record.ciphertext);
  }

  async deleteApiKey(userId: string) {
    return this.keys.delete(userId);
  }
}

/** A vault whose ciphertext only opens for the user it was made for, like KMS's context. */
export class FakeVault implements KeyVault {
  async encrypt(userId: string, plaintext: string) {
    return new TextEncoder().encode(`${userId}\u0000${plaintext}`);
  }

  async decrypt(userId: string, ciphertext: Uint8Array) {
    const [owner, key] = new TextDecoder().decode(ciphertext).split('\u0000');
    if (owner !== userId || key === undefined) throw new UndecryptableKeyError();
    return key;
  }
}
