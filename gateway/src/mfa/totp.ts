import { generateSecret, generateSync, generateURI } from 'otplib';

/** RFC 6238 as authenticator apps and oathtool use it: SHA-1, 6 digits, 30 seconds. */
export const PERIOD = 30;
export const DIGITS = 6;

export const newSecret = (): string => generateSecret({ length: 20 });

export const otpauthUri = (secret: string, account: string, issuer: string): string =>
  generateURI({ issuer, label: account, secret, algorithm: 'sha1', digits: DIGITS, period: PERIOD });

/** The code for a time (seconds since the epoch). `secret` is base32, or raw bytes. */
export const codeAt = (secret: string | Uint8Array, epochSeconds: number, digits = DIGITS): string =>
  generateSync({ secret, epoch: epochSeconds, digits, period: PERIOD, algorithm: 'sha1' });

export const stepOf = (epochSeconds: number): number => Math.floor(epochSeconds / PERIOD);

/**
 * The time step whose code equals `code`, tolerating one step of drift either
 * way, or null. Which steps were already used is the database's business: it
 * accepts a step only if it is later than the last accepted one.
 */
export function matchStep(secret: string, code: string, nowSeconds = Date.now() / 1000): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const now = stepOf(nowSeconds);
  let found: number | null = null;
  for (const step of [now - 1, now, now + 1]) {
    if (timingSafeEqual(codeAt(secret, step * PERIOD), code)) found = step;
  }
  return found;
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
