// Facts a report states beside its figures: the data set (counts, bytes per
// row), the machine, and an earlier run's figures at a given data size.
import { fs, path } from 'zx';
import os from 'node:os';
import { ROOT } from '../../scripts/lib/config.mjs';

export async function datasetFacts(sql) {
  const n = async (q) => Number((await sql(q)).rows[0].n);
  const hasKyc = (await sql(`select to_regclass('app.kyc_records') is not null as k`)).rows[0].k;
  const size = async (rel) => Number((await sql(`select coalesce(sum(pg_total_relation_size(c.oid)), 0) as n from pg_class c
     where c.oid = '${rel}'::regclass or c.oid in (select inhrelid from pg_inherits where inhparent = '${rel}'::regclass)`)).rows[0].n);
  const f = {
    users: await n(`select count(*) as n from app.users`),
    sessions: await n(`select reltuples::bigint as n from pg_class where oid = 'app.user_sessions'::regclass`),
    active_sessions: await n(`select count(*) as n from app.user_sessions where revoked_at is null`),
    mfa_configs: await n(`select count(*) as n from app.mfa_configs`),
    kyc_records: hasKyc ? await n(`select count(*) as n from app.kyc_records`) : 0,
    kyc_documents: hasKyc ? await n(`select count(*) as n from app.kyc_documents`) : 0,
    kyc_checks: hasKyc ? await n(`select count(*) as n from app.kyc_compliance_checks`) : 0,
    audit_entries: await n(`select sum(reltuples)::bigint as n from pg_class where oid in (select inhrelid from pg_inherits where inhparent = 'audit.audit_log'::regclass)`),
    bytes: {
      users: await size('app.users') + await size('app_private.user_secrets'),
      sessions: await size('app.user_sessions') + await size('app_private.refresh_tokens'),
      mfa: await size('app.mfa_configs') + await size('app_private.mfa_secrets'),
      kyc: hasKyc ? await size('app.kyc_records') + await size('app.kyc_documents') + await size('app.kyc_compliance_checks') : 0,
      audit: await size('audit.audit_log'),
      database: await n(`select pg_database_size(current_database()) as n`),
    },
  };
  f.bytes_per_user = Math.round(f.bytes.users / f.users);
  f.bytes_per_session = Math.round(f.bytes.sessions / f.sessions);
  f.bytes_per_audit_entry = Math.round(f.bytes.audit / f.audit_entries);
  f.bytes_per_kyc_record = f.kyc_records ? Math.round(f.bytes.kyc / f.kyc_records) : null;
  return f;
}

export function previousSize(users) {
  const dir = path.join(ROOT, 'bench', 'results');
  if (!fs.existsSync(dir)) return null;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().reverse();
  for (const f of files) {
    const j = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    const s = (j.sizes ?? []).find((x) => Math.abs(x.users - users) / users < 0.05);
    if (s) return { size: s, file: f.replace(/\.json$/, '') };
  }
  return null;
}

export async function machine(sql) {
  const cpus = os.cpus();
  const pgv = (await sql(`select version() as v`)).rows[0].v;
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return { cpus: cpus.length, cpu_model: cpus[0]?.model, memory_gb: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`,
    node: process.version, postgres: pgv.split(',')[0], load_average_at_end: load };
}
