#!/usr/bin/env zx
// The auditor's side of the audit chain, from outside the database.
//   npx zx scripts/audit-checkpoint.mjs export            seal, checkpoint, print the checkpoint as JSON (keep it off-site)
//   npx zx scripts/audit-checkpoint.mjs verify [file...]  recompute the chain, check every gateway signature
//                                                         against the JWKS, and every exported checkpoint file
// DATABASE_URL (owner or superuser; default: the local stack's superuser) and
// JWKS_URL (default: the stack's gateway /.well-known/jwks.json) or JWKS_FILE.
// Exits 1 when anything does not verify.
import { argv, fs } from 'zx';
import pg from 'pg';
import * as jose from 'jose';
import { stackConfig, urls } from './lib/stack.mjs';

const cfg = stackConfig(process.env.STACK_PROFILE ?? 'dev');
const databaseUrl = process.env.DATABASE_URL ?? urls(cfg).superuser;
const [command = 'verify', ...files] = argv._;

const client = new pg.Client({ connectionString: databaseUrl });
await client.connect();
let failed = false;
const fail = (what) => { failed = true; console.error(`FAIL ${what}`); };

try {
  if (command === 'export') {
    const { rows } = await client.query(`select c.id, c.created_at, c.head_seq, encode(c.head_hash, 'hex') as head_hash,
      encode(c.signature, 'hex') as signature from audit.checkpoint() c`);
    console.log(JSON.stringify(rows[0], null, 2));
  } else if (command === 'verify') {
    const { rows: [report] } = await client.query('select * from audit.verify_chain()');
    console.log(`chain: ok=${report.ok} checked=${report.checked} head_seq=${report.head_seq} unsealed=${report.unsealed_count}`);
    if (!report.ok) fail(`chain broken at seq ${report.first_bad_seq}: ${report.reason}`);

    const jwks = process.env.JWKS_FILE
      ? JSON.parse(fs.readFileSync(process.env.JWKS_FILE, 'utf8'))
      : await (await fetch(process.env.JWKS_URL ?? `http://${cfg.host}:${cfg.gatewayPort}/.well-known/jwks.json`)).json();
    const keySet = jose.createLocalJWKSet(jwks);
    const { rows: cps } = await client.query(`select id, gateway_signature,
      audit.checkpoint_payload(head_seq, head_hash, created_at) as payload from audit.checkpoints order by id`);
    let signed = 0;
    for (const cp of cps) {
      if (!cp.gateway_signature) continue;
      try {
        const { payload } = await jose.compactVerify(cp.gateway_signature, keySet);
        if (new TextDecoder().decode(payload) !== cp.payload) fail(`checkpoint ${cp.id}: signed payload differs from the stored checkpoint`);
        else signed++;
      } catch (e) {
        fail(`checkpoint ${cp.id}: gateway signature does not verify (${e.code ?? e.message})`);
      }
    }
    console.log(`checkpoints: ${cps.length}, gateway-signed and valid: ${signed}`);

    // Checkpoints kept outside the bank: the chain must still contain each head.
    for (const file of files) {
      const cp = JSON.parse(fs.readFileSync(file, 'utf8'));
      const { rows } = await client.query(`select encode(hash, 'hex') as hash from audit.audit_log where seq = $1`, [cp.head_seq]);
      if (rows.length === 0) fail(`${file}: seq ${cp.head_seq} is gone (the chain was truncated)`);
      else if (rows[0].hash !== cp.head_hash) fail(`${file}: the entry at seq ${cp.head_seq} was rewritten`);
      else console.log(`${file}: head ${cp.head_seq} present and unchanged`);
    }
  } else {
    console.error('usage: audit-checkpoint.mjs export | verify [exported-checkpoint.json ...]');
    failed = true;
  }
} finally {
  await client.end();
}
process.exit(failed ? 1 : 0);
