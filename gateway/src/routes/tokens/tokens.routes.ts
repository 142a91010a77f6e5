import { createRoute, z } from '@hono/zod-openapi';
import { ok } from '../../lib/openapi.js';

export const Jwk = z
  .object({ kty: z.string(), crv: z.string().optional(), x: z.string().optional(), y: z.string().optional(), kid: z.string(), alg: z.string(), use: z.literal('sig') })
  .openapi('PublicJwk');

export const routes = {
  jwks: createRoute({
    method: 'get',
    path: '/.well-known/jwks.json',
    tags: ['tokens'],
    summary: 'Public keys that verify access tokens',
    description: 'Every key that may have signed a live token; the newest signs new ones. Cached for 5 minutes.',
    responses: {
      200: ok(z.object({ keys: z.array(Jwk) }), 'The JSON Web Key Set'),
    },
  }),
};
