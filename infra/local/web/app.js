// The reference client: how a frontend uses the API. Plain ES modules, no build step, no
// framework; Markdown through marked and DOMPurify, served by the local stack from node_modules.

import { ApiError, client, describe, InputError, json } from '/api.js';
import { ask, choiceField, confirmed, textField } from '/dialogs.js';
import { copyText } from '/markdown.js';
import { messageElement, messageOf, renderMessage, timeElement } from '/message-view.js';
import { allowedModels } from '/models.js';
import { subjectOf } from '/token.js';

const PAGE = 25;
const ROOMS_PAGE = 50;
const $ = (id) => document.getElementById(id);
const phone = matchMedia('(max-width: 800px)');

const state = {
  token: localStorage.getItem('chat.token') ?? '',
  userId: '',
  api: null,
  roomId: '',
  olderCursor: null,
  roomsCursor: null,
  /** The id of the reply being written, while this page writes or follows it. */
  live: null,
  /** A send or regenerate is under way (before its reply has an id, too). */
  busy: false,
  /** Aborts whatever the open conversation's view is reading, when another one opens. */
  view: new AbortController(),
  /** Called when a history page is on screen. */
  onShown: null,
};

// ---- Errors a person reads -------------------------------------------------------------------

/** Shows one failure's sentence in `box` (the composer's, or the page's), or hides it. */
function showError(box, error) {
  box.textContent = typeof error === 'string' ? error : error ? describe(error) : '';
  box.hidden = !error;
}

/**
 * Runs `work`, showing a failure in `box`. A refused or expired token (401) goes back to the
 * sign-in form with the reason instead; a view left behind (AbortError) is nobody's failure.
 */
async function attempt(work, box = $('error')) {
  showError(box, null);
  try {
    await work();
  } catch (error) {
    if (error.name === 'AbortError') return;
    if (error instanceof ApiError && error.status === 401) {
      signedOut(`You were signed out: ${describe(error)} Sign in again.`);
      return;
    }
    showError(box, error);
  }
}

let noticeTimer;
function notice(text) {
  const box = $('notice');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    box.hidden = true;
  }, 4000);
}

// ---- Signing in -------------------------------------------------------------------------------

async function signIn(token) {
  const userId = subjectOf(token);
  if (!userId) throw new InputError('That is not a token with a subject (a user id).');
  state.token = token;
  state.userId = userId;
  state.api = client(token);
  localStorage.setItem('chat.token', token);
  $('who-name').textContent = userId;
  $('sign-in-reason').hidden = true;
  await Promise.all([loadRooms(), loadKey(), loadModels()]);
  const room = openRoom(localStorage.getItem(`chat.room.${userId}`) ?? `ai_chat_${userId}`);
  // Usable once the conversation is chosen and its history shown (a reply still being written
  // is followed in the background).
  await Promise.race([room, shown()]);
  $('sign-in-view').hidden = true;
  $('app').hidden = false;
  for (const toggle of document.querySelectorAll('.drawer-toggle')) toggle.hidden = false;
  thread.toNewest();
  $('message-input').focus();
  await room;
}

/** Settles once the history's first page is on screen. */
function shown() {
  return new Promise((resolve) => {
    state.onShown = resolve;
  });
}

/** Back to the sign-in form, with why when it was not the person's choice. */
function signedOut(reason) {
  state.view.abort();
  localStorage.removeItem('chat.token');
  Object.assign(state, { token: '', api: null, live: null, busy: false, roomId: '' });
  closeDrawers();
  $('app').hidden = true;
  for (const toggle of document.querySelectorAll('.drawer-toggle')) toggle.hidden = true;
  $('rooms').replaceChildren();
  $('messages').replaceChildren();
  $('sign-in-view').hidden = false;
  $('user-id').value = state.userId;
  $('sign-in-reason').textContent = reason ?? '';
  $('sign-in-reason').hidden = !reason;
  showError($('error'), null);
  $('user-id').focus();
}

// ---- Conversations ----------------------------------------------------------------------------

async function loadRooms(more = false) {
  const listed = $('rooms').children.length;
  // Reloading keeps as many conversations listed as were (up to the API's 100 a page).
  const limit = more ? ROOMS_PAGE : Math.min(100, Math.max(ROOMS_PAGE, listed));
  const query = new URLSearchParams({ limit: String(limit) });
  if (more && state.roomsCursor) query.set('cursor', state.roomsCursor);
  const { rooms, pagination } = await state.api.json('GET', `/rooms?${query}`);
  const items = rooms.map(roomItem);
  if (more) {
    $('rooms').append(...items);
    // "More conversations" may have gone: the keyboard carries on at the first new one.
    items[0]?.querySelector('button').focus();
  } else {
    $('rooms').replaceChildren(...items);
  }
  state.roomsCursor = pagination.next_cursor;
  $('more-rooms').hidden = !pagination.has_more;
  markCurrent();
}

function roomItem(room) {
  const item = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'room';
  button.dataset.testid = 'room';
  button.dataset.roomId = room.room_id;
  button.dataset.title = room.title;
  const title = document.createElement('span');
  title.className = 'room-title';
  title.textContent = room.title;
  const about = document.createElement('span');
  about.className = 'room-meta';
  about.append(
    timeElement(room.last_message_at),
    ` · ${room.message_count} message${room.message_count === 1 ? '' : 's'}`,
  );
  button.append(title, about);
  button.addEventListener('click', () => {
    closeDrawers();
    attempt(() => openRoom(room.room_id));
  });
  item.append(button);
  return item;
}

function roomButton(roomId) {
  return $('rooms').querySelector(`button[data-room-id="${CSS.escape(roomId)}"]`);
}

/** Highlights the open conversation in the list and names it in the header and the tab. */
function markCurrent() {
  for (const button of $('rooms').querySelectorAll('button')) {
    if (button.dataset.roomId === state.roomId) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
  const title = roomButton(state.roomId)?.dataset.title ?? 'New conversation';
  $('room-title').textContent = title;
  document.title = `${title} · AI chat history`;
}

async function openRoom(roomId) {
  state.view.abort();
  state.view = new AbortController();
  state.roomId = roomId;
  state.busy = false;
  writing(null);
  localStorage.setItem(`chat.room.${state.userId}`, roomId);
  markCurrent();
  showError($('composer-error'), null);
  $('message-input').value = localStorage.getItem(draftKey()) ?? '';
  $('messages').replaceChildren();
  refreshTail();
  await loadPage();
  // A reply still being written (a refresh mid-reply, another tab): follow it to its end.
  const streaming = [...$('messages').children].find((el) => el.dataset.status === 'streaming');
  if (streaming) await follow(streaming.dataset.id, [...streaming.dataset.content].length);
}

/** The newest page, or the page before `olderCursor` (newest first from the API). */
async function loadPage(older = false) {
  const { signal } = state.view;
  const history = `/history/${encodeURIComponent(state.userId)}`;
  const read = async (limit, cursor) => {
    const query = new URLSearchParams({ room_id: state.roomId, order: 'desc', limit });
    if (cursor) query.set('cursor', cursor);
    return state.api.json('GET', `${history}?${query}`, undefined, signal);
  };
  const page = await read(String(PAGE), older ? state.olderCursor : null);
  const found = [...page.messages];
  let { has_more: hasMore, next_cursor: cursor } = page.pagination;
  // A page whose oldest message is a reply would show it without its question: read on to the
  // question (one message at a time; a question and its reply are neighbours).
  for (let i = 0; i < 4 && hasMore && found.at(-1)?.message_type === 'ai'; i++) {
    const more = await read('1', cursor);
    found.push(...more.messages);
    ({ has_more: hasMore, next_cursor: cursor } = more.pagination);
  }
  const elements = found.reverse().map((message) => messageElement(message, actionsFor));
  const place = () => {
    if (older) $('messages').prepend(...elements);
    else $('messages').replaceChildren(...elements);
    $('load-older').hidden = !hasMore;
  };
  if (older) thread.keepPlace(place);
  else place();
  state.olderCursor = cursor;
  refreshTail();
  if (!older) thread.toNewest();
  state.onShown?.();
}

function element(id) {
  return [...$('messages').children].find((el) => el.dataset.id === id);
}

/** Shows a message, in place if this page already has it. */
function show(message) {
  const existing = element(message.id);
  if (existing) {
    pendingRender.delete(existing);
    renderMessage(existing, message, actionsFor);
  } else {
    $('messages').append(messageElement(message, actionsFor));
  }
  refreshTail();
  return element(message.id);
}

// Deltas arrive faster than is worth drawing: a growing reply is redrawn once per frame.
const pendingRender = new Set();
function appendText(id, text) {
  const item = element(id);
  if (!item) return;
  item.dataset.content += text;
  if (pendingRender.size === 0) {
    requestAnimationFrame(() => {
      for (const waiting of pendingRender) renderMessage(waiting, messageOf(waiting), actionsFor);
      pendingRender.clear();
      refreshTail();
    });
  }
  pendingRender.add(item);
}

/** The buttons under a message. */
function actionsFor(message) {
  if (message.message_type !== 'ai' || message.status === 'streaming') return [];
  const copy = smallButton('Copy', 'copy-message', 'Copy this reply');
  copy.addEventListener('click', () => copyText(copy, element(message.id)?.dataset.content ?? ''));
  return [copy];
}

function smallButton(label, testid, ariaLabel) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'quiet small';
  button.dataset.testid = testid;
  button.textContent = label;
  if (ariaLabel) button.setAttribute('aria-label', ariaLabel);
  return button;
}

/**
 * What depends on the conversation's end: regenerate under its last reply (when nothing is
 * being written), the empty-state hint, the conversation's own buttons, keeping up at the bottom.
 */
function refreshTail() {
  const items = $('messages').children;
  const last = items[items.length - 1];
  const offered =
    last?.dataset.messageType === 'ai' && last.dataset.status !== 'streaming' && !state.busy;
  for (const button of document.querySelectorAll('[data-testid=regenerate]')) {
    // The one in place stays (and keeps the keyboard's focus).
    if (!offered || !last.contains(button)) button.remove();
  }
  if (offered && !last.querySelector('[data-testid=regenerate]')) {
    const regenerate = smallButton('Regenerate', 'regenerate', 'Write this reply again');
    regenerate.addEventListener('click', () => attempt(regenerateReply, $('composer-error')));
    let actions = last.querySelector('.meta .actions');
    if (!actions) {
      actions = document.createElement('span');
      actions.className = 'actions';
      last.querySelector('.meta').append(actions);
    }
    actions.append(regenerate);
  }
  const empty = items.length === 0;
  $('empty-state').hidden = !empty || !$('load-older').hidden;
  for (const id of ['rename-room', 'clear', 'delete-room']) $(id).disabled = empty;
  thread.changed();
}

// ---- Replies as they are written --------------------------------------------------------------

function writing(id) {
  state.live = id;
  // One button where the person's eyes are: Stop while a reply is written, else Send.
  $('stop').hidden = !id;
  $('send').hidden = Boolean(id);
  $('send').disabled = state.busy;
  $('messages').setAttribute('aria-busy', String(Boolean(id)));
  refreshTail();
}

/**
 * Sends a turn (`/stream`, or `/regenerate/stream`) and shows its events. `accepted` runs
 * once the service has the question, `started` when the new reply has its id.
 */
async function streamTurn(path, body, { accepted, started } = {}) {
  const { signal } = state.view;
  let reply = null;
  let failure = null;
  state.busy = true;
  writing(null);
  try {
    try {
      await state.api.stream('POST', path, { body, signal }, (name, data) => {
        if (name === 'user_message') {
          show(data);
          accepted?.();
        } else if (name === 'ai_message_started') {
          started?.(data);
          reply = data.id;
          show(data);
          writing(data.id);
        } else if (name === 'delta') appendText(reply, data.content);
        else if (name === 'ai_message') show(data);
        else if (name === 'error') failure = data.error;
      });
    } catch (error) {
      // A connection that dropped mid-reply: the reply goes on in the service (below).
      if (!reply || signal.aborted) throw error;
    }
    const item = reply && element(reply);
    if (item?.dataset.status === 'streaming') {
      await follow(reply, [...item.dataset.content].length);
    }
  } finally {
    if (!signal.aborted) {
      state.busy = false;
      writing(null);
    }
  }
  if (failure) replyFailed(reply, failure);
  // The list's order, count and (after a first message) the title follow the conversation.
  await loadRooms();
}

/**
 * The service's word on a reply that failed, said once: a stored apology already says it; a
 * reply cut short gets it as a note; with no reply to show it on, the composer says it.
 */
function replyFailed(id, text) {
  const item = id && element(id);
  if (item?.dataset.content === text) return;
  if (item) renderMessage(item, messageOf(item), actionsFor, text);
  else showError($('composer-error'), text);
  refreshTail();
}

async function send(text) {
  const model = chosenModel();
  await streamTurn(
    '/stream',
    { message: text, room_id: state.roomId, ...(model ? { model } : {}) },
    {
      accepted: () => {
        localStorage.removeItem(draftKey());
        if ($('message-input').value === text) $('message-input').value = '';
      },
    },
  );
}

async function regenerateReply() {
  const items = [...$('messages').children];
  const old = items.at(-1)?.dataset.messageType === 'ai' ? items.at(-1) : null;
  const model = chosenModel();
  await streamTurn(
    '/regenerate/stream',
    { room_id: state.roomId, ...(model ? { model } : {}) },
    // The new reply takes the old one's place.
    { started: () => old?.remove() },
  );
}

/** Follows a reply from `offset` (what this page already shows) to its end. */
async function follow(id, offset) {
  const { signal } = state.view;
  writing(id);
  let failure = null;
  try {
    for (;;) {
      let reconnectAt = null;
      await state.api.stream(
        'GET',
        `/stream/${encodeURIComponent(id)}`,
        { offset, signal },
        (name, data, eventId) => {
          if (name === 'delta') {
            appendText(id, data.content);
            offset = Number(eventId);
          } else if (name === 'reconnect') reconnectAt = data.offset;
          else if (name === 'ai_message') show(data);
          else if (name === 'error') failure = data.error;
        },
      );
      if (reconnectAt === null) break;
      offset = reconnectAt;
    }
  } finally {
    if (!signal.aborted) writing(null);
  }
  if (failure) replyFailed(id, failure);
}

async function stop() {
  if (!state.live) return;
  const { message } = await state.api.json(
    'POST',
    `/stream/${encodeURIComponent(state.live)}/stop`,
  );
  show(message);
}

// ---- A conversation's own actions -------------------------------------------------------------

const roomPath = () => `/rooms/${encodeURIComponent(state.roomId)}`;

async function rename() {
  const current = roomButton(state.roomId)?.dataset.title ?? '';
  const answer = await ask({
    title: 'Rename conversation',
    fields: [textField('title', 'Title', current)],
    confirm: 'Rename',
  });
  const title = answer?.get('title')?.trim();
  if (!title) return;
  await state.api.json('PATCH', roomPath(), { title });
  await loadRooms();
  notice('Conversation renamed.');
}

async function clear() {
  const title = $('room-title').textContent;
  const sure = await confirmed({
    title: 'Clear this conversation?',
    text: `Every message of “${title}” is deleted for good.`,
    confirm: 'Clear',
    danger: true,
  });
  if (!sure) return;
  const { message } = await state.api.json(
    'DELETE',
    `/history/${encodeURIComponent(state.userId)}?room_id=${encodeURIComponent(state.roomId)}`,
  );
  await Promise.all([loadPage(), loadRooms()]);
  notice(`${message}.`);
}

async function deleteRoom() {
  const title = $('room-title').textContent;
  const sure = await confirmed({
    title: 'Delete this conversation?',
    text: `“${title}” and its messages are deleted for good.`,
    confirm: 'Delete',
    danger: true,
  });
  if (!sure) return;
  await state.api.json('DELETE', roomPath());
  await loadRooms();
  const next = $('rooms').querySelector('button')?.dataset.roomId;
  await (next ? openRoom(next) : newRoom());
  notice(`Deleted “${title}”.`);
}

async function exportHistory(everything) {
  const scopes = everything
    ? [['all', 'All conversations']]
    : [
        ['room', 'This conversation'],
        ['all', 'All conversations'],
      ];
  const answer = await ask({
    title: 'Export',
    text: 'Download a copy: Markdown reads as a transcript, JSONL is one message per line for scripts.',
    fields: [
      choiceField('format', 'Format', [
        ['markdown', 'Markdown (.md)'],
        ['jsonl', 'JSONL (.jsonl)'],
      ]),
      choiceField('scope', 'What', scopes),
    ],
    confirm: 'Download',
  });
  if (!answer) return;
  const format = answer.get('format');
  const query = new URLSearchParams({ format });
  if (answer.get('scope') === 'room') query.set('room_id', state.roomId);
  const { blob, name } = await state.api.file(
    `/export?${query}`,
    `chats.${format === 'markdown' ? 'md' : 'jsonl'}`,
  );
  // A download of what fetch read (with the bearer token): a link to it, clicked.
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function deleteMe() {
  const sure = await confirmed({
    title: 'Delete all your data?',
    text: 'Every conversation, every message and your stored API key are deleted for good. You stay signed in.',
    confirm: 'Delete everything',
    danger: true,
  });
  if (!sure) return;
  // A very large history may take more than one call; each is harmless to repeat.
  for (let i = 0; i < 20; i++) {
    const { complete } = await state.api.json('DELETE', '/me');
    if (complete) break;
  }
  closeDrawers();
  await Promise.all([loadRooms(), loadKey()]);
  await openRoom(`ai_chat_${state.userId}`);
  notice('All your data was deleted.');
}

function newRoom() {
  return openRoom(`chat-${Date.now().toString(36)}`);
}

// ---- The composer -------------------------------------------------------------------------------

const draftKey = () => `chat.draft.${state.userId}.${state.roomId}`;

async function loadModels() {
  const models = await allowedModels(state.api);
  const select = $('model');
  select.replaceChildren(
    ...models.map((name) => {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = name;
      return option;
    }),
  );
  const saved = localStorage.getItem('chat.model');
  if (saved && models.includes(saved)) select.value = saved;
  $('model-choice').hidden = models.length < 2;
}

function chosenModel() {
  return $('model-choice').hidden ? undefined : $('model').value;
}

// ---- Settings -----------------------------------------------------------------------------------

async function loadKey(saved) {
  const key = saved ?? (await state.api.json('GET', '/api-key'));
  $('key-status').textContent = key.has_key
    ? `Key ending in ${key.last4} stored ${new Date(key.updated_at).toLocaleString()}.`
    : 'No key stored (the server-wide key is used, if there is one).';
  $('delete-key').hidden = !key.has_key;
}

// ---- Drawers (conversations and settings, on a phone) -------------------------------------------

function openDrawer(panel) {
  closeDrawers();
  panel.classList.add('open');
  $('backdrop').hidden = false;
  const toggle = document.querySelector(`[aria-controls="${panel.id}"]`);
  toggle.setAttribute('aria-expanded', 'true');
  // The rest of the page is out of reach while a drawer covers it.
  for (const id of ['conversation', 'error']) $(id).inert = true;
  document.querySelector('header.top').inert = true;
  panel.querySelector('.close-drawer').focus();
}

function closeDrawers() {
  const open = document.querySelector('.drawer.open');
  if (!open) return;
  open.classList.remove('open');
  $('backdrop').hidden = true;
  for (const id of ['conversation', 'error']) $(id).inert = false;
  document.querySelector('header.top').inert = false;
  const toggle = document.querySelector(`[aria-controls="${open.id}"]`);
  toggle.setAttribute('aria-expanded', 'false');
  if (phone.matches) toggle.focus();
}

// ---- Keeping the newest message in view ---------------------------------------------------------

/**
 * The message list scrolls on its own: it opens at the newest message, follows a reply being
 * written while the person is at the bottom, and stops following when they scroll up (a
 * "jump to newest" button brings them back). Paging back keeps what is on screen in place.
 */
const thread = (() => {
  const box = $('thread');
  const jump = $('jump-to-newest');
  const NEAR = 48;
  let following = true;
  const fromBottom = () => box.scrollHeight - box.scrollTop - box.clientHeight;
  const update = () => {
    jump.hidden = following || fromBottom() <= NEAR;
  };
  box.addEventListener('scroll', () => {
    following = fromBottom() <= NEAR;
    update();
  });
  new ResizeObserver(() => {
    if (following) box.scrollTop = box.scrollHeight;
  }).observe(box);
  return {
    changed() {
      if (following) box.scrollTop = box.scrollHeight;
      update();
    },
    toNewest() {
      following = true;
      box.scrollTop = box.scrollHeight;
      update();
    },
    keepPlace(insert) {
      const before = box.scrollHeight - box.scrollTop;
      insert();
      box.scrollTop = box.scrollHeight - before;
    },
  };
})();

// ---- Wiring -------------------------------------------------------------------------------------

$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  attempt(async () => {
    const userId = $('user-id').value.trim();
    if (!userId) throw new InputError('Type a user id.');
    // Local only: the dev stack mints a token for any user id (it exists only with its dev secret).
    const answer = await fetch('/dev/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: userId }),
    });
    const { token } = await json(answer);
    await signIn(token);
  });
});
$('use-token').addEventListener('click', () => attempt(() => signIn($('token').value.trim())));
$('sign-out').addEventListener('click', () => signedOut(null));
$('new-room').addEventListener('click', () => {
  closeDrawers();
  attempt(newRoom);
});
$('more-rooms').addEventListener('click', () => attempt(() => loadRooms(true)));
$('load-older').addEventListener('click', () => attempt(() => loadPage(true)));
$('jump-to-newest').addEventListener('click', () => {
  thread.toNewest();
  $('message-input').focus();
});
$('rename-room').addEventListener('click', () => attempt(rename));
$('clear').addEventListener('click', () => attempt(clear));
$('delete-room').addEventListener('click', () => attempt(deleteRoom));
$('export').addEventListener('click', () => attempt(() => exportHistory(false)));
$('export-all').addEventListener('click', () => attempt(() => exportHistory(true)));
$('delete-me').addEventListener('click', () => attempt(deleteMe));
$('stop').addEventListener('click', () => attempt(stop, $('composer-error')));
$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('message-input').value;
  if (!text.trim() || state.busy || state.live) return;
  // The text stays in the composer until the service has it: a failed send loses nothing.
  attempt(() => send(text), $('composer-error'));
});
$('message-input').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});
$('message-input').addEventListener('input', () => {
  const text = $('message-input').value;
  if (text) localStorage.setItem(draftKey(), text);
  else localStorage.removeItem(draftKey());
});
$('model').addEventListener('change', () => localStorage.setItem('chat.model', $('model').value));
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  attempt(async () => {
    const saved = await state.api.json('PUT', '/api-key', {
      api_key: $('api-key-input').value.trim(),
    });
    $('api-key-input').value = '';
    await loadKey(saved);
  });
});
$('delete-key').addEventListener('click', () =>
  attempt(async () => {
    await state.api.json('DELETE', '/api-key');
    await loadKey();
  }),
);
$('open-rooms').addEventListener('click', () => openDrawer($('rooms-panel')));
$('open-settings').addEventListener('click', () => openDrawer($('settings-panel')));
for (const close of document.querySelectorAll('.close-drawer')) {
  close.addEventListener('click', closeDrawers);
}
$('backdrop').addEventListener('click', closeDrawers);
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') closeDrawers();
});
phone.addEventListener('change', closeDrawers);

if (state.token) {
  // A stored token signs in without showing the form, unless it fails.
  $('sign-in-view').hidden = true;
  attempt(() => signIn(state.token)).finally(() => {
    if ($('app').hidden) $('sign-in-view').hidden = false;
  });
} else {
  $('user-id').focus();
}
