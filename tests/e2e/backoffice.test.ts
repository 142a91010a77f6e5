// The compliance back office (/backoffice/) in headless Chromium against the real gateway and PostgREST, tried as
// an officer would (issue 20): TOTP sign-in, a customer lookup with its reason audited, a high-risk case from the
// queue, its passport image, a screening match cleared as a false positive, four-eyes approval by two officers;
// enrolment for staff without a factor, sign-out and the idle timeout, the keyboard, reports with their numbers,
// and an axe-core check of every screen. Screenshots: docs/backoffice-*.png (UPDATE_SCREENSHOTS=1).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { codeAt, stepOf } from '../../gateway/src/mfa/totp.js';
import { sharedChromium } from './browser.js';
import { backupCodeSession, db, enrolTotp, gateway, GATEWAY_URL, login, newUser, postgrest, session, staffUser, type TestUser } from './helpers.js';

const BO_URL = `${GATEWAY_URL.replace('://127.0.0.1', '://localhost')}/backoffice/`;
// Screenshots go to docs/ with UPDATE_SCREENSHOTS=1 (as tests/e2e/security-page.test.ts does), else to the stack's data dir.
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.resolve(import.meta.dirname, '..', '..', 'docs')
  : (process.env.TEST_STACK_DATA_DIR ?? path.resolve(import.meta.dirname, '..', '..', '.data', 'test'));
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const browser = sharedChromium();

/** A real (decodable) PNG: a passport-coloured rectangle, so the page can show it as an image. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4); ihdr[8] = 8; ihdr[9] = 2;
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, Buffer.from([0x1e, 0x3a, 0x8a]))]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(Array.from({ length: height }, () => row)))), chunk('IEND', Buffer.alloc(0))]);
}

/** A small real PDF (one empty page). */
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj '
  + '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');

/** Letters only (legal names refuse digits): a surname nobody else in the test database has. */
const uniqueSurname = () => `Q${[...crypto.randomBytes(8)].map((b) => String.fromCharCode(97 + (b % 26))).join('')}`;

/** A customer with a submitted standard verification whose name is on a sanctions list: a high-risk case. */
async function highRiskCase() {
  const surname = uniqueSurname();
  const list = await db.query<{ id: string }>('select app.begin_watchlist_load($1, $2, $3) as id', [`bo-${surname.toLowerCase()}`, 'v1', 'e2e']);
  await db.query('select app.add_watchlist_entries($1, $2::jsonb)', [list.rows[0]!.id, JSON.stringify([{ id: `bo-${surname}`, kind: 'sanctions',
    schema: 'Person', name: `Viktor ${surname}`, aliases: [], birth_date: '1971-02', countries: ['is'], program: 'E2E-SANCTIONS' }])]);
  await db.query('select app.finish_watchlist_load($1)', [list.rows[0]!.id]);

  const customer = await newUser('bo-customer');
  await db.query('update app.users set email_verified_at = now() where id = $1', [customer.userId]);
  const s = await session(customer);
  const { backupCodes } = await enrolTotp(s.access_token);
  const token = (await backupCodeSession(customer, backupCodes[0])).access_token;
  const started = await postgrest('/rpc/initiate_kyc_verification', { method: 'POST', token, json: {
    level: 'standard', legal_first_name: 'Viktor', legal_last_name: surname, date_of_birth: '1971-02-14', nationality: 'IS',
    address_line1: 'Lindenallee 5', city: 'Köln', postal_code: '50667', residence_country: 'DE',
    id_document_type: 'passport', id_document_number: 'P7T9K2L4M' } });
  expect(started.status).toBe(200);
  const kycId = started.body.id as string;
  const form = new FormData();
  for (const [k, v] of Object.entries({ kyc_id: kycId, document_type: 'passport', issuing_country: 'IS', document_number: 'P7T9K2L4M', expires_on: '2032-06-30' })) form.set(k, v);
  form.set('file', new Blob([new Uint8Array(png(120, 80))], { type: 'image/png' }), 'passport.png');
  expect((await gateway('/kyc/documents', { method: 'POST', token, body: form })).status).toBe(201);
  const bill = new FormData();
  bill.set('kyc_id', kycId);
  bill.set('document_type', 'proof_of_address');
  bill.set('file', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'bill.pdf');
  expect((await gateway('/kyc/documents', { method: 'POST', token, body: bill })).status).toBe(201);
  expect((await postgrest('/rpc/submit_kyc_verification', { method: 'POST', token, json: { kyc_id: kycId } })).body.status).toBe('in_review');
  return { customer, token, kycId, surname };
}

/** A compliance officer (or admin) with a TOTP factor, and the next code its authenticator app shows. */
async function officer(role: 'compliance_officer' | 'admin' = 'compliance_officer') {
  const staff = await staffUser(role, `bo-${role}`);
  let lastStep = stepOf(Date.now() / 1000);  // the enrolment's code (or an earlier one) is spent
  return { ...staff, nextCode: async () => {
    lastStep = Math.max(lastStep + 1, stepOf(Date.now() / 1000));
    // The gateway accepts one step of drift: a code further ahead waits until the clock is near it.
    await expect.poll(() => stepOf(Date.now() / 1000) + 1 >= lastStep, { timeout: 40_000, interval: 500 }).toBe(true);
    return codeAt(staff.secret, lastStep * 30);
  } };
}

/** A page with no CSP violation and no script error going unnoticed. */
async function newPage(): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const context = await browser().newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  return { page, problems, close: () => context.close() };
}

async function signIn(page: Page, user: Pick<TestUser, 'email' | 'password'>, code: string | Promise<string>) {
  await page.goto(BO_URL);
  await page.getByLabel('E-mail').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Code from your authenticator app').fill(await code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('navigation', { name: 'Screens' }).waitFor();
}

/** axe-core's serious and critical violations on the page as it is now (run through DevTools, so the CSP stays on). */
async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const r = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v: any) => ['serious', 'critical'].includes(v.impact))
      .map((v: any) => `${v.id}: ${v.help} (${v.nodes.map((n: any) => n.target.join(' ')).join(', ')})`);
  });
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `backoffice-${name}.png`) });

describe('back office', () => {
  let acase: Awaited<ReturnType<typeof highRiskCase>>;
  beforeAll(async () => {
    acase = await highRiskCase();
  }, 60_000);

  it('can be used by two officers to clear a sanctions match and approve a high-risk case with four eyes', async () => {
    const first = await officer();
    const second = await officer();
    const { page, problems, close } = await newPage();
    try {
      await signIn(page, first, first.nextCode());
      expect(await axeViolations(page), 'queue').toEqual([]);

      // Find the customer by e-mail, with a reason that lands in the audit trail.
      await page.getByRole('link', { name: 'Customers' }).click();
      await page.getByLabel('E-mail, phone or account id').fill(acase.customer.email);
      await page.getByLabel(/Reason for the lookup/).fill('Ticket KYC-4711: sanctions alert');
      await page.getByRole('button', { name: 'Find' }).click();
      await page.getByRole('heading', { name: new RegExp(acase.customer.email.replace(/[.+]/g, '\\$&')) }).waitFor();
      await page.getByRole('table', { name: 'KYC history' }).getByText('in review').waitFor();
      expect(await axeViolations(page), 'customers').toEqual([]);
      const audited = await db.query(`select details from audit.audit_log where event_type = 'staff.customer_lookup'
        and actor_id = $1 and subject_user_id = $2`, [first.userId, acase.customer.userId]);
      expect(audited.rows).toEqual([{ details: { by: 'email', reason: 'Ticket KYC-4711: sanctions alert', found: [acase.customer.userId] } }]);

      // The high-risk case is in the queue.
      await page.getByRole('link', { name: 'Review queue' }).click();
      await page.getByLabel('Risk').selectOption('high');
      await page.getByLabel('Country').fill('IS');
      await page.getByRole('button', { name: 'Filter' }).click();
      const row = page.getByRole('row').filter({ hasText: acase.surname });
      await row.waitFor();
      expect(await row.textContent()).toContain('high');
      await shot(page, 'queue');
      await row.getByRole('link').click();

      // The passport image, streamed through the gateway's download and never cached.
      const download = page.waitForResponse((r) => r.url().includes('/kyc/documents/'));
      await page.getByRole('button', { name: 'Show passport' }).click();
      const res = await download;
      expect(res.status()).toBe(200);
      expect(res.headers()['cache-control']).toBe('no-store');
      const img = page.getByRole('img', { name: 'Uploaded passport' });
      await img.waitFor();
      await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(120);

      // A PDF is shown in the page too (a blob: frame the CSP allows).
      await page.getByRole('button', { name: 'Show proof of address' }).click();
      await page.locator('iframe[title="proof_of_address (PDF)"]').waitFor();

      // The document review: accepted with a quality score and a note.
      const passportDoc = page.getByRole('article', { name: 'Document: passport' });
      await passportDoc.getByLabel('Quality (0-100)').fill('85');
      await passportDoc.getByLabel('Notes').fill('Sharp, all corners visible.');
      await passportDoc.getByRole('button', { name: 'Save review' }).click();
      await page.getByText('The document review was saved.').waitFor();
      await passportDoc.getByText('status accepted (quality 85)').waitFor();

      // The match beside its watchlist entry, resolved as a false positive.
      const sanctions = page.getByRole('article', { name: 'sanctions screening' });
      await sanctions.getByText('E2E-SANCTIONS').waitFor();
      await sanctions.getByLabel('Resolution').selectOption('false_positive');
      await sanctions.getByLabel('Note').fill('Different person: date of birth and passport differ.');
      await sanctions.getByRole('button', { name: 'Resolve match' }).click();
      await sanctions.getByRole('heading', { name: /false positive/ }).waitFor();
      expect(await axeViolations(page), 'case').toEqual([]);

      // The first approval: the page says it waits for a second officer and offers this one no approval.
      await page.getByRole('button', { name: 'Approve', exact: true }).click();
      await page.getByText('Your approval is recorded: the case now waits for a second officer.').waitFor();
      await page.getByText('You gave the first approval').waitFor();
      await shot(page, 'case');
      expect(await page.getByRole('button', { name: /approv/i }).count()).toBe(0);
      await page.reload();
      await signIn(page, first, first.nextCode());
      await page.goto(`${BO_URL}#case/${acase.kycId}`);
      await page.getByText('You gave the first approval').waitFor();
      expect(await page.getByRole('button', { name: /approv/i }).count()).toBe(0);
      expect(problems).toEqual([]);
    } finally {
      await close();
    }

    // The second officer finds it waiting for a second approval and gives it.
    const other = await newPage();
    try {
      await signIn(other.page, second, second.nextCode());
      await other.page.getByLabel('Waiting for a second approval').check();
      await other.page.getByRole('button', { name: 'Filter' }).click();
      await other.page.getByRole('row').filter({ hasText: acase.surname }).getByRole('link').click();
      await other.page.getByText(`First approval by ${first.email}`).waitFor();
      await other.page.getByRole('button', { name: 'Give the second approval' }).click();
      await other.page.getByText('The verification is approved.').waitFor();
      expect(other.problems).toEqual([]);
    } finally {
      await other.close();
    }
    const latest = await postgrest('/rpc/get_user_latest_kyc', { method: 'POST', token: acase.token, json: {} });
    expect(latest.body[0]).toMatchObject({ kyc_id: acase.kycId, status: 'approved', verified: true });
  }, 120_000);

  it('serves its files under a strict CSP (no unsafe-inline, never framed, no third-party origin) and nothing outside its folders', async () => {
    const page = await gateway('/backoffice/');
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp.match(/https?:\/\/[^\s;]+/g) ?? []).toEqual([process.env.POSTGREST_URL!.replace(/\/$/, '')]);  // the API, nothing else
    expect(page.text).not.toMatch(/(src|href)="https?:/);
    for (const asset of ['/backoffice/app.js', '/backoffice/style.css', '/backoffice/vendor/lit/index.js', '/backoffice/vendor/chart.umd.min.js']) {
      expect([asset, (await gateway(asset)).status]).toEqual([asset, 200]);
    }
    for (const probe of ['/backoffice/vendor/lit/package.json', '/backoffice/vendor/lit/..%2f..%2fpackage.json', '/backoffice/%E0%A4%A',
      '/backoffice/vendor/pg/lib/index.js', '/backoffice/index.html']) {
      expect([probe, (await gateway(probe)).status]).toEqual([probe, 404]);
    }
  });

  it('cannot give a customer\'s token anything from the back office\'s data calls (403)', async () => {
    const calls: [string, Record<string, unknown>][] = [
      ['kyc_queue', {}], ['kyc_case', { kyc_id: acase.kycId }], ['find_customer', { query: acase.customer.email, reason: 'curious customer' }],
      ['customer_overview', { user_id: acase.customer.userId, reason: 'curious customer' }], ['account_recoveries', {}],
      ['suspend_customer', { user_id: acase.customer.userId, reason: 'curious customer' }], ['report_kyc_funnel', {}],
      ['complete_kyc_verification', { kyc_id: acase.kycId, decision: 'approved' }]];
    for (const [fn, args] of calls) {
      const r = await postgrest(`/rpc/${fn}`, { method: 'POST', token: acase.token, json: args });
      expect([fn, r.status]).toEqual([fn, 403]);
      expect(r.text).not.toContain(acase.customer.userId);
    }
    expect((await postgrest('/kyc_review_queue', { token: acase.token })).status).toBe(403);
    expect((await gateway('/admin/events', { token: acase.token })).status).toBe(403);
    // And the page itself sends a customer away.
    const { page, close } = await newPage();
    try {
      await page.goto(BO_URL);
      const customer = await newUser('bo-nosy');
      await page.getByLabel('E-mail').fill(customer.email);
      await page.getByLabel('Password').fill(customer.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').getByText('The back office is for staff only.').waitFor();
    } finally {
      await close();
    }
  }, 60_000);

  it('can suspend and reinstate a customer with a reason, end their sessions, and shows the API\'s message and hint', async () => {
    const admin = await officer('admin');
    const customer = await newUser('bo-suspend');
    const { access_token } = await session(customer);
    const { page, problems, close } = await newPage();
    try {
      await signIn(page, admin, admin.nextCode());
      await page.getByLabel('E-mail, phone or account id').fill('someone');
      await page.getByLabel(/Reason for the lookup/).fill('Ticket 4712: suspected takeover');
      await page.getByRole('button', { name: 'Find' }).click();
      const alert = page.getByRole('alert');
      await alert.getByText('Search by a whole e-mail address, a phone number or an account id.').waitFor();
      await alert.getByText(/For example ada@example.com/).waitFor();

      await page.getByLabel('E-mail, phone or account id').fill(customer.email);
      await page.getByRole('button', { name: 'Find' }).click();
      await page.getByRole('button', { name: 'End all 1 live sessions' }).click();
      await page.getByText('Every session of this customer was ended.').waitFor();
      expect((await postgrest('/rpc/me', { method: 'POST', token: access_token, json: {} })).status).toBe(401);

      await page.getByLabel('Reason for suspending').fill('Ticket 4712: suspected takeover');
      await page.getByRole('button', { name: 'Suspend account' }).click();
      await page.getByText('The account is suspended and its sessions have ended.').waitFor();
      expect((await gateway('/auth/login', { method: 'POST', json: { email: customer.email, password: customer.password } })).body.code)
        .toBe('ACCOUNT_SUSPENDED');
      await page.getByLabel('Reason for reinstating').fill('Ticket 4712: the customer proved who they are');
      await page.getByRole('button', { name: 'Reinstate account' }).click();
      await page.getByText('The account is active again.').waitFor();
      expect((await gateway('/auth/login', { method: 'POST', json: { email: customer.email, password: customer.password } })).status).toBe(200);
      const events = await db.query(`select event_type, details ->> 'reason' as reason from audit.audit_log
        where subject_user_id = $1 and event_type in ('account.suspended', 'account.reinstated') order by id`, [customer.userId]);
      expect(events.rows).toEqual([{ event_type: 'account.suspended', reason: 'Ticket 4712: suspected takeover' },
        { event_type: 'account.reinstated', reason: 'Ticket 4712: the customer proved who they are' }]);
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  it('can approve an account recovery with two different staff members, never offering the first the second approval', async () => {
    const customer = await newUser('bo-recovery');
    await enrolTotp((await session(customer)).access_token);
    const l = await login(customer.email, customer.password);
    expect((await gateway('/auth/recovery', { method: 'POST', json: { mfa_token: l.body.mfa_token, reason: 'lost my phone' } })).status).toBe(202);
    const [first, second] = [await officer(), await officer('admin')];
    for (const [staff, expected] of [[first, 'Your approval'], [second, 'Your approval']] as const) {
      const { page, problems, close } = await newPage();
      try {
        await signIn(page, staff, staff.nextCode());
        await page.getByRole('link', { name: 'Account recovery' }).click();
        const row = page.getByRole('row').filter({ hasText: customer.email });
        await row.getByText('lost my phone').waitFor();
        await row.getByRole('button', { name: 'Approve' }).click();
        await page.getByText(new RegExp(`^${expected}`)).waitFor();
        if (staff === first) {
          await row.getByText('You approved first.').waitFor();
          expect(await row.getByRole('button', { name: 'Approve' }).count()).toBe(0);
        } else {
          await row.getByRole('cell', { name: 'approved', exact: true }).waitFor();
        }
        expect(problems).toEqual([]);
      } finally {
        await close();
      }
    }
    const r = await db.query('select status, first_approver, second_approver from app.account_recoveries where user_id = $1', [customer.userId]);
    expect(r.rows).toEqual([{ status: 'approved', first_approver: first.userId, second_approver: second.userId }]);
  }, 90_000);

  it('can take a staff member without a factor through enrolment to an aal2 session', async () => {
    const u = await newUser('bo-new-staff');
    await db.query('select app.set_user_role($1, $2)', [u.email, 'compliance_officer']);
    const { page, problems, close } = await newPage();
    try {
      await page.goto(BO_URL);
      await page.getByLabel('E-mail').fill(u.email);
      await page.getByLabel('Password').fill(u.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
      expect(await axeViolations(page), 'enrolment').toEqual([]);
      const secret = (await page.locator('#totp-secret').textContent())!.trim();
      const step = stepOf(Date.now() / 1000);
      await page.getByLabel('Code', { exact: true }).fill(codeAt(secret, step * 30));
      await page.getByRole('button', { name: 'Confirm' }).click();
      await page.getByRole('list', { name: 'Backup codes' }).waitFor();
      await page.getByLabel('Next code from your authenticator app').fill(codeAt(secret, (step + 1) * 30));
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('navigation', { name: 'Screens' }).waitFor();
      const s = await db.query(`select aal from app.user_sessions where user_id = $1 and revoked_at is null`, [u.userId]);
      expect(s.rows.map((r) => r.aal)).toEqual(['aal2']);
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('ends the session on sign-out, and after the idle timeout with a warning before', async () => {
    const off = await officer();
    const { page, close } = await newPage();
    try {
      await signIn(page, off, off.nextCode());
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByText('You have signed out.').waitFor();
      await expect.poll(async () => (await db.query(`select count(*)::int as n from app.user_sessions
        where user_id = $1 and amr @> '{otp}' and revoked_at is null`, [off.userId])).rows[0].n).toBe(0);

      await page.clock.install();
      await signIn(page, off, off.nextCode());
      await page.clock.fastForward('13:30');
      const warning = page.getByRole('alertdialog', { name: 'Still there?' });
      await warning.waitFor();
      expect(await axeViolations(page), 'idle warning').toEqual([]);
      await page.getByRole('button', { name: 'Stay signed in' }).click();
      await warning.waitFor({ state: 'detached' });
      await page.clock.fastForward('13:30');
      await warning.waitFor();
      await page.clock.fastForward('01:40');
      await page.getByText('You were signed out after 15 minutes without activity.').waitFor();
      await expect.poll(async () => (await db.query(`select count(*)::int as n from app.user_sessions
        where user_id = $1 and amr @> '{otp}' and revoked_at is null`, [off.userId])).rows[0].n).toBe(0);
    } finally {
      await close();
    }
  }, 90_000);

  it('can be used with the keyboard alone, and draws every report with its numbers beside it', async () => {
    const admin = await officer('admin');
    await db.query('select app_private.refresh_reports()');
    const { page, problems, close } = await newPage();
    try {
      await page.goto(BO_URL);
      await page.keyboard.press('Tab');
      await page.keyboard.type(admin.email);
      await page.keyboard.press('Tab');
      await page.keyboard.type(admin.password);
      await page.keyboard.press('Enter');
      await page.getByLabel('Code from your authenticator app').waitFor();
      await page.keyboard.type(await admin.nextCode());
      await page.keyboard.press('Enter');
      await page.getByRole('navigation', { name: 'Screens' }).waitFor();
      // Tab to the Reports link and follow it.
      for (let i = 0; i < 12 && !(await page.evaluate(() => document.activeElement?.textContent === 'Reports')); i++) await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
      for (const title of ['KYC funnel', 'Risk distribution', 'Sign-in outcomes and lockouts', 'MFA adoption']) {
        const report = page.getByRole('region', { name: title });
        await report.getByRole('table', { name: `${title}: the numbers` }).waitFor();
        // Chart.js drew on the canvas (some pixel is not transparent).
        await expect.poll(() => report.locator('canvas').evaluate((c: HTMLCanvasElement) =>
          c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 === 3 && v > 0))).toBe(true);
      }
      expect(await page.getByRole('region', { name: 'KYC funnel' }).getByRole('row').count()).toBeGreaterThan(1);
      expect(await page.getByRole('region', { name: 'Sign-in outcomes and lockouts' }).getByRole('row').count()).toBeGreaterThan(1);
      await shot(page, 'reports');
      expect(await axeViolations(page), 'reports').toEqual([]);

      await page.getByRole('link', { name: 'Account recovery' }).click();
      await page.getByRole('heading', { name: 'Account recovery' }).waitFor();
      expect(await axeViolations(page), 'recoveries').toEqual([]);
      await page.getByRole('link', { name: 'Security events' }).click();
      await page.getByText('Live: new warning and critical events appear at the top.').waitFor();
      expect(await axeViolations(page), 'events').toEqual([]);
      // A critical event appears in the stream as it happens, with its context.
      await db.query(`select audit.log_event('e2e.backoffice_probe', null, '{"probe": "bo"}'::jsonb, 'critical')`);
      await page.getByRole('row').filter({ hasText: 'e2e.backoffice_probe' }).first().waitFor();
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);
});
