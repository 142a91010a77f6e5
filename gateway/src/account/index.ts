import type { Db } from '../db.js';
import type { Outbox } from '../mfa/outbox.js';
import { createRouter } from '../router.js';
import type { Tokens } from '../tokens/jwt.js';
import { passkeyRoutes } from '../passkeys/routes.js';
import { pageRoutes } from './page.js';
import { accountRoutes } from './routes.js';

/** Account lifecycle, passkeys and the account security page, mounted at `/`. */
export function accountApp(deps: { db: Db; tokens: Tokens; trustProxy: number; outbox: Outbox }) {
  const app = createRouter();
  app.route('/', accountRoutes(deps));
  app.route('/', passkeyRoutes(deps));
  app.route('/', pageRoutes());
  return app;
}
