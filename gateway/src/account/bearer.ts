import type { Context } from 'hono';
import { errors } from '../errors.js';
import type { AppEnv } from '../router.js';
import type { Tokens } from '../tokens/jwt.js';

/** The claims of the request's bearer access token (the database checks that its session is still live). */
export async function bearer(tokens: Tokens, c: Context<AppEnv>) {
  const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(c.req.header('authorization') ?? '');
  const claims = m ? await tokens.verify('access', m[1]!) : null;
  if (!claims) throw errors.invalidToken();
  return claims;
}
