import { createRouter, mount } from '../../lib/create-app.js';
import { noStore } from '../../middlewares/no-store.js';
import { authHandlers, type AuthDeps } from './auth.handlers.js';
import { routes } from './auth.routes.js';

/** Sign-up, sign-in (password, trusted device), refresh and sign-out. */
export function authRouter(deps: AuthDeps) {
  const router = createRouter();
  // Token responses and their failures are never cached (RFC 6749 5.1).
  router.use('/auth/*', noStore({ pragma: true }));
  return mount(router, routes, authHandlers(deps));
}
