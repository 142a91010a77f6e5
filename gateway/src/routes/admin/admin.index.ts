import { createRouter, mount } from '../../lib/create-app.js';
import { adminHandlers, type AdminDeps } from './admin.handlers.js';
import { routes } from './admin.routes.js';

/** Staff tools for admins: the live security event stream and audit checkpoint countersigning. */
export function adminRouter(deps: AdminDeps) {
  return mount(createRouter(), routes, adminHandlers(deps));
}
