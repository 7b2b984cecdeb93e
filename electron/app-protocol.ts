import { promises as fsp } from 'node:fs';
import { contentTypeOf } from '../shared/web/csp.js';
import { resolveStatic } from '../shared/web/static.js';
import { APP_HOST, APP_SCHEME, SECURITY_HEADERS } from './security.js';

// What app://app/<path> answers: a file of the built renderer (contained, symlinks resolved) with the
// CSP and the other security headers; anything else is refused. No electron import: tested in Node.

export interface ProtocolAnswer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | string;
}

export async function appProtocolAnswer(rendererDir: string, rawUrl: string, method = 'GET'): Promise<ProtocolAnswer> {
  const refuse = (status: number, text: string): ProtocolAnswer => ({ status, headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }, body: text });
  let u: URL;
  try {
    u = new URL(rawUrl);
  } catch {
    return refuse(400, 'Bad request');
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST) return refuse(404, 'Not found');
  if (method !== 'GET' && method !== 'HEAD') return refuse(405, 'Method not allowed');
  const r = await resolveStatic(rendererDir, u.pathname);
  if (!r.ok) return refuse(r.status, r.status === 404 ? 'Not found' : 'Forbidden: outside the app');
  const body = await fsp.readFile(r.file);
  return { status: 200, headers: { ...SECURITY_HEADERS, 'Content-Type': contentTypeOf(r.file), 'Cache-Control': 'no-cache' }, body: new Uint8Array(body) };
}
