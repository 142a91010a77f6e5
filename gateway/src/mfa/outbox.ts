import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Db } from '../db.js';
import type { MfaKeys } from './crypto.js';

/**
 * Delivers the transactional outbox (app_private.outbox). A message that
 * carries a code holds it only sealed (AES-256-GCM, the MFA keys); it is opened
 * here, handed to the sender, and app.complete_outbox then drops the sealed part
 * for good. Senders: `log` (development and tests: one JSON line per message in
 * OUTBOX_LOG_FILE, the local "mailbox"; never the application log) and
 * `webhook` (production: POST JSON to OUTBOX_WEBHOOK_URL, e.g. an SMS/e-mail provider bridge).
 */
export interface OutboundMessage {
  id: string;
  channel: 'sms' | 'email';
  to: string | null;
  template: string;
  data: Record<string, unknown>;
}

export type Sender = (m: OutboundMessage) => Promise<void>;

export function logSender(file: string): Sender {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return async (m) => {
    fs.appendFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...m })}\n`, { mode: 0o600 });
  };
}

export function webhookSender(url: string): Sender {
  return async (m) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `outbox-${m.id}` },
      body: JSON.stringify(m),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`webhook answered ${res.status}`);
  };
}

export const sealAad = (userId: string) => `outbox:${userId}`;

interface OutboxRow {
  id: string;
  user_id: string | null;
  channel: 'sms' | 'email';
  template: string;
  payload: Record<string, unknown> & { sealed?: string };
  destination: string | null;
}

export function createOutbox(deps: { db: Db; keys: MfaKeys; log: Logger; send: Sender; intervalMs?: number }) {
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
  }

  return { flush, stop };
}

export type Outbox = ReturnType<typeof createOutbox>;
