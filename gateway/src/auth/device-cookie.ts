import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type pg from 'pg';

/**
 * Device cookies (OWASP "device cookies"): every successful sign-in hands the
 * client one, as a JSON field and as an HttpOnly cookie; a client that presents
 * it is exempt from the account lockout others cause. The database issues and
 * checks them (app.issue_device_cookie); here they are read from and given to clients.
 */
export const DEVICE_COOKIE = 'dwaybank_device';

export type DeviceCookies = ReturnType<typeof createDeviceCookies>;

/** `days`: the cookie's lifetime, the database's setting device_cookie_days (settings.ts). */
export function createDeviceCookies(days: number) {
  return {
    /** The device cookie a client sent: the JSON field wins over the cookie. */
    sent(c: Context, fromBody?: string): string | null {
      return fromBody ?? getCookie(c, DEVICE_COOKIE) ?? null;
    },
    /** The device cookie for a session just opened (the presented one if valid, else a new one), in the sign-in's transaction. */
    async issue(client: pg.PoolClient, userId: string, sessionId: string, presented: string | null = null): Promise<string> {
      return (await client.query<{ v: string }>('select app.issue_device_cookie($1, $2, $3) as v', [userId, sessionId, presented])).rows[0]!.v;
    },
    /** Hands the device cookie to a browser as well (HttpOnly; only sign-in routes under /auth read it). */
    set(c: Context, value: string): void {
      setCookie(c, DEVICE_COOKIE, value, { path: '/auth', httpOnly: true, secure: true, sameSite: 'Strict', maxAge: days * 24 * 3600 });
    },
  };
}
