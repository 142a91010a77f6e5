// docker-compose.yml is the production-like deployment; no Docker engine runs
// here, so the file is validated with `docker-compose config`.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const secrets = {
  POSTGRES_PASSWORD: 'p', DATABASE_OWNER_PASSWORD: 'o', DATABASE_AUTHENTICATOR_PASSWORD: 'a',
  DATABASE_GATEWAY_PASSWORD: 'g', JWT_PRIVATE_JWKS: '{"keys":[]}', MFA_ENCRYPTION_KEYS: '{}',
  KYC_ENCRYPTION_KEYS: '{}', SMTP_URL: 'smtp://relay.example:587', OUTBOX_SMS_WEBHOOK_URL: 'https://sms.example/hook',
};

describe('docker-compose.yml', () => {
  it('can be validated by docker-compose config with the required secrets set', () => {
    const out = execFileSync('docker-compose', ['config'], { env: { ...process.env, ...secrets }, encoding: 'utf8' });
    expect(out).toContain('postgrest/postgrest:v12.0.2');
    for (const service of ['db:', 'migrate:', 'gateway:', 'postgrest:']) expect(out).toContain(service);
  });

  it('can be validated with the ha profile, which adds PgBouncer (deploy/pgbouncer.Dockerfile) to the proxy', () => {
    const out = execFileSync('docker-compose', ['--profile', 'ha', 'config'], { env: { ...process.env, ...secrets }, encoding: 'utf8' });
    const services = (parse(out) as { services: Record<string, { profiles?: string[]; image?: string }> }).services;
    expect(services.pgbouncer?.profiles).toEqual(['ha']);
    expect(services.proxy?.image).toBe('haproxy:2.6');
    expect(services.proxy?.profiles).toBeUndefined();
  });

  it('can be validated with the ha profile, which runs PostgreSQL under Patroni behind the database router', () => {
    const out = execFileSync('docker-compose', ['--profile', 'ha', 'config'], { env: { ...process.env, ...secrets }, encoding: 'utf8' });
    const services = (parse(out) as { services: Record<string, { profiles?: string[]; image?: string; environment?: Record<string, string> }> }).services;
    for (const name of ['etcd', 'patroni1', 'patroni2', 'db-router', 'postgrest-ro']) expect(services[name]?.profiles).toEqual(['ha']);
    expect(services['db-router']?.image).toBe('haproxy:2.6');
    expect(services['postgrest-ro']?.environment?.PGRST_DB_URI).toContain('@db-router:5433/');
    // The nodes' shared settings: synchronous replication, failover (not restart) after a crash, rewind, encrypted backups.
    const patroni = parse(readFileSync('deploy/ha/patroni.yml', 'utf8')) as { bootstrap: { dcs: Record<string, unknown> } };
    expect(patroni.bootstrap.dcs).toMatchObject({ synchronous_mode: true, primary_start_timeout: 0, postgresql: { use_pg_rewind: true } });
    expect(readFileSync('deploy/ha/pgbackrest.conf', 'utf8')).toMatch(/^repo1-cipher-type=aes-256-cbc$/m);
  });

  it('cannot be started without its secrets (no default passwords)', () => {
    const r = spawnSync('docker-compose', ['config', '-q'], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/POSTGRES_PASSWORD/);
  });
});
