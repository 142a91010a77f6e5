// The gateway's own work at bcrypt cost 4 (users whose hashes have cost 4, the
// gateway's connections set to cost 4): sign-in less its one hash, token
// refresh and TOTP verification, at light load (2 connections per core) for the
// latency targets and at 20 connections for throughput.
import { fs, path, chalk } from 'zx';
import os from 'node:os';
import crypto from 'node:crypto';
import { generateSecret, generateSync } from 'otplib';
import { benchUuid, BENCH_DOMAIN } from '../lib/dataset.mjs';
import { alternate, combine, median, post } from '../lib/measure.mjs';

export async function gatewayAtCost4(ctx) {
  const { sql, db, services, G, D, quick, rounds, wrk, pgbench, writeLines } = ctx;
  const cores = os.cpus().length;
  // Sign-in's own work (everything but bcrypt), refresh and MFA: the gateway's
  // connections run with bcrypt cost 4 and users whose hashes have cost 4.
  const fastHash = (await sql(`select extensions.crypt(app_private.password_input('bench fast password'), extensions.gen_salt('bf', 4)) as h`)).rows[0].h;
  const mfaUsers = quick ? 1600 : 4400;  // two runs; each must not run out of single-use tokens
  await ensureFastUsers(ctx, fastHash, 400, mfaUsers);
  const gwUrl = new URL(db.urls.gateway);
  gwUrl.searchParams.set('options', '-c dwaybank.bcrypt_cost=4');
  await services.restartGateway({ GATEWAY_DATABASE_URL: gwUrl.toString() });
  const fastBodies = Array.from({ length: 400 }, (_, i) => JSON.stringify({ email: `fast${i}@fast.${BENCH_DOMAIN}`, password: 'bench fast password' }));
  // The gateway was just restarted: its first requests open connections and
  // compile the sign-in's functions in them. A warm-up run, not counted.
  await wrk('sign-in (warm-up, not counted)', G, '/auth/login', { mode: 'body', lines: writeLines('fast', fastBodies), c: 1, d: 3, quiet: true });
  // Own work: each round one client's sign-ins, then the one bcrypt hash a cost-4
  // sign-in computes (to take out of its time), measured right after on the same
  // machine; the median of the rounds' differences.
  const salt4 = (await sql(`select extensions.gen_salt('bf', 4) as s`)).rows[0].s;
  const roundTrip = await pgbench('database round trip, one client (pgbench)', `select 1;\n`, { c: 1, d: 2, protocol: 'simple' });
  const [signinRounds, hashRounds] = await alternate(rounds,
    (r) => wrk(`sign-in, bcrypt cost 4 (own work), 1 connection, round ${r}`, G, '/auth/login',
      { mode: 'body', lines: writeLines('fast', fastBodies), c: 1, d: Math.max(3, D / 2) }),
    (r) => pgbench(`bcrypt at cost 4, one hash at a time (round ${r})`,
      `select extensions.crypt('bench password input of sixty-four characters, like a SHA-384 b64', '${salt4}');\n`,
      { c: 1, d: 2, protocol: 'simple' }));
  // Each round's sign-in less the hash measured right after it (the hash alone, without pgbench's round trip).
  const ownRounds = signinRounds.map((s, i) => s.p50_ms - (hashRounds[i].p50_ms - roundTrip.p50_ms));
  const signinFast = combine(signinRounds, 'sign-in, bcrypt cost 4 (own work), 1 connection');
  const bcrypt4 = combine(hashRounds, 'bcrypt at cost 4, one hash at a time (pgbench)');
  const hash4 = bcrypt4.p50_ms - roundTrip.p50_ms;
  const ownWork = median(ownRounds);
  const signinFastC = await wrk('sign-in, bcrypt cost 4, 20 connections', G, '/auth/login', { mode: 'body', lines: writeLines('fast', fastBodies), c: 20, d: D });

  // Latency targets are read at light load (2 connections per core); the same
  // scenario at 20 connections shows throughput. Each run gets its own refresh
  // tokens (a reused token would end its session) and its own MFA users (a TOTP
  // step is accepted once per factor).
  const lightC = 2 * cores;
  const refreshSet = async (from) => {
    const out = [];
    for (let i = from; i < from + 200; i += 20) {
      const rs = await Promise.all(fastBodies.slice(i, i + 20).map((b) => post(G, '/auth/login', JSON.parse(b))));
      for (const r of rs) if (r.refresh_token) out.push(r.refresh_token);
    }
    return writeLines('refresh', out);
  };
  const refreshLight = await wrk(`token refresh, ${lightC} connections`, G, '/auth/token/refresh', { mode: 'refresh', lines: await refreshSet(0), c: lightC, d: D });
  const refresh = await wrk('token refresh, 20 connections', G, '/auth/token/refresh', { mode: 'refresh', lines: await refreshSet(200), c: 20, d: D });

  const mfaLight = await mfaScenario(ctx, { offset: 0, n: mfaUsers / 2, c: lightC });
  const mfa = await mfaScenario(ctx, { offset: mfaUsers / 2, n: mfaUsers / 2, c: 20 });
  return { lightC, roundTrip, ownRounds, signinFast, bcrypt4, hash4, ownWork, signinFastC, refreshLight, refresh, mfaLight, mfa };
}

/** Users for the cost-4 phase: `fast*` (no MFA) and `mfa*` with TOTP, secrets sealed with the gateway's key. */
async function ensureFastUsers({ sql, db }, hash, nFast, nMfa) {
  await sql(`set session_replication_role = replica`);
  try {
    await sql(`insert into app.users (id, email, first_name, last_name)
      select ${benchUuid("'bench-fast-' || i")}, 'fast' || i || '@fast.${BENCH_DOMAIN}', 'Fast', 'User' from generate_series(0, $1::int - 1) i
      on conflict do nothing`, [nFast]);
    await sql(`insert into app.users (id, email, first_name, last_name)
      select ${benchUuid("'bench-mfa-user-' || i")}, 'mfa' || i || '@mfa.${BENCH_DOMAIN}', 'Mfa', 'User' from generate_series(0, $1::int - 1) i
      on conflict do nothing`, [nMfa]);
    await sql(`insert into app_private.user_secrets (user_id, password_hash)
      select id, $1 from app.users where email like '%@fast.${BENCH_DOMAIN}' or email like '%@mfa.${BENCH_DOMAIN}'
      on conflict (user_id) do update set password_hash = excluded.password_hash`, [hash]);
    // Each run starts from the same history: the sessions and device cookies earlier runs left behind go.
    const fast = `select id from app.users where email like '%@fast.${BENCH_DOMAIN}' or email like '%@mfa.${BENCH_DOMAIN}'`;
    await sql(`delete from app_private.device_cookies where user_id in (${fast})`);
    // (Foreign-key cascades are off in this block: the rows that reference a session go first.)
    await sql(`delete from app_private.refresh_tokens t using app.user_sessions s where t.session_id = s.id and s.user_id in (${fast})`);
    await sql(`delete from app_private.webauthn_challenges c using app.user_sessions s where c.session_id = s.id and s.user_id in (${fast})`);
    await sql(`delete from app.user_sessions where user_id in (${fast})`);
    await sql(`update app.users set failed_login_attempts = 0, locked_until = null
      where (email like '%@fast.${BENCH_DOMAIN}' or email like '%@mfa.${BENCH_DOMAIN}') and (failed_login_attempts > 0 or locked_until is not null)`);
    await sql(`update app.mfa_configs c set last_used_step = null from app.users u
      where u.id = c.user_id and u.email like '%@mfa.${BENCH_DOMAIN}' and c.last_used_step is not null`);
  } finally {
    await sql(`set session_replication_role = origin`);
  }
  // Factors through ordinary inserts (audited, cascades on): few enough.
  // TOTP secrets, sealed as the gateway seals them (gateway/src/mfa/crypto.ts).
  const keys = JSON.parse(fs.readFileSync(path.join(db.cfg.dataDir, 'keys', 'mfa-keys.json'), 'utf8'));
  const kid = Object.keys(keys).sort().at(-1);
  const key = Buffer.from(keys[kid], 'base64');
  const ids = [], secrets = [], sealed = [];
  const have = (await sql(`select u.id from app.users u join app.mfa_configs c on c.user_id = u.id and c.method = 'totp'
    where u.email like '%@mfa.${BENCH_DOMAIN}'`)).rows.map((r) => r.id);
  const haveSet = new Set(have);
  const secretFile = path.join(db.cfg.dataDir, 'bench-totp-secrets.json');
  const known = fs.existsSync(secretFile) ? JSON.parse(fs.readFileSync(secretFile, 'utf8')) : {};
  const all = (await sql(`select id from app.users where email like '%@mfa.${BENCH_DOMAIN}'`)).rows.map((r) => r.id);
  for (const id of all) {
    if (haveSet.has(id) && known[id]) continue;
    const secret = generateSecret({ length: 20 });
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(`totp:${id}`));
    const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    ids.push(id); secrets.push(secret);
    sealed.push(['v1', kid, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.'));
    known[id] = secret;
  }
  if (ids.length) {
    await sql(`delete from app.mfa_configs where user_id = any ($1::uuid[])`, [ids]);
    await sql(`with c as (
        insert into app.mfa_configs (user_id, method, status, label, confirmed_at)
        select u, 'totp', 'active', 'Bench', now() from unnest($1::uuid[]) u returning id, user_id)
      insert into app_private.mfa_secrets (config_id, ciphertext, key_id)
      select c.id, s.sealed, $3 from c join unnest($1::uuid[], $2::text[]) s(u, sealed) on s.u = c.user_id`, [ids, sealed, kid]);
    fs.writeFileSync(secretFile, JSON.stringify(known), { mode: 0o600 });
  }
  await sql(`analyze app.users; analyze app.mfa_configs`);
  return known;
}

/** TOTP verification: each request its own user, mfa_token and current code. */
async function mfaScenario({ sql, db, log, G, D, wrk, writeLines }, { offset, n, c }) {
  const known = JSON.parse(fs.readFileSync(path.join(db.cfg.dataDir, 'bench-totp-secrets.json'), 'utf8'));
  const users = (await sql(`select id, email from app.users where email like '%@mfa.${BENCH_DOMAIN}' order by email offset $1 limit $2`, [offset, n])).rows;
  const tokens = [];
  const started = Date.now();
  for (let i = 0; i < users.length; i += 16) {
    const rs = await Promise.all(users.slice(i, i + 16).map((u) => post(G, '/auth/login', { email: u.email, password: 'bench fast password' })
      .then((r) => ({ u, r }))));
    for (const { u, r } of rs) if (r.mfa_token) tokens.push({ id: u.id, mfa_token: r.mfa_token });
  }
  log(chalk.dim(`  (${tokens.length} mfa_tokens from sign-ins in ${((Date.now() - started) / 1000).toFixed(0)} s)`));
  // Codes of the current time step: accepted for this step and the next (one step of drift).
  const epoch = Math.floor(Date.now() / 1000);
  const bodies = tokens.map((t) => JSON.stringify({ mfa_token: t.mfa_token, method: 'totp',
    code: generateSync({ secret: known[t.id], epoch, digits: 6, period: 30, algorithm: 'sha1' }) }));
  const d = Math.min(D, 10);
  return wrk(`MFA verification (TOTP), ${c} connections`, G, '/auth/mfa/verify', { mode: 'body', lines: writeLines('mfa', bodies), c, d, once: true });
}
