import path from 'node:path';
import { z } from 'zod';
import type { Env } from '../env.js';
import { loadKycKeys } from './crypto.js';
import { localStore, type DocumentStore } from './storage.js';

// KYC's own settings, validated like env.ts (see storage.ts for the S3 driver's).
const schema = z.object({
  KYC_STORAGE_DRIVER: z.enum(['local', 's3']).default('local'),
  KYC_STORAGE_DIR: z.string().min(1).optional(),
  // {"kid": "base64 32-byte key", ...}; required in production, generated under KEYS_DIR otherwise.
  KYC_ENCRYPTION_KEYS: z.string().min(1).optional(),
  KYC_MAX_DOCUMENT_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(10 * 1024 * 1024),
});

export function createKyc(env: Env, source: NodeJS.ProcessEnv = process.env) {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([k, v]) => k.startsWith('KYC_') && v));
  const parsed = schema.safeParse(cleaned);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
  const cfg = parsed.data;
  if (cfg && env.NODE_ENV === 'production' && !cfg.KYC_ENCRYPTION_KEYS) problems.push('  KYC_ENCRYPTION_KEYS: required in production');
  if (cfg?.KYC_STORAGE_DRIVER === 's3') problems.push('  KYC_STORAGE_DRIVER: the s3 driver is configuration only in this build (see gateway/src/kyc/storage.ts)');
  if (cfg && !cfg.KYC_STORAGE_DIR && !env.KEYS_DIR) problems.push('  KYC_STORAGE_DIR: required unless KEYS_DIR is set');
  if (problems.length || !cfg) {
    process.stderr.write(`Invalid gateway environment:\n${problems.join('\n')}\n`);
    process.exit(1);
  }
  const keys = loadKycKeys({ json: cfg.KYC_ENCRYPTION_KEYS, keysDir: env.KEYS_DIR });
  const store: DocumentStore = localStore(cfg.KYC_STORAGE_DIR ?? path.join(path.dirname(env.KEYS_DIR!), 'kyc-documents'));
  return { keys, store, maxBytes: cfg.KYC_MAX_DOCUMENT_BYTES };
}
export type Kyc = ReturnType<typeof createKyc>;
