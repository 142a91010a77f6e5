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

/** db/errors.md: code -> the HTTP statuses the registry gives it ("403/409" lists two). */
export function errorRegistry(): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const line of fs.readFileSync(path.resolve(import.meta.dirname, '../../db/errors.md'), 'utf8').split('\n')) {
    const m = /^\| `([A-Z][A-Z0-9_]+)` \| ([0-9/ ]+) \|/.exec(line);
    if (m) out.set(m[1]!, new Set(m[2]!.split('/').map((s) => Number(s.trim()))));
  }
  return out;
}

/** Nothing an error body shows may come from SQL or the server's insides. */
export function assertNoInternals(text: string): void {
  const leaks = [/\bselect\b/i, /\bapp\./, /app_private/, /SQLSTATE/i, /\bat .+\.(ts|js):\d+/, /stack/i, /pg_/, /ERROR:/];
  for (const re of leaks) if (re.test(text)) throw new Error(`error body leaks internals (${re}): ${text}`);
}

/** A message as the local mailbox (scripts/mailbox.mjs) received it over SMTP, with what a customer reads in it. */
export interface MailboxMessage {
  /** The outbox id (from the Message-ID). */
  id: string;
  /** The e-mail address, or the phone number of an SMS. */
  to: string | null;
  template: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  /** What the message gives its reader: a link's token, a recovery's cancel token, a code, a date. */
  data: Record<string, any>;
}

const INBOX_URL = process.env.INBOX_URL?.replace(/\/$/, '');
const LINK = /#(verify-email|confirm-email-change|reset-password|cancel-recovery)=([A-Za-z0-9_.~-]+)/g;

function readMessage(m: any): MailboxMessage {
  const data: Record<string, any> = {};
  for (const [, action, token] of (m.text as string).matchAll(LINK)) data[action === 'cancel-recovery' ? 'cancel_token' : 'token'] = token;
  const code = /\b(\d{6,8})\b/.exec(m.text)?.[1];
  if (m.template === 'mfa_code') data.code = code;
  if (m.template === 'phone_change_code') data.token = code;
  const at = /from (\d{4}-\d\d-\d\d \d\d:\d\d) UTC/.exec(m.text)?.[1];
  if (at) data.not_before = `${at.replace(' ', 'T')}:00Z`;
  const rcpt: string | undefined = m.envelopeTo[0];
  const to = rcpt?.endsWith('@sms.localhost') ? `+${rcpt.split('@')[0]}` : rcpt ?? null;
  return { id: String(m.outboxId), to, template: m.template, subject: m.subject, text: m.text, html: m.html, messageId: m.messageId, data };
}

/** The messages the local mailbox has received (newest first), read over its HTTP API: all, or those after an outbox id. */
export async function mailbox({ after, outboxId }: { after?: number; outboxId?: string } = {}): Promise<MailboxMessage[]> {
  if (!INBOX_URL) throw new Error('INBOX_URL must be set (npm test sets it: the local mailbox of the stack)');
  const query = new URLSearchParams({ ...(after ? { after: String(after) } : {}), ...(outboxId ? { outbox_id: outboxId } : {}) });
  const res = await fetch(`${INBOX_URL}/api/messages?${query}`);
  if (!res.ok) throw new Error(`the mailbox answered ${res.status}`);
  return ((await res.json()) as any[]).filter((m) => m.outboxId).map(readMessage);
}

/** The outbox's last id: messages after it are the ones a test's next request causes. */
export const lastOutboxId = async () => Number((await db.query('select coalesce(max(id), 0) as id from app_private.outbox')).rows[0].id);

/**
 * The newest message of a template for a user, once the outbox has delivered it:
 * only messages after outbox id `after`, only on `channel` when one is named.
 */
export async function mail(userId: string, template: string, { after = 0, channel }: { after?: number; channel?: 'sms' | 'email' } = {}): Promise<MailboxMessage> {
  for (let i = 0; i < 75; i++) {
    const ids = (await db.query<{ id: string }>(
      `select id::text from app_private.outbox
        where user_id = $1 and template = $2 and id > $3 and ($4::text is null or channel::text = $4)
        order by id desc limit 1`, [userId, template, after, channel ?? null])).rows.map((r) => r.id);
    const m = ids.length ? (await mailbox({ outboxId: ids[0] }))[0] : undefined;
    if (m) return m;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no ${template} message arrived for ${userId}`);
}

export interface TotpFactor {
  configId: string;
  /** The authenticator app's secret. */
  secret: string;
  /** The ten backup codes (each works once). */
  backupCodes: string[];
  /** The time (epoch seconds) of the code the enrolment was confirmed with. */
  at: number;
}

/**
 * Enrols an authenticator app in the session of `accessToken` and confirms it with
 * a code for now (made by `code`, default the gateway's own TOTP): 201, then 200.
 */
export async function enrolTotp(accessToken: string, body: Record<string, unknown> = {},
  code: (secret: string, at: number) => string = codeAt): Promise<TotpFactor> {
  const e = await gateway('/auth/mfa/totp/enroll', { method: 'POST', token: accessToken, json: body });
  if (e.status !== 201) throw new Error(`TOTP enrolment failed: ${e.status} ${e.text}`);
  const at = Math.floor(Date.now() / 1000);
  const c = await gateway('/auth/mfa/totp/confirm', { method: 'POST', token: accessToken,
    json: { config_id: e.body.config_id, code: code(e.body.secret, at) } });
  if (c.status !== 200) throw new Error(`TOTP confirmation failed: ${c.status} ${c.text}`);
  return { configId: e.body.config_id, secret: e.body.secret, backupCodes: [...c.body.backup_codes], at };
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
  const { secret, backupCodes } = await enrolTotp(first.access_token);
  const staff: StaffUser = { ...u, role, secret, backupCodes, enrolment: first };
  const s = await staffSession(staff);
  return { ...staff, token: s.access_token, session: s };
}

/** Signs in with the password, which must ask for the second factor, and then `code` (a backup code): an aal2 session. */
export async function backupCodeSession(user: Pick<TestUser, 'email' | 'password'>, code: string | undefined): Promise<TokenPair> {
  const l = await login(user.email, user.password);
  if (l.status !== 200 || l.body.mfa_required !== true || !l.body.mfa_token) throw new Error(`sign-in did not ask for the factor: ${l.status} ${l.text}`);
  if (!code) throw new Error('no backup code left');
  const v = await gateway('/auth/mfa/verify', { method: 'POST', json: { mfa_token: l.body.mfa_token, method: 'backup_codes', code } });
  if (v.status !== 200 || v.body.aal !== 'aal2') throw new Error(`second factor failed: ${v.status} ${v.text}`);
  return v.body;
}

/** A further aal2 session of a staff user (password, then one of its backup codes). */
export const staffSession = (staff: StaffUser): Promise<TokenPair> => backupCodeSession(staff, staff.backupCodes.shift());
