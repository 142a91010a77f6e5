// docker-compose.yml is the production-like deployment; no Docker engine runs
// here, so the file is validated with `docker-compose config`.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const secrets = {
  POSTGRES_PASSWORD: 'p', DATABASE_OWNER_PASSWORD: 'o', DATABASE_AUTHENTICATOR_PASSWORD: 'a',
  DATABASE_GATEWAY_PASSWORD: 'g', JWT_PRIVATE_JWKS: '{"keys":[]}', MFA_ENCRYPTION_KEYS: '{}',
  KYC_ENCRYPTION_KEYS: '{}', OUTBOX_WEBHOOK_URL: 'https://notify.example/hook',
};

describe('docker-compose.yml', () => {
  it('can be validated by docker-compose config with the required secrets set', () => {
    const out = execFileSync('docker-compose', ['config'], { env: { ...process.env, ...secrets }, encoding: 'utf8' });
    expect(out).toContain('postgrest/postgrest:v12.0.2');
    for (const service of ['db:', 'migrate:', 'gateway:', 'postgrest:']) expect(out).toContain(service);
  });

  it('cannot be started without its secrets (no default passwords)', () => {
    const r = spawnSync('docker-compose', ['config', '-q'], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/POSTGRES_PASSWORD/);
  });
});
