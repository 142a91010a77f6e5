import { z } from 'zod';
import { PASSWORD_LANE } from './auth/lanes.js';

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
    GATEWAY_PORT: z.coerce.number().int().min(1).max(65535).default(3001),
    // Prometheus metrics (lib/metrics.ts) on a listener of their own, never the public one; unset: not served.
    METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    GATEWAY_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
    // The admin event stream's LISTEN connection: LISTEN does not work through a transaction-pooling
    // PgBouncer, so behind one this points at a session-pooled alias (or PostgreSQL itself).
    GATEWAY_LISTEN_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    KEYS_DIR: z.string().min(1).optional(),
    JWKS_FILE: z.string().min(1).optional(),
    JWT_PRIVATE_JWKS: z.string().min(1).optional(),
    // Ed25519 is the default: PostgREST 12 verifies it (tests/e2e/tokens.test.ts proves it end to end).
    JWT_ALG: z.enum(['EdDSA', 'ES256']).default('EdDSA'),
    JWT_ISSUER: z.string().min(1).default('https://auth.dwaybank.local'),
    JWT_AUDIENCE: z.string().min(1).default('dwaybank-api'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // Outbox delivery (mail/senders.ts): `smtp` sends e-mail through SMTP_URL (nodemailer) and SMS to
    // OUTBOX_SMS_WEBHOOK_URL (an SMS provider's bridge); outside production, without that webhook, SMS go
    // to the same SMTP server as mail to <number>@sms.localhost (the local mailbox of npm start).
    // `webhook` POSTs every message, e-mail and SMS, as JSON to OUTBOX_WEBHOOK_URL.
    OUTBOX_SENDER: z.enum(['smtp', 'webhook']).default('smtp'),
    OUTBOX_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
    OUTBOX_SMS_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
    // smtp://[user:password@]host:port (STARTTLS, required unless SMTP_REQUIRE_TLS=false) or smtps://... (TLS from the start).
    SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
    SMTP_REQUIRE_TLS: z.stringbool().default(true),
    SMTP_TLS_CA_FILE: z.string().min(1).optional(),
    SMTP_FROM: z.string().min(3).max(200).default('DwayBank <no-reply@dwaybank.local>'),
    // The account page that e-mailed links open (#verify-email=..., #reset-password=...): the public address customers use.
    ACCOUNT_URL: z.url({ protocol: /^https?$/ }).optional(),
    // {"kid": "base64 32-byte key", ...}: AES-256-GCM keys for TOTP secrets and outbound codes; the greatest kid encrypts.
    MFA_ENCRYPTION_KEYS: z.string().min(1).optional(),
    MFA_ISSUER: z.string().min(1).max(64).default('DwayBank'),
    // Number of trusted proxy hops in front of the gateway; 0 takes the socket address.
    TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
    // SIGTERM: how long requests in flight may take to finish before the process exits anyway (server.ts);
    // below docker's and Kubernetes' grace periods (10 s, 30 s) so the gateway ends itself, cleanly.
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(8_000),
    // WebAuthn: the relying party id (a domain, never an IP address: browsers refuse those, so the
    // development default is `localhost`) and the origins a response may come from (comma-separated;
    // default the gateway's own address as http://localhost:PORT and http://127.0.0.1:PORT). Production
    // must set both, the origins https on the relying party's domain (productionPasskeyIssues).
    WEBAUTHN_RP_ID: z.string().min(1).max(253).regex(/^[a-z0-9.-]+$/i, 'a domain name such as bank.example').optional(),
    WEBAUTHN_RP_NAME: z.string().min(1).max(64).default('DwayBank'),
    WEBAUTHN_ORIGINS: z.string().min(1).optional(),
    // KYC documents (kyc/): where the encrypted files go (kyc/storage.ts for the s3 driver's settings), and
    // {"kid": "base64 32-byte key", ...} to encrypt them (required in production, generated under KEYS_DIR otherwise).
    // The size limit is the database's setting kyc_max_document_bytes (settings.ts).
    KYC_STORAGE_DRIVER: z.enum(['local', 's3']).default('local'),
    KYC_STORAGE_DIR: z.string().min(1).optional(),
    KYC_ENCRYPTION_KEYS: z.string().min(1).optional(),
    // Password hashing lanes (auth/lanes.ts): sign-ups at most this many at once and
    // this many waiting; sign-ins, and password changes and resets, each in a lane of their own.
    SIGNUP_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    SIGNUP_QUEUE: z.coerce.number().int().min(0).max(10_000).default(32),
    LOGIN_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(16),
    LOGIN_QUEUE: z.coerce.number().int().min(0).max(10_000).default(512),
    PASSWORD_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(PASSWORD_LANE.concurrency),
    PASSWORD_QUEUE: z.coerce.number().int().min(0).max(10_000).default(PASSWORD_LANE.queue),
    // Where browsers reach PostgREST, when not on the gateway's own origin (behind the proxy it is): the back office
    // (/backoffice/) calls /rpc there (CORS) and its CSP allows that origin. The local stack sets it (scripts/lib/services.mjs).
    API_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  })
  .superRefine((e, ctx) => {
    if (e.NODE_ENV === 'production' && !e.JWT_PRIVATE_JWKS) {
      ctx.addIssue({ code: 'custom', path: ['JWT_PRIVATE_JWKS'], message: 'required in production (keys are never generated there)' });
    }
    if (e.NODE_ENV === 'production' && !e.MFA_ENCRYPTION_KEYS) {
      ctx.addIssue({ code: 'custom', path: ['MFA_ENCRYPTION_KEYS'], message: 'required in production (keys are never generated there)' });
    }
    if (e.OUTBOX_SENDER === 'smtp' && !e.SMTP_URL) {
      ctx.addIssue({ code: 'custom', path: ['SMTP_URL'], message: 'required with OUTBOX_SENDER=smtp' });
    }
    if (e.NODE_ENV === 'production' && e.OUTBOX_SENDER === 'smtp') {
      if (!e.SMTP_REQUIRE_TLS && !e.SMTP_URL?.startsWith('smtps:')) {
        ctx.addIssue({ code: 'custom', path: ['SMTP_REQUIRE_TLS'], message: 'production sends mail over TLS only (smtps:// or STARTTLS required)' });
      }
      if (!e.OUTBOX_SMS_WEBHOOK_URL) {
        ctx.addIssue({ code: 'custom', path: ['OUTBOX_SMS_WEBHOOK_URL'], message: 'required in production with OUTBOX_SENDER=smtp (SMS go to a provider, never to the mail server)' });
      }
    }
    if (e.NODE_ENV === 'production' && !e.ACCOUNT_URL?.startsWith('https://')) {
      ctx.addIssue({ code: 'custom', path: ['ACCOUNT_URL'], message: 'required in production: the https address of the account page that e-mailed links open' });
    }
    if (e.NODE_ENV === 'production') {
      for (const issue of productionPasskeyIssues(e.WEBAUTHN_RP_ID, e.WEBAUTHN_ORIGINS)) ctx.addIssue({ code: 'custom', ...issue });
    }
    if (e.OUTBOX_SENDER === 'webhook' && !e.OUTBOX_WEBHOOK_URL) {
      ctx.addIssue({ code: 'custom', path: ['OUTBOX_WEBHOOK_URL'], message: 'required with OUTBOX_SENDER=webhook' });
    }
    if (!e.MFA_ENCRYPTION_KEYS && !e.KEYS_DIR) {
      ctx.addIssue({ code: 'custom', path: ['KEYS_DIR'], message: 'required unless MFA_ENCRYPTION_KEYS is set' });
    }
    if (e.NODE_ENV !== 'production' && !e.JWT_PRIVATE_JWKS && !e.KEYS_DIR) {
      ctx.addIssue({ code: 'custom', path: ['KEYS_DIR'], message: 'required unless JWT_PRIVATE_JWKS is set' });
    }
    for (const o of passkeyOrigins(e)) {
      if (!/^https?:\/\/[^/\s]+$/.test(o)) ctx.addIssue({ code: 'custom', path: ['WEBAUTHN_ORIGINS'], message: `"${o}" is not an origin (scheme://host[:port])` });
    }
    if (e.NODE_ENV === 'production' && !e.KYC_ENCRYPTION_KEYS) {
      ctx.addIssue({ code: 'custom', path: ['KYC_ENCRYPTION_KEYS'], message: 'required in production' });
    }
    if (e.KYC_STORAGE_DRIVER === 's3') {
      ctx.addIssue({ code: 'custom', path: ['KYC_STORAGE_DRIVER'], message: 'the s3 driver is configuration only in this build (see gateway/src/kyc/storage.ts)' });
    }
    if (!e.KYC_STORAGE_DIR && !e.KEYS_DIR) {
      ctx.addIssue({ code: 'custom', path: ['KYC_STORAGE_DIR'], message: 'required unless KEYS_DIR is set' });
    }
  })
  .transform((e) => ({
    ...e,
    passkeys: { rpID: e.WEBAUTHN_RP_ID ?? 'localhost', rpName: e.WEBAUTHN_RP_NAME, origins: passkeyOrigins(e) },
    accountUrl: e.ACCOUNT_URL ?? `http://localhost:${e.GATEWAY_PORT}/account/`,
  }));

/** The WebAuthn origins: WEBAUTHN_ORIGINS, or (development) the gateway's own address. */
function passkeyOrigins(e: { WEBAUTHN_ORIGINS?: string | undefined; GATEWAY_PORT: number }): string[] {
  return e.WEBAUTHN_ORIGINS
    ? e.WEBAUTHN_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean)
    : [`http://localhost:${e.GATEWAY_PORT}`, `http://127.0.0.1:${e.GATEWAY_PORT}`];
}

/**
 * What production needs of the WebAuthn settings: an explicit relying party id
 * that is a public domain (not localhost, not an IP address), and explicit
 * origins, each https and on that domain or a subdomain of it. The development
 * defaults (localhost, http) would let any local page or plain-http origin
 * register and use passkeys.
 */
export function productionPasskeyIssues(rpId: string | undefined, origins: string | undefined): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const id = rpId?.toLowerCase();
  if (!id) issues.push({ path: ['WEBAUTHN_RP_ID'], message: 'required in production (the bank\'s domain, e.g. bank.example)' });
  else if (id === 'localhost' || id.endsWith('.localhost') || !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(id) || /^[0-9.]+$/.test(id)) {
    issues.push({ path: ['WEBAUTHN_RP_ID'], message: 'must be a public domain name in production (not localhost or an IP address)' });
  }
  const list = (origins ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  if (list.length === 0) issues.push({ path: ['WEBAUTHN_ORIGINS'], message: 'required in production (https origins, comma-separated)' });
  for (const o of list) {
    let url: URL | null = null;
    try { url = new URL(o); } catch { /* reported below */ }
    if (!url || url.protocol !== 'https:' || url.origin !== o.replace(/\/$/, '')) {
      issues.push({ path: ['WEBAUTHN_ORIGINS'], message: `"${o}" is not an https origin (https://host[:port])` });
    } else if (id && url.hostname !== id && !url.hostname.endsWith(`.${id}`)) {
      issues.push({ path: ['WEBAUTHN_ORIGINS'], message: `"${o}" is not on the relying party's domain (${id})` });
    }
  }
  return issues;
}

export type Env = z.output<typeof schema>;
export type PasskeyConfig = Env['passkeys'];

/** A bad environment: every bad field (never its value), for whoever starts the gateway to report. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid gateway environment:\n${issues.join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once, at start; throws ConfigError naming every bad field. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  // Empty strings mean "unset", as in a shell `FOO=`.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) throw new ConfigError(result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`));
  return result.data;
}
