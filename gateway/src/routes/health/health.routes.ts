import { createRoute, z } from '@hono/zod-openapi';
import { errorResponse } from '../../errors.js';
import { ok } from '../../lib/openapi.js';

export const routes = {
  healthz: createRoute({
    method: 'get',
    path: '/healthz',
    tags: ['health'],
    summary: 'Liveness and database reachability',
    responses: {
      200: ok(z.object({ status: z.literal('ok') }), 'The database answers'),
      503: errorResponse('The database does not answer (SERVICE_UNAVAILABLE)'),
    },
  }),
};
