import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { inject } from 'vitest';
import { checkResponse } from './contract.ts';
import { readEvents, type StreamEvent } from './sse-client.ts';

export { readEvents, type StreamEvent } from './sse-client.ts';

export const apiUrl = inject('apiUrl');

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON as it is
  body: any;
}

/** Signs a token with the stack's secret; `claims` override the defaults (null removes one). */
export async function tokenFor(userId: string | undefined, claims: Record<string, unknown> = {}) {
  const payload: Record<string, unknown> = { type: 'access', sub: userId, ...claims };
  const now = Math.floor(Date.now() / 1000);
  if (!('exp' in payload)) payload.exp = now + 600;
  for (const [name, value] of Object.entries(payload)) if (value === null) delete payload[name];
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .sign(new TextEncoder().encode(inject('jwtSecret')));
}

/** An HTTP call to the local stack. `body` objects are sent as JSON, strings as they are. */
export async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const response = await fetch(`${apiUrl}${path}`, { method, headers, body });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  checkResponse(method, path, response, { json });
  return { status: response.status, headers: response.headers, body: json };
}

export interface TestUser {
  id: string;
  token: string;
  apiKey: string;
}

/** A fresh user (its own partition, so tests never see each other's data), with a stored key. */
export async function newUser({ withKey = true } = {}): Promise<TestUser> {
  const id = `user-${randomUUID()}`;
  const token = await tokenFor(id);
  const apiKey = `sk-test-${randomUUID().replaceAll('-', '')}`;
  if (withKey) {
    const saved = await call('PUT', '/api/chat/ai/api-key', { token, body: { api_key: apiKey } });
    if (saved.status !== 200)
      throw new Error(`could not store the key: ${JSON.stringify(saved.body)}`);
  }
  return { id, token, apiKey };
}

/** Sends a chat message as `user` and returns the reply. */
export function send(user: TestUser, message: string, extra: Record<string, unknown> = {}) {
  return call('POST', '/api/chat/ai/send', { token: user.token, body: { message, ...extra } });
}

/** Reads one page of `user`'s history; `query` is the query string without `?`. */
export function history(user: TestUser, query = '') {
  return call(
    'GET',
    `/api/chat/ai/history/${encodeURIComponent(user.id)}${query ? `?${query}` : ''}`,
    {
      token: user.token,
    },
  );
}

/**
 * POSTs to the stream route and reads server-sent events as they arrive. `stopAfter` returning
 * true aborts the request there, as a client that goes away would.
 */
export async function stream(
  user: TestUser,
  body: Record<string, unknown>,
  options: { headers?: Record<string, string>; stopAfter?: (event: StreamEvent) => boolean } = {},
) {
  const path = '/api/chat/ai/stream';
  const reply = await readEvents(
    `${apiUrl}${path}`,
    {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${user.token}`,
        'Content-Type': 'application/json',
        ...options.headers,
      },
      body: JSON.stringify(body),
    },
    options.stopAfter,
  );
  checkResponse('POST', path, reply, eventsOrJson(reply));
  return reply;
}

/** What a stream answered: its events, or its JSON when it answered before streaming. */
const eventsOrJson = (reply: { json: unknown; events: StreamEvent[] }) =>
  reply.json === null
    ? {
        events: reply.events.map(({ event, id, data }) => ({ event, data, ...(id ? { id } : {}) })),
      }
    : { json: reply.json };

/** Follows a reply with `GET /api/chat/ai/stream/{id}` (query without `?`). */
export async function follow(
  user: TestUser,
  messageId: string,
  options: {
    query?: string;
    headers?: Record<string, string>;
    stopAfter?: (event: StreamEvent) => boolean;
    base?: string;
  } = {},
) {
  const path = `/api/chat/ai/stream/${messageId}${options.query ? `?${options.query}` : ''}`;
  const reply = await readEvents(
    `${options.base ?? apiUrl}${path}`,
    { headers: { Authorization: `Bearer ${user.token}`, ...options.headers } },
    options.stopAfter,
  );
  checkResponse('GET', path, reply, eventsOrJson(reply));
  return reply;
}
