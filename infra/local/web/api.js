// The API as any frontend calls it: a bearer token, JSON, and server-sent events read with
// fetch (EventSource cannot send an Authorization header).

import { serverSentEvents } from '/sse.js';

const BASE = '/api/chat/ai';

/** An answer of the API's `{ success: false, error }` kind, with its status. */
export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** Something the person typed cannot be used (said as it is, before any request). */
export class InputError extends Error {
  constructor(message) {
    super(message);
    this.name = 'InputError';
  }
}

/** The service could not be reached at all (it is down, or the network is). */
export class UnreachableError extends Error {
  constructor(cause) {
    super('Could not reach the service', { cause });
    this.name = 'UnreachableError';
  }
}

/** The API, for one signed-in user's token. */
export function client(token) {
  const authorization = { Authorization: `Bearer ${token}` };

  async function call(method, path, { body, headers, signal } = {}) {
    try {
      return await fetch(`${BASE}${path}`, {
        method,
        headers: {
          ...authorization,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new UnreachableError(error);
    }
  }

  return {
    /** A JSON route's answer; ApiError for anything but success. */
    async json(method, path, body, signal) {
      return json(await call(method, path, { body, signal }));
    },

    /**
     * A streaming route: `onEvent(name, data, id)` for each event until the stream ends.
     * A JSON answer instead (a 4xx before any event) is thrown as an ApiError.
     */
    async stream(method, path, { body, offset, signal }, onEvent) {
      const response = await call(method, path, {
        body,
        signal,
        headers: offset === undefined ? {} : { 'Last-Event-ID': String(offset) },
      });
      if (!response.headers.get('Content-Type')?.startsWith('text/event-stream')) {
        await json(response);
        return;
      }
      for await (const { event, data, id } of serverSentEvents(response.body)) {
        onEvent(event, JSON.parse(data), id);
      }
    },

    /** A download route's body as a Blob, with the file name the API suggests. */
    async file(path, fallbackName) {
      const response = await call('GET', path);
      if (!response.ok) await json(response);
      const disposition = response.headers.get('Content-Disposition') ?? '';
      const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
      return { blob: await response.blob(), name };
    },
  };
}

/** A JSON body, or the ApiError it stands for. */
export async function json(response) {
  const data = await response.json().catch(() => ({}));
  if (!response.ok || data.success === false) {
    throw new ApiError(
      response.status,
      data.error ?? `The service answered ${response.status} ${response.statusText}`.trim(),
      response.headers.get('Retry-After'),
    );
  }
  return data;
}

/** One sentence a person reads for a failure, whatever its kind. */
export function describe(error) {
  if (error instanceof UnreachableError) {
    return 'Could not reach the service: check that it is running and try again.';
  }
  if (error instanceof InputError) return error.message;
  if (!(error instanceof ApiError)) return `Something went wrong: ${error.message}`;
  let text = error.message.charAt(0).toUpperCase() + error.message.slice(1);
  const seconds = Number(error.retryAfter);
  if (seconds > 0) {
    // The API's own "try again shortly" becomes the time it gave.
    text = `${text.replace(/[;,.]?\s*try again shortly\.?$/i, '')}; try again in ${seconds} s.`;
  } else if (!/[.!?]$/.test(text)) {
    text += '.';
  }
  return text;
}
