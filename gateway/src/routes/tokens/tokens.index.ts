import { createRouter, mount } from '../../lib/create-app.js';
import type { Tokens } from '../../tokens/jwt.js';
import { tokenHandlers } from './tokens.handlers.js';
import { routes } from './tokens.routes.js';

/** The public keys that verify access tokens (PostgREST and clients). */
export const tokensRouter = (tokens: Tokens) => mount(createRouter(), routes, tokenHandlers(tokens));
