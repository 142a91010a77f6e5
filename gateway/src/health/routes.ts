import { createRoute, z } from '@hono/zod-openapi';
import type { Db } from '../db.js';
import { ErrorSchema, errors } from '../errors.js';
import { createRouter } from '../router.js';

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['health'],
  summary: 'Liveness and database reachability',
  responses: {
    200: { content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } }, description: 'The database answers' },
    503: { content: { 'application/json': { schema: ErrorSchema } }, description: 'The database does not answer (SERVICE_UNAVAILABLE)' },
  },
});

export function healthRoutes(db: Db) {
  return createRouter().openapi(healthz, async (c) => {
    if (await db.ping()) return c.json({ status: 'ok' as const }, 200);
    throw errors.unavailable();
  });
}
