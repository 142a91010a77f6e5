// The account security page in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core): sign in, register a passkey with Chromium's
// virtual authenticator, sign out, sign in with the passkey as second factor,
// and see the session listed. No console errors; the screenshot is the README's
// (docs/security-page.png, refreshed with UPDATE_SCREENSHOTS=1). Without Chromium this fails; it never skips.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { db, newUser } from './helpers.js';
import { PAGE_URL, sharedChromium } from './browser.js';

// The README's screenshot is refreshed only on request (UPDATE_SCREENSHOTS=1), so a test run leaves the tree clean.
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS === '1'
  ? path.resolve(import.meta.dirname, '..', '..', 'docs', 'security-page.png')
  : path.join(process.env.TEST_STACK_DATA_DIR ?? path.resolve(import.meta.dirname, '..', '..', '.data', 'test'), 'security-page.png');

const browser = sharedChromium();

/** A page with a virtual platform authenticator (resident keys, user verification) that records console errors. */
async function pageWithAuthenticator() {
  const context = await browser().newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true,
      automaticPresenceSimulation: true },
  });
  return { page, cdp, authenticatorId, problems, close: () => context.close() };
}

async function signIn(page: Page, email: string, password: string) {
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('#signin-button');
}

describe('account security page', () => {
  it('serves the page and the WebAuthn browser bundle from the gateway under a strict CSP', async () => {
    const r = await fetch(PAGE_URL.replace('://localhost', '://127.0.0.1'));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    const js = await fetch(new URL('vendor/simplewebauthn-browser.js', PAGE_URL.replace('://localhost', '://127.0.0.1')));
    expect(js.status).toBe(200);
    expect(await js.text()).toContain('SimpleWebAuthnBrowser');
  });

  it('can sign in, register a passkey, sign out, sign in with the passkey as second factor and see the session', async () => {
    const user = await newUser('page');
    const { page, problems, close } = await pageWithAuthenticator();
    try {
      await page.goto(PAGE_URL);
      await signIn(page, user.email, user.password);
      await page.waitForSelector('#account:not([hidden])');
      await page.waitForSelector('#sessions tbody tr');

      await page.click('#passkey-register-button');
      await page.waitForSelector('#passkeys li:has-text("This device")');
      await expect.poll(() => page.locator('#backup-code-list li').count()).toBe(10);
      const stored = await db.query('select sign_count, transports from app.webauthn_credentials where user_id = $1', [user.userId]);
      expect(stored.rows).toHaveLength(1);

      await page.click('#signout-button');
      await page.waitForSelector('#signin:not([hidden])');
      // Nothing of the account stays in the page after signing out (a shared computer).
      expect(await page.locator('#sessions tbody tr').count()).toBe(0);
      expect(await page.locator('#passkeys li').count()).toBe(0);

      await signIn(page, user.email, user.password);
      await page.waitForSelector('#mfa:not([hidden])');
      await page.click('#mfa-passkey-button');
      await page.waitForSelector('#account:not([hidden])');
      const current = page.locator('#sessions tbody tr', { has: page.locator('.tag') });
      await expect.poll(() => current.count()).toBe(1);
      await expect.poll(() => current.innerText()).toContain('pwd + webauthn (aal2)');

      const sessions = await db.query<{ aal: string; amr: string[] }>(
        'select aal, amr from app.user_sessions where user_id = $1 and revoked_at is null order by created_at desc', [user.userId]);
      expect(sessions.rows[0]).toEqual({ aal: 'aal2', amr: ['pwd', 'webauthn'] });
      const used = await db.query('select last_used_at from app.webauthn_credentials where user_id = $1', [user.userId]);
      expect(used.rows[0].last_used_at).not.toBeNull();

      await page.setViewportSize({ width: 1100, height: 900 });
      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('can sign in without a password with the discoverable passkey, and enrol an authenticator app shown as a QR code', async () => {
    const user = await newUser('page-passwordless');
    const { page, problems, close } = await pageWithAuthenticator();
    try {
      await page.goto(PAGE_URL);
      await signIn(page, user.email, user.password);
      await page.waitForSelector('#account:not([hidden])');
      await page.click('#totp-enroll-button');
      await page.waitForSelector('#totp-qr svg');
      expect(await page.locator('#totp-secret').innerText()).toMatch(/^[A-Z2-7]{16,}$/);
      await page.click('#passkey-register-button');
      await page.waitForSelector('#passkeys li:has-text("This device")');
      await page.click('#signout-button');
      await page.waitForSelector('#signin:not([hidden])');
      await page.click('#passwordless-button');
      await page.waitForSelector('#account:not([hidden])');
      await expect.poll(() => page.locator('#sessions tbody tr .tag').count()).toBe(1);
      await expect.poll(() => page.locator('#sessions tbody tr', { has: page.locator('.tag') }).innerText()).toContain('webauthn (aal2)');
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);
});
