import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { errors } from '../errors.js';

/** What @hono/node-server hands the app with each request: `outgoing` is the node response. */
type Bindings = { outgoing: object };

/**
 * A graceful stop for the HTTP server. Once `drain()` is called, every request
 * that arrives is answered 503 SERVICE_UNAVAILABLE (with Retry-After, and
 * `Connection: close`) while the listener stays open, so a client or load
 * balancer always gets an answer it can act on; the requests already received
 * run to their normal end. When none is left, the listener and every
 * connection close: idle keep-alive sockets and event streams (SSE), which
 * never end on their own and so are not waited for.
 */
export function createDrain() {
  const active = new Set<ServerResponse>();
  const streams = new WeakSet<object>();
  let draining = false;
  let idle: (() => void) | null = null;
  let server: Server | null = null;

  const busy = () => [...active].filter((res) => !streams.has(res)).length;

  /** The app's fetch, answering 503 instead once draining; it notes which responses are event streams. */
  function guard(fetch: (req: Request, bindings: Bindings) => Response | Promise<Response>) {
    return async (req: Request, bindings: Bindings): Promise<Response> => {
      if (draining) {
        const e = errors.unavailable();
        return new Response(JSON.stringify(e.body()), {
          status: e.status, headers: { 'Content-Type': 'application/json', ...e.headers, Connection: 'close' },
        });
      }
      const res = await fetch(req, bindings);
      if (/^text\/event-stream/i.test(res.headers.get('content-type') ?? '')) streams.add(bindings.outgoing);
      return res;
    };
  }

  /** Counts the requests in flight on `s` (the server whose fetch is guarded). */
  function attach(s: Server) {
    server = s;
    s.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      active.add(res);
      // 'close': the response was handed to the operating system, or its connection was lost.
      res.once('close', () => {
        active.delete(res);
        if (idle && busy() === 0) idle();
      });
    });
  }

  /** Refuses new requests from now on; resolves once the requests in flight have ended and the server is closed. */
  async function drain(): Promise<void> {
    draining = true;
    // A keep-alive client learns from the answer it is waiting for that this connection ends.
    for (const res of active) if (!res.headersSent) res.setHeader('Connection', 'close');
    if (busy() > 0) await new Promise<void>((resolve) => { idle = resolve; });
    const s = server;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  return { guard, attach, drain, inFlight: busy };
}
