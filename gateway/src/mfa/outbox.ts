import type { Logger } from 'pino';
import type { Db } from '../db.js';
import type { Sender } from '../mail/senders.js';
import type { MfaKeys } from './crypto.js';

/**
 * Delivers the transactional outbox (app_private.outbox). A message that
 * carries a code holds it only sealed (AES-256-GCM, the MFA keys); it is opened
 * here, handed to the sender (mail/senders.ts: SMTP, an SMS webhook, or one
 * webhook for both), and app.complete_outbox records the outcome: sent (its
 * secrets dropped for good), or failed, to be tried again after a backoff and,
 * after outbox_max_attempts, dead-lettered.
 */
export const sealAad = (userId: string) => `outbox:${userId}`;

interface OutboxRow {
  id: string;
  user_id: string | null;
  channel: 'sms' | 'email';
  template: string;
  payload: Record<string, unknown> & { sealed?: string };
  destination: string | null;
}

export function createOutbox(deps: { db: Db; keys: MfaKeys; log: Logger; send: Sender & { close?: () => void }; intervalMs?: number }) {
  const { db, keys, log, send } = deps;
  let running: Promise<void> | null = null;

  async function deliverBatch(): Promise<number> {
    const { rows } = await db.pool.query<OutboxRow>(
      'select id, user_id, channel, template, payload, destination from app.claim_outbox(20)');
    for (const row of rows) {
      let error: string | null = null;
      try {
        const { sealed, ...rest } = row.payload;
        const data = sealed ? { ...rest, ...JSON.parse(keys.open(sealed, sealAad(row.user_id ?? ''))) } : rest;
        await send({ id: String(row.id), channel: row.channel, to: row.destination, template: row.template, data });
      } catch (e) {
        error = (e as Error).message.slice(0, 200);
        log.warn({ outboxId: row.id, channel: row.channel, template: row.template, error }, 'outbox delivery failed');
      }
      await db.pool.query('select app.complete_outbox($1, $2)', [row.id, error]);
      if (!error) log.info({ outboxId: row.id, channel: row.channel, template: row.template }, 'outbox message sent');
    }
    return rows.length;
  }

  /** Delivers what is pending now; concurrent calls share one run. */
  function flush(): Promise<void> {
    running ??= (async () => {
      try {
        while ((await deliverBatch()) > 0) { /* until empty */ }
      } catch (e) {
        log.warn({ err: { message: (e as Error).message } }, 'outbox poll failed');
      } finally {
        running = null;
      }
    })();
    return running;
  }

  const timer = setInterval(() => void flush(), deps.intervalMs ?? 2_000);
  timer.unref();
  /** No more polls; resolves once a delivery under way has finished (before the pool closes). */
  async function stop(): Promise<void> {
    clearInterval(timer);
    await running;
    send.close?.();
  }

  return { flush, stop };
}

export type Outbox = ReturnType<typeof createOutbox>;
