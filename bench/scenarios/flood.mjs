// 1000 connections to PostgREST and to the gateway, with 10 connections before
// and right after: no socket errors or 5xx (503/504 backpressure allowed), and
// the service recovers at once.
import crypto from 'node:crypto';

export async function flood(ctx, { tokensFile }) {
  const { P, G, D, wrk, writeLines } = ctx;
  const invalid = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ refresh_token: `not-a-token-${i}-${crypto.randomBytes(8).toString('hex')}` }));
  const out = {};
  for (const [name, url, p, opts] of [
    ['PostgREST', P, '/rpc/me', { mode: 'bearer', lines: tokensFile }],
    // An unknown refresh token: a database lookup, answered 401 (expected, not an error).
    ['gateway', G, '/auth/token/refresh', { mode: 'body', lines: writeLines('invalid', invalid), expect4xx: true }],
  ]) {
    const before = await wrk(`${name}: 10 connections before`, url, p, { ...opts, c: 10, d: 2, quiet: true });
    const storm = await wrk(`${name}: 1000 connections`, url, p, { ...opts, c: 1000, d: Math.max(D, 5), timeout: '30s' });
    const after = await wrk(`${name}: 10 connections right after`, url, p, { ...opts, c: 10, d: 2 });
    out[name] = { before, storm, after };
  }
  return out;
}
