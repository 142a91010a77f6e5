import pg from 'pg';
import type { Logger } from 'pino';

type Listener = (payload: string) => void;

/**
 * One dedicated connection per gateway process LISTENs on `security_events`
 * (audit.audit_log notifies every warning/critical event) and fans the
 * payloads out to the open SSE streams. It connects on the first subscriber,
 * reconnects after a lost connection, and disconnects when nobody listens.
 */
export function createSecurityEvents(connectionString: string, log: Logger) {
  const listeners = new Set<Listener>();
  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString, application_name: 'dwaybank-gateway-events' });
    c.on('notification', (n) => {
      if (n.channel !== 'security_events' || !n.payload) return;
      for (const l of listeners) l(n.payload);
    });
    c.on('error', (err) => {
      log.warn({ err: { message: err.message } }, 'security event listener lost its connection');
      if (client === c) client = null;
      if (listeners.size > 0) setTimeout(() => void ensure().catch(() => undefined), 1_000).unref();
    });
    await c.connect();
    await c.query('listen security_events');
    client = c;
  }

  async function ensure(): Promise<void> {
    if (client) return;
    connecting ??= connect().finally(() => { connecting = null; });
    await connecting;
  }

  /** Registers a listener; resolves once LISTEN is active, with the function that removes it. */
  async function subscribe(l: Listener): Promise<() => void> {
    listeners.add(l);
    try {
      await ensure();
    } catch (err) {
      listeners.delete(l);
      throw err;
    }
    return () => {
      listeners.delete(l);
      if (listeners.size === 0 && client) {
        const c = client;
        client = null;
        void c.end().catch(() => undefined);
      }
    };
  }

  return { subscribe };
}
