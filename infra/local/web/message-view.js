// One message on screen. A message is drawn from its typed `parts` when it has them (reasoning
// folded under "Thinking", files as thumbnails or links, tool calls as small cards, sources as
// links), else from `content`; replies as Markdown, the user's own words as the text they typed.
// Controls a message offers (copy, regenerate; later edit and "< 2/3 >" between versions) come
// from the `actions` the page passes in, so a new one is a new action, not a new renderer.

import { renderMarkdown } from '/markdown.js';

const STATUS_LABEL = {
  streaming: 'Writing…',
  stopped: 'Stopped',
  error: 'Not answered',
};

const shown = new WeakMap();

/** The message an item shows now (its text may have grown since it came from the API). */
export function messageOf(item) {
  return { ...shown.get(item), content: item.dataset.content };
}

/** A new list item for a message. */
export function messageElement(message, actions) {
  const item = document.createElement('li');
  item.className = 'message';
  item.dataset.testid = 'message';
  renderMessage(item, message, actions);
  return item;
}

/**
 * Draws `message` into its list item. `actions(message)` gives the buttons under it.
 * `note` is a line under the text (why a reply was cut short), kept until replaced.
 */
export function renderMessage(item, message, actions, note = item.dataset.note) {
  shown.set(item, message);
  item.dataset.id = message.id;
  item.dataset.messageType = message.message_type;
  item.dataset.status = message.status;
  item.dataset.content = message.content;
  if (note) item.dataset.note = note;
  const ai = message.message_type === 'ai';
  item.setAttribute('aria-label', ai ? 'Assistant' : 'You');

  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  const text = document.createElement('div');
  text.className = ai ? 'text markdown' : 'text';
  text.append(...body(message, ai));
  bubble.append(text);
  if (note) {
    const line = document.createElement('p');
    line.className = 'note';
    line.dataset.testid = 'message-note';
    line.textContent = note;
    bubble.append(line);
  }
  item.replaceChildren(bubble, meta(message, ai, actions(message)));
}

function body(message, ai) {
  const parts =
    Array.isArray(message.parts) && message.parts.length > 0
      ? message.parts
      : [{ type: 'text', text: message.content }];
  return parts.map((part) => partElement(part, ai)).filter(Boolean);
}

function partElement(part, ai) {
  if (part.type === 'text') return ai ? renderMarkdown(part.text ?? '') : plain(part.text ?? '');
  if (part.type === 'reasoning') {
    const fold = document.createElement('details');
    fold.className = 'reasoning';
    const summary = document.createElement('summary');
    summary.textContent = 'Thinking';
    const inside = document.createElement('div');
    inside.append(renderMarkdown(part.text ?? ''));
    fold.append(summary, inside);
    return fold;
  }
  if (part.type === 'file') return filePart(part);
  if (part.type === 'source-url') return link(part.url, part.title || part.url, 'source');
  if (part.type === 'dynamic-tool' || part.type?.startsWith('tool-')) return toolCard(part);
  // Parts an app adds for itself (`data-*`, step markers) are not for reading.
  return null;
}

function plain(text) {
  const span = document.createElement('span');
  span.className = 'plain';
  span.textContent = text;
  return span;
}

/** An absolute http(s) URL for `href` (relative to this page), or null for any other kind. */
function safeUrl(href) {
  try {
    const url = new URL(href, location.href);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

function link(href, label, className) {
  const a = document.createElement('a');
  const url = safeUrl(href);
  if (url) {
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
  }
  a.className = className;
  a.textContent = label;
  return a;
}

function filePart(part) {
  const name = part.filename || 'file';
  const a = link(part.url, '', 'file');
  a.dataset.testid = 'file-part';
  if (part.mediaType?.startsWith('image/') && a.href) {
    const image = document.createElement('img');
    image.src = a.href;
    image.alt = name;
    image.loading = 'lazy';
    a.append(image);
  } else {
    a.textContent = name;
  }
  return a;
}

function toolCard(part) {
  const card = document.createElement('details');
  card.className = 'tool-card';
  card.dataset.testid = 'tool-card';
  const summary = document.createElement('summary');
  const name = part.toolName ?? part.type.replace(/^tool-/, '');
  const state = part.errorText ? 'failed' : part.output !== undefined ? 'done' : 'running';
  summary.textContent = `Tool: ${name} (${state})`;
  card.append(summary);
  for (const [label, value] of [
    ['Input', part.input],
    ['Output', part.output],
    ['Error', part.errorText],
  ]) {
    if (value === undefined) continue;
    const pre = document.createElement('pre');
    pre.textContent = `${label}: ${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}`;
    card.append(pre);
  }
  return card;
}

function meta(message, ai, buttons) {
  const line = document.createElement('div');
  line.className = 'meta';
  const who = document.createElement('span');
  who.className = 'who';
  // A stored apology names no model ("error"): its status says what happened.
  who.textContent = ai
    ? message.ai_model && message.ai_model !== 'error'
      ? message.ai_model
      : 'Assistant'
    : 'You';
  line.append(who, timeElement(message.timestamp));
  const status =
    message.status === 'error' && message.partial ? 'Cut short' : STATUS_LABEL[message.status];
  if (status) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.dataset.testid = 'message-status';
    badge.textContent = status;
    line.append(badge);
  }
  if (buttons.length > 0) {
    const actions = document.createElement('span');
    actions.className = 'actions';
    actions.append(...buttons);
    line.append(actions);
  }
  return line;
}

/** A time element: the time today, the date and time before today. */
export function timeElement(iso) {
  const time = document.createElement('time');
  if (!iso) return time;
  const when = new Date(iso);
  time.dateTime = iso;
  time.title = when.toLocaleString();
  time.textContent =
    when.toDateString() === new Date().toDateString()
      ? when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
      : when.toLocaleString([], {
          month: 'short',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
        });
  return time;
}
