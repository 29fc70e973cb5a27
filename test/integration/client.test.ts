import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { sendAndPage } from '#client/example.ts';
import { newUser } from '../support/api.ts';

const example = readFileSync('lib/client/example.ts', 'utf8');

describe('the typed client for frontends', () => {
  it('is shown in README exactly as tested', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

    expect(readme).toContain(example.trim());
  });

  it('sends a message and pages the history back against the local stack', async () => {
    const user = await newUser();

    const { reply, pages } = await sendAndPage(inject('apiUrl'), user.token, user.id);

    expect(reply).toMatchObject({ content: 'reply to: Hello!', status: 'complete' });
    expect(pages.flat().map((m) => m.content)).toEqual(['reply to: Hello!', 'Hello!']);
  });

  it('can fetch the document it is generated from, from the local stack', async () => {
    const response = await fetch(`${inject('apiUrl')}/openapi.json`);
    const served = (await response.json()) as { info: object };
    const committed = JSON.parse(
      readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8'),
    );

    expect(response.status).toBe(200);
    expect({ ...served, info: { ...served.info, version: '' } }).toEqual({
      ...committed,
      info: { ...committed.info, version: '' },
    });
  });
});
