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

const JS = 'text/javascript; charset=utf-8';

/** The client's own files, by path. */
const FILES: Record<string, [URL, string]> = {
  '/': [web('index.html'), 'text/html; charset=utf-8'],
  '/style.css': [web('style.css'), 'text/css; charset=utf-8'],
  ...Object.fromEntries(
    ['app', 'api', 'sse', 'token', 'markdown', 'message-view', 'dialogs', 'models'].map((name) => [
      `/${name}.js`,
      [web(`${name}.js`), JS],
    ]),
  ),
  // The Markdown renderer and the sanitizer, as their packages ship them for browsers (ES
  // modules without imports), from node_modules: nothing comes from a CDN.
  '/vendor/marked.js': [new URL(import.meta.resolve('marked')), JS],
  '/vendor/purify.js': [new URL(import.meta.resolve('dompurify')), JS],
};

function web(name: string) {
  return new URL(`./web/${name}`, import.meta.url);
}

function file(path: URL, type: string): LocalExtra {
  const body = readFileSync(path, 'utf8');
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

/** The client's files and, with the dev secret, `POST /dev/token`: the local stack's extras. */
export function webClient(devSecret: string | undefined): Record<string, LocalExtra> {
  const extras: Record<string, LocalExtra> = Object.fromEntries(
    Object.entries(FILES).map(([path, [url, type]]) => [path, file(url, type)]),
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
