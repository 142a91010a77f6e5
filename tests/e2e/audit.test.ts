// The audit trail over HTTP: request context in every entry (PostgREST and
// gateway), security events streamed to admins as Server-Sent Events, the
// gateway's countersignature on checkpoints, verification, reports, GDPR
// export and deletion, and maintenance jobs, each for the roles allowed.
import crypto from 'node:crypto';
import * as jose from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_URL, db, gateway, login, newUser, postgrest, session, staffUser } from './helpers.js';

let adminToken = '';
let officerToken = '';

const staff = (role: 'admin' | 'compliance_officer', tag: string) => staffUser(role, tag);

beforeAll(async () => {
  adminToken = (await staff('admin', 'audit-admin')).token;
  officerToken = (await staff('compliance_officer', 'audit-officer')).token;
});

/** Reads SSE events from a streaming response until `until` returns true or the time is up. */
async function readEvents(res: Response, until: (e: { event: string; data: string }) => boolean, ms: number) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const seen: { event: string; data: string }[] = [];
  let buffer = '';
  const deadline = Date.now() + ms;
  try {
    while (Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now()))]);
      if (!chunk || chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let idx;
      while ((idx = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, idx);
        buffer = buffer.slice(idx + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]).join('\n');
        if (!data) continue;
        seen.push({ event, data });
        if (until({ event, data })) return seen;
      }
    }
    return seen;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

describe('request context', () => {
  it('can trace a PostgREST request by its X-Request-Id, with user agent and client address', async () => {
    const u = await newUser('audit-ctx');
    const { access_token } = await session(u);
    const requestId = `e2e-audit-${crypto.randomBytes(6).toString('hex')}`;
    const r = await postgrest('/rpc/update_my_profile', {
      method: 'POST', token: access_token, json: { first_name: 'Traced' },
      headers: { 'x-request-id': requestId, 'user-agent': 'audit-e2e-agent/1.0' },
    });
    expect(r.status).toBe(200);
    const rows = await db.query('select table_name, operation, user_agent, host(ip) as ip, actor_id from audit.audit_log where request_id = $1', [requestId]);
    expect(rows.rows).toContainEqual(expect.objectContaining({ table_name: 'app.users', operation: 'UPDATE', user_agent: 'audit-e2e-agent/1.0', actor_id: u.userId }));
  });

  it('can trace a gateway request by its X-Request-Id', async () => {
    const u = await newUser('audit-gw');
    const requestId = `e2e-gw-${crypto.randomBytes(6).toString('hex')}`;
    const r = await login(u.email, u.password, { 'x-request-id': requestId, 'user-agent': 'audit-e2e-gateway/1.0' });
    expect(r.status).toBe(200);
    const rows = await db.query('select event_type, table_name, operation, user_agent from audit.audit_log where request_id = $1', [requestId]);
    expect(rows.rows).toContainEqual({ event_type: 'auth.login.succeeded', table_name: null, operation: 'EVENT', user_agent: 'audit-e2e-gateway/1.0' });
    // The sign-in is one statement that states its own request id (app.begin_request):
    // the rows it writes carry the id as well as its events.
    expect(rows.rows).toEqual(expect.arrayContaining([
      expect.objectContaining({ table_name: 'app.users', operation: 'UPDATE' }),
      expect.objectContaining({ table_name: 'app.user_sessions', operation: 'INSERT' }),
      expect.objectContaining({ table_name: 'app_private.device_cookies', operation: 'INSERT' }),
    ]));
    const { session_id: sessionId } = (r.body ?? {}) as { session_id?: string };
    const untraced = await db.query(
      "select count(*)::int as n from audit.audit_log where session_id = $1 and request_id is distinct from $2 and occurred_at > now() - interval '1 minute'",
      [sessionId, requestId]);
    expect(untraced.rows[0].n).toBe(0);
  });

  it('can trace a token refresh by its X-Request-Id', async () => {
    const u = await newUser('audit-refresh');
    const { refresh_token } = await session(u);
    const requestId = `e2e-refresh-${crypto.randomBytes(6).toString('hex')}`;
    const r = await gateway('/auth/token/refresh', { method: 'POST', json: { refresh_token }, headers: { 'x-request-id': requestId } });
    expect(r.status).toBe(200);
    const rows = await db.query('select table_name, operation from audit.audit_log where request_id = $1', [requestId]);
    expect(rows.rows).toEqual(expect.arrayContaining([
      expect.objectContaining({ table_name: 'app_private.refresh_tokens', operation: 'UPDATE' }),
      expect.objectContaining({ table_name: 'app_private.refresh_tokens', operation: 'INSERT' }),
      expect.objectContaining({ table_name: 'app.user_sessions', operation: 'UPDATE' }),
    ]));
  });
});

describe('security events (SSE)', () => {
  it('can stream a lockout-path failure to an admin as it happens', async () => {
    const victim = await newUser('audit-sse');
    const ac = new AbortController();
    const res = await fetch(`${GATEWAY_URL}/admin/events`, { headers: { authorization: `Bearer ${adminToken}` }, signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const pending = readEvents(res, (e) => e.event === 'security_event' && JSON.parse(e.data).subject_user_id === victim.userId, 10_000);
    await new Promise((r) => setTimeout(r, 300));  // the stream is listening once 'ready' is sent
    await login(victim.email, 'not the password at all');
    const events = await pending;
    ac.abort();
    expect(events[0]?.event).toBe('ready');
    const hit = events.find((e) => e.event === 'security_event' && JSON.parse(e.data).subject_user_id === victim.userId);
    expect(hit && JSON.parse(hit.data)).toMatchObject({ event_type: 'auth.login.failed', severity: 'warning' });
    expect(hit!.data).not.toContain(victim.email);
  });

  it('cannot stream events without a token (INVALID_TOKEN) or as a compliance officer (FORBIDDEN)', async () => {
    const anon = await gateway('/admin/events');
    expect(anon.status).toBe(401);
    expect(anon.body.code).toBe('INVALID_TOKEN');
    const officer = await gateway('/admin/events', { token: officerToken });
    expect(officer.status).toBe(403);
    expect(officer.body.code).toBe('FORBIDDEN');
  });
});

describe('audit chain', () => {
  it('can countersign a checkpoint with the gateway key, verifiable with the published JWKS', async () => {
    const cp = (await db.query<{ id: string }>('select (audit.checkpoint()).id')).rows[0]!;
    const r = await gateway('/admin/audit/checkpoints/sign', { method: 'POST', token: adminToken });
    expect(r.status).toBe(200);
    const row = (await db.query<{ jws: string; payload: string }>(
      `select gateway_signature as jws, audit.checkpoint_payload(head_seq, head_hash, created_at) as payload
         from audit.checkpoints where id = $1`, [cp.id])).rows[0]!;
    expect(row.jws).toBeTruthy();
    const jwks = jose.createLocalJWKSet((await gateway('/.well-known/jwks.json')).body);
    const { payload } = await jose.compactVerify(row.jws, jwks);
    expect(new TextDecoder().decode(payload)).toBe(row.payload);
  });

  it('cannot countersign as a compliance officer (FORBIDDEN)', async () => {
    const r = await gateway('/admin/audit/checkpoints/sign', { method: 'POST', token: officerToken });
    expect(r.status).toBe(403);
  });

  it('can verify the chain as a compliance officer; a customer cannot (FORBIDDEN)', async () => {
    await db.query('select audit.seal()');
    const ok = await postgrest('/rpc/verify_audit_chain', { method: 'POST', token: officerToken, json: {} });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, reason: null });
    const customer = await session(await newUser('audit-verify'));
    const denied = await postgrest('/rpc/verify_audit_chain', { method: 'POST', token: customer.access_token, json: {} });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('FORBIDDEN');
  });
});

describe('reports and maintenance', () => {
  it('can read every report as a compliance officer; a customer cannot (FORBIDDEN)', async () => {
    const customer = await session(await newUser('audit-report'));
    for (const fn of ['report_daily_auth', 'report_security_events', 'report_suspicious_sessions', 'report_mfa_adoption', 'report_kyc_funnel', 'report_kyc_risk']) {
      const r = await postgrest(`/rpc/${fn}`, { method: 'POST', token: officerToken, json: {} });
      expect(r.status, fn).toBe(200);
      expect(Array.isArray(r.body), fn).toBe(true);
      const c = await postgrest(`/rpc/${fn}`, { method: 'POST', token: customer.access_token, json: {} });
      expect([c.status, c.body.code], fn).toEqual([403, 'FORBIDDEN']);
    }
  });

  it('can run a maintenance job by hand as an admin and see the run; an officer cannot (FORBIDDEN)', async () => {
    const r = await postgrest('/rpc/run_maintenance', { method: 'POST', token: adminToken, json: { job: 'reports' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ job: 'reports', status: 'succeeded' });
    const runs = await postgrest('/rpc/maintenance_runs', { method: 'POST', token: adminToken, json: { job_name: 'reports' } });
    expect(runs.body[0]).toMatchObject({ job: 'reports', status: 'succeeded' });
    const jobs = await postgrest('/rpc/maintenance_jobs', { method: 'POST', token: adminToken, json: {} });
    expect(jobs.body.map((j: { job: string }) => j.job).sort()).toEqual(
      ['checkpoint', 'erasure', 'kyc_expiry', 'partitions', 'recoveries', 'reports', 'retention', 'seal', 'sessions']);
    const officer = await postgrest('/rpc/run_maintenance', { method: 'POST', token: officerToken, json: { job: 'seal' } });
    expect([officer.status, officer.body.code]).toEqual([403, 'FORBIDDEN']);
  });
});

describe('GDPR', () => {
  it('can export my own data, without secrets', async () => {
    const u = await newUser('audit-export');
    const { access_token } = await session(u);
    const r = await postgrest('/rpc/export_my_data', { method: 'POST', token: access_token, json: {} });
    expect(r.status).toBe(200);
    expect(r.body.profile.email).toBe(u.email);
    expect(r.body.sessions.length).toBeGreaterThan(0);
    expect(r.body.audit.length).toBeGreaterThan(0);
    expect(r.text).not.toMatch(/\$2[abxy]\$/);
  });

  it('can delete my account (confirmed with my e-mail), which ends my sessions at once', async () => {
    const u = await newUser('audit-delete');
    const { access_token, refresh_token } = await session(u);
    const unconfirmed = await postgrest('/rpc/request_account_deletion', { method: 'POST', token: access_token, json: { confirm_email: 'someone@else.com' } });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.body.code).toBe('CONFIRMATION_REQUIRED');
    const r = await postgrest('/rpc/request_account_deletion', { method: 'POST', token: access_token, json: { confirm_email: u.email } });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('deleted');
    expect((await postgrest('/rpc/me', { method: 'POST', token: access_token, json: {} })).status).toBe(401);
    expect((await gateway('/auth/token/refresh', { method: 'POST', json: { refresh_token } })).status).toBe(401);
    expect((await login(u.email, u.password)).status).toBe(401);
  });
});
