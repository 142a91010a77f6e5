import pg from 'pg';
import type { Logger } from 'pino';
import { errors, type ApiError } from './errors.js';

/** What every database call states about the request it serves (for the audit trail). */
export interface RequestContext {
  requestId: string;
  ip: string;
  userAgent: string | null;
}

export type Db = ReturnType<typeof createDb>;

export function createDb(connectionString: string, max: number, log: Logger) {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'dwaybank-gateway',
    // A stuck query must not hold a connection (and a client) forever.
    statement_timeout: 15_000,
  });
  // An idle client losing its connection must not take the process down.
  pool.on('error', (err) => log.warn({ err: { message: err.message } }, 'idle database client error'));

  /**
   * Lends `fn` a pooled connection. pg-pool listens for errors only on idle
   * clients: a checked-out client whose connection drops (database restart,
   * failover) emits 'error', which would otherwise be unhandled and end the
   * process. The pending query fails anyway; the connection is not reused.
   */
  async function withClient<T>(fn: (client: pg.PoolClient, markBroken: () => void) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken = false;
    const onError = (err: Error) => {
      broken = true;
      log.warn({ err: { message: err.message } }, 'database connection lost during a request');
    };
    client.on('error', onError);
    try {
      return await fn(client, () => { broken = true; });
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /**
   * Runs `fn` in one transaction that first records the request id, so every
   * audit row written by the SQL functions carries it.
   */
  function withTx<T>(ctx: RequestContext, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withClient(async (client, markBroken) => {
      try {
        // One round trip: a simple-protocol message may hold both statements (the id is quoted by pg).
        await client.query(`begin; select set_config('dwaybank.request_id', ${client.escapeLiteral(ctx.requestId)}, true)`);
        const result = await fn(client);
        await client.query('commit');
        return result;
      } catch (err) {
        await client.query('rollback').catch(markBroken);  // a connection that cannot roll back is not reused
        throw err;
      }
    });
  }

  /**
   * Runs one statement as its own transaction: one round trip, where withTx
   * takes three (begin, statement, commit). The statement states its request
   * id itself, as the `now` argument of the function it calls:
   * `app.f(..., now => app.begin_request($n))` with ctx.requestId as $n.
   */
  function call<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    if (!/app\.begin_request\(\$\d+\)/.test(sql)) {
      throw new Error('db.call: the statement must record its request id with app.begin_request($n)');
    }
    return withClient((client) => client.query<R>(sql, params));
  }

  async function ping(): Promise<boolean> {
    try {
      await pool.query('select 1');
      return true;
    } catch {
      return false;
    }
  }

  return { pool, withTx, call, ping, end: () => pool.end() };
}

const unavailableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', '57P01', '57P02', '57P03']);

function isUnavailable(err: { code?: string; message?: string }): boolean {
  if (err.code && (unavailableCodes.has(err.code) || err.code.startsWith('08') || err.code.startsWith('53'))) return true;
  const m = err.message ?? '';
  // node-pg's own wording when a pooled client's connection broke under it (a failover, PgBouncer's
  // "server conn crashed?"): the request can be retried, so 503 rather than 500.
  return /timeout exceeded when trying to connect|Connection terminated|connect ECONNREFUSED|is not queryable|server conn crashed/.test(m);
}

/**
 * Turns a database error into what the client may see, or null when it is a
 * bug (to be logged and answered with 500). SQL text and names never pass.
 */
export function fromDbError(e: unknown): ApiError | null {
  if (typeof e !== 'object' || e === null) return null;
  const err = e as { code?: string; message?: string; detail?: string; hint?: string };
  const code = err.code ?? '';
  const pt = /^PT([45]\d\d)$/.exec(code);
  if (pt) {
    return errors.fromDatabase(Number(pt[1]), err.detail || 'REQUEST_REFUSED', err.message ?? 'The request was refused.', err.hint ?? '');
  }
  if (code === 'PGRST') {
    try {
      const body = JSON.parse(err.message ?? '') as { code?: string; message?: string; hint?: string };
      const meta = JSON.parse(err.detail ?? '{}') as { status?: number; headers?: Record<string, string> };
      if (body.code && body.message && meta.status && meta.status >= 400 && meta.status < 600) {
        return errors.fromDatabase(meta.status, body.code, body.message, body.hint ?? '', meta.headers ?? {});
      }
    } catch {
      return null;
    }
    return null;
  }
  if (code.startsWith('22')) return errors.invalidInput();
  if (isUnavailable(err)) return errors.unavailable();
  return null;
}
