import * as jose from 'jose';
import type { Logger } from 'pino';
import type { Db } from '../db.js';
import type { KeyRing } from '../tokens/keys.js';

const INTERVAL_MS = 60_000;

/**
 * Countersigns the audit chain's checkpoints (audit.checkpoints, written every
 * 15 minutes by the database's scheduled job) with the gateway's signing key: a
 * compact JWS over audit.checkpoint_payload(...), verifiable by anyone with
 * /.well-known/jwks.json. The database's own HMAC can be recomputed by a
 * database superuser; this signature cannot, so a rewritten or shortened
 * chain is caught even by an auditor who trusts nobody inside the database.
 */
export function createCheckpointSigner(db: Db, keys: KeyRing, log: Logger) {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;

  async function signAll(): Promise<number> {
    const pending = await db.pool.query<{ id: string; payload: string }>('select id, payload from app.audit_checkpoints_to_sign(100)');
    let signed = 0;
    for (const row of pending.rows) {
      const jws = await new jose.CompactSign(new TextEncoder().encode(row.payload))
        .setProtectedHeader({ alg: keys.signing.alg, kid: keys.signing.kid, typ: 'dwaybank-audit-checkpoint+jws' })
        .sign(keys.signing.key);
      const r = await db.pool.query('select app.record_audit_checkpoint_signature($1, $2, $3) as ok', [row.id, jws, keys.signing.kid]);
      if (r.rows[0]?.ok) signed++;
    }
    if (signed > 0) log.info({ signed }, 'audit checkpoints countersigned');
    return signed;
  }

  /** One signing pass at a time, whoever asks. */
  function signPending(): Promise<number> {
    running ??= signAll().finally(() => { running = null; });
    return running;
  }

  function start() {
    if (timer) return;
    timer = setInterval(() => {
      signPending().catch((err: Error) => log.warn({ err: { message: err.message } }, 'audit checkpoint signing failed'));
    }, INTERVAL_MS);
    timer.unref();
  }

  /** No more passes; resolves once a pass under way has finished (before the pool closes). */
  async function stop(): Promise<void> {
    if (timer) clearInterval(timer);
    timer = null;
    await running?.catch(() => undefined);
  }

  return { signPending, start, stop };
}

export type CheckpointSigner = ReturnType<typeof createCheckpointSigner>;
