// The reference client: how a frontend uses the API. Plain ES module, no build step, no
// framework. It calls the API as any frontend would: a bearer token, JSON, and server-sent
// events read with fetch (EventSource cannot send an Authorization header).

import { serverSentEvents } from '/sse.js';

const API = '/api/chat/ai';
const PAGE = 25;
const $ = (id) => document.getElementById(id);

const state = {
  token: localStorage.getItem('chat.token') ?? '',
  userId: '',
  roomId: '',
  olderCursor: null,
  /** The reply being written, while this page is writing or following it. */
  live: null,
  /** Called when a history page is on screen. */
  onShown: null,
};

// ---- The API -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

async function api(method, path, body) {
  const response = await fetch(`${API}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${state.token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return json(response);
}

async function json(response) {
  const data = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok || data.success === false) {
    throw new ApiError(
      response.status,
      data.error ?? `HTTP ${response.status}`,
      response.headers.get('Retry-After'),
    );
  }
  return data;
}

/** Reads a text/event-stream response, calling `onEvent(name, data, id)` for each event. */
async function readEvents(response, onEvent) {
  if (!response.headers.get('Content-Type')?.startsWith('text/event-stream')) {
    await json(response);
    return;
  }
  for await (const { event, data, id } of serverSentEvents(response.body)) {
    onEvent(event, JSON.parse(data), id);
  }
}

// ---- Errors a person reads -------------------------------------------------------------------

function showError(error) {
  const box = $('error');
  if (!error) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  let text = error instanceof ApiError ? error.message : `Something went wrong: ${error.message}`;
  if (error instanceof ApiError && error.status === 401) text += ' Please sign in again.';
  if (error instanceof ApiError && error.retryAfter) text += ` (Retry in ${error.retryAfter} s.)`;
  box.textContent = text;
  box.hidden = false;
}

async function attempt(work) {
  showError(null);
  try {
    await work();
  } catch (error) {
    showError(error);
  }
}

// ---- Signing in -------------------------------------------------------------------------------

/** The token's subject, read (not verified: the API does that) to name the user's own routes. */
function subjectOf(token) {
  try {
    // The payload is base64url of UTF-8 JSON: atob alone would read a user id like `zoë` as
    // Latin-1 and name another user's routes.
    const binary = atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'));
    const payload = JSON.parse(
      new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))),
    );
    return String(payload.sub ?? '');
  } catch {
    return '';
  }
}

async function signIn(token) {
  const userId = subjectOf(token);
  if (!userId) throw new Error('That is not a token with a subject');
  state.token = token;
  state.userId = userId;
  localStorage.setItem('chat.token', token);
  $('who-name').textContent = userId;
  $('who').hidden = false;
  $('sign-in-form').hidden = true;
  await Promise.all([loadRooms(), loadKey()]);
  const room = openRoom(localStorage.getItem(`chat.room.${userId}`) ?? `ai_chat_${userId}`);
  // Usable once the conversation is chosen and its history shown (a reply still being written
  // is followed in the background).
  await Promise.race([room, shown()]);
  $('app').hidden = false;
  await room;
}

/** Settles once the history's first page is on screen. */
function shown() {
  return new Promise((resolve) => {
    state.onShown = resolve;
  });
}

function signOut() {
  localStorage.removeItem('chat.token');
  location.reload();
}

// ---- Conversations ----------------------------------------------------------------------------

async function loadRooms() {
  const { rooms } = await api('GET', '/rooms?limit=50');
  const list = $('rooms');
  list.replaceChildren(
    ...rooms.map((room) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.testid = 'room';
      button.dataset.roomId = room.room_id;
      button.textContent = room.title;
      button.title = `${room.message_count} messages`;
      if (room.room_id === state.roomId) button.setAttribute('aria-current', 'true');
      button.addEventListener('click', () => attempt(() => openRoom(room.room_id)));
      item.append(button);
      return item;
    }),
  );
}

async function openRoom(roomId) {
  state.roomId = roomId;
  state.live = null;
  localStorage.setItem(`chat.room.${state.userId}`, roomId);
  for (const button of $('rooms').querySelectorAll('button')) {
    button.toggleAttribute('aria-current', button.dataset.roomId === roomId);
  }
  const listed = $('rooms').querySelector(`button[data-room-id="${CSS.escape(roomId)}"]`);
  $('room-title').textContent = listed?.textContent ?? 'New conversation';
  $('messages').replaceChildren();
  await loadPage();
  // A reply still being written (a refresh mid-reply, another tab): follow it to its end.
  const writing = [...$('messages').children].find((el) => el.dataset.status === 'streaming');
  if (writing) await follow(writing.dataset.id, [...writing.dataset.content].length);
}

/** The newest page, or the page before `olderCursor`, newest first from the API. */
async function loadPage(older = false) {
  const query = new URLSearchParams({ room_id: state.roomId, order: 'desc', limit: String(PAGE) });
  if (older && state.olderCursor) query.set('cursor', state.olderCursor);
  const page = await api('GET', `/history/${encodeURIComponent(state.userId)}?${query}`);
  const elements = page.messages.map(messageElement).reverse();
  if (older) $('messages').prepend(...elements);
  else $('messages').replaceChildren(...elements);
  state.olderCursor = page.pagination.next_cursor;
  $('load-older').hidden = !page.pagination.has_more;
  state.onShown?.();
}

function messageElement(message) {
  const item = document.createElement('li');
  item.className = 'message';
  item.dataset.testid = 'message';
  const text = document.createElement('span');
  text.className = 'text';
  const meta = document.createElement('span');
  meta.className = 'meta';
  item.append(text, meta);
  render(item, message);
  return item;
}

function render(item, message) {
  item.dataset.id = message.id;
  item.dataset.messageType = message.message_type;
  item.dataset.status = message.status;
  item.dataset.content = message.content;
  item.querySelector('.text').textContent = message.content;
  const who = message.message_type === 'user' ? 'You' : (message.ai_model ?? 'Assistant');
  const status = message.status === 'complete' ? '' : ` · ${message.status}`;
  item.querySelector('.meta').textContent = `${who}${status}`;
}

function element(id) {
  return [...$('messages').children].find((el) => el.dataset.id === id);
}

/** Shows a message, in place if this page already has it. */
function show(message) {
  const existing = element(message.id);
  if (existing) render(existing, message);
  else $('messages').append(messageElement(message));
  return element(message.id);
}

function appendText(id, text) {
  const item = element(id);
  if (!item) return;
  item.dataset.content += text;
  item.querySelector('.text').textContent = item.dataset.content;
}

// ---- Replies as they are written --------------------------------------------------------------

function writing(id) {
  state.live = id;
  $('stop').hidden = !id;
  $('send').disabled = Boolean(id);
}

/** What every streaming answer sends, handled the same way. */
function onReplyEvent(name, data) {
  if (name === 'user_message') show(data);
  else if (name === 'ai_message_started') {
    show(data);
    writing(data.id);
  } else if (name === 'delta' && state.live) appendText(state.live, data.content);
  else if (name === 'ai_message') {
    show(data);
    writing(null);
  } else if (name === 'error') showError(new Error(data.error));
}

async function send(text) {
  const response = await fetch(`${API}/stream`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${state.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: text, room_id: state.roomId }),
  });
  try {
    await readEvents(response, onReplyEvent);
  } finally {
    // A connection that dropped mid-reply: the reply goes on in the service; follow it.
    const live = state.live && element(state.live);
    if (live?.dataset.status === 'streaming')
      await follow(live.dataset.id, [...live.dataset.content].length);
    writing(null);
    await loadRooms();
  }
}

/** Follows a reply from `offset` (what this page already shows) to its end. */
async function follow(id, offset) {
  writing(id);
  try {
    for (;;) {
      let reconnectAt = null;
      const response = await fetch(`${API}/stream/${encodeURIComponent(id)}?offset=${offset}`, {
        headers: { Authorization: `Bearer ${state.token}` },
      });
      await readEvents(response, (name, data, eventId) => {
        if (name === 'delta') {
          appendText(id, data.content);
          offset = Number(eventId);
        } else if (name === 'reconnect') reconnectAt = data.offset;
        else onReplyEvent(name, data);
      });
      if (reconnectAt === null) return;
      offset = reconnectAt;
    }
  } finally {
    writing(null);
  }
}

async function stop() {
  if (!state.live) return;
  const { message } = await api('POST', `/stream/${encodeURIComponent(state.live)}/stop`);
  show(message);
}

async function clear() {
  await api(
    'DELETE',
    `/history/${encodeURIComponent(state.userId)}?room_id=${encodeURIComponent(state.roomId)}`,
  );
  await Promise.all([loadPage(), loadRooms()]);
}

function newRoom() {
  const id = `chat-${Date.now().toString(36)}`;
  return openRoom(id);
}

// ---- Settings -----------------------------------------------------------------------------------

async function loadKey(saved) {
  const key = saved ?? (await api('GET', '/api-key'));
  $('key-status').textContent = key.has_key
    ? `Key ending in ${key.last4} stored ${new Date(key.updated_at).toLocaleString()}.`
    : 'No key stored (the server-wide key is used, if there is one).';
  $('delete-key').hidden = !key.has_key;
}

// ---- Wiring -------------------------------------------------------------------------------------

$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  attempt(async () => {
    const userId = $('user-id').value.trim();
    if (!userId) throw new Error('Type a user id');
    // Local only: the dev stack mints a token for any user id (it exists only with its dev secret).
    const { token } = await json(
      await fetch('/dev/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user_id: userId }),
      }),
    );
    await signIn(token);
  });
});
$('use-token').addEventListener('click', () => attempt(() => signIn($('token').value.trim())));
$('sign-out').addEventListener('click', signOut);
$('new-room').addEventListener('click', () => attempt(newRoom));
$('load-older').addEventListener('click', () => attempt(() => loadPage(true)));
$('clear').addEventListener('click', () => attempt(clear));
$('stop').addEventListener('click', () => attempt(stop));
$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('message-input');
  const text = input.value;
  if (!text.trim() || state.live) return;
  input.value = '';
  attempt(() => send(text));
});
$('message-input').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  attempt(async () => {
    const saved = await api('PUT', '/api-key', { api_key: $('api-key-input').value.trim() });
    $('api-key-input').value = '';
    await loadKey(saved);
  });
});
$('delete-key').addEventListener('click', () =>
  attempt(async () => {
    await api('DELETE', '/api-key');
    await loadKey();
  }),
);

if (state.token) attempt(() => signIn(state.token));
