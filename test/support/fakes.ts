import type { KeyVault } from '#adapters/key-vault.ts';
import type { ChatModel, Completion, ModelRequest, StreamEvent } from '#adapters/model.ts';
import type { UsageLimits } from '#chat/limits.ts';
import type { Exchange, StoredMessage } from '#chat/message.ts';
import type { ExchangeRecord } from '#chat/replay.ts';
import type { ChatDeps, PreparedTurn, TurnSettings } from '#chat/turn.ts';
import { AI_SENDER_ID } from '#chat/wording.ts';
import { modelSettings, replySettings } from '#commons/config.ts';
import { ConflictError, UndecryptableKeyError, UnprocessableError } from '#commons/errors.ts';
import type { AccountState, AccountStore } from '#store/accounts.ts';
import type { AutoTitles } from '#store/conversations.ts';
import type {
  ExchangeStore,
  Found,
  NewMessages,
  QuestionStart,
  ReplyStart,
  StartedExchange,
} from '#store/exchanges.ts';
import type { RecentMessages, RecentRequest } from '#store/history.ts';
import type { Claim, IdempotencyStore } from '#store/idempotency.ts';
import { type Run, slice } from '#store/path.ts';
import { withPieces } from '#store/pieces.ts';
import type { Piece, ReplyEnd, ReplyRef, ReplyStore, WriterSignal } from '#store/replies.ts';

/**
 * In-memory versions of the interfaces the chat logic works through, for the unit layer: the
 * same contracts as the DynamoDB classes (conditions included), no network. The integration
 * tests hold the DynamoDB classes to the same behaviour.
 */

/** Settings as a deployment would have them, with any variable overridden. */
export function testSettings(env: Record<string, string> = {}): TurnSettings {
  return { ...modelSettings({ OPENAI_MODEL: 'gpt-4o-mini', ...env }), ...replySettings(env) };
}

/** A message as stored, with what a test does not care about filled in. */
export function message(fields: Partial<StoredMessage> & Pick<StoredMessage, 'id' | 'seq'>) {
  const now = new Date().toISOString();
  return {
    roomId: 'default',
    parentSeq: fields.seq - 1,
    senderId: AI_SENDER_ID,
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
    return (
      found && withPieces({ ...found }, found.status === 'streaming' ? this.pieces(ref.id) : [])
    );
  }

  async peek(_userId: string, ref: ReplyRef) {
    const found = this.byId.get(ref.id);
    return found && { ...found };
  }

  /** The pieces saved of a reply, in order. */
  pieces(id: string): Piece[] {
    return [...(this.#pieces.get(id) ?? [])];
  }

  readonly #pieces = new Map<string, Piece[]>();

  async append(_userId: string, ref: ReplyRef, piece: Piece) {
    this.calls.save += 1;
    if (this.failWrites) throw this.failWrites;
    const pieces = (this.#pieces.get(ref.id) ?? []).filter((saved) => saved.n !== piece.n);
    this.#pieces.set(
      ref.id,
      [...pieces, piece].sort((a, b) => a.n - b.n),
    );
  }

  async piecesAfter(_userId: string, ref: ReplyRef, after: number) {
    return this.pieces(ref.id).filter((piece) => piece.n > after);
  }

  async check(_userId: string, ref: ReplyRef) {
    this.calls.check += 1;
    return { signal: this.#signal(ref), watched: false };
  }

  async heartbeat(_userId: string, ref: ReplyRef, staleAfter: number) {
    if (this.failWrites) throw this.failWrites;
    const signal = this.#signal(ref);
    if (signal === 'writing') this.#update(ref, { staleAfter });
    return signal;
  }

  async watch() {}

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
    return this.#end(seen, end);
  }

  async placed(_userId: string, message: StoredMessage) {
    return message;
  }

  #signal(ref: ReplyRef): WriterSignal {
    const found = this.byId.get(ref.id);
    if (found?.status !== 'streaming') return 'gone';
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
      ...(end.parts ? { parts: end.parts } : {}),
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
export class MemoryIdempotencyStore<R = ExchangeRecord> implements IdempotencyStore<R> {
  /** A record has its `result` once it is settled. */
  readonly records = new Map<string, { fingerprint: string; result?: R }>();

  async claim(userId: string, key: string, fingerprint: string): Promise<Claim<R>> {
    const id = `${userId}#${key}`;
    const found = this.records.get(id);
    if (!found) {
      this.records.set(id, { fingerprint });
      return { kind: 'claimed' };
    }
    if (found.fingerprint !== fingerprint) {
      throw new UnprocessableError('Idempotency-Key was used for a different request');
    }
    if (found.result === undefined) {
      throw new ConflictError('A request with this Idempotency-Key is running');
    }
    return { kind: 'replay', result: found.result };
  }

  async complete(userId: string, key: string, result: R) {
    const found = this.records.get(`${userId}#${key}`);
    if (found) found.result = result;
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
 * Conversations in memory, as far as a turn uses them (its exchanges, the newest messages above
 * the conversation's base, the model's title); `clear` moves the base as the real clear does.
 * The replies it stores are the `replies` store's too, so a writer can end them.
 */
export class MemoryConversations implements ExchangeStore, RecentMessages, AutoTitles {
  readonly messages: StoredMessage[] = [];
  readonly bases = new Map<string, number>();
  readonly titles = new Map<string, string>();
  /** Makes the context read throw (an outage), when set. */
  failReads: Error | undefined;
  #ids = 0;
  private readonly replies: MemoryReplyStore;

  constructor(replies = new MemoryReplyStore()) {
    this.replies = replies;
  }

  clear(roomId: string) {
    this.bases.set(roomId, this.#last(roomId));
    this.titles.delete(roomId);
  }

  async beginExchange(
    userId: string,
    roomId: string,
    start: NewMessages & { user: QuestionStart },
  ) {
    return this.beginBranch(userId, roomId, this.#last(roomId), start);
  }

  /** One line, as far as a turn goes: new messages follow the newest, under `under`. */
  async beginBranch(_userId: string, roomId: string, under: number, start: NewMessages) {
    const base = this.bases.get(roomId) ?? 0;
    let seq = this.#last(roomId) + 1;
    const above: Run[] = under > base ? [[base + 1, under]] : [];
    let user: StoredMessage | undefined;
    if (start.user) {
      user = message({
        id: this.#id(),
        roomId,
        seq,
        parentSeq: under > base ? under : 0,
        senderId: start.user.senderId,
        content: start.user.content,
        messageType: 'user',
        ...(start.user.tokens ? { tokens: start.user.tokens } : {}),
        parentId: null,
        siblingIds: [],
      });
      this.messages.push(user);
      seq += 1;
      if (!this.titles.has(roomId) && start.title) this.titles.set(roomId, start.title);
    }
    const ai = this.#emptyReply(roomId, seq, start.reply, user?.seq ?? under);
    this.messages.push(ai);
    const asked = user ?? (this.#at(roomId, under) as StoredMessage);
    return {
      user: asked,
      ai,
      above: user ? above : above.length > 0 ? [[base + 1, under - 1]] : [],
      base,
    } satisfies StartedExchange;
  }

  async find(_userId: string, roomId: string, messageId: string) {
    const found = this.messages.find((m) => m.roomId === roomId && m.id === messageId);
    if (!found || found.seq <= (this.bases.get(roomId) ?? 0)) return undefined;
    const current = this.#at(roomId, found.seq) as StoredMessage;
    return {
      message: current,
      isActiveLeaf: found.seq === this.#last(roomId),
      room: {} as Found['room'],
    } satisfies Found;
  }

  async activeLeaf(userId: string, roomId: string) {
    const last = this.messages.filter((m) => m.roomId === roomId).at(-1);
    return last ? this.find(userId, roomId, last.id) : undefined;
  }

  async activate(): Promise<Found | undefined> {
    throw new Error('switching branches is tested through HTTP');
  }

  async exchange(_userId: string, roomId: string, seqs: { user: number; ai: number }) {
    const [user, ai] = [this.#at(roomId, seqs.user), this.#at(roomId, seqs.ai)];
    if (!user || !ai || (this.bases.get(roomId) ?? 0) >= seqs.user) return undefined;
    return { user, ai } satisfies Exchange;
  }

  async place(_userId: string, _roomId: string, messages: StoredMessage[]) {
    return messages;
  }

  async recent(_userId: string, roomId: string, request: RecentRequest) {
    if (this.failReads) throw this.failReads;
    const wanted = new Set(
      slice(request.path, Math.max(1, request.before - request.count), request.before - 1).flatMap(
        ([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i),
      ),
    );
    return this.messages
      .map((m) => this.replies.byId.get(m.id) ?? m)
      .filter((m) => m.roomId === roomId && wanted.has(m.seq));
  }

  async setAutoTitle(_userId: string, roomId: string, title: string) {
    if (this.titles.has(roomId)) this.titles.set(roomId, title);
  }

  /** A message as it is now (a reply as its writer left it). */
  #at(roomId: string, seq: number) {
    const found = this.messages.find((m) => m.roomId === roomId && m.seq === seq);
    return found && (this.replies.byId.get(found.id) ?? found);
  }

  #emptyReply(roomId: string, seq: number, reply: ReplyStart, parentSeq: number) {
    const ai = message({
      id: this.#id(),
      roomId,
      seq,
      parentSeq,
      senderId: reply.senderId,
      aiModel: reply.aiModel,
      status: 'streaming',
      staleAfter: reply.staleAfter,
    });
    this.replies.add(ai);
    return ai;
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
      leases: {},
      tokensUsed: 0,
      ...(ciphertext
        ? { apiKey: { ciphertext, last4: 'xxxx', updatedAt: new Date(0).toISOString() } }
        : {}),
    };
  }

  async countSend(userId: string) {
    return { before: await this.read(userId) };
  }

  async uncountSend() {}

  async openLease(userId: string) {
    return this.read(userId);
  }

  async closeLeases() {}

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

/**
 * A whole turn's dependencies in memory: user-1 has a key, the model answers `script`, and
 * what a test passes replaces the default.
 */
export async function memoryDeps(parts: Partial<ChatDeps> = {}) {
  const replies = new MemoryReplyStore();
  const conversations = new MemoryConversations(replies);
  const accounts = new MemoryAccounts();
  const vault = new FakeVault();
  await accounts.putApiKey('user-1', { ciphertext: await vault.encrypt('user-1', 'sk-user-1') });
  const deps = {
    exchanges: conversations,
    history: conversations,
    titles: conversations,
    replies,
    accounts,
    vault,
    model: new ScriptedModel(['an answer']),
    limits: new CountingLimits(),
    idempotency: new MemoryIdempotencyStore(),
    settings: testSettings(),
    fallbackKey: async () => undefined,
    ...parts,
  } satisfies ChatDeps;
  return { deps, conversations, replies, accounts };
}
