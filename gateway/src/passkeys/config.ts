import { z } from 'zod';
import { productionPasskeyIssues } from '../env.js';

/**
 * WebAuthn settings: the relying party id (a domain, never an IP address: browsers
 * refuse those, so the local default is `localhost`) and the origins a
 * response may come from (WEBAUTHN_ORIGINS, comma-separated; default the
 * gateway's own address as http://localhost:PORT and http://127.0.0.1:PORT).
 * Those defaults are for development: in production (NODE_ENV=production) both
 * must be set, the origins https on the relying party's domain.
 */
const schema = z.object({
  WEBAUTHN_RP_ID: z.string().min(1).max(253).regex(/^[a-z0-9.-]+$/i, 'a domain name such as bank.example').default('localhost'),
  WEBAUTHN_RP_NAME: z.string().min(1).max(64).default('DwayBank'),
  WEBAUTHN_ORIGINS: z.string().min(1).optional(),
  GATEWAY_PORT: z.coerce.number().int().min(1).max(65535).default(3001),
  NODE_ENV: z.string().optional(),
});

export interface PasskeyConfig {
  rpID: string;
  rpName: string;
  origins: string[];
}

export function loadPasskeyConfig(source: NodeJS.ProcessEnv = process.env): PasskeyConfig {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const r = schema.safeParse(cleaned);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    process.stderr.write(`Invalid gateway environment:\n${lines.join('\n')}\n`);
    process.exit(1);
  }
  const e = r.data;
  if (e.NODE_ENV === 'production') {
    // The defaults below are for development only (env.ts refuses them at start as well).
    const issues = productionPasskeyIssues(source.WEBAUTHN_RP_ID || undefined, source.WEBAUTHN_ORIGINS || undefined);
    if (issues.length) {
      process.stderr.write(`Invalid gateway environment:\n${issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}\n`);
      process.exit(1);
    }
  }
  const origins = e.WEBAUTHN_ORIGINS
    ? e.WEBAUTHN_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean)
    : [`http://localhost:${e.GATEWAY_PORT}`, `http://127.0.0.1:${e.GATEWAY_PORT}`];
  for (const o of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(o)) {
      process.stderr.write(`Invalid gateway environment:\n  WEBAUTHN_ORIGINS: "${o}" is not an origin (scheme://host[:port])\n`);
      process.exit(1);
    }
  }
  return { rpID: e.WEBAUTHN_RP_ID, rpName: e.WEBAUTHN_RP_NAME, origins };
}
