import type { MiddlewareHandler } from 'hono';
import { errors } from '../errors.js';

// A client that sends too much must still read its 413. Closing a socket with
// unread bytes in it makes the kernel answer with a reset, and a reset can
// overtake the 413 and discard it at the client. So the rest of the body is
// read and thrown away first, up to a bound (in bytes and time); past the
// bound the connection is closed anyway.
const DISCARD_BYTES = 8 * 1024 * 1024;
const DISCARD_MS = 5_000;

async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, seen: number): Promise<void> {
  let total = seen;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), DISCARD_MS); });
  try {
    while (total <= DISCARD_BYTES) {
      const r = await Promise.race([reader.read(), expired]);
      if (!r || r.done) return;
      total += r.value.byteLength;
    }
  } catch {
    // The client went away: nothing left to protect.
  } finally {
    clearTimeout(timer);
    // Never cancel: that destroys the socket before the 413 is written.
    try { reader.releaseLock(); } catch { /* a read still pending past the deadline */ }
  }
}

/** hono's bodyLimit, except that an oversized body is read to its end (bounded) before the 413. */
export function bodyLimitThenDiscard(maxSize: number): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const length = c.req.raw.headers.get('content-length');
    if (length !== null && !c.req.raw.headers.has('transfer-encoding')) {
      if (Number.parseInt(length, 10) <= maxSize) return next();
      await discardRest(body.getReader(), 0);
      throw errors.payloadTooLarge();
    }
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxSize) {
        await discardRest(reader, size);
        throw errors.payloadTooLarge();
      }
      chunks.push(value);
    }
    c.req.raw = new Request(c.req.raw, { body: Buffer.concat(chunks) });
    return next();
  };
}
