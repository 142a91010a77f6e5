import { z } from 'zod';
import type { Db } from './db.js';

/**
 * The database's settings registry (app.settings, read through
 * app.effective_settings()) that the gateway shares with SQL: read once at
 * start, so the gateway and the functions it calls use one value. An operator
 * changes one with `ALTER DATABASE ... SET dwaybank.<name>` and restarts the gateway.
 */
const schema = z.object({
  /** The device cookie's lifetime (app.issue_device_cookie uses the same): the browser cookie's max-age. */
  device_cookie_days: z.coerce.number().int().min(1).max(3650),
  /** The largest KYC document app.register_kyc_document accepts: the upload's body limit. */
  kyc_max_document_bytes: z.coerce.number().int().min(1024).max(1024 * 1024 * 1024),
});

export interface Settings {
  deviceCookieDays: number;
  kycMaxDocumentBytes: number;
}

export async function loadSettings(db: Db): Promise<Settings> {
  const { rows } = await db.pool.query<{ name: string; value: string | null }>('select name, value from app.effective_settings()');
  const parsed = schema.safeParse(Object.fromEntries(rows.map((r) => [r.name, r.value ?? undefined])));
  if (!parsed.success) {
    throw new Error(`app.effective_settings(): ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return { deviceCookieDays: parsed.data.device_cookie_days, kycMaxDocumentBytes: parsed.data.kyc_max_document_bytes };
}
