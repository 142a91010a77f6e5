// Who may say where a request came from (issue 15, findings 7 and 8). A client
// can send any X-Forwarded-For; only entries appended by a proxy of our own are
// believed. The gateway counts `TRUST_PROXY` entries from the right; SQL (for
// PostgREST requests) counts `dwaybank.trusted_proxy_hops`; both default to 0.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { db, login, newUser, postgrest, session } from './helpers.js';

const secrets = {
  POSTGRES_PASSWORD: 'p', DATABASE_OWNER_PASSWORD: 'o', DATABASE_AUTHENTICATOR_PASSWORD: 'a',
  DATABASE_GATEWAY_PASSWORD: 'g', JWT_PRIVATE_JWKS: '{"keys":[]}', MFA_ENCRYPTION_KEYS: '{}',
  KYC_ENCRYPTION_KEYS: '{}', SMTP_URL: 'smtp://relay.example:587', OUTBOX_SMS_WEBHOOK_URL: 'https://sms.example/hook',
};

interface Service { image?: string; environment?: Record<string, string | number | null>; command?: string[] | string; ports?: unknown[]; depends_on?: unknown; volumes?: unknown[] }
type Compose = { services: Record<string, Service> };

/** A proxy is a service running one (not any service that is not ours: a pooler or a monitor sets no header). */
const isProxy = (s: Service) => /^(haproxy|nginx|caddy|traefik|envoyproxy\/envoy)(:|$)/.test(s.image ?? '');

/** Services that believe X-Forwarded-For (the gateway by TRUST_PROXY, PostgREST's SQL by dwaybank.trusted_proxy_hops). */
function trustingServices(c: Compose): string[] {
  const out: string[] = [];
  const hops = (v: unknown) => Number.parseInt(String(v ?? '0'), 10) || 0;
  for (const [name, s] of Object.entries(c.services)) {
    if (hops(s.environment?.TRUST_PROXY) > 0) out.push(name);
    const cmd = Array.isArray(s.command) ? s.command.join(' ') : String(s.command ?? '');
    const m = /dwaybank\.trusted_proxy_hops\s*=\s*'?(\d+)/.exec(cmd);
    if (m && hops(m[1]) > 0) out.push(`${name} (dwaybank.trusted_proxy_hops, for postgrest)`);
  }
  return out;
}

/** What is wrong with a compose file's trust in forwarded headers ([] when nothing). */
function proxyTrustViolations(c: Compose): string[] {
  const trusting = trustingServices(c);
  if (trusting.length === 0) return [];
  const published = Object.entries(c.services).filter(([, s]) => (s.ports ?? []).length > 0).map(([n]) => n);
  const proxies = Object.entries(c.services).filter(([, s]) => isProxy(s)).map(([n]) => n);
  const violations: string[] = [];
  if (proxies.length === 0) violations.push(`${trusting.join(', ')} trust X-Forwarded-For, but no proxy service sets it`);
  const direct = published.filter((n) => !proxies.includes(n));
  if (direct.length) violations.push(`${trusting.join(', ')} trust X-Forwarded-For, but ${direct.join(', ')} publish ports a client reaches without the proxy`);
  return violations;
}

const composeConfig = (): Compose =>
  parse(execFileSync('docker-compose', ['config'], { env: { ...process.env, ...secrets }, encoding: 'utf8' })) as Compose;

describe('docker-compose.yml and forwarded headers', () => {
  it('cannot trust an X-Forwarded-For that no proxy of its own sets', () => {
    expect(proxyTrustViolations(composeConfig())).toEqual([]);
  });

  it('can tell a compose file that trusts a client-supplied header (the rule itself can fail)', () => {
    const c = composeConfig();
    const gw = c.services.gateway;
    if (!gw) throw new Error('docker-compose.yml has no gateway service');
    gw.environment = { ...gw.environment, TRUST_PROXY: '1' };
    gw.ports = ['3001:3001'];
    expect(proxyTrustViolations(c)).not.toEqual([]);
    // A proxy in front, the only published port: then the header can be trusted.
    for (const s of Object.values(c.services)) delete s.ports;
    c.services.proxy = { image: 'haproxy:2.6', ports: ['443:443'], depends_on: ['gateway', 'postgrest'] };
    expect(proxyTrustViolations(c)).toEqual([]);
    // A service that is no proxy (a pooler, a monitor) does not make the header trustworthy.
    c.services.proxy = { image: 'debian:bookworm-slim', ports: ['443:443'] };
    expect(proxyTrustViolations(c)).not.toEqual([]);
  });

  it('has its proxy state X-Forwarded-For itself: the one hop the servers trust (deploy/proxy/haproxy.compose.cfg)', () => {
    const c = composeConfig();
    // The client-facing one (an HA profile may add a proxy of its own for the database, publishing nothing).
    const proxies = Object.values(c.services).filter((s) => isProxy(s) && (s.ports ?? []).length > 0);
    expect(proxies.length).toBe(1);
    expect(trustingServices(c).length).toBeGreaterThan(0);
    expect(JSON.stringify(proxies[0]!.volumes)).toContain('deploy/proxy/haproxy.compose.cfg');
    const cfg = fs.readFileSync(path.resolve(import.meta.dirname, '../../deploy/proxy/haproxy.compose.cfg'), 'utf8');
    expect(cfg).toMatch(/^\s*http-request del-header X-Forwarded-For$/m);
    expect(cfg).toMatch(/^\s*option forwardfor$/m);
  });
});

describe('client address', () => {
  it('cannot choose its throttle key at the gateway with a forged X-Forwarded-For', async () => {
    const u = await newUser('xff-gw');
    const r = await login(u.email, u.password, { 'x-forwarded-for': '203.0.113.77' });
    expect(r.status).toBe(200);
    const s = await db.query('select host(ip) as ip from app.user_sessions where id = $1', [r.body.session_id]);
    expect(s.rows[0].ip).not.toBe('203.0.113.77');
  });

  it('cannot forge the audit trail\'s client address of a PostgREST request with a leftmost X-Forwarded-For', async () => {
    const u = await newUser('xff-pgrst');
    const { access_token } = await session(u);
    const requestId = `e2e-xff-${crypto.randomBytes(6).toString('hex')}`;
    const r = await postgrest('/rpc/update_my_profile', {
      method: 'POST', token: access_token, json: { first_name: 'Forwarded' },
      headers: { 'x-request-id': requestId, 'x-forwarded-for': '203.0.113.66, 198.51.100.1' },
    });
    expect(r.status).toBe(200);
    const rows = await db.query('select host(ip) as ip from audit.audit_log where request_id = $1', [requestId]);
    expect(rows.rows.length).toBeGreaterThan(0);
    // No proxy of ours in front of PostgREST here (dwaybank.trusted_proxy_hops = 0): no entry is believed.
    // Through the proxy (TEST_BEHIND_PROXY=1), the one it sets: this test's own address.
    for (const row of rows.rows) expect(row.ip).toBe(process.env.TEST_BEHIND_PROXY === '1' ? '127.0.0.1' : null);
  });
});
