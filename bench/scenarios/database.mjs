// The database floors (pgbench): select 1, what PostgREST runs for a signed-in
// session check and KYC status (claims, role, pre-request check, call), and the
// bcrypt limit (crypt() at the configured cost on every core).
import os from 'node:os';

export async function databaseFloors(ctx, tokens) {
  const { sql, D, pgbench } = ctx;
  const claims = tokens.map((t) => JSON.parse(Buffer.from(t.access_token.split('.')[1], 'base64url').toString()));
  await sql(`drop table if exists bench.claims; create table bench.claims (n integer primary key, claims text not null)`);
  await sql(`insert into bench.claims select n - 1, c from unnest($1::text[]) with ordinality u(c, n)`, [claims.map((c) => JSON.stringify(c))]);
  await sql(`grant usage on schema bench to authenticated; grant select on bench.claims to authenticated`);

  const pgNoop = await pgbench('database floor: select 1 (pgbench)', `select 1;\n`, { c: 50, d: D });
  // What PostgREST runs for a signed-in request: the claims, the role, the pre-request check, the call.
  const asCustomer = (call) => `\\set s random(0, ${tokens.length - 1})
begin;
select set_config('request.jwt.claims', c.claims, true) from bench.claims c where c.n = :s;
set local role authenticated;
select app.check_request();
select * from ${call};
commit;
`;
  const pgSession = await pgbench('database: session check + me() (pgbench)', asCustomer('api.me()'), { c: 50, d: D });
  const pgKyc = await pgbench('database: KYC status (pgbench)', asCustomer('api.get_user_latest_kyc()'), { c: 50, d: D });
  const salt = (await sql(`select extensions.gen_salt('bf', app_private.bcrypt_cost()) as s, app_private.bcrypt_cost() as cost`)).rows[0];
  const cores = os.cpus().length;
  const bcrypt = await pgbench(`bcrypt limit: crypt() at cost ${salt.cost} on ${cores} cores (pgbench)`,
    `select extensions.crypt('bench password input of sixty-four characters, like a SHA-384 b64', '${salt.s}');\n`,
    { c: cores, d: D, protocol: 'simple' });  // crypt() is immutable: a prepared plan would fold it once
  return { pgNoop, pgSession, pgKyc, bcrypt, salt };
}
