/// <reference lib="dom" />
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { Browser, JSHandle, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET, signDevToken } from '../../infra/local/dev-token.ts';
import type { OpenAICompatibleServer } from '../../infra/local/openai-compatible.ts';
import { DESKTOP, type Looks, launch, open, PHONE, screenshot } from '../support/browser.ts';
import { type DevStack, startDevStack } from '../support/dev-stack.ts';
import { startFakeModel } from '../support/fake-model.ts';
import { localDocumentClient, seedConversation } from '../support/seed.ts';

/**
 * The reference web client, as a person uses it, in Chromium against a local stack of its own:
 * the dev secret (so the sign-in field works), the test model (it answers `reply to: <the
 * question>`, so a question decides what the reply says), the default rate limit, and two
 * models a request may choose.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'chat-browser-'));
const TABLE = 'ai-chat-history';
let stack: DevStack;
let model: OpenAICompatibleServer;
let browser: Browser;
let page: Page | undefined;
let problems: string[];

beforeAll(async () => {
  model = await startFakeModel();
  browser = await launch();
  stack = await startDevStack({
    DATA_DIR: dataDir,
    DYNAMODB_IN_MEMORY: 'true',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'fallback-key',
    ALLOWED_MODELS: 'gpt-4o-mini,gpt-4o',
  });
});

afterEach(async ({ task }) => {
  if (page) await screenshot(page, task.name.replace(/\W+/g, '-').slice(0, 80));
  await page?.context().close();
  page = undefined;
  expect(problems).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await model?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function opened(looks: Looks = {}) {
  ({ page, problems } = await open(browser, `${stack.url}/`, looks));
  return page;
}

async function signedIn(userId: string, looks: Looks = {}) {
  const p = await opened(looks);
  await p.getByTestId('user-id').fill(userId);
  await p.getByTestId('sign-in').click();
  await p.getByTestId('message-input').waitFor();
  return p;
}

const user = () => `web-${crypto.randomUUID().slice(0, 8)}`;
const messages = (p: Page) => p.getByTestId('message');
const texts = async (p: Page) =>
  (await messages(p).locator('.text').allTextContents()).map((text) => text.trim());
/** Each message's text as the API has it (the page draws replies as Markdown). */
const contents = (p: Page) =>
  messages(p).evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.content));
const reply = (p: Page, status = 'complete') =>
  p.locator(`[data-testid=message][data-message-type=ai][data-status=${status}]`);
const tokenOf = (p: Page) => p.evaluate(() => localStorage.getItem('chat.token') ?? '');

async function send(p: Page, text: string) {
  await p.getByTestId('message-input').fill(text);
  await p.getByTestId('message-input').press('Enter');
}

/** Where the message list is scrolled to: px from its bottom, and its scrollTop. */
const scrolled = (p: Page) =>
  p.evaluate(() => {
    const thread = document.getElementById('thread') as HTMLElement;
    return {
      fromBottom: thread.scrollHeight - thread.scrollTop - thread.clientHeight,
      top: thread.scrollTop,
    };
  });

async function seedRoom(
  userId: string,
  roomId: string,
  count: number,
  content?: (i: number) => string,
) {
  await seedConversation(
    localDocumentClient(stack.dynamoEndpoint),
    TABLE,
    userId,
    roomId,
    count,
    content,
  );
}

async function api(token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.url}/api/chat/ai${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json() as Promise<Record<string, unknown>>;
}

describe('signing in and out', () => {
  it('signs in with a user id, streams a reply as it is written, and shows the history after a refresh', async () => {
    const p = await signedIn(user());

    await send(p, 'Tell me something nice [[slow:80]]');
    await reply(p, 'streaming').waitFor();
    await reply(p).waitFor();
    await p.reload();
    await reply(p).waitFor();

    expect(await texts(p)).toEqual([
      'Tell me something nice [[slow:80]]',
      'reply to: Tell me something nice [[slow:80]]',
    ]);
    expect(await reply(p).locator('.who').textContent()).toBe('gpt-4o-mini');
    expect(await p.getByTestId('room').count()).toBe(1);
  });

  it('signs in with a pasted token, is served with a strict Content-Security-Policy and nothing from elsewhere, and says plainly when a token is bad', async () => {
    const response = await fetch(`${stack.url}/`);
    const token = await signDevToken('pasted-user', DEV_JWT_SECRET);
    const p = await opened();

    await p.getByTestId('token').fill('not-a-token');
    await p.getByText('Use token').click();
    await p.getByTestId('error').waitFor();
    const refused = await p.getByTestId('error').textContent();
    await p.getByTestId('token').fill(token);
    await p.getByText('Use token').click();
    await p.getByText('Signed in as').waitFor();
    const loaded = await p.evaluate(() =>
      performance.getEntriesByType('resource').map((entry) => entry.name),
    );

    expect(response.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(refused).toBe('That is not a token with a subject (a user id).');
    expect((await p.locator('#who-name').textContent()) ?? '').toBe('pasted-user');
    expect(loaded.filter((url) => !url.startsWith(`${stack.url}/`))).toEqual([]);
    expect(loaded).toContain(`${stack.url}/vendor/marked.js`);
    expect(loaded).toContain(`${stack.url}/vendor/purify.js`);
  });

  it('returns to the sign-in form with the reason when the token expires, and keeps the unsent text for after', async () => {
    const id = user();
    const p = await opened();
    // The service allows 5 s of clock skew: this token has 3 to 4 s left, time to sign in.
    const expiry = Math.floor(Date.now() / 1000) - 1;
    const token = await new SignJWT({ type: 'access' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(id)
      .setIssuedAt(expiry - 60)
      .setExpirationTime(expiry)
      .sign(new TextEncoder().encode(DEV_JWT_SECRET));
    await p.getByTestId('token').fill(token);
    await p.getByText('Use token').click();
    await p.getByTestId('message-input').waitFor();
    await p.getByTestId('message-input').fill('a question typed before the token ran out');
    await p.waitForTimeout((expiry + 5) * 1000 + 300 - Date.now());

    await p.getByTestId('message-input').press('Enter');
    await p.getByTestId('sign-in-reason').waitFor();
    const reason = await p.getByTestId('sign-in-reason').textContent();
    const appHidden = await p.locator('#app').isHidden();
    await p.getByTestId('sign-in').click();
    await p.getByTestId('message-input').waitFor();

    expect(reason).toBe('You were signed out: Token has expired. Sign in again.');
    expect(appHidden).toBe(true);
    expect(await p.getByTestId('user-id').inputValue()).toBe(id);
    expect(await p.getByTestId('message-input').inputValue()).toBe(
      'a question typed before the token ran out',
    );
    expect(await messages(p).count()).toBe(0);
  });

  it('returns to the sign-in form with the reason when the service refuses a stored token', async () => {
    const forged = await new SignJWT({ type: 'access' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-that-is-long-enough-for-hs256'));
    const p = await opened();
    await p.evaluate((token) => localStorage.setItem('chat.token', token), forged);

    await p.reload();
    await p.getByTestId('sign-in-reason').waitFor();

    expect(await p.getByTestId('sign-in-reason').textContent()).toBe(
      'You were signed out: Invalid token. Sign in again.',
    );
    expect(await p.evaluate(() => localStorage.getItem('chat.token'))).toBeNull();
    expect(await p.getByTestId('error').isHidden()).toBe(true);
  });

  it('signs in a user whose id is outside ASCII, and sends and reloads their history', async () => {
    const p = await signedIn(`zoë-${crypto.randomUUID().slice(0, 4)}`);

    await send(p, 'hello from zoë');
    await reply(p).waitFor();
    await p.reload();
    await reply(p).waitFor();

    expect((await p.locator('#who-name').textContent()) ?? '').toMatch(/^zoë-/);
    expect(await messages(p).count()).toBe(2);
    expect(await p.getByTestId('error').isVisible()).toBe(false);
  });
});

describe('replies', () => {
  it('re-attaches to a reply after a refresh in its middle, and it completes with the full text', async () => {
    const p = await signedIn(user());
    const question = `${'one two three four five six seven eight nine ten '.repeat(3)}[[slow:120]]`;

    await send(p, question);
    await p.waitForFunction(
      () =>
        ((document.querySelector('[data-message-type=ai]') as HTMLElement | null)?.dataset.content
          ?.length ?? 0) > 12,
    );
    await p.reload();
    await reply(p, 'streaming').waitFor();
    await reply(p).waitFor({ timeout: 30_000 });

    expect(await reply(p).getAttribute('data-content')).toBe(`reply to: ${question}`);
    expect(await messages(p).count()).toBe(2);
  });

  it('stops a reply while it is being written', async () => {
    const p = await signedIn(user());

    await send(p, `${'a long story '.repeat(20)}[[slow:150]]`);
    await p.getByTestId('stop').waitFor();
    await p.waitForTimeout(600);
    await p.getByTestId('stop').click();
    await reply(p, 'stopped').waitFor();

    expect(await p.getByTestId('stop').isVisible()).toBe(false);
    expect(await reply(p, 'stopped').getByTestId('message-status').textContent()).toBe('Stopped');
    const stopped = (await reply(p, 'stopped').getAttribute('data-content')) ?? '';
    expect(stopped.length).toBeGreaterThan(0);
    expect(`reply to: ${'a long story '.repeat(20)}[[slow:150]]`.startsWith(stopped)).toBe(true);
  });

  it('shows a reply and a question containing U+2028 and U+2029 whole, and the reply ends complete', async () => {
    const p = await signedIn(user());
    const question = 'one\u2028two\u2029three';

    await send(p, question);
    await reply(p).waitFor();

    expect(await texts(p)).toEqual([question, `reply to: ${question}`]);
    expect(await p.getByTestId('error').isVisible()).toBe(false);
  });

  it('reads server-sent events as the standard says: lines end at CR, LF or CRLF, split anywhere', async () => {
    const p = await opened();

    const sse = (await p.evaluateHandle('import("/sse.js")')) as JSHandle<{
      serverSentEvents: (body: ReadableStream) => AsyncIterable<unknown>;
    }>;
    const events = await p.evaluate(async ({ serverSentEvents }) => {
      const chunks = [
        ': a comment\r\nevent: delta\r',
        '\nid: 3\rdata: {"content":"a\u2028b\u0085c"}\r\r',
        'data: one\ndata:two\n\nevent: ai_message\ndata',
        ': {}\n\nevent: cut short\ndata: never dispatched',
      ];
      const body = new ReadableStream({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
          controller.close();
        },
      });
      const seen = [];
      for await (const event of serverSentEvents(body)) seen.push(event);
      return seen;
    }, sse);

    expect(events).toEqual([
      { event: 'delta', data: '{"content":"a\u2028b\u0085c"}', id: '3' },
      { event: 'message', data: 'one\ntwo', id: '3' },
      { event: 'ai_message', data: '{}', id: '3' },
    ]);
  });

  it('renders a reply as Markdown: headings, lists, emphasis, tables, code with a copy button, links that open safely', async () => {
    const p = await signedIn(user());
    const question = [
      'a question',
      '',
      '## A heading',
      '',
      '- **bold** and *italic*',
      '- `inline code`',
      '',
      '| a | b |',
      '| - | - |',
      '| 1 | 2 |',
      '',
      '```js',
      'const answer = 42;',
      '```',
      '',
      'See [the docs](https://example.com/docs).',
    ].join('\n');

    await send(p, question);
    await reply(p).waitFor();
    const body = reply(p).locator('.text');
    await body.getByTestId('copy-code').click();
    await body.getByText('Copied').waitFor();

    expect(await body.locator('h2').textContent()).toBe('A heading');
    expect(await body.locator('li strong').textContent()).toBe('bold');
    expect(await body.locator('li em').textContent()).toBe('italic');
    expect(await body.locator('li code').textContent()).toBe('inline code');
    expect(await body.locator('table td').allTextContents()).toEqual(['1', '2']);
    expect(await body.locator('.code-block pre').textContent()).toBe('const answer = 42;\n');
    expect(await p.evaluate(() => navigator.clipboard.readText())).toBe('const answer = 42;\n');
    const link = body.getByRole('link', { name: 'the docs' });
    expect(await link.getAttribute('href')).toBe('https://example.com/docs');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await link.getAttribute('target')).toBe('_blank');
    // The person's own words are shown as typed, Markdown and all.
    expect((await texts(p))[0]).toBe(question);
  });

  it('renders hostile output inert: no raw HTML, no event handlers, no javascript: links, no remote images', async () => {
    const p = await signedIn(user());
    const hostile = [
      'hostile',
      '',
      '<img src=x onerror="window.pwned = true">',
      '',
      '<script>window.pwned = true</script>',
      '',
      '<b onclick="alert(1)">raw bold</b> and <iframe src="https://example.com"></iframe>',
      '',
      '[click me](javascript:alert(1)) [data](data:text/html,<script>alert(1)</script>)',
      '',
      '<a href="javascript:alert(1)">html link</a>',
      '',
      '![pixel](https://tracker.example.com/pixel.png)',
      '',
      'line\u2028separator\u2029end',
    ].join('\n');

    await send(p, hostile);
    await reply(p).waitFor();
    const found = await p.evaluate(() => {
      const list = document.getElementById('messages') as HTMLElement;
      const all = Array.from(list.querySelectorAll('*'));
      return {
        elements: [...new Set(all.map((el) => el.tagName.toLowerCase()))],
        handlers: all.flatMap((el) =>
          Array.from(el.attributes)
            .filter((a) => a.name.startsWith('on'))
            .map((a) => a.name),
        ),
        hrefs: Array.from(list.querySelectorAll('a[href]'), (a) => a.getAttribute('href')),
        pwned: 'pwned' in window,
      };
    });
    const body = (await reply(p).locator('.text').textContent()) ?? '';

    for (const tag of ['img', 'script', 'iframe', 'b', 'object', 'embed', 'svg']) {
      expect(found.elements).not.toContain(tag);
    }
    expect(found.handlers).toEqual([]);
    expect(found.hrefs).toEqual(['https://tracker.example.com/pixel.png']);
    expect(found.pwned).toBe(false);
    expect(body).toContain('<img src=x onerror=');
    expect(body).toContain('<b onclick="alert(1)">raw bold</b>');
    expect(body).toContain('click me');
    expect(body).toContain('line\u2028separator\u2029end');
    expect(await reply(p).getByRole('link', { name: 'pixel' }).count()).toBe(1);
  });

  it('regenerates the last reply in its place, and the new one is what history keeps', async () => {
    const p = await signedIn(user());
    await send(p, 'name three rivers');
    await reply(p).waitFor();
    const first = await reply(p).getAttribute('data-id');

    await p.getByTestId('regenerate').click();
    await p.waitForFunction((old) => {
      const ai = document.querySelector('[data-message-type=ai]') as HTMLElement | null;
      return ai && ai.dataset.id !== old && ai.dataset.status === 'complete';
    }, first);
    const second = await reply(p).getAttribute('data-id');
    await p.reload();
    await reply(p).waitFor();

    expect(second).not.toBe(first);
    expect(await reply(p).getAttribute('data-id')).toBe(second);
    expect(await texts(p)).toEqual(['name three rivers', 'reply to: name three rivers']);
    expect(await p.getByTestId('regenerate').count()).toBe(1);
  });

  it('says once, in words, that the provider rejected the key, and offers to regenerate', async () => {
    const p = await signedIn(user());

    await send(p, 'this will fail [[fail:401]]');
    await reply(p, 'error').waitFor();
    await p.waitForFunction(
      () => !document.querySelector('[data-testid=send]')?.hasAttribute('disabled'),
    );

    const said =
      'Your API key was rejected by the AI provider, so I could not answer. Please update your API key in settings.';
    expect(await p.getByText(said).count()).toBe(1);
    expect(await p.getByText(/error · error|error error/i).count()).toBe(0);
    expect(await reply(p, 'error').locator('.who').textContent()).toBe('Assistant');
    expect(await reply(p, 'error').getByTestId('message-status').textContent()).toBe(
      'Not answered',
    );
    expect(await p.getByTestId('composer-error').isHidden()).toBe(true);
    expect(await p.getByTestId('error').isHidden()).toBe(true);
    expect(await p.getByTestId('regenerate').isVisible()).toBe(true);
  });

  it('keeps what a failing model wrote, marks it cut short and says why under it, once', async () => {
    const p = await signedIn(user());

    await send(p, 'start then fail [[break]]');
    await reply(p, 'error').waitFor();
    await p.getByTestId('message-note').waitFor();

    expect(await reply(p, 'error').getAttribute('data-content')).toBe('reply to: ');
    expect(await reply(p, 'error').getByTestId('message-status').textContent()).toBe('Cut short');
    expect(await p.getByTestId('message-note').textContent()).toBe(
      "I'm sorry, I'm having trouble processing your request right now. Please try again later.",
    );
    expect(await p.getByTestId('composer-error').isHidden()).toBe(true);
    expect(await p.getByTestId('error').isHidden()).toBe(true);
  });

  it('shows when each message was written', async () => {
    const p = await signedIn(user());
    await send(p, 'what time is it');
    await reply(p).waitFor();
    const token = await tokenOf(p);
    const history = (await api(
      token,
      'GET',
      `/history/${encodeURIComponent((await p.locator('#who-name').textContent()) ?? '')}?limit=5`,
    )) as {
      messages: { timestamp: string }[];
    };

    const shown = await messages(p)
      .locator('time')
      .evaluateAll((times) =>
        times.map((t) => ({ at: t.getAttribute('datetime'), text: t.textContent })),
      );

    expect(shown.map((time) => time.at)).toEqual(history.messages.map((m) => m.timestamp));
    for (const time of shown) expect(time.text).toMatch(/\d{1,2}:\d{2}/);
  });

  it('draws typed parts when a message has them: reasoning folded under "Thinking", files, tool calls', async () => {
    const p = await signedIn(user());

    const view = (await p.evaluateHandle('import("/message-view.js")')) as JSHandle<{
      messageElement: (message: object, actions: () => Node[]) => HTMLElement;
    }>;
    await p.evaluate(({ messageElement }) => {
      const item = messageElement(
        {
          id: 'parts-1',
          message_type: 'ai',
          status: 'complete',
          ai_model: 'gpt-4o-mini',
          timestamp: new Date().toISOString(),
          content: 'The answer is **42**.',
          parts: [
            { type: 'reasoning', text: 'Six times seven.' },
            { type: 'text', text: 'The answer is **42**.' },
            { type: 'file', mediaType: 'image/png', url: '/favicon.ico', filename: 'chart.png' },
            {
              type: 'file',
              mediaType: 'application/pdf',
              url: '/report.pdf',
              filename: 'report.pdf',
            },
            { type: 'tool-weather', toolCallId: 't1', input: { city: 'Oslo' }, output: { c: 3 } },
            { type: 'data-internal', data: { secret: 'not for reading' } },
          ],
        },
        () => [],
      );
      document.getElementById('messages')?.append(item);
    }, view);
    const shown = p.locator('[data-id=parts-1]');

    const thinking = shown.locator('details.reasoning');
    expect(await thinking.locator('summary').textContent()).toBe('Thinking');
    expect(await thinking.getAttribute('open')).toBeNull();
    expect(await shown.locator('.text strong').textContent()).toBe('42');
    expect(await shown.getByTestId('file-part').locator('img').getAttribute('alt')).toBe(
      'chart.png',
    );
    expect(await shown.getByTestId('file-part').nth(1).textContent()).toBe('report.pdf');
    expect(await shown.getByTestId('file-part').nth(1).getAttribute('href')).toBe(
      `${stack.url}/report.pdf`,
    );
    expect(await shown.getByTestId('tool-card').locator('summary').textContent()).toBe(
      'Tool: weather (done)',
    );
    expect(await shown.textContent()).not.toContain('not for reading');
  });
});

describe('scrolling', () => {
  it('opens at the newest message, with the composer in view', async () => {
    const id = user();
    await seedRoom(id, `ai_chat_${id}`, 60);
    const p = await signedIn(id);

    const composer = await p.locator('#composer').boundingBox();
    const newest = await messages(p).last().boundingBox();

    expect((await scrolled(p)).fromBottom).toBeLessThanOrEqual(1);
    expect(newest && newest.y + newest.height).toBeLessThanOrEqual(composer?.y ?? 0);
    expect(composer && composer.y + composer.height).toBeLessThanOrEqual(DESKTOP.height);
  });

  it('follows a reply while the reader is at the bottom, stops when they scroll up, and "jump to newest" brings them back', async () => {
    const id = user();
    await seedRoom(id, `ai_chat_${id}`, 10);
    const p = await signedIn(id);
    const long = `${Array.from({ length: 40 }, (_, i) => `line ${i} `).join('\n')}[[slow:50]]`;

    await send(p, long);
    await p.waitForFunction(
      () =>
        ((document.querySelector('[data-status=streaming]') as HTMLElement | null)?.dataset.content
          ?.length ?? 0) > 150,
    );
    const following = await scrolled(p);
    await p.locator('#thread').hover();
    await p.mouse.wheel(0, -400);
    await p.getByTestId('jump-to-newest').waitFor();
    // A wheel scrolls smoothly: where it ends is where the reader left.
    await p.waitForTimeout(300);
    const left = await scrolled(p);
    await screenshot(p, 'scrolled-up-while-a-reply-is-written');
    await p.waitForTimeout(500);
    const stayed = await scrolled(p);
    await p.getByTestId('jump-to-newest').click();
    const back = await scrolled(p);
    await reply(p).last().waitFor();
    await p.waitForFunction(() => !document.querySelector('[data-status=streaming]'));
    const end = await scrolled(p);

    expect(following.fromBottom).toBeLessThanOrEqual(48);
    expect(stayed.top).toBe(left.top);
    expect(stayed.fromBottom).toBeGreaterThan(left.fromBottom);
    expect(back.fromBottom).toBeLessThanOrEqual(1);
    expect(end.fromBottom).toBeLessThanOrEqual(1);
    expect(await p.getByTestId('jump-to-newest').isHidden()).toBe(true);
    expect(await p.evaluate(() => document.activeElement?.id)).toBe('message-input');
  });

  it('pages 60 messages back with "load older", each exactly once, in order, keeping the reader\'s place and every question with its reply', async () => {
    const id = user();
    await seedRoom(id, `ai_chat_${id}`, 60);
    const p = await signedIn(id);
    await p.getByTestId('load-older').waitFor();

    const firstPage = await texts(p);
    const places: number[] = [];
    while (await p.getByTestId('load-older').isVisible()) {
      await p.getByTestId('load-older').scrollIntoViewIfNeeded();
      const oldest = await messages(p).first().elementHandle();
      const before = (await oldest?.boundingBox())?.y ?? 0;
      const count = await messages(p).count();
      await p.getByTestId('load-older').click();
      await p.waitForFunction(
        (n) => document.querySelectorAll('[data-testid=message]').length > n,
        count,
      );
      places.push(((await oldest?.boundingBox())?.y ?? 0) - before);
      expect(await messages(p).first().getAttribute('data-message-type')).toBe('user');
    }

    // 25 a page, and the question of a reply that opens a page read with it.
    expect(firstPage.length).toBe(26);
    expect(firstPage[0]).toBe('message 35');
    expect(places.every((moved) => Math.abs(moved) <= 1)).toBe(true);
    expect(await texts(p)).toEqual(Array.from({ length: 60 }, (_, i) => `message ${i + 1}`));
  });
});

describe('a failed send', () => {
  it('keeps the text in the composer and says why beside it, once (413)', async () => {
    const p = await signedIn(user());
    const tooLong = 'x'.repeat(16_001);

    await p.getByTestId('message-input').fill(tooLong);
    await p.getByTestId('send').click();
    await p.getByTestId('composer-error').waitFor();

    expect(await p.getByTestId('composer-error').textContent()).toBe(
      'Message is too long: at most 16000 characters.',
    );
    expect(await p.getByTestId('message-input').inputValue()).toBe(tooLong);
    expect(await p.getByTestId('error').isHidden()).toBe(true);
    expect(await messages(p).count()).toBe(0);
    const error = await p.getByTestId('composer-error').boundingBox();
    const input = await p.getByTestId('message-input').boundingBox();
    expect(Math.abs((input?.y ?? 0) - ((error?.y ?? 0) + (error?.height ?? 0)))).toBeLessThan(20);
  });

  it('shows a rate limit (429) beside the composer, with when to try again, and keeps the text', async () => {
    const p = await signedIn(user());
    const token = await tokenOf(p);
    for (let i = 0; i < 20; i++) await api(token, 'POST', '/send', { message: `filler ${i}` });

    await send(p, 'one too many');
    await p.getByTestId('composer-error').waitFor();

    expect(await p.getByTestId('composer-error').textContent()).toMatch(
      /^Rate limit of 20 messages per minute reached; try again in \d+ s\.$/,
    );
    expect(await p.getByTestId('message-input').inputValue()).toBe('one too many');
  });
  it('says plainly when the service cannot be reached, and keeps the text', async () => {
    const p = await signedIn(user());
    await p.route('**/api/chat/ai/stream', (route) => route.abort('connectionrefused'));

    await send(p, 'are you there');
    await p.getByTestId('composer-error').waitFor();

    expect(await p.getByTestId('composer-error').textContent()).toBe(
      'Could not reach the service: check that it is running and try again.',
    );
    expect(await p.getByTestId('message-input').inputValue()).toBe('are you there');
    expect(await messages(p).count()).toBe(0);
    // The browser's console reports the refused connection itself: that line is expected.
    problems = problems.filter((problem) => !problem.includes('ERR_CONNECTION_REFUSED'));
  });
});

describe('conversations', () => {
  it('starts new conversations with a hint, titles them after the first message, lists them most recent first, and highlights the open one', async () => {
    const p = await signedIn(user());
    const hint = await p.getByTestId('empty-state').isVisible();
    const untitled = await p.getByTestId('room-title').textContent();
    await send(p, 'in the first room');
    await reply(p).waitFor();
    await p.getByTestId('room-title').getByText('in the first room').waitFor();

    await p.getByTestId('new-room').click();
    await p.waitForFunction(() => document.querySelectorAll('[data-testid=message]').length === 0);
    const current = await p.locator('[data-testid=room][aria-current]').count();
    await send(p, 'in the second room');
    await reply(p).waitFor();
    await p.waitForFunction(() => document.querySelectorAll('[data-testid=room]').length === 2);

    expect(hint).toBe(true);
    expect(untitled).toBe('New conversation');
    expect(current).toBe(0);
    expect(await p.getByTestId('empty-state').isHidden()).toBe(true);
    expect(await p.locator('.room-title').allTextContents()).toEqual([
      'in the second room',
      'in the first room',
    ]);
    expect(await p.getByTestId('room').nth(0).getAttribute('aria-current')).toBe('true');
    await p.getByTestId('room').nth(1).click();
    await p.waitForFunction(() =>
      document.querySelector('[data-testid=message] .text')?.textContent?.includes('first'),
    );
    expect(await messages(p).count()).toBe(2);
    expect(await p.getByTestId('room').nth(1).getAttribute('aria-current')).toBe('true');
    expect(await p.getByTestId('room').nth(0).getAttribute('aria-current')).toBeNull();
    expect(await p.getByTestId('room-title').textContent()).toBe('in the first room');
  });

  it('renames a conversation after asking for the new title (Escape changes nothing)', async () => {
    const p = await signedIn(user());
    await send(p, 'a conversation to rename');
    await reply(p).waitFor();

    await p.getByTestId('rename-room').click();
    await p.getByTestId('title-input').fill('never saved');
    await p.keyboard.press('Escape');
    const kept = await p.getByTestId('room-title').textContent();
    await p.getByTestId('rename-room').click();
    await p.getByTestId('title-input').fill('Rivers of Europe');
    await p.getByTestId('title-input').press('Enter');
    await p.getByTestId('room-title').getByText('Rivers of Europe').waitFor();
    await p.reload();
    await p.getByTestId('room-title').getByText('Rivers of Europe').waitFor();

    expect(kept).toBe('a conversation to rename');
    expect(await p.locator('[aria-current=true] .room-title').textContent()).toBe(
      'Rivers of Europe',
    );
  });

  it('deletes a conversation only once confirmed, and opens the next one', async () => {
    const p = await signedIn(user());
    await send(p, 'keep me');
    await reply(p).waitFor();
    await p.getByTestId('new-room').click();
    await send(p, 'delete me');
    await reply(p).waitFor();
    await p.waitForFunction(() => document.querySelectorAll('[data-testid=room]').length === 2);

    await p.getByTestId('delete-room').click();
    const asked = await p.getByTestId('dialog').textContent();
    await p.getByTestId('dialog-cancel').click();
    const afterCancel = await p.getByTestId('room').count();
    await p.getByTestId('delete-room').click();
    await screenshot(p, 'confirm-delete-conversation');
    await p.getByTestId('dialog-confirm').click();
    await p.waitForFunction(() => document.querySelectorAll('[data-testid=room]').length === 1);
    await p.getByTestId('room-title').getByText('keep me').waitFor();
    await p.waitForFunction(() => document.querySelectorAll('[data-testid=message]').length === 2);

    expect(asked).toContain('“delete me” and its messages are deleted for good.');
    expect(afterCancel).toBe(2);
    expect(await texts(p)).toEqual(['keep me', 'reply to: keep me']);
    expect(await p.getByTestId('notice').textContent()).toBe('Deleted “delete me”.');
  });

  it('clears the conversation only once confirmed', async () => {
    const p = await signedIn(user());
    await send(p, 'forget me');
    await reply(p).waitFor();

    await p.getByTestId('clear').click();
    await p.keyboard.press('Escape');
    const afterCancel = await messages(p).count();
    await p.getByTestId('clear').click();
    await p.getByTestId('dialog-confirm').click();
    await p.waitForFunction(() => document.querySelectorAll('[data-testid=message]').length === 0);
    await p.reload();
    await p.getByTestId('message-input').waitFor();

    expect(afterCancel).toBe(2);
    expect(await messages(p).count()).toBe(0);
    expect(await p.getByTestId('empty-state').isVisible()).toBe(true);
  });

  it('lists more than 50 conversations, a page at a time', async () => {
    const id = user();
    const rooms = Array.from({ length: 55 }, (_, i) => `room-${String(i).padStart(2, '0')}`);
    for (let i = 0; i < rooms.length; i += 11) {
      await Promise.all(
        rooms.slice(i, i + 11).map((room) => seedRoom(id, room, 2, (n) => `${room} ${n}`)),
      );
    }
    const p = await signedIn(id);

    const first = await p.getByTestId('room').count();
    await p.getByTestId('more-rooms').click();
    await p.waitForFunction(() => document.querySelectorAll('[data-testid=room]').length > 50);
    const listed = await p
      .getByTestId('room')
      .evaluateAll((buttons) => buttons.map((b) => (b as HTMLElement).dataset.roomId));

    expect(first).toBe(50);
    expect([...listed].sort()).toEqual(rooms);
    expect(await p.getByTestId('more-rooms').isHidden()).toBe(true);
  });
});

describe('settings and data', () => {
  it('stores an API key, shows only its last four characters, and deletes it', async () => {
    const p = await signedIn(user());

    await p.getByTestId('api-key-input').fill('sk-test-abcdefgh9876');
    await p.getByTestId('save-api-key').click();
    await p.getByText('Key ending in 9876').waitFor();
    await p.getByText('Delete key').click();
    await p.getByText('No key stored').waitFor();

    expect(await p.content()).not.toContain('abcdefgh');
  });

  it('exports this conversation as Markdown and everything as JSONL, as downloads', async () => {
    const p = await signedIn(user());
    await send(p, 'export this');
    await reply(p).waitFor();

    await p.getByTestId('export').click();
    await screenshot(p, 'export-dialog');
    const [markdown] = await Promise.all([
      p.waitForEvent('download'),
      p.getByTestId('dialog-confirm').click(),
    ]);
    await p.getByTestId('export-all').click();
    await p.getByTestId('format-jsonl').check();
    const [jsonl] = await Promise.all([
      p.waitForEvent('download'),
      p.getByTestId('dialog-confirm').click(),
    ]);
    const transcript = readFileSync(await markdown.path(), 'utf8');
    const lines = readFileSync(await jsonl.path(), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));

    expect(markdown.suggestedFilename()).toMatch(/^chat-ai_chat_web-.*\.md$/);
    expect(transcript).toContain('export this');
    expect(transcript).toContain('reply to: export this');
    expect(jsonl.suggestedFilename()).toBe('chats.jsonl');
    expect(lines.map((line) => line.content)).toEqual(['export this', 'reply to: export this']);
  });

  it('deletes all of my data only once confirmed, and shows an empty account', async () => {
    const p = await signedIn(user());
    await send(p, 'something personal');
    await reply(p).waitFor();
    await p.getByTestId('api-key-input').fill('sk-test-personal1234');
    await p.getByTestId('save-api-key').click();
    await p.getByText('Key ending in 1234').waitFor();

    await p.getByTestId('delete-me').click();
    await p.getByTestId('dialog-cancel').click();
    const afterCancel = await messages(p).count();
    await p.getByTestId('delete-me').click();
    await p.getByTestId('dialog-confirm').click();
    await p.getByTestId('notice').getByText('All your data was deleted.').waitFor();
    const token = await tokenOf(p);

    expect(afterCancel).toBe(2);
    expect(await messages(p).count()).toBe(0);
    expect(await p.getByTestId('room').count()).toBe(0);
    expect(await p.getByTestId('key-status').textContent()).toMatch(/^No key stored/);
    expect((await api(token, 'GET', '/rooms')).rooms).toEqual([]);
  });

  it('offers no model choice while the deployment names none', async () => {
    const p = await signedIn(user());

    expect(await p.getByTestId('model').isHidden()).toBe(true);
  });

  it('offers the models the hook names, and sends and regenerates with the one chosen', async () => {
    const p = await opened();
    await p.route('**/models.js', (route) =>
      route.fulfill({
        contentType: 'text/javascript',
        body: "export async function allowedModels() { return ['gpt-4o-mini', 'gpt-4o']; }",
      }),
    );
    await p.reload();
    await p.getByTestId('user-id').fill(user());
    await p.getByTestId('sign-in').click();
    await p.getByTestId('model').waitFor();

    await p.getByTestId('model').selectOption('gpt-4o');
    await send(p, 'which model are you');
    await reply(p).waitFor();
    const sent = await reply(p).locator('.who').textContent();
    await p.getByTestId('regenerate').click();
    await p.waitForFunction(
      () =>
        document.querySelector('[data-message-type=ai]')?.getAttribute('data-status') ===
          'complete' && !document.querySelector('[data-testid=send][disabled]'),
    );

    expect(await p.getByTestId('model').locator('option').allTextContents()).toEqual([
      'gpt-4o-mini',
      'gpt-4o',
    ]);
    expect(sent).toBe('gpt-4o');
    expect(await reply(p).locator('.who').textContent()).toBe('gpt-4o');
  });
});

describe('looks and keyboard', () => {
  const looks = [
    { name: 'at 1280 px in the light color scheme', viewport: DESKTOP, colorScheme: 'light' },
    { name: 'at 1280 px in the dark color scheme', viewport: DESKTOP, colorScheme: 'dark' },
    { name: 'at 390 px in the light color scheme', viewport: PHONE, colorScheme: 'light' },
    { name: 'at 390 px in the dark color scheme', viewport: PHONE, colorScheme: 'dark' },
  ] as const;

  for (const look of looks) {
    it(`reads as a chat ${look.name}: no sideways scrolling, the composer in view, conversations and settings at hand`, async () => {
      const onPhone = look.viewport === PHONE;
      const p = await signedIn(user(), look);
      await send(p, 'first question');
      await reply(p).waitFor();
      await send(
        p,
        'Show me **Markdown**\n\n1. a list\n2. with `code`\n\n```sh\nnpm run dev\n```\n\n| column | value |\n| --- | --- |\n| long-text-without-spaces-that-must-wrap-somewhere | 2 |',
      );
      await reply(p).nth(1).waitFor();
      if (onPhone) await screenshot(p, `chat-390-${look.colorScheme}`);

      const page = await p.evaluate(() => ({
        sideways: Math.max(
          document.documentElement.scrollWidth - window.innerWidth,
          ...['conversation', 'thread', 'messages', 'composer'].map((id) => {
            const el = document.getElementById(id) as HTMLElement;
            return el.scrollWidth - el.clientWidth;
          }),
        ),
        background: getComputedStyle(document.body).backgroundColor,
        text: getComputedStyle(document.body).color,
      }));
      const composer = await p.locator('#composer').boundingBox();
      const rooms = p.locator('#rooms-panel');
      const settings = p.locator('#settings-panel');
      const bg = luminance(page.background);
      const fg = luminance(page.text);

      expect(page.sideways).toBe(0);
      expect(composer && composer.y + composer.height).toBeLessThanOrEqual(look.viewport.height);
      if (look.colorScheme === 'dark') expect(bg).toBeLessThan(0.1);
      else expect(bg).toBeGreaterThan(0.85);
      expect(Math.abs(fg - bg)).toBeGreaterThan(0.6);
      expect(await rooms.isVisible()).toBe(!onPhone);
      expect(await settings.isVisible()).toBe(!onPhone);
      if (!onPhone) return;

      await p.getByTestId('open-rooms').click();
      await rooms.getByTestId('room').first().waitFor();
      await p.waitForTimeout(250);
      await screenshot(p, `conversations-drawer-${look.colorScheme}`);
      const drawer = await rooms.boundingBox();
      expect(drawer && drawer.x >= 0 && drawer.x + drawer.width <= PHONE.width).toBe(true);
      expect(await p.evaluate(() => document.activeElement?.closest('#rooms-panel') !== null)).toBe(
        true,
      );
      await p.keyboard.press('Escape');
      await rooms.waitFor({ state: 'hidden' });
      await p.getByTestId('open-settings').click();
      await settings.getByTestId('api-key-input').waitFor();
      await p.waitForTimeout(250);
      await screenshot(p, `settings-drawer-${look.colorScheme}`);
      await settings.getByTestId('close-drawer').click();
      await settings.waitFor({ state: 'hidden' });
      await p.getByTestId('open-rooms').click();
      await rooms.getByTestId('new-room').click();
      await rooms.waitFor({ state: 'hidden' });
      expect(await messages(p).count()).toBe(0);
      expect(await p.getByTestId('empty-state').isVisible()).toBe(true);
    });
  }

  it('can be used with the keyboard alone: every control labelled, focus always visible', async () => {
    const p = await opened();
    await p.keyboard.type(user());
    await p.keyboard.press('Enter');
    await p.getByTestId('message-input').waitFor();
    await p.keyboard.type('first line');
    await p.keyboard.press('Shift+Enter');
    await p.keyboard.type('second line');
    await p.keyboard.press('Enter');
    await reply(p).waitFor();

    const unlabelled = await p.evaluate(() =>
      Array.from(document.querySelectorAll('button, input, textarea, select'))
        .filter((el) => (el as HTMLElement).checkVisibility())
        .filter((el) => {
          const named =
            el.getAttribute('aria-label') ||
            (el as HTMLInputElement).labels?.length ||
            el.textContent?.trim() ||
            el.getAttribute('title');
          return !named;
        })
        .map((el) => el.outerHTML),
    );
    const stops: { testid?: string; outline: string }[] = [];
    // Tabbing starts from the top of the page.
    await p.locator('h1').click();
    for (let i = 0; i < 30; i++) {
      await p.keyboard.press('Tab');
      const stop = await p.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        return el === document.body
          ? null
          : { testid: el.dataset.testid ?? el.id, outline: getComputedStyle(el).outlineStyle };
      });
      // Past the last control, focus leaves the page.
      if (!stop) break;
      stops.push(stop);
    }
    await p.getByTestId('rename-room').focus();
    await p.keyboard.press('Enter');
    await p.keyboard.press('ControlOrMeta+a');
    await p.keyboard.type('Typed with keys');
    await p.keyboard.press('Enter');
    await p.getByTestId('room-title').getByText('Typed with keys').waitFor();

    expect(await contents(p)).toEqual([
      'first line\nsecond line',
      'reply to: first line\nsecond line',
    ]);
    expect(unlabelled).toEqual([]);
    expect(stops.map((stop) => stop.testid)).toEqual(
      expect.arrayContaining([
        'new-room',
        'room',
        'rename-room',
        'export',
        'clear',
        'delete-room',
        'thread',
        'copy-message',
        'regenerate',
        'message-input',
        'send',
        'api-key-input',
        'delete-me',
      ]),
    );
    expect(stops.filter((stop) => stop.outline === 'none')).toEqual([]);
    expect(await p.evaluate(() => document.activeElement?.id)).toBe('rename-room');
  });
});

/** Relative luminance (0 black, 1 white) of a CSS `rgb(...)` colour. */
function luminance(color: string): number {
  const [r, g, b] = (color.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
}
