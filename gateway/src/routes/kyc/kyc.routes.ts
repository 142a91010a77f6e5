import { createRoute, z } from '@hono/zod-openapi';
import { commonErrors, errorResponse } from '../../errors.js';

/** The upload route takes its own body limit instead of the app's 64 KiB (app.ts, kyc.index.ts). */
export const KYC_UPLOAD_PATH = '/kyc/documents';

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
export const routes = {
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
