import { createRouter, mount } from '../../lib/create-app.js';
import { noStore } from '../../middlewares/no-store.js';
import { mfaHandlers, type MfaDeps } from './mfa.handlers.js';
import { routes } from './mfa.routes.js';

/** Second factors: enrolment (TOTP, SMS, e-mail), codes, sign-in with a factor, step-up, backup codes. */
export function mfaRouter(deps: MfaDeps) {
  const router = createRouter();
  router.use('/auth/mfa/*', noStore());
  return mount(router, routes, mfaHandlers(deps));
}
