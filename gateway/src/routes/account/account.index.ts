import { createRouter, mount } from '../../lib/create-app.js';
import { noStore } from '../../middlewares/no-store.js';
import { accountHandlers, type AccountDeps } from './account.handlers.js';
import { routes } from './account.routes.js';

/** The account lifecycle: e-mail verification and change, password reset and change, recovery, sessions. */
export function accountRouter(deps: AccountDeps) {
  const router = createRouter();
  for (const p of ['/auth/email/*', '/auth/password/*', '/auth/recovery', '/auth/recovery/*', '/auth/sessions', '/auth/sessions/*']) {
    router.use(p, noStore());
  }
  return mount(router, routes, accountHandlers(deps));
}
