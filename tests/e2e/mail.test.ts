// E-mail as a customer gets it: the gateway sends real messages through SMTP (nodemailer) to the
// stack's local mailbox (scripts/mailbox.mjs), and a customer who clicks the link in one sees the
// account page do the rest. Delivery that fails is retried with backoff and dead-lettered.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PAGE_URL, sharedChromium } from './browser.js';
import { db, gateway, lastOutboxId, login, mail, newUser, uniqueEmail } from './helpers.js';

const browser = sharedChromium();
const gatewayLog = () => fs.readFileSync(path.join(process.env.TEST_STACK_DATA_DIR ?? '.data/test', 'logs', 'gateway.log'), 'utf8');

/** Opens a link from a mail in Chromium and returns what the page then says. */
async function click(link: string) {
  const page = await browser().newPage();
  try {
    await page.goto(link);
    return page;
  } catch (e) {
    await page.close();
    throw e;
  }
}

describe('e-mail', () => {
  it('sends a real verification e-mail whose link confirms the address in the browser', async () => {
    const user = await newUser('mail-verify');
    const m = await mail(user.userId, 'email_verification');
    expect(m.to).toBe(user.email.toLowerCase());
    expect(m.subject).toBe('Confirm your e-mail address');
    expect(m.messageId).toMatch(/^<outbox-\d+\.[0-9a-f]+@dwaybank\.local>$/);
    expect(m.html).toContain('<a href="');
    // The link opens the account page with the token in the fragment, never in a query a server logs.
    const link = /(http:\/\/localhost:\d+\/account\/#verify-email=[A-Za-z0-9_.~-]+)/.exec(m.text)![1]!;
    expect(link.startsWith(PAGE_URL)).toBe(true);
    expect(m.html).toContain(link);

    const page = await click(link);
    try {
      await page.getByText('Your e-mail address is confirmed.').waitFor({ timeout: 10_000 });
      expect(page.url()).toBe(PAGE_URL);
    } finally {
      await page.close();
    }
    const row = await db.query('select email_verified_at from app.users where id = $1', [user.userId]);
    expect(row.rows[0].email_verified_at).not.toBeNull();
    // No secret of the message in a log line: not the token, not the link.
    expect(gatewayLog()).not.toContain(m.data.token);
  });

  it('resets a password from the e-mailed link, in the browser', async () => {
    const user = await newUser('mail-reset');
    const mark = await lastOutboxId();
    expect((await gateway('/auth/password/forgot', { method: 'POST', json: { email: user.email } })).status).toBe(202);
    const m = await mail(user.userId, 'password_reset', { after: mark });
    expect(m.subject).toBe('Reset your password');
    const link = /(http:\/\/localhost:\d+\/account\/#reset-password=[A-Za-z0-9_.~-]+)/.exec(m.text)![1]!;
    const page = await click(link);
    const password = `new lantern ${Date.now()} meadow`;
    try {
      await page.getByLabel('New password').fill(password);
      await page.getByRole('button', { name: 'Set the new password' }).click();
      await page.getByText('Your password is changed').waitFor({ timeout: 10_000 });
    } finally {
      await page.close();
    }
    expect((await login(user.email, password)).status).toBe(200);
    expect((await login(user.email, user.password)).status).toBe(401);
  });

  it('shows a used link\'s error with the API\'s message and hint', async () => {
    const user = await newUser('mail-used');
    const m = await mail(user.userId, 'email_verification');
    expect((await gateway('/auth/email/verify', { method: 'POST', json: { token: m.data.token } })).status).toBe(200);
    const page = await click(`${PAGE_URL}#verify-email=${m.data.token}`);
    try {
      const shown = page.locator('#message.error');
      await shown.waitFor({ timeout: 10_000 });
      const r = await gateway('/auth/email/verify', { method: 'POST', json: { token: m.data.token } });
      expect(await shown.textContent()).toBe(`${r.body.message} ${r.body.hint}`);
    } finally {
      await page.close();
    }
  });

  it('retries a refused delivery with backoff, then dead-letters it and drops its secret', async () => {
    // The local mailbox refuses @bounce.example.com with 550, as a server refuses an unknown mailbox.
    const email = uniqueEmail('bounce').replace('@example.com', '@bounce.example.com');
    const r = await gateway('/auth/signup', { method: 'POST', json: { email, password: `violet ${Date.now()} lantern`, first_name: 'B', last_name: 'Ounce' } });
    expect(r.status).toBe(201);
    const userId = r.body.user_id as string;
    const row = async () => (await db.query(`select id, attempts, sent_at, dead_at, last_error, payload ? 'token' as has_token,
        next_attempt_at > now() as waiting, extract(epoch from next_attempt_at - now()) as wait
      from app_private.outbox where user_id = $1 and template = 'email_verification'`, [userId])).rows[0];
    const until = async (cond: (x: any) => boolean) => {
      for (let i = 0; i < 100; i++) {
        const x = await row();
        if (cond(x)) return x;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error(`the outbox did not get there: ${JSON.stringify(await row())}`);
    };
    const failed = await until((x) => x.attempts >= 1 && x.last_error);
    expect(failed).toMatchObject({ sent_at: null, dead_at: null, has_token: true, waiting: true });
    expect(failed.last_error).toMatch(/550/);
    // The next attempt waits (5 s, doubling); the last one allowed (outbox_max_attempts, 8) is due now.
    expect(Number(failed.wait)).toBeGreaterThan(2);
    await db.query("update app_private.outbox set attempts = 7, next_attempt_at = now() where id = $1", [failed.id]);
    const dead = await until((x) => x.dead_at !== null);
    expect(dead).toMatchObject({ attempts: 8, sent_at: null, has_token: false });
    const events = await db.query("select severity, details from audit.audit_log where event_type = 'outbox.dead_letter' and subject_user_id = $1", [userId]);
    expect(events.rows).toHaveLength(1);
    expect(events.rows[0]).toMatchObject({ severity: 'warning', details: { outbox_id: Number(failed.id), template: 'email_verification', attempts: 8 } });
  });
});

describe('e-mail in production', () => {
  const root = path.resolve(import.meta.dirname, '../..');
  const start = (extra: Record<string, string>) => spawnSync(process.execPath,
    [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(root, 'gateway', 'src', 'server.ts')], {
      env: {
        PATH: process.env.PATH ?? '', NODE_ENV: 'production', GATEWAY_PORT: '1', GATEWAY_DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none',
        JWT_PRIVATE_JWKS: '{"keys":[]}', MFA_ENCRYPTION_KEYS: '{}', KYC_ENCRYPTION_KEYS: '{}',
        WEBAUTHN_RP_ID: 'bank.example', WEBAUTHN_ORIGINS: 'https://bank.example', OUTBOX_SENDER: 'smtp', ...extra,
      },
      encoding: 'utf8', timeout: 30_000,
    });

  it('cannot start sending mail in clear, SMS to the mail server, or links to an http page', () => {
    const r = start({ SMTP_URL: 'smtp://relay.bank.example:25', SMTP_REQUIRE_TLS: 'false', ACCOUNT_URL: 'http://bank.example/account/' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/SMTP_REQUIRE_TLS: production sends mail over TLS only/);
    expect(r.stderr).toMatch(/OUTBOX_SMS_WEBHOOK_URL: required in production/);
    expect(r.stderr).toMatch(/ACCOUNT_URL: required in production/);
    expect(r.stderr).not.toContain('relay.bank.example');
  });
});
