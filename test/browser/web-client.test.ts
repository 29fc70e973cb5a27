/// <reference lib="dom" />
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OpenAICompatibleServer } from '../../infra/local/openai-compatible.ts';
import { launch, open, screenshot } from '../support/browser.ts';
import { type DevStack, startDevStack } from '../support/dev-stack.ts';
import { startFakeModel } from '../support/fake-model.ts';
import { localDocumentClient, seedConversation } from '../support/seed.ts';

/**
 * The reference web client, as a person uses it, in Chromium against a local stack of its own:
 * the dev secret (so the sign-in field works), the test model, the default rate limit.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'chat-browser-'));
let stack: DevStack;
let model: OpenAICompatibleServer;
let browser: Browser;
let page: Page;
let problems: string[];
const testName = '';

beforeAll(async () => {
  model = await startFakeModel();
  browser = await launch();
  stack = await startDevStack({
    DATA_DIR: dataDir,
    DYNAMODB_IN_MEMORY: 'true',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'fallback-key',
  });
});

afterEach(async ({ task }) => {
  if (page) await screenshot(page, task.name.replace(/\W+/g, '-').slice(0, 80));
  await page?.close();
  expect(problems, testName).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await model?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function signedIn(userId: string) {
  ({ page, problems } = await open(browser, `${stack.url}/`));
  await page.getByTestId('user-id').fill(userId);
  await page.getByTestId('sign-in').click();
  await page.getByTestId('message-input').waitFor();
  return page;
}

const user = () => `web-${crypto.randomUUID().slice(0, 8)}`;
const messages = (p: Page) => p.getByTestId('message');
const reply = (p: Page, status = 'complete') =>
  p.locator(`[data-testid=message][data-message-type=ai][data-status=${status}]`);

async function send(p: Page, text: string) {
  await p.getByTestId('message-input').fill(text);
  await p.getByTestId('message-input').press('Enter');
}

describe('the reference web client', () => {
  it('signs in with a user id, streams a reply as it is written, and shows the history after a refresh', async () => {
    const p = await signedIn(user());

    await send(p, 'Tell me something nice [[slow:80]]');
    await reply(p, 'streaming').waitFor();
    await reply(p).waitFor();
    await p.reload();
    await reply(p).waitFor();

    expect(await messages(p).allTextContents()).toEqual([
      'Tell me something nice [[slow:80]]You',
      'reply to: Tell me something nice [[slow:80]]gpt-4o-mini',
    ]);
    expect(await p.getByTestId('room').count()).toBe(1);
  });

  it('re-attaches to a reply after a refresh in its middle, and it completes with the full text', async () => {
    const p = await signedIn(user());
    const question = `${'one two three four five six seven eight nine ten '.repeat(3)}[[slow:120]]`;

    await send(p, question);
    await p.waitForFunction(
      () =>
        (document.querySelector('[data-message-type=ai]') as HTMLElement | null)?.dataset.content
          ?.length ?? 0 > 12,
    );
    await p.reload();
    await reply(p, 'streaming').waitFor();
    await reply(p).waitFor({ timeout: 30_000 });

    expect(await reply(p).locator('.text').textContent()).toBe(`reply to: ${question}`);
    expect(await messages(p).count()).toBe(2);
  });

  it('pages 60 messages back with "load older", showing each exactly once, in order', async () => {
    const id = user();
    await seedConversation(
      localDocumentClient(stack.dynamoEndpoint),
      'ai-chat-history',
      id,
      `ai_chat_${id}`,
      60,
    );
    const p = await signedIn(id);
    await p.getByTestId('load-older').waitFor();

    expect(await messages(p).count()).toBe(25);
    while (await p.getByTestId('load-older').isVisible()) {
      await p.getByTestId('load-older').click();
      await p.waitForTimeout(150);
    }

    const texts = (await messages(p).locator('.text').allTextContents()) as string[];
    expect(texts).toEqual(Array.from({ length: 60 }, (_, i) => `message ${i + 1}`));
  });

  it('stops a reply while it is being written', async () => {
    const p = await signedIn(user());

    await send(p, `${'a long story '.repeat(20)}[[slow:150]]`);
    await p.getByTestId('stop').waitFor();
    await p.waitForTimeout(600);
    await p.getByTestId('stop').click();
    await reply(p, 'stopped').waitFor();

    expect(await p.getByTestId('stop').isVisible()).toBe(false);
    const stopped = (await reply(p, 'stopped').locator('.text').textContent()) ?? '';
    expect(stopped.length).toBeGreaterThan(0);
    expect(`reply to: ${'a long story '.repeat(20)}[[slow:150]]`.startsWith(stopped)).toBe(true);
  });

  it('starts new conversations, lists them most recent first, and switches between them', async () => {
    const p = await signedIn(user());
    await send(p, 'in the first room');
    await reply(p).waitFor();

    await p.getByTestId('new-room').click();
    await p.waitForFunction(() => document.querySelectorAll('[data-testid=message]').length === 0);
    await send(p, 'in the second room');
    await reply(p).waitFor();
    await p.waitForFunction(() => document.querySelectorAll('[data-testid=room]').length === 2);

    expect(await p.getByTestId('room').allTextContents()).toEqual([
      'in the second room',
      'in the first room',
    ]);
    await p.getByTestId('room').nth(1).click();
    await p.waitForFunction(() =>
      document.querySelector('[data-testid=message] .text')?.textContent?.includes('first'),
    );
    expect(await messages(p).count()).toBe(2);
  });

  it('clears the conversation', async () => {
    const p = await signedIn(user());
    await send(p, 'forget me');
    await reply(p).waitFor();

    await p.getByTestId('clear').click();
    await p.waitForFunction(() => document.querySelectorAll('[data-testid=message]').length === 0);
    await p.reload();
    await p.getByTestId('message-input').waitFor();

    expect(await messages(p).count()).toBe(0);
  });

  it('stores an API key, shows only its last four characters, and deletes it', async () => {
    const p = await signedIn(user());

    await p.getByTestId('api-key-input').fill('sk-test-abcdefgh9876');
    await p.getByTestId('save-api-key').click();
    await p.getByText('Key ending in 9876').waitFor();
    await p.getByText('Delete key').click();
    await p.getByText('No key stored').waitFor();

    expect(await p.content()).not.toContain('abcdefgh');
  });

  it('shows a rate limit (429) as text, with when to try again', async () => {
    const id = user();
    const p = await signedIn(id);
    const token = await p.evaluate(() => localStorage.getItem('chat.token'));
    for (let i = 0; i < 20; i++) {
      await fetch(`${stack.url}/api/chat/ai/send`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ message: `filler ${i}` }),
      });
    }

    await send(p, 'one too many');
    await p.getByTestId('error').waitFor();

    expect(await p.getByTestId('error').textContent()).toMatch(
      /Rate limit of 20 messages per minute reached.*\(Retry in \d+ s\.\)/,
    );
  });

  it('shows a reply and a question containing U+2028 and U+2029 whole, and the reply ends complete', async () => {
    const p = await signedIn(user());
    const question = 'one\u2028two\u2029three';

    await send(p, question);
    await reply(p).waitFor();

    expect(await messages(p).locator('.text').allTextContents()).toEqual([
      question,
      `reply to: ${question}`,
    ]);
    expect(await p.getByTestId('error').isVisible()).toBe(false);
  });

  it('signs in a user whose id is outside ASCII, and sends and reloads their history', async () => {
    const p = await signedIn(`zoë-${crypto.randomUUID().slice(0, 4)}`);

    await send(p, 'hello from zoë');
    await reply(p).waitFor();
    await p.reload();
    await reply(p).waitFor();

    expect(await p.locator('#who-name').textContent()).toMatch(/^zoë-/);
    expect(await messages(p).count()).toBe(2);
    expect(await p.getByTestId('error').isVisible()).toBe(false);
  });

  it('signs in with a pasted token, is served with a strict Content-Security-Policy, and says plainly when a token is bad', async () => {
    const response = await fetch(`${stack.url}/`);
    const dev = (await (
      await fetch(`${stack.url}/dev/token`, { method: 'POST', body: '{"user_id":"pasted-user"}' })
    ).json()) as { token: string };
    ({ page, problems } = await open(browser, `${stack.url}/`));

    await page.getByTestId('token').fill('not-a-token');
    await page.getByText('Use token').click();
    await page.getByTestId('error').waitFor();
    const refused = await page.getByTestId('error').textContent();
    await page.getByTestId('token').fill(dev.token);
    await page.getByText('Use token').click();
    await page.getByText('Signed in as').waitFor();

    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(refused).toMatch(/not a token/);
    expect(await page.locator('#who-name').textContent()).toBe('pasted-user');
  });
});
