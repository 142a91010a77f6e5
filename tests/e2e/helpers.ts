import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { codeAt } from '../../gateway/src/mfa/totp.js';

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
  const signup = () => gateway('/auth/signup', { method: 'POST', json: { email, password, first_name: 'Test', last_name: 'User' } });
  let r = await signup();
  // The sign-up lane is full (another test floods it): a client waits for Retry-After, once.
  if (r.status === 503 && r.body?.code === 'SERVER_BUSY') {
    await new Promise((resolve) => setTimeout(resolve, Number(r.headers.get('retry-after') ?? 1) * 1000));
    r = await signup();
  }
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

export type StaffRole = 'compliance_officer' | 'admin';

export interface StaffUser extends TestUser {
  role: StaffRole;
  /** The authenticator app's secret and the backup codes (each works once). */
  secret: string;
  backupCodes: string[];
  /** The aal1 session the factor was enrolled in (it can only enrol factors: AAL2_REQUIRED elsewhere). */
  enrolment: TokenPair;
}

/**
 * A staff account as production has one: the role granted, a TOTP factor enrolled
 * through the gateway (the only thing its first, aal1, session may do), and an aal2
 * session signed in with a backup code. Staff powers need aal2 (AAL2_REQUIRED).
 */
export async function staffUser(role: StaffRole, tag: string = role): Promise<StaffUser & { token: string; session: TokenPair }> {
  const u = await newUser(tag);
  await db.query('select app.set_user_role($1, $2)', [u.email, role]);
  const first = await session(u);
  const e = await gateway('/auth/mfa/totp/enroll', { method: 'POST', token: first.access_token, json: {} });
  if (e.status !== 201) throw new Error(`staff TOTP enrolment failed: ${e.status} ${e.text}`);
  const c = await gateway('/auth/mfa/totp/confirm', { method: 'POST', token: first.access_token,
    json: { config_id: e.body.config_id, code: codeAt(e.body.secret, Math.floor(Date.now() / 1000)) } });
  if (c.status !== 200) throw new Error(`staff TOTP confirmation failed: ${c.status} ${c.text}`);
  const staff: StaffUser = { ...u, role, secret: e.body.secret, backupCodes: [...c.body.backup_codes], enrolment: first };
  const s = await staffSession(staff);
  return { ...staff, token: s.access_token, session: s };
}

/** A further aal2 session of a staff user (password, then one of its backup codes). */
export async function staffSession(staff: StaffUser): Promise<TokenPair> {
  const l = await login(staff.email, staff.password);
  if (l.status !== 200 || !l.body.mfa_token) throw new Error(`staff sign-in did not ask for the factor: ${l.status} ${l.text}`);
  const code = staff.backupCodes.shift();
  if (!code) throw new Error('no backup code left');
  const v = await gateway('/auth/mfa/verify', { method: 'POST', json: { mfa_token: l.body.mfa_token, method: 'backup_codes', code } });
  if (v.status !== 200 || v.body.aal !== 'aal2') throw new Error(`staff second factor failed: ${v.status} ${v.text}`);
  return v.body;
}
