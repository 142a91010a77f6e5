import crypto from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import type { Db } from '../db.js';
import { ApiError, commonErrors, errorResponse } from '../errors.js';
import { createRouter, requestContext } from '../router.js';
import type { Tokens } from '../tokens/jwt.js';
import { claims } from '../middlewares/session.js';
import type { Kyc } from './index.js';
import { newObjectKey } from './storage.js';

/** The upload route takes its own body limit instead of the app's 64 KiB (see app.ts). */
export const KYC_UPLOAD_PATH = '/kyc/documents';

const fileAad = (userId: string, objectKey: string) => `kyc-file:${userId}:${objectKey}`;
const refAad = (userId: string) => `kyc-ref:${userId}`;

/** The type from the first bytes of the file, never from its name or the client's Content-Type. */
export function sniffType(b: Buffer): 'application/pdf' | 'image/jpeg' | 'image/png' | null {
  if (b.length >= 5 && b.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  return null;
}

const stepUp = () => new ApiError(403, 'STEP_UP_REQUIRED', 'Uploading documents needs a session confirmed with your second factor.',
  'Set up a second factor and sign in with it, or step up with POST /auth/mfa/step-up.');
const unsupported = () => new ApiError(415, 'UNSUPPORTED_DOCUMENT_TYPE', 'The file is not a PDF, JPEG or PNG.',
  'Upload a scan or photo as PDF, JPEG or PNG.');
const tooLarge = (max: number) => new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The document is too large.',
  `Upload at most ${Math.floor(max / 1024 / 1024)} MiB.`, { Connection: 'close' });
const integrity = () => new ApiError(500, 'DOCUMENT_INTEGRITY_FAILED', 'The stored document failed its integrity check.',
  'The incident has been recorded; contact compliance with the request id.');

const Upload = z.object({
  file: z.custom<File>((v) => v instanceof File, { message: 'a file is required' }).openapi({ type: 'string', format: 'binary' }),
  kyc_id: z.uuid(),
  document_type: z.enum(['passport', 'id_card', 'driving_licence', 'proof_of_address', 'selfie']),
  issuing_country: z.string().regex(/^[A-Za-z]{2}$/).optional().openapi({ example: 'DE', description: 'ISO 3166-1 alpha-2; identity documents' }),
  document_number: z.string().min(4).max(30).optional().openapi({ description: 'Identity documents' }),
  expires_on: z.iso.date().optional().openapi({ example: '2031-01-31', description: 'Identity documents' }),
});
const Document = z.object({
  id: z.uuid(), kyc_id: z.uuid(), document_type: z.string(), mime_type: z.string(), size_bytes: z.number().int(), sha256: z.string(),
}).openapi('KycDocument');

const auth401 = errorResponse('Missing or invalid access token (INVALID_TOKEN)');
const routes = {
  upload: createRoute({
    method: 'post', path: KYC_UPLOAD_PATH, tags: ['kyc'], security: [{ bearer: [] }],
    summary: 'Upload an identity document or proof of address to a pending verification',
    description: 'multipart/form-data. Needs an aal2 access token. PDF, JPEG or PNG (by content), at most 10 MiB. '
      + 'Stored AES-256-GCM-encrypted; its SHA-256 is recorded and checked on every read.',
    request: { body: { content: { 'multipart/form-data': { schema: Upload } }, required: true } },
    responses: {
      201: { content: { 'application/json': { schema: Document } }, description: 'Stored' },
      400: commonErrors[400], 401: auth401,
      403: errorResponse('The token is not aal2 (STEP_UP_REQUIRED)'),
      404: errorResponse('No pending verification of yours has this id (KYC_NOT_FOUND)'),
      409: errorResponse('The verification takes no documents now, or too many (KYC_INVALID_TRANSITION, KYC_DOCUMENT_LIMIT)'),
      413: errorResponse('Larger than 10 MiB (PAYLOAD_TOO_LARGE)'),
      415: errorResponse('Not a PDF, JPEG or PNG (UNSUPPORTED_DOCUMENT_TYPE)'),
      503: commonErrors[503],
    },
  }),
  download: createRoute({
    method: 'get', path: '/kyc/documents/{id}', tags: ['kyc'], security: [{ bearer: [] }],
    summary: 'Download a document (its owner or a compliance officer)',
    description: 'The file is decrypted and its SHA-256 verified before it is returned; a mismatch is recorded and answered with 500.',
    request: { params: z.object({ id: z.uuid() }) },
    responses: {
      200: { content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } }, description: 'The file' },
      400: commonErrors[400], 401: auth401,
      404: errorResponse('No document you may see has this id (KYC_DOCUMENT_NOT_FOUND)'),
      500: errorResponse('The stored file does not match its hash (DOCUMENT_INTEGRITY_FAILED)'),
      503: commonErrors[503],
    },
  }),
};

export function kycRoutes(deps: { db: Db; tokens: Tokens; trustProxy: number; kyc: Kyc; log: Logger }) {
  const { db, trustProxy, kyc, log } = deps;

  const router = createRouter();
  router.use('/kyc/*', async (c, next) => {
    c.header('Cache-Control', 'no-store');
    await next();
  });
  // Before the body is read: who may upload at all, and how much.
  router.use(KYC_UPLOAD_PATH, async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const who = claims(c);
    if (who.aal !== 'aal2') throw stepUp();
    const limit = kyc.maxBytes + 64 * 1024;  // the file and the multipart envelope around it
    if (Number(c.req.header('content-length') ?? 0) > limit) throw tooLarge(kyc.maxBytes);
    return bodyLimit({ maxSize: limit, onError: () => { throw tooLarge(kyc.maxBytes); } })(c, next);
  });

  return router
    .openapi(routes.upload, async (c) => {
      const who = claims(c);
      const b = c.req.valid('form');
      if (b.file.size > kyc.maxBytes) throw tooLarge(kyc.maxBytes);
      const data = Buffer.from(await b.file.arrayBuffer());
      const mime = sniffType(data);
      if (!mime) throw unsupported();
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
    })
    .openapi(routes.download, async (c) => {
      const who = claims(c);
      const { id } = c.req.valid('param');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ user_id: string; mime_type: string; sha256: Buffer;
        storage_ref: string }>('select * from app.kyc_document_for_download($1, $2, $3, $4::inet, $5)',
        [id, who.sub, who.sid, ctx.ip, ctx.userAgent])).rows[0]);
      if (!row) throw new ApiError(404, 'KYC_DOCUMENT_NOT_FOUND', 'No document you may see has this id.', 'Check the id.');
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
        throw integrity();
      }
      return c.body(new Uint8Array(file), 200, {
        'Content-Type': row.mime_type,
        'Content-Disposition': `attachment; filename="${id}.${row.mime_type.split('/')[1]}"`,
        'X-Content-Type-Options': 'nosniff',
      });
    });
}
