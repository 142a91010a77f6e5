import { createRouter, mount } from '../../lib/create-app.js';
import { noStore } from '../../middlewares/no-store.js';
import { passkeyHandlers, type PasskeyDeps } from './passkeys.handlers.js';
import { routes } from './passkeys.routes.js';

/** Passkeys: registration, sign-in (second factor or passwordless), step-up, listing and removal. */
export function passkeysRouter(deps: PasskeyDeps) {
  const router = createRouter();
  router.use('/auth/passkeys/*', noStore());
  router.use('/auth/passkeys', noStore());
  return mount(router, routes, passkeyHandlers(deps));
}
