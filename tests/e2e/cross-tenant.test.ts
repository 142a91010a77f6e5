// Cross-tenant attempts: each of ten customers tries to read, change and delete
// every other customer's rows through every /rpc function that takes an id,
// every view PostgREST exposes, and every gateway route that takes an id.
// Expected: zero successes, verified in the database (each victim's rows are
// fingerprinted before and after) and not only by HTTP status.
import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { db, gateway, newUser, postgrest, session, type TestUser } from './helpers.js';

const N = 10;
interface Tenant extends TestUser {
  token: string;
  sessionId: string;
  configId: string;
  deviceId: string;
  kycId: string | null;
  checkId: string | null;
  lastName: string;
}
const tenants: Tenant[] = [];
let rpcs: { path: string; params: string[] }[] = [];
const views: string[] = [];
const gatewayIdRoutes: { path: string; fields: string[] }[] = [];
const figures = { attempts: 0, successes: 0, leaks: 0, fiveXX: 0 };

/** Everything a victim owns, as one digest: any change by anyone shows. */
async function fingerprint(userId: string): Promise<string> {
  const r = await db.query<{ d: string }>(`select md5(concat_ws('|',
      (select row_to_json(u)::text from app.users u where u.id = $1),
      (select json_agg(s order by s.id)::text from app.user_sessions s where s.user_id = $1),
      (select json_agg(m order by m.id)::text from app.mfa_configs m where m.user_id = $1),
      (select json_agg(d order by d.id)::text from app.trusted_devices d where d.user_id = $1),
      (select json_agg(k order by k.id)::text from app.kyc_records k where k.user_id = $1),
      (select json_agg(c order by c.id)::text from app.kyc_compliance_checks c join app.kyc_records k on k.id = c.kyc_record_id where k.user_id = $1)
    )) d`, [userId]);
  return r.rows[0]!.d;
}

const KYC = {
  level: 'basic', legal_first_name: 'Grace', legal_last_name: 'Hopper', date_of_birth: '1980-12-09', nationality: 'US',
  address_line1: '1 Navy Yard', city: 'Arlington', postal_code: '22202', residence_country: 'US',
  id_document_type: 'passport', id_document_number: 'X9876543',
};

/** The value an attacker sends for a parameter: the victim's id of that kind, else something plausible. */
function argFor(name: string, v: Tenant): unknown {
  const ids: Record<string, unknown> = {
    user_id: v.userId, session_id: v.sessionId, except_session: v.sessionId, device_id: v.deviceId, config_id: v.configId,
    kyc_id: v.kycId, check_id: v.checkId, document_id: crypto.randomUUID(),
  };
  if (name in ids) return ids[name];
  const plain: Record<string, unknown> = {
    method: 'totp', reason: 'cross-tenant', decision: 'approved', resolution: 'cleared', status: 'accepted', quality_score: 90,
    note: 'x', notes: 'x', code: '123456', first_name: 'Mallory', last_name: 'Mallory',
  };
  if (name in plain) return plain[name];
  return (KYC as Record<string, unknown>)[name] ?? null;
}

beforeAll(async () => {
  for (let i = 0; i < N; i++) {
    const u = await newUser(`tenant${i}`);
    await db.query('update app.users set email_verified_at = now() where id = $1', [u.userId]);  // KYC needs a verified e-mail
    const lastName = `Tenant${crypto.randomBytes(5).toString('hex')}`;
    const s = await session(u);
    await postgrest('/rpc/update_my_profile', { method: 'POST', token: s.access_token, json: { last_name: lastName } });
    const e = await gateway('/auth/mfa/totp/enroll', { method: 'POST', token: s.access_token, json: { label: 'Phone' } });
    expect(e.status).toBe(201);
    const d = await db.query<{ id: string }>(
      `insert into app.trusted_devices (user_id, device_fingerprint, device_name, expires_at)
       values ($1, $2, 'laptop', now() + interval '30 days') returning id`, [u.userId, `fp-${crypto.randomUUID()}`]);
    const k = await postgrest('/rpc/initiate_kyc_verification', { method: 'POST', token: s.access_token, json: KYC });
    const kycId = k.status === 200 ? (k.body.id as string) : null;
    const c = kycId ? await db.query<{ id: string }>('select id from app.kyc_compliance_checks where kyc_record_id = $1 limit 1', [kycId]) : null;
    tenants.push({ ...u, token: s.access_token, sessionId: s.session_id, configId: e.body.config_id, deviceId: d.rows[0]!.id,
      kycId, checkId: c?.rows[0]?.id ?? null, lastName });
  }
  const doc = (await postgrest('/', { token: tenants[0]!.token })).body;
  for (const [path, ops] of Object.entries<any>(doc.paths)) {
    if (path === '/') continue;
    if (path.startsWith('/rpc/')) rpcs.push({ path, params: (ops.get?.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name) });
    else views.push(path);
  }
  const gw = (await gateway('/openapi.json')).body;
  const resolve = (s: any): any => (s?.$ref ? gw.components.schemas[s.$ref.split('/').pop()] : s);
  for (const [path, ops] of Object.entries<any>(gw.paths)) {
    const props = resolve(ops.post?.requestBody?.content?.['application/json']?.schema)?.properties ?? {};
    const fields = Object.keys(props);
    if (fields.some((f) => /_id$/.test(f))) gatewayIdRoutes.push({ path, fields });
  }
  rpcs = rpcs.filter((r) => r.params.some((p) => /_id$|^except_session$/.test(p)));
}, 120_000);

describe('cross-tenant', () => {
  it('finds the id-taking functions, the views and the id-taking gateway routes', () => {
    expect(tenants).toHaveLength(N);
    expect(rpcs.map((r) => r.path)).toEqual(expect.arrayContaining(['/rpc/revoke_my_session', '/rpc/get_user_mfa_methods', '/rpc/revoke_user_sessions']));
    expect(gatewayIdRoutes.map((r) => r.path)).toContain('/auth/mfa/totp/confirm');
    expect(views).toEqual(expect.arrayContaining(['/my_kyc_verifications']));
    // Every victim has rows of every kind to attack.
    for (const t of tenants) expect([t.kycId, t.checkId, t.configId, t.deviceId].every(Boolean)).toBe(true);
  });

  it(`lets none of ${N} customers read, change or delete another's rows`, async () => {
    const before = await Promise.all(tenants.map((t) => fingerprint(t.userId)));
    const problems: string[] = [];
    for (const attacker of tenants) {
      const victims = tenants.filter((t) => t !== attacker);
      await Promise.all(victims.map(async (v) => {
        // What of the victim must never appear in a reply (ids the attacker sent aside).
        const secrets = [v.email, v.lastName, v.sessionId, v.configId, v.deviceId, v.kycId, v.checkId].filter((x): x is string => !!x);
        const check = (label: string, status: number, text: string, sent: unknown) => {
          figures.attempts++;
          if (status >= 500) { figures.fiveXX++; problems.push(`${label}: ${status} ${text.slice(0, 200)}`); }
          const sentText = JSON.stringify(sent);
          const leaked = secrets.filter((s) => text.includes(s) && !sentText.includes(s));
          if (leaked.length) { figures.leaks++; problems.push(`${label} leaked ${leaked.join(', ')}: ${text.slice(0, 200)}`); }
        };
        for (const r of rpcs) {
          const args = Object.fromEntries(r.params.filter((p) => p !== 'now').map((p) => [p, argFor(p, v)]));
          const res = await postgrest(r.path, { method: 'POST', token: attacker.token, json: args });
          check(`${attacker.email} -> POST ${r.path}`, res.status, res.text, args);
        }
        for (const path of views) {
          const filters = [`user_id=eq.${v.userId}`, ...(v.kycId ? [`id=eq.${v.kycId}`] : [])];
          for (const f of filters) {
            const get = await postgrest(`${path}?${f}`, { token: attacker.token });
            check(`GET ${path}?${f}`, get.status, get.text, f);
            if (get.status === 200 && Array.isArray(get.body) && get.body.length > 0) problems.push(`GET ${path}?${f} returned ${get.body.length} row(s)`);
            const patch = await postgrest(`${path}?${f}`, { method: 'PATCH', token: attacker.token, json: { city: 'Mallorytown' },
              headers: { prefer: 'return=representation' } });
            check(`PATCH ${path}?${f}`, patch.status, patch.text, f);
            if (patch.status < 300 && Array.isArray(patch.body) && patch.body.length > 0) problems.push(`PATCH ${path}?${f} changed rows`);
            const del = await postgrest(`${path}?${f}`, { method: 'DELETE', token: attacker.token, headers: { prefer: 'return=representation' } });
            check(`DELETE ${path}?${f}`, del.status, del.text, f);
            if (del.status < 300 && Array.isArray(del.body) && del.body.length > 0) problems.push(`DELETE ${path}?${f} deleted rows`);
          }
        }
        for (const g of gatewayIdRoutes) {
          const body = Object.fromEntries(g.fields.map((f) => [f, argFor(f, v)]));
          const res = await gateway(g.path, { method: 'POST', token: attacker.token, json: body });
          check(`gateway ${g.path}`, res.status, res.text, body);
          if (res.status < 300) problems.push(`gateway ${g.path} with another customer's ids answered ${res.status}`);
        }
      }));
    }
    const after = await Promise.all(tenants.map((t) => fingerprint(t.userId)));
    const changed = tenants.filter((_, i) => before[i] !== after[i]).map((t) => t.email);
    figures.successes = changed.length + problems.filter((p) => /returned|changed|deleted|answered/.test(p)).length;
    console.log(`[cross-tenant] users=${N} attempts=${figures.attempts} successes=${figures.successes} leaks=${figures.leaks} 5xx=${figures.fiveXX} victims_changed=${changed.length}`);
    expect(problems).toEqual([]);
    expect(changed).toEqual([]);
    // Each customer's own rows are still theirs: the tokens still work.
    for (const t of tenants) expect((await postgrest('/rpc/me', { method: 'POST', token: t.token, json: {} })).status).toBe(200);
  }, 180_000);
});
