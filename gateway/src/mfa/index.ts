import path from 'node:path';
import type { Logger } from 'pino';
import type { Db } from '../db.js';
import type { Env } from '../env.js';
import { loadMfaKeys } from './crypto.js';
import { createOutbox, logSender, webhookSender } from './outbox.js';

/** MFA's keys and the outbox sender, from the environment (see env.ts). */
export function createMfa(env: Env, db: Db, log: Logger) {
  const keys = loadMfaKeys({ json: env.MFA_ENCRYPTION_KEYS, keysDir: env.KEYS_DIR });
  const send = env.OUTBOX_SENDER === 'webhook'
    ? webhookSender(env.OUTBOX_WEBHOOK_URL!)
    : logSender(env.OUTBOX_LOG_FILE ?? path.join(path.dirname(env.KEYS_DIR!), 'outbox.log'));
  const outbox = createOutbox({ db, keys, log, send });
  return { keys, outbox };
}
export type Mfa = ReturnType<typeof createMfa>;
