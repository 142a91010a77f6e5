import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Logger } from 'pino';
import type { CheckpointSigner } from '../../admin/checkpoints.js';
import { createSecurityEvents } from '../../admin/events.js';
import type { Db } from '../../db.js';
import { errors } from '../../errors.js';
import type { AppEnv, Handlers } from '../../lib/create-app.js';
import { checkSession, claims } from '../../middlewares/session.js';
import type { routes } from './admin.routes.js';

export interface AdminDeps {
  db: Db;
  log: Logger;
  databaseUrl: string;
  /** Countersigns audit checkpoints (started by server.ts); without it no signing. */
  signer?: CheckpointSigner | undefined;
}

/** How often an open event stream is kept alive, and its session and role checked again (also before every event). */
const KEEP_ALIVE_MS = 15_000;

export function adminHandlers(deps: AdminDeps): Handlers<typeof routes> {
  const { db, log } = deps;
  const securityEvents = createSecurityEvents(deps.databaseUrl, log);
  const signer = deps.signer ?? null;

  return {
    sign: async (c) => {
      if (!signer) throw errors.unavailable();
      return c.json({ signed: await signer.signPending() }, 200);
    },

    // A stream, not a JSON response: its type is not the route's.
    events: (async (c: Context<AppEnv>) => {
      // The session middleware let only a live admin session at aal2 this far; each keep-alive asks again.
      const who = claims(c);
      const userAgent = c.req.header('user-agent')?.slice(0, 512) ?? null;
      const stillAdmin = async () => {
        const row = await checkSession(db, who, userAgent, c.get('requestId')).catch(() => null);
        return Boolean(row?.live && row.role === 'admin' && row.aal === 'aal2');
      };
      c.header('Cache-Control', 'no-store');
      return streamSSE(c, async (stream) => {
        let closed = false;
        let stop: () => void = () => undefined;
        const stopped = new Promise<void>((resolve) => { stop = resolve; });
        const end = async () => {
          if (closed) return;
          closed = true;
          await stream.writeSSE({ event: 'session_ended', data: JSON.stringify({ code: 'SESSION_ENDED' }) }).catch(() => undefined);
          stop();
        };
        // Each event is written only after the session and role are checked again, in arrival order
        // (one check in flight at a time): an event raised after a sign-out never reaches the stream.
        let delivered = Promise.resolve();
        const unsubscribe = await securityEvents.subscribe((payload) => {
          delivered = delivered.then(async () => {
            if (closed) return;
            if (!(await stillAdmin())) return end();
            const id = (() => { try { return String((JSON.parse(payload) as { id?: unknown }).id ?? ''); } catch { return ''; } })();
            await stream.writeSSE({ event: 'security_event', data: payload, id }).catch(() => undefined);
          });
        });
        stream.onAbort(() => { closed = true; stop(); });
        log.info({ requestId: c.get('requestId'), admin: who.sub }, 'security event stream opened');
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ channel: 'security_events' }) });
        try {
          // Until the client goes away, the token expires, or the session ends or loses the admin role
          // (checked before every event and on each keep-alive): a stream must not outlive a sign-out.
          while (!closed && Date.now() / 1000 < who.exp) {
            await Promise.race([stream.sleep(KEEP_ALIVE_MS), stopped]);
            if (closed) break;
            if (!(await stillAdmin())) {
              await end();
              break;
            }
            await stream.write(': keep-alive\n\n');
          }
        } finally {
          closed = true;
          unsubscribe();
          await delivered;
          log.info({ requestId: c.get('requestId'), admin: who.sub }, 'security event stream closed');
        }
      });
    }) as never,
  };
}
