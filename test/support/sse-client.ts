export interface StreamEvent {
  event: string;
  /** The event's `id:` line (a delta's offset), if any. */
  id?: string;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON as it is
  data: any;
  /** Milliseconds since the request was sent. */
  at: number;
}

/** Reads a response's server-sent events, or its JSON when it is not an event stream. */
export async function readEvents(
  url: string,
  init: RequestInit,
  stopAfter?: (event: StreamEvent) => boolean,
) {
  const started = performance.now();
  const abort = new AbortController();
  const response = await fetch(url, { ...init, signal: abort.signal });
  const events: StreamEvent[] = [];
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
    return {
      status: response.status,
      headers: response.headers,
      events,
      json: await response.json(),
    };
  }
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        // Lines end at LF only here (the API writes LF): a regex `$` would also end one at
        // U+2028 or U+2029 inside the JSON.
        const field = (name: string) =>
          block
            .split('\n')
            .find((line) => line.startsWith(`${name}: `))
            ?.slice(name.length + 2);
        const event = field('event') ?? 'message';
        const id = field('id');
        const data = JSON.parse(field('data') ?? 'null');
        const parsed = { event, data, at: performance.now() - started, ...(id ? { id } : {}) };
        events.push(parsed);
        if (stopAfter?.(parsed)) {
          abort.abort();
          return { status: response.status, headers: response.headers, events, json: null };
        }
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    reader.releaseLock();
  }
  return {
    status: response.status,
    headers: response.headers,
    events,
    json: null,
    endedAt: performance.now() - started,
  };
}
