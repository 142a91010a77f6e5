import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set (npm test sets it; see vitest.config.ts)`);
  return v.replace(/\/$/, '');
}

export const GATEWAY_URL = required('GATEWAY_URL');
export const POSTGREST_URL = required('POSTGREST_URL');

/** Superuser connection, only to assert database state. */
export const db = new pg.Pool({ connectionString: required('DATABASE_URL'), max: 4 });
afterAll(async () => {
  await db.end();
});

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

async function call<T>(base: string, path: string, init: RequestInit & { json?: unknown; token?: string } = {}): Promise<Reply<T>> {
  const headers = new Headers(init.headers);
  if (init.json !== undefined) headers.set('content-type', 'application/json');
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
  });
  const text = await res.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, text, body };
}

export const gateway = <T = any>(path: string, init?: Parameters<typeof call>[2]) => call<T>(GATEWAY_URL, path, init);
export const postgrest = <T = any>(path: string, init?: Parameters<typeof call>[2]) => call<T>(POSTGREST_URL, path, init);

export const uniqueEmail = (tag = 'user') => `${tag}-${Date.now()}-${crypto.randomBytes(6).toString('hex')}@example.com`;

export interface TestUser {
  email: string;
  password: string;
  userId: string;
}

/** Signs up a fresh user with a unique e-mail and a strong password. */
export async function newUser(tag = 'user'): Promise<TestUser> {
  const email = uniqueEmail(tag);
  const password = `violet ${crypto.randomBytes(8).toString('hex')} lantern`;
  const r = await gateway('/auth/signup', { method: 'POST', json: { email, password, first_name: 'Test', last_name: 'User' } });
  if (r.status !== 201) throw new Error(`signup failed: ${r.status} ${r.text}`);
  return { email, password, userId: r.body.user_id };
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
  session_id: string;
}

/** A token pair on success, an error body otherwise. */
type AuthReply = TokenPair & { code?: string; message?: string; hint?: string } & Record<string, any>;

export const login = (email: string, password: string, headers?: Record<string, string>) =>
  gateway<AuthReply>('/auth/login', { method: 'POST', json: { email, password }, headers });

/** Signs in and fails loudly if that does not work. */
export async function session(user: TestUser): Promise<TokenPair> {
  const r = await login(user.email, user.password);
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
  return r.body;
}

export const refresh = (refresh_token: string) => gateway<AuthReply>('/auth/token/refresh', { method: 'POST', json: { refresh_token } });

export const me = (token: string) => postgrest('/rpc/me', { method: 'POST', token, json: {} });

/** Nothing an error body shows may come from SQL or the server's insides. */
export function assertNoInternals(text: string): void {
  const leaks = [/\bselect\b/i, /\bapp\./, /app_private/, /SQLSTATE/i, /\bat .+\.(ts|js):\d+/, /stack/i, /pg_/, /ERROR:/];
  for (const re of leaks) if (re.test(text)) throw new Error(`error body leaks internals (${re}): ${text}`);
}

export interface MailboxMessage { id: string; to: string | null; template: string; data: Record<string, any> }

/**
 * The messages the `log` outbox sender has written (OUTBOX_LOG_FILE, default
 * <TEST_STACK_DATA_DIR>/outbox.log). Only complete lines: the gateway may be
 * appending one while a test reads.
 */
export function mailbox(): MailboxMessage[] {
  const file = process.env.OUTBOX_LOG_FILE ?? path.join(process.env.TEST_STACK_DATA_DIR ?? process.env.STACK_DATA_DIR ?? '.data/test', 'outbox.log');
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l) as MailboxMessage);
}
