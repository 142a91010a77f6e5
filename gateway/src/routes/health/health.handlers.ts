import type { Db } from '../../db.js';
import { errors } from '../../errors.js';
import type { Handlers } from '../../lib/create-app.js';
import type { routes } from './health.routes.js';

export function healthHandlers(db: Db): Handlers<typeof routes> {
  return {
    healthz: async (c) => {
      if (await db.ping()) return c.json({ status: 'ok' as const }, 200);
      throw errors.unavailable();
    },
  };
}
