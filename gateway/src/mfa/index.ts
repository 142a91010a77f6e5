import type { Logger } from 'pino';
import type { Db } from '../db.js';
import type { Env } from '../env.js';
import { loadMfaKeys } from './crypto.js';
import { senderFromEnv } from '../mail/senders.js';
import { createOutbox } from './outbox.js';

/** MFA's keys and the outbox sender, from the environment (see env.ts). */
export function createMfa(env: Env, db: Db, log: Logger) {
  const keys = loadMfaKeys({ json: env.MFA_ENCRYPTION_KEYS, keysDir: env.KEYS_DIR });
  const send = senderFromEnv(env);
  const outbox = createOutbox({ db, keys, log, send });
  return { keys, outbox };
}
export type Mfa = ReturnType<typeof createMfa>;
