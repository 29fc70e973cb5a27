import { PassThrough } from 'node:stream';
import type * as z from 'zod';
import type { streamEvents } from '#api/schemas.ts';

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
};

/**
 * One server-sent event. With an `id`, a client that reconnects sends it back as
 * `Last-Event-ID` (a browser's EventSource does so by itself).
 */
export function sseEvent(event: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * A `reasoning` event's id: `r` and the reasoning's length in code points, so a client that
 * reconnects with it (as `Last-Event-ID`) resumes the reasoning where it was.
 */
export const reasoningId = (offset: number) => `r${offset}`;

/** An event-stream body. A client that goes away destroys it; later writes are dropped, not thrown. */
export class SseBody {
  readonly stream = new PassThrough();

  constructor() {
    this.stream.on('error', () => undefined);
  }

  /** The client is gone, or the stream has ended. */
  get closed(): boolean {
    return this.stream.destroyed || this.stream.writableEnded;
  }

  /** Sends one of the contract's events, its data typed by the event's schema. */
  send<E extends keyof typeof streamEvents>(
    event: E,
    data: z.output<(typeof streamEvents)[E]>,
    id?: string,
  ) {
    if (!this.closed) this.stream.write(sseEvent(event, data, id));
  }

  end() {
    if (!this.closed) this.stream.end();
  }
}
