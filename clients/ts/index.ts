// The typed client: openapi-fetch for the gateway (/auth, /kyc, /admin) and
// @supabase/postgrest-js for PostgREST (/rpc and the api views), both typed by the
// files in ./generated, which `npm run client:generate` makes from a running stack.
// Errors from either server are `{ code, message, hint }`: `error.code` is the product's code.
import createClient from 'openapi-fetch';
import { PostgrestClient } from '@supabase/postgrest-js';
import type { components, paths as GatewayPaths } from './generated/gateway.js';
import type { Database } from './generated/database.js';

export type { Database, Json } from './generated/database.js';
export type { paths as PostgrestPaths } from './generated/postgrest.js';
export type { GatewayPaths };
/** The gateway's error body (`code` is one of db/errors.md). */
export type GatewayError = components['schemas']['Error'];

export interface ClientOptions {
  /** An access token from POST /auth/login (sent as `Authorization: Bearer ...`). */
  token?: string;
  fetch?: typeof globalThis.fetch;
}

const auth = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

/** The gateway: `await gatewayClient(url).POST('/auth/login', { body: { email, password } })`. */
export function gatewayClient(baseUrl: string, { token, fetch }: ClientOptions = {}) {
  return createClient<GatewayPaths>({ baseUrl, headers: auth(token), ...(fetch ? { fetch } : {}) });
}

/** PostgREST (schema api): `await apiClient(url, { token }).rpc('me')`. */
export function apiClient(url: string, { token, fetch }: ClientOptions = {}) {
  return new PostgrestClient<Database>(url, { schema: 'api', headers: auth(token), fetch });
}
