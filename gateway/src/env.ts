import { z } from 'zod';

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
    GATEWAY_PORT: z.coerce.number().int().min(1).max(65535).default(3001),
    GATEWAY_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
    KEYS_DIR: z.string().min(1).optional(),
    JWKS_FILE: z.string().min(1).optional(),
    JWT_PRIVATE_JWKS: z.string().min(1).optional(),
    // Ed25519 is the default: PostgREST 12 verifies it (tests/e2e/tokens.test.ts proves it end to end).
    JWT_ALG: z.enum(['EdDSA', 'ES256']).default('EdDSA'),
    JWT_ISSUER: z.string().min(1).default('https://auth.dwaybank.local'),
    JWT_AUDIENCE: z.string().min(1).default('dwaybank-api'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // Outbox delivery: `log` writes messages (codes included) to OUTBOX_LOG_FILE, the development/test
    // mailbox (default <stack data dir>/outbox.log); `webhook` POSTs them to OUTBOX_WEBHOOK_URL.
    OUTBOX_SENDER: z.enum(['log', 'webhook']).default('log'),
    OUTBOX_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
    OUTBOX_LOG_FILE: z.string().min(1).optional(),
    // {"kid": "base64 32-byte key", ...}: AES-256-GCM keys for TOTP secrets and outbound codes; the greatest kid encrypts.
    MFA_ENCRYPTION_KEYS: z.string().min(1).optional(),
    MFA_ISSUER: z.string().min(1).max(64).default('DwayBank'),
    // Number of trusted proxy hops in front of the gateway; 0 takes the socket address.
    TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
    // WebAuthn (read by passkeys/config.ts): checked here too, so that production refuses to start without them.
    WEBAUTHN_RP_ID: z.string().min(1).max(253).optional(),
    WEBAUTHN_ORIGINS: z.string().min(1).optional(),
    // Password hashing lanes (auth/lanes.ts): sign-ups at most this many at once and
    // this many waiting, sign-ins in a lane of their own.
    SIGNUP_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    SIGNUP_QUEUE: z.coerce.number().int().min(0).max(10_000).default(32),
    LOGIN_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(16),
    LOGIN_QUEUE: z.coerce.number().int().min(0).max(10_000).default(512),
  })
  .superRefine((e, ctx) => {
    if (e.NODE_ENV === 'production' && !e.JWT_PRIVATE_JWKS) {
      ctx.addIssue({ code: 'custom', path: ['JWT_PRIVATE_JWKS'], message: 'required in production (keys are never generated there)' });
    }
    if (e.NODE_ENV === 'production' && !e.MFA_ENCRYPTION_KEYS) {
      ctx.addIssue({ code: 'custom', path: ['MFA_ENCRYPTION_KEYS'], message: 'required in production (keys are never generated there)' });
    }
    if (e.NODE_ENV === 'production' && e.OUTBOX_SENDER === 'log') {
      ctx.addIssue({ code: 'custom', path: ['OUTBOX_SENDER'], message: 'the log sender writes codes to a file: use webhook in production' });
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
  });

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

export type Env = z.infer<typeof schema>;

/** Parses the environment; on error prints every bad field (never its value) and exits. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  // Empty strings mean "unset", as in a shell `FOO=`.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    process.stderr.write(`Invalid gateway environment:\n${lines.join('\n')}\n`);
    process.exit(1);
  }
  return result.data;
}
