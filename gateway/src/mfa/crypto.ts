import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Envelope encryption for MFA secrets and outbound codes: AES-256-GCM under
 * keys that never enter the database. A ciphertext names its key
 * (`v1.<kid>.<iv>.<ciphertext>.<tag>`, base64url) so keys can rotate: the
 * newest key encrypts, every listed key still decrypts.
 */
export interface MfaKeys {
  kid: string;
  seal(plaintext: string, aad: string): string;
  open(sealed: string, aad: string): string;
}

const KID = /^[A-Za-z0-9_-]{1,64}$/;

function parseKeys(json: string, where: string): Map<string, Buffer> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error(`${where}: not valid JSON (expected {"kid": "base64 32-byte key"})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${where}: expected an object {kid: base64key}`);
  const keys = new Map<string, Buffer>();
  for (const [kid, b64] of Object.entries(parsed as Record<string, unknown>)) {
    if (!KID.test(kid)) throw new Error(`${where}: bad key id "${kid}" (letters, digits, _ and -)`);
    const key = typeof b64 === 'string' ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) throw new Error(`${where}: key "${kid}" must be 32 bytes, base64`);
    keys.set(kid, key);
  }
  if (keys.size === 0) throw new Error(`${where}: no keys`);
  return keys;
}

/** Development: one key file under KEYS_DIR, created on first start (mode 0600). */
function loadKeyFile(dir: string): Map<string, Buffer> {
  const file = path.join(dir, 'mfa-keys.json');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) {
    const kid = new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14);
    try {
      fs.writeFileSync(file, JSON.stringify({ [kid]: crypto.randomBytes(32).toString('base64') }), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) throw new Error(`${file}: must not be readable by group or others (chmod 600)`);
  return parseKeys(fs.readFileSync(file, 'utf8'), file);
}

const b64u = (b: Buffer) => b.toString('base64url');

export function loadMfaKeys(opts: { json?: string; keysDir?: string }): MfaKeys {
  const keys = opts.json ? parseKeys(opts.json, 'MFA_ENCRYPTION_KEYS') : loadKeyFile(opts.keysDir!);
  // Kids sort by age (timestamps, or any naming that sorts); the greatest encrypts.
  const kid = [...keys.keys()].sort().at(-1)!;
  const current = keys.get(kid)!;
  return {
    kid,
    seal(plaintext, aad) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(Buffer.from(aad));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', kid, b64u(iv), b64u(ct), b64u(cipher.getAuthTag())].join('.');
    },
    open(sealed, aad) {
      const [v, k, iv, ct, tag] = sealed.split('.');
      const key = k ? keys.get(k) : undefined;
      if (v !== 'v1' || !key || !iv || !ct || !tag) throw new Error('sealed value: unknown format or key id');
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}
