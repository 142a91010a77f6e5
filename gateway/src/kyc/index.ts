import path from 'node:path';
import type { Env } from '../env.js';
import { loadKycKeys } from './crypto.js';
import { localStore, type DocumentStore } from './storage.js';

/**
 * KYC's keys and document store from the environment (env.ts validates the KYC_* variables),
 * and the largest document, the database's setting kyc_max_document_bytes (settings.ts).
 */
export function createKyc(env: Env, maxDocumentBytes: number) {
  const keys = loadKycKeys({ json: env.KYC_ENCRYPTION_KEYS, keysDir: env.KEYS_DIR });
  const store: DocumentStore = localStore(env.KYC_STORAGE_DIR ?? path.join(path.dirname(env.KEYS_DIR!), 'kyc-documents'));
  return { keys, store, maxBytes: maxDocumentBytes };
}
export type Kyc = ReturnType<typeof createKyc>;
