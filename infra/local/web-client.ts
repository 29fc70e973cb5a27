import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { signDevToken } from './dev-token.ts';
import type { LocalExtra } from './http-server.ts';
import { readBody } from './net.ts';

/**
 * The reference web client, local only (the CDK stack never deploys it): its files, served with
 * a strict Content-Security-Policy (no inline script or style, nothing from elsewhere), and,
 * only while the public dev secret is in use, `POST /dev/token` to sign in with a user id.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FILES: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/sse.js': ['sse.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

function file(name: string, type: string): LocalExtra {
  const body = readFileSync(new URL(`./web/${name}`, import.meta.url), 'utf8');
  return () => ({
    statusCode: 200,
    headers: {
      'Content-Type': type,
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    },
    body,
  });
}

export function webClient(devSecret: string | undefined): Record<string, LocalExtra> {
  const extras: Record<string, LocalExtra> = Object.fromEntries(
    Object.entries(FILES).map(([path, [name, type]]) => [path, file(name, type)]),
  );
  // Browsers ask for it; there is none, and saying so quietly keeps their consoles clean.
  extras['/favicon.ico'] = () => ({ statusCode: 204, headers: {}, body: '' });
  if (devSecret) extras['/dev/token'] = (req) => devToken(req, devSecret);
  return extras;
}

async function devToken(req: IncomingMessage, secret: string): Promise<APIGatewayProxyResult> {
  const answer = (statusCode: number, body: object) => ({
    statusCode,
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify(body),
  });
  if (req.method !== 'POST') return answer(405, { success: false, error: 'POST a user_id' });
  let userId: unknown;
  try {
    userId = JSON.parse((await readBody(req, 4096)) ?? '').user_id;
  } catch {
    userId = undefined;
  }
  if (typeof userId !== 'string' || !userId.trim() || userId.length > 256) {
    return answer(400, { success: false, error: 'user_id must be 1-256 characters' });
  }
  return answer(200, { success: true, token: await signDevToken(userId.trim(), secret) });
}
