import { createRoute, z } from '@hono/zod-openapi';
import { createRouter } from '../router.js';
import type { Tokens } from './jwt.js';

const Jwk = z
  .object({ kty: z.string(), crv: z.string().optional(), x: z.string().optional(), y: z.string().optional(), kid: z.string(), alg: z.string(), use: z.literal('sig') })
  .openapi('PublicJwk');

const jwks = createRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  tags: ['tokens'],
  summary: 'Public keys that verify access tokens',
  description: 'Every key that may have signed a live token; the newest signs new ones. Cached for 5 minutes.',
  responses: {
    200: { content: { 'application/json': { schema: z.object({ keys: z.array(Jwk) }) } }, description: 'The JSON Web Key Set' },
  },
});

export function tokenRoutes(tokens: Tokens) {
  return createRouter().openapi(jwks, (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(tokens.jwks as { keys: z.infer<typeof Jwk>[] }, 200);
  });
}
