import type { z } from '@hono/zod-openapi';
import type { Handlers } from '../../lib/create-app.js';
import type { Tokens } from '../../tokens/jwt.js';
import type { Jwk, routes } from './tokens.routes.js';

export function tokenHandlers(tokens: Tokens): Handlers<typeof routes> {
  return {
    jwks: (c) => {
      c.header('Cache-Control', 'public, max-age=300');
      return c.json(tokens.jwks as { keys: z.infer<typeof Jwk>[] }, 200);
    },
  };
}
