import { bodyLimit } from 'hono/body-limit';
import { errors } from '../../errors.js';
import { createRouter, mount } from '../../lib/create-app.js';
import { claims } from '../../middlewares/session.js';
import { noStore } from '../../middlewares/no-store.js';
import { kycHandlers, type KycDeps } from './kyc.handlers.js';
import { KYC_UPLOAD_PATH, routes } from './kyc.routes.js';

/** KYC documents: encrypted upload and verified download. */
export function kycRouter(deps: KycDeps) {
  const { kyc } = deps;
  const router = createRouter();
  router.use('/kyc/*', noStore());
  // Before the body is read: who may upload at all, and how much.
  router.use(KYC_UPLOAD_PATH, async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const who = claims(c);
    if (who.aal !== 'aal2') throw errors.documentStepUp();
    const limit = kyc.maxBytes + 64 * 1024;  // the file and the multipart envelope around it
    if (Number(c.req.header('content-length') ?? 0) > limit) throw errors.documentTooLarge(kyc.maxBytes);
    return bodyLimit({ maxSize: limit, onError: () => { throw errors.documentTooLarge(kyc.maxBytes); } })(c, next);
  });
  return mount(router, routes, kycHandlers(deps));
}
