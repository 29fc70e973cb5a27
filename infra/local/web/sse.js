// Server-sent events read from a fetch response body, parsed as the HTML standard says
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
// a line ends at CR, LF or CRLF and nowhere else, so text the model wrote (U+2028, U+2029,
// U+0085, anything JSON leaves unescaped) never cuts an event short.

/**
 * Yields `{ event, data, id }` for each event of a `text/event-stream` body: `event` defaults to
 * `message`, `data` is the event's data lines joined by LF, `id` the last event id seen so far.
 */
export async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const lineEnd = /\r\n|\r|\n/g;
  let buffer = '';
  let event = '';
  let data = [];
  let id = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      // An event not ended by a blank line when the stream closes is discarded, as the
      // standard says: it may be cut short.
      if (done) return;
      buffer += value;
      let start = 0;
      lineEnd.lastIndex = 0;
      for (let match = lineEnd.exec(buffer); match; match = lineEnd.exec(buffer)) {
        // A CR at the very end may be the first half of a CRLF still on its way.
        if (match[0] === '\r' && match.index === buffer.length - 1) break;
        const line = buffer.slice(start, match.index);
        start = lineEnd.lastIndex;
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? '' : line.slice(colon + 1);
        if (text.startsWith(' ')) text = text.slice(1);
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
        else if (field === 'id' && !text.includes('\0')) id = text;
      }
      buffer = buffer.slice(start);
    }
  } finally {
    // A reader that stops early (a room switched, a stop) closes the connection.
    await reader.cancel().catch(() => {});
  }
}
