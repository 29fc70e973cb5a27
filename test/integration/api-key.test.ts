import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { call, newUser, send } from '../support/api.ts';

const KEY_PATH = '/api/chat/ai/api-key';

const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    endpoint: inject('dynamoEndpoint'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  }),
);
const table = inject('tableName');
const keyItem = (userId: string) => ({ pk: `USER#${userId}`, sk: 'ACCOUNT' });

describe('API key settings', () => {
  it('stores a key encrypted and shows only whether there is one, its last 4 and when it changed', async () => {
    const user = await newUser({ withKey: false });
    const apiKey = 'sk-proj-abcdefghijklmnop1234';

    const before = await call('GET', KEY_PATH, { token: user.token });
    const saved = await call('PUT', KEY_PATH, { token: user.token, body: { api_key: apiKey } });
    const after = await call('GET', KEY_PATH, { token: user.token });

    expect(before.body).toEqual({ success: true, has_key: false, last4: null, updated_at: null });
    expect(saved.status).toBe(200);
    expect(after.body).toEqual({
      success: true,
      has_key: true,
      last4: '1234',
      updated_at: saved.body.updated_at,
    });
    expect(JSON.stringify([saved.body, after.body])).not.toContain('abcdefghijklmnop');
    const { Item } = await db.send(new GetCommand({ TableName: table, Key: keyItem(user.id) }));
    expect(Item).toBeDefined();
    expect(JSON.stringify(Item)).not.toContain('abcdefghijklmnop');
    expect(Buffer.from(Item?.ciphertext).toString('latin1')).not.toContain('abcdefghijklmnop');
  });

  it('uses the stored key for the model call and can replace and delete it', async () => {
    const user = await newUser({ withKey: false });
    await call('PUT', KEY_PATH, { token: user.token, body: { api_key: 'sk-first-key-0001' } });
    await call('PUT', KEY_PATH, { token: user.token, body: { api_key: 'sk-second-key-0002' } });

    const shown = await call('GET', KEY_PATH, { token: user.token });
    const sent = await send(user, 'hello');
    const removed = await call('DELETE', KEY_PATH, { token: user.token });
    const again = await call('DELETE', KEY_PATH, { token: user.token });
    const afterDelete = await send(user, 'hello again');

    expect(shown.body.last4).toBe('0002');
    expect(sent.status).toBe(200);
    expect(removed.body).toMatchObject({ success: true, deleted: true });
    expect(again.body).toMatchObject({ success: true, deleted: false });
    expect(afterDelete.status).toBe(400);
    expect(afterDelete.body.error).toMatch(/No API key found/);
  });

  it('answers 400 to a missing, short or spaced key', async () => {
    const user = await newUser({ withKey: false });
    for (const body of [
      {},
      { api_key: 'short' },
      { api_key: 'has space in it' },
      { api_key: 12345678 },
    ]) {
      const reply = await call('PUT', KEY_PATH, { token: user.token, body });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error).toMatch(/api_key/);
    }
  });

  it("refuses a ciphertext copied into another user's record", async () => {
    const victim = await newUser();
    const thief = await newUser({ withKey: false });
    const { Item } = await db.send(new GetCommand({ TableName: table, Key: keyItem(victim.id) }));
    await db.send(new PutCommand({ TableName: table, Item: { ...Item, ...keyItem(thief.id) } }));

    const reply = await send(thief, 'use their key');

    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe('Invalid API key. Please update your API key in settings.');
  });

  it('never writes a key or the JWT secret to the log', async () => {
    const user = await newUser();
    const failures = () =>
      readFileSync(inject('logFile'), 'utf8').split('model call failed').length;
    const before = failures();
    await send(user, 'hello [[fail:401]]');
    await send(user, 'hello [[fail:500]]');
    // The log file is flushed every 200 ms: wait for this test's own two lines.
    for (let i = 0; i < 50 && failures() < before + 2; i++) await sleep(100);

    const log = readFileSync(inject('logFile'), 'utf8');
    expect(failures()).toBeGreaterThanOrEqual(before + 2);

    expect(log).toContain('model call failed');
    expect(log).not.toContain(user.apiKey);
    expect(log).not.toContain(inject('jwtSecret'));
    expect(log).not.toContain(user.token);
  });
});
