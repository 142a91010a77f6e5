// KYC over HTTP: a customer starts a verification (PostgREST), uploads two
// documents through the gateway with an aal2 session, an officer reviews and
// approves it; files are encrypted at rest and a tampered file is detected.
// Stored files live in <TEST_STACK_DATA_DIR>/kyc-documents (the gateway's default KYC_STORAGE_DIR).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertNoInternals, backupCodeSession, db, enrolTotp, gateway, newUser, postgrest, session, staffUser, type TestUser } from './helpers.js';

const storageDir = () =>
  process.env.KYC_STORAGE_DIR ?? path.join(process.env.TEST_STACK_DATA_DIR ?? process.env.STACK_DATA_DIR ?? '.data/test', 'kyc-documents');
const storedFiles = (): string[] => {
  const dir = storageDir();
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((d) => fs.readdirSync(path.join(dir, d)).map((f) => path.join(dir, d, f)));
};

// Small but real files: the gateway decides the type from these first bytes.
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF synthetic passport scan '.repeat(20))]);
const PDF = Buffer.from('%PDF-1.4\n% synthetic utility bill\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n');

/** A customer with a verified e-mail address and an aal2 access token (TOTP enrolled, signed in with a backup code). */
async function verifiedCustomer(tag: string): Promise<TestUser & { aal1: string; aal2: string }> {
  const user = await newUser(tag);
  await db.query('update app.users set email_verified_at = now() where id = $1', [user.userId]);
  const s = await session(user);
  const { backupCodes } = await enrolTotp(s.access_token);
  return { ...user, aal1: s.access_token, aal2: (await backupCodeSession(user, backupCodes[0])).access_token };
}

async function officer(tag: string): Promise<string> {
  const s = await staffUser('compliance_officer', tag);
  await db.query('update app.users set email_verified_at = now() where id = $1', [s.userId]);
  return s.token;
}

const initiate = (token: string, last: string) => postgrest('/rpc/initiate_kyc_verification', { method: 'POST', token, json: {
  level: 'standard', legal_first_name: 'Greta', legal_last_name: last, date_of_birth: '1988-04-12', nationality: 'DE',
  address_line1: 'Lindenallee 5', city: 'Köln', postal_code: '50667', residence_country: 'DE',
  id_document_type: 'passport', id_document_number: 'C7T9K2L4M' } });

function upload(token: string, fields: Record<string, string>, file: Buffer, name: string, type = 'application/octet-stream') {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.set('file', new Blob([new Uint8Array(file)], { type }), name);
  return gateway('/kyc/documents', { method: 'POST', token, body: form });
}
const passport = (kycId: string) => ({ kyc_id: kycId, document_type: 'passport', issuing_country: 'DE', document_number: 'C7T9K2L4M', expires_on: '2032-06-30' });

describe('KYC', () => {
  it('can start a verification, upload two documents with aal2, be reviewed and approved by an officer', async () => {
    const customer = await verifiedCustomer('kyc-flow');
    const started = await initiate(customer.aal2, 'Lindqvist');
    expect(started.status).toBe(200);
    expect(started.body.status).toBe('pending');
    expect(started.body).not.toHaveProperty('risk_score');
    const kycId = started.body.id as string;

    const doc1 = await upload(customer.aal2, passport(kycId), JPEG, 'passport.pdf');
    expect(doc1.status).toBe(201);
    expect(doc1.body.mime_type).toBe('image/jpeg');  // from the bytes, not the name
    const doc2 = await upload(customer.aal2, { kyc_id: kycId, document_type: 'proof_of_address' }, PDF, 'bill.pdf', 'application/pdf');
    expect(doc2.status).toBe(201);

    const mine = await postgrest('/my_kyc_documents?select=id,document_type,status', { token: customer.aal2 });
    expect(mine.body).toHaveLength(2);
    const latest = await postgrest('/rpc/get_user_latest_kyc', { method: 'POST', token: customer.aal2, json: {} });
    expect(latest.body[0]).toMatchObject({ kyc_id: kycId, status: 'pending', verified: false, risk_level: null });
    const own = await gateway(`/kyc/documents/${doc1.body.id}`, { token: customer.aal1 });
    expect(own.status).toBe(200);
    expect(Buffer.from(own.text, 'latin1').length).toBeGreaterThan(0);

    expect((await postgrest('/rpc/submit_kyc_verification', { method: 'POST', token: customer.aal2, json: { kyc_id: kycId } })).body.status)
      .toBe('in_review');

    const off = await officer('kyc-officer');
    const queue = await postgrest(`/kyc_review_queue?id=eq.${kycId}`, { token: off });
    expect(queue.status).toBe(200);
    expect(queue.body[0]).toMatchObject({ status: 'in_review', risk_level: 'low', open_checks: 0, documents: 2 });
    expect(queue.body[0]).not.toHaveProperty('address_line1');
    const checks = await postgrest(`/kyc_checks?kyc_record_id=eq.${kycId}&select=check_type,status`, { token: off });
    expect(checks.body.map((c: { status: string }) => c.status)).toEqual(['clear', 'clear']);
    const read = await fetch(`${process.env.GATEWAY_URL}/kyc/documents/${doc2.body.id}`, { headers: { authorization: `Bearer ${off}` } });
    expect(read.status).toBe(200);
    expect(read.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await read.arrayBuffer()).equals(PDF)).toBe(true);

    const decision = await postgrest('/rpc/complete_kyc_verification', { method: 'POST', token: off, json: { kyc_id: kycId, decision: 'approved' } });
    expect(decision.status).toBe(200);
    expect(decision.body).toMatchObject({ status: 'approved', kyc_status: 'approved', risk_level: 'low' });
    const after = await postgrest('/rpc/get_user_latest_kyc', { method: 'POST', token: customer.aal2, json: {} });
    expect(after.body[0]).toMatchObject({ status: 'approved', verified: true });
  });

  it('cannot upload a document with an aal1 token (403 STEP_UP_REQUIRED)', async () => {
    const customer = await verifiedCustomer('kyc-aal1');
    const kycId = (await initiate(customer.aal2, 'Aalone')).body.id;
    const r = await upload(customer.aal1, passport(kycId), JPEG, 'passport.jpg', 'image/jpeg');
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('STEP_UP_REQUIRED');
  });

  it('cannot upload a document over 10 MiB (413 PAYLOAD_TOO_LARGE)', async () => {
    const customer = await verifiedCustomer('kyc-size');
    const kycId = (await initiate(customer.aal2, 'Heavyside')).body.id;
    const big = Buffer.concat([PDF, Buffer.alloc(10 * 1024 * 1024)]);
    const r = await upload(customer.aal2, { kyc_id: kycId, document_type: 'proof_of_address' }, big, 'big.pdf');
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('cannot upload a file that is not a PDF, JPEG or PNG, whatever its name (415 UNSUPPORTED_DOCUMENT_TYPE)', async () => {
    const customer = await verifiedCustomer('kyc-type');
    const kycId = (await initiate(customer.aal2, 'Typewright')).body.id;
    const before = storedFiles().length;
    const r = await upload(customer.aal2, passport(kycId), Buffer.from('MZ\x90\x00 not an image at all'), 'passport.png', 'image/png');
    expect(r.status).toBe(415);
    expect(r.body.code).toBe('UNSUPPORTED_DOCUMENT_TYPE');
    expect(storedFiles().length).toBe(before);
  });

  it('stores documents encrypted, and detects a tampered file on read (500 DOCUMENT_INTEGRITY_FAILED, critical audit event)', async () => {
    const customer = await verifiedCustomer('kyc-tamper');
    const kycId = (await initiate(customer.aal2, 'Tamperton')).body.id;
    const before = new Set(storedFiles());
    const doc = await upload(customer.aal2, passport(kycId), JPEG, 'passport.jpg', 'image/jpeg');
    expect(doc.status).toBe(201);
    const [file] = storedFiles().filter((f) => !before.has(f));
    expect(file).toBeDefined();
    const stored = fs.readFileSync(file!);
    expect(stored.includes(JPEG.subarray(4, 40))).toBe(false);  // not in clear
    const sha = (await db.query('select encode(sha256, \'hex\') as h from app.kyc_documents where id = $1', [doc.body.id])).rows[0].h;
    expect(sha).toBe(doc.body.sha256);

    stored[stored.length - 1] = stored[stored.length - 1]! ^ 0x01;
    fs.writeFileSync(file!, stored);
    const r = await gateway(`/kyc/documents/${doc.body.id}`, { token: customer.aal2 });
    expect(r.status).toBe(500);
    expect(r.body.code).toBe('DOCUMENT_INTEGRITY_FAILED');
    assertNoInternals(r.text);
    const ev = await db.query("select severity from audit.audit_log where event_type = 'kyc.document_integrity_failed' and subject_user_id = $1",
      [customer.userId]);
    expect(ev.rows).toEqual([{ severity: 'critical' }]);
    expect((await db.query('select status from app.kyc_documents where id = $1', [doc.body.id])).rows[0].status).toBe('integrity_failed');
  });

  it('cannot read another customer\'s KYC data or documents, nor change its own risk or status', async () => {
    const a = await verifiedCustomer('kyc-owner');
    const b = await verifiedCustomer('kyc-other');
    const kycId = (await initiate(a.aal2, 'Ownerby')).body.id;
    const doc = await upload(a.aal2, passport(kycId), JPEG, 'p.jpg');
    expect(doc.status).toBe(201);

    expect((await gateway(`/kyc/documents/${doc.body.id}`, { token: b.aal2 })).status).toBe(404);
    expect((await postgrest(`/my_kyc_verifications?id=eq.${kycId}`, { token: b.aal2 })).body).toEqual([]);
    const other = await postgrest('/rpc/get_user_latest_kyc', { method: 'POST', token: b.aal2, json: { user_id: a.userId } });
    expect(other.status).toBe(403);
    expect((await postgrest('/kyc_review_queue', { token: a.aal2 })).status).toBe(403);
    expect((await postgrest('/kyc_checks', { token: a.aal2 })).status).toBe(403);

    const patch = await postgrest(`/my_kyc_verifications?id=eq.${kycId}`, { method: 'PATCH', token: a.aal2, json: { status: 'approved' } });
    expect(patch.status).toBeGreaterThanOrEqual(400);
    const decide = await postgrest('/rpc/complete_kyc_verification', { method: 'POST', token: a.aal2, json: { kyc_id: kycId, decision: 'approved' } });
    expect(decide.status).toBeGreaterThanOrEqual(400);
    expect((await db.query('select status, risk_level from app.kyc_records where id = $1', [kycId])).rows[0].status).toBe('pending');
    const address = await postgrest(`/my_kyc_verifications?id=eq.${kycId}`, { method: 'PATCH', token: a.aal2, json: { city: 'Bonn' } });
    expect(address.status).toBe(204);
  });
});
