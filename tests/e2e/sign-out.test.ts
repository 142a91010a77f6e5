// Issue 18, acceptance 4: signing out takes effect at once for every api function and view. The session check
// lives in PostgREST's db-pre-request (app.check_request), which runs before every call; whatever is made faster
// there, a signed-out access token (still unexpired, validly signed) must be refused by each function and view
// of schema api, for every role, with nothing in between: no wait, no retry.
import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { db, gateway, newUser, postgrest, session, staffUser } from './helpers.js';

let fns: { name: string; args: string[]; required: string[] }[] = [];
let views: string[] = [];

beforeAll(async () => {
  fns = (await db.query(`select p.proname as name,
      coalesce(array(select a from unnest(p.proargnames) with ordinality x(a, i) where i <= p.pronargs and a <> 'now'), '{}') as args,
      coalesce(array(select a from unnest(p.proargnames) with ordinality x(a, i) where i <= p.pronargs - p.pronargdefaults), '{}') as required
    from pg_proc p where p.pronamespace = 'api'::regnamespace order by 1`)).rows;
  views = (await db.query<{ relname: string }>(`select c.relname from pg_class c
    where c.relnamespace = 'api'::regnamespace and c.relkind = 'v' order by 1`)).rows.map((r) => r.relname);
});

/** Every call of every api function (POST, and GET, which the 405 rule must not answer first) and view (GET, DELETE). */
async function everyCall(token: string): Promise<string[]> {
  const wrong: string[] = [];
  const refused = (r: { status: number; body: any }) => r.status === 401 && r.body?.code === 'SESSION_ENDED';
  for (const f of fns) {
    const args = Object.fromEntries(f.args.map((a) => [a, /_id$|^id$/.test(a) ? crypto.randomUUID() : null]));
    const post = await postgrest(`/rpc/${f.name}`, { method: 'POST', token, json: args });
    if (!refused(post)) wrong.push(`POST /rpc/${f.name}: ${post.status} ${post.text.slice(0, 100)}`);
    // GET names its arguments in the query (PostgREST picks the function by their names; without them it answers
    // 404 before any transaction, so nothing would be called).
    const query = f.required.map((a) => `${a}=${encodeURIComponent(crypto.randomUUID())}`).join('&');
    const get = await postgrest(`/rpc/${f.name}${query ? `?${query}` : ''}`, { token });
    if (!refused(get)) wrong.push(`GET /rpc/${f.name}: ${get.status} ${get.text.slice(0, 100)}`);
  }
  for (const v of views) {
    for (const method of ['GET', 'DELETE']) {
      const r = await postgrest(`/${v}?id=eq.${crypto.randomUUID()}`, { method, token });
      if (!refused(r)) wrong.push(`${method} /${v}: ${r.status} ${r.text.slice(0, 100)}`);
    }
  }
  return wrong;
}

describe('signing out (issue 18)', () => {
  it('cannot call any api function or view with the access token of a session that signed out, for any role (SESSION_ENDED)', async () => {
    const customer = await newUser('signout-customer');
    const tokens = {
      customer: (await session(customer)).access_token,
      compliance_officer: (await staffUser('compliance_officer', 'signout-officer')).token,
      admin: (await staffUser('admin', 'signout-admin')).token,
    };
    expect(fns.length).toBeGreaterThan(20);
    expect(views.length).toBeGreaterThan(0);
    const wrong: string[] = [];
    for (const [role, token] of Object.entries(tokens)) {
      // Live: the token works.
      expect((await postgrest('/rpc/me', { method: 'POST', token, json: {} })).status, role).toBe(200);
      expect((await gateway('/auth/logout', { method: 'POST', token })).status, role).toBe(204);
      // At once: the very next request is refused, and so is every other.
      wrong.push(...(await everyCall(token)).map((w) => `${role} ${w}`));
    }
    console.log(`[sign-out] functions=${fns.length} views=${views.length} roles=${Object.keys(tokens).length}`);
    expect(wrong).toEqual([]);
  }, 120_000);

  it('cannot call anything with a token whose session was revoked from another session (SESSION_ENDED)', async () => {
    const u = await newUser('signout-elsewhere');
    const [a, b] = [await session(u), await session(u)];
    expect((await postgrest('/rpc/me', { token: a.access_token })).status).toBe(200);
    // Revoked from session b: a's token is refused by its next GET, the read-only path of the check.
    const r = await postgrest('/rpc/revoke_my_session', { method: 'POST', token: b.access_token, json: { session_id: a.session_id } });
    expect(r.status, r.text).toBeLessThan(300);
    expect(await everyCall(a.access_token)).toEqual([]);
    expect((await postgrest('/rpc/me', { token: b.access_token })).status).toBe(200);
  }, 60_000);

  it('can read with a session unused for minutes, and stamps its activity on the next call that may write', async () => {
    const u = await newUser('signout-activity');
    const s = await session(u);
    const stamp = async () => (await db.query<{ t: Date }>('select last_activity_at as t from app.user_sessions where id = $1', [s.session_id])).rows[0]!.t;
    await db.query(`update app.user_sessions set last_activity_at = now() - interval '5 minutes' where id = $1`, [s.session_id]);
    const old = await stamp();
    // GET runs read-only: the check passes on the session's liveness alone and writes nothing.
    expect((await postgrest('/rpc/me', { token: s.access_token })).status).toBe(200);
    expect(await stamp()).toEqual(old);
    // A call that changes data runs read-write: the check stamps the session as before.
    const w = await postgrest('/rpc/update_my_profile', { method: 'POST', token: s.access_token, json: { last_name: 'Stamped' } });
    expect(w.status, w.text).toBeLessThan(300);
    expect((await stamp()).getTime()).toBeGreaterThan(old.getTime() + 60_000);
  });
});
