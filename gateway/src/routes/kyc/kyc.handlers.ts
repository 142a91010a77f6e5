import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../../db.js';
import { errors } from '../../errors.js';
import type { Kyc } from '../../kyc/index.js';
import { newObjectKey } from '../../kyc/storage.js';
import type { Handlers } from '../../lib/create-app.js';
import { requestContext } from '../../lib/request.js';
import { claims } from '../../middlewares/session.js';
import type { routes } from './kyc.routes.js';

export interface KycDeps {
  db: Db;
  trustProxy: number;
  kyc: Kyc;
  log: Logger;
}

const fileAad = (userId: string, objectKey: string) => `kyc-file:${userId}:${objectKey}`;
const refAad = (userId: string) => `kyc-ref:${userId}`;

/** The type from the first bytes of the file, never from its name or the client's Content-Type. */
export function sniffType(b: Buffer): 'application/pdf' | 'image/jpeg' | 'image/png' | null {
  if (b.length >= 5 && b.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  return null;
}

export function kycHandlers({ db, trustProxy, kyc, log }: KycDeps): Handlers<typeof routes> {
  return {
    upload: async (c) => {
      const who = claims(c);
      const b = c.req.valid('form');
      if (b.file.size > kyc.maxBytes) throw errors.documentTooLarge(kyc.maxBytes);
      const data = Buffer.from(await b.file.arrayBuffer());
      const mime = sniffType(data);
      if (!mime) throw errors.unsupportedDocumentType();
      const ctx = requestContext(c, trustProxy);
      const sha256 = crypto.createHash('sha256').update(data).digest();
      const objectKey = newObjectKey();
      await kyc.store.put(objectKey, kyc.keys.encrypt(data, fileAad(who.sub, objectKey)));
      const storageRef = kyc.keys.seal(JSON.stringify({ driver: kyc.store.driver, key: objectKey }), refAad(who.sub));
      let id: string;
      try {
        id = await db.withTx(ctx, async (client) => (await client.query<{ id: string }>(
          `select app.register_kyc_document($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::date, $13::inet, $14) as id`,
          [who.sub, who.sid, b.kyc_id, b.document_type, mime, data.length, sha256, storageRef, kyc.keys.kid,
            b.issuing_country ?? null, b.document_number ?? null, b.expires_on ?? null, ctx.ip, ctx.userAgent])).rows[0]!.id);
      } catch (e) {
        await kyc.store.delete(objectKey).catch(() => {});
        throw e;
      }
      return c.json({ id, kyc_id: b.kyc_id, document_type: b.document_type, mime_type: mime, size_bytes: data.length,
        sha256: sha256.toString('hex') }, 201);
    },

    download: async (c) => {
      const who = claims(c);
      const { id } = c.req.valid('param');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ user_id: string; mime_type: string; sha256: Buffer;
        storage_ref: string }>('select * from app.kyc_document_for_download($1, $2, $3, $4::inet, $5)',
        [id, who.sub, who.sid, ctx.ip, ctx.userAgent])).rows[0]);
      if (!row) throw errors.documentNotFound();
      let file: Buffer | null = null;
      let reason = 'hash_mismatch';
      try {
        const ref = JSON.parse(kyc.keys.open(row.storage_ref, refAad(row.user_id))) as { key: string };
        const sealed = await kyc.store.get(ref.key);
        try {
          file = kyc.keys.decrypt(sealed, fileAad(row.user_id, ref.key));
        } catch {
          reason = 'decryption_failed';
        }
      } catch (e) {
        reason = 'object_unreadable';
        log.error({ requestId: c.get('requestId'), documentId: id, err: { message: (e as Error).message } }, 'KYC document unreadable');
      }
      if (!file || !crypto.createHash('sha256').update(file).digest().equals(row.sha256)) {
        // Its own transaction: the finding must be recorded although the request fails.
        await db.withTx(ctx, (client) => client.query('select app.report_kyc_document_integrity_failure($1, $2, $3, $4, $5::inet, $6)',
          [id, who.sub, who.sid, reason, ctx.ip, ctx.userAgent]));
        log.error({ requestId: c.get('requestId'), documentId: id, reason }, 'KYC document integrity failure');
        throw errors.documentIntegrityFailed();
      }
      return c.body(new Uint8Array(file), 200, {
        'Content-Type': row.mime_type,
        'Content-Disposition': `attachment; filename="${id}.${row.mime_type.split('/')[1]}"`,
        'X-Content-Type-Options': 'nosniff',
      });
    },
  };
}
