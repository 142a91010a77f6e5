import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Logger } from 'pino';
import type { Db } from '../db.js';
import { ApiError, errorResponse, errors } from '../errors.js';
import { createRouter, requestContext, type AppEnv } from '../router.js';
import type { Tokens } from '../tokens/jwt.js';
import type { KeyRing } from '../tokens/keys.js';
import { createCheckpointSigner } from './checkpoints.js';
import { createSecurityEvents } from './events.js';

const forbidden = () => new ApiError(403, 'FORBIDDEN', 'This endpoint is for admins.', 'Sign in with an admin account.');

const events = createRoute({
  method: 'get', path: '/admin/events', tags: ['admin'], security: [{ bearer: [] }],
  summary: 'Security events as they happen (Server-Sent Events)',
  description: 'Every audit event of severity warning or critical (lockouts, refresh-token reuse, suspicious sessions, sanctions matches...), '
    + 'as `event: security_event` with the JSON of the event (no personal data). A comment line every 15 s keeps the connection open.',
  responses: {
    200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'The event stream' },
    401: errorResponse('Missing or invalid access token (INVALID_TOKEN)'),
    403: errorResponse('Not an admin (FORBIDDEN)'),
  },
});

const sign = createRoute({
  method: 'post', path: '/admin/audit/checkpoints/sign', tags: ['admin'], security: [{ bearer: [] }],
  summary: 'Countersign pending audit checkpoints now',
  description: 'Signs every checkpoint of the audit chain that has no gateway signature yet (a JWS with the gateway\'s signing key, '
    + 'verifiable with /.well-known/jwks.json). The gateway also does this every minute on its own.',
  responses: {
    200: { content: { 'application/json': { schema: z.object({ signed: z.number().int() }) } }, description: 'Checkpoints signed' },
    401: errorResponse('Missing or invalid access token (INVALID_TOKEN)'),
    403: errorResponse('Not an admin (FORBIDDEN)'),
  },
});

export function adminRoutes(deps: { db: Db; tokens: Tokens; log: Logger; trustProxy: number; databaseUrl: string; keys?: KeyRing }) {
  const { db, tokens, log, trustProxy } = deps;
  const securityEvents = createSecurityEvents(deps.databaseUrl, log);
  const signer = deps.keys ? createCheckpointSigner(db, deps.keys, log) : null;
  signer?.start();

  /** An admin's live session: the token is checked here, the session (not revoked, not expired) in the database. */
  async function admin(c: Context<AppEnv>) {
    const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(c.req.header('authorization') ?? '');
    const claims = m ? await tokens.verify('access', m[1]!) : null;
    if (!claims) throw errors.invalidToken();
    if (claims.role !== 'admin') throw forbidden();
    const live = await db.withTx(requestContext(c, trustProxy), (client) =>
      client.query<{ live: boolean }>('select app.update_session_activity($1, $2) as live', [claims.sid, c.req.header('user-agent') ?? null]));
    if (!live.rows[0]?.live) throw errors.invalidToken();
    return claims;
  }

  return createRouter()
    .openapi(sign, async (c) => {
      await admin(c);
      if (!signer) throw errors.unavailable();
      return c.json({ signed: await signer.signPending() }, 200);
    })
    .openapi(events, (async (c: Context<AppEnv>) => {
      const who = await admin(c);
      c.header('Cache-Control', 'no-store');
      return streamSSE(c, async (stream) => {
        let closed = false;
        const unsubscribe = await securityEvents.subscribe((payload) => {
          const id = (() => { try { return String((JSON.parse(payload) as { id?: unknown }).id ?? ''); } catch { return ''; } })();
          void stream.writeSSE({ event: 'security_event', data: payload, id });
        });
        stream.onAbort(() => { closed = true; });
        log.info({ requestId: c.get('requestId'), admin: who.sub }, 'security event stream opened');
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ channel: 'security_events' }) });
        try {
          // Until the client goes away or the token expires: a stream outliving its token would outlive a revocation.
          while (!closed && Date.now() / 1000 < who.exp) {
            await stream.sleep(15_000);
            if (!closed) await stream.write(': keep-alive\n\n');
          }
        } finally {
          unsubscribe();
          log.info({ requestId: c.get('requestId'), admin: who.sub }, 'security event stream closed');
        }
      });
    }) as never);
}
