import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db.js';
import { ApiError } from '../errors.js';

/**
 * The gateway's Prometheus metrics (docs/operations.md, "Metrics and alerts").
 * Labels take a few fixed values only: a route pattern, a status, an outcome, a
 * method. Never an e-mail, an address, an id or a token.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const metrics = {
  httpDuration: new Histogram({
    name: 'dwaybank_http_request_duration_seconds',
    help: 'Gateway request latency by route pattern (not the raw path), method and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  signIns: new Counter({
    name: 'dwaybank_sign_in_total',
    help: 'Password sign-ins by outcome: success, wrong_password, locked, throttled (the address), mfa_required, suspended.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  mfa: new Counter({
    name: 'dwaybank_mfa_verifications_total',
    help: 'Second-factor sign-in verifications by method and outcome (success, or the refusal: invalid, expired, locked, rate_limited, ...).',
    labelNames: ['method', 'outcome'] as const,
    registers: [registry],
  }),
  stepUps: new Counter({
    name: 'dwaybank_step_up_total',
    help: 'Step-ups (a second factor to raise a session to aal2) by method and outcome.',
    labelNames: ['method', 'outcome'] as const,
    registers: [registry],
  }),
  refreshes: new Counter({
    name: 'dwaybank_token_refresh_total',
    help: 'Refresh-token rotations by outcome: success, invalid, reused, revoked, expired.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  refreshReuse: new Counter({
    name: 'dwaybank_refresh_token_reuse_total',
    help: 'Refresh tokens presented again after rotation: the session was ended (a stolen token, or a client bug).',
    registers: [registry],
  }),
};

/** The outcomes SQL returns, kept to a known set so a new status cannot grow a label without bound. */
const MFA_OUTCOMES = new Set(['invalid', 'expired', 'locked', 'rate_limited', 'invalid_token', 'token_used', 'method_not_available', 'not_found', 'suspended']);
export const mfaOutcome = (status: string) => (status === 'ok' ? 'success' : MFA_OUTCOMES.has(status) ? status : 'other');

/** Pool usage and the outbox backlog, read at each scrape (the backlog from app.metrics_outbox, one cheap query). */
export function watchDb(db: Db, log: Logger) {
  new Gauge({
    name: 'dwaybank_db_pool_connections',
    help: 'Gateway database pool: connections by state (total, idle, waiting = requests queued for a connection); max is the pool size.',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const p = db.pool;
      this.set({ state: 'total' }, p.totalCount);
      this.set({ state: 'idle' }, p.idleCount);
      this.set({ state: 'waiting' }, p.waitingCount);
      this.set({ state: 'max' }, p.options.max ?? 0);
    },
  });
  const backlog = new Gauge({ name: 'dwaybank_outbox_backlog_messages', help: 'SMS and e-mail messages not delivered yet.', registers: [registry] });
  const oldest = new Gauge({ name: 'dwaybank_outbox_oldest_age_seconds', help: 'Age of the oldest undelivered message (0 when none).', registers: [registry] });
  const failing = new Gauge({ name: 'dwaybank_outbox_failing_messages', help: 'Undelivered messages whose last attempt failed.', registers: [registry] });
  const dead = new Gauge({ name: 'dwaybank_outbox_dead_letters', help: 'Messages dead-lettered in the last 24 hours (never delivered).', registers: [registry] });
  new Gauge({
    name: 'dwaybank_outbox_scrape_ok',
    help: '1 when the outbox figures above were read at this scrape, 0 when the database did not answer (they keep their last value).',
    registers: [registry],
    async collect() {
      try {
        const { rows } = await db.pool.query<{ backlog: string; oldest_age_seconds: number; failing: string; dead_last_day: string }>(
          'select backlog, oldest_age_seconds, failing, dead_last_day from app.metrics_outbox()');
        backlog.set(Number(rows[0]!.backlog));
        oldest.set(rows[0]!.oldest_age_seconds);
        failing.set(Number(rows[0]!.failing));
        dead.set(Number(rows[0]!.dead_last_day));
        this.set(1);
      } catch (e) {
        log.warn({ err: { message: (e as Error).message } }, 'metrics: cannot read the outbox backlog');
        this.set(0);
      }
    },
  });
}

/**
 * /metrics on a listener of its own (METRICS_HOST:METRICS_PORT, 127.0.0.1 by
 * default), never on the public one: the figures tell an attacker how a brute
 * force is going (docs/security.md). Anything else answers 404.
 */
export function serveMetrics(host: string, port: number, log: Logger): http.Server {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      const e = new ApiError(404, 'NOT_FOUND', 'Only GET /metrics is served on this listener.', 'GET /metrics');
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(e.body()));
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (e: Error) => {
        log.error({ err: { message: e.message } }, 'metrics: collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  server.listen(port, host, () => {
    const { address, port: p } = server.address() as AddressInfo;
    log.info({ host: address, port: p }, 'metrics listening');
  });
  return server;
}
